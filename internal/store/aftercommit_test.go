package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/store"
)

// Tx.AfterCommit: the hooks run after a commit, in order, and only then;
// a rolled-back transaction runs none; a commit that enqueued messages
// wakes the outbox (SetEnqueued) once, and one that enqueued none does not.
func TestAfterCommitRunsOnlyAfterACommit(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var ran []string
		wakes := 0
		db.SetEnqueued(func() { wakes++ })
		t.Cleanup(func() { db.SetEnqueued(nil) })

		err := db.WithTx(ctx, func(tx *store.Tx) error {
			tx.AfterCommit(func() { ran = append(ran, "first") })
			tx.AfterCommit(func() { ran = append(ran, "second") })
			if len(ran) != 0 {
				t.Fatal("a hook ran before the commit")
			}
			for _, id := range []string{"msg_a1", "msg_a2"} {
				if err := tx.EnqueueMessage(ctx, sellerguard.OutboxMessage{ID: id, Channel: "email", To: "a@example.com", CreatedAt: t0}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ran, []string{"first", "second"}) || wakes != 1 {
			t.Fatalf("after a commit: ran %v, %d wakes; want [first second], 1", ran, wakes)
		}

		ran, wakes = nil, 0
		boom := errors.New("boom")
		err = db.WithTx(ctx, func(tx *store.Tx) error {
			tx.AfterCommit(func() { ran = append(ran, "rolled back") })
			if err := tx.EnqueueMessage(ctx, sellerguard.OutboxMessage{ID: "msg_b", Channel: "email", To: "a@example.com", CreatedAt: t0}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || len(ran) != 0 || wakes != 0 {
			t.Fatalf("after a rollback: err %v, ran %v, %d wakes; want boom, nothing", err, ran, wakes)
		}

		err = db.WithTx(ctx, func(tx *store.Tx) error {
			_, err := tx.EnqueueMessageOnce(ctx, sellerguard.OutboxMessage{ID: "msg_a1", Channel: "email", To: "a@example.com", CreatedAt: t0})
			return err
		})
		if err != nil || wakes != 0 {
			t.Fatalf("a message already there: err %v, %d wakes; want none", err, wakes)
		}
	})
}

// Tx.HoldOutboxWake: the messages of a transaction that holds the wake do
// not wake the outbox at commit; DB.WakeOutbox does, when the caller is
// ready (recovery.Pace: a request's email must not compete with its own
// answer).
func TestHoldOutboxWake(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		wakes := 0
		db.SetEnqueued(func() { wakes++ })
		t.Cleanup(func() { db.SetEnqueued(nil) })
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			tx.HoldOutboxWake()
			return tx.EnqueueMessage(ctx, sellerguard.OutboxMessage{ID: "msg_held", Channel: "email", To: "a@example.com", CreatedAt: t0})
		})
		if err != nil {
			t.Fatal(err)
		}
		if wakes != 0 {
			t.Fatalf("a held transaction woke the outbox %d times at commit", wakes)
		}
		db.WakeOutbox()
		if wakes != 1 {
			t.Fatalf("WakeOutbox: %d wakes, want 1", wakes)
		}
		db.SetEnqueued(nil)
		db.WakeOutbox() // nothing set: nothing to call
	})
}
