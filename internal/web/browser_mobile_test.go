package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/testenv"
)

// Issue 18: every page in a real browser, at a phone's width and a
// desktop's, for every kind of visitor.

// browserWidths are the widths every page is loaded at: a phone (390 px,
// the common iPhone width) and a desktop.
var browserWidths = []int64{390, 1280}

// siteVisitor is one kind of visitor: the cookies it carries and the pages
// it reads.
type siteVisitor struct {
	name    string
	session string // the seller's session cookie ("" = none)
	agent   string // the agent console's cookie ("" = none)
	pages   []string
}

// siteFixture is one instance with something on every page: an owner with
// an authenticator app, a deposit account, a storefront, listings, a support
// case and a second session with a long browser name; a member of the
// owner's business; a Seller Support supervisor.
type siteFixture struct {
	in       *apptest.Instance
	owner    *person
	member   *person
	biz      string
	caseID   string
	visitors []siteVisitor
}

func newSiteFixture(t *testing.T) *siteFixture {
	t.Helper()
	in := apptest.Start(t, "sqlite")
	owner, biz := newOwner(t, in, "owner.with.a.rather.long.address@pages-example.com", "Harbour Goods & Lamps of the Long Name Street Ltd")
	member := joinByInvitation(t, in, owner.token, biz, "member@pages-example.com", map[string]string{"listings": "edit", "payments": "view"})
	api := "/api/v1/businesses/" + biz
	for _, c := range []struct {
		method, path string
		body         any
		status       int
	}{
		{"PUT", api + "/payments/deposit-account", map[string]string{"holder": "Harbour Goods Ltd", "bank": "First Bank", "account_number": "GB29 NWBK 6016 1331 9268 19"}, 201},
		{"PUT", api + "/storefront", map[string]string{"display_name": "Harbour Goods", "support_phone": "+44 20 7946 0000"}, 200},
		{"POST", api + "/listings", map[string]any{"listings": []map[string]any{
			{"sku": "LAMP-WITH-A-VERY-LONG-STOCK-KEEPING-UNIT-0001", "title": "Brass lamp with a long title that has to wrap on a phone", "price_cents": 4500, "quantity": 3, "condition": "good", "condition_note": "Small dent at the base"},
			{"sku": "MUG-001", "title": "Mug", "price_cents": 1250, "quantity": 10, "condition": "new"}}}, 200},
		{"PUT", "/api/v1/account/anti-phishing-phrase", map[string]string{"phrase": "blue heron at dawn"}, 200},
	} {
		if r := in.Do(t, c.method, c.path, owner.token, c.body); r.Status != c.status {
			t.Fatalf("%s %s: %d %s", c.method, c.path, r.Status, r.Body)
		}
	}
	// A second session with a long browser name, for the sessions table.
	ua := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.8078.73 Safari/537.36 SomeVeryLongExtensionIdentifierWithoutSpaces/1.2.3.4.5.6.7"
	if r := in.DoWith(t, "POST", "/api/v1/sessions", "", map[string]string{"User-Agent": ua}, map[string]string{"email": owner.email, "password": pw}); r.Status != 200 && r.Status != 201 {
		t.Fatalf("second session: %d %s", r.Status, r.Body)
	}
	r := in.Do(t, "POST", "/api/v1/support/cases", owner.token, map[string]string{"kind": "compromised", "description": "Someone changed my listings overnight; the price of MUG-001 is not mine."})
	if r.Status != 201 {
		t.Fatalf("support case: %d %s", r.Status, r.Body)
	}
	caseID := r.JSON(t)["id"].(string)
	lead := addAgent(t, in, "lead@pages-example.com", "supervisor")
	agentTok := agentToken(t, in, lead)

	signedOut := []string{"/", "/signup", "/signup/verify", "/signin", "/signin/help", "/signin/forgot", "/signin/unlock", "/signin/revert-email",
		"/security", "/privacy", "/security/phishing", "/mail/check", "/report-phishing", "/support/new", "/support/not-me", "/agent/signin", "/agent/enrol"}
	ownerPages := []string{"/account", "/account/sessions", "/account/two-step", "/account/two-step/passkeys", "/account/password",
		"/account/phrase", "/account/email", "/account/phone", "/account/notifications", "/account/team", "/account/team/review?business_id=" + biz,
		"/account/checkup", "/account/audit", "/account/changes", "/account/secure", "/account/business", "/account/business/checkup?business_id=" + biz,
		"/account/reauth", "/support", "/support/cases/" + caseID, "/support/new", "/security", "/privacy", "/security/phishing", "/mail/check", "/report-phishing"}
	memberPages := []string{"/account", "/account/team?business_id=" + biz, "/account/business?business_id=" + biz, "/account/sessions",
		"/account/two-step", "/account/checkup", "/support", "/security"}
	agentPages := []string{"/agent", "/agent/cases/" + caseID, "/agent/agents"}
	return &siteFixture{in: in, owner: owner, member: member, biz: biz, caseID: caseID, visitors: []siteVisitor{
		{name: "signed-out", pages: signedOut},
		{name: "owner", session: owner.token, pages: ownerPages},
		{name: "member", session: member.token, pages: memberPages},
		{name: "agent", agent: agentTok, pages: agentPages},
	}}
}

