package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/testenv"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// oathtoolTOTP computes the code an authenticator app shows at t, with the
// real oathtool.
func oathtoolTOTP(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	bin := testenv.RequireCommand(t, "oathtool")
	out, err := exec.Command(bin, "--totp", "-b", "--now", at.UTC().Format("2006-01-02 15:04:05 UTC"), secret).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	code := strings.TrimSpace(string(out))
	if len(code) != 6 {
		t.Fatalf("oathtool printed %q", code)
	}
	return code
}

// totpSteps hands out authenticator codes as a person reading the app
// would, but never two of the same 30-second step: the server refuses a
// step it has seen (replay). It uses the current step or the next (the
// server accepts one either side), and waits for the clock when both are
// used, so every code stays valid for at least 30 seconds.
type totpSteps struct{ last int64 }

func (ts *totpSteps) code(t *testing.T, in *apptest.Instance, secret string) string {
	t.Helper()
	for {
		now := in.Clock.Now()
		cur := twostep.Step(now)
		step := max(cur, ts.last+1)
		if step <= cur+1 {
			ts.last = step
			return oathtoolTOTP(t, secret, time.Unix(step*twostep.TOTPPeriod, 0))
		}
		time.Sleep(time.Unix((cur+1)*twostep.TOTPPeriod, 0).Sub(now) + 100*time.Millisecond)
	}
}

var groupedKeyRE = regexp.MustCompile(`^(?:[A-Z2-7]{4} )+[A-Z2-7]{1,4}$`)

// enrolAuthenticator adds an authenticator app from the two-step page the
// tab shows, as a person would: the key is read off the page (as an app
// scans it), the code comes from oathtool. With wrongFirst it first types a
// wrong code and checks the error. It returns the key.
func enrolAuthenticator(t *testing.T, tb *browserTab, in *apptest.Instance, steps *totpSteps, label string, wrongFirst bool) string {
	t.Helper()
	if label != "" {
		tb.typeInto("totp-label", label)
	}
	if resp := tb.click("add-totp"); resp.Status != http.StatusOK {
		t.Fatalf("adding an authenticator app answered %d", resp.Status)
	}
	if h := tb.text("main h1"); h != "Add an authenticator app" {
		t.Fatalf("after 'Add authenticator app' the page says %q", h)
	}
	// The QR code is a data: URL image, allowed by the CSP (img-src data:),
	// and it decoded.
	if w := tabEval[int](tb, `document.getElementById('totp-qr').naturalWidth`); w != 240 {
		t.Errorf("QR code image is %d pixels wide, want 240 (did it load?)", w)
	}
	shown := tb.text("#totp-key")
	if !groupedKeyRE.MatchString(shown) {
		t.Errorf("key for manual entry = %q, want base32 in groups of four", shown)
	}
	key := strings.ReplaceAll(shown, " ", "")
	tb.screenshot("twostep-2-add-authenticator")
	if wrongFirst {
		tb.typeInto("code", "000000")
		if resp := tb.click("confirm-totp"); resp.Status != http.StatusBadRequest {
			t.Errorf("a wrong confirmation code answered %d, want 400", resp.Status)
		}
		if errs := tabEval[[]string](tb, fmt.Sprintf(browserFieldErrorsJS, "code")); len(errs) != 1 || !strings.Contains(errs[0], "not right") {
			t.Errorf("errors next to the code field = %q", errs)
		}
		if tabEval[bool](tb, `document.getElementById('totp-key') !== null`) {
			t.Errorf("the key is shown again after a wrong code; it should be shown once")
		}
		tb.screenshot("twostep-3-wrong-confirmation-code")
	}
	tb.typeInto("code", steps.code(t, in, key))
	tb.click("confirm-totp")
	wantTabLocation(t, tb, in, "/account/two-step?added=totp")
	return key
}

func browserSignIn(t *testing.T, tb *browserTab, email, password string) {
	t.Helper()
	tb.typeInto("email", email)
	tb.typeInto("password", password)
	tb.click("signin-submit")
}

func browserSignOut(t *testing.T, tb *browserTab, in *apptest.Instance) {
	t.Helper()
	tb.click("signout")
	wantTabLocation(t, tb, in, "/signin?signedout=1")
}

