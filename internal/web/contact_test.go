package web_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/sms"
)

var revertRE = regexp.MustCompile(`Revert code: ([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})`)

// A stolen session cannot move the account to the thief's address without
// the code sent there; when the thief has that address too, the revert code
// sent to the old address undoes the change and ends the thief's sessions.
func TestEmailChangeHijackIsUndone(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		in.SignUp(t, "owner@example.com", pw, "Owner Shop")
		in.SignUp(t, "other@example.com", pw, "Other Shop")
		owner := in.SignIn(t, "owner@example.com", pw)
		thief := in.SignIn(t, "owner@example.com", pw) // a stolen session

		// An address of another account: the same answer, and no code sent to it.
		before := len(in.Outbox(t))
		a := in.Do(t, "POST", "/api/v1/account/email", thief, map[string]string{"email": "Other@Example.com"})
		b := in.Do(t, "POST", "/api/v1/account/email", thief, map[string]string{"email": "thief@evil.example"})
		if a.Status != 202 || b.Status != 202 || !bytes.Equal(a.Body, b.Body) {
			t.Fatalf("answers differ: %d %s / %d %s", a.Status, a.Body, b.Status, b.Body)
		}
		for _, m := range in.Outbox(t)[before:] {
			if m.To == "Other@Example.com" || (m.To == "other@example.com" && strings.Contains(m.Body, "code is")) {
				t.Fatalf("a code went to another account's address: %+v", m)
			}
		}
		// Without the code nothing changes.
		if r := in.Do(t, "POST", "/api/v1/account/email/confirm", thief, map[string]string{"code": "000000"}); r.Status != 400 {
			t.Fatalf("wrong code: %d", r.Status)
		}
		if r := in.Do(t, "GET", "/api/v1/session", owner, nil); r.JSON(t)["user"].(map[string]any)["email"] != "owner@example.com" {
			t.Fatalf("email changed without the code: %s", r.Body)
		}
		// The code to the new address: the new address carries the owner's phrase header too.
		code := in.LastCode(t, "thief@evil.example")
		r := in.Do(t, "POST", "/api/v1/account/email/confirm", thief, map[string]string{"code": code})
		if r.Status != 200 || r.JSON(t)["email"] != "thief@evil.example" {
			t.Fatalf("confirm: %d %s", r.Status, r.Body)
		}
		// The old address was told at once, with a revert code.
		var revert string
		for _, m := range in.Outbox(t) {
			if m.To == "owner@example.com" && strings.Contains(m.Subject, "sign-in email was changed") {
				if mm := revertRE.FindStringSubmatch(m.Body); mm != nil {
					revert = mm[1]
				}
				if !strings.Contains(m.Body, "thief@evil.example") || !strings.HasPrefix(m.Body, "You have not chosen") && !strings.HasPrefix(m.Body, "Your anti-phishing phrase") {
					t.Fatalf("notice: %s", m.Body)
				}
			}
		}
		if revert == "" {
			t.Fatal("no revert code went to the old address")
		}
		// A wrong revert code does nothing; the right one, typed on the site without a session, undoes it.
		if r := in.Do(t, "POST", "/api/v1/account/email/revert", "", map[string]string{"email": "owner@example.com", "code": "12345678"}); r.Status != 400 {
			t.Fatalf("wrong revert code: %d %s", r.Status, r.Body)
		}
		r = in.Do(t, "POST", "/api/v1/account/email/revert", "", map[string]string{"email": "OWNER@example.com", "code": strings.ToLower(revert)})
		if r.Status != 200 {
			t.Fatalf("revert: %d %s", r.Status, r.Body)
		}
		rt, _ := r.JSON(t)["recovery_token"].(string)
		for name, tok := range map[string]string{"thief": thief, "owner": owner} {
			if r := in.Do(t, "GET", "/api/v1/session", tok, nil); r.Status != 401 {
				t.Fatalf("%s's session after the revert: %d", name, r.Status)
			}
		}
		if r := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("thief@evil.example", pw, "")); r.Status != 401 {
			t.Fatalf("the thief's address still signs in: %d", r.Status)
		}
		// The revert started a recovery: the password in place no longer
		// works; the owner sets a new one with the token.
		if r := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("owner@example.com", pw, "")); r.Status != 401 {
			t.Fatalf("the old password still signs in after the revert: %d", r.Status)
		}
		if r := in.Do(t, "POST", "/api/v1/recovery/password", "", map[string]string{"recovery_token": rt, "password": newPW}); r.Status != 200 {
			t.Fatalf("new password after the revert: %d %s", r.Status, r.Body)
		}
		tok := in.SignIn(t, "owner@example.com", newPW)
		in.EnrollTOTP(t, tok)
		audit := string(in.Do(t, "GET", "/api/v1/audit?category=account", tok, nil).Body)
		for _, a := range []string{"account.email_changed", "account.email_change_reverted"} {
			if !strings.Contains(audit, a) {
				t.Errorf("audit lacks %s", a)
			}
		}
		// A revert code works once.
		if r := in.Do(t, "POST", "/api/v1/account/email/revert", "", map[string]string{"email": "owner@example.com", "code": revert}); r.Status != 400 {
			t.Fatalf("revert code reused: %d", r.Status)
		}
	})
}

