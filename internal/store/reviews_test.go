package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/store"
)

// teamFixture makes a business with its owner and one member.
func teamFixture(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	mustTx(t, db, func(tx *store.Tx) error {
		for _, u := range []string{"usr_owner", "usr_member"} {
			if err := tx.CreateUser(ctx, newUser(u, u+"@example.com")); err != nil {
				return err
			}
		}
		if err := tx.CreateBusiness(ctx, sellerguard.Business{ID: "biz_1", Name: "Shop", CreatedAt: t0}); err != nil {
			return err
		}
		if err := tx.CreateMembership(ctx, sellerguard.Membership{BusinessID: "biz_1", UserID: "usr_owner", Role: sellerguard.RoleOwner, Status: sellerguard.MembershipActive, CreatedAt: t0}); err != nil {
			return err
		}
		return tx.CreateMembership(ctx, sellerguard.Membership{BusinessID: "biz_1", UserID: "usr_member", Role: sellerguard.RoleMember, Status: sellerguard.MembershipActive, CreatedAt: t0,
			Permissions: sellerguard.Permissions{sellerguard.AreaListings: sellerguard.LevelEdit}})
	})
}

func TestAreaUseOnlyMovesForward(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		teamFixture(t, db)
		k := store.AreaUseKey{BusinessID: "biz_1", UserID: "usr_member", Area: sellerguard.AreaListings}
		later := t0.Add(time.Hour)
		mustTx(t, db, func(tx *store.Tx) error {
			return tx.RecordAreaUse(ctx, map[store.AreaUseKey]store.AreaUse{k: {ViewedAt: later, EditedAt: t0}})
		})
		// An older batch (another instance flushing late) moves nothing back.
		mustTx(t, db, func(tx *store.Tx) error {
			return tx.RecordAreaUse(ctx, map[store.AreaUseKey]store.AreaUse{k: {ViewedAt: t0, EditedAt: time.Time{}}})
		})
		uses, err := db.AreaUses(ctx, "biz_1")
		if err != nil {
			t.Fatal(err)
		}
		got := uses["usr_member"][sellerguard.AreaListings]
		if !got.ViewedAt.Equal(later) || !got.EditedAt.Equal(t0) {
			t.Fatalf("area use = %+v, want viewed %v edited %v", got, later, t0)
		}
	})
}

