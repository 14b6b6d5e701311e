package web_test

import (
	"testing"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// "Sign out everywhere else" (and ending one other session from the list)
// tells the user, by an email that cannot be switched off: if it was an
// attacker in their session, the owner learns of it. Ending one's own
// session tells nothing.
func TestEndingOtherSessionsTellsTheUser(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	const email, pw = "ends@example.com", "correct horse battery staple"
	in.SignUp(t, email, pw, "Ends Co")
	const subject = "Your other SellerGuard sessions were signed out"
	a := in.SignIn(t, email, pw)
	in.SignIn(t, email, pw)
	in.SignIn(t, email, pw)
	if r := in.Do(t, "PUT", "/api/v1/notifications/security.sessions_ended_by_other", a, map[string]any{"email": false}); r.Status != 400 {
		t.Fatalf("switching the notice off: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "POST", "/api/v1/sessions/revoke-others", a, nil); r.Status != 200 {
		t.Fatalf("revoke-others: %d %s", r.Status, r.Body)
	}
	if n := notifCount(t, in, email, subject); n != 1 {
		t.Fatalf("notices after signing out everywhere else: %d, want 1", n)
	}
	in.SignIn(t, email, pw) // another session, ended from the list below
	list := in.Do(t, "GET", "/api/v1/sessions", a, nil).JSON(t)["sessions"].([]any)
	for _, s := range list {
		if s := s.(map[string]any); s["current"] != true {
			if r := in.Do(t, "DELETE", "/api/v1/sessions/"+s["id"].(string), a, nil); r.Status != 204 && r.Status != 200 {
				t.Fatalf("ending one other session: %d %s", r.Status, r.Body)
			}
		}
	}
	if n := notifCount(t, in, email, subject); n != 2 {
		t.Fatalf("notices after ending one other session: %d, want 2", n)
	}
	if r := in.Do(t, "DELETE", "/api/v1/session", a, nil); r.Status >= 300 {
		t.Fatalf("sign out: %d", r.Status)
	}
	if n := notifCount(t, in, email, subject); n != 2 {
		t.Fatalf("signing out of one's own session told the user: %d notices", n)
	}
}
