package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// Taking an account back after an email change (issue 14, the walk-through
// it must show): the intruder changes the email, the password and the
// authenticator and adds a deposit account; the owner uses the revert code
// from the old mailbox; the intruder's next request fails, their password
// and authenticator no longer work, the deposit account waits for the
// owner's decision, and the owner is signed in with a new password. Five
// wrong revert codes from another source leave the right code working.

const intruderPW = "marble falcon beyond twelve hills"

var (
	ownerNet    = map[string]string{"X-Forwarded-For": "192.0.2.10", "User-Agent": "Mozilla/5.0 (Owner) Firefox/140.0"}
	intruderNet = map[string]string{"X-Forwarded-For": "203.0.113.66", "User-Agent": "Mozilla/5.0 (Intruder) Chrome/1.0"}
	guesserNet  = map[string]string{"X-Forwarded-For": "198.51.100.9", "User-Agent": "curl/8.0"}
)

// takeover is the state after the intruder's work: the owner's business,
// the owner's backup codes, the intruder's session and authenticator.
type takeover struct {
	biz, intruder, intruderTOTP, ownerTOTP, revert string
	ownerCodes, intruderCodes                      []string
}

// takeoverPlan: what else the intruder does besides the email, the
// password, an authenticator of their own and a deposit account.
type takeoverPlan struct {
	keepOwnersApp    bool // leave the owner's authenticator in place (by default it is removed)
	regenerateBackup bool // make new backup codes
}

