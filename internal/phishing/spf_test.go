package phishing

import (
	"context"
	"net"
	"strings"
	"testing"
)

// rfc7208Zone is the DNS of RFC 7208 Appendix A.
func rfc7208Zone() *zone {
	z := newZone()
	z.mx["example.com"] = []string{"mail-a.example.com", "mail-b.example.com"}
	z.ip["example.com"] = []string{"192.0.2.10", "192.0.2.11"}
	z.ip["amy.example.com"] = []string{"192.0.2.65"}
	z.ip["bob.example.com"] = []string{"192.0.2.66"}
	z.ip["mail-a.example.com"] = []string{"192.0.2.129"}
	z.ip["mail-b.example.com"] = []string{"192.0.2.130"}
	z.ip["www.example.com"] = []string{"192.0.2.10", "192.0.2.11"} // CNAME example.com
	z.mx["example.org"] = []string{"mail-c.example.org"}
	z.ip["mail-c.example.org"] = []string{"192.0.2.140"}
	for ip, name := range map[string]string{
		"192.0.2.10": "example.com", "192.0.2.11": "example.com", "192.0.2.65": "amy.example.com",
		"192.0.2.66": "bob.example.com", "192.0.2.129": "mail-a.example.com", "192.0.2.130": "mail-b.example.com",
		"192.0.2.140": "mail-c.example.org", "10.0.0.10": "bob.example.com",
	} {
		z.ptr[ip] = []string{name + "."}
	}
	return z
}

// TestSPFRFC7208AppendixA runs the examples of RFC 7208 Appendix A.1: each
// record is published for example.com and checked for several clients.
func TestSPFRFC7208AppendixA(t *testing.T) {
	cases := []struct {
		record string
		pass   []string
		fail   []string
	}{
		{"v=spf1 +all", []string{"192.0.2.10", "10.0.0.4", "198.51.100.7"}, nil},
		{"v=spf1 a -all", []string{"192.0.2.10", "192.0.2.11"}, []string{"192.0.2.65", "192.0.2.129"}},
		{"v=spf1 a:example.org -all", nil, []string{"192.0.2.10", "192.0.2.140"}},
		{"v=spf1 mx -all", []string{"192.0.2.129", "192.0.2.130"}, []string{"192.0.2.10", "192.0.2.140"}},
		{"v=spf1 mx:example.org -all", []string{"192.0.2.140"}, []string{"192.0.2.129"}},
		{"v=spf1 mx mx:example.org -all", []string{"192.0.2.129", "192.0.2.130", "192.0.2.140"}, []string{"192.0.2.10"}},
		{"v=spf1 mx/30 mx:example.org/30 -all", []string{"192.0.2.128", "192.0.2.131", "192.0.2.141", "192.0.2.143"}, []string{"192.0.2.132", "192.0.2.144"}},
		{"v=spf1 ptr -all", []string{"192.0.2.65", "192.0.2.10"}, []string{"192.0.2.140", "10.0.0.4"}},
		{"v=spf1 ip4:192.0.2.128/28 -all", []string{"192.0.2.129", "192.0.2.143"}, []string{"192.0.2.65", "192.0.2.144"}},
	}
	for _, c := range cases {
		z := rfc7208Zone()
		z.txt["example.com"] = []string{c.record}
		for _, ip := range c.pass {
			if got := CheckSPF(context.Background(), z, net.ParseIP(ip), "someone@example.com", "mx.example.com"); got != SPFPass {
				t.Errorf("%q for %s = %s, want pass", c.record, ip, got)
			}
		}
		for _, ip := range c.fail {
			if got := CheckSPF(context.Background(), z, net.ParseIP(ip), "someone@example.com", "mx.example.com"); got != SPFFail {
				t.Errorf("%q for %s = %s, want fail", c.record, ip, got)
			}
		}
	}
}

