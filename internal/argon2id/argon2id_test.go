package argon2id

import (
	"bytes"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"runtime"
	"testing"

	"golang.org/x/crypto/argon2"
)

// rfc9106 is the Argon2id test vector of RFC 9106 section 5.3.
func rfc9106(m *Memory) []byte {
	return m.deriveKey(
		bytes.Repeat([]byte{0x01}, 32), // password
		bytes.Repeat([]byte{0x02}, 16), // salt
		bytes.Repeat([]byte{0x03}, 8),  // secret
		bytes.Repeat([]byte{0x04}, 12), // associated data
		3, 32, 4, 32)
}

const rfc9106Tag = "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"

func TestRFC9106Vector(t *testing.T) {
	var fresh Memory
	if got := hex.EncodeToString(rfc9106(&fresh)); got != rfc9106Tag {
		t.Fatalf("fresh memory: tag %s, want %s", got, rfc9106Tag)
	}
	// The same Memory, holding the blocks of the hash above, then of a
	// different one: the old contents must not leak into the result.
	if got := hex.EncodeToString(rfc9106(&fresh)); got != rfc9106Tag {
		t.Fatalf("reused memory: tag %s, want %s", got, rfc9106Tag)
	}
	fresh.IDKey([]byte("other"), []byte("salt-salt-salt-s"), 1, 64, 1, 16)
	if got := hex.EncodeToString(rfc9106(&fresh)); got != rfc9106Tag {
		t.Fatalf("memory reused after another hash: tag %s, want %s", got, rfc9106Tag)
	}
}

// TestSameKeysAsXCrypto compares with golang.org/x/crypto/argon2.IDKey over
// random inputs and parameters, all computed in one Memory that grows and
// is reused with stale blocks of every earlier size.
func TestSameKeysAsXCrypto(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	var m Memory
	n := 200
	if testing.Short() {
		n = 40
	}
	for i := range n {
		pw := make([]byte, r.IntN(80))
		salt := make([]byte, 8+r.IntN(24))
		for j := range pw {
			pw[j] = byte(r.Uint32())
		}
		for j := range salt {
			salt[j] = byte(r.Uint32())
		}
		time := 1 + r.Uint32N(3)
		threads := uint8(1 + r.IntN(4))
		memory := 8*uint32(threads) + r.Uint32N(1500)
		keyLen := 4 + r.Uint32N(96)
		want := argon2.IDKey(pw, salt, time, memory, threads, keyLen)
		got := m.IDKey(pw, salt, time, memory, threads, keyLen)
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d (t=%d m=%d p=%d len=%d): key %x, x/crypto %x", i, time, memory, threads, keyLen, got, want)
		}
	}
}

// TestServerParamsSameKeyInReusedMemory checks SellerGuard's default
// parameters (m=19456, t=2, p=1) against x/crypto, twice in one Memory.
func TestServerParamsSameKeyInReusedMemory(t *testing.T) {
	var m Memory
	for _, pw := range []string{"correct horse battery staple", "密码是一匹马"} {
		salt := []byte("sixteen byte slt")
		want := argon2.IDKey([]byte(pw), salt, 2, 19456, 1, 32)
		if got := m.IDKey([]byte(pw), salt, 2, 19456, 1, 32); !bytes.Equal(got, want) {
			t.Fatalf("%q: key %x, x/crypto %x", pw, got, want)
		}
	}
	if got, want := m.Size(), 19456*1024; got != want {
		t.Errorf("Memory holds %d bytes, want %d (the memory cost)", got, want)
	}
	m.Release()
	if m.Size() != 0 {
		t.Errorf("after Release the Memory holds %d bytes", m.Size())
	}
}

// TestReusedMemoryAllocatesOnlyTheKey is the point of the package: a hash in
// warm memory allocates kilobytes, not its 19 MiB memory cost.
func TestReusedMemoryAllocatesOnlyTheKey(t *testing.T) {
	var m Memory
	pw, salt := []byte("correct horse battery staple"), []byte("sixteen byte slt")
	m.IDKey(pw, salt, 2, 19456, 1, 32) // warm
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 5
	for range n {
		m.IDKey(pw, salt, 2, 19456, 1, 32)
	}
	runtime.ReadMemStats(&after)
	perHash := (after.TotalAlloc - before.TotalAlloc) / n
	if perHash > 64<<10 {
		t.Errorf("a hash in reused memory allocated %d bytes, want under 64 KiB (x/crypto allocates %d)", perHash, 19456*1024)
	}
}

func TestPanicsLikeXCrypto(t *testing.T) {
	for _, c := range []struct {
		time    uint32
		threads uint8
	}{{0, 1}, {1, 0}} {
		t.Run(fmt.Sprintf("t=%d,p=%d", c.time, c.threads), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			var m Memory
			m.IDKey([]byte("pw"), []byte("saltsalt"), c.time, 64, c.threads, 32)
		})
	}
}

// FuzzSameKeysAsXCrypto: any input and small parameters, one Memory reused
// across the whole run.
func FuzzSameKeysAsXCrypto(f *testing.F) {
	f.Add([]byte("password"), []byte("somesalt"), uint8(2), uint16(64), uint8(1), uint8(32))
	f.Add([]byte{}, []byte("saltsalt"), uint8(1), uint16(8), uint8(4), uint8(4))
	var m Memory
	f.Fuzz(func(t *testing.T, pw, salt []byte, time uint8, memory uint16, threads uint8, keyLen uint8) {
		tm := 1 + uint32(time%3)
		p := 1 + threads%4
		mem := 8*uint32(p) + uint32(memory%2048)
		kl := 4 + uint32(keyLen)
		want := argon2.IDKey(pw, salt, tm, mem, p, kl)
		if got := m.IDKey(pw, salt, tm, mem, p, kl); !bytes.Equal(got, want) {
			t.Fatalf("t=%d m=%d p=%d len=%d: key %x, x/crypto %x", tm, mem, p, kl, got, want)
		}
	})
}

// liveHeap stands for a server's live heap (session cache, dictionaries,
// templates): pointers the collector must mark on every cycle.
var liveHeap []*[8]int

func withLiveHeap(b *testing.B) {
	liveHeap = make([]*[8]int, 400_000) // ≈ 30 MB of small objects
	for i := range liveHeap {
		liveHeap[i] = new([8]int)
	}
	runtime.GC()
	b.Cleanup(func() { liveHeap = nil })
}

// BenchmarkIDKey compares x/crypto's IDKey (a fresh 19 MiB per call) with a
// reused Memory, at SellerGuard's default parameters, with a ≈ 30 MB live
// heap beside them as in a running server. Compare ns/op and B/op of the two
// sub-benchmarks of one run.
func BenchmarkIDKey(b *testing.B) {
	pw, salt := []byte("correct horse battery staple"), []byte("sixteen byte slt")
	b.Run("xcrypto", func(b *testing.B) {
		withLiveHeap(b)
		b.ReportAllocs()
		for b.Loop() {
			argon2.IDKey(pw, salt, 2, 19456, 1, 32)
		}
	})
	b.Run("reused", func(b *testing.B) {
		withLiveHeap(b)
		b.ReportAllocs()
		var m Memory
		m.IDKey(pw, salt, 2, 19456, 1, 32) // the pool's slots are warm
		for b.Loop() {
			m.IDKey(pw, salt, 2, 19456, 1, 32)
		}
	})
}
