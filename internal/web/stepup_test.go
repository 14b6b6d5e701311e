package web_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// A step-up never upgrades the session that asked (ASVS 7.2.4): after a
// re-authentication or a password change the token sent with it answers
// 401, never gains the recent-sign-in window, and the new token in the
// answer (or the new cookie on the pages) has it.
func TestStepUpReplacesTheSession(t *testing.T) {
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		const email, pw = "stepup@example.com", "granite swallow over the weir"
		in.SignUp(t, email, pw, "Step Up Supplies")
		phrase := func(tok, p string) int {
			return in.Do(t, "PUT", "/api/v1/account/anti-phishing-phrase", tok, map[string]string{"phrase": p}).Status
		}
		captured := in.SignIn(t, email, pw)
		in.Clock.Advance(11 * time.Minute)
		if st := phrase(captured, "blue kettle at noon"); st != 403 {
			t.Fatalf("a stale session changed the phrase: %d", st)
		}

		// Re-authentication through the API.
		r := in.Do(t, "POST", "/api/v1/session/reauth", captured, map[string]string{"password": pw})
		if r.Status != 200 {
			t.Fatalf("reauth: %d %s", r.Status, r.Body)
		}
		m := r.JSON(t)
		next, _ := m["token"].(string)
		sess, _ := m["session"].(map[string]any)
		if next == "" || next == captured || sess["id"] == nil || sess["current"] != true {
			t.Fatalf("reauth answer has no new session: %s", r.Body)
		}
		if r.Header.Get("Set-Cookie") != "" {
			t.Errorf("a bearer client got a cookie: %q", r.Header.Get("Set-Cookie"))
		}
		if st := in.Do(t, "GET", "/api/v1/session", captured, nil).Status; st != 401 {
			t.Fatalf("the token from before reauth: %d, want 401", st)
		}
		if st := phrase(captured, "blue kettle at noon"); st != 401 {
			t.Fatalf("the token from before reauth changed the phrase: %d, want 401", st)
		}
		if st := phrase(next, "blue kettle at noon"); st != 200 {
			t.Fatalf("the new token within the window: %d, want 200", st)
		}
		// Re-authenticating again with the dead token is not a way back.
		if st := in.Do(t, "POST", "/api/v1/session/reauth", captured, map[string]string{"password": pw}).Status; st != 401 {
			t.Fatalf("reauth with the dead token: %d, want 401", st)
		}
		// Still one session: the old one ended, it was not kept beside.
		if list := in.Do(t, "GET", "/api/v1/sessions", next, nil).JSON(t); len(list["sessions"].([]any)) != 1 {
			t.Fatalf("sessions after reauth: %v", list)
		}

		// A password change replaces the session too, keeping its window.
		const pw2, pw3 = "lichen ladder beside the mill", "otter lantern under frost"
		r = in.Do(t, "POST", "/api/v1/account/password", next, map[string]string{"current_password": pw, "new_password": pw2})
		if r.Status != 200 {
			t.Fatalf("password change: %d %s", r.Status, r.Body)
		}
		afterChange, _ := r.JSON(t)["token"].(string)
		if afterChange == "" || afterChange == next {
			t.Fatalf("password change answer has no new token: %s", r.Body)
		}
		if st := in.Do(t, "GET", "/api/v1/session", next, nil).Status; st != 401 {
			t.Fatalf("the token from before the password change: %d, want 401", st)
		}
		if st := phrase(afterChange, "green kettle at dusk"); st != 200 {
			t.Fatalf("the token after the password change: %d, want 200", st)
		}
		// It is not a way to stretch the window: it ends when the
		// re-authentication's would have.
		in.Clock.Advance(10*time.Minute + time.Second)
		if st := phrase(afterChange, "red kettle at dawn"); st != 403 {
			t.Fatalf("the window after the password change outlived the re-authentication: %d", st)
		}

		// The pages: the old cookie stops working, the new one carries on.
		cookie := afterChange
		pg := pageRequest(t, in, "POST", "/account/reauth", cookie, url.Values{"next": {"/account"}, "password": {pw2}})
		if pg.StatusCode != http.StatusSeeOther || pg.Header.Get("Location") != "/account" {
			t.Fatalf("reauth page: %d %q", pg.StatusCode, pg.Header.Get("Location"))
		}
		newCookie := newSessionCookie(t, pg.Header)
		if g := pageGet(t, in, "/account", cookie); g.StatusCode != http.StatusSeeOther || g.Header.Get("Location") != "/signin" {
			t.Fatalf("the cookie from before reauth: %d to %q, want the sign-in page", g.StatusCode, g.Header.Get("Location"))
		}
		if g := pageGet(t, in, "/account", newCookie); g.StatusCode != http.StatusOK {
			t.Fatalf("the new cookie: %d", g.StatusCode)
		}
		pg = pageRequest(t, in, "POST", "/account/password", newCookie, url.Values{"current_password": {pw2}, "new_password": {pw3}})
		if pg.StatusCode != http.StatusSeeOther || pg.Header.Get("Location") != "/account/password?done=0" {
			t.Fatalf("password page: %d %q", pg.StatusCode, pg.Header.Get("Location"))
		}
		afterPage := newSessionCookie(t, pg.Header)
		if g := pageGet(t, in, "/account", newCookie); g.StatusCode != http.StatusSeeOther || g.Header.Get("Location") != "/signin" {
			t.Fatalf("the cookie from before the password change: %d to %q", g.StatusCode, g.Header.Get("Location"))
		}
		if g := pageGet(t, in, "/account/password?done=0", afterPage); g.StatusCode != http.StatusOK {
			t.Fatalf("the cookie after the password change: %d", g.StatusCode)
		}

		// A page's own script (cookie, no bearer token) gets the new cookie
		// from the API, the same token as in the body.
		in.Clock.Advance(11 * time.Minute)
		r = in.DoWith(t, "POST", "/api/v1/session/reauth", "", map[string]string{"Cookie": pageSessionCookie + "=" + afterPage}, map[string]string{"password": pw3})
		if r.Status != 200 {
			t.Fatalf("cookie reauth: %d %s", r.Status, r.Body)
		}
		if got, want := newSessionCookie(t, r.Header), r.JSON(t)["token"]; got != want {
			t.Fatalf("cookie %q, token in the body %q", got, want)
		}
		if st := in.Do(t, "GET", "/api/v1/session", afterPage, nil).Status; st != 401 {
			t.Fatalf("the cookie's token from before: %d, want 401", st)
		}
	})
}