// TestSPFMacroRFC7208Examples checks the macro expansions of RFC 7208
// section 7.4.
func TestSPFMacroRFC7208Examples(t *testing.T) {
	e4 := &spfEval{ip: net.ParseIP("192.0.2.3").To4(), local: "strong-bad", senderDomain: "email.example.com"}
	e6 := &spfEval{ip: net.ParseIP("2001:db8::cb01"), local: "strong-bad", senderDomain: "email.example.com"}
	cases := []struct {
		e          *spfEval
		spec, want string
	}{
		{e4, "%{s}", "strong-bad@email.example.com"},
		{e4, "%{o}", "email.example.com"},
		{e4, "%{d}", "email.example.com"},
		{e4, "%{d4}", "email.example.com"},
		{e4, "%{d3}", "email.example.com"},
		{e4, "%{d2}", "example.com"},
		{e4, "%{d1}", "com"},
		{e4, "%{dr}", "com.example.email"},
		{e4, "%{d2r}", "example.email"},
		{e4, "%{l}", "strong-bad"},
		{e4, "%{l-}", "strong.bad"},
		{e4, "%{lr}", "strong-bad"},
		{e4, "%{lr-}", "bad.strong"},
		{e4, "%{l1r-}", "strong"},
		{e4, "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
		{e4, "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
		{e4, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
		{e4, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
		{e4, "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
		{e6, "%{ir}.%{v}._spf.%{d2}", "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"},
	}
	for _, c := range cases {
		got, ok := c.e.expand(c.spec, "email.example.com")
		if !ok || got != c.want {
			t.Errorf("expand(%q) = %q, %v; want %q", c.spec, got, ok, c.want)
		}
	}
	for _, bad := range []string{"%{x}", "%{d0}", "%", "%{d", "%a", "%{c}"} {
		if _, ok := e4.expand(bad, "example.com"); ok {
			t.Errorf("expand(%q) accepted a malformed macro", bad)
		}
	}
	if got, _ := e4.expand("%%%_%-%{L}", "x.example"); got != "% %20strong-bad" {
		t.Errorf("escapes expanded to %q", got)
	}
}

// TestSPFProcessingRules covers the rules of RFC 7208 section 4 (record
// selection, results, limits) as its test suite does.
func TestSPFProcessingRules(t *testing.T) {
	ip := "192.0.2.1"
	cases := []struct {
		name string
		txt  map[string][]string
		ips  map[string][]string
		fail string // a name whose lookups fail temporarily
		ip   string
		want string
	}{
		{"no record", map[string][]string{"e.test": {"something else"}}, nil, "", ip, SPFNone},
		{"no domain", nil, nil, "", ip, SPFNone},
		{"two records", map[string][]string{"e.test": {"v=spf1 +all", "v=spf1 -all"}}, nil, "", ip, SPFPermerror},
		{"spf10 is not a record", map[string][]string{"e.test": {"v=spf10 +all"}}, nil, "", ip, SPFNone},
		{"version case-insensitive", map[string][]string{"e.test": {"V=SPF1 -ALL"}}, nil, "", ip, SPFFail},
		{"empty record is neutral", map[string][]string{"e.test": {"v=spf1"}}, nil, "", ip, SPFNeutral},
		{"softfail", map[string][]string{"e.test": {"v=spf1 ~all"}}, nil, "", ip, SPFSoftfail},
		{"neutral", map[string][]string{"e.test": {"v=spf1 ?all"}}, nil, "", ip, SPFNeutral},
		{"ip4 match", map[string][]string{"e.test": {"v=spf1 ip4:192.0.2.0/24 -all"}}, nil, "", ip, SPFPass},
		{"ip6 match", map[string][]string{"e.test": {"v=spf1 ip6:2001:db8::/32 -all"}}, nil, "", "2001:db8::1", SPFPass},
		{"ip4 never matches ip6 client", map[string][]string{"e.test": {"v=spf1 ip4:0.0.0.0/0 -all"}}, nil, "", "2001:db8::1", SPFFail},
		{"ip4-mapped ipv6 client is ipv4", map[string][]string{"e.test": {"v=spf1 ip4:192.0.2.1 -all"}}, nil, "", "::ffff:192.0.2.1", SPFPass},
		{"unknown mechanism", map[string][]string{"e.test": {"v=spf1 foo -all"}}, nil, "", ip, SPFPermerror},
		{"syntax error after a match", map[string][]string{"e.test": {"v=spf1 +all ip4:300.1.1.1"}}, nil, "", ip, SPFPermerror},
		{"bad cidr", map[string][]string{"e.test": {"v=spf1 ip4:192.0.2.0/33 -all"}}, nil, "", ip, SPFPermerror},
		{"unknown modifier ignored", map[string][]string{"e.test": {"v=spf1 moo=cow -all"}}, nil, "", ip, SPFFail},
		{"two redirects", map[string][]string{"e.test": {"v=spf1 redirect=a.test redirect=b.test"}}, nil, "", ip, SPFPermerror},
		{"include pass", map[string][]string{"e.test": {"v=spf1 include:i.test -all"}, "i.test": {"v=spf1 ip4:192.0.2.1 -all"}}, nil, "", ip, SPFPass},
		{"include fail is no match", map[string][]string{"e.test": {"v=spf1 include:i.test ?all"}, "i.test": {"v=spf1 -all"}}, nil, "", ip, SPFNeutral},
		{"include of none", map[string][]string{"e.test": {"v=spf1 include:i.test -all"}}, nil, "", ip, SPFPermerror},
		{"include temperror", map[string][]string{"e.test": {"v=spf1 include:i.test -all"}}, nil, "i.test", ip, SPFTemperror},
		{"redirect", map[string][]string{"e.test": {"v=spf1 redirect=r.test"}, "r.test": {"v=spf1 ip4:192.0.2.1 -all"}}, nil, "", ip, SPFPass},
		{"redirect to none", map[string][]string{"e.test": {"v=spf1 redirect=r.test"}}, nil, "", ip, SPFPermerror},
		{"redirect ignored after all", map[string][]string{"e.test": {"v=spf1 -all redirect=r.test"}, "r.test": {"v=spf1 +all"}}, nil, "", ip, SPFFail},
		{"a matches", map[string][]string{"e.test": {"v=spf1 a -all"}}, map[string][]string{"e.test": {"192.0.2.1"}}, "", ip, SPFPass},
		{"a with cidr", map[string][]string{"e.test": {"v=spf1 a:h.e.test/24 -all"}}, map[string][]string{"h.e.test": {"192.0.2.200"}}, "", ip, SPFPass},
		{"exists", map[string][]string{"e.test": {"v=spf1 exists:%{ir}.list.e.test -all"}}, map[string][]string{"1.2.0.192.list.e.test": {"127.0.0.2"}}, "", ip, SPFPass},
		{"temperror on TXT", nil, nil, "e.test", ip, SPFTemperror},
		{"three void lookups", map[string][]string{"e.test": {"v=spf1 a:n1.test a:n2.test a:n3.test -all"}}, nil, "", ip, SPFPermerror},
		{"two void lookups", map[string][]string{"e.test": {"v=spf1 a:n1.test a:n2.test -all"}}, nil, "", ip, SPFFail},
		{"eleven lookups", map[string][]string{"e.test": {"v=spf1 " + strings.Repeat("a ", 11) + "-all"}}, map[string][]string{"e.test": {"198.51.100.1"}}, "", ip, SPFPermerror},
		{"ten lookups", map[string][]string{"e.test": {"v=spf1 " + strings.Repeat("a ", 10) + "-all"}}, map[string][]string{"e.test": {"198.51.100.1"}}, "", ip, SPFFail},
		{"include loop", map[string][]string{"e.test": {"v=spf1 include:e.test -all"}}, nil, "", ip, SPFPermerror},
	}
	for _, c := range cases {
		z := newZone()
		for k, v := range c.txt {
			z.txt[k] = v
		}
		for k, v := range c.ips {
			z.ip[k] = v
		}
		if c.fail != "" {
			z.fail[c.fail] = true
		}
		if got := CheckSPF(context.Background(), z, net.ParseIP(c.ip), "user@e.test", ""); got != c.want {
			t.Errorf("%s: got %s, want %s (queries %v)", c.name, got, c.want, z.queries())
		}
	}
}

func TestSPFHeloWhenNullSender(t *testing.T) {
	z := newZone()
	z.txt["mx.e.test"] = []string{"v=spf1 ip4:192.0.2.1 -all"}
	if got := CheckSPF(context.Background(), z, net.ParseIP("192.0.2.1"), "", "mx.e.test"); got != SPFPass {
		t.Fatalf("null sender: got %s, want pass for the HELO identity", got)
	}
	if got := CheckSPF(context.Background(), nil, net.ParseIP("192.0.2.1"), "a@e.test", ""); got != SPFNone {
		t.Fatalf("no resolver: got %s, want none", got)
	}
}
