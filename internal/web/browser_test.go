package web_test

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/testenv"
)

// browserTimeout bounds each browser test as a whole: Chromium is started
// with a context of this timeout, so a hung page ends the test instead of the
// whole test binary. It guards against a hang, it is not a speed bound: a
// flow that takes 7 s alone took over 60 s in CI, with Chromium starting cold
// on 2 busy cores beside -race test binaries, so it leaves room for that.
const browserTimeout = 3 * time.Minute

// pageSessionCookie is the name of the session cookie over plain HTTP (the
// __Host- prefix is used only with secure cookies).
const pageSessionCookie = "sg_session"

// browserShotDir is where the browser tests leave screenshots for a person to
// look at. SELLERGUARD_SCREENSHOT_DIR overrides it.
func browserShotDir() string {
	if d := os.Getenv("SELLERGUARD_SCREENSHOT_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "sellerguard-shots")
}

// browserTab is a tab of a fresh headless Chromium of one test.
type browserTab struct {
	t     *testing.T
	ctx   context.Context
	start time.Time // when Chromium was asked to start

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// newBrowserTab starts a fresh Chromium (its own fresh --user-data-dir, made and
// removed by chromedp) with the flags DESIGN.md section 7 asks for on this
// machine. The browser ends after browserTimeout at the latest, and is
// closed, waited for and its profile removed when the test ends.
func newBrowserTab(t *testing.T) *browserTab {
	t.Helper()
	return newBrowserTabFor(t, browserTimeout)
}

// newBrowserTabFor is newBrowserTab for a longer flow: the browser ends
// after timeout at the latest.
func newBrowserTabFor(t *testing.T, timeout time.Duration) *browserTab {
	t.Helper()
	execPath := testenv.ChromiumPath(t)
	tctx, cancelTimeout := context.WithTimeout(context.Background(), timeout)
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(tctx, opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	tb := &browserTab{t: t, ctx: ctx, start: time.Now()}
	var pid int
	t.Cleanup(func() {
		// Close Chromium gracefully, then make sure the process is gone
		// and chromedp has removed its profile directory.
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := chromedp.Cancel(cctx)
		cancel()
		cancelTab()
		cancelAlloc() // waits for the browser process and the profile removal
		cancelTimeout()
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("closing Chromium: %v", err)
		}
		if pid != 0 {
			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("Chromium (pid %d) still running after the test: %v", pid, err)
			}
		}
	})
	// Start the browser now, so that a missing or broken Chromium fails
	// here and not in the middle of the flow.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium %s: %v", execPath, err)
	}
	if c := chromedp.FromContext(ctx); c != nil && c.Browser != nil && c.Browser.Process() != nil {
		pid = c.Browser.Process().Pid
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.console = append(tb.console, m)
			tb.mu.Unlock()
		}
	}()
	return tb
}

// noConsoleErrors fails the test if a page logged an error or threw (a CSP
// violation, a blocked stylesheet, a failed subresource). A message whose
// "URL: text" contains one of the allowed strings is only logged. The
// missing /favicon.ico (the browser asks for it on every page; SellerGuard
// has none) is always allowed.
func (tb *browserTab) noConsoleErrors(allowed ...string) {
	tb.t.Helper()
	allowed = append(allowed, "/favicon.ico: Failed to load resource: the server responded with a status of 404")
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, m := range tb.console {
		line := m.URL + ": " + m.Text
		isErr := m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException
		if isErr && !slices.ContainsFunc(allowed, func(a string) bool { return strings.Contains(line, a) }) {
			tb.t.Errorf("browser console %s at %s", m.Type, line)
		} else {
			tb.t.Logf("browser console %s at %s", m.Type, line)
		}
	}
}

func tabRun[T any](tb *browserTab, what string, a chromedp.Action[T]) T {
	tb.t.Helper()
	began := time.Now()
	v, err := chromedp.Run(tb.ctx, a)
	if err != nil {
		tb.t.Fatalf("%s: %v%s", what, err, tb.took(began))
	}
	return v
}

func (tb *browserTab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	began := time.Now()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %v%s", what, err, tb.took(began))
	}
}

