package web_test

import (
	"bytes"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

const newPW = "a brand new passphrase for recovery"

// forgotPassword runs the three steps through the API and returns the
// recovery token.
func recoveryToken(t *testing.T, in *apptest.Instance, email string) string {
	t.Helper()
	if r := in.Do(t, "POST", "/api/v1/recovery", "", map[string]string{"email": email}); r.Status != 202 {
		t.Fatalf("recovery: %d %s", r.Status, r.Body)
	}
	r := in.Do(t, "POST", "/api/v1/recovery/verify", "", map[string]string{"email": email, "code": in.LastCode(t, email)})
	if r.Status != 200 {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)["recovery_token"].(string)
}

// Forgot password answers alike for a registered and an unknown address,
// and the code goes only to the address on file.
func TestForgotPasswordAnswersAlike(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		in.SignUp(t, "owner@example.com", pw, "Owner Shop")
		before := len(in.Outbox(t))
		a := in.Do(t, "POST", "/api/v1/recovery", "", map[string]string{"email": "Owner@Example.com"})
		b := in.Do(t, "POST", "/api/v1/recovery", "", map[string]string{"email": "nobody@example.com"})
		if a.Status != 202 || b.Status != 202 || !bytes.Equal(a.Body, b.Body) {
			t.Fatalf("answers differ: %d %s / %d %s", a.Status, a.Body, b.Status, b.Body)
		}
		sent := in.Outbox(t)[before:]
		if len(sent) != 1 || sent[0].To != "owner@example.com" || !strings.Contains(sent[0].Body, "code is: ") {
			t.Fatalf("want one code email to the address on file, got %+v", sent)
		}
		if strings.Contains(sent[0].Body, "http") && strings.Contains(sent[0].Body, "code=") {
			t.Fatalf("the code email carries a link: %s", sent[0].Body)
		}
		// A code "for" the unknown address never verifies (there is none to read).
		if r := in.Do(t, "POST", "/api/v1/recovery/verify", "", map[string]string{"email": "nobody@example.com", "code": "123456"}); r.Status != 400 || r.JSON(t)["code"] != "invalid_code" {
			t.Fatalf("unknown address verify: %d %s", r.Status, r.Body)
		}
		// The code works once.
		code := in.LastCode(t, "owner@example.com")
		if r := in.Do(t, "POST", "/api/v1/recovery/verify", "", map[string]string{"email": "owner@example.com", "code": code}); r.Status != 200 {
			t.Fatalf("verify: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", "/api/v1/recovery/verify", "", map[string]string{"email": "owner@example.com", "code": code}); r.Status != 400 {
			t.Fatalf("code reused: %d %s", r.Status, r.Body)
		}
		// 15 minutes: an old code is refused.
		in.Do(t, "POST", "/api/v1/recovery", "", map[string]string{"email": "owner@example.com"})
		code = in.LastCode(t, "owner@example.com")
		in.Clock.Advance(16 * time.Minute)
		if r := in.Do(t, "POST", "/api/v1/recovery/verify", "", map[string]string{"email": "owner@example.com", "code": code}); r.Status != 400 {
			t.Fatalf("expired code: %d %s", r.Status, r.Body)
		}
	})
}

// The answer for a registered and an unknown address takes the same time:
// 30 interleaved tries each, medians within 25%.
func TestForgotPasswordTiming(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect, apptest.Env("SELLERGUARD_LIMIT_SIGNUPS_PER_SOURCE", "1000"))
		in.SignUp(t, "timing@example.com", pw, "Timing Shop")
		var known, unknown []time.Duration
		try := func(email string) time.Duration {
			start := time.Now()
			r := in.Do(t, "POST", "/api/v1/recovery", "", map[string]string{"email": email})
			d := time.Since(start)
			if r.Status != 202 {
				t.Fatalf("recovery: %d %s", r.Status, r.Body)
			}
			return d
		}
		for i := range 30 {
			if i%2 == 0 {
				known = append(known, try("timing@example.com"))
				unknown = append(unknown, try("nobody-timing@example.com"))
			} else {
				unknown = append(unknown, try("nobody-timing@example.com"))
				known = append(known, try("timing@example.com"))
			}
		}
		median := func(ds []time.Duration) time.Duration {
			s := append([]time.Duration(nil), ds...)
			sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
			return s[len(s)/2]
		}
		k, u := median(known), median(unknown)
		ratio := float64(k) / float64(u)
		t.Logf("%s: median registered %v, unknown %v, ratio %.2f", dialect, k, u, ratio)
		if ratio > 1.25 || ratio < 1/1.25 {
			t.Errorf("timing reveals the account: registered %v vs unknown %v (ratio %.2f)", k, u, ratio)
		}
	})
}

