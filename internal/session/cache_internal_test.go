package session

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"
)

// TestCacheStaleAfterSpreadsWithinTTL: an entry is re-read after 3/4 to 1
// of the TTL, never later, and sessions loaded at the same moment do not
// all go stale at the same moment.
func TestCacheStaleAfterSpreadsWithinTTL(t *testing.T) {
	c := NewSessionCache("sqlite", 30*time.Second, 100)
	seen := map[time.Duration]bool{}
	lo, hi := c.TTL, time.Duration(0)
	for i := range 1000 {
		sum := sha256.Sum256(fmt.Appendf(nil, "token-%d", i))
		d := c.staleAfter(hex.EncodeToString(sum[:]))
		if d > c.TTL || d < c.TTL*3/4 {
			t.Fatalf("staleAfter = %s, want within [%s, %s]", d, c.TTL*3/4, c.TTL)
		}
		seen[d.Truncate(time.Second)] = true
		lo, hi = min(lo, d), max(hi, d)
	}
	if len(seen) < 7 || hi-lo < 6*time.Second {
		t.Errorf("1000 tokens go stale in only %d distinct seconds (%s–%s)", len(seen), lo, hi)
	}
}

// TestCacheLoadsAreShared: a miss while the same token's load is in flight
// joins it; after an invalidation (a new generation) it does not.
func TestCacheLoadsAreShared(t *testing.T) {
	c := NewSessionCache("sqlite", 30*time.Second, 100)
	l1, leader := c.beginLoad("h", c.generation())
	if !leader {
		t.Fatal("first load is not the leader")
	}
	if l2, leader := c.beginLoad("h", c.generation()); leader || l2 != l1 {
		t.Fatal("a second miss of the same token did not join the load in flight")
	}
	if _, leader := c.beginLoad("other", c.generation()); !leader {
		t.Fatal("another token joined a load")
	}
	c.InvalidateUser("usr_x")
	l3, leader := c.beginLoad("h", c.generation())
	if !leader || l3 == l1 {
		t.Fatal("a miss after an invalidation joined a load that began before it")
	}
	c.endLoad("h", l1, nil, ErrUnauthenticated)
	select {
	case <-l1.done:
	default:
		t.Fatal("endLoad did not release the waiters")
	}
	if c.loading["h"] != l3 {
		t.Fatal("ending the older load removed the newer one")
	}
}
