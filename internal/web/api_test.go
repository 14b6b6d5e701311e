package web_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

const pw = "correct horse battery staple"

func TestAPISignupToSignout(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		r := in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": "Owner@Example.com", "password": pw, "business_name": "Owner Goods", "phone": "+44 7400 123456"})
		if r.Status != 202 {
			t.Fatalf("signup: %d %s", r.Status, r.Body)
		}
		// Before verification nobody can sign in.
		if r := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": "owner@example.com", "password": pw}); r.Status != 401 {
			t.Fatalf("sign-in before verification: %d", r.Status)
		}
		code := in.LastCode(t, "Owner@Example.com")
		r = in.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": "OWNER@example.com", "code": code})
		if r.Status != 201 {
			t.Fatalf("verify: %d %s", r.Status, r.Body)
		}
		ids := r.JSON(t)
		if !strings.HasPrefix(ids["user_id"].(string), "usr_") || !strings.HasPrefix(ids["business_id"].(string), "biz_") {
			t.Fatalf("ids = %v", ids)
		}
		// The code is single-use.
		if r := in.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": "owner@example.com", "code": code}); r.Status != 400 {
			t.Fatalf("code reused: %d", r.Status)
		}
		r = in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": " owner@EXAMPLE.com ", "password": pw})
		if r.Status != 201 {
			t.Fatalf("sign-in: %d %s", r.Status, r.Body)
		}
		m := r.JSON(t)
		token := m["token"].(string)
		if len(token) < 40 || m["session"].(map[string]any)["expires_at"] == nil {
			t.Fatalf("sign-in answer = %v", m)
		}
		r = in.Do(t, "GET", "/api/v1/session", token, nil)
		if r.Status != 200 {
			t.Fatalf("session: %d %s", r.Status, r.Body)
		}
		s := r.JSON(t)
		user := s["user"].(map[string]any)
		if user["id"] != ids["user_id"] || user["email"] != "Owner@Example.com" {
			t.Fatalf("user = %v", user)
		}
		ms := s["memberships"].([]any)
		if len(ms) != 1 || ms[0].(map[string]any)["business_id"] != ids["business_id"] || ms[0].(map[string]any)["role"] != "owner" {
			t.Fatalf("memberships = %v", ms)
		}
		if r := in.Do(t, "DELETE", "/api/v1/session", token, nil); r.Status != 204 {
			t.Fatalf("sign-out: %d", r.Status)
		}
		r = in.Do(t, "GET", "/api/v1/session", token, nil)
		if r.Status != 401 || r.JSON(t)["code"] != "unauthenticated" || r.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("after sign-out: %d %s", r.Status, r.Body)
		}
		// The welcome email went out after verification, and no email holds a sign-in link.
		msgs := in.Outbox(t)
		if len(msgs) != 2 || !strings.Contains(msgs[1].Subject, "ready") {
			t.Fatalf("outbox = %+v", msgs)
		}
		for _, msg := range msgs {
			if !strings.Contains(msg.Body, "never ask you for your password or a code") {
				t.Errorf("email %q lacks the safety footer", msg.Subject)
			}
		}
	})
}

func TestSignupDoesNotRevealRegisteredEmails(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "taken@example.com", pw, "Taken Ltd")
	fresh := in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": "fresh@example.com", "password": pw, "business_name": "Fresh"})
	taken := in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": "TAKEN@example.com", "password": pw, "business_name": "Attacker"})
	if fresh.Status != 202 || taken.Status != 202 || !bytes.Equal(fresh.Body, taken.Body) {
		t.Fatalf("answers differ: %d %s / %d %s", fresh.Status, fresh.Body, taken.Status, taken.Body)
	}
	msgs := in.Outbox(t)
	last := msgs[len(msgs)-1]
	if last.To != "taken@example.com" || !strings.Contains(last.Subject, "tried to sign up") || strings.Contains(last.Body, "code is") {
		t.Fatalf("the owner of the taken address got %+v", last)
	}
	// No second account and no way to verify one.
	r := in.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": "taken@example.com", "code": "000000"})
	if r.Status != 400 || r.JSON(t)["code"] != "invalid_code" {
		t.Fatalf("verify on a taken address: %d %s", r.Status, r.Body)
	}
}