// Ten wrong codes stop the right one working; the owner is told and it is
// audited.
func TestForgotPasswordTenWrongCodes(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		in.SignUp(t, "guess@example.com", pw, "Guess Shop")
		in.Do(t, "POST", "/api/v1/recovery", "", map[string]string{"email": "guess@example.com"})
		code := in.LastCode(t, "guess@example.com")
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		for i := range 10 {
			if r := in.Do(t, "POST", "/api/v1/recovery/verify", "", map[string]string{"email": "guess@example.com", "code": wrong}); r.Status != 400 || r.JSON(t)["code"] != "invalid_code" {
				t.Fatalf("wrong code %d: %d %s", i+1, r.Status, r.Body)
			}
		}
		if r := in.Do(t, "POST", "/api/v1/recovery/verify", "", map[string]string{"email": "guess@example.com", "code": code}); r.Status != 400 {
			t.Fatalf("the right code still works after 10 wrong ones: %d %s", r.Status, r.Body)
		}
		// A new code does not buy new guesses within the hour.
		in.Do(t, "POST", "/api/v1/recovery", "", map[string]string{"email": "guess@example.com"})
		if r := in.Do(t, "POST", "/api/v1/recovery/verify", "", map[string]string{"email": "guess@example.com", "code": in.LastCode(t, "guess@example.com")}); r.Status != 400 {
			t.Fatalf("a new code reset the guess limit: %d %s", r.Status, r.Body)
		}
		told := 0
		for _, m := range in.Outbox(t) {
			if m.To == "guess@example.com" && strings.Contains(m.Subject, "trying to reset") {
				told++
			}
		}
		if told != 2 {
			t.Errorf("owner told %d times of wrong codes, want 2 (first and tenth)", told)
		}
		// After the hour a new code works, and it is all in the audit log.
		in.Clock.Advance(61 * time.Minute)
		tok := recoveryToken(t, in, "guess@example.com")
		if r := in.Do(t, "POST", "/api/v1/recovery/password", "", map[string]string{"recovery_token": tok, "password": newPW}); r.Status != 200 {
			t.Fatalf("reset: %d %s", r.Status, r.Body)
		}
		s := in.SignIn(t, "guess@example.com", newPW)
		in.EnrollTOTP(t, s)
		audit := string(in.Do(t, "GET", "/api/v1/audit?category=account", s, nil).Body)
		for _, a := range []string{"account.recovery_requested", "account.recovery_code_failed", "account.recovery_code_verified", "account.password_reset"} {
			if !strings.Contains(audit, a) {
				t.Errorf("audit lacks %s", a)
			}
		}
	})
}

