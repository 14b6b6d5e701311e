package phishing

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// trap is a listener that fails the test if anything connects to it.
func trap(t *testing.T) (addr string, contacted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	contacted = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			contacted.Add(1)
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	return ln.Addr().String(), contacted
}

// TestNoNetworkButResolver analyses messages whose links, sender and
// attachments all point at a listening trap, with a resolver that records
// its queries: nothing may connect to the trap, and the only DNS names
// asked are those of sender authentication (never a link's host).
func TestNoNetworkButResolver(t *testing.T) {
	addr, contacted := trap(t)
	// Any use of Go's own resolver or HTTP client is a failure too (this
	// test changes package globals, so it does not run in parallel).
	var stray atomic.Int32
	oldResolver, oldTransport := net.DefaultResolver, http.DefaultTransport
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		stray.Add(1)
		return nil, errors.New("the analysis used Go's default resolver")
	}}
	http.DefaultTransport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		stray.Add(1)
		return nil, errors.New("the analysis made an HTTP request")
	})
	t.Cleanup(func() { net.DefaultResolver, http.DefaultTransport = oldResolver, oldTransport })
	host, port, _ := net.SplitHostPort(addr)
	z := brandZone()
	z.ip["trap.sellerguard-login.example"] = []string{host}
	cfg := testConfig()
	cfg.Resolver = z

	links := []string{
		"http://" + addr + "/login",
		"http://localhost:" + port + "/verify",
		"http://trap.sellerguard-login.example:" + port + "/",
		"https://bit.ly/trap",
	}
	html := ""
	for _, l := range links {
		html += fmt.Sprintf(`<a href="%s">https://sellerguard.example/</a><img src="%s/pixel.png">`, l, l)
	}
	msgs := []string{
		"Received: from evil (evil [203.0.113.9]) by mx.shop.example; Fri, 4 Dec 2026 10:00:00 +0000\r\n" +
			"Return-Path: <x@" + addr + ">\r\nFrom: SellerGuard <security@sellerguard.example>\r\nSubject: Verify\r\n" +
			"DKIM-Signature: v=1; a=rsa-sha256; d=trap.sellerguard-login.example; s=s; h=from; bh=AAAA; b=AAAA\r\n" +
			"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/html\r\n\r\n" + html + "\r\n" +
			"--B\r\nContent-Type: text/plain\r\n\r\nOr paste " + strings.Join(links, " ") + "\r\n" +
			"--B\r\nContent-Type: message/external-body; access-type=URL; URL=\"http://" + addr + "/x\"\r\n\r\n\r\n--B--\r\n",
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*", "*.eml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, string(b))
	}
	for _, m := range msgs {
		if _, err := Analyze(context.Background(), []byte(m), cfg); err != nil {
			t.Fatalf("Analyze: %v", err)
		}
		// Without a resolver, no DNS at all (a DKIM signature is not
		// checked through Go's resolver instead).
		if _, err := Analyze(context.Background(), []byte(m), testConfig()); err != nil {
			t.Fatalf("Analyze without resolver: %v", err)
		}
	}
	for _, l := range links {
		if _, err := AnalyzeLink(context.Background(), l, "see "+links[0], cfg); err != nil {
			t.Fatalf("AnalyzeLink(%s): %v", l, err)
		}
	}
	time.Sleep(50 * time.Millisecond) // let a stray connection be accepted
	if n := contacted.Load(); n != 0 {
		t.Fatalf("the analysis connected to the trap %d times", n)
	}
	if n := stray.Load(); n != 0 {
		t.Fatalf("the analysis used Go's default resolver or HTTP client %d times", n)
	}
	q := z.queries()
	if len(q) == 0 {
		t.Fatal("the resolver was never asked: the test checks nothing")
	}
	for _, c := range q {
		name := strings.SplitN(c, " ", 2)[1]
		if strings.HasPrefix(name, "localhost") || strings.HasPrefix(name, "127.") || name == "bit.ly" || name == "trap.sellerguard-login.example" && !strings.HasPrefix(c, "TXT s._domainkey") {
			t.Errorf("a link's host was resolved: %s", c)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
