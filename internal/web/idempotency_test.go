package web_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

func listingBody(sku string) map[string]any {
	return map[string]any{"listings": []map[string]any{{"sku": sku, "title": "Lamp " + sku, "price_cents": 1000, "quantity": 1, "condition": "new"}}}
}

func countListings(t *testing.T, in *apptest.Instance, biz, token string) int {
	t.Helper()
	return len(in.Do(t, "GET", "/api/v1/businesses/"+biz+"/listings", token, nil).JSON(t)["listings"].([]any))
}

// A client that retries a creating request with the same Idempotency-Key
// never creates two things: it gets the first answer again.
func TestIdempotencyKeyReplaysInsteadOfCreatingTwice(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, biz := newOwner(t, in, "owner@idem.example", "Idem Goods")
		lister := joinByInvitation(t, in, owner.token, biz, "lister@idem.example", map[string]string{"listings": "edit"})
		path := "/api/v1/businesses/" + biz + "/listings"
		key := map[string]string{"Idempotency-Key": "0f8fad5b-d9cb-469f-a165-70867728950e"}

		first := in.DoWith(t, "POST", path, owner.token, key, listingBody("A-1"))
		again := in.DoWith(t, "POST", path, owner.token, key, listingBody("A-1"))
		if first.Status != 200 || again.Status != 200 || string(first.Body) != string(again.Body) {
			t.Fatalf("first %d %s, retry %d %s", first.Status, first.Body, again.Status, again.Body)
		}
		if first.Header.Get("Idempotent-Replayed") != "" || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay header: first %q, retry %q", first.Header.Get("Idempotent-Replayed"), again.Header.Get("Idempotent-Replayed"))
		}
		if n := countListings(t, in, biz, owner.token); n != 1 {
			t.Fatalf("%d listings after a retry, want 1", n)
		}
		// The same key for another request is refused and changes nothing.
		if r := in.DoWith(t, "POST", path, owner.token, key, listingBody("A-2")); r.Status != 409 || !strings.Contains(string(r.Body), "different request") {
			t.Fatalf("key reused for another body: %d %s", r.Status, r.Body)
		}
		if n := countListings(t, in, biz, owner.token); n != 1 {
			t.Fatalf("%d listings after a reused key, want 1", n)
		}
		// Keys are the caller's own: another member's identical key creates
		// their own listing, and never sees the owner's answer.
		mine := in.DoWith(t, "POST", path, lister.token, key, listingBody("B-1"))
		if mine.Status != 200 || mine.Header.Get("Idempotent-Replayed") != "" || !strings.Contains(string(mine.Body), `"B-1"`) {
			t.Fatalf("another caller with the same key: %d %s", mine.Status, mine.Body)
		}
		// A refused request changed nothing and frees its key for the
		// corrected request.
		k2 := map[string]string{"Idempotency-Key": "retry-after-fix"}
		bad := listingBody("C-1")
		bad["listings"].([]map[string]any)[0]["condition"] = "broken"
		if r := in.DoWith(t, "POST", path, owner.token, k2, bad); r.Status != 400 {
			t.Fatalf("bad listing: %d", r.Status)
		}
		if r := in.DoWith(t, "POST", path, owner.token, k2, listingBody("C-1")); r.Status != 200 || r.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("corrected request with the freed key: %d %s", r.Status, r.Body)
		}
		// Keys that are not printable ASCII, or too long, are refused.
		for _, k := range []string{"caf\u00e9", strings.Repeat("k", 256)} {
			if r := in.DoWith(t, "POST", path, owner.token, map[string]string{"Idempotency-Key": k}, listingBody("D-1")); r.Status != 400 || !strings.Contains(string(r.Body), "Idempotency-Key") {
				t.Fatalf("key %q: %d %s", k[:4], r.Status, r.Body)
			}
		}

		// Ten retries at once: one listing; every answer is the first one
		// (200) or "still running" (409).
		k3 := map[string]string{"Idempotency-Key": "burst"}
		var wg sync.WaitGroup
		statuses := make([]int, 10)
		for i := range statuses {
			wg.Go(func() { statuses[i] = in.DoWith(t, "POST", path, owner.token, k3, listingBody("E-1")).Status })
		}
		wg.Wait()
		ok := 0
		for _, st := range statuses {
			switch st {
			case 200:
				ok++
			case 409:
			default:
				t.Errorf("burst answer %d", st)
			}
		}
		if ok == 0 {
			t.Errorf("no request of the burst succeeded: %v", statuses)
		}
		if n := countListings(t, in, biz, owner.token); n != 4 { // A-1, B-1, C-1, E-1
			t.Fatalf("%d listings after the burst, want 4", n)
		}
	})
}

// A new deposit account sent twice with one key is added once, and the
// owner is told once; after a day the key is forgotten.
func TestIdempotencyKeyOnDepositAccount(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	owner, biz := newOwner(t, in, "owner@idem2.example", "Idem Bank Goods")
	path := "/api/v1/businesses/" + biz + "/payments/deposit-account"
	body := map[string]string{"holder": "Idem Goods Ltd", "bank": "First Bank", "account_number": "GB29 NWBK 6016 1331 9268 19"}
	key := map[string]string{"Idempotency-Key": "deposit-1"}
	for range 3 {
		if r := in.DoWith(t, "PUT", path, owner.token, key, body); r.Status != 201 {
			t.Fatalf("deposit: %d %s", r.Status, r.Body)
		}
	}
	told := 0
	for _, s := range subjectsTo(t, in, owner.email) {
		if s == "A new deposit account was added to your business" {
			told++
		}
	}
	if told != 1 {
		t.Fatalf("the owner was told %d times, want once", told)
	}
	in.Clock.Advance(25 * time.Hour)
	owner.signInAgain(t, in)
	if r := in.DoWith(t, "PUT", path, owner.token, key, body); r.Status != 201 || r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("a day later the key is new again: %d %s", r.Status, r.Header)
	}
}