// A reset ends the attacker's session at its next request, forgets trusted
// browsers, tells the owner, and the next sign-in still asks for the second
// step.
func TestForgotPasswordResetEndsSessions(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		in.SignUp(t, "victim@example.com", pw, "Victim Shop")
		owner := in.SignIn(t, "victim@example.com", pw)
		secret := in.EnrollTOTP(t, owner)
		attacker := in.SecondStep(t, in.SignIn(t, "victim@example.com", pw), secret)
		if r := in.Do(t, "GET", "/api/v1/session", attacker, nil); r.Status != 200 {
			t.Fatalf("attacker session: %d", r.Status)
		}
		tok := recoveryToken(t, in, "victim@example.com")
		// A password the policy refuses leaves the token usable.
		if r := in.Do(t, "POST", "/api/v1/recovery/password", "", map[string]string{"recovery_token": tok, "password": "short"}); r.Status != 400 || r.JSON(t)["code"] != "password_policy" {
			t.Fatalf("weak password: %d %s", r.Status, r.Body)
		}
		// The same public facts as a signed-in change: the store's public
		// phone, digits only, is refused on reset too.
		bizID := in.Do(t, "GET", "/api/v1/session", owner, nil).JSON(t)["memberships"].([]any)[0].(map[string]any)["business_id"].(string)
		if r := in.Do(t, "PUT", "/api/v1/businesses/"+bizID+"/storefront", owner, map[string]string{"display_name": "Victim Shop", "support_phone": "+44 20 7946 0321"}); r.Status != 200 {
			t.Fatalf("storefront: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", "/api/v1/recovery/password", "", map[string]string{"recovery_token": tok, "password": "Quokka-Lattice-2079460321"}); r.Status != 400 || !strings.Contains(string(r.Body), "contains_phone") {
			t.Fatalf("a reset to a password with the store's phone: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "GET", "/api/v1/session", attacker, nil); r.Status != 200 {
			t.Fatalf("a refused password ended sessions: %d", r.Status)
		}
		before := len(in.Outbox(t))
		if r := in.Do(t, "POST", "/api/v1/recovery/password", "", map[string]string{"recovery_token": tok, "password": newPW}); r.Status != 200 || r.JSON(t)["password_changed"] != true {
			t.Fatalf("reset: %d %s", r.Status, r.Body)
		}
		for name, s := range map[string]string{"attacker": attacker, "owner": owner} {
			if r := in.Do(t, "GET", "/api/v1/session", s, nil); r.Status != 401 {
				t.Fatalf("%s's session after the reset: %d", name, r.Status)
			}
		}
		if r := in.Do(t, "POST", "/api/v1/recovery/password", "", map[string]string{"recovery_token": tok, "password": newPW + "!"}); r.Status != 400 || r.JSON(t)["code"] != "invalid_code" {
			t.Fatalf("token reused: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("victim@example.com", pw, "")); r.Status != 401 {
			t.Fatalf("the old password still signs in: %d", r.Status)
		}
		r := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("victim@example.com", newPW, ""))
		if r.Status != 201 || r.JSON(t)["second_step_required"] != true {
			t.Fatalf("sign-in after the reset skips the second step: %d %s", r.Status, r.Body)
		}
		told := false
		for _, m := range in.Outbox(t)[before:] {
			if m.To == "victim@example.com" && strings.Contains(m.Subject, "password was reset") {
				told = true
			}
		}
		if !told {
			t.Error("the owner was not told of the reset")
		}
	})
}

