package phishing

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sellerguard "github.com/sellerguard/sellerguard"
)

var refusalCodes = map[string]bool{
	ECodeMessageTooLarge: true, ECodeTooManyParts: true, ECodeTooDeep: true, ECodeTooManyHeaders: true,
	ECodeAnalysisTimeout: true, ECodeNotAMessage: true,
}

var verdicts = map[string]bool{VerdictPhishing: true, VerdictSuspicious: true, VerdictNoThreatFound: true}

func addCorpusSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*", "*.eml"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
}

// FuzzMIME feeds arbitrary bytes to the whole analysis (header parser,
// MIME walker, decoders, HTML tokenizer, attachment and zip inspection).
// It must never panic, and must answer either an Analysis with a known
// verdict or a refusal with a known code.
func FuzzMIME(f *testing.F) {
	f.Add([]byte("From: a@b.example\r\nSubject: hi\r\n\r\nhello https://x.example/"))
	f.Add([]byte("From: a@b.example\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/html; charset=gb2312\r\nContent-Transfer-Encoding: base64\r\n\r\nPGEgaHJlZj0iaHR0cDovLzEuMi4zLjQvIj54PC9hPg==\r\n--B\r\nContent-Type: application/zip; name=a.zip\r\nContent-Transfer-Encoding: base64\r\n\r\nUEsDBAo=\r\n--B--\r\n"))
	f.Add([]byte("From: =?gb2312?B?1tC5+g==?= <x@y.example>\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@d.example\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=E4=BD=A0=E5=A5=BD=\r\n"))
	addCorpusSeeds(f)
	cfg := testConfig()
	f.Fuzz(func(t *testing.T, raw []byte) {
		a, err := Analyze(context.Background(), raw, cfg)
		if err != nil {
			if code := sellerguard.ErrorCode(err); !refusalCodes[code] {
				t.Fatalf("unexpected error %v (code %q)", err, code)
			}
			return
		}
		if !verdicts[a.Verdict] || a.Links == nil || a.Attachments == nil {
			t.Fatalf("bad analysis: %+v", a)
		}
		if len(a.Links) > maxLinks {
			t.Fatalf("%d links, over the bound", len(a.Links))
		}
	})
}

// FuzzLinks feeds arbitrary text to the link extractors (HTML and plain
// text) and the link checks.
func FuzzLinks(f *testing.F) {
	f.Add(`<a href="https://evil.example/">https://sellerguard.example/</a>`, "see www.sellerguard.example and http://1.2.3.4/")
	f.Add(`<a href="javascript:x"><img alt="www.x.example"></a><form action=//a.example>`, "https://bit.ly/x 请点击https://例子.测试/登录。")
	f.Add(`<meta http-equiv=refresh content="0;url=http://[::1]:80/">`, "http://user:pass@sellerguard.example@evil.example/")
	b := newBrand(testConfig())
	f.Fuzz(func(t *testing.T, doc, text string) {
		_, links, dropped := extractHTML(context.Background(), doc, 50)
		if len(links) > 50 || dropped < 0 {
			t.Fatalf("html: %d links", len(links))
		}
		tl, _ := extractTextLinks(context.Background(), text, 50)
		if len(tl) > 50 {
			t.Fatalf("text: %d links", len(tl))
		}
		for _, l := range analyzeLinks(context.Background(), append(links, tl...), b) {
			if l.Href == "" {
				t.Fatalf("empty href in %+v", l)
			}
		}
		if _, err := AnalyzeLink(context.Background(), text, doc, testConfig()); err != nil && sellerguard.ErrorCode(err) != ECodeInvalidLink {
			t.Fatalf("AnalyzeLink: %v", err)
		}
	})
}

// FuzzSPF feeds arbitrary SPF records (outside input, from DNS) to the
// record parser, the macro expander and check_host().
func FuzzSPF(f *testing.F) {
	f.Add("v=spf1 mx/30 mx:example.org/30 -all", "strong-bad@email.example.com")
	f.Add("v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} redirect=%{d2}.x.example", "a.b-c@x.example")
	f.Add("v=spf1 include:e.test a:%{o}//64 ptr ip6:2001:db8::/32 ?all exp=%{c}", "@e.test")
	f.Fuzz(func(t *testing.T, record, sender string) {
		z := newZone()
		z.txt["e.test"] = []string{record}
		z.txt["x.example"] = []string{record}
		z.ip["e.test"] = []string{"192.0.2.1"}
		if !strings.Contains(sender, "@") {
			sender += "@e.test"
		}
		switch res := CheckSPF(context.Background(), z, net.ParseIP("192.0.2.1"), sender, "helo.e.test"); res {
		case SPFNone, SPFNeutral, SPFPass, SPFFail, SPFSoftfail, SPFTemperror, SPFPermerror:
		default:
			t.Fatalf("result %q", res)
		}
		if n := len(z.queries()); n > 4*spfMaxLookups+spfMaxMX*spfMaxLookups+10 {
			t.Fatalf("%d DNS queries for one check", n)
		}
	})
}
