package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"runtime"
	"slices"
	"sync"

	"github.com/sellerguard/sellerguard/internal/store"
)

// maxVerifyParts bounds the parts Verify reads at once (each holds a
// database connection; on SQLite each scans the table).
const maxVerifyParts = 8

// verifyPart is a set of chains Verify reads and checks on its own: those
// whose names end in one of ends (the last part: in none of the other
// parts' ends), with their heads.
type verifyPart struct {
	ends   []string
	except bool
	heads  []store.AuditHead
}

// partitionChains splits the chains into at most n parts of about equal
// numbers of events, by the last character of their names (ids are
// random, so their last characters spread the chains). The heads say how
// many events each chain has. Every chain is in exactly one part: the
// last part takes every name whose end no other part lists, so a chain
// without a head is read too (and then reported: no head).
func partitionChains(heads []store.AuditHead, n int) []verifyPart {
	weight := map[string]int64{}
	for _, h := range heads {
		weight[store.ChainEnd(h.Chain)] += max(h.Seq, 0) + 1
	}
	ends := make([]string, 0, len(weight))
	for e := range weight {
		ends = append(ends, e)
	}
	// Heaviest first, then by name: the same split every run.
	slices.SortFunc(ends, func(a, b string) int {
		if weight[a] != weight[b] {
			if weight[a] > weight[b] {
				return -1
			}
			return 1
		}
		if a < b {
			return -1
		}
		return 1
	})
	n = max(1, min(n, len(ends)))
	parts := make([]verifyPart, n)
	load := make([]int64, n)
	partOf := map[string]int{}
	for _, e := range ends {
		k := 0
		for i := range load {
			if load[i] < load[k] {
				k = i
			}
		}
		load[k] += weight[e]
		parts[k].ends = append(parts[k].ends, e)
		partOf[e] = k
	}
	for _, h := range heads {
		k := partOf[store.ChainEnd(h.Chain)]
		parts[k].heads = append(parts[k].heads, h)
	}
	last := &parts[n-1]
	last.except = true
	last.ends = nil
	for _, p := range parts[:n-1] {
		last.ends = append(last.ends, p.ends...)
	}
	return parts
}

// verifyParallel is Verify: the chains split into one part per CPU, each
// part read on its own connection and checked on its own goroutine —
// read, hash and link check one after the other for each event, with no
// hand-over between goroutines — the parts' reports added up. Every part
// runs to its end (or its first problem), so the problem reported is that
// of the first part in order that has one: the same from run to run.
func verifyParallel(ctx context.Context, db *store.DB, heads []store.AuditHead, n int) (Report, error) {
	parts := partitionChains(heads, min(n, maxVerifyParts))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	reps := make([]Report, len(parts))
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() {
			reps[i], errs[i] = verifyOnePart(ctx, db, p)
			var prob *Problem
			if errs[i] != nil && !errors.As(errs[i], &prob) {
				cancel() // the database failed: stop the others
			}
		})
	}
	wg.Wait()
	var rep Report
	for _, r := range reps {
		rep.Chains += r.Chains
		rep.Events += r.Events
	}
	// A problem before any other error (another part's may only be the
	// cancellation that followed a database error).
	for _, err := range errs {
		var prob *Problem
		if errors.As(err, &prob) {
			return rep, err
		}
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return rep, err
		}
	}
	for _, err := range errs {
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// verifyOnePart reads one part's events and checks them as Verify does.
func verifyOnePart(ctx context.Context, db *store.DB, p verifyPart) (Report, error) {
	c := newChainChecker(p.heads)
	var h eventHasher
	err := db.EachAuditEventByChainEnd(ctx, p.ends, p.except, func(e *store.AuditRecord) error {
		return c.event(e, h.matches(e))
	})
	if err != nil {
		return c.rep, err
	}
	return c.end(func(chain string) (Report, error) { return VerifyChain(ctx, db, chain) })
}

// eventHasher recomputes events' hashes with one reused buffer.
type eventHasher struct {
	buf []byte
}

// matches reports whether e's stored hash is the hash of its stored
// fields (Hash(e) == e.Hash), without allocating.
func (h *eventHasher) matches(e *store.AuditRecord) bool {
	if len(e.Hash) != 2*sha256.Size {
		return false
	}
	h.buf = appendCanonical(h.buf[:0], e)
	sum := sha256.Sum256(h.buf)
	var hx [2 * sha256.Size]byte
	hex.Encode(hx[:], sum[:])
	return string(hx[:]) == e.Hash
}

// verifyWorkers is how many parts Verify reads at once.
func verifyWorkers() int { return max(1, runtime.GOMAXPROCS(0)) }