func TestEmailChangeNeedsRecentSignIn(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "recent@example.com", pw, "Recent")
	tok := in.SignIn(t, "recent@example.com", pw)
	in.Clock.Advance(11 * time.Minute)
	if r := in.Do(t, "POST", "/api/v1/account/email", tok, map[string]string{"email": "new@example.com"}); r.Status != 403 || r.JSON(t)["code"] != "reauth_required" {
		t.Fatalf("without a recent sign-in: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "POST", "/api/v1/account/phone", tok, map[string]string{"phone": phone}); r.Status != 403 {
		t.Fatalf("phone without a recent sign-in: %d", r.Status)
	}
}

func TestPhoneChangeTellsTheOldNumberAndTheEmail(t *testing.T) {
	t.Parallel()
	gw := &sms.FakeGateway{}
	in := apptest.Start(t, "sqlite", apptest.SMSGateway(gw))
	r := in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": "mobile@example.com", "password": pw, "business_name": "Mobile", "phone": "+44 7400 111222"})
	in.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": "mobile@example.com", "code": in.LastCode(t, "mobile@example.com")})
	tok := in.SignIn(t, "mobile@example.com", pw)
	c := in.Do(t, "GET", "/api/v1/account/contact", tok, nil).JSON(t)
	if c["phone"] != "•••• 1222" || c["email_confirmed_at"] == nil {
		t.Fatalf("contact after sign-up: %v", c)
	}
	r = in.Do(t, "POST", "/api/v1/account/phone", tok, map[string]string{"phone": phone})
	if r.Status != 202 || r.JSON(t)["sent_to"] != "•••• 3456" {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	code := waitSMS(t, gw, 1)
	if r := in.Do(t, "POST", "/api/v1/account/phone/confirm", tok, map[string]string{"code": code}); r.Status != 200 || r.JSON(t)["phone"] != "•••• 3456" {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(gw.Sent()) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if last, ok := gw.LastTo("+447400111222"); !ok || !strings.Contains(last.Body, "changed") {
		t.Fatalf("the old number was not told: %+v", gw.Sent())
	}
	found := false
	for _, m := range in.Outbox(t) {
		found = found || strings.Contains(m.Subject, "mobile number was changed")
	}
	if !found {
		t.Fatal("the email was not told")
	}
}

// A sign-in from a new device or network tells the user; the same device
// again, or the first sign-in of the account, does not.
func TestNewDeviceSignInIsNotified(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "devices@example.com", pw, "Devices")
	count := func() int {
		n := 0
		for _, m := range in.Outbox(t) {
			if strings.Contains(m.Subject, "New sign-in") {
				n++
			}
		}
		return n
	}
	in.SignIn(t, "devices@example.com", pw) // first ever
	in.SignIn(t, "devices@example.com", pw) // same network and program
	if n := count(); n != 0 {
		t.Fatalf("%d new-device alerts for a known device", n)
	}
	st, _, _ := post(t, clientFrom("127.0.0.9"), in.URL+"/api/v1/sessions", signInBody("devices@example.com", pw, ""), map[string]string{"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0"})
	if st != 201 {
		t.Fatalf("sign-in: %d", st)
	}
	if n := count(); n != 1 {
		t.Fatalf("%d alerts after a new device", n)
	}
	for _, m := range in.Outbox(t) {
		if strings.Contains(m.Subject, "New sign-in") && (!strings.Contains(m.Body, "127.0.0.9") || !strings.Contains(m.Body, "Chrome/120.0")) {
			t.Fatalf("alert lacks the device: %s", m.Body)
		}
	}
}

// "Is this still yours?": after 180 days the user is asked once, confirms
// with a code, and the overview shows when.
func TestContactConfirmation(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "still@example.com", pw, "Still")
	in.Clock.Advance(181 * 24 * time.Hour)
	if n, err := in.Account.AskContactConfirmations(t.Context()); err != nil || n != 1 {
		t.Fatalf("asked %d, %v", n, err)
	}
	if n, _ := in.Account.AskContactConfirmations(t.Context()); n != 0 {
		t.Fatal("asked twice")
	}
	tok := in.SignIn(t, "still@example.com", pw)
	if c := in.Do(t, "GET", "/api/v1/account/contact", tok, nil).JSON(t); c["email_confirmation_due"] != true {
		t.Fatalf("contact: %v", c)
	}
	if r := in.Do(t, "POST", "/api/v1/account/contact/confirm", tok, map[string]string{"kind": "email"}); r.Status != 202 {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "POST", "/api/v1/account/contact/confirm/verify", tok, map[string]string{"kind": "email", "code": "000000"}); r.Status != 400 {
		t.Fatalf("wrong code: %d", r.Status)
	}
	code := in.LastCode(t, "still@example.com")
	r := in.Do(t, "POST", "/api/v1/account/contact/confirm/verify", tok, map[string]string{"kind": "email", "code": code})
	if r.Status != 200 || r.JSON(t)["email_confirmation_due"] != false {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
}

func TestContactPages(t *testing.T) {
	t.Parallel()
	gw := &sms.FakeGateway{}
	in := apptest.Start(t, "sqlite", apptest.SMSGateway(gw))
	in.SignUp(t, "pages@example.com", pw, "Pages")
	client := &http.Client{Jar: newFullJar(), Timeout: 30 * time.Second}
	post := func(path string, v url.Values) (*http.Response, string) {
		resp, err := client.PostForm(in.URL+path, v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	post("/signin", url.Values{"email": {"pages@example.com"}, "password": {pw}})
	_, body := post("/account/phone", url.Values{"phone": {phone}})
	if !strings.Contains(body, "We sent a code by text message to •••• 3456") {
		t.Fatalf("phone page: %s", body)
	}
	resp, body := post("/account/phone/confirm", url.Values{"code": {waitSMS(t, gw, 1)}})
	if resp.Request.URL.Path != "/account/phone" || !strings.Contains(body, "Your mobile number is changed") {
		t.Fatalf("phone confirm: %s %s", resp.Request.URL, body)
	}
	_, body = post("/account/email", url.Values{"email": {"pages-new@example.com"}})
	if !strings.Contains(body, "a code is on its way") {
		t.Fatalf("email page: %s", body)
	}
	resp, body = post("/account/email/confirm", url.Values{"code": {in.LastCode(t, "pages-new@example.com")}})
	if resp.Request.URL.Path != "/account/email" || !strings.Contains(body, "pages-new@example.com") {
		t.Fatalf("email confirm: %s %s", resp.Request.URL, body)
	}
	var revert string
	for _, m := range in.Outbox(t) {
		if mm := revertRE.FindStringSubmatch(m.Body); mm != nil && m.To == "pages@example.com" {
			revert = mm[1]
		}
	}
	resp, body = post("/signin/revert-email", url.Values{"email": {"pages@example.com"}, "code": {revert}})
	if resp.StatusCode != 200 || !strings.Contains(body, "is your sign-in email again") || !strings.Contains(body, "forgot-password-submit") {
		t.Fatalf("revert page: %d %s", resp.StatusCode, body)
	}
}
