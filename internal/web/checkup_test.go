package web_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sellerguard/sellerguard/internal/account"
	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/breach"
	"github.com/sellerguard/sellerguard/internal/sms"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// checkupOf reads the caller's checkup and returns it with its items by id.
func checkupOf(t *testing.T, in *apptest.Instance, tok string) (map[string]any, map[string]map[string]any) {
	t.Helper()
	r := in.Do(t, "GET", "/api/v1/account/checkup", tok, nil)
	if r.Status != 200 {
		t.Fatalf("checkup: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	items := map[string]map[string]any{}
	for _, it := range m["items"].([]any) {
		item := it.(map[string]any)
		items[item["id"].(string)] = item
	}
	return m, items
}

// notOK lists the ids of the items that are not ok, sorted.
func notOK(items map[string]map[string]any) []string {
	var out []string
	for id, it := range items {
		if it["status"] != "ok" {
			out = append(out, id+"="+it["status"].(string))
		}
	}
	slices.Sort(out)
	return out
}

// A new owner with only an authenticator app needs attention, the backup
// method item first among the things to fix; backup codes, a confirmed
// mobile number and an anti-phishing phrase make them secure. A burst of
// wrong passwords from a network they never signed in from makes them at
// risk until they change their password or say it was them.
func TestCheckupNewOwnerToSecureAndBurstAtRisk(t *testing.T) {
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		gw := &sms.FakeGateway{}
		in := apptest.Start(t, dialect, apptest.SMSGateway(gw), apptest.Env("SELLERGUARD_TRUSTED_PROXIES", "127.0.0.1/32"),
			apptest.Env("SELLERGUARD_LIMIT_NOTIFY_FAILURES", "4"))
		owner, _ := newOwner(t, in, "owner@checkup.example", "Checkup Goods")

		m, items := checkupOf(t, in, owner.token)
		if m["status"] != "needs_attention" {
			t.Fatalf("new owner with an app only: %v (%v)", m["status"], notOK(items))
		}
		backup := items["backup_method"]
		fix := backup["fix"].(map[string]any)
		if backup["status"] != "warning" || fix["route"] != "/api/v1/two-step/backup-codes" || fix["page"] != "/account/two-step" {
			t.Fatalf("backup method item: %v", backup)
		}
		if items["two_step"]["status"] != "ok" || items["password_breached"]["status"] != "ok" || items["recent_events"]["status"] != "ok" {
			t.Fatalf("items of a new owner: %v", notOK(items))
		}
		if got, want := notOK(items), []string{"anti_phishing_phrase=warning", "backup_method=warning", "mobile=warning"}; !slices.Equal(got, want) {
			t.Fatalf("items to fix: %v, want %v", got, want)
		}

		// The fixes, through the routes the items name.
		if r := in.Do(t, "POST", "/api/v1/two-step/backup-codes", owner.token, nil); r.Status != 201 && r.Status != 200 {
			t.Fatalf("backup codes: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", "/api/v1/account/phone", owner.token, map[string]string{"phone": phone}); r.Status != 202 {
			t.Fatalf("phone: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", "/api/v1/account/phone/confirm", owner.token, map[string]string{"code": waitSMS(t, gw, 1)}); r.Status != 200 {
			t.Fatalf("phone confirm: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "PUT", "/api/v1/account/anti-phishing-phrase", owner.token, map[string]string{"phrase": "blue heron at dawn"}); r.Status != 200 {
			t.Fatalf("phrase: %d %s", r.Status, r.Body)
		}
		m, items = checkupOf(t, in, owner.token)
		if m["status"] != "secure" {
			t.Fatalf("after the fixes: %v (%v)", m["status"], notOK(items))
		}

		// Wrong passwords from elsewhere (X-Forwarded-For from the trusted
		// proxy): four in a row alert the owner.
		for range 4 {
			r := in.DoWith(t, "POST", "/api/v1/sessions", "", map[string]string{"X-Forwarded-For": "203.0.113.50"},
				map[string]string{"email": owner.email, "password": "not the password at all"})
			if r.Status != 401 {
				t.Fatalf("wrong password: %d %s", r.Status, r.Body)
			}
		}
		m, items = checkupOf(t, in, owner.token)
		if m["status"] != "at_risk" || items["recent_events"]["status"] != "problem" || items["password_since_incident"]["status"] != "problem" {
			t.Fatalf("after a burst from a new source: %v (%v)", m["status"], notOK(items))
		}
		var burst map[string]any
		for _, e := range m["events"].([]any) {
			if ev := e.(map[string]any); ev["kind"] == "failed_sign_in_burst" {
				burst = ev
			}
		}
		if burst == nil || burst["ip"] != "203.0.113.50" || burst["new_source"] != true || burst["needs_review"] != true {
			t.Fatalf("burst event: %v (events %v)", burst, m["events"])
		}
		// The history shows each change, newest first.
		var hist []string
		for _, h := range m["history"].([]any) {
			hist = append(hist, h.(map[string]any)["status"].(string))
		}
		if !slices.Equal(hist, []string{"at_risk", "secure", "needs_attention"}) {
			t.Fatalf("history %v", hist)
		}

		// Bad input, someone else's event, then "This was me".
		if r := in.Do(t, "POST", "/api/v1/account/checkup/events/not-an-id/ack", owner.token, nil); r.Status != 400 || r.JSON(t)["code"] != "invalid_input" {
			t.Fatalf("malformed event id: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", "/api/v1/account/checkup/events/evt_aaaaaaaaaaaaaaaaaaaaaaaaaa/ack", owner.token, nil); r.Status != 404 {
			t.Fatalf("unknown event: %d %s", r.Status, r.Body)
		}
		other, _ := newOwner(t, in, "other@checkup.example", "Other Goods")
		if r := in.Do(t, "POST", "/api/v1/account/checkup/events/"+burst["id"].(string)+"/ack", other.token, nil); r.Status != 404 {
			t.Fatalf("someone else's event: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", "/api/v1/account/checkup/events/"+burst["id"].(string)+"/ack", owner.token, nil); r.Status != 200 {
			t.Fatalf("ack: %d %s", r.Status, r.Body)
		}
		if m, items = checkupOf(t, in, owner.token); m["status"] != "secure" {
			t.Fatalf("after \"This was me\": %v (%v)", m["status"], notOK(items))
		}
	})
}

// A password found in the breached-password index at sign-in makes the
// person at risk; their checkup answers even while the change is pending.
func TestCheckupBreachedPasswordIsAtRisk(t *testing.T) {
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		sum := sha1.Sum([]byte(pw))
		idx := filepath.Join(t.TempDir(), "breached.idx")
		if _, err := breach.Import(context.Background(), strings.NewReader(fmt.Sprintf("%s:42\n", strings.ToUpper(hex.EncodeToString(sum[:])))), idx, nil); err != nil {
			t.Fatal(err)
		}
		in := apptest.Start(t, dialect, apptest.Env("SELLERGUARD_BREACH_INDEX", idx))
		hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		if err := in.Account.ImportUser(context.Background(), account.ImportedUser{Email: "old@checkup.example", PasswordHash: string(hash), BusinessName: "Old"}, "test"); err != nil {
			t.Fatal(err)
		}
		tok := in.SignIn(t, "old@checkup.example", pw)
		m, items := checkupOf(t, in, tok)
		if m["status"] != "at_risk" || items["password_breached"]["status"] != "problem" || items["password_breached"]["fix"].(map[string]any)["page"] != "/account/password" {
			t.Fatalf("breached password: %v (%v)", m["status"], notOK(items))
		}
	})
}

// joinWithoutTwoStep invites email and lets them join without a second step
// (the business does not require one).
func joinWithoutTwoStep(t *testing.T, in *apptest.Instance, ownerTok, biz, email string, perms map[string]string) *person {
	t.Helper()
	if r := in.Do(t, "POST", "/api/v1/businesses/"+biz+"/invitations", ownerTok, map[string]any{"email": email, "permissions": perms}); r.Status != 201 {
		t.Fatalf("invite %s: %d %s", email, r.Status, r.Body)
	}
	in.Do(t, "POST", "/api/v1/signup", "", map[string]any{"email": email, "password": pw, "joining": true})
	r := in.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": email, "code": in.LastCode(t, email)})
	p := &person{email: email, id: r.JSON(t)["user_id"].(string)}
	p.token = in.SignIn(t, email, pw)
	list := in.Do(t, "GET", "/api/v1/invitations", p.token, nil).JSON(t)["invitations"].([]any)
	if r := in.Do(t, "POST", "/api/v1/invitations/"+list[0].(map[string]any)["id"].(string)+"/accept", p.token, nil); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	return p
}

func emailsOf(item map[string]any) []string {
	var out []string
	list, _ := item["members"].([]any) // absent when empty
	for _, m := range list {
		out = append(out, m.(map[string]any)["email"].(string))
	}
	slices.Sort(out)
	return out
}

// The business checkup lists exactly the members without two-step and the
// members idle for 90 days (test clock), flags an access review older than
// the interval, and is the owner's and user managers' alone. From it, the
// owner ends a member's sessions: the member's next request is refused and
// the member is emailed.
func TestBusinessCheckupAndOwnerActions(t *testing.T) {
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, biz := newOwner(t, in, "owner@biz-checkup.example", "Checkup Traders")
		if r := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/two-step", owner.token, map[string]bool{"required": false}); r.Status != 200 {
			t.Fatalf("lift two-step rule: %d %s", r.Status, r.Body)
		}
		active := joinByInvitation(t, in, owner.token, biz, "active@biz-checkup.example", map[string]string{"listings": "edit"})
		stale := joinByInvitation(t, in, owner.token, biz, "stale@biz-checkup.example", map[string]string{"listings": "view"})
		notwo := joinWithoutTwoStep(t, in, owner.token, biz, "notwo@biz-checkup.example", map[string]string{"storefront": "view"})
		manager := joinByInvitation(t, in, owner.token, biz, "manager@biz-checkup.example", map[string]string{"user_permissions": "edit", "listings": "view"})

		// A completed access review today.
		r := in.Do(t, "POST", "/api/v1/businesses/"+biz+"/access-reviews", owner.token, nil)
		if r.Status != 201 {
			t.Fatalf("start review: %d %s", r.Status, r.Body)
		}
		rid := r.JSON(t)["review"].(map[string]any)["id"].(string)
		var ds []map[string]any
		for _, p := range []*person{active, stale, notwo, manager} {
			ds = append(ds, map[string]any{"user_id": p.id, "action": "keep"})
		}
		if r := in.Do(t, "POST", "/api/v1/businesses/"+biz+"/access-reviews/"+rid+"/decisions", owner.token, map[string]any{"decisions": ds}); r.Status != 200 {
			t.Fatalf("decide: %d %s", r.Status, r.Body)
		}

		in.Clock.Advance(91 * day)
		owner.signInAgain(t, in)
		active.signInAgain(t, in)
		manager.signInAgain(t, in)
		notwo.token = in.SignIn(t, notwo.email, pw)

		r = in.Do(t, "GET", "/api/v1/businesses/"+biz+"/checkup", owner.token, nil)
		if r.Status != 200 {
			t.Fatalf("business checkup: %d %s", r.Status, r.Body)
		}
		rep := r.JSON(t)
		items := map[string]map[string]any{}
		for _, it := range rep["items"].([]any) {
			items[it.(map[string]any)["id"].(string)] = it.(map[string]any)
		}
		if got := emailsOf(items["members_without_two_step"]); !slices.Equal(got, []string{notwo.email}) {
			t.Fatalf("members without two-step: %v", got)
		}
		if got := emailsOf(items["no_sign_in_90"]); !slices.Equal(got, []string{stale.email}) {
			t.Fatalf("no sign-in for 90 days: %v", got)
		}
		if got := emailsOf(items["no_sign_in_30"]); len(got) != 0 {
			t.Fatalf("no sign-in for 30 days: %v", got)
		}
		rev := items["access_review"]
		if rev["status"] != "warning" || rep["days_since_review"].(float64) != 91 || rep["review_interval_days"].(float64) != 90 {
			t.Fatalf("access review item: %v (days %v)", rev, rep["days_since_review"])
		}
		if rev["fix"].(map[string]any)["route"] != "/api/v1/businesses/"+biz+"/access-reviews" {
			t.Fatalf("access review fix: %v", rev["fix"])
		}
		if items["rule_two_step"]["status"] != "warning" || items["rule_backup_method"]["status"] != "warning" {
			t.Fatalf("rules: %v %v", items["rule_two_step"], items["rule_backup_method"])
		}

		// Who may see it.
		if r := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/checkup", manager.token, nil); r.Status != 200 {
			t.Fatalf("user manager: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/checkup", active.token, nil); r.Status != 403 {
			t.Fatalf("member without user_permissions edit: %d %s", r.Status, r.Body)
		}
		other, otherBiz := newOwner(t, in, "other@biz-checkup.example", "Other Traders")
		if r := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/checkup", other.token, nil); r.Status != 404 {
			t.Fatalf("another business's owner: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "GET", "/api/v1/businesses/"+otherBiz+"/checkup", owner.token, nil); r.Status != 404 {
			t.Fatalf("another business: %d %s", r.Status, r.Body)
		}

		// Actions: bad input, the owner, oneself, someone holding more.
		base := "/api/v1/businesses/" + biz + "/members/"
		if r := in.Do(t, "POST", base+"not-a-user/end-sessions", owner.token, nil); r.Status != 400 || r.JSON(t)["code"] != "invalid_input" {
			t.Fatalf("malformed user id: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", base+active.id+"/end-sessions", owner.token, map[string]string{"why": "x"}); r.Status != 400 {
			t.Fatalf("a body with fields: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", base+other.id+"/end-sessions", owner.token, nil); r.Status != 404 {
			t.Fatalf("not a member: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", base+owner.id+"/end-sessions", manager.token, nil); r.Status != 403 {
			t.Fatalf("manager on the owner: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", base+active.id+"/end-sessions", manager.token, nil); r.Status != 403 {
			t.Fatalf("manager on a member holding listings edit: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", base+active.id+"/end-sessions", other.token, nil); r.Status != 404 {
			t.Fatalf("another business's owner acts: %d %s", r.Status, r.Body)
		}

		// The owner ends the active member's sessions.
		r = in.Do(t, "POST", base+active.id+"/end-sessions", owner.token, nil)
		if r.Status != 200 || r.JSON(t)["sessions_ended"].(float64) < 1 {
			t.Fatalf("end sessions: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "GET", "/api/v1/session", active.token, nil); r.Status != 401 {
			t.Fatalf("the member's next request: %d %s", r.Status, r.Body)
		}
		told := false
		for _, msg := range in.Outbox(t) {
			if msg.To == active.email && strings.Contains(msg.Subject, "signed out of SellerGuard everywhere") && strings.Contains(msg.Body, owner.email) {
				told = true
			}
		}
		if !told {
			t.Fatal("the member was not emailed")
		}
		au := in.Do(t, "GET", "/api/v1/audit?business_id="+biz, owner.token, nil)
		if !strings.Contains(string(au.Body), `"business.member_sessions_ended"`) {
			t.Fatalf("no audit event: %s", au.Body)
		}

		// A reminder needs no recent sign-in; the others do.
		in.Clock.Advance(11 * time.Minute)
		if r := in.Do(t, "POST", base+notwo.id+"/remind", owner.token, nil); r.Status != 200 || !slices.Equal(anyStrings(r.JSON(t)["reminder_missing"]), []string{"two_step"}) {
			t.Fatalf("remind: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", base+notwo.id+"/require-password-change", owner.token, nil); r.Status != 403 || r.JSON(t)["code"] != "reauth_required" {
			t.Fatalf("stale owner: %d %s", r.Status, r.Body)
		}
		owner.signInAgain(t, in)
		notwo.token = in.SignIn(t, notwo.email, pw)
		if r := in.Do(t, "POST", base+notwo.id+"/require-password-change", owner.token, nil); r.Status != 200 {
			t.Fatalf("require password change: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "GET", "/api/v1/sessions", notwo.token, nil); r.Status != 403 || r.JSON(t)["code"] != "password_change_required" {
			t.Fatalf("member after the demand: %d %s", r.Status, r.Body)
		}

		// Re-enrolment: the stale member's methods go, business data closes
		// until they set up a second step again.
		stale.signInAgain(t, in)
		r = in.Do(t, "POST", base+stale.id+"/require-two-step-reenrolment", owner.token, nil)
		if r.Status != 200 || r.JSON(t)["methods_removed"].(float64) != 1 {
			t.Fatalf("require re-enrolment: %d %s", r.Status, r.Body)
		}
		tok := in.SignIn(t, stale.email, pw) // no second step any more
		if r := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/listings", tok, nil); r.Status != 403 || r.JSON(t)["code"] != "two_step_enrollment_required" {
			t.Fatalf("business data before re-enrolment: %d %s", r.Status, r.Body)
		}
		in.EnrollTOTP(t, tok)
		if r := in.Do(t, "GET", "/api/v1/businesses/"+biz+"/listings", tok, nil); r.Status != 200 {
			t.Fatalf("business data after re-enrolment: %d %s", r.Status, r.Body)
		}
	})
}

// The rule "a backup method is required": off by default; when the owner
// turns it on, a member with one second-step method is asked to add one at
// sign-in and cannot change payment information until they have.
func TestBackupMethodRule(t *testing.T) {
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, biz := newOwner(t, in, "owner@backup-rule.example", "Backup Rules")
		payer := joinByInvitation(t, in, owner.token, biz, "payer@backup-rule.example", map[string]string{"payments": "edit"})
		deposit := map[string]string{"holder": "Backup Rules Ltd", "bank": "Example Bank", "account_number": "12345678"}
		if r := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/backup-method-rule", owner.token, map[string]any{}); r.Status != 400 || r.JSON(t)["code"] != "invalid_input" {
			t.Fatalf("missing required: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/backup-method-rule", payer.token, map[string]bool{"required": true}); r.Status != 403 {
			t.Fatalf("a member sets the rule: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/backup-method-rule", owner.token, map[string]bool{"required": true}); r.Status != 200 {
			t.Fatalf("set the rule: %d %s", r.Status, r.Body)
		}
		partial := in.SignIn(t, payer.email, pw)
		code, err := twostep.TOTPCode(payer.secret, twostep.Step(in.Clock.Now())+1)
		if err != nil {
			t.Fatal(err)
		}
		r := in.Do(t, "POST", "/api/v1/session/second-step", partial, map[string]string{"method": "totp", "code": code})
		if r.Status != 200 || r.JSON(t)["add_backup_method"] != true {
			t.Fatalf("second step under the rule: %d %s", r.Status, r.Body)
		}
		payer.token = r.JSON(t)["token"].(string)
		r = in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/payments/deposit-account", payer.token, deposit)
		if r.Status != 403 || r.JSON(t)["code"] != "backup_method_required" {
			t.Fatalf("deposit account without a backup: %d %s", r.Status, r.Body)
		}

		// A browser trusted at the second step signs in in one step, and
		// that answer asks for the backup method as well.
		signIn := func(email, device string) map[string]any {
			t.Helper()
			r := in.DoWith(t, "POST", "/api/v1/sessions", "", map[string]string{"Cookie": "sg_device=" + device}, map[string]string{"email": email, "password": pw})
			if r.Status != 201 {
				t.Fatalf("sign-in of %s: %d %s", email, r.Status, r.Body)
			}
			return r.JSON(t)
		}
		first := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": payer.email, "password": pw})
		var device string
		for _, c := range (&http.Response{Header: first.Header}).Cookies() {
			if c.Name == "sg_device" {
				device = c.Value
			}
		}
		in.Clock.Advance(30 * time.Second) // a new code: the last one was used
		code, err = twostep.TOTPCode(payer.secret, twostep.Step(in.Clock.Now())+1)
		if err != nil {
			t.Fatal(err)
		}
		if r := in.DoWith(t, "POST", "/api/v1/session/second-step", first.JSON(t)["token"].(string), map[string]string{"Cookie": "sg_device=" + device},
			map[string]any{"method": "totp", "code": code, "remember_browser": true}); r.Status != 200 || device == "" {
			t.Fatalf("second step, trusting the browser %q: %d %s", device, r.Status, r.Body)
		}
		if m := signIn(payer.email, device); m["second_step_required"] != nil || m["add_backup_method"] != true {
			t.Fatalf("the trusted browser's sign-in under the rule: %v", m)
		}
		// The owner's second step has no backup either, but the owner
		// signs in from an untrusted browser: the second step comes first.
		if m := signIn(owner.email, device); m["second_step_required"] != true || m["add_backup_method"] != nil {
			t.Fatalf("the owner's sign-in: %v", m)
		}

		if r := in.Do(t, "POST", "/api/v1/two-step/backup-codes", payer.token, nil); r.Status != 201 && r.Status != 200 {
			t.Fatalf("backup codes: %d %s", r.Status, r.Body)
		}
		if m := signIn(payer.email, device); m["second_step_required"] != nil || m["add_backup_method"] != nil {
			t.Fatalf("the trusted browser's sign-in with a backup: %v", m)
		}
		if r := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/payments/deposit-account", payer.token, deposit); r.Status != 201 && r.Status != 200 {
			t.Fatalf("deposit account with a backup: %d %s", r.Status, r.Body)
		}
	})
}

// The checkup pages: the business page lists a member with the actions, a
// reminder from it reaches the member, an action that needs a recent
// sign-in goes through the re-authentication page, and a member without
// user_permissions edit is refused.
func TestCheckupPages(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	owner, biz := newOwner(t, in, "owner@checkup-pages.example", "Page Goods")
	member := joinByInvitation(t, in, owner.token, biz, "member@checkup-pages.example", map[string]string{"listings": "view"})

	acct := pageGet(t, in, "/account", owner.token)
	if acct.StatusCode != 200 || !strings.Contains(acct.body, `id="checkup-card" data-status="needs_attention"`) ||
		!strings.Contains(acct.body, `href="/account/business/checkup?business_id=`+biz+`"`) {
		t.Fatalf("account page card: %d", acct.StatusCode)
	}
	mine := pageGet(t, in, "/account/checkup", owner.token)
	if mine.StatusCode != 200 || !strings.Contains(mine.body, `id="item-backup_method" class="checkup-item warning"`) ||
		!strings.Contains(mine.body, `<svg class="chart" id="signin-chart"`) || !strings.Contains(mine.body, `href="/account/sessions"`) {
		t.Fatalf("checkup page: %d\n%s", mine.StatusCode, mine.body)
	}
	// "Secure my account" leads to the guided flow, which exists.
	if !strings.Contains(mine.body, `href="/account/secure"`) {
		t.Fatal("the checkup page does not lead to Secure my account")
	}
	if r := pageGet(t, in, "/account/secure", owner.token); r.StatusCode != 200 {
		t.Fatalf("the Secure my account page it links to: %d", r.StatusCode)
	}

	page := "/account/business/checkup?business_id=" + biz
	pg := pageGet(t, in, page, owner.token)
	button := `id="remind-` + member.id + `-members_without_backup"`
	if pg.StatusCode != 200 || !strings.Contains(pg.body, button) || !strings.Contains(pg.body, member.email) {
		t.Fatalf("business checkup page: %d\n%s", pg.StatusCode, pg.body)
	}
	form := url.Values{"business_id": {biz}, "user_id": {member.id}, "action": {"remind"}}
	if r := pageRequest(t, in, "POST", "/account/business/checkup", owner.token, form); r.StatusCode != 303 || r.Header.Get("Location") != page+"&done=remind" {
		t.Fatalf("remind from the page: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	reminded := false
	for _, m := range in.Outbox(t) {
		if m.To == member.email && m.Subject == "A reminder to secure your SellerGuard account" && strings.Contains(m.Body, "backup") {
			reminded = true
		}
	}
	if !reminded {
		t.Fatal("no reminder reached the member")
	}
	in.Clock.Advance(11 * time.Minute)
	form.Set("action", "end-sessions")
	if r := pageRequest(t, in, "POST", "/account/business/checkup", owner.token, form); r.StatusCode != 303 || r.Header.Get("Location") != "/account/reauth?next=%2Faccount%2Fbusiness%2Fcheckup" {
		t.Fatalf("end sessions with a stale sign-in: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	form.Set("action", "delete-everything")
	if r := pageRequest(t, in, "POST", "/account/business/checkup", owner.token, form); r.StatusCode != 400 {
		t.Fatalf("unknown action: %d", r.StatusCode)
	}
	member.signInAgain(t, in)
	if r := pageGet(t, in, "/account/business/checkup?business_id="+biz, member.token); r.StatusCode != 403 {
		t.Fatalf("member without user_permissions edit: %d", r.StatusCode)
	}
}
