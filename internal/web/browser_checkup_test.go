package web_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// signInDays counts, from the audit log as the API lists it, the owner's
// finished sign-ins, wrong passwords and sign-ins from a new browser per UTC
// day of the 30 days up to now.
func signInDays(t *testing.T, in *apptest.Instance, tok string) map[string][3]int {
	t.Helper()
	now := in.Clock.Now().UTC().Truncate(24 * time.Hour)
	first := now.Add(-29 * 24 * time.Hour)
	out := map[string][3]int{}
	for i := range 30 {
		out[first.Add(time.Duration(i)*24*time.Hour).Format("2006-01-02")] = [3]int{}
	}
	cursor := ""
	for {
		r := in.Do(t, "GET", "/api/v1/audit?category=session&limit=200"+cursor, tok, nil)
		if r.Status != 200 {
			t.Fatalf("audit: %d %s", r.Status, r.Body)
		}
		var page struct {
			Events []struct {
				Action    string         `json:"action"`
				After     map[string]any `json:"after"`
				CreatedAt time.Time      `json:"created_at"`
			} `json:"events"`
			NextCursor *string `json:"next_cursor"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			d := e.CreatedAt.UTC().Format("2006-01-02")
			c, ok := out[d]
			if !ok {
				continue
			}
			switch e.Action {
			case "session.signin_failed":
				c[1]++
			case "session.created":
				if e.After["level"] == "full" || e.After["second_step"] != nil {
					c[0]++
				}
				if e.After["new_device"] == true {
					c[2]++
				}
			}
			out[d] = c
		}
		if page.NextCursor == nil {
			return out
		}
		cursor = "&cursor=" + url.QueryEscape(*page.NextCursor)
	}
}

// The sign-in chart of the checkup page in real Chromium, at a desktop and
// a phone width: an inline SVG drawn on the server with the counts of the
// audit log per day, a text alternative and a table for screen readers, no
// console error (the CSP allows it as it is), and no sideways scrolling.
func TestBrowserCheckupChart(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	owner, _ := newOwner(t, in, "owner@chart.example", "Chart Goods")
	// Activity over several days: sign-ins, wrong passwords.
	for _, d := range []struct{ ok, bad int }{{2, 1}, {0, 2}, {1, 0}} {
		for range d.bad {
			if r := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": owner.email, "password": "wrong password entirely"}); r.Status != 401 {
				t.Fatalf("wrong password: %d %s", r.Status, r.Body)
			}
		}
		for range d.ok {
			owner.signInAgain(t, in)
			in.Clock.Advance(31 * time.Second) // the next code is a new one
		}
		in.Clock.Advance(2 * day)
	}

	tb := newBrowserTab(t)
	steps := &totpSteps{}
	tb.navigate(in.URL + "/signin")
	browserSignIn(t, tb, owner.email, pw)
	wantTabLocation(t, tb, in, "/signin/second-step")
	tb.typeInto("code", steps.code(t, in, owner.secret))
	tb.click("second-step-submit")
	wantTabLocation(t, tb, in, "/account")
	if s := tabEval[string](tb, `document.querySelector('#checkup-card').dataset.status`); s != "needs_attention" {
		t.Fatalf("checkup card on the account page: %q", s)
	}
	tb.click("checkup-link")
	wantTabLocation(t, tb, in, "/account/checkup")

	in.Clock.Advance(31 * time.Second) // a fresh code for the API sign-in
	owner.signInAgain(t, in)           // counted too: the page is loaded again below
	want := signInDays(t, in, owner.token)
	totals := [3]int{}
	for _, c := range want {
		for i := range c {
			totals[i] += c[i]
		}
	}
	if totals[0] < 4 || totals[1] != 3 || totals[2] < 1 {
		t.Fatalf("audit log totals %v: the setup did not record what it should", totals)
	}
	for _, w := range []struct {
		name          string
		width, height int64
	}{{"desktop", 1280, 900}, {"phone", 390, 844}} {
		tb.do("viewport "+w.name, chromedp.EmulateViewport(w.width, w.height))
		tb.navigate(in.URL + "/account/checkup")
		// The table for screen readers, and the SVG's bars, per day.
		var rows [][]string
		if err := json.Unmarshal([]byte(tabEval[string](tb, `JSON.stringify([...document.querySelectorAll('#signin-table tbody tr')].map(r => [...r.cells].map(c => c.textContent.trim())))`)), &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 30 {
			t.Fatalf("%s: table has %d rows, want 30", w.name, len(rows))
		}
		var bars [][]string
		if err := json.Unmarshal([]byte(tabEval[string](tb, `JSON.stringify([...document.querySelectorAll('#signin-chart g.day')].map(g => [g.dataset.date, g.dataset.succeeded, g.dataset.failed, g.dataset.newBrowsers, String(g.querySelectorAll('rect.bar-ok').length), String(g.querySelectorAll('rect.bar-failed').length), String(g.querySelectorAll('.mark-new').length)]))`)), &bars); err != nil {
			t.Fatal(err)
		}
		if len(bars) != 30 {
			t.Fatalf("%s: chart has %d days", w.name, len(bars))
		}
		for i, row := range rows {
			c, ok := want[row[0]]
			if !ok {
				t.Fatalf("%s: row %d is for %s, not one of the last 30 days", w.name, i, row[0])
			}
			got := fmt.Sprintf("%s %s %s", row[1], row[2], row[3])
			if exp := fmt.Sprintf("%d %d %d", c[0], c[1], c[2]); got != exp {
				t.Errorf("%s: table %s reads %q, the audit log says %q", w.name, row[0], got, exp)
			}
			b := bars[i]
			drawn := fmt.Sprintf("%s %s %s %s", b[0], b[1], b[2], b[3])
			if exp := fmt.Sprintf("%s %d %d %d", row[0], c[0], c[1], c[2]); drawn != exp {
				t.Errorf("%s: chart day %d is %q, want %q", w.name, i, drawn, exp)
			}
			if (c[0] > 0) != (b[4] == "1") || (c[1] > 0) != (b[5] == "1") || (c[2] > 0) != (b[6] == "1") {
				t.Errorf("%s: %s draws bars/marks %v for counts %v", w.name, row[0], b[4:], c)
			}
		}
		// The text alternative.
		if role := tabEval[string](tb, `document.querySelector('#signin-chart').getAttribute('role')`); role != "img" {
			t.Errorf("%s: svg role %q", w.name, role)
		}
		if l := tabEval[string](tb, `document.querySelector('#signin-chart').getAttribute('aria-labelledby')`); l != "chart-title chart-desc" {
			t.Errorf("%s: aria-labelledby %q", w.name, l)
		}
		desc := tabEval[string](tb, `document.querySelector('#chart-desc').textContent`)
		if !strings.Contains(desc, fmt.Sprintf("%d successful sign-ins, %d failed sign-ins, %d sign-ins from a new browser", totals[0], totals[1], totals[2])) {
			t.Errorf("%s: chart description %q, totals %v", w.name, desc, totals)
		}
		if c := tabEval[string](tb, `document.querySelector('#signin-table caption').textContent`); c != "Sign-ins per day, last 30 days" {
			t.Errorf("%s: table caption %q", w.name, c)
		}
		// It fits: no sideways scrolling, the chart within the viewport.
		if sw, vw := tabEval[int](tb, `document.documentElement.scrollWidth`), tabEval[int](tb, `window.innerWidth`); sw > vw || vw != int(w.width) {
			t.Errorf("%s: scrollWidth %d, viewport %d", w.name, sw, vw)
		}
		if cw := tabEval[float64](tb, `document.querySelector('#signin-chart').getBoundingClientRect().width`); cw <= 0 || cw > float64(w.width) {
			t.Errorf("%s: chart is %.0f px wide", w.name, cw)
		}
		if h := tabEval[float64](tb, `document.querySelector('#signin-chart').getBoundingClientRect().height`); h < 60 {
			t.Errorf("%s: chart is %.0f px high", w.name, h)
		}
		tb.screenshot("checkup-chart-" + w.name)
	}
	// No script on the page but the layout's (static/localtime.js, which
	// shows times in the reader's zone, static/forms.js, which shows form
	// errors, and static/tablecards.js, which labels table cells for
	// phones), and nothing the CSP refused.
	if s := tabEval[[]string](tb, `[...document.scripts].map(s => new URL(s.src).pathname)`); !slices.Equal(s, []string{"/static/localtime.js", "/static/forms.js", "/static/tablecards.js"}) {
		t.Errorf("the checkup page has scripts %q", s)
	}
	tb.noConsoleErrors()
}
