package web_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// backupCodesOnPageJS lists the backup codes the page shows.
const backupCodesOnPageJS = `[...document.querySelectorAll('#backup-codes code')].map(c => c.innerText.trim())`

// Reloading the page that shows new backup codes shows the same codes and
// makes no new ones: the printed codes keep working. The page offers a
// download and a copy button; once the user says they saved the codes (or
// opens the address directly) the page leads back to the two-step
// settings. Making codes again asks first, saying the old ones stop
// working.
func TestBrowserBackupCodesSurviveReload(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	owner, _ := newOwner(t, in, "reload@forms.example", "Reload Goods")
	tb := newBrowserTab(t)
	setBrowserCookie(t, tb, in, pageSessionCookie, owner.token)

	tb.navigate(in.URL + "/account/two-step")
	tb.click("backup-codes-submit")
	wantTabLocation(t, tb, in, "/account/two-step/backup-codes")
	printed := tabEval[[]string](tb, backupCodesOnPageJS)
	if len(printed) != 10 {
		t.Fatalf("the page shows %d backup codes, want 10: %q", len(printed), printed)
	}
	// Reload twice, as a person whose printer jammed would.
	for i := 0; i < 2; i++ {
		tb.do("reload", chromedp.Reload())
		if again := tabEval[[]string](tb, backupCodesOnPageJS); !slices.Equal(again, printed) {
			t.Fatalf("after reload %d the page shows %q, want the same codes %q", i+1, again, printed)
		}
	}
	if n := tb.text("#backup-codes-notice"); !strings.Contains(n, "Reloading this page shows the same codes") {
		t.Errorf("notice = %q", n)
	}
	// Download (a .txt attachment with the same codes) and Copy.
	if href := tabEval[string](tb, `document.getElementById('backup-codes-download').getAttribute('href')`); href != "/account/two-step/backup-codes.txt" {
		t.Errorf("download link = %q", href)
	}
	file := tabRun(tb, "fetch the download", chromedp.Evaluate[string](`fetch('/account/two-step/backup-codes.txt').then(r => r.headers.get('Content-Disposition'))`, chromedp.EvalAwaitPromise))
	if !strings.Contains(file, "attachment") {
		t.Errorf("the download is not an attachment: %q", file)
	}
	text := tabRun(tb, "read the download", chromedp.Evaluate[string](`fetch('/account/two-step/backup-codes.txt').then(r => r.text())`, chromedp.EvalAwaitPromise))
	for _, c := range printed {
		if !strings.Contains(text, c) {
			t.Errorf("the downloaded file lacks code %s:\n%s", c, text)
		}
	}
	if tabEval[bool](tb, `document.getElementById('backup-codes-copy').hidden`) {
		t.Errorf("the copy button is hidden although the page's script runs")
	}
	wantTabStyled(t, tb)
	tb.screenshot("forms-1-backup-codes")

	// The printed codes work: a new sign-in finishes with one of them.
	partial := in.SignIn(t, owner.email, pw)
	if r := in.Do(t, "POST", "/api/v1/session/second-step", partial, map[string]string{"method": "backup_codes", "code": printed[3]}); r.Status != http.StatusOK {
		t.Fatalf("signing in with a printed code after the reloads: %d %s", r.Status, r.Body)
	}

	// Done: the codes are gone from the page; the address leads back.
	tb.click("backup-codes-done")
	wantTabLocation(t, tb, in, "/account/two-step")
	if s := tb.text("#backup-left"); !strings.Contains(s, "9 of 10") {
		t.Errorf("backup codes left = %q, want 9 of 10 (one used, none replaced)", s)
	}
	tb.navigate(in.URL + "/account/two-step/backup-codes")
	if h := tb.text("main h1"); h != "No new backup codes to show" {
		t.Errorf("a direct visit says %q", h)
	}
	if href := tabEval[string](tb, `document.getElementById('back-to-two-step').getAttribute('href')`); href != "/account/two-step" {
		t.Errorf("the direct visit's link goes to %q, want /account/two-step", href)
	}
	if html := tabRun(tb, "read the page", chromedp.OuterHTML(chromedp.CSS("html"))); strings.Contains(html, printed[0]) {
		t.Errorf("the page still shows a code after Done")
	}
	tb.screenshot("forms-2-backup-codes-direct")
	tb.click("back-to-two-step")
	wantTabLocation(t, tb, in, "/account/two-step")

	// Making new codes asks first, saying the old ones stop working.
	if tabEval[bool](tb, `document.getElementById('backup-codes-submit').checkVisibility()`) {
		t.Errorf("the button that replaces unused codes shows before asking")
	}
	tb.do("open the confirmation", chromedp.Click(chromedp.ID("new-backup-codes")))
	if c := tb.text("details:has(#backup-codes-submit) form p"); !strings.Contains(c, "9 unused codes will stop working") {
		t.Errorf("confirmation = %q", c)
	}
	tb.noConsoleErrors()
}

