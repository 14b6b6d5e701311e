package sms

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestNormalizeNumber(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" when refused
		err  error
	}{
		// Mobile numbers, however they are grouped.
		{in: "+44 7400 123456", want: "+447400123456"},
		{in: "+447400123456", want: "+447400123456"},
		{in: "  +44 (0)7400 123-456 ", want: "+447400123456"},
		{in: "+1 201 555 0123", want: "+12015550123"}, // US: fixed line or mobile
		{in: "+1 (650) 253-0000", want: "+16502530000"},
		{in: "+49 1512 3456789", want: "+4915123456789"},
		{in: "+49 151/23456789", want: "+4915123456789"},
		{in: "+33 6 12 34 56 78", want: "+33612345678"},

		// Not a number in international form.
		{in: "", err: ErrInvalidNumber},
		{in: "07400 123456", err: ErrInvalidNumber},     // national form
		{in: "0044 7400 123456", err: ErrInvalidNumber}, // international prefix instead of +
		{in: "+1 800 FLOWERS", err: ErrInvalidNumber},   // letters
		{in: "+44 7400 12345a", err: ErrInvalidNumber},
		{in: "+44 7400 123456 ext. 12", err: ErrInvalidNumber},
		{in: "+44 7400 123456#12", err: ErrInvalidNumber},
		{in: "+４４ ７４００ １２３４５６", err: ErrInvalidNumber}, // full-width digits
		{in: "+44 20", err: ErrInvalidNumber},          // too short
		{in: "+1 555", err: ErrInvalidNumber},
		{in: "+44 7400 1234", err: ErrInvalidNumber},                   // too short for a UK mobile
		{in: "+44 7400 1234567", err: ErrInvalidNumber},                // too long for a UK mobile
		{in: "+1234567890123456", err: ErrInvalidNumber},               // over 15 digits
		{in: "+" + strings.Repeat(" 1", 20), err: ErrInvalidNumber},    // over 32 bytes
		{in: "+999 1234 5678", err: ErrInvalidNumber},                  // no such country code
		{in: "+44 7700 900123", err: ErrInvalidNumber},                 // not an allocated range
		{in: "+1 201 555 0123\x00", err: ErrInvalidNumber},             // control character
		{in: "++44 7400 123456", err: ErrInvalidNumber},                // two +
		{in: "+44 7400 123456 +44 7400 123457", err: ErrInvalidNumber}, // two numbers
		{in: "+44 (7400) 123456)", want: "+447400123456"},              // grouping is only grouping
		{in: "+49 (0)30 123456", err: ErrNumberNotAllowed},             // Berlin landline
		{in: "+44 20 7946 0018", err: ErrNumberNotAllowed},             // London landline
		{in: "+44 909 879 0000", err: ErrNumberNotAllowed},             // UK premium rate
		{in: "+44 870 123 4567", err: ErrNumberNotAllowed},             // UK 087x premium/service
		{in: "+44 70 1234 5678", err: ErrNumberNotAllowed},             // UK personal number
		{in: "+44 56 1234 5678", err: ErrNumberNotAllowed},             // UK VoIP
		{in: "+1 900 234 5678", err: ErrNumberNotAllowed},              // US premium rate
		{in: "+1 800 234 5678", err: ErrNumberNotAllowed},              // US toll free
		{in: "+49 900 1234567", err: ErrNumberNotAllowed},              // DE premium rate
	} {
		got, err := NormalizeNumber(tc.in)
		if got != tc.want || (tc.err == nil) != (err == nil) || (tc.err != nil && !errors.Is(err, tc.err)) {
			t.Errorf("NormalizeNumber(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
		if err != nil && tc.in != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.in)) {
			t.Errorf("NormalizeNumber(%q): error %q repeats the number", tc.in, err)
		}
	}
}

func TestNormalizeNumberNamesTheKind(t *testing.T) {
	_, err := NormalizeNumber("+44 909 879 0000")
	if err == nil || !strings.Contains(err.Error(), "premium-rate") {
		t.Fatalf("err = %v", err)
	}
}

func TestLast4(t *testing.T) {
	for in, want := range map[string]string{
		"+447400120123": "•••• 0123",
		"+12015550123":  "•••• 0123",
		"+123":          "••••",
		"":              "••••",
	} {
		if got := Last4(in); got != want {
			t.Errorf("Last4(%q) = %q, want %q", in, got, want)
		}
	}
}

func ExampleLast4() {
	n, err := NormalizeNumber("+44 7400 120123")
	if err != nil {
		panic(err)
	}
	fmt.Println(n, Last4(n))
	// Output: +447400120123 •••• 0123
}

func FuzzNormalizeNumber(f *testing.F) {
	for _, s := range []string{"+44 7400 123456", "+1 (650) 253-0000", "+49 (0)30 123456", "+1 800 FLOWERS", "0044", "+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := NormalizeNumber(s)
		if err != nil {
			if n != "" || (!errors.Is(err, ErrInvalidNumber) && !errors.Is(err, ErrNumberNotAllowed)) {
				t.Fatalf("NormalizeNumber(%q) = %q, %v", s, n, err)
			}
			return
		}
		if !isE164(n) {
			t.Fatalf("NormalizeNumber(%q) = %q, not E.164", s, n)
		}
		if again, err := NormalizeNumber(n); again != n || err != nil {
			t.Fatalf("NormalizeNumber(%q) = %q, %v; not stable", n, again, err)
		}
	})
}

// The example number the error messages give must itself be accepted.
func TestExampleNumberPassesTheCheck(t *testing.T) {
	got, err := NormalizeNumber(ExampleNumber)
	if err != nil || got != "+447400123456" {
		t.Fatalf("NormalizeNumber(%q) = %q, %v", ExampleNumber, got, err)
	}
}
