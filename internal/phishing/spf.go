package phishing

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// SPF results (RFC 7208 section 2.6).
const (
	SPFNone      = "none"
	SPFNeutral   = "neutral"
	SPFPass      = "pass"
	SPFFail      = "fail"
	SPFSoftfail  = "softfail"
	SPFTemperror = "temperror"
	SPFPermerror = "permerror"
)

// RFC 7208 section 4.6.4 limits.
const (
	spfMaxLookups     = 10 // DNS-querying terms: include, a, mx, ptr, exists, redirect
	spfMaxVoidLookups = 2
	spfMaxMX          = 10
	spfMaxPTR         = 10
)

// CheckSPF evaluates the SPF policy of the sender's domain for a client IP
// address (RFC 7208 check_host()). sender is the MAIL FROM address; when it
// is empty, the HELO identity is checked as postmaster@helo. The %{p}
// macro expands to "unknown" (the RFC discourages it; we never validate a
// PTR name for it). Explanations (exp=) are not fetched.
func CheckSPF(ctx context.Context, r Resolver, ip net.IP, sender, helo string) string {
	if r == nil || ip == nil {
		return SPFNone
	}
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	if sender == "" || !strings.Contains(sender, "@") {
		if helo == "" {
			return SPFNone
		}
		if sender == "" {
			sender = "postmaster@" + helo
		} else {
			sender = "postmaster@" + sender
		}
	}
	at := strings.LastIndex(sender, "@")
	local, domain := sender[:at], strings.TrimSuffix(strings.ToLower(sender[at+1:]), ".")
	if local == "" {
		local = "postmaster"
	}
	e := &spfEval{ctx: ctx, r: r, ip: ip, local: local, senderDomain: domain, helo: helo}
	return e.checkHost(domain, 0)
}

type spfEval struct {
	ctx                 context.Context
	r                   Resolver
	ip                  net.IP // 4 bytes for IPv4
	local, senderDomain string
	helo                string
	lookups, voids      int
}

var errSPFLimit = errors.New("spf: lookup limit")

type spfTerm struct {
	qualifier byte // + - ~ ?
	name      string
	arg       string // domain-spec or address, "" if none
	cidr4     int    // -1: none
	cidr6     int
}

type spfRecord struct {
	terms    []spfTerm
	redirect string
}

