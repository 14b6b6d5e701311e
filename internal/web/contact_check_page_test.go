package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/sms"
)

// "Is this still yours?" on the account page, for the email and the mobile
// number, after SELLERGUARD_CONTACT_CHECK_AGE: a button sends a code, the
// code entered on the page confirms, and the prompt goes.
func TestContactCheckOnTheAccountPage(t *testing.T) {
	gw := &sms.FakeGateway{}
	in := apptest.Start(t, "sqlite", apptest.SMSGateway(gw), apptest.Env("SELLERGUARD_CONTACT_CHECK_AGE", "720h"))
	const email, pw = "fresh@example.com", "correct horse battery staple"
	if r := in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": email, "password": pw, "business_name": "Fresh Co", "phone": "+44 7400 111222"}); r.Status != 202 {
		t.Fatalf("signup: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": email, "code": in.LastCode(t, email)}); r.Status != 201 {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}
	tok := in.SignIn(t, email, pw)
	account := func() string {
		t.Helper()
		pg := pageGet(t, in, "/account", tok)
		if pg.StatusCode != http.StatusOK {
			t.Fatalf("account page: %d", pg.StatusCode)
		}
		return pg.body
	}
	if body := account(); strings.Contains(body, `id="email-due"`) || strings.Contains(body, `id="phone-due"`) {
		t.Fatal("a fresh account is asked to confirm its contacts")
	}

	in.Clock.Advance(31 * 24 * time.Hour)
	tok = in.SignIn(t, email, pw) // the old session expired meanwhile
	body := account()
	for _, id := range []string{`id="email-due"`, `id="confirm-email"`, `id="phone-due"`, `id="confirm-phone"`} {
		if !strings.Contains(body, id) {
			t.Fatalf("after 31 days the account page has no %s", id)
		}
	}
	if c := in.Do(t, "GET", "/api/v1/account/contact", tok, nil).JSON(t); c["email_confirmation_due"] != true || c["phone_confirmation_due"] != true {
		t.Fatalf("contact API after 31 days: %v", c)
	}

	// The email: the button, then the code on the page.
	pg := pageRequest(t, in, "POST", "/account/contact/confirm", tok, url.Values{"kind": {"email"}})
	if pg.StatusCode != http.StatusSeeOther || pg.Header.Get("Location") != "/account?confirming=email" {
		t.Fatalf("confirm email: %d %q", pg.StatusCode, pg.Header.Get("Location"))
	}
	if pg := pageGet(t, in, "/account?confirming=email", tok); !strings.Contains(pg.body, `id="contact-code"`) || !strings.Contains(pg.body, "from the email") {
		t.Fatalf("no code field after sending the code:\n%s", pg.body)
	}
	code := in.LastCode(t, email)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	pg = pageRequest(t, in, "POST", "/account/contact/confirm/verify", tok, url.Values{"kind": {"email"}, "code": {wrong}})
	if pg.StatusCode != http.StatusBadRequest || !strings.Contains(pg.body, `id="contact-code-error"`) {
		t.Fatalf("wrong code: %d, want 400 with the error next to the field", pg.StatusCode)
	}
	pg = pageRequest(t, in, "POST", "/account/contact/confirm/verify", tok, url.Values{"kind": {"email"}, "code": {code}})
	if pg.StatusCode != http.StatusSeeOther || pg.Header.Get("Location") != "/account?confirmed=email" {
		t.Fatalf("right code: %d %q", pg.StatusCode, pg.Header.Get("Location"))
	}
	if body := account(); strings.Contains(body, `id="email-due"`) || !strings.Contains(body, `id="phone-due"`) {
		t.Fatal("after confirming the email, the page should ask about the mobile number only")
	}

	// The reminder email covers the mobile number too: due for it alone now.
	if n, err := in.Account.AskContactConfirmations(t.Context()); err != nil || n != 1 {
		t.Fatalf("reminders for a stale mobile number: %d, %v", n, err)
	}
	if notifCount(t, in, email, "mobile number still yours") != 1 {
		t.Fatal("no reminder email about the mobile number")
	}

	// The mobile number: a text with the code.
	sent := len(gw.Sent())
	pg = pageRequest(t, in, "POST", "/account/contact/confirm", tok, url.Values{"kind": {"phone"}})
	if pg.StatusCode != http.StatusSeeOther || pg.Header.Get("Location") != "/account?confirming=phone" {
		t.Fatalf("confirm phone: %d %q", pg.StatusCode, pg.Header.Get("Location"))
	}
	code = waitSMS(t, gw, sent+1)
	pg = pageRequest(t, in, "POST", "/account/contact/confirm/verify", tok, url.Values{"kind": {"phone"}, "code": {code}})
	if pg.StatusCode != http.StatusSeeOther || pg.Header.Get("Location") != "/account?confirmed=phone" {
		t.Fatalf("phone code: %d %q", pg.StatusCode, pg.Header.Get("Location"))
	}
	if body := account(); strings.Contains(body, `id="email-due"`) || strings.Contains(body, `id="phone-due"`) {
		t.Fatal("the prompt stays after confirming both")
	}
	if c := in.Do(t, "GET", "/api/v1/account/contact", tok, nil).JSON(t); c["email_confirmation_due"] != false || c["phone_confirmation_due"] != false {
		t.Fatalf("contact API after confirming: %v", c)
	}
	// A kind that is neither: refused with the page, nothing sent.
	if pg := pageRequest(t, in, "POST", "/account/contact/confirm", tok, url.Values{"kind": {"fax"}}); pg.StatusCode != http.StatusBadRequest {
		t.Fatalf("kind fax: %d", pg.StatusCode)
	}
}