func TestSignInFailuresAreIndistinguishable(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "known@example.com", pw, "Known")
	wrong := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": "known@example.com", "password": "not the password at all"})
	unknown := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": "unknown@example.com", "password": "not the password at all"})
	if wrong.Status != 401 || unknown.Status != 401 {
		t.Fatalf("statuses %d %d", wrong.Status, unknown.Status)
	}
	if !bytes.Equal(wrong.Body, unknown.Body) {
		t.Fatalf("bodies differ:\n%s\n%s", wrong.Body, unknown.Body)
	}
	for _, h := range []string{"Content-Type", "Content-Length", "Cache-Control", "Retry-After", "Set-Cookie"} {
		if wrong.Header.Get(h) != unknown.Header.Get(h) {
			t.Errorf("header %s differs: %q vs %q", h, wrong.Header.Get(h), unknown.Header.Get(h))
		}
	}
	if wrong.JSON(t)["code"] != "invalid_credentials" {
		t.Fatalf("code = %v", wrong.JSON(t)["code"])
	}
}

func TestSignupCodeAttemptsAndExpiry(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	signup := func(email string) {
		if r := in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": email, "password": pw, "business_name": "B"}); r.Status != 202 {
			t.Fatalf("signup: %d", r.Status)
		}
	}
	signup("five@example.com")
	code := in.LastCode(t, "five@example.com")
	wrongCode := fmt.Sprintf("%06d", (atoi(code)+1)%1_000_000)
	for i := range 5 {
		r := in.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": "five@example.com", "code": wrongCode})
		if r.Status != 400 || r.JSON(t)["code"] != "invalid_code" {
			t.Fatalf("wrong code %d: %d %s", i, r.Status, r.Body)
		}
	}
	if r := in.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": "five@example.com", "code": code}); r.Status != 400 {
		t.Fatalf("the right code after 5 wrong ones: %d", r.Status)
	}
	// Signing up again sends a new code that works.
	signup("five@example.com")
	if r := in.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": "five@example.com", "code": in.LastCode(t, "five@example.com")}); r.Status != 201 {
		t.Fatalf("fresh code: %d %s", r.Status, r.Body)
	}

	signup("late@example.com")
	code = in.LastCode(t, "late@example.com")
	in.Clock.Advance(10*time.Minute + time.Second)
	if r := in.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": "late@example.com", "code": code}); r.Status != 400 {
		t.Fatalf("expired code: %d", r.Status)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestBadInputGetsClearErrorsAndChangesNothing(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	big := `{"email":"a@example.com","password":"` + strings.Repeat("x", 70<<10) + `","business_name":"B"}`
	cases := []struct {
		name, path, body string
		status           int
		code             string
	}{
		{"not json", "/api/v1/signup", `email=a@example.com`, 400, "malformed_json"},
		{"truncated", "/api/v1/signup", `{"email":"a@example.com",`, 400, "malformed_json"},
		{"trailing data", "/api/v1/signup", `{"email":"a@example.com"} {}`, 400, "malformed_json"},
		{"array", "/api/v1/signup", `[1,2]`, 400, "malformed_json"},
		{"null", "/api/v1/signup", `null`, 400, "malformed_json"},
		{"empty", "/api/v1/signup", ``, 400, "malformed_json"},
		{"unknown field", "/api/v1/signup", `{"email":"a@example.com","password":"x","business_name":"B","admin":true}`, 400, "malformed_json"},
		{"wrong type", "/api/v1/signup", `{"email":42,"password":"x","business_name":"B"}`, 400, "invalid_input"},
		{"bad email", "/api/v1/signup", `{"email":"not-an-email","password":"` + pw + `","business_name":"B"}`, 400, "invalid_input"},
		{"display name email", "/api/v1/signup", `{"email":"Bob <bob@example.com>","password":"` + pw + `","business_name":"B"}`, 400, "invalid_input"},
		{"short password", "/api/v1/signup", `{"email":"a@example.com","password":"short","business_name":"B"}`, 400, "password_policy"},
		{"no business", "/api/v1/signup", `{"email":"a@example.com","password":"` + pw + `","business_name":"  "}`, 400, "invalid_input"},
		{"bad phone", "/api/v1/signup", `{"email":"a@example.com","password":"` + pw + `","business_name":"B","phone":"call me"}`, 400, "invalid_input"},
		{"too large", "/api/v1/signup", big, 413, "payload_too_large"},
		{"invalid utf8", "/api/v1/signup", "{\"email\":\"a@example.com\",\"password\":\"\xff\xfe" + strings.Repeat("a", 20) + "\",\"business_name\":\"B\"}", 400, "malformed_json"},
		{"code letters", "/api/v1/signup/verify", `{"email":"a@example.com","code":"abcdef"}`, 400, "invalid_input"},
		{"code long", "/api/v1/signup/verify", `{"email":"a@example.com","code":"1234567"}`, 400, "invalid_input"},
		{"sign-in missing fields", "/api/v1/sessions", `{}`, 401, "invalid_credentials"},
		{"sign-in huge email", "/api/v1/sessions", `{"email":"` + strings.Repeat("a", 5000) + `@x.com","password":"p"}`, 401, "invalid_credentials"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := in.Do(t, "POST", c.path, "", c.body)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			if r.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("content type %q", r.Header.Get("Content-Type"))
			}
			m := r.JSON(t)
			if m["code"] != c.code || m["detail"] == "" || m["status"] != float64(c.status) {
				t.Fatalf("problem = %v", m)
			}
		})
	}
	if msgs := in.Outbox(t); len(msgs) != 0 {
		t.Fatalf("bad input produced %d messages", len(msgs))
	}
	// Field problems name their fields.
	r := in.Do(t, "POST", "/api/v1/signup", "", `{"email":"nope","password":"short","business_name":""}`)
	m := r.JSON(t)
	errs, _ := m["errors"].([]any)
	fields := map[string]bool{}
	for _, e := range errs {
		fields[e.(map[string]any)["field"].(string)] = true
	}
	if !fields["email"] || !fields["password"] || !fields["business_name"] {
		t.Fatalf("errors = %v", m["errors"])
	}
	// Unknown routes and methods answer cleanly too.
	if r := in.Do(t, "GET", "/api/v1/nope", "", nil); r.Status != 404 || r.JSON(t)["code"] != "not_found" {
		t.Fatalf("unknown route: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "PUT", "/api/v1/session", "", nil); r.Status != 405 {
		t.Fatalf("wrong method: %d", r.Status)
	}
}

