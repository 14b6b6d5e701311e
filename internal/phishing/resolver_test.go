package phishing

import (
	"context"
	"net"
	"strings"
	"sync"
)

// zone is a fake DNS for the tests: it answers from its maps and records
// every query. It is the outside world's stand-in (the only network the
// package may use).
type zone struct {
	txt  map[string][]string
	ip   map[string][]string
	mx   map[string][]string // host names, in preference order
	ptr  map[string][]string
	fail map[string]bool // names whose every lookup is a temporary failure

	mu    sync.Mutex
	calls []string
}

var _ Resolver = (*zone)(nil)

func newZone() *zone {
	return &zone{txt: map[string][]string{}, ip: map[string][]string{}, mx: map[string][]string{}, ptr: map[string][]string{}, fail: map[string]bool{}}
}

func (z *zone) record(kind, name string) (string, error) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	z.mu.Lock()
	z.calls = append(z.calls, kind+" "+name)
	z.mu.Unlock()
	if z.fail[name] {
		return name, &net.DNSError{Err: "server failure", Name: name, IsTemporary: true}
	}
	return name, nil
}

func notFound(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (z *zone) LookupTXT(ctx context.Context, name string) ([]string, error) {
	n, err := z.record("TXT", name)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if v, ok := z.txt[n]; ok {
		return v, nil
	}
	return nil, notFound(n)
}

func (z *zone) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	n, err := z.record("A", host)
	if err != nil {
		return nil, err
	}
	var out []net.IPAddr
	for _, s := range z.ip[n] {
		out = append(out, net.IPAddr{IP: net.ParseIP(s)})
	}
	if len(out) == 0 {
		return nil, notFound(n)
	}
	return out, nil
}

func (z *zone) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	n, err := z.record("MX", name)
	if err != nil {
		return nil, err
	}
	var out []*net.MX
	for i, h := range z.mx[n] {
		out = append(out, &net.MX{Host: h + ".", Pref: uint16(10 * (i + 1))})
	}
	if len(out) == 0 {
		return nil, notFound(n)
	}
	return out, nil
}

func (z *zone) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	n, err := z.record("PTR", addr)
	if err != nil {
		return nil, err
	}
	if v, ok := z.ptr[n]; ok {
		return v, nil
	}
	return nil, notFound(n)
}

func (z *zone) queries() []string {
	z.mu.Lock()
	defer z.mu.Unlock()
	return append([]string(nil), z.calls...)
}