func TestBrowserTwoStep(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	tb := newBrowserTab(t)
	steps := &totpSteps{}
	const (
		email    = "katherine.johnson@example.com"
		password = "orbital mechanics by hand"
	)

	// Sign up and sign in.
	tb.navigate(in.URL + "/signup")
	tb.typeInto("email", email)
	tb.typeInto("password", password)
	tb.typeInto("business_name", "Johnson Trajectories")
	tb.click("signup-submit")
	tb.typeInto("code", in.LastCode(t, email))
	tb.click("verify-submit")
	wantTabLocation(t, tb, in, "/signin?verified=1")
	browserSignIn(t, tb, email, password)
	wantTabLocation(t, tb, in, "/account")
	if s := tb.text("#two-step-status"); !strings.HasPrefix(s, "Off") {
		t.Errorf("account two-step row = %q, want Off", s)
	}

	// The audit page sends the owner to set up two-step verification.
	tb.navigate(in.URL + "/account/audit")
	wantTabLocation(t, tb, in, "/account/two-step?required=1")
	if n := tb.text("#required-notice"); !strings.Contains(n, "Your business requires two-step verification before you can see its data") || !strings.Contains(n, "Johnson Trajectories") {
		t.Errorf("required notice = %q", n)
	}
	if s := tb.text("#protection-status"); !strings.HasPrefix(s, "Off.") {
		t.Errorf("status before set-up = %q", s)
	}
	if w := tb.text("#sms-warning"); !strings.Contains(w, "weakest") {
		t.Errorf("SMS warning = %q", w)
	}
	wantTabStyled(t, tb)
	tb.screenshot("twostep-1-required")

	// Add an authenticator app.
	secret := enrolAuthenticator(t, tb, in, steps, "My phone", true)
	if n := tb.text("#two-step-notice"); !strings.Contains(n, "Now make backup codes") {
		t.Errorf("notice after adding the app = %q", n)
	}
	methods := tabEval[[][]string](tb, `[...document.querySelectorAll('#methods tbody tr')].map(tr => [...tr.cells].slice(0, 4).map(td => td.innerText.trim()))`)
	if len(methods) != 1 || methods[0][0] != "Authenticator app" || methods[0][1] != "My phone" || methods[0][2] == "" {
		t.Errorf("methods table = %q, want one authenticator app %q", methods, "My phone")
	}
	if s := tb.text("#protection-status"); !strings.Contains(s, "not fully protected") {
		t.Errorf("status with only an app = %q", s)
	}
	if s := tb.text("#protection-missing"); !strings.Contains(s, "backup codes") {
		t.Errorf("missing with only an app = %q", s)
	}
	if tabEval[bool](tb, `document.getElementById('required-notice') !== null`) {
		t.Errorf("the business requirement notice is still shown after enrolling")
	}
	tb.screenshot("twostep-4-app-added")

	// Backup codes: ten, shown once.
	tb.click("backup-codes-submit")
	codes := tabEval[[]string](tb, `[...document.querySelectorAll('#backup-codes code')].map(c => c.innerText.trim())`)
	if len(codes) != 10 {
		t.Fatalf("backup codes page shows %d codes, want 10: %q", len(codes), codes)
	}
	for _, c := range codes {
		if twostep.NormalizeBackupCode(c) == "" {
			t.Errorf("backup code %q does not look like one", c)
		}
	}
	if n := tb.text("#backup-codes-notice"); !strings.Contains(n, "Print or save them now") {
		t.Errorf("backup codes notice = %q", n)
	}
	wantTabStyled(t, tb)
	tb.screenshot("twostep-5-backup-codes")
	tb.click("backup-codes-done")
	wantTabLocation(t, tb, in, "/account/two-step")
	if html := tabRun(tb, "read the page", chromedp.OuterHTML(chromedp.CSS("html"))); strings.Contains(html, codes[0]) {
		t.Errorf("the two-step page shows a backup code again")
	}
	if s := tb.text("#backup-left"); !strings.Contains(s, "10 of 10 backup codes left") {
		t.Errorf("backup codes left = %q", s)
	}
	if s := tb.text("#protection-status"); !strings.HasPrefix(s, "On — fully protected") {
		t.Errorf("status with app and backup codes = %q", s)
	}
	tb.screenshot("twostep-6-fully-protected")

	// Business data opens up.
	tb.navigate(in.URL + "/account/audit")
	wantTabLocation(t, tb, in, "/account/audit")
	tb.navigate(in.URL + "/account")
	if s := tb.text("#two-step-status"); !strings.HasPrefix(s, "On — fully protected") {
		t.Errorf("account two-step row = %q", s)
	}
	tb.screenshot("twostep-6b-account")

	// Sign out and in again: the second step, a wrong code, then the right
	// one with "don't ask again".
	browserSignOut(t, tb, in)
	browserSignIn(t, tb, email, password)
	wantTabLocation(t, tb, in, "/signin/second-step")
	if h := tb.text("main h1"); h != "Finish signing in" {
		t.Errorf("second-step page says %q", h)
	}
	if l := tb.text("#use-backup"); l != "Lost your phone? Use a backup code" {
		t.Errorf("backup code link = %q", l)
	}
	if s := tb.text("#no-method-left"); !strings.Contains(s, "No method left? Use one of your backup codes") {
		t.Errorf("no-method text = %q", s)
	}
	// A partial session reaches nothing else.
	tb.navigate(in.URL + "/account")
	wantTabLocation(t, tb, in, "/signin/second-step")
	tb.screenshot("twostep-7-second-step")
	tb.typeInto("code", "000000")
	if resp := tb.click("second-step-submit"); resp.Status != http.StatusBadRequest {
		t.Errorf("a wrong code answered %d, want 400", resp.Status)
	}
	wantTabLocation(t, tb, in, "/signin/second-step")
	if errs := tabEval[[]string](tb, fmt.Sprintf(browserFieldErrorsJS, "code")); len(errs) != 1 || !strings.Contains(errs[0], "That code is not right") {
		t.Errorf("errors next to the code field = %q", errs)
	}
	if v := tb.value("code"); v != "" {
		t.Errorf("code field keeps %q after a wrong code", v)
	}
	wantTabStyled(t, tb)
	tb.screenshot("twostep-8-wrong-code")
	tb.typeInto("code", steps.code(t, in, secret))
	tb.do("tick don't ask again", chromedp.Click(chromedp.ID("remember_browser")))
	tb.click("second-step-submit")
	wantTabLocation(t, tb, in, "/account")
	if got := tb.text("#account-email"); got != email {
		t.Errorf("#account-email = %q", got)
	}

	// This browser is trusted now: no second step.
	browserSignOut(t, tb, in)
	browserSignIn(t, tb, email, password)
	wantTabLocation(t, tb, in, "/account")

	// Forget it on the two-step page: the next sign-in asks again.
	tb.navigate(in.URL + "/account/two-step")
	browsers := tabEval[[]string](tb, `[...document.querySelectorAll('#trusted-browsers tbody tr')].map(tr => tr.innerText)`)
	if len(browsers) != 1 || !strings.Contains(browsers[0], "Headless Chrome") {
		t.Fatalf("trusted browsers = %q, want this one", browsers)
	}
	methods = tabEval[[][]string](tb, `[...document.querySelectorAll('#methods tbody tr')].map(tr => [...tr.cells].slice(0, 4).map(td => td.innerText.trim()))`)
	if len(methods) != 1 || methods[0][3] == "never" {
		t.Errorf("methods table = %q, want the app marked as used", methods)
	}
	// Removing asks first (no script: a details element).
	removeID := tabEval[string](tb, `document.querySelector('#methods summary').id`)
	tb.do("open the remove confirmation", chromedp.Click(chromedp.ID(removeID)))
	if !tabEval[bool](tb, `document.querySelector('#methods details').open && document.querySelector('#methods details button').offsetParent !== null`) {
		t.Errorf("the remove confirmation did not open")
	}
	tb.screenshot("twostep-9-trusted-browser")
	tb.click(tabEval[string](tb, `document.querySelector('#trusted-browsers button').id`))
	wantTabLocation(t, tb, in, "/account/two-step?forgot=1")
	if n := tb.text("#two-step-notice"); !strings.Contains(n, "ask for your second step again") {
		t.Errorf("notice after forgetting = %q", n)
	}
	if !tabEval[bool](tb, `document.getElementById('no-trusted-browsers') !== null && document.getElementById('trusted-browsers') === null`) {
		t.Errorf("the browser is still listed as trusted")
	}
	browserSignOut(t, tb, in)
	browserSignIn(t, tb, email, password)
	wantTabLocation(t, tb, in, "/signin/second-step")

	// Lost the phone: a backup code.
	tb.click("use-backup")
	wantTabLocation(t, tb, in, "/signin/second-step?method=backup_codes")
	if l := tb.text(`label[for=code]`); l != "Backup code" {
		t.Errorf("code label = %q", l)
	}
	tb.screenshot("twostep-10-backup-code")
	tb.typeInto("code", strings.ToLower(codes[3]))
	tb.click("second-step-submit")
	wantTabLocation(t, tb, in, "/account/two-step?backup_used=9")
	if n := tb.text("#backup-used-notice"); !strings.Contains(n, "9 backup codes left — set up your authenticator again") {
		t.Errorf("backup used notice = %q", n)
	}
	if s := tb.text("#backup-left"); !strings.Contains(s, "9 of 10 backup codes left") {
		t.Errorf("backup codes left = %q", s)
	}
	wantTabStyled(t, tb)
	tb.screenshot("twostep-11-backup-used")

	// The re-authentication form (changes after the window lead here).
	tb.navigate(in.URL + "/account/reauth?next=/account/two-step&method=backup_codes")
	if h := tb.text("main h1"); h != "Confirm it's you" {
		t.Errorf("reauth page says %q", h)
	}
	if next := tabEval[string](tb, `document.querySelector('main input[name=next]').value`); next != "/account/two-step" { // the header's language switch has its own
		t.Errorf("reauth next = %q", next)
	}
	if title := tabEval[string](tb, `document.title`); title != "Confirm it's you · SellerGuard" {
		t.Errorf("reauth page title = %q", title)
	}
	tb.screenshot("twostep-12-reauth")

	// Wrong-code and wrong-confirmation pages come with status 400, which
	// Chromium logs.
	tb.noConsoleErrors(
		in.URL+"/signin/second-step: Failed to load resource: the server responded with a status of 400",
		"/confirm: Failed to load resource: the server responded with a status of 400",
	)
}