// took says, for a failed step, how long it and the whole tab took, so that
// a timeout shows whether one step hung or the machine was slow throughout.
func (tb *browserTab) took(began time.Time) string {
	return fmt.Sprintf(" (after %s on this step, %s since Chromium started)",
		time.Since(began).Round(time.Millisecond), time.Since(tb.start).Round(time.Millisecond))
}

// navigate opens the URL and waits for the page to load.
func (tb *browserTab) navigate(u string) {
	tb.t.Helper()
	tb.do("open "+u, chromedp.Navigate(u))
}

// settle waits, as a careful user would, until no part of the page is
// being updated (aria-busy="true": the password meter between a keystroke
// and its answer, whose reasons and tips move what is below it). A click
// computed before such a move lands where the button was: no submission,
// and RunResponse waits for a navigation that never comes.
//
// It asks again every 20 ms rather than with chromedp.Poll, whose poll
// does not survive a document change: right after a navigation it can
// fail with "Cannot find context with specified id" (seen in CI); an
// error is asked again too, until the tab's own deadline.
func (tb *browserTab) settle() {
	tb.t.Helper()
	began := time.Now()
	for {
		busy, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`document.querySelector('[aria-busy="true"]') !== null`))
		if err == nil && !busy {
			return
		}
		if tb.ctx.Err() != nil {
			tb.t.Fatalf("wait for the page to settle (no aria-busy): busy %v, %v%s", busy, cmp.Or(err, tb.ctx.Err()), tb.took(began))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// click clicks the element with the id and waits for the page it leads to,
// following redirects; it returns the final document's response.
func (tb *browserTab) click(id string) *network.Response {
	tb.t.Helper()
	tb.settle()
	began := time.Now()
	resp, err := chromedp.RunResponse(tb.ctx, chromedp.Click(chromedp.ID(id)))
	if err != nil {
		tb.t.Fatalf("click #%s: %v%s", id, err, tb.took(began))
	}
	return resp
}

func (tb *browserTab) typeInto(id, text string) {
	tb.t.Helper()
	tb.do("type into #"+id, chromedp.SendKeys(chromedp.ID(id), text))
}

func (tb *browserTab) location() string {
	tb.t.Helper()
	return tabRun(tb, "read the location", chromedp.Location())
}

func (tb *browserTab) text(css string) string {
	tb.t.Helper()
	return strings.TrimSpace(tabRun(tb, "read the text of "+css, chromedp.Text(chromedp.CSS(css))))
}

func (tb *browserTab) value(id string) string {
	tb.t.Helper()
	return tabRun(tb, "read the value of #"+id, chromedp.Value(chromedp.ID(id)))
}

func tabEval[T any](tb *browserTab, expr string) T {
	tb.t.Helper()
	return tabRun(tb, "evaluate "+expr, chromedp.Evaluate[T](expr))
}

// cookies returns the browser's cookies for the URL, by name.
func (tb *browserTab) cookies(u string) map[string]*network.Cookie {
	tb.t.Helper()
	res, err := chromedp.Call(tb.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{u}})
	if err != nil {
		tb.t.Fatalf("Network.getCookies: %v", err)
	}
	out := map[string]*network.Cookie{}
	for _, c := range res.Cookies {
		out[c.Name] = c
	}
	return out
}

// screenshot saves a PNG of the whole page for a person to look at.
func (tb *browserTab) screenshot(name string) {
	tb.t.Helper()
	buf := tabRun(tb, "screenshot "+name, chromedp.FullScreenshot(100))
	dir := browserShotDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot: %s", p)
}

// wantTabLocation checks the tab's URL, relative to the instance.
func wantTabLocation(t *testing.T, tb *browserTab, in *apptest.Instance, path string) {
	t.Helper()
	if got := tb.location(); got != in.URL+path {
		t.Fatalf("location = %s, want %s", got, in.URL+path)
	}
}

// wantTabStyled checks that the stylesheet loaded and applied under the CSP
// (style-src 'self', nosniff): the body has the background of style.css.
func wantTabStyled(t *testing.T, tb *browserTab) {
	t.Helper()
	if bg := tabEval[string](tb, `getComputedStyle(document.body).backgroundColor`); bg != "rgb(247, 248, 250)" {
		t.Errorf("body background = %q: /static/style.css did not apply", bg)
	}
}

