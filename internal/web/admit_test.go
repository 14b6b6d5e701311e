package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// A sign-in (and a sign-up, which hashes too) takes one of the hashing
// pool's places (2 × slots) before it reads the database. With every place taken past the queue timeout it is
// the same 503 busy as a full pool, through the API (Retry-After, code
// busy) and on the page (the busy sentence, the email kept in the form),
// and it counts nothing against the account; a place given back lets the
// next sign-in in.
func TestSignInWaitsForAPlace(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite", apptest.Env("SELLERGUARD_HASH_CONCURRENCY", "1"), apptest.Env("SELLERGUARD_HASH_QUEUE_TIMEOUT", "50ms"))
	in.SignUp(t, "door@example.com", pw, "Door Goods")
	ctx := context.Background()
	leaves := takeEveryPlace(t, in)
	r := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": "door@example.com", "password": "not the password"})
	if r.Status != 503 || r.Header.Get("Retry-After") == "" || r.JSON(t)["code"] != "busy" {
		t.Fatalf("API sign-in with every place taken: %d %s (Retry-After %q)", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
	status, body := formPost(t, in, "/signin", nil, url.Values{"email": {"door@example.com"}, "password": {"not the password"}})
	if status != 503 || !strings.Contains(body, "SellerGuard is busy. Please try again in a moment.") || !strings.Contains(body, `value="door@example.com"`) {
		t.Fatalf("page sign-in with every place taken: %d, busy sentence %v, email kept %v", status, strings.Contains(body, "is busy"), strings.Contains(body, `value="door@example.com"`))
	}
	if c, err := in.DB.GetCounter(ctx, "acct:door@example.com", time.Now()); err != nil || c.Count != 0 {
		t.Fatalf("a refused sign-in counted against the account: %+v %v", c, err)
	}
	// A sign-up hashes too: the same answer, and nothing is made.
	r = in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": "new@example.com", "password": pw, "business_name": "New Goods"})
	if r.Status != 503 || r.Header.Get("Retry-After") == "" || r.JSON(t)["code"] != "busy" {
		t.Fatalf("API sign-up with every place taken: %d %s", r.Status, r.Body)
	}
	status, body = formPost(t, in, "/signup", nil, url.Values{"email": {"new@example.com"}, "password": {pw}, "business_name": {"New Goods"}})
	if status != 503 || !strings.Contains(body, "SellerGuard is busy. Please try again in a moment.") || !strings.Contains(body, `value="new@example.com"`) || !strings.Contains(body, `value="New Goods"`) {
		t.Fatalf("page sign-up with every place taken: %d, busy sentence %v, typed values kept %v", status, strings.Contains(body, "is busy"), strings.Contains(body, `value="New Goods"`))
	}
	if _, err := in.DB.FindUserByEmail(ctx, "new@example.com"); err == nil {
		t.Fatal("a refused sign-up made a user")
	}
	for _, m := range in.Outbox(t) {
		if strings.EqualFold(m.To, "new@example.com") {
			t.Fatalf("a refused sign-up sent %q", m.Subject)
		}
	}
	leaves[0]()
	if r := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": "door@example.com", "password": pw}); r.Status != 201 {
		t.Fatalf("sign-in with a place free: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": "new@example.com", "password": pw, "business_name": "New Goods"}); r.Status != 202 {
		t.Fatalf("sign-up with a place free: %d %s", r.Status, r.Body)
	}
	leaves[1]()
}

// A support agent's sign-in hashes on a public route too: it takes a
// place first, and with every place taken it is 503 busy through the API
// and on the page (the busy sentence, the email kept), counting nothing
// against the agent; a place given back lets it in.
func TestAgentSignInWaitsForAPlace(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite", apptest.Env("SELLERGUARD_HASH_CONCURRENCY", "1"), apptest.Env("SELLERGUARD_HASH_QUEUE_TIMEOUT", "50ms"))
	a := addAgent(t, in, "agent.door@example.com", "agent")
	ctx := context.Background()
	leaves := takeEveryPlace(t, in)
	in.Clock.Advance(31 * time.Second)
	code := oathtool(t, a.secret, in.Clock.Now())
	r := in.Do(t, "POST", "/api/v1/agent/sessions", "", map[string]string{"email": a.email, "password": "not the password at all", "code": code})
	if r.Status != 503 || r.Header.Get("Retry-After") == "" || r.JSON(t)["code"] != "busy" {
		t.Fatalf("API agent sign-in with every place taken: %d %s (Retry-After %q)", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
	status, body := formPost(t, in, "/agent/signin", nil, url.Values{"email": {a.email}, "password": {agentPW}, "code": {code}})
	if status != 503 || !strings.Contains(body, "SellerGuard is busy. Please try again in a moment.") || !strings.Contains(body, `value="agent.door@example.com"`) {
		t.Fatalf("page agent sign-in with every place taken: %d, busy sentence %v, email kept %v", status, strings.Contains(body, "is busy"), strings.Contains(body, `value="agent.door@example.com"`))
	}
	if c, err := in.DB.GetCounter(ctx, "acct:agent:agent.door@example.com", time.Now()); err != nil || c.Count != 0 {
		t.Fatalf("a refused agent sign-in counted against the agent: %+v %v", c, err)
	}
	leaves[0]()
	if r := in.Do(t, "POST", "/api/v1/agent/sessions", "", map[string]string{"email": a.email, "password": agentPW, "code": code}); r.Status != 201 {
		t.Fatalf("agent sign-in with a place free: %d %s", r.Status, r.Body)
	}
	leaves[1]()
}

// With the hashing pool full past the queue timeout, every route that
// hashes answers 503 busy — never a 500 — and changes nothing: an agent's
// enrolment (its code still works after), and a password reset, whose
// reuse rule is never skipped. Before, a busy comparison with the current
// password counted as "not the same", so a reset to the same password
// went through whenever a slot came free for the new hash.
func TestHashingRoutesAnswerBusy(t *testing.T) {
	t.Parallel()
	const queue = 300 * time.Millisecond
	in := apptest.Start(t, "sqlite", apptest.Env("SELLERGUARD_HASH_CONCURRENCY", "1"), apptest.Env("SELLERGUARD_HASH_QUEUE_TIMEOUT", queue.String()))
	ctx := context.Background()
	hasher := in.Session.Hasher

	// An agent's enrolment.
	_, code, err := in.Support.AddAgent(ctx, nil, "agent.enrol@example.com", "agent")
	if err != nil {
		t.Fatal(err)
	}
	release, err := hasher.Occupy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := in.Do(t, "POST", "/api/v1/agent/enrol", "", map[string]string{"email": "agent.enrol@example.com", "enrolment_code": code, "password": agentPW})
	release()
	if r.Status != 503 || r.Header.Get("Retry-After") == "" || r.JSON(t)["code"] != "busy" {
		t.Fatalf("agent enrolment with the pool full: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "POST", "/api/v1/agent/enrol", "", map[string]string{"email": "agent.enrol@example.com", "enrolment_code": code, "password": agentPW}); r.Status != 200 {
		t.Fatalf("enrolment after a busy answer: %d %s", r.Status, r.Body)
	}

	// A reset to the current password: its comparison waits for the full
	// pool and gives up; the slot is given back while the old code's hash
	// of the new password would still be waiting.
	in.SignUp(t, "reuse@example.com", pw, "Reuse Goods")
	tok := recoveryToken(t, in, "reuse@example.com")
	if release, err = hasher.Occupy(ctx); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		status int
		body   string
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		b, _ := json.Marshal(map[string]string{"recovery_token": tok, "password": pw})
		resp, err := http.Post(in.URL+"/api/v1/recovery/password", "application/json", bytes.NewReader(b))
		if err != nil {
			done <- answer{err: err}
			return
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		done <- answer{resp.StatusCode, string(body), err}
	}()
	for deadline := time.Now().Add(10 * time.Second); hasher.Waiting() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			release()
			t.Fatal("the reset never waited for the pool")
		}
	}
	time.Sleep(queue + queue/3) // the comparison's wait is over; a hash's that followed is not
	release()
	got := <-done
	if got.err != nil {
		t.Fatal(got.err)
	}
	if got.status != 503 && !(got.status == 400 && strings.Contains(got.body, "reused")) {
		t.Fatalf("a reset to the current password with the pool full: %d %s; want 503 busy (or 400 reused)", got.status, got.body)
	}
	if r := in.Do(t, "POST", "/api/v1/recovery/password", "", map[string]string{"recovery_token": tok, "password": pw}); r.Status != 400 || !strings.Contains(string(r.Body), "reused") {
		t.Fatalf("the same reset with the pool free: %d %s; want 400 reused", r.Status, r.Body)
	}
}

// takeEveryPlace takes the 2 places of an instance with one hashing slot
// and returns the functions that give them back.
func takeEveryPlace(t *testing.T, in *apptest.Instance) []func() {
	t.Helper()
	var leaves []func()
	for range 2 {
		leave, err := in.Session.Admit(context.Background())
		if err != nil {
			t.Fatalf("taking a place: %v", err)
		}
		leaves = append(leaves, leave)
	}
	return leaves
}
