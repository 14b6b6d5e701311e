package audit_test

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/sellerguard/sellerguard/internal/audit"
)

// Verify splits the chains into one part per CPU, each read and checked
// on its own: with four parts (GOMAXPROCS 4) a log whose chains end in
// many different characters (one of them not ASCII) verifies, each chain
// counted once, and tampering in any part — an altered event, an event of
// a chain without a head, a chain whose events were all removed — is
// still found and named.
func TestVerifyInParallelParts(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	businesses := []string{"biz_1", "biz_2", "biz_3", "biz_a", "biz_b", "biz_é", "biz_40"}
	eachDB(t, func(t *testing.T, e env) {
		ctx := context.Background()
		recordInOneTx(t, e.db, 30, businesses...)
		record(t, e.db, 4, "", "usr_9")
		rep, err := audit.Verify(ctx, e.db)
		if err != nil || rep.Events != 30*int64(len(businesses))+4 || rep.Chains != len(businesses)+1 {
			t.Fatalf("Verify = %+v, %v; want %d events in %d chains", rep, err, 30*len(businesses)+4, len(businesses)+1)
		}
		for _, b := range businesses {
			chain := audit.ChainOf(b, "")
			id := eventID(t, e.raw, chain, 17)
			if _, err := e.raw.Exec(`UPDATE audit_events SET actor_email = 'attacker@example.com' WHERE id = $1`, id); err != nil {
				t.Fatal(err)
			}
			var p *audit.Problem
			if _, err := audit.Verify(ctx, e.db); !errors.As(err, &p) || p.EventID != id || p.Chain != chain {
				t.Fatalf("Verify with %s's event 17 altered = %v, want a Problem naming %s", chain, err, id)
			}
			if _, err := e.raw.Exec(`UPDATE audit_events SET actor_email = '' WHERE id = $1`, id); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := audit.Verify(ctx, e.db); err != nil {
			t.Fatalf("Verify after undoing every change = %v", err)
		}
		// A copy of an event in a chain with no head (its name ends in a
		// character no head has, so only the last part reads it).
		if _, err := e.raw.Exec(`INSERT INTO audit_events SELECT id || 'x', 'b:biz_Z', seq, business_id, subject_id, actor_id, actor_email, action, category, target_type, target_id, ip, user_agent, before_json, after_json, created_at, prev_hash, hash, session_id FROM audit_events WHERE chain = 'b:biz_2' AND seq = 1`); err != nil {
			t.Fatal(err)
		}
		var p *audit.Problem
		if _, err := audit.Verify(ctx, e.db); !errors.As(err, &p) || p.Chain != "b:biz_Z" {
			t.Fatalf("Verify with an event of a chain without a head = %v, want a Problem naming b:biz_Z", err)
		}
		if _, err := e.raw.Exec(`DELETE FROM audit_events WHERE chain = 'b:biz_Z'`); err != nil {
			t.Fatal(err)
		}
		if _, err := e.raw.Exec(`DELETE FROM audit_events WHERE chain = 'b:biz_é'`); err != nil {
			t.Fatal(err)
		}
		if _, err := audit.Verify(ctx, e.db); !errors.As(err, &p) || p.Chain != "b:biz_é" {
			t.Fatalf("Verify with a chain's events removed = %v, want a Problem naming b:biz_é", err)
		}
	})
}
