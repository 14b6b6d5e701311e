package policy

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/breach"
)

// benchInputs is a mix of what people type: random, passphrases, common
// passwords with decorations, passwords with public facts.
var benchInputs = []string{
	"Qx7#mK2!pL9&vR4$", "violet-otter-lantern-42", "Password2024!", "P@ssw0rd123",
	"the quiet otter paints violet lanterns beside a frozen harbour", "janedoe-Vortex-Quill",
	"BlueHeronCrafts2024", "glacier-5551234567-fox", "Tr0ub4dor&3", "correct horse battery staple",
	"sunshine!!", "w7Yh2pQ9zR4mK8vN", "Summer2024!", "iloveyou", "dragon1987", "kX9$eLm2Wq7!",
}

var benchContext = Context{
	Email:         "jane.doe@acme-widgets.example",
	Names:         []string{"Jane Doe"},
	BusinessNames: []string{"Blue Heron Crafts"},
	Phone:         "+1 555 123 4567",
}

// benchIndex builds a small breached-password index (100,000 hashes).
func benchIndex(b *testing.B) *breach.Index {
	dir := b.TempDir()
	var buf bytes.Buffer
	for i := range 100000 {
		h := sha1.Sum([]byte(fmt.Sprintf("breached-%d", i)))
		fmt.Fprintf(&buf, "%s:%d\n", strings.ToUpper(hex.EncodeToString(h[:])), i+1)
	}
	p := filepath.Join(dir, "idx")
	if _, err := breach.Import(context.Background(), &buf, p, nil); err != nil {
		b.Fatal(err)
	}
	ix, err := breach.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ix.Close() })
	return ix
}

// BenchmarkCheck is the throughput of Check with the shipped list, a
// breached-password index and the strength estimate, on one goroutine.
func BenchmarkCheck(b *testing.B) {
	p := newTestPolicy(b, Options{}, benchIndex(b))
	ctx := context.Background()
	start := time.Now()
	n := 0
	for b.Loop() {
		p.Check(ctx, benchInputs[n%len(benchInputs)], benchContext)
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "checks/s")
}

// BenchmarkCheckParallel is the same on every core.
func BenchmarkCheckParallel(b *testing.B) {
	p := newTestPolicy(b, Options{}, benchIndex(b))
	ctx := context.Background()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			p.Check(ctx, benchInputs[i%len(benchInputs)], benchContext)
			i++
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "checks/s")
}

// BenchmarkCheckWithoutStrength shows what the list and fact checks cost
// on their own (MinScore 0 turns zxcvbn off).
func BenchmarkCheckWithoutStrength(b *testing.B) {
	cl, err := DefaultCommonList()
	if err != nil {
		b.Fatal(err)
	}
	p := New(Options{PlatformWords: defaultPlatformWords}, cl, benchIndex(b))
	ctx := context.Background()
	start := time.Now()
	n := 0
	for b.Loop() {
		p.Check(ctx, benchInputs[n%len(benchInputs)], benchContext)
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "checks/s")
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkCommonListLoad reads the shipped list (in place, from the
// binary's read-only data) and reports the heap it takes (runtime.MemStats
// delta), against a map[string]struct{} of the same entries as the
// baseline.
func BenchmarkCommonListLoad(b *testing.B) {
	var l *CommonList
	var kept uint64
	for b.Loop() {
		before := heapInUse()
		var err error
		l, err = parseCommonList(commonFile)
		if err != nil {
			b.Fatal(err)
		}
		kept = heapInUse() - before
	}
	b.StopTimer()
	before := heapInUse()
	m := make(map[string]struct{})
	l.Entries(func(s string) bool { m[s] = struct{}{}; return true })
	mapBytes := heapInUse() - before
	b.ReportMetric(float64(l.Len()), "entries")
	b.ReportMetric(float64(len(commonFile))/1e6, "embedded-MB")
	b.ReportMetric(float64(kept)/1e6, "heap-MB")
	b.ReportMetric(float64(mapBytes)/1e6, "baseline-map-heap-MB")
	runtime.KeepAlive(m)
	runtime.KeepAlive(l)
}

// BenchmarkCommonContains looks up the variants of the bench inputs in the
// front-coded list, and in a map of the same entries (baseline).
func BenchmarkCommonContains(b *testing.B) {
	l, err := DefaultCommonList()
	if err != nil {
		b.Fatal(err)
	}
	var keys []string
	for _, in := range benchInputs {
		keys = append(keys, Variants(in)...)
	}
	b.Run("front-coded", func(b *testing.B) {
		i := 0
		for b.Loop() {
			l.Contains(keys[i%len(keys)])
			i++
		}
	})
	b.Run("baseline-map", func(b *testing.B) {
		m := make(map[string]struct{}, l.Len())
		l.Entries(func(s string) bool { m[s] = struct{}{}; return true })
		b.ResetTimer()
		i := 0
		for b.Loop() {
			_ = m[keys[i%len(keys)]]
			i++
		}
	})
}
