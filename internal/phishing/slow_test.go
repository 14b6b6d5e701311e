package phishing

import (
	"context"
	sellerguard "github.com/sellerguard/sellerguard"
	"os"
	"strings"
	"testing"
	"time"
)

// TestBoundsAdversarialBodies: bodies made to be slow for each stage
// (URL and host regexps, the HTML tokenizer, the content checks, charset
// and transfer decoding, header parsing) are analysed, or refused with
// analysis_timeout soon after the deadline: no stage runs long without
// looking at the clock. The slack allows for a loaded machine (2 cores
// shared by parallel test runs) and the race detector.
func TestBoundsAdversarialBodies(t *testing.T) {
	const size = DefaultMaxBytes - 200
	fill := func(unit string) string { return strings.Repeat(unit, size/len(unit)) }
	bodies := map[string]string{
		"text urls":     "Content-Type: text/plain\r\n\r\n" + fill("www.a "),
		"text dots":     "Content-Type: text/plain\r\n\r\n" + fill("https://a.a.a.a"),
		"html anchors":  "Content-Type: text/html\r\n\r\n" + fill(`<a href="http://a.b/">www.c.d</a>`),
		"html attrs":    "Content-Type: text/html\r\n\r\n<a " + fill(`x="1" `) + ">",
		"anchor text":   "Content-Type: text/html\r\n\r\n<a href=\"http://a.b/\">" + fill("a.") + "</a>",
		"chinese":       "Content-Type: text/plain; charset=utf-8\r\n\r\n" + fill("请立即验证您的账户提供密码"),
		"one sentence":  "Content-Type: text/plain\r\n\r\n" + fill("enter password verify account "),
		"base64":        "Content-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n\r\n" + fill("UEsDBA=="),
		"qp":            "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + fill("=E4=BD=A0"),
		"long header":   "X-Long: " + fill("a") + "\r\n\r\n",
		"folded header": "X-Fold: a\r\n" + fill(" a\r\n") + "\r\n",
		"gb18030":       "Content-Type: text/plain; charset=gb18030\r\n\r\n" + fill("\xc4\xe3"),
		"received":      fill("Received: from a ([1.2.3.4]) by b\r\n")[:20000] + "\r\n\r\n",
	}
	for name, rest := range bodies {
		if only := os.Getenv("SLOW_ONLY"); only != "" && only != name {
			continue
		}
		raw := "From: a@b.example\r\nSubject: s\r\n" + rest
		if len(raw) > DefaultMaxBytes {
			raw = raw[:DefaultMaxBytes]
		}
		cfg := testConfig()
		cfg.Timeout = 300 * time.Millisecond
		slack := 2 * time.Second
		if raceEnabled {
			slack = 6 * time.Second
		}
		start := time.Now()
		_, err := Analyze(context.Background(), []byte(raw), cfg)
		d := time.Since(start)
		t.Logf("%s: %v (%v)", name, d, err)
		if err != nil && !refusalCodes[sellerguard.ErrorCode(err)] {
			t.Errorf("%s: %v", name, err)
		}
		if d > cfg.Timeout+slack {
			t.Errorf("%s took %v, over the %v bound and %v of slack", name, d, cfg.Timeout, slack)
		}
	}
}