// labelsBesideControlsJS lists the labels of the audit filter form that a
// person would not read as the label of their control: the control must
// start at the label's left edge and sit right below it.
const labelsBesideControlsJS = `[...document.querySelectorAll('form.filters label')].filter(l => {
	const a = l.getBoundingClientRect(), b = l.control.getBoundingClientRect();
	return Math.abs(a.left - b.left) > 2 || b.top < a.bottom - 1 || b.top - a.bottom > 16;
}).map(l => l.innerText.trim())`

type browserSessionRow struct {
	Current bool   `json:"current"`
	Text    string `json:"text"`
}

const browserSessionRowsJS = `[...document.querySelectorAll('#sessions tbody tr')].map(tr => ({current: tr.classList.contains('current'), text: tr.innerText}))`

func TestBrowserSignupToSignout(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	tb := newBrowserTab(t)
	const (
		email    = "ada.lovelace@example.com"
		password = "correct horse battery staple"
		business = `Ada's Widgets & <Co>`
	)

	// 1. Sign up.
	tb.navigate(in.URL + "/signup")
	wantTabStyled(t, tb)
	tb.typeInto("email", email)
	tb.typeInto("password", password)
	tb.typeInto("business_name", business)
	if resp := tb.click("signup-submit"); resp.Status != http.StatusOK {
		t.Fatalf("sign-up answered %d, want 200", resp.Status)
	}
	if h := tb.text("main h1"); h != "Verify your email" {
		t.Fatalf("after sign-up the page says %q, want the verify page", h)
	}
	if got := tb.value("email"); got != email {
		t.Errorf("verify page email = %q, want it prefilled with %q", got, email)
	}
	if n := tb.text(".notice"); !strings.Contains(n, "six-digit code") {
		t.Errorf("verify page notice = %q", n)
	}
	if v := tb.value("code"); v != "" {
		t.Errorf("code field prefilled with %q", v)
	}
	tb.screenshot("1-verify")

	// 2. Enter the emailed code.
	code := in.LastCode(t, email)
	tb.typeInto("code", code)
	tb.click("verify-submit")
	wantTabLocation(t, tb, in, "/signin?verified=1")
	if n := tb.text(".notice"); !strings.Contains(n, "Your account is ready") {
		t.Errorf("sign-in notice = %q, want %q", n, "Your account is ready")
	}

	// 3. Sign in.
	tb.typeInto("email", email)
	tb.typeInto("password", password)
	tb.click("signin-submit")
	wantTabLocation(t, tb, in, "/account")
	if got := tb.text("#account-email"); got != email {
		t.Errorf("#account-email = %q, want %q", got, email)
	}
	businesses := tabEval[[][]string](tb, `[...document.querySelectorAll('main table tbody tr')].map(tr => [...tr.cells].map(td => td.innerText.trim()))`)
	if len(businesses) != 1 || len(businesses[0]) < 2 || businesses[0][0] != business || businesses[0][1] != "owner" {
		t.Errorf("businesses table = %q, want one row %q with role owner", businesses, business)
	}
	if got := tb.text("header.top nav"); !strings.Contains(got, "Sign out") || strings.Contains(got, "Sign up") {
		t.Errorf("signed-in navigation = %q", got)
	}
	wantTabStyled(t, tb)
	tb.screenshot("2-account")

	// 4. The session cookie.
	cookies := tb.cookies(in.URL)
	c, ok := cookies[pageSessionCookie]
	if !ok {
		t.Fatalf("no %s cookie in the browser; cookies: %v", pageSessionCookie, cookies)
	}
	if !c.HTTPOnly {
		t.Errorf("session cookie is not HttpOnly")
	}
	if c.SameSite != network.CookieSameSiteLax {
		t.Errorf("session cookie SameSite = %q, want Lax", c.SameSite)
	}
	if c.Path != "/" {
		t.Errorf("session cookie Path = %q, want /", c.Path)
	}
	if dc := tabEval[string](tb, `document.cookie`); strings.Contains(dc, pageSessionCookie) {
		t.Errorf("page script can read the session cookie: document.cookie = %q", dc)
	}
	browserToken := c.Value

	// 5. A second session through the API; end it from the sessions page.
	apiToken := in.SignIn(t, email, password)
	if r := in.Do(t, "GET", "/api/v1/session", apiToken, nil); r.Status != http.StatusOK {
		t.Fatalf("API session before revoke: %d %s", r.Status, r.Body)
	}
	tb.navigate(in.URL + "/account/sessions")
	rows := tabEval[[]browserSessionRow](tb, browserSessionRowsJS)
	if len(rows) != 2 {
		t.Fatalf("sessions table has %d rows, want 2: %+v", len(rows), rows)
	}
	current := 0
	for _, r := range rows {
		if r.Current {
			current++
			if !strings.Contains(r.Text, "This session") {
				t.Errorf("current session row does not say %q: %q", "This session", r.Text)
			}
		} else if strings.Contains(r.Text, "This session") {
			t.Errorf("other session row says %q: %q", "This session", r.Text)
		}
	}
	if current != 1 {
		t.Errorf("%d rows marked current, want 1: %+v", current, rows)
	}
	tb.screenshot("3-sessions")
	tb.click("revoke-others")
	wantTabLocation(t, tb, in, "/account/sessions?done=others")
	if n := tb.text(".notice"); n != "Every other session has ended." {
		t.Errorf("sessions notice = %q", n)
	}
	rows = tabEval[[]browserSessionRow](tb, browserSessionRowsJS)
	if len(rows) != 1 || !rows[0].Current || !strings.Contains(rows[0].Text, "This session") {
		t.Fatalf("after revoking the others the table is %+v, want only this session", rows)
	}
	tb.screenshot("4-sessions-after-revoke")
	if r := in.Do(t, "GET", "/api/v1/session", apiToken, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("API token after sign out everywhere else: %d %s, want 401", r.Status, r.Body)
	}

	// 6. The audit log. The business requires two-step verification, so
	// the audit page first sends the owner to set it up: add an
	// authenticator app, as a person would, then go on.
	tb.navigate(in.URL + "/account/audit")
	wantTabLocation(t, tb, in, "/account/two-step?required=1")
	if n := tb.text("#required-notice"); !strings.Contains(n, "Your business requires two-step verification before you can see its data") {
		t.Errorf("two-step set-up notice = %q", n)
	}
	enrolAuthenticator(t, tb, in, &totpSteps{}, "", false)
	tb.navigate(in.URL + "/account/audit")
	wantTabLocation(t, tb, in, "/account/audit")
	actions := tabEval[[]string](tb, `[...document.querySelectorAll('#audit tbody tr')].map(tr => tr.dataset.action)`)
	for _, want := range []string{"session.created", "business.created", "user.created", "session.revoked_others", "two_step.method_added"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit table has no %s row; actions: %q", want, actions)
		}
	}
	// Each row says what happened as a sentence of its own (not the
	// "… changed a record" fallback), about the owner's account, never an
	// id, and a method's default name is not repeated after its kind.
	titles := tabEval[[]string](tb, `[...document.querySelectorAll('#audit tbody tr td.title')].map(td => td.innerText.trim())`)
	for _, want := range []string{"Your account was created", "You created the business", "Every other session of your account was signed out",
		"A two-step method was added to your account: authenticator app"} {
		if !slices.Contains(titles, want) {
			t.Errorf("audit titles = %q, want %q among them", titles, want)
		}
	}
	if len(titles) == 0 || slices.ContainsFunc(titles, func(s string) bool { return strings.Contains(s, " changed a ") || strings.Contains(s, "usr_") }) {
		t.Errorf("audit titles = %q, want a sentence for each", titles)
	}
	href := tabRun(tb, "read the CSV link", chromedp.AttributeValue(chromedp.ID("csv-export"), "href"))
	if !href.Exists || !strings.HasPrefix(href.Value, "/account/audit.csv") {
		t.Fatalf("CSV link href = %+v, want /account/audit.csv...", href)
	}
	checkAuditCSV(t, in, href.Value, browserToken)
	wantTabStyled(t, tb)
	if bad := tabEval[[]string](tb, labelsBesideControlsJS); len(bad) != 0 {
		t.Errorf("audit filter labels not right above their controls: %q", bad)
	}
	tb.screenshot("5-audit")

	// 7. Sign out.
	tb.click("signout")
	wantTabLocation(t, tb, in, "/signin?signedout=1")
	if n := tb.text(".notice"); !strings.Contains(n, "You are signed out") {
		t.Errorf("sign-out notice = %q", n)
	}
	if _, ok := tb.cookies(in.URL)[pageSessionCookie]; ok {
		t.Errorf("session cookie still in the browser after sign-out")
	}
	tb.navigate(in.URL + "/account")
	wantTabLocation(t, tb, in, "/signin")
	// The old cookie value must be dead on the server too, not only
	// forgotten by the browser.
	if r := pageGet(t, in, "/account", browserToken); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/signin" {
		t.Errorf("old session cookie after sign-out: GET /account = %d Location %q, want 303 to /signin", r.StatusCode, r.Header.Get("Location"))
	}
	tb.noConsoleErrors()
}