// cookieOf returns the value of the named cookie an answer sets, and
// whether it sets one.
func cookieOf(r pageResult, name string) (*http.Cookie, bool) {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

func TestSecondStepPageTooManyWrongCodes(t *testing.T) {
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		const email, password = "dorothy@example.com", "a long enough passphrase"
		in.SignUp(t, email, password, "Vaughan Computing")
		in.EnrollTOTP(t, in.SignIn(t, email, password))
		partial := in.SignIn(t, email, password)
		wrong := url.Values{"method": {"totp"}, "code": {"000000"}}
		for i := 1; i < 5; i++ {
			r := pageRequest(t, in, "POST", "/signin/second-step", partial, wrong)
			if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, `id="code-error"`) {
				t.Fatalf("wrong code %d: %d, want 400 with the error next to the code", i, r.StatusCode)
			}
			in.Clock.Advance(time.Minute) // past the account's growing delay
		}
		r := pageRequest(t, in, "POST", "/signin/second-step", partial, wrong)
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "Too many wrong codes") || !strings.Contains(r.body, `action="/signin"`) {
			t.Fatalf("fifth wrong code: %d, want 401 with the sign-in form and the reason:\n%s", r.StatusCode, r.body)
		}
		if c, ok := cookieOf(r, pageSessionCookie); !ok || c.MaxAge >= 0 {
			t.Errorf("the session cookie is not cleared: %+v", c)
		}
		if r := pageGet(t, in, "/signin/second-step", partial); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/signin" {
			t.Errorf("the ended attempt: %d Location %q, want 303 to /signin", r.StatusCode, r.Header.Get("Location"))
		}
	})
}

