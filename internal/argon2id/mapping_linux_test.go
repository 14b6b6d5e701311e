package argon2id

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/crypto/argon2"
)

// rssAnonKiB reads this process's anonymous resident memory.
func rssAnonKiB(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssAnon in /proc/self/status")
	return 0
}

// mapped tells whether a mapping starting at addr is in /proc/self/maps.
func mapped(t *testing.T, addr uintptr) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b, []byte(fmt.Sprintf("\n%x-", addr))) || bytes.HasPrefix(b, []byte(fmt.Sprintf("%x-", addr)))
}

const serverKiB = 19456 // SellerGuard's default memory cost

// TestMemoryIsOutsideTheGoHeap: a hash's 19 MiB of blocks do not grow the
// Go heap (so they neither count in the collector's pacing nor against a
// soft memory limit), yet the key is x/crypto's.
func TestMemoryIsOutsideTheGoHeap(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var m Memory
	defer m.Release()
	pw, salt := []byte("correct horse battery staple"), []byte("sixteen byte slt")
	got := m.IDKey(pw, salt, 2, serverKiB, 1, 32)
	runtime.ReadMemStats(&after)
	if m.Size() != serverKiB*1024 {
		t.Fatalf("Memory holds %d bytes, want %d", m.Size(), serverKiB*1024)
	}
	if grown := int64(after.HeapSys) - int64(before.HeapSys); grown > 4<<20 {
		t.Errorf("the Go heap grew by %d bytes for a %d KiB hash", grown, serverKiB)
	}
	if want := argon2.IDKey(pw, salt, 2, serverKiB, 1, 32); !bytes.Equal(got, want) {
		t.Errorf("key %x, x/crypto %x", got, want)
	}
}

// TestReleaseGivesTheMemoryBack: the 19 MiB are resident after a hash and
// returned to the kernel by Release, at once (no waiting for the
// collector and the runtime's scavenger).
func TestReleaseGivesTheMemoryBack(t *testing.T) {
	start := rssAnonKiB(t)
	var m Memory
	m.IDKey([]byte("pw"), []byte("sixteen byte slt"), 1, serverKiB, 1, 32)
	held := rssAnonKiB(t)
	addr := uintptr(unsafe.Pointer(&m.blocks[0]))
	m.Release()
	released := rssAnonKiB(t)
	t.Logf("RssAnon: %d KiB before, %d KiB after the hash, %d KiB after Release", start, held, released)
	if held-start < serverKiB*3/4 {
		t.Errorf("the hash's memory did not show as resident (%d KiB more)", held-start)
	}
	if held-released < serverKiB*3/4 {
		t.Errorf("Release gave back %d KiB, want about %d", held-released, serverKiB)
	}
	if mapped(t, addr) {
		t.Error("the blocks are still mapped after Release")
	}
	if m.Size() != 0 {
		t.Errorf("after Release the Memory holds %d bytes", m.Size())
	}
}

// TestDroppedMemoryIsUnmapped: a Memory dropped without Release does not
// leak its mapping: it is unmapped once the collector finds it unreachable.
func TestDroppedMemoryIsUnmapped(t *testing.T) {
	addr := func() uintptr {
		m := new(Memory)
		m.IDKey([]byte("pw"), []byte("sixteen byte slt"), 1, 4096, 1, 32)
		return uintptr(unsafe.Pointer(&m.blocks[0]))
	}()
	if !mapped(t, addr) {
		t.Fatal("the blocks are not a mapping of their own")
	}
	deadline := time.Now().Add(10 * time.Second)
	for mapped(t, addr) {
		if time.Now().After(deadline) {
			t.Fatal("a dropped Memory's mapping is still there after 10 s of collections")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