func TestSessionsListRevokeAndRevokeOthers(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		in.SignUp(t, "multi@example.com", pw, "Multi")
		in.SignUp(t, "other@example.com", pw, "Other")
		a := in.SignIn(t, "multi@example.com", pw)
		b := in.SignIn(t, "multi@example.com", pw)
		c := in.SignIn(t, "multi@example.com", pw)
		other := in.SignIn(t, "other@example.com", pw)

		r := in.Do(t, "GET", "/api/v1/sessions", a, nil)
		list := r.JSON(t)["sessions"].([]any)
		if r.Status != 200 || len(list) != 3 {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		current, ids := 0, []string{}
		for _, s := range list {
			m := s.(map[string]any)
			if m["current"] == true {
				current++
			}
			if m["ip"] != "127.0.0.1" || m["user_agent"] == "" {
				t.Errorf("session without ip or user agent: %v", m)
			}
			ids = append(ids, m["id"].(string))
		}
		if current != 1 {
			t.Fatalf("%d sessions marked current", current)
		}
		bID := sessionID(t, in, b)
		// Another user cannot end this user's session: 404, as if it did not exist.
		if r := in.Do(t, "DELETE", "/api/v1/sessions/"+bID, other, nil); r.Status != 404 {
			t.Fatalf("other user revoking: %d", r.Status)
		}
		if r := in.Do(t, "GET", "/api/v1/session", b, nil); r.Status != 200 {
			t.Fatalf("b after the failed attempt: %d", r.Status)
		}
		if r := in.Do(t, "DELETE", "/api/v1/sessions/"+bID, a, nil); r.Status != 204 {
			t.Fatalf("revoke b: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "GET", "/api/v1/session", b, nil); r.Status != 401 {
			t.Fatalf("b after revocation: %d", r.Status)
		}
		r = in.Do(t, "POST", "/api/v1/sessions/revoke-others", a, nil)
		if r.Status != 200 || r.JSON(t)["revoked"] != float64(1) {
			t.Fatalf("revoke-others: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "GET", "/api/v1/session", c, nil); r.Status != 401 {
			t.Fatalf("c after revoke-others: %d", r.Status)
		}
		if r := in.Do(t, "GET", "/api/v1/session", a, nil); r.Status != 200 {
			t.Fatalf("a after revoke-others: %d", r.Status)
		}
		if r := in.Do(t, "GET", "/api/v1/session", other, nil); r.Status != 200 {
			t.Fatalf("the other user's session was touched: %d", r.Status)
		}
		_ = ids
	})
}

func sessionID(t *testing.T, in *apptest.Instance, token string) string {
	t.Helper()
	r := in.Do(t, "GET", "/api/v1/session", token, nil)
	return r.JSON(t)["session"].(map[string]any)["id"].(string)
}

func TestSessionTimeouts(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite", apptest.Env("SELLERGUARD_SESSION_IDLE_TIMEOUT", "30m"), apptest.Env("SELLERGUARD_SESSION_ABSOLUTE_TIMEOUT", "2h"))
	in.SignUp(t, "idle@example.com", pw, "Idle")
	idle := in.SignIn(t, "idle@example.com", pw)
	busy := in.SignIn(t, "idle@example.com", pw)
	// busy is used every 20 minutes, idle never.
	for range 2 {
		in.Clock.Advance(20 * time.Minute)
		if r := in.Do(t, "GET", "/api/v1/session", busy, nil); r.Status != 200 {
			t.Fatalf("busy session ended early: %d", r.Status)
		}
	}
	if r := in.Do(t, "GET", "/api/v1/session", idle, nil); r.Status != 401 {
		t.Fatalf("idle session still valid after 40 minutes: %d", r.Status)
	}
	for range 4 {
		in.Clock.Advance(20 * time.Minute)
		in.Do(t, "GET", "/api/v1/session", busy, nil)
	}
	if r := in.Do(t, "GET", "/api/v1/session", busy, nil); r.Status != 401 {
		t.Fatalf("session valid past its absolute lifetime: %d", r.Status)
	}
}

func TestBearerAndCookieEdgeCases(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "edge@example.com", pw, "Edge")
	token := in.SignIn(t, "edge@example.com", pw)
	for _, h := range []string{"Bearer", "Bearer ", "Basic " + token, "Bearer " + token + "x", "Bearer sgs_" + strings.Repeat("A", 43), token} {
		req, _ := http.NewRequest("GET", in.URL+"/api/v1/session", nil)
		req.Header.Set("Authorization", h)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("Authorization %.20q: %d", h, resp.StatusCode)
		}
	}
	// The cookie carries the same session.
	req, _ := http.NewRequest("GET", in.URL+"/api/v1/session", nil)
	req.AddCookie(&http.Cookie{Name: "sg_session", Value: token})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("cookie session: %d", resp.StatusCode)
	}
	// A cross-site POST riding on the cookie is refused before it does anything.
	req, _ = http.NewRequest("POST", in.URL+"/api/v1/sessions/revoke-others", nil)
	req.AddCookie(&http.Cookie{Name: "sg_session", Value: token})
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("cross-site POST: %d", resp.StatusCode)
	}
}

