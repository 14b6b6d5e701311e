package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// In Chromium, at desktop and phone width, in English and Chinese: the
// audit log shows the price change as a sentence with its currency and
// only the changed field, the member picker names the member, and the
// date is shown whole (in the browser's zone by static/localtime.js), not
// one character per line.
func TestBrowserAuditLogReadsAsSentences(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	owner, biz, _ := priceChange(t, in)
	tb := newBrowserTab(t)
	tb.navigate(in.URL + "/")
	setBrowserCookie(t, tb, in, "sg_session", owner)
	row := `document.querySelector('tr[data-action="business.listing_changed"]')`
	for _, c := range []struct{ lang, sentence, field, picker string }{
		{"en", "lee@mugs.example changed the price of MUG-001 from US$12.50 to US$14.00", "price", "Member"},
		{"zh-CN", "lee@mugs.example将 MUG-001 的价格从 12.50 美元 改为 14.00 美元", "价格", "成员"},
	} {
		if r := in.Do(t, "PUT", "/api/v1/account/language", owner, map[string]string{"language": c.lang}); r.Status != 200 {
			t.Fatalf("language: %d %s", r.Status, r.Body)
		}
		for _, w := range []struct {
			name          string
			width, height int64
		}{{"desktop", 1280, 900}, {"phone", 390, 844}} {
			tb.do("viewport "+w.name, chromedp.EmulateViewport(w.width, w.height))
			tb.navigate(in.URL + "/account/audit?business_id=" + biz)
			what := c.lang + " " + w.name
			if got := tabEval[string](tb, row+`.querySelector('td.title').innerText`); got != c.sentence {
				t.Errorf("%s: title %q, want %q", what, got, c.sentence)
			}
			if got := tabEval[[]string](tb, `[...`+row+`.querySelectorAll('dl.changes dt')].map(e => e.innerText)`); len(got) != 1 || got[0] != c.field {
				t.Errorf("%s: fields %q", what, got)
			}
			if got := tabEval[string](tb, `document.querySelector('label[for="actor"]').innerText`); got != c.picker {
				t.Errorf("%s: picker label %q", what, got)
			}
			if got := tabEval[[]string](tb, `[...document.querySelectorAll('#actor option')].map(o => o.innerText)`); !strings.Contains(strings.Join(got, "|"), "lee@mugs.example") {
				t.Errorf("%s: picker options %q", what, got)
			}
			// The time: rewritten by localtime.js (its UTC text kept as
			// the title), and at most three lines high.
			if title := tabEval[string](tb, row+`.querySelector('td.when time').title`); !strings.Contains(title, "UTC") {
				t.Errorf("%s: the time was not shown in the browser's zone (title %q)", what, title)
			}
			// An inline element has one box per line it takes.
			lines := tabEval[float64](tb, row+`.querySelector('td.when time').getClientRects().length`)
			if lines < 1 || lines > 3 {
				t.Errorf("%s: the date takes %v lines", what, lines)
			}
			tb.screenshot("audit-" + c.lang + "-" + w.name)
		}
	}
	tb.noConsoleErrors()
}