// validDomain: a multi-label name with labels of 1 to 63 octets of
// letters, digits, '-' and '_', 253 at most, whose top label is not all
// digits (so an IP address is not taken for a name).
func validDomain(d string) bool {
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	labels := strings.Split(d, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}

func (e *spfEval) checkHost(domain string, depth int) string {
	if !validDomain(domain) {
		return SPFNone
	}
	if depth > spfMaxLookups {
		return SPFPermerror
	}
	if e.ctx.Err() != nil {
		return SPFTemperror
	}
	txts, err := e.r.LookupTXT(e.ctx, domain)
	if err != nil {
		if isNotFound(err) {
			return SPFNone
		}
		return SPFTemperror
	}
	var records []string
	for _, t := range txts {
		if len(t) >= 6 && strings.EqualFold(t[:6], "v=spf1") && (len(t) == 6 || t[6] == ' ') {
			records = append(records, t)
		}
	}
	switch len(records) {
	case 0:
		return SPFNone
	case 1:
	default:
		return SPFPermerror
	}
	rec, ok := parseSPF(records[0])
	if !ok {
		return SPFPermerror
	}
	for _, t := range rec.terms {
		match, res := e.evalTerm(t, domain, depth)
		if res != "" {
			return res
		}
		if match {
			switch t.qualifier {
			case '-':
				return SPFFail
			case '~':
				return SPFSoftfail
			case '?':
				return SPFNeutral
			}
			return SPFPass
		}
	}
	if rec.redirect != "" {
		if err := e.countLookup(); err != nil {
			return SPFPermerror
		}
		target, ok := e.expand(rec.redirect, domain)
		if !ok {
			return SPFPermerror
		}
		res := e.checkHost(target, depth+1)
		if res == SPFNone {
			return SPFPermerror
		}
		return res
	}
	return SPFNeutral
}

func (e *spfEval) countLookup() error {
	e.lookups++
	if e.lookups > spfMaxLookups {
		return errSPFLimit
	}
	return nil
}

// void records a lookup that found nothing; past the limit it is an error.
func (e *spfEval) void() error {
	e.voids++
	if e.voids > spfMaxVoidLookups {
		return errSPFLimit
	}
	return nil
}

// evalTerm returns whether a mechanism matches, or a final result
// (temperror, permerror) that ends the evaluation.
func (e *spfEval) evalTerm(t spfTerm, domain string, depth int) (bool, string) {
	if e.ctx.Err() != nil {
		return false, SPFTemperror
	}
	target := domain
	if t.arg != "" && t.name != "ip4" && t.name != "ip6" {
		var ok bool
		if target, ok = e.expand(t.arg, domain); !ok {
			return false, SPFPermerror
		}
	}
	switch t.name {
	case "all":
		return true, ""
	case "ip4", "ip6":
		return ipInNet(e.ip, net.ParseIP(t.arg), t.cidr4, t.cidr6), ""
	case "include":
		if err := e.countLookup(); err != nil {
			return false, SPFPermerror
		}
		switch e.checkHost(target, depth+1) {
		case SPFPass:
			return true, ""
		case SPFFail, SPFSoftfail, SPFNeutral:
			return false, ""
		case SPFTemperror:
			return false, SPFTemperror
		}
		return false, SPFPermerror // permerror, none
	case "a":
		if err := e.countLookup(); err != nil {
			return false, SPFPermerror
		}
		ips, res := e.lookupIP(target)
		if res != "" {
			return false, res
		}
		for _, a := range ips {
			if ipInNet(e.ip, a, t.cidr4, t.cidr6) {
				return true, ""
			}
		}
		return false, ""
	case "mx":
		if err := e.countLookup(); err != nil {
			return false, SPFPermerror
		}
		if !validDomain(target) {
			return false, e.voidResult()
		}
		mxs, err := e.r.LookupMX(e.ctx, target)
		if err != nil && !isNotFound(err) {
			return false, SPFTemperror
		}
		if len(mxs) == 0 {
			return false, e.voidResult()
		}
		if len(mxs) > spfMaxMX {
			return false, SPFPermerror
		}
		for _, mx := range mxs {
			ips, res := e.lookupIPNoVoid(strings.TrimSuffix(mx.Host, "."))
			if res != "" {
				return false, res
			}
			for _, a := range ips {
				if ipInNet(e.ip, a, t.cidr4, t.cidr6) {
					return true, ""
				}
			}
		}
		return false, ""
	case "ptr":
		if err := e.countLookup(); err != nil {
			return false, SPFPermerror
		}
		names, err := e.r.LookupAddr(e.ctx, e.ip.String())
		if err != nil && !isNotFound(err) {
			return false, "" // RFC 7208 5.5: a PTR failure is simply no match
		}
		if len(names) == 0 {
			return false, e.voidResult()
		}
		if len(names) > spfMaxPTR {
			names = names[:spfMaxPTR]
		}
		target = strings.ToLower(strings.TrimSuffix(target, "."))
		for _, n := range names {
			n = strings.ToLower(strings.TrimSuffix(n, "."))
			if n != target && !strings.HasSuffix(n, "."+target) {
				continue
			}
			ips, _ := e.lookupIPNoVoid(n)
			for _, a := range ips {
				if a.Equal(e.ip) {
					return true, ""
				}
			}
		}
		return false, ""
	case "exists":
		if err := e.countLookup(); err != nil {
			return false, SPFPermerror
		}
		if !validDomain(target) {
			return false, e.voidResult()
		}
		addrs, err := e.r.LookupIPAddr(e.ctx, target)
		if err != nil && !isNotFound(err) {
			return false, SPFTemperror
		}
		for _, a := range addrs {
			if a.IP.To4() != nil {
				return true, ""
			}
		}
		return false, e.voidResult()
	}
	return false, SPFPermerror
}

func (e *spfEval) voidResult() string {
	if e.void() != nil {
		return SPFPermerror
	}
	return ""
}

// lookupIP returns the addresses of the client's family for a name,
// counting a void lookup when there are none.
func (e *spfEval) lookupIP(name string) ([]net.IP, string) {
	ips, res := e.lookupIPNoVoid(name)
	if res == "" && len(ips) == 0 {
		return nil, e.voidResult()
	}
	return ips, res
}

func (e *spfEval) lookupIPNoVoid(name string) ([]net.IP, string) {
	if !validDomain(name) {
		return nil, ""
	}
	addrs, err := e.r.LookupIPAddr(e.ctx, name)
	if err != nil && !isNotFound(err) {
		return nil, SPFTemperror
	}
	want4 := e.ip.To4() != nil
	var ips []net.IP
	for _, a := range addrs {
		if (a.IP.To4() != nil) == want4 {
			ips = append(ips, a.IP)
		}
	}
	return ips, ""
}

func ipInNet(ip, network net.IP, cidr4, cidr6 int) bool {
	if network == nil {
		return false
	}
	if n4 := network.To4(); n4 != nil {
		c4 := ip.To4()
		if c4 == nil || len(ip) != net.IPv4len {
			return false
		}
		bits := 32
		if cidr4 >= 0 {
			bits = cidr4
		}
		m := net.CIDRMask(bits, 32)
		return c4.Mask(m).Equal(n4.Mask(m))
	}
	if len(ip) == net.IPv4len {
		return false
	}
	bits := 128
	if cidr6 >= 0 {
		bits = cidr6
	}
	m := net.CIDRMask(bits, 128)
	return ip.Mask(m).Equal(network.Mask(m))
}

func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// parseSPF parses a record; ok is false on any syntax error (permerror).
func parseSPF(record string) (spfRecord, bool) {
	var rec spfRecord
	seen := map[string]bool{}
	for _, term := range strings.Fields(record[6:]) {
		// Modifier: name "=" macro-string.
		if i := strings.IndexByte(term, '='); i > 0 && isModifierName(term[:i]) {
			name := strings.ToLower(term[:i])
			value := term[i+1:]
			if !validMacroString(value, false) {
				return rec, false
			}
			if name == "redirect" || name == "exp" {
				if seen[name] {
					return rec, false
				}
				seen[name] = true
				if value == "" {
					return rec, false
				}
				if name == "redirect" {
					rec.redirect = value
				}
			}
			continue
		}
		t := spfTerm{qualifier: '+', cidr4: -1, cidr6: -1}
		if c := term[0]; c == '+' || c == '-' || c == '~' || c == '?' {
			t.qualifier = c
			term = term[1:]
		}
		name := term
		rest := ""
		if i := strings.IndexAny(term, ":/"); i >= 0 {
			name, rest = term[:i], term[i:]
		}
		t.name = strings.ToLower(name)
		switch t.name {
		case "all":
			if rest != "" {
				return rec, false
			}
		case "include", "exists":
			if !strings.HasPrefix(rest, ":") || !validDomainSpec(rest[1:]) {
				return rec, false
			}
			t.arg = rest[1:]
		case "a", "mx", "ptr":
			spec := rest
			cidr := ""
			if strings.HasPrefix(spec, ":") {
				spec = spec[1:]
				if i := strings.IndexByte(spec, '/'); i >= 0 && t.name != "ptr" {
					spec, cidr = spec[:i], spec[i:]
				}
				if !validDomainSpec(spec) {
					return rec, false
				}
				t.arg = spec
			} else {
				cidr = spec
			}
			if t.name == "ptr" && cidr != "" && !strings.HasPrefix(rest, ":") {
				return rec, false
			}
			if cidr != "" {
				if !parseDualCIDR(cidr, &t) {
					return rec, false
				}
			}
		case "ip4", "ip6":
			if !strings.HasPrefix(rest, ":") {
				return rec, false
			}
			addr := rest[1:]
			cidr := ""
			if i := strings.IndexByte(addr, '/'); i >= 0 {
				addr, cidr = addr[:i], addr[i+1:]
			}
			ip := net.ParseIP(addr)
			if ip == nil || (t.name == "ip4") != (ip.To4() != nil && !strings.Contains(addr, ":")) {
				return rec, false
			}
			t.arg = addr
			if cidr != "" {
				n, err := strconv.Atoi(cidr)
				max := 32
				if t.name == "ip6" {
					max = 128
				}
				if err != nil || n < 0 || n > max || (len(cidr) > 1 && cidr[0] == '0') {
					return rec, false
				}
				if t.name == "ip4" {
					t.cidr4 = n
				} else {
					t.cidr6 = n
				}
			}
		default:
			return rec, false
		}
		rec.terms = append(rec.terms, t)
	}
	return rec, true
}

func isModifierName(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// parseDualCIDR parses "/n", "//m" or "/n//m".
func parseDualCIDR(s string, t *spfTerm) bool {
	v4, v6, has6 := s, "", false
	if i := strings.Index(s, "//"); i >= 0 {
		v4, v6, has6 = s[:i], s[i+2:], true
	}
	num := func(x string, max int) (int, bool) {
		n, err := strconv.Atoi(x)
		if err != nil || n < 0 || n > max || x == "" || (len(x) > 1 && x[0] == '0') || x[0] == '+' {
			return 0, false
		}
		return n, true
	}
	if v4 != "" {
		if !strings.HasPrefix(v4, "/") {
			return false
		}
		n, ok := num(v4[1:], 32)
		if !ok {
			return false
		}
		t.cidr4 = n
	}
	if has6 {
		n, ok := num(v6, 128)
		if !ok {
			return false
		}
		t.cidr6 = n
	}
	return true
}

// validDomainSpec: a macro-string that ends in a domain end (a top label
// or a macro expansion).
func validDomainSpec(s string) bool {
	if s == "" || !validMacroString(s, false) {
		return false
	}
	if strings.HasSuffix(s, "}") {
		return true
	}
	s = strings.TrimSuffix(s, ".")
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return false
	}
	top := s[i+1:]
	if top == "" || strings.Trim(top, "0123456789") == "" { // toplabel has a letter
		return false
	}
	for _, c := range top {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return !strings.HasPrefix(top, "-") && !strings.HasSuffix(top, "-")
}

func validMacroString(s string, exp bool) bool {
	_, ok := expandMacro(s, func(byte) (string, bool) { return "x", true }, exp)
	return ok
}

// expandMacro expands RFC 7208 section 7 macros with value(letter).
func expandMacro(s string, value func(letter byte) (string, bool), exp bool) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e {
			return "", false
		}
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			return "", false
		}
		switch s[i] {
		case '%':
			b.WriteByte('%')
			continue
		case '_':
			b.WriteByte(' ')
			continue
		case '-':
			b.WriteString("%20")
			continue
		case '{':
		default:
			return "", false
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", false
		}
		body := s[i+1 : i+end]
		i += end
		if body == "" {
			return "", false
		}
		letter := body[0]
		lower := letter | 0x20
		switch lower {
		case 's', 'l', 'o', 'd', 'i', 'p', 'v', 'h':
		case 'c', 'r', 't':
			if !exp {
				return "", false
			}
		default:
			return "", false
		}
		j := 1
		for j < len(body) && body[j] >= '0' && body[j] <= '9' {
			j++
		}
		keep := -1
		if j > 1 {
			n, err := strconv.Atoi(body[1:j])
			if err != nil || n == 0 {
				return "", false
			}
			keep = min(n, 128)
		}
		reverse := false
		if j < len(body) && (body[j] == 'r' || body[j] == 'R') {
			reverse = true
			j++
		}
		delims := body[j:]
		if strings.Trim(delims, ".-+,/_=") != "" {
			return "", false
		}
		if delims == "" {
			delims = "."
		}
		v, ok := value(lower)
		if !ok {
			return "", false
		}
		parts := splitAny(v, delims)
		if reverse {
			for a, z := 0, len(parts)-1; a < z; a, z = a+1, z-1 {
				parts[a], parts[z] = parts[z], parts[a]
			}
		}
		if keep >= 0 && keep < len(parts) {
			parts = parts[len(parts)-keep:]
		}
		out := strings.Join(parts, ".")
		if letter >= 'A' && letter <= 'Z' {
			out = url.QueryEscape(out)
			out = strings.ReplaceAll(out, "+", "%20")
		}
		b.WriteString(out)
	}
	return b.String(), true
}

