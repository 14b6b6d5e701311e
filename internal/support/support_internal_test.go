package support

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanBody(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"  hello\r\nworld  ", "hello\nworld", true},
		{"tab\there", "tab\there", true},
		{"", "", false},
		{"   \n ", "", false},
		{"bell\a", "", false},
		{"del\x7f", "", false},
		{"bad \xff utf8", "", false},
		{strings.Repeat("字", MaxDescriptionChars), strings.Repeat("字", MaxDescriptionChars), true},
		{strings.Repeat("x", MaxDescriptionChars+1), "", false},
	} {
		got, err := cleanBody("description", c.in, MaxDescriptionChars)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("cleanBody(%q) = %q, %v; want %q ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestValidEmail(t *testing.T) {
	for in, ok := range map[string]bool{
		"a@example.com": true, " b@example.org ": true, "": false, "no-at.example.com": false, "a@b": false,
		"a@example.com>": false, "x y@example.com": false, strings.Repeat("a", 250) + "@e.com": false, "@example.com": false,
	} {
		if _, err := validEmail("email", in); (err == nil) != ok {
			t.Errorf("validEmail(%q): %v, want ok=%v", in, err, ok)
		}
	}
}

func TestNewRef(t *testing.T) {
	re := regexp.MustCompile(`^SC-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`)
	seen := map[string]bool{}
	for range 200 {
		r, err := newRef()
		if err != nil || !re.MatchString(r) {
			t.Fatalf("newRef = %q, %v", r, err)
		}
		seen[r] = true
	}
	if len(seen) < 199 {
		t.Fatalf("only %d distinct references of 200", len(seen))
	}
}

// FuzzCleanBody: whatever a seller sends, the check neither panics nor lets
// through control characters, invalid UTF-8 or an over-long text.
func FuzzCleanBody(f *testing.F) {
	for _, s := range []string{"hello", "a\r\nb", "\x00", "\xff", strings.Repeat("x", 5000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := cleanBody("body", in, MaxMessageChars)
		if err != nil {
			return
		}
		if out == "" || !utf8.ValidString(out) || utf8.RuneCountInString(out) > MaxMessageChars || strings.ContainsAny(out, "\r\x00\x7f") {
			t.Fatalf("cleanBody(%q) let through %q", in, out)
		}
	})
}
