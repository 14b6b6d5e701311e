package phishing

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	msgdkim "github.com/emersion/go-msgauth/dkim"
)

// signer signs test messages for a domain and publishes its key in a zone.
type signer struct {
	domain, selector string
	key              ed25519.PrivateKey
}

func newSigner(t *testing.T, z *zone, domain string) *signer {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	z.txt["s1._domainkey."+domain] = []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}
	return &signer{domain: domain, selector: "s1", key: priv}
}

func (s *signer) sign(t *testing.T, msg string) string {
	t.Helper()
	var out bytes.Buffer
	err := msgdkim.Sign(&out, strings.NewReader(msg), &msgdkim.SignOptions{
		Domain: s.domain, Selector: s.selector, Signer: s.key,
		HeaderKeys: []string{"From", "To", "Subject", "Date", "Message-ID", "Content-Type"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func brandZone() *zone {
	z := newZone()
	z.txt["sellerguard.example"] = []string{"v=spf1 ip4:192.0.2.0/24 -all"}
	z.txt["_dmarc.sellerguard.example"] = []string{"v=DMARC1; p=reject; adkim=r; aspf=r"}
	return z
}

const genuine = "Received: from mx.seller.example (mx.seller.example [10.0.0.2]) by imap.seller.example; Fri, 4 Dec 2026 10:00:02 +0000\r\n" +
	"Received: from out.sellerguard.example (out.sellerguard.example [%s]) by mx.seller.example; Fri, 4 Dec 2026 10:00:01 +0000\r\n" +
	"Return-Path: <%s>\r\n" +
	"From: SellerGuard <no-reply@sellerguard.example>\r\n" +
	"To: seller@shop.example\r\n" +
	"Subject: New sign-in to your account\r\n" +
	"Date: Fri, 4 Dec 2026 10:00:00 +0000\r\n" +
	"Message-ID: <abc123@sellerguard.example>\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"We noticed a new sign-in. Review it at https://sellerguard.example/security\r\n" +
	"Your anti-phishing phrase: blue tractor\r\n"

func fill(ip, mailFrom string) string {
	return strings.Replace(strings.Replace(genuine, "%s", ip, 1), "%s", mailFrom, 1)
}

func TestAuthentication(t *testing.T) {
	z := brandZone()
	brandKey := newSigner(t, z, "sellerguard.example")
	otherZone := newSigner(t, z, "news.shop.example")
	cfg := testConfig()
	cfg.Resolver = z

	signed := brandKey.sign(t, fill("198.51.100.20", "bounce@sellerguard.example"))
	altered := strings.Replace(signed, "https://sellerguard.example/security", "https://sellerguard-security.example/login", 1)
	cases := []struct {
		name             string
		raw              string
		cfg              Config
		spf, dkim, dmarc string
		aligned          bool
		code, verdict    string
	}{
		{"signed by the platform", signed, cfg, SPFFail, AuthPass, AuthPass, true, CodeBrandAuthenticated, VerdictNoThreatFound},
		{"signed, one link changed", altered, cfg, SPFFail, AuthFail, AuthFail, false, CodeBrandSpoofed, VerdictPhishing},
		{"unsigned from a foreign server", fill("203.0.113.9", "bounce@sellerguard.example"), cfg, SPFFail, AuthNone, AuthFail, false, CodeBrandSpoofed, VerdictPhishing},
		{"unsigned from the platform's server", fill("192.0.2.25", "bounce@sellerguard.example"), cfg, SPFPass, AuthNone, AuthPass, true, CodeBrandAuthenticated, VerdictNoThreatFound},
		{"forged but no DNS", fill("203.0.113.9", "bounce@sellerguard.example"), testConfig(), SPFNone, AuthNone, AuthNone, false, CodeBrandUnverified, VerdictSuspicious},
		{"signed by a third party", otherZone.sign(t, strings.Replace(fill("198.51.100.20", "x@news.shop.example"), "SellerGuard <no-reply@sellerguard.example>", "Shop News <news@news.shop.example>", 1)), cfg, SPFNone, AuthPass, AuthNone, true, "", VerdictNoThreatFound},
	}
	for _, c := range cases {
		a, err := Analyze(context.Background(), []byte(c.raw), c.cfg)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if a.Auth.SPF != c.spf || a.Auth.DKIM != c.dkim || a.Auth.DMARC != c.dmarc || a.Auth.Aligned != c.aligned {
			t.Errorf("%s: auth %+v, want spf=%s dkim=%s dmarc=%s aligned=%v", c.name, a.Auth, c.spf, c.dkim, c.dmarc, c.aligned)
		}
		if c.code != "" && !slices.Contains(codes(a.Reasons), c.code) {
			t.Errorf("%s: reasons %v lack %s", c.name, codes(a.Reasons), c.code)
		}
		if a.Verdict != c.verdict {
			t.Errorf("%s: verdict %s (%v), want %s", c.name, a.Verdict, codes(a.Reasons), c.verdict)
		}
	}
}

func TestConnectingHop(t *testing.T) {
	h, _, err := splitHeader([]byte(fill("198.51.100.20", "b@sellerguard.example")), 100, true)
	if err != nil {
		t.Fatal(err)
	}
	ip, helo := connectingHop(h)
	if ip.String() != "198.51.100.20" || helo != "out.sellerguard.example" {
		t.Fatalf("hop = %v %q: the private 10.0.0.2 hop must be skipped", ip, helo)
	}
	if got := mailFrom(h); got != "b@sellerguard.example" {
		t.Fatalf("mail from %q", got)
	}
	ip, _ = connectingHop(headerBlock{{"Received", "from [IPv6:2001:db8::5] by mx.example; date"}})
	if ip.String() != "2001:db8::5" {
		t.Fatalf("IPv6 literal: %v", ip)
	}
}

func TestForwarded(t *testing.T) {
	inner := fill("203.0.113.9", "bounce@sellerguard.example")
	report := "From: seller@shop.example\r\nTo: stop-spoofing@sellerguard.example\r\nSubject: Fwd: New sign-in\r\n" +
		"Content-Type: multipart/mixed; boundary=F\r\n\r\n--F\r\nContent-Type: text/plain\r\n\r\nThis looks fake.\r\n" +
		"--F\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=original.eml\r\n\r\n" + inner + "\r\n--F--\r\n"
	got, ok, err := Forwarded(context.Background(), []byte(report), testConfig())
	if err != nil || !ok {
		t.Fatalf("Forwarded: %v %v", ok, err)
	}
	if !strings.HasPrefix(string(got), "Received:") || !strings.Contains(string(got), "Message-ID: <abc123@sellerguard.example>") {
		t.Fatalf("inner message: %q", got)
	}
	cfg := testConfig()
	cfg.Resolver = brandZone()
	a, err := Analyze(context.Background(), got, cfg)
	if err != nil || a.MessageID != "<abc123@sellerguard.example>" || !slices.Contains(codes(a.Reasons), CodeBrandSpoofed) {
		t.Fatalf("analysis of the forwarded message: %+v %v", a, err)
	}
	if _, ok, err := Forwarded(context.Background(), []byte(inner), testConfig()); ok || err != nil {
		t.Fatalf("a message with nothing attached: %v %v", ok, err)
	}
}
