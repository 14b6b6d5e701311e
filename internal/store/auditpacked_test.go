package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/store"
)

// The packed read gives exactly the values the columns hold, whatever
// they contain (digits where a length goes, the empty string, non-ASCII,
// long text, a negative or zero time), and the sets of chain ends split
// the events into disjoint parts that together hold every event.
func TestAuditPackedReadMatchesColumns(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		values := []string{"", "1000000012", "0", "\x1f", "a\x1f,b", "\x1f\x1f,", "x\x1f", "中文 é ü", strings.Repeat("x", 5000), `{"a":"1000000003abc"}`, "a:b", "\\\"<>&"}
		var want []store.AuditRecord
		for i, v := range values {
			for _, chain := range []string{"b:biz_" + v + "1", "u:usr_é" + v, "b:" + v + "Z"} {
				mustTx(t, db, func(tx *store.Tx) error {
					seq, prev, err := tx.AdvanceAuditHead(ctx, chain)
					if err != nil {
						return err
					}
					e := store.AuditRecord{AuditEvent: sellerguard.AuditEvent{
						ID: fmt.Sprintf("evt_%d_%s", i, chain), Chain: chain, Seq: seq, BusinessID: v, ActorID: v, ActorEmail: v,
						Action: v, Category: v, TargetType: v, TargetID: v, IP: v, UserAgent: v, SessionID: v,
						Before: v, After: v, CreatedAt: time.UnixMicro(int64(i-3) * 1_000_003).UTC(), PrevHash: prev, Hash: v + "h",
					}, SubjectID: v}
					if e.CreatedAt.UnixMicro() == 0 {
						e.CreatedAt = time.Time{} // stored as 0, read back as the zero time
					}
					want = append(want, e)
					return tx.InsertAuditEvent(ctx, e)
				})
			}
		}
		byID := func(a, b store.AuditRecord) int { return strings.Compare(a.ID, b.ID) }
		slices.SortFunc(want, byID)
		var cols []store.AuditRecord
		if err := db.EachAuditEventStored(ctx, func(e store.AuditRecord) error { cols = append(cols, e); return nil }); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(cols, byID)
		read := func(ends []string, except bool) []store.AuditRecord {
			var out []store.AuditRecord
			if err := db.EachAuditEventByChainEnd(ctx, ends, except, func(e *store.AuditRecord) error { out = append(out, *e); return nil }); err != nil {
				t.Fatal(err)
			}
			return out
		}
		all := read(nil, true)
		slices.SortFunc(all, byID)
		for i := range want {
			for name, got := range map[string][]store.AuditRecord{"columns": cols, "packed": all} {
				if len(got) != len(want) {
					t.Fatalf("%s read %d events, want %d", name, len(got), len(want))
				}
				g, w := got[i], want[i]
				if !g.CreatedAt.Equal(w.CreatedAt) {
					t.Errorf("%s: event %d created %v, want %v", name, i, g.CreatedAt, w.CreatedAt)
				}
				g.CreatedAt, w.CreatedAt = time.Time{}, time.Time{}
				if g != w {
					t.Errorf("%s: event %d differs from what was stored", name, i)
				}
			}
		}
		// Parts by chain end: "1", "é"+"Z" and the rest.
		parts := [][]store.AuditRecord{read([]string{"1"}, false), read([]string{"Z", "é"}, false), read([]string{"1", "Z", "é"}, true)}
		seen := map[string]int{}
		for k, p := range parts {
			for _, e := range p {
				seen[e.ID]++
				end := store.ChainEnd(e.Chain)
				if in := map[int]bool{0: end == "1", 1: end == "Z" || end == "é", 2: end != "1" && end != "Z" && end != "é"}[k]; !in {
					t.Errorf("part %d holds %s of chain %q", k, e.ID, e.Chain)
				}
			}
		}
		if len(seen) != len(want) {
			t.Errorf("the parts hold %d of %d events", len(seen), len(want))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s in %d parts", id, n)
			}
		}
		if got := read(nil, false); len(got) != 0 {
			t.Errorf("no ends, not except: %d events, want none", len(got))
		}
	})
}

// One chain's read (audit verify and export --business) gives every event
// of that chain and no other, in sequence order, with exactly the values
// stored, whatever they contain.
func TestAuditChainReadMatchesColumns(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		values := []string{"", "\x1f", "a\x1f,b", "\x1f\x1f,", "中文 é ü", strings.Repeat("y", 3000), "0"}
		want := map[string][]store.AuditRecord{}
		for round := range 3 {
			for _, chain := range []string{"b:biz_1", "b:biz_10", "u:usr_\x1f"} {
				for i, v := range values {
					mustTx(t, db, func(tx *store.Tx) error {
						seq, prev, err := tx.AdvanceAuditHead(ctx, chain)
						if err != nil {
							return err
						}
						e := store.AuditRecord{AuditEvent: sellerguard.AuditEvent{
							ID: fmt.Sprintf("evt_%d_%d_%s", round, i, chain), Chain: chain, Seq: seq, BusinessID: v, ActorID: v + "a",
							Action: v, Category: v, TargetType: v, TargetID: v, IP: v, UserAgent: v, SessionID: v,
							Before: v, After: v, CreatedAt: time.UnixMicro(int64(round*100+i+1) * 1_000_003).UTC(), PrevHash: prev, Hash: v + "h",
						}, SubjectID: v}
						want[chain] = append(want[chain], e)
						return tx.InsertAuditEvent(ctx, e)
					})
				}
			}
		}
		for chain, w := range want {
			var got []store.AuditRecord
			if err := db.EachAuditEventOfChain(ctx, chain, func(e store.AuditRecord) error { got = append(got, e); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(w) {
				t.Fatalf("chain %q: read %d events, want %d", chain, len(got), len(w))
			}
			for i := range w {
				if got[i].Seq != int64(i+1) || !got[i].CreatedAt.Equal(w[i].CreatedAt) {
					t.Fatalf("chain %q: event %d is seq %d created %v, want seq %d created %v", chain, i, got[i].Seq, got[i].CreatedAt, i+1, w[i].CreatedAt)
				}
				g, e := got[i], w[i]
				g.CreatedAt, e.CreatedAt = time.Time{}, time.Time{}
				if g != e {
					t.Errorf("chain %q: event %d differs from what was stored:\n%+v\n%+v", chain, i, g, e)
				}
			}
		}
		n := 0
		if err := db.EachAuditEventOfChain(ctx, "b:biz_404", func(store.AuditRecord) error { n++; return nil }); err != nil || n != 0 {
			t.Fatalf("a chain with no events: %d events, %v", n, err)
		}
	})
}