// checkAuditCSV downloads the export the audit page links to, with the browser's
// session, and checks that it is a CSV of the same events.
func checkAuditCSV(t *testing.T, in *apptest.Instance, href, token string) {
	t.Helper()
	r := pageGet(t, in, href, token)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", href, r.StatusCode)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("CSV Content-Type = %q", ct)
	}
	if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
		t.Errorf("CSV Content-Disposition = %q", cd)
	}
	recs, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v\n%s", err, r.body)
	}
	if len(recs) < 2 || recs[0][0] != "created_at" {
		t.Fatalf("CSV = %q", recs)
	}
	col := slices.Index(recs[0], "action")
	var actions []string
	for _, rec := range recs[1:] {
		actions = append(actions, rec[col])
	}
	for _, want := range []string{"session.created", "business.created", "user.created", "session.revoked_others"} {
		if !slices.Contains(actions, want) {
			t.Errorf("CSV has no %s row; actions: %q", want, actions)
		}
	}
}

type pageResult struct {
	StatusCode int
	Header     http.Header
	body       string
}

// pageGet fetches a page with a session cookie, without following
// redirects.
func pageGet(t *testing.T, in *apptest.Instance, path, token string) pageResult {
	t.Helper()
	return pageRequest(t, in, "GET", path, token, nil)
}

