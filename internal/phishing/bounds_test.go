package phishing

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	sellerguard "github.com/sellerguard/sellerguard"
)

func testConfig() Config {
	return Config{BrandDomains: []string{"sellerguard.example", "mail.sellerguard.example"}, BrandNames: []string{"SellerGuard"}}
}

func wantRefused(t *testing.T, err error, code string) {
	t.Helper()
	if got := sellerguard.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

// padTo pads a message with a text part body so that it is exactly n bytes.
func padTo(b *bytes.Buffer, n int) {
	for b.Len() < n {
		b.WriteString("x")
	}
	b.Truncate(n)
}

func TestBoundsManyParts(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("From: a@b.example\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n")
	for i := 0; i < 10000; i++ {
		b.WriteString("--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n")
	}
	b.WriteString("--B--\r\n")
	for b.Len() < 1<<20 {
		b.WriteString("epilogue\r\n")
	}
	raw := b.Bytes()[:1<<20]
	start := time.Now()
	_, err := Analyze(context.Background(), raw, testConfig())
	wantRefused(t, err, ECodeTooManyParts)
	if d := time.Since(start); d > DefaultTimeout {
		t.Fatalf("refusing 10,000 parts took %v, over the %v bound", d, DefaultTimeout)
	}
}

func TestBoundsDeepNesting(t *testing.T) {
	for _, kind := range []string{"multipart", "rfc822"} {
		var b bytes.Buffer
		b.WriteString("From: a@b.example\r\nSubject: deep\r\n")
		for i := 0; i < 1000; i++ {
			if kind == "multipart" {
				fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
			} else {
				b.WriteString("Content-Type: message/rfc822\r\n\r\nFrom: c@d.example\r\n")
			}
		}
		b.WriteString("Content-Type: text/plain\r\n\r\nbottom\r\n")
		for i := 999; i >= 0 && kind == "multipart"; i-- {
			fmt.Fprintf(&b, "--b%d--\r\n", i)
		}
		padTo(&b, 1<<20)
		start := time.Now()
		_, err := Analyze(context.Background(), b.Bytes(), testConfig())
		wantRefused(t, err, ECodeTooDeep)
		if d := time.Since(start); d > DefaultTimeout {
			t.Fatalf("%s: refusing 1,000 levels took %v", kind, d)
		}
	}
}

func TestBoundsSizeHeadersAndInput(t *testing.T) {
	big := append([]byte("From: a@b.example\r\n\r\n"), bytes.Repeat([]byte("a"), DefaultMaxBytes)...)
	_, err := Analyze(context.Background(), big, testConfig())
	wantRefused(t, err, ECodeMessageTooLarge)

	var h strings.Builder
	h.WriteString("From: a@b.example\r\n")
	for i := 0; i < DefaultMaxHeaders; i++ {
		h.WriteString("X-Filler: 1\r\n")
	}
	h.WriteString("\r\nbody\r\n")
	_, err = Analyze(context.Background(), []byte(h.String()), testConfig())
	wantRefused(t, err, ECodeTooManyHeaders)

	// The same bound holds inside a part.
	var p strings.Builder
	p.WriteString("From: a@b.example\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n")
	for i := 0; i <= DefaultMaxHeaders; i++ {
		p.WriteString("X-Filler: 1\r\n")
	}
	p.WriteString("\r\nbody\r\n--B--\r\n")
	_, err = Analyze(context.Background(), []byte(p.String()), testConfig())
	wantRefused(t, err, ECodeTooManyHeaders)

	for _, notMsg := range []string{"", "hello, this is not an email", "\r\n\r\nbody", "X-Only: 1\r\n\r\nbody", " folded\r\n"} {
		_, err = Analyze(context.Background(), []byte(notMsg), testConfig())
		wantRefused(t, err, ECodeNotAMessage)
	}

	// Smaller configured bounds are honoured.
	cfg := testConfig()
	cfg.MaxBytes, cfg.MaxParts, cfg.MaxDepth = 100, 2, 1
	_, err = Analyze(context.Background(), bytes.Repeat([]byte("a"), 101), cfg)
	wantRefused(t, err, ECodeMessageTooLarge)
	three := "From: a@b.example\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n\r\na\r\n--B\r\n\r\nb\r\n--B--\r\n"
	_, err = Analyze(context.Background(), []byte(three), cfg)
	wantRefused(t, err, ECodeTooManyParts)
}

// slowZone answers every query only when the context ends.
type slowZone struct{ *zone }

func (s slowZone) LookupTXT(ctx context.Context, name string) ([]string, error) {
	<-ctx.Done()
	return nil, &net.DNSError{Err: ctx.Err().Error(), Name: name, IsTimeout: true, IsTemporary: true}
}

func TestBoundsTimeout(t *testing.T) {
	raw := "From: a@sellerguard.example\r\nReceived: from mx.b.example ([198.51.100.1]) by mx.c.example; Fri, 4 Dec 2026 10:00:00 +0000\r\n" +
		"Return-Path: <a@sellerguard.example>\r\nSubject: x\r\nDKIM-Signature: v=1; a=rsa-sha256; d=sellerguard.example; s=s; h=from; bh=AAAA; b=AAAA\r\n\r\nhello\r\n"

	// A resolver that never answers costs half the time, then the
	// analysis goes on without it.
	cfg := testConfig()
	cfg.Resolver = slowZone{newZone()}
	cfg.Timeout = 200 * time.Millisecond
	start := time.Now()
	a, err := Analyze(context.Background(), []byte(raw), cfg)
	if err != nil {
		t.Fatalf("slow DNS: %v", err)
	}
	if d := time.Since(start); d > cfg.Timeout+time.Second {
		t.Errorf("slow DNS: the analysis took %v, over its %v", d, cfg.Timeout)
	}
	if a.Auth.SPF != SPFTemperror || a.Auth.DKIM != AuthTemperror || a.Auth.DMARC != AuthTemperror {
		t.Errorf("slow DNS: auth %+v, want temperror everywhere", a.Auth)
	}
	got := codes(a.Reasons)
	if !slices.Contains(got, CodeAuthTemperror) || !slices.Contains(got, CodeBrandUnverified) || slices.Contains(got, CodeBrandSpoofed) {
		t.Errorf("slow DNS: reasons %v: want auth_temperror and brand_unverified, not brand_spoofed", got)
	}

	// The caller's deadline, when it has passed, refuses the analysis.
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err = Analyze(ctx, []byte(raw), testConfig())
	wantRefused(t, err, ECodeAnalysisTimeout)
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = Analyze(ctx, []byte(raw), testConfig())
	wantRefused(t, err, ECodeAnalysisCanceled)
	_, err = AnalyzeLink(ctx, "https://x.example/", "", testConfig())
	wantRefused(t, err, ECodeAnalysisCanceled)
}

func TestAnalyzeLinkRefusesBadInput(t *testing.T) {
	for _, bad := range []string{"", "not a url", "ftp://x.example/", "/relative", "https://" + strings.Repeat("a", MaxLinkBytes)} {
		_, err := AnalyzeLink(context.Background(), bad, "", testConfig())
		wantRefused(t, err, ECodeInvalidLink)
	}
}
