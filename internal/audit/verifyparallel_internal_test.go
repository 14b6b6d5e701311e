package audit

import (
	"fmt"
	"slices"
	"testing"

	"github.com/sellerguard/sellerguard/internal/store"
)

// partitionChains puts every head in exactly one part, by its name's last
// character, no character in two parts, the last part taking the rest;
// the parts are about even in events.
func TestPartitionChains(t *testing.T) {
	var heads []store.AuditHead
	for i := range 1000 {
		heads = append(heads, store.AuditHead{Chain: fmt.Sprintf("b:biz_%d", i), Seq: int64(1 + i%7)})
	}
	heads = append(heads, store.AuditHead{Chain: "u:usr_é", Seq: 3}, store.AuditHead{Chain: "", Seq: 1})
	for _, n := range []int{1, 2, 3, 4, 8, 100} {
		parts := partitionChains(heads, n)
		if len(parts) != min(n, 12) { // ten digits, 'é' and ""
			t.Fatalf("n=%d: %d parts", n, len(parts))
		}
		last := parts[len(parts)-1]
		if !last.except {
			t.Fatalf("n=%d: the last part does not take the rest", n)
		}
		seen := map[string]int{}
		var total, most int64
		for k, p := range parts {
			var events int64
			for _, h := range p.heads {
				seen[h.Chain]++
				events += h.Seq
				end := store.ChainEnd(h.Chain)
				if k < len(parts)-1 && !slices.Contains(p.ends, end) {
					t.Fatalf("n=%d: head %q in part %d whose ends are %q", n, h.Chain, k, p.ends)
				}
				if k == len(parts)-1 && slices.Contains(p.ends, end) {
					t.Fatalf("n=%d: head %q in the last part, which excludes %q", n, h.Chain, end)
				}
			}
			if k < len(parts)-1 && (p.except || len(p.ends) == 0) {
				t.Fatalf("n=%d: part %d = %+v", n, k, p)
			}
			total += events
			most = max(most, events)
		}
		if len(seen) != len(heads) {
			t.Fatalf("n=%d: %d of %d heads in a part", n, len(seen), len(heads))
		}
		for c, k := range seen {
			if k != 1 {
				t.Fatalf("n=%d: head %q in %d parts", n, c, k)
			}
		}
		if n <= 4 && float64(most) > 1.3*float64(total)/float64(len(parts)) {
			t.Errorf("n=%d: the largest part has %d of %d events", n, most, total)
		}
	}
}

// VerifyChain reads a chain in two parts per CPU (at most
// maxVerifyParts), each of at least chainPartMin events; a short chain in
// one.
func TestChainParts(t *testing.T) {
	for _, c := range []struct {
		length int64
		cpus   int
		want   int
	}{
		{0, 2, 1}, {1, 2, 1}, {chainPartMin - 1, 2, 1}, {2*chainPartMin - 1, 2, 1}, {2 * chainPartMin, 2, 2},
		{100_000, 2, 4}, {100_000, 1, 2}, {100_000, 16, maxVerifyParts}, {3 * chainPartMin, 16, 3},
	} {
		if got := chainParts(c.length, c.cpus); got != c.want {
			t.Errorf("chainParts(%d, %d) = %d, want %d", c.length, c.cpus, got, c.want)
		}
	}
}
