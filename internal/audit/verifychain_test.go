package audit_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/sellerguard/sellerguard/internal/audit"
)

// copyEvent is an INSERT of a copy of one event (chain $1, seq $2) under
// a new id at sequence number $3: a forged row.
const copyEvent = `INSERT INTO audit_events SELECT id || 'x', chain, $3, business_id, subject_id, actor_id, actor_email, action, category, target_type, target_id, ip, user_agent, before_json, after_json, created_at, prev_hash, hash, session_id FROM audit_events WHERE chain = $1 AND seq = $2`

// VerifyChain reads a long chain in parts (ranges of sequence numbers,
// one per CPU) at once. Whatever was done to the chain, the parts must
// answer exactly what one pass in sequence order answers: the same
// report, or the same problem — the same event, sequence number and
// reason — even when a later part also holds a problem, when the chain
// has rows before its first or after its last sequence number, or when
// it came in too many runs to join (then it is read in one pass). The
// parts decide only that a chain is intact: a broken one is always left
// to the one-pass read.
func TestVerifyChainInPartsAnswersAsOnePass(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	type tamper struct {
		q    string
		args []any // after the chain
	}
	del := func(seq int) tamper {
		return tamper{`DELETE FROM audit_events WHERE chain = $1 AND seq = $2`, []any{seq}}
	}
	cases := []struct {
		name    string
		tampers []tamper
		problem bool
	}{
		{"intact", nil, false},
		{"altered field", []tamper{{`UPDATE audit_events SET actor_email = 'attacker@example.com' WHERE chain = $1 AND seq = $2`, []any{25}}}, true},
		{"altered first", []tamper{{`UPDATE audit_events SET target_id = 'lst_9' WHERE chain = $1 AND seq = $2`, []any{1}}}, true},
		{"rehashed row", []tamper{{`UPDATE audit_events SET hash = 'ffff' WHERE chain = $1 AND seq = $2`, []any{10}}}, true},
		{"removed middle", []tamper{del(12)}, true},
		{"removed at a part's start", []tamper{del(11)}, true},
		{"removed one part's events", []tamper{{`DELETE FROM audit_events WHERE chain = $1 AND seq BETWEEN 11 AND 20`, nil}}, true},
		{"removed, and a later part altered", []tamper{del(12), {`UPDATE audit_events SET ip = '203.0.113.9' WHERE chain = $1 AND seq = $2`, []any{33}}}, true},
		{"altered, and a later part removed", []tamper{{`UPDATE audit_events SET ip = '203.0.113.9' WHERE chain = $1 AND seq = $2`, []any{15}}, del(33)}, true},
		{"removed newest", []tamper{del(40)}, true},
		{"removed first", []tamper{del(1)}, true},
		{"removed all", []tamper{{`DELETE FROM audit_events WHERE chain = $1`, nil}}, true},
		{"row after the head", []tamper{{copyEvent, []any{40, 41}}}, true},
		{"row before the first", []tamper{{copyEvent, []any{1, 0}}}, true},
		{"row far before the first", []tamper{{copyEvent, []any{1, int64(math.MinInt64)}}}, true},
		{"head far beyond the events", []tamper{{`UPDATE audit_heads SET seq = 9223372036854775807 WHERE chain = $1`, nil}}, true},
		{"head short of the events", []tamper{{`UPDATE audit_heads SET seq = 30 WHERE chain = $1`, nil}}, true},
		{"every other removed (too many runs)", []tamper{{`DELETE FROM audit_events WHERE chain = $1 AND seq % 2 = 0 AND seq < 140`, nil}}, true},
	}
	eachDB(t, func(t *testing.T, e env) {
		ctx := context.Background()
		var businesses []string
		for i := range cases {
			businesses = append(businesses, fmt.Sprintf("biz_c%d", i))
		}
		recordInOneTx(t, e.db, 40, businesses...)
		// The last case needs more runs than are kept: a longer chain.
		recordInOneTx(t, e.db, 110, businesses[len(businesses)-1])
		for i, c := range cases {
			chain := audit.ChainOf(businesses[i], "")
			for _, tp := range c.tampers {
				if _, err := e.raw.Exec(tp.q, append([]any{chain}, tp.args...)...); err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
			}
			undo := audit.SetChainPartMin(math.MaxInt64)
			onePass, onePassErr := audit.VerifyChain(ctx, e.db, chain)
			undo()
			undo = audit.SetChainPartMin(1)
			inParts, inPartsErr := audit.VerifyChain(ctx, e.db, chain)
			undo()
			// The parts themselves (3 of them): they call an intact chain
			// intact, and leave every broken one to the one-pass read.
			head, err := e.db.AuditHeadOf(ctx, chain)
			if err != nil {
				t.Fatal(err)
			}
			rep, done, err := audit.VerifyChainInParts(ctx, e.db, head, 3)
			if err != nil || done != !c.problem || (done && rep != onePass) {
				t.Fatalf("%s: verifyChainInParts = %+v, done %v, %v; want done %v (one pass: %+v, %v)", c.name, rep, done, err, !c.problem, onePass, onePassErr)
			}
			var p1, p2 *audit.Problem
			switch {
			case !c.problem:
				if onePassErr != nil || inPartsErr != nil || inParts != onePass || inParts.Events != 40 || inParts.Chains != 1 {
					t.Fatalf("%s: in parts %+v, %v; in one pass %+v, %v; want 40 events in 1 chain", c.name, inParts, inPartsErr, onePass, onePassErr)
				}
			case !errors.As(onePassErr, &p1) || !errors.As(inPartsErr, &p2):
				t.Fatalf("%s: in parts %v, in one pass %v: want a Problem from both", c.name, inPartsErr, onePassErr)
			case *p1 != *p2:
				t.Fatalf("%s: in parts %+v, in one pass %+v: want the same problem", c.name, *p2, *p1)
			}
		}
	})
}
