package session

import (
	"strings"
	"testing"
)

func TestNormalizeEmailFoldsCaseSpaceAndWidth(t *testing.T) {
	for _, in := range []string{"alice@example.com", "Alice@Example.COM", " alice@example.com ", "ａｌｉｃｅ@example.com"} {
		if got := NormalizeEmail(in); got != "alice@example.com" {
			t.Errorf("NormalizeEmail(%q) = %q", in, got)
		}
	}
}

func TestValidateEmail(t *testing.T) {
	for in, ok := range map[string]bool{
		"a@example.com": true, " a@example.com ": true, "first.last+tag@sub.example.co.uk": true,
		"": false, "a": false, "a@localhost": false, "Bob <bob@example.com>": false, "a@@example.com": false,
		strings.Repeat("a", 250) + "@x.com": false, "a@example.com\r\nBcc: x@y.z": false,
	} {
		_, fe := validateEmail("email", in)
		if (fe == nil) != ok {
			t.Errorf("validateEmail(%q): ok=%v, want %v (%v)", in, fe == nil, ok, fe)
		}
	}
}

func TestCodesAndTokensAreWellFormedAndDistinct(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c, err := sixDigitCode()
		if err != nil || len(c) != 6 || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("code %q, %v", c, err)
		}
		tok, hash := newToken()
		if !strings.HasPrefix(tok, TokenPrefix) || len(tok) != len(TokenPrefix)+43 || HashToken(tok) != hash || len(hash) != 64 {
			t.Fatalf("token %q hash %q", tok, hash)
		}
		if seen[tok] {
			t.Fatal("token repeated")
		}
		seen[tok] = true
	}
	if a, b := NewID("usr"), NewID("usr"); a == b || !strings.HasPrefix(a, "usr_") || len(a) != 4+26 {
		t.Fatalf("ids %q %q", a, b)
	}
}
