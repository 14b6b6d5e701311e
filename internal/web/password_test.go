package web_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sellerguard/sellerguard/internal/account"
	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/breach"
)

const pw2 = "violet orchard under snowfall"

func TestChangePasswordEndsOtherSessionsAndRefusesReuse(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		in.SignUp(t, "change@example.com", pw, "Change Co")
		a := in.SignIn(t, "change@example.com", pw)
		b := in.SignIn(t, "change@example.com", pw)
		// Wrong current password: refused, nothing changes.
		r := in.Do(t, "POST", "/api/v1/account/password", a, map[string]string{"current_password": "not it at all", "new_password": pw2})
		if r.Status != 400 || !strings.Contains(string(r.Body), "current_password") {
			t.Fatalf("wrong current password: %d %s", r.Status, r.Body)
		}
		// Policy: every reason at once, with codes.
		r = in.Do(t, "POST", "/api/v1/account/password", a, map[string]string{"current_password": pw, "new_password": "Change Co 2024"})
		if r.Status != 400 || r.JSON(t)["code"] != "password_policy" || !strings.Contains(string(r.Body), "contains_business") {
			t.Fatalf("weak new password: %d %s", r.Status, r.Body)
		}
		r = in.Do(t, "POST", "/api/v1/account/password", a, map[string]string{"current_password": pw, "new_password": pw})
		if r.Status != 400 || !strings.Contains(string(r.Body), `"reused"`) {
			t.Fatalf("same password again: %d %s", r.Status, r.Body)
		}
		r = in.Do(t, "POST", "/api/v1/account/password", a, map[string]string{"current_password": pw, "new_password": pw2})
		if r.Status != 200 || r.JSON(t)["other_sessions_ended"] != float64(1) {
			t.Fatalf("change: %d %s", r.Status, r.Body)
		}
		// The other session ends on its very next request; this one is
		// replaced by a new one (new token), so a captured token dies too.
		next, _ := r.JSON(t)["token"].(string)
		if r := in.Do(t, "GET", "/api/v1/session", b, nil); r.Status != 401 {
			t.Fatalf("other session after the change: %d", r.Status)
		}
		if r := in.Do(t, "GET", "/api/v1/session", a, nil); r.Status != 401 {
			t.Fatalf("this session's old token after the change: %d", r.Status)
		}
		if r := in.Do(t, "GET", "/api/v1/session", next, nil); r.Status != 200 {
			t.Fatalf("the new token after the change: %d", r.Status)
		}
		// The old password no longer signs in; the new one does; going back is refused.
		if r := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("change@example.com", pw, "")); r.Status != 401 {
			t.Fatalf("old password: %d", r.Status)
		}
		c := in.SignIn(t, "change@example.com", pw2)
		r = in.Do(t, "POST", "/api/v1/account/password", c, map[string]string{"current_password": pw2, "new_password": pw})
		if r.Status != 400 || !strings.Contains(string(r.Body), `"reused"`) {
			t.Fatalf("back to the previous password: %d %s", r.Status, r.Body)
		}
		// Told by email; audited.
		found := false
		for _, m := range in.Outbox(t) {
			found = found || strings.Contains(m.Subject, "password was changed")
		}
		if !found {
			t.Fatal("no notification of the change")
		}
		// Needs a recent sign-in.
		in.Clock.Advance(11 * time.Minute)
		if r := in.Do(t, "POST", "/api/v1/account/password", c, map[string]string{"current_password": pw2, "new_password": "amber lighthouse keeps watch"}); r.Status != 403 || r.JSON(t)["code"] != "reauth_required" {
			t.Fatalf("without a recent sign-in: %d %s", r.Status, r.Body)
		}
	})
}

// A password set in decomposed form signs in when typed composed.
func TestNFKCPasswordsSignIn(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	decomposed := "cre\u0300me bru\u0302le\u0301e avec cafe\u0301 noir"
	composed := "cr\u00e8me br\u00fbl\u00e9e avec caf\u00e9 noir"
	in.SignUp(t, "nfkc@example.com", decomposed, "NFKC")
	if r := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("nfkc@example.com", composed, "")); r.Status != 201 {
		t.Fatalf("composed form: %d %s", r.Status, r.Body)
	}
}

func TestPublicFactsAndCommonPasswordsAreRefusedAtSignup(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	for _, c := range []struct{ email, password, business, phone, code string }{
		{"jane.smith@example.com", "jane.smith is the best 1", "Jane Store", "", "contains_email"},
		{"j@example.com", "Acme Widgets 2024!", "Acme Widgets", "", "contains_business"},
		{"k@example.com", "my number 4155550123 rocks", "K", "+1 415 555 0123", "contains_phone"},
		{"l@example.com", "Password123!", "L", "", "common"},
	} {
		body := map[string]string{"email": c.email, "password": c.password, "business_name": c.business}
		if c.phone != "" {
			body["phone"] = c.phone
		}
		r := in.Do(t, "POST", "/api/v1/signup", "", body)
		if r.Status != 400 || !strings.Contains(string(r.Body), `"`+c.code+`"`) {
			t.Errorf("%s: %d %s", c.password, r.Status, r.Body)
		}
	}
	r := in.Do(t, "POST", "/api/v1/password/check", "", map[string]string{"password": "quiet pebbles drift over amber hills"})
	if m := r.JSON(t); r.Status != 200 || m["accepted"] != true || m["score"].(float64) < 3 {
		t.Fatalf("check of a good passphrase: %d %s", r.Status, r.Body)
	}
}

