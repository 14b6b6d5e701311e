package phishing

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestExtractHTMLLinks(t *testing.T) {
	doc := `<html><head><style>a{}</style><script>var u="https://script.example/";</script></head><body>
<p>Hello <a href="https://evil.example/login">https://sellerguard.example/account</a></p>
<a href=" https://sellerguard.example/help ">Help centre</a>
<a href="mailto:x@y.example">mail</a><a href="#top">top</a>
<a href="https://x.example/"><img src="cid:1" alt="www.sellerguard.example"></a>
<form action="https://collect.example/post"><input name=password></form>
<meta http-equiv="refresh" content="0; url='https://refresh.example/'">
<area href="https://area.example/" alt="map">
<a href="javascript:alert(1)">click</a></body></html>`
	text, links, dropped := extractHTML(context.Background(), doc, 100)
	if dropped != 0 {
		t.Fatalf("dropped %d", dropped)
	}
	if strings.Contains(text, "script.example") || strings.Contains(text, "a{}") {
		t.Errorf("script or style text taken as visible: %q", text)
	}
	want := []rawLink{
		{"https://sellerguard.example/account", "https://evil.example/login"},
		{"Help centre", "https://sellerguard.example/help"},
		{"mail", "mailto:x@y.example"},
		{"top", "#top"},
		{"www.sellerguard.example", "https://x.example/"},
		{"", "https://collect.example/post"},
		{"", "https://refresh.example/"},
		{"map", "https://area.example/"},
		{"click", "javascript:alert(1)"},
	}
	if !slices.Equal(links, want) {
		t.Fatalf("links:\n got %q\nwant %q", links, want)
	}
	_, links, dropped = extractHTML(context.Background(), strings.Repeat(`<a href="https://a.example/">a</a>`, 10), 3)
	if len(links) != 3 || dropped != 7 {
		t.Fatalf("limit: %d links, %d dropped", len(links), dropped)
	}
}

func TestExtractTextLinks(t *testing.T) {
	text := "Visit https://sellerguard.example/a, or www.shop.example. 请点击https://evil.example/登录。 (http://x.example/p) and ftp://no.example"
	links, _ := extractTextLinks(context.Background(), text, 100)
	var hrefs []string
	for _, l := range links {
		hrefs = append(hrefs, l.href)
	}
	want := []string{"https://sellerguard.example/a", "www.shop.example", "https://evil.example/登录", "http://x.example/p"}
	if !slices.Equal(hrefs, want) {
		t.Fatalf("got %q, want %q", hrefs, want)
	}
}

func TestAnalyzeLinks(t *testing.T) {
	b := newBrand(testConfig())
	cases := []struct {
		text, href string
		want       []string
	}{
		{"https://sellerguard.example/login", "https://evil.example/login", []string{CodeLinkTextMismatch}},
		{"www.sellerguard.example", "https://www.sellerguard.example/x", nil},
		{"Sign in", "https://sellerguard.example/signin", nil},
		{"", "http://203.0.113.7/login", []string{CodeLinkIPLiteral}},
		{"", "http://3405803783/", []string{CodeLinkIPLiteral}}, // 203.0.113.7 as one number
		{"", "http://0xcb.0x0.0x71.0x7/", []string{CodeLinkIPLiteral}},
		{"", "http://[2001:db8::1]/", []string{CodeLinkIPLiteral}},
		{"", "https://bit.ly/3abc", []string{CodeLinkShortener}},
		{"", "https://t.cn/A6x", []string{CodeLinkShortener}},
		{"", "https://sellerguard.example@evil.example/", []string{CodeLinkUserinfo}},
		{"", "https://se11erguard.example/", []string{CodeLinkLookalike}},
		{"", "https://s\u0435llerguard.example/", []string{CodeLinkLookalike, CodeLinkMixedScript, CodeLinkPunycode}},
		{"", "https://sellerguard.example.verify-login.net/", []string{CodeLinkBrandOtherDomain}},
		{"", "https://sellerguard-login.com/", []string{CodeLinkBrandOtherDomain}},
		{"", "https://selerguard.com/", []string{CodeLinkEditDistance}},
		{"", "https://例子.测试/", []string{CodeLinkPunycode}},
		{"click", "javascript:alert(1)", []string{CodeLinkDangerousScheme}},
		{"", "data:text/html;base64,PHNjcmlwdD4=", []string{CodeLinkDangerousScheme}},
		{"see e.g. the file.pdf", "https://docs.example.org/file.pdf", nil},
		{"shop.example.com", "https://shop.example.com/", nil},
		{"Visit amazon.com", "https://www.amazon.com/", nil},
	}
	for _, c := range cases {
		links := analyzeLinks(context.Background(), []rawLink{{c.text, c.href}}, b)
		if len(links) != 1 {
			t.Errorf("%s: %d links", c.href, len(links))
			continue
		}
		got := codes(links[0].Reasons)
		slices.Sort(got)
		want := append([]string(nil), c.want...)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%q -> %s: got %v, want %v", c.text, c.href, got, want)
		}
	}
	if links := analyzeLinks(context.Background(), []rawLink{{"", "mailto:a@b.example"}, {"", "#x"}, {"", "/rel"}, {"", "cid:1"}}, b); len(links) != 0 {
		t.Errorf("non-web links kept: %v", links)
	}
}