// Bad input: clear 400s and nothing written.
func TestRecoveryBadInput(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		in.SignUp(t, "bad@example.com", pw, "Bad Shop")
		before := len(in.Outbox(t))
		long := strings.Repeat("a", 300) + "@example.com"
		cases := []struct {
			path string
			body any
			code string
		}{
			{"/api/v1/recovery", `{"email":`, "malformed_json"},
			{"/api/v1/recovery", map[string]any{}, "invalid_input"},
			{"/api/v1/recovery", map[string]any{"email": 5}, "invalid_input"},
			{"/api/v1/recovery", map[string]any{"email": "not an address"}, "invalid_input"},
			{"/api/v1/recovery", map[string]any{"email": long}, "invalid_input"},
			{"/api/v1/recovery", map[string]any{"email": "bad@example.com", "extra": 1}, "malformed_json"},
			{"/api/v1/recovery/verify", map[string]any{"email": "bad@example.com"}, "invalid_input"},
			{"/api/v1/recovery/verify", map[string]any{"email": "bad@example.com", "code": "12345"}, "invalid_input"},
			{"/api/v1/recovery/verify", map[string]any{"email": "bad@example.com", "code": "１２３４５６"}, "invalid_input"},
			{"/api/v1/recovery/verify", map[string]any{"email": "bad@example.com", "code": strings.Repeat("1", 100000)}, ""},
			{"/api/v1/recovery/verify", map[string]any{"email": "", "code": "123456"}, "invalid_input"},
			{"/api/v1/recovery/password", map[string]any{"password": newPW}, "invalid_input"},
			{"/api/v1/recovery/password", map[string]any{"recovery_token": "sgr_x", "password": newPW}, "invalid_input"},
			{"/api/v1/recovery/password", map[string]any{"recovery_token": "sgr_" + strings.Repeat("A", 43), "password": newPW}, "invalid_code"},
			{"/api/v1/recovery/password", map[string]any{"recovery_token": "sgr_" + strings.Repeat("A", 43), "password": ""}, "invalid_input"},
			{"/api/v1/recovery/password", map[string]any{"recovery_token": "sgr_" + strings.Repeat("A", 43), "password": strings.Repeat("p", 5000)}, "invalid_input"},
			{"/api/v1/recovery/password", `[]`, "malformed_json"},
		}
		for _, c := range cases {
			r := in.Do(t, "POST", c.path, "", c.body)
			if r.Status >= 500 {
				t.Fatalf("%s %.80v: %d %s", c.path, c.body, r.Status, r.Body)
			}
			if c.code == "" {
				if r.Status != 400 && r.Status != 413 {
					t.Errorf("%s %.80v: %d, want 400 or 413", c.path, c.body, r.Status)
				}
				continue
			}
			if r.Status != 400 || r.JSON(t)["code"] != c.code {
				t.Errorf("%s %.80v: %d %s, want 400 %s", c.path, c.body, r.Status, r.Body, c.code)
			}
		}
		if n := len(in.Outbox(t)); n != before {
			t.Errorf("bad input sent %d messages", n-before)
		}
		// A page form that cannot be read, and a page with bad input: no 5xx.
		res := pageRequest(t, in, "POST", "/signin/forgot", "", url.Values{"email": {"nope"}})
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(res.body, "Enter an email address") {
			t.Errorf("page with a bad address: %d", res.StatusCode)
		}
		res = pageRequest(t, in, "POST", "/signin/forgot/password", "", url.Values{"recovery_token": {"x"}, "password": {newPW}})
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("page with a bad token: %d", res.StatusCode)
		}
	})
}

// The "Can't sign in?" pages in Chromium: from the sign-in page to a new
// password, then a sign-in that still asks for the second step.
func TestBrowserForgotPassword(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	const email = "walk@example.com"
	in.SignUp(t, email, pw, "Walk Shop")
	in.EnrollTOTP(t, in.SignIn(t, email, pw))
	tb := newBrowserTab(t)

	tb.navigate(in.URL + "/signin")
	tb.click("signin-help")
	wantTabLocation(t, tb, in, "/signin/help")
	wantTabStyled(t, tb)
	if h := tb.text("main h1"); h != "Can't sign in?" {
		t.Fatalf("help page says %q", h)
	}
	if s := tb.text("#help-second-step"); !strings.Contains(s, "backup code") {
		t.Errorf("lost second step: %q", s)
	}
	tb.screenshot("recovery-1-help")
	tb.click("help-forgot-link")
	wantTabLocation(t, tb, in, "/signin/forgot")
	tb.typeInto("email", email)
	tb.click("forgot-submit")
	if n := tb.text("#forgot-notice"); !strings.Contains(n, "six-digit code") {
		t.Fatalf("after asking: %q", n)
	}
	if v := tb.value("email"); v != email {
		t.Errorf("email not kept: %q", v)
	}
	// A wrong code first: the message, the same step.
	code := in.LastCode(t, email)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	tb.typeInto("code", wrong)
	tb.click("forgot-code-submit")
	if m := tb.text("p.error"); !strings.Contains(m, "not valid") {
		t.Errorf("wrong code message: %q", m)
	}
	tb.typeInto("code", code)
	tb.click("forgot-code-submit")
	tb.screenshot("recovery-2-password")
	tb.typeInto("password", "short")
	tb.click("forgot-password-submit")
	if m := tb.text("main"); !strings.Contains(m, "Use at least") && !strings.Contains(m, "characters") {
		t.Errorf("weak password page: %q", m)
	}
	tb.typeInto("password", newPW)
	tb.click("forgot-password-submit")
	if n := tb.text(".notice"); !strings.Contains(n, "Your password is changed") {
		t.Fatalf("after the reset: %q", n)
	}
	tb.screenshot("recovery-3-done")
	tb.typeInto("email", email)
	tb.typeInto("password", newPW)
	tb.click("signin-submit")
	wantTabLocation(t, tb, in, "/signin/second-step")
	tb.noConsoleErrors("status of 400")
}

