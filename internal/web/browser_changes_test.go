package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// Issue 15's walk-through in Chromium: an intruder session from a new
// browser and another address changes the deposit account, switches off
// the owner's payment text messages, invites a member with payments edit,
// edits the storefront phone and one listing's condition note. The owner,
// in their own browser, opens Secure my account, sets a new password,
// sees exactly these five changes with before/after and the intruder's
// address and browser, and undoes them all; afterwards everything is as
// before, the intruder's session is dead and the audit log verifies.
func TestBrowserSecureMyAccount(t *testing.T) {
	in := apptest.Start(t, "sqlite", apptest.Env("SELLERGUARD_TRUSTED_PROXIES", "127.0.0.1"), apptest.Env("SELLERGUARD_PAYOUT_COOLING_OFF", "1h"))
	tb := newBrowserTab(t)
	const email, newPW = "owner@harbour.example", "violet kestrel under seven bridges 9"
	_, bizID := in.SignUp(t, email, pw, "Harbour Goods")
	biz := "/api/v1/businesses/" + bizID

	// The owner's own browser: its first sign-in, then an authenticator app.
	tb.navigate(in.URL + "/signin")
	browserSignIn(t, tb, email, pw)
	cookies := tb.cookies(in.URL)
	device, session := cookies["sg_device"], cookies["sg_session"]
	if device == nil || session == nil {
		t.Fatalf("browser cookies: %v", cookies)
	}
	secret := in.EnrollTOTP(t, session.Value)
	step := twostep.Step(in.Clock.Now())
	code := func() string {
		step++
		c, err := twostep.TOTPCode(secret, step)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// The owner's own changes, from the known browser, before the intrusion.
	ownSignIn := func() string {
		t.Helper()
		h := map[string]string{"Cookie": "sg_device=" + device.Value}
		r := in.DoWith(t, "POST", "/api/v1/sessions", "", h, map[string]string{"email": email, "password": pw})
		tok := r.JSON(t)["token"].(string)
		r = in.DoWith(t, "POST", "/api/v1/session/second-step", tok, h, map[string]string{"method": "totp", "code": code()})
		if r.Status != 200 {
			t.Fatalf("owner second step: %d %s", r.Status, r.Body)
		}
		return r.JSON(t)["token"].(string)
	}
	owner := ownSignIn()
	if r := in.Do(t, "PUT", biz+"/payments/deposit-account", owner, map[string]string{"holder": "Harbour Goods Ltd", "bank": "First Bank", "account_number": "GB29 NWBK 6016 1331 9268 19"}); r.Status != 201 {
		t.Fatalf("own account: %d %s", r.Status, r.Body)
	}
	in.Clock.Advance(61 * time.Minute)
	step = twostep.Step(in.Clock.Now())
	owner = ownSignIn()
	if r := in.Do(t, "PUT", biz+"/storefront", owner, map[string]string{"display_name": "Harbour Goods", "support_phone": "+44 20 7946 0000"}); r.Status != 200 {
		t.Fatalf("storefront: %d %s", r.Status, r.Body)
	}
	r := in.Do(t, "POST", biz+"/listings", owner, map[string]any{"listings": []map[string]any{{"sku": "LAMP-1", "title": "Brass lamp", "price_cents": 4500, "quantity": 3, "condition": "good", "condition_note": "Small dent at the base"}}})
	if r.Status != 200 {
		t.Fatalf("listing: %d %s", r.Status, r.Body)
	}
	listing := r.JSON(t)["listings"].([]any)[0].(map[string]any)
	delete(listing, "updated_at")
	if r := in.Do(t, "PUT", "/api/v1/notifications/business.payment_changed", owner, map[string]any{"sms": true}); r.Status != 200 {
		t.Fatalf("sms on: %d %s", r.Status, r.Body)
	}
	in.Clock.Advance(time.Minute)
	step = twostep.Step(in.Clock.Now())

	// The intruder: stolen password and code, another address, another browser.
	evil := map[string]string{"X-Forwarded-For": "203.0.113.66", "User-Agent": "Mozilla/5.0 (Intruder) Chrome/1.0"}
	r = in.DoWith(t, "POST", "/api/v1/sessions", "", evil, map[string]string{"email": email, "password": pw})
	r = in.DoWith(t, "POST", "/api/v1/session/second-step", r.JSON(t)["token"].(string), evil, map[string]string{"method": "totp", "code": code()})
	if r.Status != 200 {
		t.Fatalf("intruder second step: %d %s", r.Status, r.Body)
	}
	intruder := r.JSON(t)["token"].(string)
	listing["condition_note"] = "Like new, pay by wire only"
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"PUT", biz + "/payments/deposit-account", map[string]string{"holder": "Mallory", "bank": "Elsewhere", "account_number": "DE89370400440532013000"}},
		{"PUT", "/api/v1/notifications/business.payment_changed", map[string]any{"sms": false}},
		{"POST", biz + "/invitations", map[string]any{"email": "mule@evil.example", "permissions": map[string]string{"payments": "edit"}}},
		{"PUT", biz + "/storefront", map[string]string{"display_name": "Harbour Goods", "support_phone": "+1 555 0100"}},
		{"POST", biz + "/listings", map[string]any{"listings": []any{listing}}},
	} {
		if r := in.DoWith(t, c.method, c.path, intruder, evil, c.body); r.Status >= 300 {
			t.Fatalf("intruder %s %s: %d %s", c.method, c.path, r.Status, r.Body)
		}
	}
	// Each was told to the owner at the time.
	told := map[string]bool{}
	for _, m := range in.Outbox(t) {
		if m.To == email {
			told[m.Subject] = true
		}
	}
	for _, want := range []string{"A new deposit account was added to your business", "Notification settings were changed",
		"A person was invited to Harbour Goods", "Your storefront details were changed", "Listings of Harbour Goods were changed"} {
		if !told[want] {
			t.Errorf("the owner was not told %q", want)
		}
	}
	in.Clock.Advance(time.Minute)
	step = twostep.Step(in.Clock.Now())

	// The owner, in their own browser: Secure my account.
	tb.navigate(in.URL + "/account")
	tb.click("secure-my-account")
	wantTabLocation(t, tb, in, "/account/secure")
	tb.click("reauth-link")
	tb.typeInto("password", pw)
	tb.typeInto("code", code())
	tb.click("reauth-submit")
	wantTabLocation(t, tb, in, "/account/secure")
	tb.typeInto("new_password", newPW)
	tb.click("secure-submit")
	if got := tb.text("#secured"); !strings.Contains(got, "ended 3 other session(s)") {
		t.Errorf("secured: %q", got)
	}
	if codes := tb.text("#backup-codes"); codes == "" {
		t.Error("no new backup codes shown")
	}
	if r := in.Do(t, "GET", "/api/v1/session", intruder, nil); r.Status != 401 {
		t.Errorf("the intruder's session lives on: %d", r.Status)
	}
	// Exactly the five intruder changes, with the intruder's address and browser.
	rows := tabEval[[]string](tb, `[...document.querySelectorAll("#changes tr.change")].map(r => r.dataset.action + "|" + r.querySelector(".ip").textContent + "|" + r.querySelector(".ua").textContent + "|" + r.textContent.includes("new browser"))`)
	want := []string{"business.listing_changed", "business.storefront_changed", "business.member_invited", "account.notifications_changed", "business.deposit_account_added"}
	if len(rows) != len(want) {
		t.Fatalf("review rows: %q", rows)
	}
	for i, row := range rows {
		if row != want[i]+"|203.0.113.66|Mozilla/5.0 (Intruder) Chrome/1.0|true" {
			t.Errorf("row %d: %q", i, row)
		}
	}
	if body := tb.text("#changes"); !strings.Contains(body, "555 0100") || !strings.Contains(body, "Like new, pay by wire only") || !strings.Contains(body, "Small dent at the base") {
		t.Errorf("before/after missing: %s", body)
	}
	if n := tabEval[int](tb, `(() => { const bs = document.querySelectorAll("#changes input[type=checkbox]"); bs.forEach(c => c.checked = true); return bs.length })()`); n != 5 {
		t.Fatalf("%d changes to tick", n)
	}
	tb.click("undo-selected")
	wantTabLocation(t, tb, in, "/account/secure?done=1&business_id="+bizID)
	tb.noConsoleErrors()

	// Everything is as before.
	in.Clock.Advance(time.Minute)
	step = twostep.Step(in.Clock.Now())
	r = in.DoWith(t, "POST", "/api/v1/sessions", "", map[string]string{"Cookie": "sg_device=" + device.Value}, map[string]string{"email": email, "password": newPW})
	r = in.Do(t, "POST", "/api/v1/session/second-step", r.JSON(t)["token"].(string), map[string]string{"method": "totp", "code": code()})
	check := r.JSON(t)["token"].(string)
	pay := in.Do(t, "GET", biz+"/payments", check, nil).JSON(t)
	if pay["payouts_account"].(map[string]any)["last4"] != "6819" || pay["pending_account"] != nil {
		t.Errorf("payments: %v", pay)
	}
	if sf := in.Do(t, "GET", biz+"/storefront", check, nil).JSON(t)["storefront"].(map[string]any); sf["support_phone"] != "+44 20 7946 0000" {
		t.Errorf("storefront: %v", sf)
	}
	if l := in.Do(t, "GET", biz+"/listings", check, nil).JSON(t)["listings"].([]any)[0].(map[string]any); l["condition_note"] != "Small dent at the base" {
		t.Errorf("listing: %v", l)
	}
	if r := in.Do(t, "GET", biz+"/invitations", check, nil); strings.Contains(string(r.Body), "mule@evil.example") {
		t.Errorf("invitation pending: %s", r.Body)
	}
	if r := in.Do(t, "GET", biz+"/members", check, nil); strings.Contains(string(r.Body), "mule@evil.example") || len(r.JSON(t)["members"].([]any)) != 1 {
		t.Errorf("members: %s", r.Body)
	}
	for _, ev := range in.Do(t, "GET", "/api/v1/notifications", check, nil).JSON(t)["events"].([]any) {
		if e := ev.(map[string]any); e["event"] == "business.payment_changed" && e["channels"].(map[string]any)["sms"].(map[string]any)["enabled"] != true {
			t.Errorf("payment text messages: %v", e)
		}
	}
	if _, err := audit.Verify(t.Context(), in.DB); err != nil {
		t.Fatalf("audit verify: %v", err)
	}
}
