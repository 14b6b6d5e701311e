package app_test

import (
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/dkim"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/testenv"
)

// Outside local mode, mail goes to a real SMTP server and the developer
// outbox does not exist.
func TestSMTPModeDeliversSignupCodeAndHidesDevOutbox(t *testing.T) {
	srv := testenv.StartSMTP(t)
	in := apptest.Start(t, "sqlite",
		apptest.Env("SELLERGUARD_SMTP_URL", "smtp://"+srv.Addr),
		apptest.Env("SELLERGUARD_MAIL_FROM", "SellerGuard <no-reply@sellerguard.test>"))
	if r := in.Do(t, "GET", "/api/v1/dev/outbox", "", nil); r.Status != 404 {
		t.Fatalf("dev outbox outside local mode: %d", r.Status)
	}
	if r := in.Do(t, "GET", "/dev/outbox", "", nil); r.Status != 404 {
		t.Fatalf("dev outbox page outside local mode: %d", r.Status)
	}
	r := in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": "smtp@example.com", "password": "correct horse battery staple", "business_name": "Mail Co"})
	if r.Status != 202 {
		t.Fatalf("signup: %d %s", r.Status, r.Body)
	}
	raw := srv.WaitMessages(t, 1, 15*time.Second)[0]
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("To") == "" || !strings.Contains(m.Header.Get("To"), "smtp@example.com") || !strings.Contains(m.Header.Get("From"), "no-reply@sellerguard.test") {
		t.Fatalf("headers: %v", m.Header)
	}
	body := string(raw)
	if !strings.Contains(body, "multipart/alternative") || !strings.Contains(body, "text/html") || !strings.Contains(body, "text/plain") {
		t.Fatalf("the email has no text and HTML alternatives:\n%s", body)
	}
	code := regexp.MustCompile(`code is: (\d{6})`).FindStringSubmatch(body)
	if code == nil {
		t.Fatalf("no code in the email:\n%s", body)
	}
	r = in.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": "smtp@example.com", "code": code[1]})
	if r.Status != 201 {
		t.Fatalf("verify with the emailed code: %d %s", r.Status, r.Body)
	}
	// Once delivered, the code no longer sits in the database.
	deadline := time.Now().Add(5 * time.Second)
	for {
		msgs, err := in.DB.ListOutbox(t.Context(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if msgs[0].Status == "sent" {
			if strings.Contains(msgs[0].Body, code[1]) {
				t.Fatal("the delivered code is still stored in the outbox")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("first message still %s", msgs[0].Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Two instances on one PostgreSQL database behave as one: a session ended on
// one is refused by the other, although the other had it cached.
func TestRevocationReachesEveryInstance(t *testing.T) {
	dbURL := apptest.DatabaseURL(t, "postgres")
	a := apptest.Start(t, "", apptest.Env("SELLERGUARD_DATABASE_URL", dbURL))
	b := apptest.Start(t, "", apptest.Env("SELLERGUARD_DATABASE_URL", dbURL))
	a.SignUp(t, "two@example.com", "correct horse battery staple", "Two")
	keep := a.SignIn(t, "two@example.com", "correct horse battery staple")
	victim := b.SignIn(t, "two@example.com", "correct horse battery staple")
	waitCacheLive(t, b, victim)
	// b has the session cached now; a ends it.
	for range 3 {
		if r := b.Do(t, "GET", "/api/v1/session", victim, nil); r.Status != 200 {
			t.Fatalf("before revocation: %d", r.Status)
		}
	}
	if r := a.Do(t, "POST", "/api/v1/sessions/revoke-others", keep, nil); r.Status != 200 {
		t.Fatalf("revoke-others: %d %s", r.Status, r.Body)
	}
	start := time.Now()
	for {
		r := b.Do(t, "GET", "/api/v1/session", victim, nil)
		if r.Status == 401 {
			t.Logf("instance b refused the revoked session %v after the revocation committed", time.Since(start))
			break
		}
		if time.Since(start) > time.Second {
			t.Fatalf("instance b still accepts a revoked session after %v", time.Since(start))
		}
	}
	if r := b.Do(t, "GET", "/api/v1/session", keep, nil); r.Status != 200 {
		t.Fatalf("the kept session was refused on b: %d", r.Status)
	}
}

// waitCacheLive waits until the instance's revocation listener is connected
// (until then every check reads the database, which is always right).
func waitCacheLive(t *testing.T, in *apptest.Instance, token string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for in.Session.Cache.Len() == 0 {
		in.Do(t, "GET", "/api/v1/session", token, nil)
		if time.Now().After(deadline) {
			t.Fatal("the session cache never came up")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A hash made with old Argon2id parameters is upgraded at the next sign-in,
// without changing when the password was last changed.
func TestOldHashParametersAreUpgradedAtSignIn(t *testing.T) {
	dbURL := apptest.DatabaseURL(t, "sqlite")
	dataDir := t.TempDir()
	old := apptest.Start(t, "", apptest.Env("SELLERGUARD_DATABASE_URL", dbURL), apptest.Env("SELLERGUARD_DATA_DIR", dataDir))
	old.SignUp(t, "upgrade@example.com", "correct horse battery staple", "Up")
	before, err := old.DB.FindUserByEmail(t.Context(), "upgrade@example.com")
	if err != nil {
		t.Fatal(err)
	}
	old.Stop()
	if !strings.Contains(before.PasswordHash, "m=1024,t=1,p=1") {
		t.Fatalf("hash %q was not made with the old parameters", before.PasswordHash)
	}
	upgraded := apptest.Start(t, "", apptest.Env("SELLERGUARD_DATABASE_URL", dbURL), apptest.Env("SELLERGUARD_DATA_DIR", dataDir), apptest.Env("SELLERGUARD_ARGON2_MEMORY", "2048"), apptest.Env("SELLERGUARD_ARGON2_TIME", "2"))
	upgraded.SignIn(t, "upgrade@example.com", "correct horse battery staple")
	after, _ := upgraded.DB.FindUserByEmail(t.Context(), "upgrade@example.com")
	if !strings.Contains(after.PasswordHash, "m=2048,t=2,p=1") {
		t.Fatalf("hash after sign-in = %q, want the new parameters", after.PasswordHash)
	}
	if !after.PasswordChangedAt.Equal(before.PasswordChangedAt) {
		t.Fatal("re-hashing moved the password's change date")
	}
	upgraded.SignIn(t, "upgrade@example.com", "correct horse battery staple")
}

// Two instances on one PostgreSQL database share the guess counters.
func TestInstancesShareGuessCounters(t *testing.T) {
	dbURL := apptest.DatabaseURL(t, "postgres")
	a := apptest.Start(t, "", apptest.Env("SELLERGUARD_DATABASE_URL", dbURL))
	b := apptest.Start(t, "", apptest.Env("SELLERGUARD_DATABASE_URL", dbURL))
	a.SignUp(t, "shared@example.com", "correct horse battery staple", "Shared")
	for _, in := range []*apptest.Instance{a, b, a, b} {
		if r := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": "shared@example.com", "password": "wrong password!"}); r.Status != 401 {
			t.Fatalf("wrong password: %d", r.Status)
		}
	}
	// Four failures across the two instances: the delay applies on both.
	for _, in := range []*apptest.Instance{a, b} {
		if r := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": "shared@example.com", "password": "correct horse battery staple"}); r.Status != 401 {
			t.Fatalf("right password inside the shared delay: %d", r.Status)
		}
	}
	c, err := b.DB.GetCounter(t.Context(), "acct:shared@example.com", time.Now())
	if err != nil || c.Count != 6 {
		t.Fatalf("shared counter = %+v, %v", c, err)
	}
}

// With a DKIM key configured, every email leaves signed, and the ledger
// holds its Message-ID and the hash of the exact bytes sent.
func TestEmailsAreSignedAndRecordedInTheLedger(t *testing.T) {
	srv := testenv.StartSMTP(t)
	pemKey, _, err := dkim.GenerateKey("rsa")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "dkim.key")
	if err := os.WriteFile(keyFile, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	in := apptest.Start(t, "sqlite",
		apptest.Env("SELLERGUARD_SMTP_URL", "smtp://"+srv.Addr),
		apptest.Env("SELLERGUARD_MAIL_FROM", "SellerGuard <no-reply@mail.sellerguard.test>"),
		apptest.Env("SELLERGUARD_DKIM_KEY_FILE", keyFile))
	in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": "signed@example.com", "password": "correct horse battery staple", "business_name": "Signed"})
	raw := srv.WaitMessages(t, 1, 15*time.Second)[0]
	signer, err := dkim.LoadSigner(keyFile, "mail.sellerguard.test", "sellerguard")
	if err != nil {
		t.Fatal(err)
	}
	if err := signer.Verify(raw); err != nil {
		t.Fatalf("the email does not verify: %v\n%s", err, raw)
	}
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	id := m.Header.Get("Message-Id")
	var entry store.LedgerEntry
	deadline := time.Now().Add(5 * time.Second)
	for {
		if entry, err = in.DB.FindSentEmail(t.Context(), id); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || entry.Recipient != "signed@example.com" {
		t.Fatalf("ledger entry for %s: %+v, %v", id, entry, err)
	}
	// The server stored the bytes sent after its own trace headers.
	if i := strings.Index(string(raw), "DKIM-Signature:"); i < 0 || dkim.Hash(raw[i:]) != entry.SHA256 {
		t.Fatalf("ledger hash %s does not match the signed bytes", entry.SHA256)
	}
}

// A member's lowered permission, and a suspension by an access review, reach
// the other instance on the member's very next request, although it had
// their session cached.
func TestTeamRevocationReachesEveryInstance(t *testing.T) {
	dbURL := apptest.DatabaseURL(t, "postgres")
	a := apptest.Start(t, "", apptest.Env("SELLERGUARD_DATABASE_URL", dbURL))
	b := apptest.Start(t, "", apptest.Env("SELLERGUARD_DATABASE_URL", dbURL))
	const pw = "correct horse battery staple"
	_, biz := a.SignUp(t, "owner@inst.example", pw, "Instances")
	owner := a.SignIn(t, "owner@inst.example", pw)
	a.EnrollTOTP(t, owner)
	if r := a.Do(t, "POST", "/api/v1/businesses/"+biz+"/invitations", owner, map[string]any{"email": "member@inst.example", "permissions": map[string]string{"listings": "edit"}}); r.Status != 201 {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	memberID, _ := a.SignUp(t, "member@inst.example", pw, "Member's own")
	member := b.SignIn(t, "member@inst.example", pw)
	b.EnrollTOTP(t, member)
	inv := b.Do(t, "GET", "/api/v1/invitations", member, nil).JSON(t)["invitations"].([]any)[0].(map[string]any)["id"].(string)
	if r := b.Do(t, "POST", "/api/v1/invitations/"+inv+"/accept", member, nil); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	listings := "/api/v1/businesses/" + biz + "/listings"
	waitCacheLive(t, b, member)
	for range 3 {
		if r := b.Do(t, "GET", listings, member, nil); r.Status != 200 {
			t.Fatalf("member reads listings on b: %d", r.Status)
		}
	}
	if r := a.Do(t, "PATCH", "/api/v1/businesses/"+biz+"/members/"+memberID, owner, map[string]any{"permissions": map[string]string{}}); r.Status != 200 {
		t.Fatalf("lower: %d %s", r.Status, r.Body)
	}
	waitStatus(t, b, listings, member, 403)

	// Back to view, then an access review left open past a 7-day grace
	// suspends the member: instance b refuses at once.
	if r := a.Do(t, "PATCH", "/api/v1/businesses/"+biz+"/members/"+memberID, owner, map[string]any{"permissions": map[string]string{"listings": "view"}}); r.Status != 200 {
		t.Fatalf("raise: %d %s", r.Status, r.Body)
	}
	waitStatus(t, b, listings, member, 200)
	if r := a.Do(t, "PUT", "/api/v1/businesses/"+biz+"/access-review-settings", owner, map[string]any{"interval_days": 90, "suspend_after_days": 7}); r.Status != 200 {
		t.Fatalf("settings: %d %s", r.Status, r.Body)
	}
	if r := a.Do(t, "POST", "/api/v1/businesses/"+biz+"/access-reviews", owner, nil); r.Status != 201 {
		t.Fatalf("start review: %d %s", r.Status, r.Body)
	}
	a.Clock.Advance(8 * 24 * time.Hour)
	run, err := a.Team.RunAccessReviews(t.Context())
	if err != nil || run.Suspended != 1 {
		t.Fatalf("run: %+v, %v", run, err)
	}
	// b's clock did not move: the member's session is still live there.
	waitStatus(t, b, listings, member, 404)
}

// waitStatus waits (at most a second) until path answers want on the instance.
func waitStatus(t *testing.T, in *apptest.Instance, path, token string, want int) {
	t.Helper()
	start := time.Now()
	for {
		r := in.Do(t, "GET", path, token, nil)
		if r.Status == want {
			t.Logf("%s answered %d after %v", path, want, time.Since(start))
			return
		}
		if time.Since(start) > time.Second {
			t.Fatalf("%s still answers %d after %v, want %d", path, r.Status, time.Since(start), want)
		}
	}
}