func TestAuditAPI(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		uid, bid := in.SignUp(t, "audit@example.com", pw, "Audit Co")
		_, otherBiz := in.SignUp(t, "else@example.com", pw, "Else")
		tok := in.SignIn(t, "audit@example.com", pw)
		in.EnrollTOTP(t, tok) // the business requires two-step verification before its data opens
		extra := in.SignIn(t, "audit@example.com", pw)
		in.Do(t, "DELETE", "/api/v1/session", extra, nil)

		r := in.Do(t, "GET", "/api/v1/audit", tok, nil)
		if r.Status != 200 {
			t.Fatalf("audit: %d %s", r.Status, r.Body)
		}
		events := r.JSON(t)["events"].([]any)
		actions := map[string]int{}
		for _, e := range events {
			m := e.(map[string]any)
			actions[m["action"].(string)]++
			if m["actor"].(map[string]any)["id"] != uid || m["ip"] != "127.0.0.1" || m["hash"] == "" {
				t.Errorf("event = %v", m)
			}
			if strings.Contains(string(r.Body), pw) {
				t.Fatal("the password appears in the audit log")
			}
		}
		for _, a := range []string{"user.created", "business.created", "session.created", "session.ended"} {
			if actions[a] == 0 {
				t.Errorf("no %s event in %v", a, actions)
			}
		}
		if actions["session.created"] != 2 {
			t.Errorf("session.created = %d", actions["session.created"])
		}
		// Filters.
		r = in.Do(t, "GET", "/api/v1/audit?category=business&business_id="+bid, tok, nil)
		if ev := r.JSON(t)["events"].([]any); len(ev) != 1 || ev[0].(map[string]any)["action"] != "business.created" {
			t.Fatalf("business filter: %s", r.Body)
		}
		r = in.Do(t, "GET", "/api/v1/audit?since=2000-01-01&until=2001-01-01", tok, nil)
		if ev := r.JSON(t)["events"].([]any); len(ev) != 0 {
			t.Fatalf("time filter: %s", r.Body)
		}
		// Pagination walks every event once.
		seen := map[string]bool{}
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
			r = in.Do(t, "GET", "/api/v1/audit?limit=2"+cursor, tok, nil)
			m := r.JSON(t)
			for _, e := range m["events"].([]any) {
				id := e.(map[string]any)["id"].(string)
				if seen[id] {
					t.Fatalf("event %s on two pages", id)
				}
				seen[id] = true
			}
			next, _ := m["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = "&cursor=" + next
		}
		if len(seen) != len(events) {
			t.Fatalf("pages held %d events, the full list %d", len(seen), len(events))
		}
		// Another business: 404 exactly like a missing one. Bad filters: 400.
		a := in.Do(t, "GET", "/api/v1/audit?business_id="+otherBiz, tok, nil)
		b := in.Do(t, "GET", "/api/v1/audit?business_id=biz_doesnotexist", tok, nil)
		if a.Status != 404 || !bytes.Equal(a.Body, b.Body) {
			t.Fatalf("foreign business: %d %s / %s", a.Status, a.Body, b.Body)
		}
		for _, q := range []string{"since=yesterday", "limit=0", "limit=1000", "cursor=!!", "category=bogus"} {
			if r := in.Do(t, "GET", "/api/v1/audit?"+q, tok, nil); r.Status != 400 {
				t.Errorf("%s: %d", q, r.Status)
			}
		}
		if r := in.Do(t, "GET", "/api/v1/audit", "", nil); r.Status != 401 {
			t.Fatalf("anonymous audit: %d", r.Status)
		}
	})
}

