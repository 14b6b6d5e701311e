package app_test

import (
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// The session a re-authentication or a password change replaces is refused
// by every instance, although another instance had it cached; the new token
// works there at once.
func TestStepUpReachesEveryInstance(t *testing.T) {
	dbURL := apptest.DatabaseURL(t, "postgres")
	a := apptest.Start(t, "", apptest.Env("SELLERGUARD_DATABASE_URL", dbURL))
	b := apptest.Start(t, "", apptest.Env("SELLERGUARD_DATABASE_URL", dbURL))
	const email, pw = "stepup@example.com", "correct horse battery staple"
	a.SignUp(t, email, pw, "Step")
	old := a.SignIn(t, email, pw)
	waitCacheLive(t, b, old)
	refusedOnB := func(tok, what string) {
		t.Helper()
		start := time.Now()
		for b.Do(t, "GET", "/api/v1/session", tok, nil).Status != 401 {
			if time.Since(start) > time.Second {
				t.Fatalf("instance b still accepts the session replaced by %s after %v", what, time.Since(start))
			}
		}
		t.Logf("instance b refused the session replaced by %s %v after the commit", what, time.Since(start))
	}
	for range 3 { // cached on b now
		if r := b.Do(t, "GET", "/api/v1/session", old, nil); r.Status != 200 {
			t.Fatalf("before: %d", r.Status)
		}
	}
	r := a.Do(t, "POST", "/api/v1/session/reauth", old, map[string]string{"password": pw})
	if r.Status != 200 {
		t.Fatalf("reauth: %d %s", r.Status, r.Body)
	}
	refusedOnB(old, "re-authentication")
	next := r.JSON(t)["token"].(string)
	if r := b.Do(t, "GET", "/api/v1/session", next, nil); r.Status != 200 {
		t.Fatalf("the new token on b: %d", r.Status)
	}
	r = a.Do(t, "POST", "/api/v1/account/password", next, map[string]string{"current_password": pw, "new_password": "violet orchard under snowfall"})
	if r.Status != 200 {
		t.Fatalf("password change: %d %s", r.Status, r.Body)
	}
	refusedOnB(next, "the password change")
	if r := b.Do(t, "GET", "/api/v1/session", r.JSON(t)["token"].(string), nil); r.Status != 200 {
		t.Fatalf("the token after the password change on b: %d", r.Status)
	}
}
