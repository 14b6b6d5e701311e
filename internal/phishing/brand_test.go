package phishing

import (
	"slices"
	"testing"
)

func codes(rs []Reason) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Code)
	}
	return out
}

func TestClaimsBrand(t *testing.T) {
	cfg := testConfig()
	cases := []struct {
		from   string
		claims bool
		code   string // a reason code that must be present ("" none)
	}{
		{"SellerGuard <no-reply@sellerguard.example>", true, CodeFromBrandDomain},
		{"alerts@mail.sellerguard.example", true, CodeFromBrandDomain},
		{"SellerGuard <support@se11erguard.example>", true, CodeSenderLookalike},
		{"support@se11erguard.com", true, CodeSenderLookalike},
		{"support@sellerguard.com", true, CodeSenderBrandOtherDomain},          // brand name, other registrable domain
		{"support@sellerguard-security.net", true, CodeSenderBrandOtherDomain}, // brand name inside a label
		{"support@sellerguard.example.evil.net", true, CodeSenderBrandOtherDomain},
		{"support@s\u0435llerguard.example", true, CodeSenderLookalike},   // Cyrillic е
		{"support@xn--sllerguard-ksi.example", true, CodeSenderLookalike}, // the same, in punycode
		{"support@s\u0435llerguard.example", true, CodeSenderMixedScript},
		{"support@xn--sllerguard-ksi.example", true, CodeSenderPunycode},
		{"support@selerguard.com", true, CodeSenderEditDistance},
		{"support@sellreguard.com", true, CodeSenderEditDistance}, // transposition
		{"\"SellerGuard Support\" <help@gmail.example>", true, CodeDisplayNameBrand},
		{"=?UTF-8?B?U2VsbGVyR3VhcmQg5a6J5YWo5Lit5b+D?= <x@qq.example>", true, CodeDisplayNameBrand}, // "SellerGuard 安全中心"
		{"\"support@sellerguard.example\" <x@attacker.example>", true, CodeDisplayNameAddress},
		{"Alice <alice@shop.example>", false, ""},
		{"Bank <notice@bank.example>", false, ""},
		{"王小明 <wang@163.example>", false, ""},
		{"garbage without address", false, ""},
		{"", false, ""},
	}
	for _, c := range cases {
		claims, rs := ClaimsBrand(c.from, cfg)
		if claims != c.claims {
			t.Errorf("ClaimsBrand(%q) = %v (%v), want %v", c.from, claims, codes(rs), c.claims)
		}
		if c.code != "" && !slices.Contains(codes(rs), c.code) {
			t.Errorf("ClaimsBrand(%q): reasons %v lack %s", c.from, codes(rs), c.code)
		}
	}
}

func TestInspectHostLegitimate(t *testing.T) {
	b := newBrand(testConfig())
	for _, h := range []string{"sellerguard.example", "www.sellerguard.example", "shop.example", "github.com", "taobao.com", "amazon.com", "example.com", "xn--fiqs8s.cn"} {
		f := b.inspectHost(normalizeHost(h))
		if rs := f.reasons(h, false); len(rs) > 0 && h != "xn--fiqs8s.cn" {
			t.Errorf("%s: unexpected %v", h, codes(rs))
		}
		if f.confusable || f.edit || f.brandName || f.mixed {
			t.Errorf("%s: taken for a look-alike: %+v", h, f)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"sellerguard", "sellerguard", 0}, {"selerguard", "sellerguard", 1}, {"sellreguard", "sellerguard", 1}, {"sel1erguard", "sellerguard", 1}, {"abc", "sellerguard", 4}, {"", "ab", 2}} {
		if got := editDistance(c.a, c.b, 3); got != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}

// TestBrandDomainsFromBaseURL: the default brand domains come from a base
// URL, which may be an address with a port or localhost.
func TestBrandDomainsFromBaseURL(t *testing.T) {
	b := newBrand(Config{BrandDomains: []string{"127.0.0.1:8080", "localhost", "SellerGuard.Example.:8443", "[::1]:80"}})
	if !b.isBrandHost("sellerguard.example") || !b.isBrandHost("www.sellerguard.example") {
		t.Errorf("sellerguard.example with a port is not a brand domain: %v", b.regs)
	}
	for _, h := range []string{"10.0.0.1", "203.0.113.1", "localhost", "0.1", "example"} {
		if b.isBrandHost(h) {
			t.Errorf("%s taken for a brand host (%v)", h, b.regs)
		}
	}
	if !slices.Equal(b.names, []string{"sellerguard"}) {
		t.Errorf("names %v", b.names)
	}
}