func splitAny(s, delims string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(delims, s[i]) >= 0 {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// expand expands a domain-spec for the current domain and shortens it to
// 253 octets by dropping labels from the left (RFC 7208 section 7.3).
func (e *spfEval) expand(spec, domain string) (string, bool) {
	out, ok := expandMacro(spec, func(l byte) (string, bool) {
		switch l {
		case 's':
			return e.local + "@" + e.senderDomain, true
		case 'l':
			return e.local, true
		case 'o':
			return e.senderDomain, true
		case 'd':
			return domain, true
		case 'i':
			if v4 := e.ip.To4(); v4 != nil && len(e.ip) == net.IPv4len {
				return v4.String(), true
			}
			return nibbles(e.ip), true
		case 'p':
			return "unknown", true
		case 'v':
			if len(e.ip) == net.IPv4len {
				return "in-addr", true
			}
			return "ip6", true
		case 'h':
			return e.helo, true
		}
		return "", false
	}, false)
	if !ok {
		return "", false
	}
	out = strings.TrimSuffix(out, ".")
	for len(out) > 253 {
		i := strings.IndexByte(out, '.')
		if i < 0 {
			return "", false
		}
		out = out[i+1:]
	}
	return out, true
}

// nibbles writes an IPv6 address as dot-separated hexadecimal nibbles.
func nibbles(ip net.IP) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i, c := range ip.To16() {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteByte(hex[c>>4])
		b.WriteByte('.')
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}
