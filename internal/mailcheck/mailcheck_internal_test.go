package mailcheck

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// An exact copy is recognised behind trace fields a server put in front,
// also folded ones, but never by a field in the middle or in the body.
func TestExactCopy(t *testing.T) {
	sent := "DKIM-Signature: v=1; a=rsa-sha256;\r\n b=abc\r\nFrom: a@example.com\r\nSubject: hi\r\n\r\nbody\r\nX-Not: a header\r\n"
	sum := sha256.Sum256([]byte(sent))
	want := hex.EncodeToString(sum[:])
	for _, c := range []struct {
		name, raw string
		ok        bool
	}{
		{"as sent", sent, true},
		{"trace fields", "Return-Path: <x@y>\r\nReceived: from a\r\n\tby b; Fri, 4 Dec 2026\r\nX-Peer: 127.0.0.1\r\n" + sent, true},
		{"changed body", strings.Replace(sent, "body", "b0dy", 1), false},
		{"field in the middle", strings.Replace(sent, "From:", "X-Added: 1\r\nFrom:", 1), false},
		{"no header", "\r\n" + sent, false},
		{"empty", "", false},
	} {
		if got := exactCopy([]byte(c.raw), want); got != c.ok {
			t.Errorf("%s: exactCopy = %v, want %v", c.name, got, c.ok)
		}
	}
	if exactCopy([]byte(sent), "not hex") {
		t.Error("a malformed ledger hash matched")
	}
	// Bounded: at most maxTraceFields fields are tried.
	many := strings.Repeat("Received: x\r\n", maxTraceFields+1) + sent
	if exactCopy([]byte(many), want) {
		t.Error("more trace fields than the bound were tried")
	}
}

func TestToCRLF(t *testing.T) {
	for in, want := range map[string]string{"a\nb\r\nc\rd": "a\r\nb\r\nc\r\nd", "plain": "plain", "\n\n": "\r\n\r\n"} {
		if got := string(toCRLF([]byte(in))); got != want {
			t.Errorf("toCRLF(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMessageID(t *testing.T) {
	for in, want := range map[string]string{" <a@b> ": "<a@b>", "a@b": "<a@b>", "": "", "<a b@c>": "", "<" + strings.Repeat("x", 901) + ">": ""} {
		if got := messageID(in); got != want {
			t.Errorf("messageID(%q) = %q, want %q", in, got, want)
		}
	}
}
