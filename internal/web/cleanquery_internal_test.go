package web

import (
	"net/url"
	"testing"
)

// cleanQuery vouches for a raw query only when decoding it could not give
// text that checkValues refuses: it never says "clean" of a query the
// decoded check refuses, and it says it of the plain queries a client
// usually sends, so those are not decoded twice.
func TestCleanQueryNeverVouchesForBadText(t *testing.T) {
	for _, tc := range []struct {
		raw   string
		clean bool // what cleanQuery must say
	}{
		{"", true},
		{"business_id=biz_abc&limit=30", true},
		{"q=two+words&x=", true},
		{"q=caf%C3%A9", false}, // clean after decoding, but escaped: decoded and checked
		{"q=a%00b", false},     // NUL escaped
		{"q=%FF", false},       // not UTF-8, escaped
		{"q%00=1", false},      // NUL in a key
		{"q=a\x00b", false},    // raw NUL
		{"q=\xff", false},      // raw byte that is not UTF-8
		{"q=%zz", false},       // a broken escape: left to the decoder
		{"q=日本", true},         // raw UTF-8
	} {
		if got := cleanQuery(tc.raw); got != tc.clean {
			t.Errorf("cleanQuery(%q) = %v, want %v", tc.raw, got, tc.clean)
		}
		// Whatever it vouches for, the full check accepts.
		if cleanQuery(tc.raw) {
			q, _ := url.ParseQuery(tc.raw)
			if err := checkValues(q); err != nil {
				t.Errorf("cleanQuery vouched for %q, which checkValues refuses: %v", tc.raw, err)
			}
		}
	}
	for _, raw := range []string{"q=a%00b", "q=%FF", "q%00=1", "q=a\x00b", "q=\xff"} {
		q, _ := url.ParseQuery(raw)
		if checkValues(q) == nil {
			t.Errorf("checkValues accepts %q", raw)
		}
	}
}

// The check a clean query gets on every request allocates nothing.
func TestCleanQueryAllocatesNothing(t *testing.T) {
	raw := "business_id=biz_abc&limit=30&q=two+words"
	if n := testing.AllocsPerRun(100, func() { cleanQuery(raw) }); n != 0 {
		t.Errorf("cleanQuery allocates %.0f times", n)
	}
}