func TestReviewsAndSuspension(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		teamFixture(t, db)
		if c, err := db.ReviewCandidates(ctx); err != nil || len(c) != 1 || c[0].BusinessID != "biz_1" || !c[0].LastReview.IsZero() || c[0].Open {
			t.Fatalf("candidates before any review = %+v, %v", c, err)
		}
		perms := sellerguard.Permissions{sellerguard.AreaListings: sellerguard.LevelEdit}
		r := store.AccessReview{ID: "rev_1", BusinessID: "biz_1", Status: store.ReviewOpen, CreatedAt: t0,
			Items: []store.ReviewItem{{UserID: "usr_member", Email: "usr_member@example.com", Before: perms, After: perms}}}
		mustTx(t, db, func(tx *store.Tx) error { return tx.CreateReview(ctx, r) })
		if c, _ := db.ReviewCandidates(ctx); len(c) != 1 || !c[0].LastReview.Equal(t0) || !c[0].Open {
			t.Fatalf("candidates with an open review = %+v", c)
		}
		mustTx(t, db, func(tx *store.Tx) error {
			it := r.Items[0]
			it.Decision, it.DecidedBy, it.DecidedAt, it.After = "reduce", "usr_owner", t0.Add(time.Minute), sellerguard.Permissions{sellerguard.AreaListings: sellerguard.LevelView}
			if err := tx.PutReviewItem(ctx, "rev_1", it); err != nil {
				return err
			}
			// A reminder is conditional on the last one seen: a stale
			// reader (and a second instance) changes nothing.
			if ok, err := tx.RemindReview(ctx, "rev_1", time.Time{}, t0.Add(time.Second)); err != nil || !ok {
				return fmt.Errorf("first reminder: %v %v", ok, err)
			}
			if ok, err := tx.RemindReview(ctx, "rev_1", time.Time{}, t0.Add(2*time.Second)); err != nil || ok {
				return fmt.Errorf("reminder from a stale read: %v %v", ok, err)
			}
			if ok, err := tx.LockOpenReview(ctx, "rev_1"); err != nil || !ok {
				return fmt.Errorf("lock an open review: %v %v", ok, err)
			}
			if ok, err := tx.CompleteReview(ctx, "rev_1", t0.Add(time.Minute), "usr_owner"); err != nil || !ok {
				return fmt.Errorf("complete: %v %v", ok, err)
			}
			// Nothing moves a completed review again.
			if ok, err := tx.CompleteReview(ctx, "rev_1", t0.Add(2*time.Minute), "system"); err != nil || ok {
				return fmt.Errorf("second completion: %v %v", ok, err)
			}
			if ok, err := tx.RemindReview(ctx, "rev_1", t0.Add(time.Second), t0.Add(3*time.Minute)); err != nil || ok {
				return fmt.Errorf("reminder of a completed review: %v %v", ok, err)
			}
			if ok, err := tx.LockOpenReview(ctx, "rev_1"); err != nil || ok {
				return fmt.Errorf("lock a completed review: %v %v", ok, err)
			}
			return nil
		})
		got, err := db.FindReview(ctx, "biz_1", "rev_1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != store.ReviewCompleted || got.CompletedBy != "usr_owner" || !got.CompletedAt.Equal(t0.Add(time.Minute)) || got.Reminders != 1 || len(got.Items) != 1 || got.Items[0].Decision != "reduce" ||
			got.Items[0].Before[sellerguard.AreaListings] != sellerguard.LevelEdit || got.Items[0].After[sellerguard.AreaListings] != sellerguard.LevelView {
			t.Fatalf("review = %+v", got)
		}
		if _, err := db.FindReview(ctx, "biz_other", "rev_1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a review read through another business: %v", err)
		}
		if open, err := db.OpenReviews(ctx); err != nil || len(open) != 0 {
			t.Fatalf("open reviews after completion = %+v, %v", open, err)
		}

		// A suspended member stays listed (with the status) but has no
		// business in their own memberships.
		mustTx(t, db, func(tx *store.Tx) error {
			return tx.SetMembershipStatus(ctx, "biz_1", "usr_member", sellerguard.MembershipSuspended)
		})
		if ms, _ := db.ListMemberships(ctx, "usr_member"); len(ms) != 0 {
			t.Fatalf("a suspended member still reaches the business: %+v", ms)
		}
		m, err := db.FindMember(ctx, "biz_1", "usr_member")
		if err != nil || m.Status != sellerguard.MembershipSuspended {
			t.Fatalf("suspended member = %+v, %v", m, err)
		}
		// The owner's status never changes this way.
		mustTx(t, db, func(tx *store.Tx) error {
			return tx.SetMembershipStatus(ctx, "biz_1", "usr_owner", sellerguard.MembershipSuspended)
		})
		if ms, _ := db.ListMemberships(ctx, "usr_owner"); len(ms) != 1 {
			t.Fatalf("the owner was suspended")
		}
	})
}

func TestOwnershipSwapKeepsOneOwner(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		teamFixture(t, db)
		tr := store.OwnershipTransfer{BusinessID: "biz_1", FromUser: "usr_owner", ToUser: "usr_member", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		mustTx(t, db, func(tx *store.Tx) error { return tx.PutOwnershipTransfer(ctx, tr) })
		if got, err := db.FindOwnershipTransfer(ctx, "biz_1"); err != nil || got.ToUser != "usr_member" || !got.ExpiresAt.Equal(tr.ExpiresAt) {
			t.Fatalf("transfer = %+v, %v", got, err)
		}
		// Promoting before demoting breaks the one-owner rule and writes nothing.
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			return tx.SetMemberRole(ctx, "biz_1", "usr_member", sellerguard.RoleOwner, nil, t0)
		})
		if err == nil {
			t.Fatal("a second owner was allowed")
		}
		mustTx(t, db, func(tx *store.Tx) error {
			if err := tx.SetMemberRole(ctx, "biz_1", "usr_owner", sellerguard.RoleMember, sellerguard.Permissions{sellerguard.AreaPayments: sellerguard.LevelEdit}, t0); err != nil {
				return err
			}
			if err := tx.SetMemberRole(ctx, "biz_1", "usr_member", sellerguard.RoleOwner, nil, t0); err != nil {
				return err
			}
			return tx.DeleteOwnershipTransfer(ctx, "biz_1")
		})
		ms, err := db.ListMembers(ctx, "biz_1")
		if err != nil || len(ms) != 2 || ms[0].UserID != "usr_member" || ms[0].Role != sellerguard.RoleOwner || ms[1].Role != sellerguard.RoleMember {
			t.Fatalf("members after the swap = %+v, %v", ms, err)
		}
		if _, err := db.FindOwnershipTransfer(ctx, "biz_1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("transfer after the swap: %v", err)
		}
	})
}