func pageRequest(t *testing.T, in *apptest.Instance, method, path, token string, form url.Values) pageResult {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, in.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "text/html")
	if token != "" {
		req.AddCookie(&http.Cookie{Name: pageSessionCookie, Value: token})
	}
	resp, err := in.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return pageResult{StatusCode: resp.StatusCode, Header: resp.Header, body: string(b)}
}

// browserFieldErrorsJS lists the .field-error texts that follow the input with the
// given id, up to the next label or button: the errors shown next to it.
const browserFieldErrorsJS = `((id) => {
	const out = [];
	for (let n = document.getElementById(id).nextElementSibling; n && n.tagName !== 'LABEL' && n.tagName !== 'BUTTON'; n = n.nextElementSibling) {
		if (n.classList.contains('field-error')) out.push(n.innerText.trim());
	}
	return out;
})(%q)`

func TestBrowserSignupShowsFieldErrors(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	tb := newBrowserTab(t)
	const (
		badEmail = "ada.example.com"
		shortPW  = "Tiny-pw9"
		business = "Ada's Widgets"
	)
	tb.navigate(in.URL + "/signup")
	tb.typeInto("email", badEmail)
	tb.typeInto("password", shortPW)
	tb.typeInto("business_name", business)
	if resp := tb.click("signup-submit"); resp.Status != http.StatusBadRequest {
		t.Errorf("invalid sign-up answered %d, want 400", resp.Status)
	}
	wantTabLocation(t, tb, in, "/signup")
	if h := tb.text("main h1"); h != "Sign up your business" {
		t.Fatalf("after an invalid sign-up the page says %q, want the sign-up form again", h)
	}
	emailErrs := tabEval[[]string](tb, fmt.Sprintf(browserFieldErrorsJS, "email"))
	if len(emailErrs) != 1 || !strings.Contains(emailErrs[0], "email address like") {
		t.Errorf("errors next to the email field = %q", emailErrs)
	}
	pwErrs := tabEval[[]string](tb, fmt.Sprintf(browserFieldErrorsJS, "password"))
	if len(pwErrs) != 1 || !strings.Contains(pwErrs[0], "at least") {
		t.Errorf("errors next to the password field = %q", pwErrs)
	}
	for _, id := range []string{"business_name", "phone"} {
		if errs := tabEval[[]string](tb, fmt.Sprintf(browserFieldErrorsJS, id)); len(errs) != 0 {
			t.Errorf("errors next to the valid %s field: %q", id, errs)
		}
	}
	if got := tb.value("email"); got != badEmail {
		t.Errorf("email field = %q, want the typed %q kept", got, badEmail)
	}
	if got := tb.value("business_name"); got != business {
		t.Errorf("business name field = %q, want the typed %q kept", got, business)
	}
	if got := tb.value("password"); got != "" {
		t.Errorf("password field = %q, want it empty (never echoed)", got)
	}
	if html := tabRun(tb, "read the page", chromedp.OuterHTML(chromedp.CSS("html"))); strings.Contains(html, shortPW) {
		t.Errorf("the page echoes the password")
	}
	if alert := tb.text(`[role=alert]`); alert == "" {
		t.Errorf("no summary of the problems above the form")
	}
	wantTabStyled(t, tb)
	tb.screenshot("0-signup-errors")
	if msgs := in.Outbox(t); len(msgs) != 0 {
		t.Errorf("an invalid sign-up sent %d messages: %+v", len(msgs), msgs)
	}
	// The form page itself comes with status 400, which Chromium logs.
	tb.noConsoleErrors(in.URL + "/signup: Failed to load resource: the server responded with a status of 400")
}