func TestConcurrentSignupsAndSignIns(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				email := fmt.Sprintf("c%d@example.com", i)
				in.SignUp(t, email, pw, "C")
				for range 3 {
					in.SignIn(t, email, pw)
				}
			})
		}
		wg.Wait()
		n, err := in.DB.CountUsers(t.Context())
		if err != nil || n != 8 {
			t.Fatalf("%d users, %v", n, err)
		}
	})
}

func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	if r := in.Do(t, "GET", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("healthz: %d", r.Status)
	}
	if r := in.Do(t, "GET", "/readyz", "", nil); r.Status != 200 || !strings.Contains(string(r.Body), "ready") {
		t.Fatalf("readyz: %d %s", r.Status, r.Body)
	}
	in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": "x@example.com", "password": "y"})
	// /metrics is not on the main listener but on its own (loopback) one.
	if r := in.Do(t, "GET", "/metrics", "", nil); r.Status != 404 || strings.Contains(string(r.Body), "go_goroutines") {
		t.Fatalf("/metrics on the main listener: %d %.200s", r.Status, r.Body)
	}
	if in.MetricsURL == "" {
		t.Fatal("no metrics listener")
	}
	resp, err := in.Client.Get(in.MetricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("metrics listener: %d %v", resp.StatusCode, err)
	}
	body := string(b)
	for _, want := range []string{`sellerguard_http_requests_total{code="401",route="POST /api/v1/sessions"} 1`, "sellerguard_password_hashes_in_flight", "sellerguard_outbox_pending", "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// A sign-in flood queues for the bounded hashing pool and then gets clean
// 503s with Retry-After: never a 500, never unbounded memory.
func TestSignInFloodDegradesToServiceUnavailable(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite", apptest.Env("SELLERGUARD_HASH_CONCURRENCY", "1"), apptest.Env("SELLERGUARD_HASH_QUEUE_TIMEOUT", "1ms"), apptest.Env("SELLERGUARD_ARGON2_MEMORY", "8192"), apptest.Env("SELLERGUARD_ARGON2_TIME", "3"))
	in.SignUp(t, "flood@example.com", pw, "Flood")
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[int]int{}
	retryAfter := true
	for range 24 {
		wg.Go(func() {
			r := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": "flood@example.com", "password": pw})
			mu.Lock()
			defer mu.Unlock()
			counts[r.Status]++
			if r.Status == 503 && (r.Header.Get("Retry-After") == "" || r.JSON(t)["code"] != "busy") {
				retryAfter = false
			}
		})
	}
	wg.Wait()
	if counts[201]+counts[503] != 24 || counts[201] == 0 || counts[503] == 0 {
		t.Fatalf("answers = %v: want a mix of 201 and 503 only", counts)
	}
	if !retryAfter {
		t.Fatal("a 503 came without Retry-After or code busy")
	}
	if r := in.Do(t, "GET", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("healthz during the flood: %d", r.Status)
	}
}