func TestChargeMethodReplaces(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		teamFixture(t, db)
		if _, err := db.GetChargeMethod(ctx, "biz_1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no card yet: %v", err)
		}
		for _, last4 := range []string{"4242", "4444"} {
			mustTx(t, db, func(tx *store.Tx) error {
				return tx.PutChargeMethod(ctx, store.ChargeMethod{BusinessID: "biz_1", Holder: "A", Brand: "Visa", Last4: last4, ExpMonth: 1, ExpYear: 2030, Fingerprint: "fp_" + last4, UpdatedBy: "usr_owner", UpdatedAt: t0})
			})
		}
		c, err := db.GetChargeMethod(ctx, "biz_1")
		if err != nil || c.Last4 != "4444" || c.ExpYear != 2030 || c.Fingerprint != "fp_4444" {
			t.Fatalf("card = %+v, %v", c, err)
		}
	})
}

func TestLastSignInIsSetByFullSessions(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		teamFixture(t, db)
		partial := sellerguard.Session{ID: "ses_p", UserID: "usr_member", CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour), AuthLevel: sellerguard.AuthPartial, ReauthAt: t0}
		mustTx(t, db, func(tx *store.Tx) error { return tx.CreateSession(ctx, partial, "hash_p") })
		if s, _ := db.LastSignIns(ctx, "biz_1"); !s["usr_member"].IsZero() {
			t.Fatalf("a partial sign-in counted: %v", s)
		}
		full := partial
		full.ID, full.AuthLevel, full.CreatedAt = "ses_f", sellerguard.AuthFull, t0.Add(time.Minute)
		mustTx(t, db, func(tx *store.Tx) error { return tx.CreateSession(ctx, full, "hash_f") })
		if s, _ := db.LastSignIns(ctx, "biz_1"); !s["usr_member"].Equal(full.CreatedAt) {
			t.Fatalf("last sign-in = %v, want %v", s["usr_member"], full.CreatedAt)
		}
		// Never backwards: a full session made with an older sign-in time
		// (a step-up's replacement keeps its sign-in's) leaves it alone.
		older := full
		older.ID, older.CreatedAt = "ses_o", t0.Add(30*time.Second)
		mustTx(t, db, func(tx *store.Tx) error { return tx.CreateSession(ctx, older, "hash_o") })
		if s, _ := db.LastSignIns(ctx, "biz_1"); !s["usr_member"].Equal(full.CreatedAt) {
			t.Fatalf("after an older session, last sign-in = %v, want %v", s["usr_member"], full.CreatedAt)
		}
		if _, err := db.FindSessionByTokenHash(ctx, "hash_o"); err != nil {
			t.Fatalf("the older session itself was not stored: %v", err)
		}
	})
}

func TestOneOpenReviewPerBusiness(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		teamFixture(t, db)
		open := func(id string) error {
			return db.WithTx(ctx, func(tx *store.Tx) error {
				return tx.CreateReview(ctx, store.AccessReview{ID: id, BusinessID: "biz_1", Status: store.ReviewOpen, CreatedAt: t0})
			})
		}
		if err := open("rev_a"); err != nil {
			t.Fatal(err)
		}
		if err := open("rev_b"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("a second open review: %v", err)
		}
		mustTx(t, db, func(tx *store.Tx) error {
			_, err := tx.CompleteReview(ctx, "rev_a", t0, "usr_owner")
			return err
		})
		if err := open("rev_b"); err != nil {
			t.Fatalf("a new review after completion: %v", err)
		}
	})
}

func TestEditGrantTimes(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		teamFixture(t, db) // member: listings edit since t0
		later, latest := t0.Add(24*time.Hour), t0.Add(48*time.Hour)
		set := func(p sellerguard.Permissions, at time.Time) {
			mustTx(t, db, func(tx *store.Tx) error { return tx.SetMemberPermissions(ctx, "biz_1", "usr_member", p, at) })
		}
		// Listings stays at edit (its grant time stays); payments is new.
		set(sellerguard.Permissions{sellerguard.AreaListings: sellerguard.LevelEdit, sellerguard.AreaPayments: sellerguard.LevelEdit}, later)
		m, err := db.FindMember(ctx, "biz_1", "usr_member")
		if err != nil || !m.EditSince[sellerguard.AreaListings].Equal(t0) || !m.EditSince[sellerguard.AreaPayments].Equal(later) {
			t.Fatalf("edit since = %v, %v", m.EditSince, err)
		}
		// Lowered to view and raised again: counted from the new grant.
		set(sellerguard.Permissions{sellerguard.AreaListings: sellerguard.LevelView}, later)
		set(sellerguard.Permissions{sellerguard.AreaListings: sellerguard.LevelEdit}, latest)
		ms, err := db.ListMembers(ctx, "biz_1")
		if err != nil || len(ms) != 2 || !ms[1].EditSince[sellerguard.AreaListings].Equal(latest) || len(ms[1].EditSince) != 1 {
			t.Fatalf("after lower and raise: %+v, %v", ms, err)
		}
	})
}