// as puts the visitor's cookies (and only those) into the browser.
func (f *siteFixture) as(t *testing.T, tb *browserTab, v siteVisitor) {
	t.Helper()
	for name, value := range map[string]string{pageSessionCookie: v.session, "sg_agent": v.agent} {
		if value == "" {
			if _, err := chromedp.Call(tb.ctx, network.DeleteCookies, network.DeleteCookiesParams{Name: name, URL: f.in.URL + "/"}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		setBrowserCookie(t, tb, f.in, name, value)
	}
}

// describeJS names an element for a failure message: tag, id, classes,
// name and the start of its text.
const describeJS = `const describe = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
	(typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\s+/).join('.') : '') +
	(e.name ? '[name=' + e.name + ']' : '') + (e.innerText ? ' "' + e.innerText.trim().slice(0, 30) + '"' : '');
const visible = e => { const r = e.getBoundingClientRect(), s = getComputedStyle(e); return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };`

// unlabelledControlsJS lists the visible form controls a screen reader
// cannot name: no label[for], no wrapping label, no aria-label and no
// aria-labelledby that points at text.
const unlabelledControlsJS = `(() => { ` + describeJS + `
	const named = e => (e.id && [...document.querySelectorAll('label[for]')].some(l => l.htmlFor === e.id && l.textContent.trim())) ||
		(e.closest('label') && e.closest('label').textContent.trim()) || (e.getAttribute('aria-label') || '').trim() ||
		(e.getAttribute('aria-labelledby') || '').trim().split(/\s+/).some(id => { const l = document.getElementById(id); return l && l.textContent.trim(); });
	return [...document.querySelectorAll('input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=reset]), select, textarea')]
		.filter(visible).filter(e => !named(e)).map(describe);
})()`

// smallTargetsJS lists the visible controls a finger hits that are less
// than 44 px tall: buttons, fields, menus, the header's and footer's links,
// link buttons, disclosure summaries and checkbox labels.
const smallTargetsJS = `(() => { ` + describeJS + `
	return [...document.querySelectorAll('button, a.button, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea, header a, footer a, summary, label.check')]
		.filter(visible).filter(e => e.getBoundingClientRect().height < 43.5).map(e => describe(e) + ' ' + Math.round(e.getBoundingClientRect().height) + 'px');
})()`

// wideCulpritJS names the deepest elements that stick out of the viewport.
const wideCulpritJS = `(() => { ` + describeJS + `
	return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).map(describe).slice(-3).join(' | ');
})()`

// checkPageFits loads nothing: it checks the page the tab shows at the
// width it has. It returns the problems found.
func checkPageFits(tb *browserTab, width int64) []string {
	var out []string
	if sw := tabEval[int64](tb, `document.documentElement.scrollWidth`); sw > width {
		out = append(out, fmt.Sprintf("%d px wide (scrollWidth) at %d px: %s", sw, width, tabEval[string](tb, wideCulpritJS)))
	}
	if u := tabEval[[]string](tb, unlabelledControlsJS); len(u) > 0 {
		out = append(out, fmt.Sprintf("controls without a label: %q", u))
	}
	if width < 640 {
		if s := tabEval[[]string](tb, smallTargetsJS); len(s) > 0 {
			out = append(out, fmt.Sprintf("touch targets under 44 px: %q", s))
		}
	}
	return out
}

// wantHeaderFor checks the header of the page the tab shows: a signed-in
// seller sees their menu and "Sign out" and no "Sign in"; a signed-out
// visitor "Sign in" and no menu; an agent page neither seller menu.
func wantHeaderFor(t *testing.T, tb *browserTab, visitor, what string) {
	t.Helper()
	type header struct {
		SignOut, Account, SignIn bool
	}
	h := tabEval[header](tb, `({signOut: !!document.querySelector('header #signout'), account: !!document.querySelector('header nav a[href="/account"]'), signIn: !!document.querySelector('header nav a[href="/signin"]')})`)
	var want header
	switch visitor {
	case "owner", "member":
		want = header{SignOut: true, Account: true}
	case "signed-out":
		want = header{SignIn: true}
	case "agent":
		want = header{}
	}
	if h != want {
		t.Errorf("%s as %s: header has sign-out %v, account menu %v, sign-in %v; want %+v", what, visitor, h.SignOut, h.Account, h.SignIn, want)
	}
}

// Every page at 390 px and 1280 px, in English and Chinese, for a visitor
// who is signed out, an owner, a member and a Seller Support agent: the
// document is never wider than the viewport (no sideways scrolling), every
// visible form control has a label, and at 390 px every button, field and
// header or footer link is at least 44 px tall.
func TestBrowserPagesFitANarrowScreen(t *testing.T) {
	f := newSiteFixture(t)
	tb := newBrowserTabFor(t, 8*time.Minute)
	var problems []string
	loads := 0
	for _, width := range browserWidths {
		tb.do("viewport", chromedp.EmulateViewport(width, 844))
		for _, lang := range []string{"en", "zh-CN"} {
			setBrowserCookie(t, tb, f.in, "sg_lang", lang)
			for _, v := range f.visitors {
				f.as(t, tb, v)
				for _, p := range v.pages {
					tb.navigate(f.in.URL + p)
					loads++
					path, _, _ := strings.Cut(p, "?")
					if loc := tb.location(); !strings.HasPrefix(loc, f.in.URL+path) {
						problems = append(problems, fmt.Sprintf("%s %s %d %s: went to %s", v.name, lang, width, p, loc))
						continue
					}
					if l := tabEval[string](tb, `document.documentElement.lang`); l != lang {
						problems = append(problems, fmt.Sprintf("%s %s: page in %q", v.name, p, l))
					}
					if ps := checkPageFits(tb, width); len(ps) > 0 {
						for _, pr := range ps {
							problems = append(problems, fmt.Sprintf("%s %s %d %s: %s", v.name, lang, width, p, pr))
						}
						tb.screenshot(fmt.Sprintf("fit-%s-%s-%d%s", v.name, lang, width, strings.NewReplacer("/", "-", "?", "-", "=", "-").Replace(path)))
					}
				}
			}
		}
	}
	t.Logf("%d page loads checked", loads)
	for _, p := range problems {
		t.Error(p)
	}
	// A page of each kind, to look at.
	tb.do("viewport", chromedp.EmulateViewport(390, 844))
	setBrowserCookie(t, tb, f.in, "sg_lang", "en")
	f.as(t, tb, f.visitors[1])
	for _, p := range []string{"/account", "/account/team", "/account/audit", "/account/sessions", "/account/business"} {
		tb.navigate(f.in.URL + p)
		tb.screenshot("phone" + strings.ReplaceAll(p, "/", "-"))
	}
	// On a phone a table is a card per row, each cell labelled with its
	// column (static/tablecards.js).
	tb.navigate(f.in.URL + "/account/sessions")
	if d := tabEval[string](tb, `getComputedStyle(document.querySelector('main table tbody tr')).display`); d != "block" {
		t.Errorf("at 390 px a table row is display:%s, want a card (block)", d)
	}
	if l := tabEval[[]string](tb, `[...document.querySelectorAll('main table tbody tr:first-child > *')].map(c => c.dataset.label || '')`); len(l) == 0 || l[0] == "" {
		t.Errorf("cells of the first row are not labelled with their columns: %q", l)
	}
	tb.noConsoleErrors()
}

// An error page shows the header of the visitor's real state: a signed-in
// seller who mistypes an address, opens a page they may not see or sends
// the wrong method still sees their menu and "Sign out", not "Sign in".
func TestBrowserErrorPagesShowTheSignedInHeader(t *testing.T) {
	f := newSiteFixture(t)
	tb := newBrowserTab(t)
	tb.do("viewport", chromedp.EmulateViewport(390, 844))
	cases := []struct {
		visitor, path string
		status        int64
	}{
		{"signed-out", "/no-such-page", 404},
		{"signed-out", "/account/sessions/revoke-others", 405},
		{"owner", "/no-such-page", 404},
		{"owner", "/account/sessions/revoke-others", 405},
		{"owner", "/support/cases/case_doesnotexist", 404},
		{"member", "/no-such-page", 404},
		{"member", "/account/audit?business_id=" + f.biz, 403},
		{"member", "/account/two-step/backup-codes/done", 405},
		{"agent", "/agent/cases/case_doesnotexist", 404},
	}
	byName := map[string]siteVisitor{}
	for _, v := range f.visitors {
		byName[v.name] = v
	}
	for _, lang := range []string{"en", "zh-CN"} {
		setBrowserCookie(t, tb, f.in, "sg_lang", lang)
		for _, c := range cases {
			f.as(t, tb, byName[c.visitor])
			resp, err := chromedp.RunResponse(tb.ctx, chromedp.Navigate(f.in.URL+c.path))
			if err != nil {
				t.Fatalf("open %s: %v", c.path, err)
			}
			if resp.Status != c.status {
				t.Errorf("%s %s: %d, want %d", c.visitor, c.path, resp.Status, c.status)
			}
			wantHeaderFor(t, tb, c.visitor, lang+" "+c.path)
			if ps := checkPageFits(tb, 390); len(ps) > 0 {
				t.Errorf("%s %s: %q", c.visitor, c.path, ps)
			}
		}
	}
	// The footer's links lead to pages that exist, for each visitor.
	for _, v := range f.visitors[:3] {
		f.as(t, tb, v)
		tb.navigate(f.in.URL + "/security")
		links := tabEval[[]string](tb, `[...document.querySelectorAll('footer a')].map(a => a.getAttribute('href'))`)
		if len(links) != 6 {
			t.Errorf("%s: footer links %q", v.name, links)
		}
		for _, l := range links {
			r := pageGet(t, f.in, l, v.session)
			if r.StatusCode != http.StatusOK {
				t.Errorf("%s: footer link %s answers %d", v.name, l, r.StatusCode)
			}
		}
	}
}

// axeViolation is one rule axe-core found broken on a page.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

// runAxe injects axe-core into the page the tab shows and runs it; it
// returns the violations of the impacts named (serious and critical when
// none is).
func runAxe(t *testing.T, tb *browserTab, axeJS string, impacts ...string) []axeViolation {
	t.Helper()
	if ok := tabEval[bool](tb, axeJS+"\n;typeof axe === 'object' && typeof axe.run === 'function'"); !ok {
		t.Fatal("axe-core did not load into the page")
	}
	if len(impacts) == 0 {
		impacts = []string{"serious", "critical"}
	}
	want, _ := json.Marshal(impacts)
	vs, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {resultTypes: ['violations']}).then(r =>
		r.violations.filter(v => `+string(want)+`.includes(v.impact)).map(v => ({id: v.id, impact: v.impact, help: v.help,
			targets: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe.run: %v", err)
	}
	return vs
}

// axe-core (a maintained accessibility engine, run inside Chromium) finds
// no serious or critical violation on the main pages: home, sign-up,
// sign-in, support, the security practices, and the owner's account,
// two-step, team, audit log and support pages, at both widths and in both
// languages. Without axe-core the test fails under SELLERGUARD_TEST_STRICT=1.
func TestBrowserAccessibilityAxe(t *testing.T) {
	axePath := testenv.AxePath(t)
	src, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatal(err)
	}
	f := newSiteFixture(t)
	tb := newBrowserTabFor(t, 5*time.Minute)
	pages := map[string][]string{
		"signed-out": {"/", "/signup", "/signin", "/support/new", "/security"},
		"owner":      {"/account", "/account/two-step", "/account/team", "/account/audit", "/support"},
	}
	byName := map[string]siteVisitor{}
	for _, v := range f.visitors {
		byName[v.name] = v
	}
	checked := 0
	for _, width := range browserWidths {
		tb.do("viewport", chromedp.EmulateViewport(width, 844))
		for _, lang := range []string{"en", "zh-CN"} {
			setBrowserCookie(t, tb, f.in, "sg_lang", lang)
			for _, who := range []string{"signed-out", "owner"} {
				f.as(t, tb, byName[who])
				for _, p := range pages[who] {
					tb.navigate(f.in.URL + p)
					if loc := tb.location(); loc != f.in.URL+p {
						t.Errorf("%s %s went to %s", who, p, loc)
						continue
					}
					for _, v := range runAxe(t, tb, string(src)) {
						t.Errorf("%s %s %d %s: axe %s (%s): %s — %q", who, lang, width, p, v.ID, v.Impact, v.Help, v.Targets)
					}
					checked++
				}
			}
		}
	}
	t.Logf("axe-core (%s) checked %d page loads", axePath, checked)
	// The check can fail: a field without a label, added to a page, is
	// reported as a critical violation.
	f.as(t, tb, byName["signed-out"])
	tb.navigate(f.in.URL + "/signin")
	tabEval[bool](tb, `(() => { const i = document.createElement('input'); i.type = 'text'; document.querySelector('main').appendChild(i); return true; })()`)
	if vs := runAxe(t, tb, string(src)); !slices.ContainsFunc(vs, func(v axeViolation) bool { return v.ID == "label" }) {
		t.Errorf("axe did not report a field without a label: %+v", vs)
	}
}
