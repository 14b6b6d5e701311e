package web_test

import (
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// The owner's way back in Chromium: the revert code from the old mailbox,
// a new password, the second step (the owner's own authenticator), and
// Secure my account with the held items, each removed with its button.
func TestBrowserTakeBackAfterEmailChange(t *testing.T) {
	in := apptest.Start(t, "sqlite", apptest.Env("SELLERGUARD_TRUSTED_PROXIES", "127.0.0.1"), apptest.Env("SELLERGUARD_PAYOUT_COOLING_OFF", "1h"))
	tk := startTakeover(t, in, takeoverPlan{keepOwnersApp: true})
	tb := newBrowserTab(t)

	tb.navigate(in.URL + "/signin")
	tb.click("revert-link")
	wantTabLocation(t, tb, in, "/signin/revert-email")
	tb.typeInto("email", "shop@example.com")
	tb.typeInto("code", tk.revert)
	tb.click("revert-submit")
	if n := tb.text("#forgot-notice"); !strings.Contains(n, "Choose a new password now") {
		t.Fatalf("after the revert code: %q", n)
	}
	tb.typeInto("password", newPW)
	tb.click("forgot-password-submit")
	wantTabLocation(t, tb, in, "/signin/second-step?next=%2Faccount%2Fsecure")
	tb.typeInto("code", totpNow(t, in, tk.ownerTOTP))
	tb.click("second-step-submit")
	wantTabLocation(t, tb, in, "/account/secure")
	held := tb.text("#holds")
	if !strings.Contains(held, "Deposit account •••• 3000 (Mallory, Elsewhere) of Shop") || !strings.Contains(held, "Authenticator app") {
		t.Fatalf("held items: %q", held)
	}
	tb.screenshot("takeback-secure-held")

	session := tb.cookies(in.URL)["sg_session"]
	if session == nil {
		t.Fatal("no session cookie")
	}
	r := in.Do(t, "GET", "/api/v1/account/holds", session.Value, nil)
	if r.Status != 200 {
		t.Fatalf("holds: %d %s", r.Status, r.Body)
	}
	for i, h := range r.JSON(t)["holds"].([]any) {
		tb.click("hold-remove-" + h.(map[string]any)["id"].(string))
		wantTabLocation(t, tb, in, "/account/secure?held=remove")
		if n := tb.text("#secure-notice"); n != "Removed." {
			t.Fatalf("notice after removal %d: %q", i, n)
		}
	}
	if n := tabEval[int](tb, `document.querySelectorAll('#holds li').length`); n != 0 {
		t.Fatalf("%d held items still shown", n)
	}
	r = in.Do(t, "GET", "/api/v1/businesses/"+tk.biz+"/payments", session.Value, nil)
	if r.Status != 200 || r.JSON(t)["payouts_account"].(map[string]any)["last4"] != "6819" {
		t.Fatalf("payouts: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "GET", "/api/v1/session", tk.intruder, nil); r.Status != 401 {
		t.Fatalf("the intruder's session: %d", r.Status)
	}
	tb.noConsoleErrors()
}