var (
	htmlTagRE         = regexp.MustCompile(`(?is)<[a-z][a-z0-9-]*\b[^>]*>`)
	htmlScriptTagRE   = regexp.MustCompile(`(?is)<script\b([^>]*)>`)
	htmlSrcAttrRE     = regexp.MustCompile(`(?is)\ssrc\s*=`)
	htmlEventAttrRE   = regexp.MustCompile(`(?is)\son[a-z]+\s*=`)
	htmlJsURLRE       = regexp.MustCompile(`(?is)\s(?:href|src|action|formaction)\s*=\s*["']?\s*javascript:`)
	htmlStyleAttrRE   = regexp.MustCompile(`(?is)\sstyle\s*=`)
	htmlInlineStyleRE = regexp.MustCompile(`(?is)<style\b`)
)

func TestPagesHaveNoInlineScriptAndStrictHeaders(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	const email, password = "grace@example.com", "a long enough passphrase"
	in.SignUp(t, email, password, "Grace's Compilers")
	token := in.SignIn(t, email, password)
	// The business requires two-step verification: without it the audit
	// page sends the owner to set it up.
	if r := pageGet(t, in, "/account/audit", token); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account/two-step?required=1" {
		t.Errorf("audit page before two-step set-up: %d Location %q, want 303 to /account/two-step?required=1", r.StatusCode, r.Header.Get("Location"))
	}
	in.EnrollTOTP(t, token)
	// A pending authenticator app, for its confirmation page.
	started := in.Do(t, "POST", "/api/v1/two-step/totp", token, nil)
	if started.Status != http.StatusCreated {
		t.Fatalf("start totp: %d %s", started.Status, started.Body)
	}
	pendingID := started.JSON(t)["method_id"].(string)
	// A new sign-in now owes its second step.
	partial := in.SignIn(t, email, password)

	pages := []struct {
		name, method, path string
		form               url.Values
		signedIn           bool
		partial            bool // signed in with the password only
		status             int
	}{
		{name: "home", method: "GET", path: "/", status: 200},
		{name: "signup", method: "GET", path: "/signup", status: 200},
		{name: "signup with errors", method: "POST", path: "/signup", form: url.Values{"email": {"x"}, "password": {"y"}}, status: 400},
		{name: "signin", method: "GET", path: "/signin", status: 200},
		{name: "verify", method: "GET", path: "/signup/verify", status: 200},
		{name: "account", method: "GET", path: "/account", signedIn: true, status: 200},
		{name: "sessions", method: "GET", path: "/account/sessions", signedIn: true, status: 200},
		{name: "audit", method: "GET", path: "/account/audit", signedIn: true, status: 200},
		{name: "second step", method: "GET", path: "/signin/second-step", partial: true, status: 200},
		{name: "second step with a backup code", method: "GET", path: "/signin/second-step?method=backup_codes", partial: true, status: 200},
		{name: "second step with errors", method: "POST", path: "/signin/second-step", form: url.Values{"method": {"totp"}, "code": {"000000"}}, partial: true, status: 400},
		{name: "two-step", method: "GET", path: "/account/two-step", signedIn: true, status: 200},
		{name: "two-step required", method: "GET", path: "/account/two-step?required=1&backup_used=9&added=totp", signedIn: true, status: 200},
		{name: "add authenticator app", method: "POST", path: "/account/two-step/totp", form: url.Values{"label": {"Work phone"}}, signedIn: true, status: 303},
		{name: "authenticator app key", method: "GET", path: "/account/two-step/totp", signedIn: true, status: 200},
		{name: "add authenticator app with errors", method: "POST", path: "/account/two-step/totp", form: url.Values{"label": {strings.Repeat("x", 61)}}, signedIn: true, status: 400},
		{name: "confirm authenticator app with errors", method: "POST", path: "/account/two-step/totp/" + pendingID + "/confirm", form: url.Values{"code": {"000000"}}, signedIn: true, status: 400},
		{name: "backup codes", method: "POST", path: "/account/two-step/backup-codes", form: url.Values{}, signedIn: true, status: 303},
		{name: "backup codes shown", method: "GET", path: "/account/two-step/backup-codes", signedIn: true, status: 200},
		{name: "a button's address opened", method: "GET", path: "/account/two-step/" + pendingID + "/remove", signedIn: true, status: 405},
		{name: "two-step with backup codes", method: "GET", path: "/account/two-step", signedIn: true, status: 200},
		{name: "reauth", method: "GET", path: "/account/reauth?next=/account/two-step", signedIn: true, status: 200},
		{name: "reauth with a backup code", method: "GET", path: "/account/reauth?next=/account/two-step&method=backup_codes", signedIn: true, status: 200},
		{name: "reauth with errors", method: "POST", path: "/account/reauth", form: url.Values{"next": {"/account/two-step"}, "password": {"wrong password here"}, "method": {"totp"}, "code": {"000000"}}, signedIn: true, status: 401},
		{name: "outbox", method: "GET", path: "/dev/outbox", status: 200},
		{name: "not found", method: "GET", path: "/no/such/page", status: 404},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			tok := ""
			if p.signedIn {
				tok = token
			}
			if p.partial {
				tok = partial
			}
			r := pageRequest(t, in, p.method, p.path, tok, p.form)
			if r.StatusCode != p.status {
				t.Fatalf("%s %s: %d (Location %q), want %d", p.method, p.path, r.StatusCode, r.Header.Get("Location"), p.status)
			}
			if r.StatusCode == http.StatusSeeOther {
				return // post/redirect/get: the page is the next entry's GET
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type = %q, want text/html", ct)
			}
			csp := r.Header.Get("Content-Security-Policy")
			for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "'unsafe-inline'") || strings.Contains(csp, "'unsafe-eval'") {
				t.Errorf("Content-Security-Policy %q allows unsafe script", csp)
			}
			for k, want := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"X-Frame-Options":        "DENY",
				"Referrer-Policy":        "no-referrer",
				"Cache-Control":          "no-store",
			} {
				if got := r.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if !strings.Contains(r.body, "</html>") {
				t.Fatalf("not a whole HTML page:\n%s", r.body)
			}
			for _, m := range htmlScriptTagRE.FindAllStringSubmatch(r.body, -1) {
				if !htmlSrcAttrRE.MatchString(m[1]) {
					t.Errorf("inline script: %s", m[0])
				}
			}
			for _, tag := range htmlTagRE.FindAllString(r.body, -1) {
				if htmlEventAttrRE.MatchString(tag) {
					t.Errorf("event handler attribute: %s", tag)
				}
				if htmlJsURLRE.MatchString(tag) {
					t.Errorf("javascript: URL: %s", tag)
				}
				if htmlStyleAttrRE.MatchString(tag) {
					t.Errorf("inline style attribute (blocked by style-src 'self'): %s", tag)
				}
			}
			if htmlInlineStyleRE.MatchString(r.body) {
				t.Errorf("inline <style> element (blocked by style-src 'self')")
			}
		})
	}
}