func startTakeover(t *testing.T, in *apptest.Instance, plan takeoverPlan) takeover {
	t.Helper()
	var tk takeover
	_, tk.biz = in.SignUp(t, "shop@example.com", pw, "Shop")
	owner := in.SignIn(t, "shop@example.com", pw)
	ownerTOTP := in.EnrollTOTP(t, owner)
	tk.ownerTOTP = ownerTOTP
	r := in.Do(t, "POST", "/api/v1/two-step/backup-codes", owner, nil)
	if r.Status != 201 {
		t.Fatalf("owner's backup codes: %d %s", r.Status, r.Body)
	}
	for _, c := range r.JSON(t)["codes"].([]any) {
		tk.ownerCodes = append(tk.ownerCodes, c.(string))
	}
	biz := "/api/v1/businesses/" + tk.biz
	if r := in.DoWith(t, "PUT", biz+"/payments/deposit-account", owner, ownerNet, map[string]string{"holder": "Shop Ltd", "bank": "First Bank", "account_number": "GB29 NWBK 6016 1331 9268 19"}); r.Status != 201 {
		t.Fatalf("owner's deposit account: %d %s", r.Status, r.Body)
	}
	in.Clock.Advance(2 * time.Hour) // past the cooling-off: the owner's account is in use
	in.DrainOutbox(t)

	// The intruder has the password and phishes one authenticator code.
	r = in.DoWith(t, "POST", "/api/v1/sessions", "", intruderNet, map[string]string{"email": "shop@example.com", "password": pw})
	if r.Status != 201 {
		t.Fatalf("intruder's sign-in: %d %s", r.Status, r.Body)
	}
	intr := in.SecondStep(t, r.JSON(t)["token"].(string), ownerTOTP)
	if r := in.DoWith(t, "POST", "/api/v1/account/email", intr, intruderNet, map[string]string{"email": "intruder@evil.example"}); r.Status != 202 {
		t.Fatalf("email change: %d %s", r.Status, r.Body)
	}
	if r := in.DoWith(t, "POST", "/api/v1/account/email/confirm", intr, intruderNet, map[string]string{"code": in.LastCode(t, "intruder@evil.example")}); r.Status != 200 {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	r = in.DoWith(t, "POST", "/api/v1/account/password", intr, intruderNet, map[string]string{"current_password": pw, "new_password": intruderPW})
	if r.Status != 200 {
		t.Fatalf("intruder's password change: %d %s", r.Status, r.Body)
	}
	intr = r.JSON(t)["token"].(string) // the password change replaced the session
	// The authenticator: the intruder's app in, the owner's out.
	tk.intruderTOTP = in.EnrollTOTP(t, intr)
	r = in.Do(t, "GET", "/api/v1/two-step", intr, nil)
	if r.Status != 200 {
		t.Fatalf("two-step list: %d %s", r.Status, r.Body)
	}
	ms := r.JSON(t)["methods"].([]any)
	if len(ms) != 2 {
		t.Fatalf("methods: %s", r.Body)
	}
	ownersApp := ms[0].(map[string]any)["id"].(string) // the older one
	if !plan.keepOwnersApp {
		if r := in.DoWith(t, "DELETE", "/api/v1/two-step/"+ownersApp, intr, intruderNet, nil); r.Status != 204 {
			t.Fatalf("removing the owner's app: %d %s", r.Status, r.Body)
		}
	}
	if plan.regenerateBackup {
		r := in.DoWith(t, "POST", "/api/v1/two-step/backup-codes", intr, intruderNet, nil)
		if r.Status != 201 {
			t.Fatalf("intruder's backup codes: %d %s", r.Status, r.Body)
		}
		for _, c := range r.JSON(t)["codes"].([]any) {
			tk.intruderCodes = append(tk.intruderCodes, c.(string))
		}
	}
	if r := in.DoWith(t, "PUT", biz+"/payments/deposit-account", intr, intruderNet, map[string]string{"holder": "Mallory", "bank": "Elsewhere", "account_number": "DE89370400440532013000"}); r.Status != 201 {
		t.Fatalf("intruder's deposit account: %d %s", r.Status, r.Body)
	}
	for range 5 { // the intruder's account would now receive the payouts (the session kept alive)
		in.Clock.Advance(15 * time.Minute)
		if r := in.Do(t, "GET", "/api/v1/session", intr, nil); r.Status != 200 {
			t.Fatalf("intruder's session: %d", r.Status)
		}
	}
	r = in.Do(t, "GET", biz+"/payments", intr, nil)
	if r.Status != 200 || r.JSON(t)["payouts_account"].(map[string]any)["last4"] != "3000" {
		t.Fatalf("before the revert the intruder's account is in use: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "GET", "/api/v1/session", intr, nil); r.Status != 200 {
		t.Fatalf("the intruder's session works before the revert: %d", r.Status)
	}
	tk.intruder = intr
	for _, m := range in.Outbox(t) {
		if mm := revertRE.FindStringSubmatch(m.Body); mm != nil && m.To == "shop@example.com" {
			tk.revert = mm[1]
		}
	}
	if tk.revert == "" {
		t.Fatal("no revert code went to the old address")
	}
	return tk
}

// totpNow is the authenticator's current code.
func totpNow(t *testing.T, in *apptest.Instance, secret string) string {
	t.Helper()
	code, err := twostep.TOTPCode(secret, twostep.Step(in.Clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func TestTakeBackAfterEmailChange(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect, apptest.Env("SELLERGUARD_TRUSTED_PROXIES", "127.0.0.1"), apptest.Env("SELLERGUARD_PAYOUT_COOLING_OFF", "1h"))
		tk := startTakeover(t, in, takeoverPlan{})
		biz := "/api/v1/businesses/" + tk.biz

		// While the intruder held the account, the owner's old address got
		// copies of every critical notice (the password, the authenticators).
		toIntruder := func() int {
			n := 0
			for _, m := range in.Outbox(t) {
				if m.To == "intruder@evil.example" {
					n++
				}
			}
			return n
		}
		copies := 0
		for _, m := range in.Outbox(t) {
			if m.To == "shop@example.com" && strings.Contains(m.Body, copyMarker) {
				copies++
			}
		}
		if copies < 3 {
			t.Fatalf("copies of critical notices to the old address: %d", copies)
		}

		// Five wrong codes from another source: the right one still works.
		for i := range 5 {
			r := in.DoWith(t, "POST", "/api/v1/account/email/revert", "", guesserNet, map[string]string{"email": "shop@example.com", "code": "AAAA-BBBB-CCCC-DDD" + string(rune('0'+i))})
			if r.Status != 400 || r.JSON(t)["code"] != "invalid_code" {
				t.Fatalf("wrong revert code %d: %d %s", i, r.Status, r.Body)
			}
		}
		r := in.DoWith(t, "POST", "/api/v1/account/email/revert", "", ownerNet, map[string]string{"email": "shop@example.com", "code": tk.revert})
		if r.Status != 200 {
			t.Fatalf("revert: %d %s", r.Status, r.Body)
		}
		rt := r.JSON(t)["recovery_token"].(string)
		intruderMail := toIntruder()

		// The intruder is out: the next request fails, the password and
		// the new address sign nobody in.
		if r := in.DoWith(t, "GET", "/api/v1/session", tk.intruder, intruderNet, nil); r.Status != 401 {
			t.Fatalf("the intruder's next request: %d %s", r.Status, r.Body)
		}
		for _, c := range []struct{ email, pw string }{{"shop@example.com", intruderPW}, {"intruder@evil.example", intruderPW}, {"shop@example.com", pw}} {
			if r := in.DoWith(t, "POST", "/api/v1/sessions", "", intruderNet, signInBody(c.email, c.pw, "")); r.Status != 401 {
				t.Fatalf("%s with an old password still signs in: %d", c.email, r.Status)
			}
		}

		// The owner chooses a new password; the answer says where to go.
		r = in.DoWith(t, "POST", "/api/v1/recovery/password", "", ownerNet, map[string]string{"recovery_token": rt, "password": newPW})
		if r.Status != 200 {
			t.Fatalf("new password: %d %s", r.Status, r.Body)
		}
		if m := r.JSON(t); m["next"] != "/account/secure" || m["held_items"] != float64(2) {
			t.Fatalf("recovery answer: %s", r.Body)
		}
		// The owner signs in with the new password. The intruder removed
		// the owner's authenticator and theirs is on hold, so no second step
		// is asked for (backup codes alone never are) and the intruder's
		// authenticator neither finishes a sign-in nor steps up.
		r = in.DoWith(t, "POST", "/api/v1/sessions", "", ownerNet, signInBody("shop@example.com", newPW, ""))
		if r.Status != 201 || r.JSON(t)["methods"] != nil {
			t.Fatalf("owner's sign-in: %d %s", r.Status, r.Body)
		}
		owner := r.JSON(t)["token"].(string)
		if r := in.Do(t, "GET", "/api/v1/session", owner, nil); r.Status != 200 || r.JSON(t)["user"].(map[string]any)["email"] != "shop@example.com" {
			t.Fatalf("owner's session: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "GET", "/api/v1/two-step", owner, nil); r.Status != 200 || len(r.JSON(t)["methods"].([]any)) != 0 || r.JSON(t)["enrolled"] != false {
			t.Fatalf("the held authenticator counts as enrolled: %d %s", r.Status, r.Body)
		}
		// Business data needs two-step: the owner enrols a new app. The
		// intruder's app still does not step up, nor finish a sign-in.
		in.EnrollTOTP(t, owner)
		if r := in.DoWith(t, "POST", "/api/v1/session/reauth", owner, ownerNet, map[string]string{"password": newPW, "method": "totp", "code": totpNow(t, in, tk.intruderTOTP)}); r.Status != 400 {
			t.Fatalf("the held authenticator stepped up: %d %s", r.Status, r.Body)
		}
		r = in.DoWith(t, "POST", "/api/v1/sessions", "", ownerNet, signInBody("shop@example.com", newPW, ""))
		if r.Status != 201 || r.JSON(t)["token"] == nil {
			t.Fatalf("owner's second sign-in: %d %s", r.Status, r.Body)
		}
		if r := in.DoWith(t, "POST", "/api/v1/session/second-step", r.JSON(t)["token"].(string), ownerNet, map[string]string{"method": "totp", "code": totpNow(t, in, tk.intruderTOTP)}); r.Status != 400 {
			t.Fatalf("the held authenticator finished a sign-in: %d %s", r.Status, r.Body)
		}

		// The deposit account waits: payouts stay with the owner's account.
		r = in.Do(t, "GET", biz+"/payments", owner, nil)
		if r.Status != 200 || r.JSON(t)["payouts_account"].(map[string]any)["last4"] != "6819" || r.JSON(t)["pending_account"] != nil {
			t.Fatalf("payouts after the revert: %d %s", r.Status, r.Body)
		}
		r = in.Do(t, "GET", "/api/v1/account/holds", owner, nil)
		if r.Status != 200 {
			t.Fatalf("holds: %d %s", r.Status, r.Body)
		}
		holds := map[string]string{}
		for _, h := range r.JSON(t)["holds"].([]any) {
			hm := h.(map[string]any)
			holds[hm["kind"].(string)] = hm["id"].(string)
			if strings.Contains(hm["summary"].(string), "DE89") {
				t.Fatalf("a full account number in a hold: %v", hm)
			}
		}
		if len(holds) != 2 || holds["two_step_method"] == "" || holds["deposit_account"] == "" {
			t.Fatalf("holds: %s", r.Body)
		}
		// The revert email named them.
		var backMail string
		for _, m := range in.Outbox(t) {
			if m.To == "shop@example.com" && strings.Contains(m.Subject, "sign-in email is back") {
				backMail = m.Body
			}
		}
		if !strings.Contains(backMail, "Deposit account •••• 3000 (Mallory, Elsewhere) of Shop") || !strings.Contains(backMail, "Authenticator app") {
			t.Fatalf("the revert email does not list the held items:\n%s", backMail)
		}

		// The owner decides: both go. Each decision is audited and told.
		for _, kind := range []string{"deposit_account", "two_step_method"} {
			r := in.DoWith(t, "POST", "/api/v1/account/holds/"+holds[kind]+"/remove", owner, ownerNet, nil)
			if r.Status != 200 || r.JSON(t)["hold"].(map[string]any)["decision"] != "removed" {
				t.Fatalf("remove %s: %d %s", kind, r.Status, r.Body)
			}
		}
		if r := in.DoWith(t, "POST", "/api/v1/account/holds/"+holds["deposit_account"]+"/confirm", owner, ownerNet, nil); r.Status != 409 {
			t.Fatalf("a decided hold decided again: %d %s", r.Status, r.Body)
		}
		r = in.Do(t, "GET", biz+"/payments", owner, nil)
		if r.Status != 200 || r.JSON(t)["payouts_account"].(map[string]any)["last4"] != "6819" {
			t.Fatalf("payouts after the removal: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "GET", "/api/v1/account/holds", owner, nil); r.Status != 200 || len(r.JSON(t)["holds"].([]any)) != 0 {
			t.Fatalf("holds after deciding: %d %s", r.Status, r.Body)
		}
		r = in.Do(t, "GET", "/api/v1/audit?limit=200", owner, nil)
		for _, action := range []string{"account.email_change_reverted", "business.deposit_account_held", "business.deposit_account_hold_removed", "two_step.hold_removed"} {
			if !strings.Contains(string(r.Body), `"`+action+`"`) {
				t.Fatalf("audit log lacks %s: %s", action, r.Body)
			}
		}
		var told []string
		for _, m := range in.Outbox(t) {
			if m.To == "shop@example.com" && strings.Contains(m.Subject, "held") {
				told = append(told, m.Subject)
			}
		}
		if len(told) < 2 {
			t.Fatalf("decisions told: %v", told)
		}
		// After the revert the intruder's address is nobody's previous one.
		if n := toIntruder(); n != intruderMail {
			t.Fatalf("mail to the intruder's address after the revert: %d more", n-intruderMail)
		}
		if _, err := audit.Verify(t.Context(), in.DB); err != nil {
			t.Fatalf("audit verify: %v", err)
		}
	})
}

var recoveryTokenFieldRE = regexp.MustCompile(`name="recovery_token" value="(sgr_[A-Za-z0-9_-]+)"`)

// sessionCookieOf returns the session token a page answer set.
func sessionCookieOf(t *testing.T, res pageResult) string {
	t.Helper()
	for _, c := range (&http.Response{Header: res.Header}).Cookies() {
		if c.Name == pageSessionCookie && c.Value != "" {
			return c.Value
		}
	}
	t.Fatalf("no session cookie in %v", res.Header)
	return ""
}

// The owner's page flow after the revert code: new password, signed in
// (the second step still asked for, and the intruder's authenticator and
// backup codes refused), Secure my account with the held items; keeping
// and removing each kind; another user cannot touch them.
func TestTakeBackPagesAndDecisions(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect, apptest.Env("SELLERGUARD_TRUSTED_PROXIES", "127.0.0.1"), apptest.Env("SELLERGUARD_PAYOUT_COOLING_OFF", "1h"))
		tk := startTakeover(t, in, takeoverPlan{keepOwnersApp: true, regenerateBackup: true})
		biz := "/api/v1/businesses/" + tk.biz

		res := pageRequest(t, in, "POST", "/signin/revert-email", "", url.Values{"email": {"shop@example.com"}, "code": {strings.ToLower(tk.revert)}})
		m := recoveryTokenFieldRE.FindStringSubmatch(res.body)
		if res.StatusCode != 200 || m == nil {
			t.Fatalf("revert page: %d %s", res.StatusCode, res.body)
		}
		res = pageRequest(t, in, "POST", "/signin/forgot/password", "", url.Values{"recovery_token": {m[1]}, "password": {newPW}})
		if res.StatusCode != 303 || res.Header.Get("Location") != "/signin/second-step?next=%2Faccount%2Fsecure" {
			t.Fatalf("new password: %d %s %s", res.StatusCode, res.Header.Get("Location"), res.body)
		}
		partial := sessionCookieOf(t, res)
		res = pageGet(t, in, "/signin/second-step?next=%2Faccount%2Fsecure", partial)
		if res.StatusCode != 200 || !strings.Contains(res.body, `name="next" value="/account/secure"`) || strings.Contains(res.body, `id="use-backup"`) {
			t.Fatalf("second-step page: %d %s", res.StatusCode, res.body)
		}
		// The held authenticator and the held backup codes do not sign in.
		// (The page offers no backup code: the owner's were replaced.)
		try := url.Values{"method": {"totp"}, "code": {totpNow(t, in, tk.intruderTOTP)}, "next": {"/account/secure"}}
		if res := pageRequest(t, in, "POST", "/signin/second-step", partial, try); res.StatusCode != 400 {
			t.Fatalf("the held authenticator signed in: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		if r := in.Do(t, "POST", "/api/v1/session/second-step", partial, map[string]string{"method": "backup_codes", "code": tk.intruderCodes[0]}); r.Status != 400 {
			t.Fatalf("a held backup code signed in: %d %s", r.Status, r.Body)
		}
		res = pageRequest(t, in, "POST", "/signin/second-step", partial, url.Values{"method": {"totp"}, "code": {totpNow(t, in, tk.ownerTOTP)}, "next": {"/account/secure"}})
		if res.StatusCode != 303 || res.Header.Get("Location") != "/account/secure" {
			t.Fatalf("owner's second step: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		owner := sessionCookieOf(t, res)
		sec := pageGet(t, in, "/account/secure", owner)
		if sec.StatusCode != 200 || !strings.Contains(sec.body, `id="holds"`) {
			t.Fatalf("secure page: %d %s", sec.StatusCode, sec.body)
		}
		for _, want := range []string{"Authenticator app", "A new set of backup codes", "Deposit account •••• 3000 (Mallory, Elsewhere) of Shop"} {
			if !strings.Contains(sec.body, want) {
				t.Fatalf("secure page lacks %q", want)
			}
		}
		if acct := pageGet(t, in, "/account", owner); !strings.Contains(acct.body, `id="holds-waiting"`) {
			t.Fatalf("account page does not point to the held items")
		}
		r := in.Do(t, "GET", "/api/v1/account/holds", owner, nil)
		holds := map[string]string{}
		for _, h := range r.JSON(t)["holds"].([]any) {
			hm := h.(map[string]any)
			holds[hm["kind"].(string)] = hm["id"].(string)
		}
		if len(holds) != 3 {
			t.Fatalf("holds: %s", r.Body)
		}
		// Another user sees none of them and cannot decide them.
		in.SignUp(t, "other@example.com", pw, "Other")
		other := in.SignIn(t, "other@example.com", pw)
		if r := in.Do(t, "GET", "/api/v1/account/holds", other, nil); r.Status != 200 || len(r.JSON(t)["holds"].([]any)) != 0 {
			t.Fatalf("another user's holds: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", "/api/v1/account/holds/"+holds["deposit_account"]+"/confirm", other, nil); r.Status != 404 {
			t.Fatalf("another user's decision: %d %s", r.Status, r.Body)
		}

		// Keep the authenticator (on the page): it steps up again.
		res = pageRequest(t, in, "POST", "/account/holds/"+holds["two_step_method"]+"/confirm", owner, url.Values{})
		if res.StatusCode != 303 || res.Header.Get("Location") != "/account/secure?held=confirm" {
			t.Fatalf("keep on the page: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		in.Clock.Advance(31 * time.Second) // a fresh step for each app
		r = in.Do(t, "POST", "/api/v1/session/reauth", owner, map[string]string{"password": newPW, "method": "totp", "code": totpNow(t, in, tk.intruderTOTP)})
		if r.Status != 200 {
			t.Fatalf("a kept authenticator steps up: %d %s", r.Status, r.Body)
		}
		owner = r.JSON(t)["token"].(string) // a step-up replaces the session
		// Remove the backup codes: none are left, none verify.
		if r := in.Do(t, "POST", "/api/v1/account/holds/"+holds["backup_codes"]+"/remove", owner, nil); r.Status != 200 {
			t.Fatalf("remove backup codes: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "GET", "/api/v1/two-step", owner, nil); r.Status != 200 || r.JSON(t)["backup_codes_left"] != float64(0) || len(r.JSON(t)["methods"].([]any)) != 2 {
			t.Fatalf("two-step after the decisions: %d %s", r.Status, r.Body)
		}
		// Keep the deposit account: payouts go to it (its cooling-off ended).
		if r := in.Do(t, "GET", biz+"/payments", owner, nil); r.JSON(t)["payouts_account"].(map[string]any)["last4"] != "6819" {
			t.Fatalf("payouts while held: %s", r.Body)
		}
		if r := in.Do(t, "POST", "/api/v1/account/holds/"+holds["deposit_account"]+"/confirm", owner, nil); r.Status != 200 || r.JSON(t)["hold"].(map[string]any)["decision"] != "confirmed" {
			t.Fatalf("keep deposit: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "GET", biz+"/payments", owner, nil); r.JSON(t)["payouts_account"].(map[string]any)["last4"] != "3000" {
			t.Fatalf("payouts after keeping: %s", r.Body)
		}
		if r := in.Do(t, "GET", "/api/v1/account/holds", owner, nil); len(r.JSON(t)["holds"].([]any)) != 0 {
			t.Fatalf("holds left: %s", r.Body)
		}
		if _, err := audit.Verify(t.Context(), in.DB); err != nil {
			t.Fatalf("audit verify: %v", err)
		}
	})
}

// copyMarker opens the copy of a critical notice sent to a previous
// sign-in address.
const copyMarker = "A copy for the previous sign-in email"

// mailsWith returns the messages to the address that contain every one
// of the texts.
func (m *mailInstance) mailsWith(t *testing.T, to string, texts ...string) [][]byte {
	t.Helper()
	var out [][]byte
next:
	for _, raw := range m.mailsTo(t, to) {
		for _, s := range texts {
			if !strings.Contains(string(raw), s) {
				continue next
			}
		}
		out = append(out, raw)
	}
	return out
}

// waitMailWith waits for the n-th message to the address that contains
// every one of the texts.
func (m *mailInstance) waitMailWith(t *testing.T, to string, n int, texts ...string) []byte {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if got := m.mailsWith(t, to, texts...); len(got) >= n {
			return got[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message %d to %s with %q (server log: %s)", n, to, texts, m.smtp.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// For 30 days after a sign-in email change, every critical notice also
// reaches the previous address, through a real SMTP server; after that,
// only the current one.
func TestCriticalNoticesReachThePreviousAddress(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		m := startMailInstance(t, dialect)
		tok := m.signUp(t, "old@example.com")
		if r := m.Do(t, "POST", "/api/v1/account/email", tok, map[string]string{"email": "new@example.com"}); r.Status != 202 {
			t.Fatalf("email change: %d %s", r.Status, r.Body)
		}
		code := smtpCodeRE.FindSubmatch(m.waitMail(t, "new@example.com", 1))
		if code == nil {
			t.Fatal("no code at the new address")
		}
		if r := m.Do(t, "POST", "/api/v1/account/email/confirm", tok, map[string]string{"code": string(code[1])}); r.Status != 200 {
			t.Fatalf("confirm: %d %s", r.Status, r.Body)
		}
		m.DrainOutbox(t)

		// A critical notice: new backup codes. It reaches the new address
		// as it is, and the old one as a copy.
		if r := m.Do(t, "POST", "/api/v1/two-step/backup-codes", tok, nil); r.Status != 201 {
			t.Fatalf("backup codes: %d %s", r.Status, r.Body)
		}
		m.DrainOutbox(t)
		const notice = "New backup codes were made"
		orig := m.waitMailWith(t, "new@example.com", 1, notice)
		if strings.Contains(string(orig), copyMarker) {
			t.Fatalf("the notice at the new address is marked as a copy:\n%s", orig)
		}
		m.waitMailWith(t, "old@example.com", 1, notice, copyMarker)

		// Thirty days on, the old address gets no more copies.
		m.Clock.Advance(31 * 24 * time.Hour)
		tok = m.SignIn(t, "new@example.com", pw)
		if r := m.Do(t, "POST", "/api/v1/two-step/backup-codes", tok, nil); r.Status != 201 {
			t.Fatalf("backup codes later: %d %s", r.Status, r.Body)
		}
		m.DrainOutbox(t)
		m.waitMailWith(t, "new@example.com", 2, notice)
		if n := len(m.mailsWith(t, "old@example.com", notice)); n != 1 {
			t.Fatalf("copies to the old address: %d, want 1 (none after 30 days)", n)
		}
	})
}

// An intruder who changed the email twice (A → B → C) holds the revert
// code of the second change, sent to B. Once the owner undoes the first
// change, that code is dead, and neither B nor C gets copies of notices.
func TestRevertEndsLaterEmailChanges(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect, apptest.Env("SELLERGUARD_TRUSTED_PROXIES", "127.0.0.1"))
		in.SignUp(t, "a@example.com", pw, "Shop")
		intr := in.SignIn(t, "a@example.com", pw)
		revertTo := map[string]string{}
		for _, step := range []struct{ from, to string }{{"a@example.com", "b@evil.example"}, {"b@evil.example", "c@evil.example"}} {
			if r := in.DoWith(t, "POST", "/api/v1/account/email", intr, intruderNet, map[string]string{"email": step.to}); r.Status != 202 {
				t.Fatalf("email change to %s: %d %s", step.to, r.Status, r.Body)
			}
			if r := in.DoWith(t, "POST", "/api/v1/account/email/confirm", intr, intruderNet, map[string]string{"code": in.LastCode(t, step.to)}); r.Status != 200 {
				t.Fatalf("confirm %s: %d %s", step.to, r.Status, r.Body)
			}
			for _, m := range in.Outbox(t) {
				if mm := revertRE.FindStringSubmatch(m.Body); mm != nil && m.To == step.from {
					revertTo[step.from] = mm[1]
				}
			}
		}
		r := in.DoWith(t, "POST", "/api/v1/account/email/revert", "", ownerNet, map[string]string{"email": "a@example.com", "code": revertTo["a@example.com"]})
		if r.Status != 200 {
			t.Fatalf("owner's revert: %d %s", r.Status, r.Body)
		}
		rt := r.JSON(t)["recovery_token"].(string)
		if r := in.DoWith(t, "POST", "/api/v1/account/email/revert", "", intruderNet, map[string]string{"email": "b@evil.example", "code": revertTo["b@evil.example"]}); r.Status != 400 {
			t.Fatalf("the intruder undid the owner's undo: %d %s", r.Status, r.Body)
		}
		evil := func() int {
			n := 0
			for _, m := range in.Outbox(t) {
				if strings.HasSuffix(m.To, "@evil.example") {
					n++
				}
			}
			return n
		}
		before := evil()
		// The reset notice is critical: it goes to a@ only.
		if r := in.DoWith(t, "POST", "/api/v1/recovery/password", "", ownerNet, map[string]string{"recovery_token": rt, "password": newPW}); r.Status != 200 {
			t.Fatalf("new password: %d %s", r.Status, r.Body)
		}
		if n := evil(); n != before {
			t.Fatalf("%d notices went to the intruder's addresses after the revert", n-before)
		}
		if r := in.Do(t, "GET", "/api/v1/session", in.SignIn(t, "a@example.com", newPW), nil); r.Status != 200 {
			t.Fatalf("owner's session: %d %s", r.Status, r.Body)
		}
	})
}
