package web

import (
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/i18n"
)

// tt puts a sentence's times in <time datetime> elements (the reader's
// zone through static/localtime.js) and escapes everything else.
func TestTimesInsideSentencesAreMarkedUp(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)
	got := string(ttIn(i18n.English)("review.suspends", "When", at))
	if !strings.Contains(got, `<time datetime="2026-03-04T05:06:00Z">2026-03-04 05:06 UTC</time>`) {
		t.Fatalf("no <time> in %q", got)
	}
	zh := string(ttIn(i18n.Chinese)("review.suspends", "When", at))
	if !strings.Contains(zh, `<time datetime="2026-03-04T05:06:00Z">2026年3月4日 05:06 UTC</time>`) || zh == got {
		t.Fatalf("zh: %q", zh)
	}
	// A value that is text stays text.
	esc := string(ttIn(i18n.English)("support.case.summary", "Kind", "<b>x</b>", "State", "open", "Opened", at))
	if strings.Contains(esc, "<b>") || !strings.Contains(esc, "&lt;b&gt;") || !strings.Contains(esc, "<time datetime=") {
		t.Fatalf("escaping: %q", esc)
	}
	// The zero time reads "never", without an element.
	if z := string(ttIn(i18n.English)("review.suspends", "When", time.Time{})); strings.Contains(z, "<time") {
		t.Fatalf("zero time: %q", z)
	}
}
