package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// Someone whose only second step is a passkey confirms it's them for a
// sensitive change with their password and the passkey, in real Chromium
// with a virtual authenticator; a wrong password is refused and changes
// nothing.
func TestBrowserReauthWithPasskey(t *testing.T) {
	in, base := startOnLocalhost(t, apptest.Env("SELLERGUARD_REAUTH_WINDOW", "1m"))
	const email, password = "ines.passkey@example.com", "correct horse battery staple"
	_, biz := in.SignUp(t, email, password, "Ines Imports")
	tb := newBrowserTab(t)
	tb.navigate(base + "/signin")
	tb.addVirtualAuthenticator()
	tb.typeInto("email", email)
	tb.typeInto("password", password)
	tb.click("signin-submit")
	tb.waitForLocation(base + "/account")
	tb.navigate(base + "/account/two-step/passkeys")
	tb.typeInto("passkey-label", "Ines's laptop")
	tb.do("click Add a passkey", chromedp.Click(chromedp.ID("passkey-add")))
	tb.waitForLocation(base + "/account/two-step/passkeys?done=added")

	token := tb.cookies(base)[pageSessionCookie].Value
	deposit := map[string]string{"holder": "Ines Imports", "bank": "First Bank", "account_number": "GB29 NWBK 6016 1331 9268 19"}
	in.Clock.Advance(2 * time.Minute)
	if r := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/payments/deposit-account", token, deposit); r.Status != 403 || !strings.Contains(string(r.Body), "reauth_required") {
		t.Fatalf("a stale session changed payment information: %d %s", r.Status, r.Body)
	}

	tb.navigate(base + "/account/reauth?next=/account/business")
	if tabEval[bool](tb, `document.getElementById('code') !== null`) {
		t.Fatalf("the page asks for an authenticator code the user does not have")
	}
	if b := tb.text("#reauth-passkey"); b != "Confirm with your passkey" {
		t.Fatalf("passkey button reads %q", b)
	}
	tb.screenshot("reauth-passkey-1")
	// A wrong password: the page says so; the session stays stale.
	tb.typeInto("password", "not my password at all")
	tb.do("click Confirm with your passkey", chromedp.Click(chromedp.ID("reauth-passkey")))
	deadline := time.Now().Add(15 * time.Second)
	for tb.text("#passkey-error") == "" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if msg := tb.text("#passkey-error"); msg == "" {
		t.Fatalf("no error shown after a wrong password")
	}
	if r := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/payments/deposit-account", token, deposit); r.Status != 403 {
		t.Fatalf("a wrong password re-authenticated the session: %d", r.Status)
	}
	// The right password and the passkey: pressing Enter in the password
	// field starts the passkey, as the button does.
	tabEval[bool](tb, `(document.getElementById("password").value = "") === ""`)
	tb.typeInto("password", password+"\n")
	tb.waitForLocation(base + "/account/business")
	// The session that asked ended: its token never gains the window. The
	// browser carries on with the new cookie the answer set.
	if r := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/payments/deposit-account", token, deposit); r.Status != 401 {
		t.Fatalf("the token from before the passkey re-authentication: %d %s", r.Status, r.Body)
	}
	if next := tb.cookies(base)[pageSessionCookie].Value; next == token || next == "" {
		t.Fatalf("the browser has no new session cookie")
	} else {
		token = next
	}
	if r := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/payments/deposit-account", token, deposit); r.Status != 201 {
		t.Fatalf("after confirming with the passkey: %d %s", r.Status, r.Body)
	}
	tb.noConsoleErrors("401", "403")
	a := string(in.Do(t, "GET", "/api/v1/audit", token, nil).Body)
	if !strings.Contains(a, `"session.reauthenticated"`) || !strings.Contains(a, `"second_step":"passkey"`) {
		t.Fatalf("the audit log does not show the passkey re-authentication")
	}
}