// A password found in the breached-password index must be changed before
// anything else; a business's maximum age does the same.
func TestBreachedAndExpiredPasswordsMustChangeFirst(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sum := sha1.Sum([]byte(pw))
	file := fmt.Sprintf("%s:42\n%s:7\n", strings.ToUpper(hex.EncodeToString(sum[:])), strings.Repeat("A", 40))
	idx := filepath.Join(dir, "breached.idx")
	if _, err := breach.Import(context.Background(), strings.NewReader(file), idx, nil); err != nil {
		t.Fatal(err)
	}
	in := apptest.Start(t, "sqlite", apptest.Env("SELLERGUARD_BREACH_INDEX", idx))
	// Sign-up refuses the breached password outright.
	r := in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": "breach@example.com", "password": pw, "business_name": "Breach"})
	if r.Status != 400 || !strings.Contains(string(r.Body), `"breached"`) {
		t.Fatalf("breached password at sign-up: %d %s", r.Status, r.Body)
	}
	// An account that already has it (from before the index knew it, here
	// imported from another system with a bcrypt hash).
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Account.ImportUser(context.Background(), account.ImportedUser{Email: "old@example.com", PasswordHash: string(hash), BusinessName: "Old"}, "test"); err != nil {
		t.Fatal(err)
	}
	r = in.Do(t, "POST", "/api/v1/sessions", "", signInBody("old@example.com", pw, ""))
	if r.Status != 201 || r.JSON(t)["password_change_required"] != "breached" {
		t.Fatalf("sign-in with a breached password: %d %s", r.Status, r.Body)
	}
	tok := r.JSON(t)["token"].(string)
	for _, route := range [][2]string{{"GET", "/api/v1/sessions"}, {"GET", "/api/v1/two-step"}, {"GET", "/api/v1/audit"}} {
		if r := in.Do(t, route[0], route[1], tok, nil); r.Status != 403 || r.JSON(t)["code"] != "password_change_required" {
			t.Errorf("%s %s before the change: %d %s", route[0], route[1], r.Status, r.Body)
		}
	}
	if r := in.Do(t, "GET", "/api/v1/session", tok, nil); r.Status != 200 || r.JSON(t)["password"].(map[string]any)["must_change"] != "breached" {
		t.Fatalf("session before the change: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "POST", "/api/v1/account/password", tok, map[string]string{"current_password": pw, "new_password": "sunlit harbour of quiet ships"}); r.Status != 200 {
		t.Fatalf("change: %d %s", r.Status, r.Body)
	} else {
		tok = r.JSON(t)["token"].(string) // the change replaced the session
	}
	if r := in.Do(t, "GET", "/api/v1/sessions", tok, nil); r.Status != 200 {
		t.Fatalf("after the change: %d %s", r.Status, r.Body)
	}
	// The bcrypt hash was upgraded at that first sign-in, then replaced.
	u, _ := in.DB.FindUserByEmail(context.Background(), "old@example.com")
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("hash %q", u.PasswordHash[:10])
	}

	// A business's maximum age: past it, the password must change first.
	biz := in.Do(t, "GET", "/api/v1/session", tok, nil).JSON(t)["memberships"].([]any)[0].(map[string]any)["business_id"].(string)
	if r := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/password-rules", tok, map[string]any{"max_age_days": 30, "strict": false}); r.Status != 200 {
		t.Fatalf("rules: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/password-rules", tok, map[string]any{"max_age_days": 5, "strict": false}); r.Status != 400 {
		t.Fatalf("a 5-day maximum: %d", r.Status)
	}
	rulesTold := 0
	for _, m := range in.Outbox(t) {
		if strings.Contains(m.Subject, "Password rules changed") {
			rulesTold++
		}
	}
	if rulesTold != 1 {
		t.Fatalf("%d notices of the rule change (one accepted, one refused)", rulesTold)
	}
	in.Clock.Advance(31 * 24 * time.Hour)
	r = in.Do(t, "POST", "/api/v1/sessions", "", signInBody("old@example.com", "sunlit harbour of quiet ships", ""))
	if r.Status != 201 || r.JSON(t)["password_change_required"] != "expired" {
		t.Fatalf("sign-in past the maximum age: %d %s", r.Status, r.Body)
	}
}

// Users due for a reminder get one email, once per password.
func TestPasswordAgeReminders(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "remind@example.com", pw, "Remind")
	if n, err := in.Account.SendPasswordReminders(context.Background()); err != nil || n != 0 {
		t.Fatalf("fresh password reminded: %d %v", n, err)
	}
	in.Clock.Advance(181 * 24 * time.Hour)
	if n, err := in.Account.SendPasswordReminders(context.Background()); err != nil || n != 1 {
		t.Fatalf("old password: %d %v", n, err)
	}
	if n, _ := in.Account.SendPasswordReminders(context.Background()); n != 0 {
		t.Fatal("reminded twice for one password")
	}
	msgs := in.Outbox(t)
	if last := msgs[len(msgs)-1]; !strings.Contains(last.Subject, "new SellerGuard password") || !strings.Contains(last.Body, "181 days old") {
		t.Fatalf("reminder: %+v", last)
	}
}

// The live check of a signed-in user knows their email and businesses, so
// the meter agrees with the change it will be asked to make.
func TestPasswordCheckUsesTheSignedInUsersFacts(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "facts@example.com", pw, "Harbour Lights")
	tok := in.SignIn(t, "facts@example.com", pw)
	anon := in.Do(t, "POST", "/api/v1/password/check", "", map[string]string{"password": "Harbour Lights beyond 2024"})
	mine := in.Do(t, "POST", "/api/v1/password/check", tok, map[string]string{"password": "Harbour Lights beyond 2024"})
	if strings.Contains(string(anon.Body), "contains_business") || !strings.Contains(string(mine.Body), "contains_business") {
		t.Fatalf("anonymous %s / signed in %s", anon.Body, mine.Body)
	}
}
