package web_test

import (
	"context"
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
	var leaves []func()
	for range 2 {
		leave, err := in.Session.Admit(ctx)
		if err != nil {
			t.Fatalf("taking a place: %v", err)
		}
		leaves = append(leaves, leave)
	}
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