// A mistyped deposit account comes back with its form open, its error
// next to the field and in a summary at the top, and the focus on the
// field; changing the field clears the stale error. The card form says
// what is wrong with a number that fails its check digit.
func TestBrowserDepositAccountErrorIsShownAndFocused(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	owner, biz := newOwner(t, in, "typo@forms.example", "Typo Goods")
	tb := newBrowserTab(t)
	setBrowserCookie(t, tb, in, pageSessionCookie, owner.token)

	tb.navigate(in.URL + "/account/business?business_id=" + biz)
	if tabEval[bool](tb, `document.getElementById('deposit-form').closest('details').open`) {
		t.Fatalf("the deposit form is open before anything was sent")
	}
	tb.do("open the deposit form", chromedp.Click(chromedp.CSS(`details:has(#deposit-form) > summary`)))
	tb.typeInto("deposit-holder", "Typo Goods Ltd")
	tb.typeInto("deposit-bank", "First Bank")
	tb.typeInto("deposit-number", "GB29 NWBK 6016 1331 9268 1!")
	if resp := tb.click("deposit-submit"); resp.Status != http.StatusBadRequest {
		t.Errorf("a mistyped account answered %d, want 400", resp.Status)
	}
	if !tabEval[bool](tb, `document.getElementById('deposit-form').closest('details').open`) {
		t.Errorf("the deposit form is folded away after its error")
	}
	if !tabEval[bool](tb, `document.getElementById('deposit-number-error').checkVisibility()`) {
		t.Errorf("the account number's error is not visible")
	}
	if e := tb.text("#deposit-number-error"); !strings.Contains(e, "6 to 34 letters and digits") {
		t.Errorf("account number error = %q", e)
	}
	if id := tabEval[string](tb, `document.activeElement.id`); id != "deposit-number" {
		t.Errorf("focus is on %q, want the account number field", id)
	}
	if inv := tabEval[string](tb, `document.getElementById('deposit-number').getAttribute('aria-invalid')`); inv != "true" {
		t.Errorf("aria-invalid = %q", inv)
	}
	links := tabEval[[]string](tb, `[...document.querySelectorAll('#error-summary a')].map(a => a.getAttribute('href') + ' ' + a.innerText)`)
	if len(links) != 1 || !strings.HasPrefix(links[0], "#deposit-number Account number") || !strings.Contains(links[0], "6 to 34") {
		t.Errorf("error summary links = %q", links)
	}
	if h := tb.text("#error-summary h2"); h != "There is a problem" {
		t.Errorf("error summary heading = %q", h)
	}
	// The summary sits at the top, right under the heading.
	if above := tabEval[bool](tb, `document.getElementById('error-summary').getBoundingClientRect().top < document.getElementById('payments').getBoundingClientRect().top`); !above {
		t.Errorf("the error summary is not above the forms")
	}
	tb.screenshot("forms-3-deposit-error")
	// A summary link takes the focus to its field.
	tb.do("focus elsewhere", chromedp.Evaluate[chromedp.Void](`document.getElementById('deposit-holder').focus()`))
	tb.do("follow the summary link", chromedp.Click(chromedp.CSS(`#error-summary a`)))
	if id := tabEval[string](tb, `document.activeElement.id`); id != "deposit-number" {
		t.Errorf("after the summary link the focus is on %q", id)
	}
	// Typing a new number clears the stale error and the summary.
	tb.typeInto("deposit-number", "GB29 NWBK 6016 1331 9268 19")
	if tabEval[bool](tb, `document.getElementById('deposit-number-error').checkVisibility()`) {
		t.Errorf("the old error still shows after the field changed")
	}
	if tabEval[bool](tb, `document.getElementById('error-summary') !== null`) {
		t.Errorf("the error summary stays after its only error was fixed")
	}
	if tabEval[bool](tb, `document.getElementById('deposit-number').hasAttribute('aria-invalid')`) {
		t.Errorf("the changed field is still marked invalid")
	}

	// A card number of the right length whose check digit fails.
	tb.navigate(in.URL + "/account/business?business_id=" + biz)
	tb.do("open the card form", chromedp.Click(chromedp.CSS(`details:has(#charge-form) > summary`)))
	tb.typeInto("charge-holder", "Ada Owner")
	tb.typeInto("charge-number", "4242 4242 4242 4241")
	tb.typeInto("charge-month", "7")
	tb.typeInto("charge-year", "2031")
	tb.click("charge-submit")
	if !tabEval[bool](tb, `document.getElementById('charge-form').closest('details').open`) {
		t.Errorf("the card form is folded away after its error")
	}
	if e := tb.text("#charge-number-error"); !strings.Contains(e, "a digit may be mistyped") || strings.Contains(e, "12 to 19") {
		t.Errorf("card number error = %q", e)
	}
	if id := tabEval[string](tb, `document.activeElement.id`); id != "charge-number" {
		t.Errorf("focus is on %q, want the card number field", id)
	}
	tb.screenshot("forms-4-card-error")
	tb.noConsoleErrors(in.URL + "/account/business: Failed to load resource: the server responded with a status of 400")
}

