package web_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/store"
)

// These are the changes that go on after a unique constraint refused one
// of their statements (the address was taken meanwhile): on PostgreSQL a
// refused statement aborts the whole transaction, and each of them used to
// answer 500 there ("commit unexpectedly resulted in rollback") or leave
// its work undone, while SQLite went on. Both databases, each.

// Eight verifications of one sign-up code at the same moment: one makes
// the account, the others are told the code is not right; none is a 500,
// and there is one account.
func TestSignupVerifiedTwiceAtOnce(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		const email = "twice@conflict.example"
		if r := in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": email, "password": pw, "business_name": "Twice Ltd"}); r.Status != 202 {
			t.Fatalf("sign-up: %d %s", r.Status, r.Body)
		}
		code := in.LastCode(t, email)
		const n = 8
		statuses, bodies := raceBurst(n, func(int) (int, string) {
			return rawRequest(t, in, "POST", "/api/v1/signup/verify", "application/json", raceJSON(t, map[string]string{"email": email, "code": code}), "", nil)
		})
		raceOnly(t, "verify the sign-up", statuses, bodies, http.StatusCreated, http.StatusBadRequest)
		if made := raceCount(statuses, http.StatusCreated); made != 1 {
			t.Errorf("%d verifications made the account (all: %v), want 1", made, statuses)
		}
		if u, err := in.DB.FindUserByEmail(context.Background(), email); err != nil || u.Email != email {
			t.Fatalf("the account: %+v %v", u, err)
		}
		in.SignIn(t, email, pw)
	})
}

// An email change confirmed after someone else registered the new address
// meanwhile: 409 with a sentence, the account keeps its address, and the
// change is over (its code does not work again).
func TestEmailChangeToAnAddressTakenMeanwhile(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, _ := newOwner(t, in, "mover@conflict.example", "Mover Ltd")
		const target = "wanted@conflict.example"
		if r := in.Do(t, "POST", "/api/v1/account/email", owner.token, map[string]string{"email": target}); r.Status != 202 {
			t.Fatalf("change: %d %s", r.Status, r.Body)
		}
		code := in.LastCode(t, target)
		in.SignUp(t, target, pw, "Faster Ltd") // the address is someone's now
		r := in.Do(t, "POST", "/api/v1/account/email/confirm", owner.token, map[string]string{"code": code})
		if r.Status != http.StatusConflict || r.JSON(t)["code"] != "conflict" {
			t.Fatalf("confirm: %d %s, want 409 conflict", r.Status, r.Body)
		}
		if u, err := in.DB.FindUserByID(context.Background(), owner.id); err != nil || u.Email != owner.email {
			t.Fatalf("the account's address: %+v %v", u, err)
		}
		if r := in.Do(t, "POST", "/api/v1/account/email/confirm", owner.token, map[string]string{"code": code}); r.Status != http.StatusBadRequest {
			t.Errorf("the code again: %d %s, want 400", r.Status, r.Body)
		}
		checkAuditChain(t, in)
	})
}

// Support's approved email change whose address was registered during the
// waiting period fails as an action (the job goes on), instead of failing
// the job's transaction at every run.
func TestSupportEmailChangeToAnAddressTakenMeanwhile(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner := newRecoveryOwner(t, in, "lost@conflict.example")
		if err := in.DB.PutListing(context.Background(), store.Listing{ID: "lst_conflict1", BusinessID: owner.biz, SKU: "MUG-BLUE-02", Title: "Blue mug", PriceCents: 900, Quantity: 3, Condition: "new", UpdatedAt: in.Clock.Now()}); err != nil {
			t.Fatal(err)
		}
		const target = "found@conflict.example"
		caseID := openCaseSignedOut(t, in, owner.email, target)
		agent := addAgent(t, in, "agent@conflict.example", "agent")
		lead := addAgent(t, in, "lead@conflict.example", "supervisor")
		at, st := agentToken(t, in, agent), agentToken(t, in, lead)
		evidence(t, in, at, caseID, "deposit_last4", owner.last4, true)
		evidence(t, in, at, caseID, "listing_sku", "mug-blue-02", true)
		r := in.Do(t, "POST", "/api/v1/agent/cases/"+caseID+"/actions", at, map[string]string{"kind": "change_email", "new_email": target})
		if r.Status != 201 {
			t.Fatalf("request: %d %s", r.Status, r.Body)
		}
		actID := r.JSON(t)["id"].(string)
		if r := in.Do(t, "POST", "/api/v1/agent/actions/"+actID+"/approve", st, nil); r.Status != 200 {
			t.Fatalf("approve: %d %s", r.Status, r.Body)
		}
		in.SignUp(t, target, pw, "Other Ltd") // during the waiting period
		in.Clock.Advance(73 * time.Hour)
		done, err := in.Support.RunDue(context.Background())
		if err != nil {
			t.Fatalf("run: %d %v", done, err)
		}
		if u, err := in.DB.FindUserByEmail(context.Background(), owner.email); err != nil || u.Email != owner.email {
			t.Fatalf("the owner's address: %+v %v", u, err)
		}
		at = agentToken(t, in, agent)
		view := in.Do(t, "GET", "/api/v1/agent/cases/"+caseID, at, nil).JSON(t)
		if st := view["actions"].([]any)[0].(map[string]any)["state"]; st != "failed" {
			t.Fatalf("action state %v, want failed: %v", st, view)
		}
		if done, err := in.Support.RunDue(context.Background()); err != nil || done != 0 {
			t.Errorf("a second run: %d %v, want nothing left to do", done, err)
		}
		if _, err := in.DB.FindUserByEmail(context.Background(), target); errors.Is(err, store.ErrNotFound) {
			t.Error("the other account lost its address")
		}
	})
}