func TestTwoStepPagesAskToReauthenticate(t *testing.T) {
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		const email, password = "mary@example.com", "a long enough passphrase"
		in.SignUp(t, email, password, "Jackson Wind Tunnels")
		token := in.SignIn(t, email, password)
		secret := in.EnrollTOTP(t, token)

		// Past the re-authentication window, changes ask for it first.
		in.Clock.Advance(11 * time.Minute)
		for _, path := range []string{"/account/two-step/totp", "/account/two-step/backup-codes"} {
			r := pageRequest(t, in, "POST", path, token, url.Values{})
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account/reauth?next=%2Faccount%2Ftwo-step" {
				t.Errorf("POST %s after the window: %d Location %q, want 303 to the reauth page", path, r.StatusCode, r.Header.Get("Location"))
			}
		}
		r := pageGet(t, in, "/account/reauth?next=%2Faccount%2Ftwo-step", token)
		if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `name="next" value="/account/two-step"`) || !strings.Contains(r.body, `id="code"`) {
			t.Fatalf("reauth page: %d\n%s", r.StatusCode, r.body)
		}
		// A wrong password shows next to its field; a wrong code next to its.
		step := twostep.Step(in.Clock.Now())
		code := func(s int64) string {
			c, err := twostep.TOTPCode(secret, s)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		r = pageRequest(t, in, "POST", "/account/reauth", token, url.Values{"next": {"/account/two-step"}, "password": {"not my password at all"}, "method": {"totp"}, "code": {code(step)}})
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, `id="password-error"`) {
			t.Errorf("wrong password: %d, want 401 with the error next to the password", r.StatusCode)
		}
		r = pageRequest(t, in, "POST", "/account/reauth", token, url.Values{"next": {"/account/two-step"}, "password": {password}, "method": {"totp"}, "code": {"000000"}})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, `id="code-error"`) {
			t.Errorf("wrong code: %d, want 400 with the error next to the code", r.StatusCode)
		}
		in.Clock.Advance(time.Minute) // past the account's growing delay
		r = pageRequest(t, in, "POST", "/account/reauth", token, url.Values{"next": {"/account/two-step"}, "password": {password}, "method": {"totp"}, "code": {code(twostep.Step(in.Clock.Now()))}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account/two-step?reauthed=1" {
			t.Fatalf("reauth: %d Location %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
		}
		// The old cookie's session ended; the new cookie carries on.
		old := token
		token = newSessionCookie(t, r.Header)
		if r := pageRequest(t, in, "POST", "/account/two-step/backup-codes", old, url.Values{}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/signin" {
			t.Errorf("backup codes with the cookie from before re-authenticating: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		r = pageRequest(t, in, "POST", "/account/two-step/backup-codes", token, url.Values{})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account/two-step/backup-codes" {
			t.Errorf("backup codes after reauth: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		if r := pageGet(t, in, "/account/two-step/backup-codes", token); r.StatusCode != http.StatusOK || strings.Count(r.body, "<li><code>") != 10 {
			t.Errorf("backup codes page after reauth: %d\n%s", r.StatusCode, r.body)
		}

		// A label too long shows next to its field, and stays typed.
		long := strings.Repeat("x", 61)
		r = pageRequest(t, in, "POST", "/account/two-step/totp", token, url.Values{"label": {long}})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, `id="totp-label-error"`) || !strings.Contains(r.body, `value="`+long+`"`) {
			t.Errorf("too long a label: %d\n%s", r.StatusCode, r.body)
		}

		// The last primary method cannot go while the business requires
		// two-step verification: the page says why.
		ov := in.Do(t, "GET", "/api/v1/two-step", token, nil).JSON(t)
		methodID := ov["methods"].([]any)[0].(map[string]any)["id"].(string)
		r = pageRequest(t, in, "POST", "/account/two-step/"+methodID+"/remove", token, url.Values{})
		if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "requires two-step verification") || !strings.Contains(r.body, `id="methods"`) {
			t.Errorf("removing the only app: %d\n%s", r.StatusCode, r.body)
		}
		if r := pageRequest(t, in, "POST", "/account/two-step/tsm_nosuchmethod/remove", token, url.Values{}); r.StatusCode != http.StatusNotFound {
			t.Errorf("removing an unknown method: %d, want 404", r.StatusCode)
		}
		if r := pageRequest(t, in, "POST", "/account/trusted-browsers/trb_nosuchbrowser/forget", token, url.Values{}); r.StatusCode != http.StatusNotFound {
			t.Errorf("forgetting an unknown browser: %d, want 404", r.StatusCode)
		}
	})
}

