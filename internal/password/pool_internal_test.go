package password

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestPoolKeepsWorkingMemory checks that the pool keeps one hash's working
// memory per slot used, at most one per slot, not more for a costlier old
// hash, and gives it all back once idle.
func TestPoolKeepsWorkingMemory(t *testing.T) {
	p := Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	h := NewHasher(p, 2, time.Minute)
	ctx := context.Background()
	if n := h.keptBytes(); n != 0 {
		t.Fatalf("new pool keeps %d bytes, want 0", n)
	}
	enc, err := h.Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if n := h.keptBytes(); n != 64<<10 {
		t.Errorf("after one hash the pool keeps %d bytes, want %d", n, 64<<10)
	}

	// Many hashes on two slots: never more than two memories.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if ok, _, err := h.Verify(ctx, enc, "pw"); err != nil || !ok {
				t.Errorf("Verify = %v, %v", ok, err)
			}
		})
	}
	wg.Wait()
	if n := h.keptBytes(); n < 64<<10 || n > 2*64<<10 {
		t.Errorf("after concurrent hashes on 2 slots the pool keeps %d bytes, want 64 or 128 KiB", n)
	}
	before := h.keptBytes()

	// A hash made with more memory verifies, in memory the pool does not keep.
	old, err := NewHasher(Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, time.Minute).Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash, err := h.Verify(ctx, old, "pw"); err != nil || !ok || !rehash {
		t.Errorf("costlier old hash: ok=%v needsRehash=%v err=%v, want true, true, nil", ok, rehash, err)
	}
	if n := h.keptBytes(); n != before {
		t.Errorf("after a costlier hash the pool keeps %d bytes, want %d as before", n, before)
	}
}

func TestPoolGivesMemoryBackWhenIdle(t *testing.T) {
	h := NewHasher(Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2, time.Minute)
	h.idleRelease = 20 * time.Millisecond
	enc, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); h.keptBytes() != 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the pool still keeps %d bytes 10 s after its last hash", h.keptBytes())
		}
	}
	// And hashes again afterwards.
	if ok, _, err := h.Verify(context.Background(), enc, "pw"); err != nil || !ok {
		t.Errorf("Verify after release = %v, %v", ok, err)
	}
}

// keptBytes returns the working memory the idle slots of h keep.
func (h *Hasher) keptBytes() int {
	n := 0
	for range len(h.mems) {
		select {
		case m := <-h.mems:
			n += m.Size()
			h.mems <- m
		default:
		}
	}
	return n
}