// The email-change takeover, undone: the intruder changes the email and the
// password; the owner's revert code (after five wrong codes from others,
// which cannot burn it) restores the email, ends the intruder's session,
// makes the intruder's password useless and lets the owner set a new one.
func TestRevertCodeTakesTheAccountBack(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		in.SignUp(t, "shop@example.com", pw, "Shop")
		intruder := in.SignIn(t, "shop@example.com", pw) // a phished password
		const intruderPW = "marble falcon beyond twelve hills"
		if r := in.Do(t, "POST", "/api/v1/account/email", intruder, map[string]string{"email": "intruder@evil.example"}); r.Status != 202 {
			t.Fatalf("email change: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", "/api/v1/account/email/confirm", intruder, map[string]string{"code": in.LastCode(t, "intruder@evil.example")}); r.Status != 200 {
			t.Fatalf("confirm: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", "/api/v1/account/password", intruder, map[string]string{"current_password": pw, "new_password": intruderPW}); r.Status != 200 {
			t.Fatalf("intruder's password change: %d %s", r.Status, r.Body)
		}
		var revert string
		for _, m := range in.Outbox(t) {
			if mm := revertRE.FindStringSubmatch(m.Body); mm != nil && m.To == "shop@example.com" {
				revert = mm[1]
			}
		}
		if revert == "" {
			t.Fatal("no revert code went to the old address")
		}
		// Five wrong codes (by anyone) leave the right one working, and it
		// stays valid for its whole period.
		for i := range 5 {
			if r := in.Do(t, "POST", "/api/v1/account/email/revert", "", map[string]string{"email": "shop@example.com", "code": "AAAA-BBBB-CCCC-DDD" + string(rune('0'+i))}); r.Status != 400 {
				t.Fatalf("wrong revert code: %d %s", r.Status, r.Body)
			}
		}
		in.Clock.Advance(6*24*time.Hour + 23*time.Hour)
		r := in.Do(t, "POST", "/api/v1/account/email/revert", "", map[string]string{"email": "shop@example.com", "code": revert})
		if r.Status != 200 {
			t.Fatalf("revert: %d %s", r.Status, r.Body)
		}
		rt := r.JSON(t)["recovery_token"].(string)
		if r := in.Do(t, "GET", "/api/v1/session", intruder, nil); r.Status != 401 {
			t.Fatalf("the intruder's next request: %d", r.Status)
		}
		for _, c := range []struct{ email, pw string }{{"shop@example.com", intruderPW}, {"intruder@evil.example", intruderPW}, {"shop@example.com", pw}} {
			if r := in.Do(t, "POST", "/api/v1/sessions", "", signInBody(c.email, c.pw, "")); r.Status != 401 {
				t.Fatalf("%s with an old password still signs in: %d", c.email, r.Status)
			}
		}
		// The owner cannot pick the intruder's password again.
		if r := in.Do(t, "POST", "/api/v1/recovery/password", "", map[string]string{"recovery_token": rt, "password": intruderPW}); r.Status != 400 || r.JSON(t)["code"] != "password_policy" {
			t.Fatalf("the intruder's password as the new one: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", "/api/v1/recovery/password", "", map[string]string{"recovery_token": rt, "password": newPW}); r.Status != 200 {
			t.Fatalf("new password: %d %s", r.Status, r.Body)
		}
		tok := in.SignIn(t, "shop@example.com", newPW)
		if r := in.Do(t, "GET", "/api/v1/session", tok, nil); r.Status != 200 || r.JSON(t)["user"].(map[string]any)["email"] != "shop@example.com" {
			t.Fatalf("owner's session: %d %s", r.Status, r.Body)
		}
		// The code worked once.
		if r := in.Do(t, "POST", "/api/v1/account/email/revert", "", map[string]string{"email": "shop@example.com", "code": revert}); r.Status != 400 {
			t.Fatalf("revert code reused: %d", r.Status)
		}
	})
}