// The sign-up form's old password error goes once the password changes,
// so it never stands beside a meter that says the new one is strong.
func TestBrowserStalePasswordErrorClears(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	tb := newBrowserTab(t)
	tb.navigate(in.URL + "/signup")
	tb.typeInto("email", "stale@forms.example")
	tb.typeInto("password", "Tiny-pw9")
	tb.typeInto("business_name", "Stale Goods")
	tb.click("signup-submit")
	if !tabEval[bool](tb, `document.querySelector('#password-error, #password-reasons').checkVisibility()`) {
		t.Fatalf("no password error after a short password")
	}
	if id := tabEval[string](tb, `document.activeElement.id`); id != "password" {
		t.Errorf("focus is on %q, want the password field", id)
	}
	tb.typeInto("password", "the quiet lighthouse keeps nine harbour lamps")
	if tabEval[bool](tb, `document.querySelector('#password-error, #password-reasons').checkVisibility()`) {
		t.Errorf("the old password error still shows after the password changed")
	}
	tb.do("wait for the meter", chromedp.WaitVisible(chromedp.ID("strength")))
	tb.screenshot("forms-5-password-changed")
	tb.noConsoleErrors(in.URL + "/signup: Failed to load resource: the server responded with a status of 400")
}

// Opening the address of a button shows a page that leads back, with the
// header of who is signed in; so do error pages.
func TestBrowserButtonAddressLeadsBack(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	owner, _ := newOwner(t, in, "button@forms.example", "Button Goods")
	tb := newBrowserTab(t)
	setBrowserCookie(t, tb, in, pageSessionCookie, owner.token)
	resp := tabRun(tb, "open a button's address", chromedp.NavigateResponse(in.URL+"/account/two-step/tsm_nothing/remove"))
	if resp.Status != http.StatusMethodNotAllowed {
		t.Errorf("status = %d, want 405", resp.Status)
	}
	if h := tb.text("main h1"); h != "This address opens from a button" {
		t.Errorf("heading = %q", h)
	}
	if href := tabEval[string](tb, `document.getElementById('post-only-back').getAttribute('href')`); href != "/account/two-step" {
		t.Errorf("the page leads to %q, want /account/two-step", href)
	}
	if !tabEval[bool](tb, `document.getElementById('signout') !== null`) {
		t.Errorf("the page shows the signed-out header to a signed-in user")
	}
	tb.screenshot("forms-6-button-address")
	tb.navigate(in.URL + "/no/such/page")
	if !tabEval[bool](tb, `document.getElementById('signout') !== null`) {
		t.Errorf("the not-found page shows the signed-out header to a signed-in user")
	}
	tb.noConsoleErrors(
		in.URL+"/account/two-step/tsm_nothing/remove: Failed to load resource: the server responded with a status of 405",
		in.URL+"/no/such/page: Failed to load resource: the server responded with a status of 404")
}