func TestReauthNextIsNeverAnOpenRedirect(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	const email, password = "annie@example.com", "a long enough passphrase"
	in.SignUp(t, email, password, "Easley Rockets")
	token := in.SignIn(t, email, password) // no second step yet: the password alone
	for _, next := range []string{"https://evil.example/", "//evil.example/account", "/\\evil.example", "/account/two-step/../../evil", "javascript:alert(1)", "/account/two-step?x=1", ""} {
		r := pageGet(t, in, "/account/reauth?next="+url.QueryEscape(next), token)
		if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `name="next" value="/account"`) || strings.Contains(r.body, "evil") {
			t.Errorf("reauth page with next=%q: %d, want next=/account", next, r.StatusCode)
		}
		r = pageRequest(t, in, "POST", "/account/reauth", token, url.Values{"next": {next}, "password": {password}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account" {
			t.Errorf("reauth with next=%q: %d Location %q, want 303 to /account", next, r.StatusCode, r.Header.Get("Location"))
		}
		token = newSessionCookie(t, r.Header)
		in.Clock.Advance(time.Second)
	}
	for _, next := range []string{"/account", "/account/sessions"} {
		r := pageRequest(t, in, "POST", "/account/reauth", token, url.Values{"next": {next}, "password": {password}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != next {
			t.Errorf("reauth with next=%q: %d Location %q", next, r.StatusCode, r.Header.Get("Location"))
		}
		token = newSessionCookie(t, r.Header)
	}
}
