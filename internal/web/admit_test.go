package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// A sign-in takes one of the hashing pool's places (2 × slots) before it
// reads the database. With every place taken past the queue timeout it is
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
	leaves[0]()
	if r := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": "door@example.com", "password": pw}); r.Status != 201 {
		t.Fatalf("sign-in with a place free: %d %s", r.Status, r.Body)
	}
	leaves[1]()
}
