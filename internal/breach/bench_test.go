package breach

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The breach benchmarks build an index from a generated file in the Pwned
// Passwords format: 50 MB by default, or SELLERGUARD_BENCH_BREACH_GB
// gigabytes (e.g. 1) when that variable is set. The file, the index and the
// baselines are made once per process and removed by TestMain.
var bench struct {
	once    sync.Once
	dir     string
	idx     string
	inBytes int64
	genTime time.Duration
	st      Stats
	keys    []uint64   // every 64-bit prefix, sorted (baseline)
	queries [][20]byte // half present, half absent
	mapKeys map[uint64]struct{}
	err     error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.dir != "" {
		_ = os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

func benchSetup(b *testing.B) {
	bench.once.Do(func() {
		size := int64(50e6)
		if v := os.Getenv("SELLERGUARD_BENCH_BREACH_GB"); v != "" {
			gb, err := strconv.ParseFloat(v, 64)
			if err != nil || gb <= 0 {
				bench.err = fmt.Errorf("SELLERGUARD_BENCH_BREACH_GB=%q", v)
				return
			}
			size = int64(gb * 1e9)
		}
		bench.dir, bench.err = os.MkdirTemp("", "sellerguard-breach-bench-")
		if bench.err != nil {
			return
		}
		src := filepath.Join(bench.dir, "pwned-passwords-sha1.txt")
		start := time.Now()
		var hits [][20]byte
		bench.keys, hits, bench.err = generatePwned(src, size)
		if bench.err != nil {
			return
		}
		bench.genTime = time.Since(start)
		fi, _ := os.Stat(src)
		bench.inBytes = fi.Size()
		f, err := os.Open(src)
		if err != nil {
			bench.err = err
			return
		}
		bench.idx = filepath.Join(bench.dir, "breached.idx")
		bench.st, bench.err = Import(context.Background(), f, bench.idx, nil)
		_ = f.Close()
		_ = os.Remove(src)
		if bench.err != nil {
			return
		}
		slices.Sort(bench.keys)
		bench.keys = slices.Compact(bench.keys)
		r := rand.New(rand.NewPCG(7, 8))
		for i := range 1 << 20 {
			if i%2 == 0 {
				bench.queries = append(bench.queries, hits[r.IntN(len(hits))])
			} else {
				var q [20]byte
				for j := range q {
					q[j] = byte(r.Uint32())
				}
				bench.queries = append(bench.queries, q)
			}
		}
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
}

// generatePwned writes about size bytes of random "HASH:COUNT\r\n" lines
// and returns every hash's 64-bit prefix and a sample of whole hashes.
func generatePwned(path string, size int64) (keys []uint64, sample [][20]byte, err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = f.Close() }()
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	line := make([]byte, 0, 64)
	var h [20]byte
	var written int64
	for n := 0; written < size; n++ {
		for j := 0; j < 20; j += 8 {
			v := r.Uint64()
			for k := 0; k < 8 && j+k < 20; k++ {
				h[j+k] = byte(v >> (8 * k))
			}
		}
		line = line[:40]
		hex.Encode(line, h[:])
		for i := range line {
			if line[i] >= 'a' {
				line[i] -= 'a' - 'A'
			}
		}
		line = append(line, ':')
		line = strconv.AppendUint(line, uint64(1+r.IntN(100000)), 10)
		line = append(line, '\r', '\n')
		_, _ = w.Write(line)
		written += int64(len(line))
		keys = append(keys, binary.BigEndian.Uint64(h[:8]))
		if n%64 == 0 {
			sample = append(sample, h)
		}
	}
	return keys, sample, w.Flush()
}

func reportSetup(b *testing.B) {
	b.ReportMetric(float64(bench.inBytes)/1e6, "input-MB")
	b.ReportMetric(float64(bench.st.Hashes), "hashes")
	b.ReportMetric(bench.st.Elapsed.Seconds(), "import-s")
	b.ReportMetric(float64(bench.inBytes)/1e6/bench.st.Elapsed.Seconds(), "import-MB/s")
	b.ReportMetric(float64(bench.st.IndexBytes)/1e6, "index-MB")
}

var sink bool

// timeQueries returns the mean time of one query of f over n queries.
func timeQueries(n int, f func([20]byte) bool) time.Duration {
	qs := bench.queries
	start := time.Now()
	found := false
	for i := range n {
		found = f(qs[i&(len(qs)-1)]) != found
	}
	sink = found
	return time.Since(start) / time.Duration(n)
}

func sortedContains(h [20]byte) bool {
	k := binary.BigEndian.Uint64(h[:8])
	_, ok := slices.BinarySearch(bench.keys, k)
	return ok
}

// BenchmarkBreachContains queries the index opened with Open (mmap), and
// reports in the same run a plain binary search over a sorted in-memory
// []uint64 of the same 64-bit keys as the baseline, and the ratio.
func BenchmarkBreachContains(b *testing.B) {
	benchSetup(b)
	ix, err := Open(bench.idx)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = ix.Close() }()
	qs := bench.queries
	b.ResetTimer()
	found := false
	for i := 0; b.Loop(); i++ {
		found = ix.Contains(qs[i&(len(qs)-1)]) != found
	}
	sink = found
	b.StopTimer()
	const n = 1 << 21
	own := timeQueries(n, ix.Contains)
	base := timeQueries(n, sortedContains)
	b.ReportMetric(float64(base.Nanoseconds()), "baseline-sorted-slice-ns/query")
	b.ReportMetric(float64(own)/float64(base), "ratio-vs-sorted-slice")
	reportSetup(b)
}

// BenchmarkBreachContainsVariants compares the index read into the heap
// (Load), the sorted slice, and a Go map of the same keys.
func BenchmarkBreachContainsVariants(b *testing.B) {
	benchSetup(b)
	qs := bench.queries
	run := func(b *testing.B, f func([20]byte) bool) {
		found := false
		for i := 0; b.Loop(); i++ {
			found = f(qs[i&(len(qs)-1)]) != found
		}
		sink = found
	}
	b.Run("index-mmap", func(b *testing.B) {
		ix, err := Open(bench.idx)
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = ix.Close() }()
		run(b, ix.Contains)
	})
	b.Run("index-heap", func(b *testing.B) {
		ix, err := Load(bench.idx)
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = ix.Close() }()
		run(b, ix.Contains)
	})
	b.Run("baseline-sorted-slice", func(b *testing.B) { run(b, sortedContains) })
	b.Run("baseline-map", func(b *testing.B) {
		if bench.mapKeys == nil {
			bench.mapKeys = make(map[uint64]struct{}, len(bench.keys))
			for _, k := range bench.keys {
				bench.mapKeys[k] = struct{}{}
			}
		}
		b.ResetTimer()
		run(b, func(h [20]byte) bool {
			_, ok := bench.mapKeys[binary.BigEndian.Uint64(h[:8])]
			return ok
		})
	})
	b.Run("password-sha1-and-nfkc", func(b *testing.B) {
		ix, err := Open(bench.idx)
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = ix.Close() }()
		found := false
		for i := 0; b.Loop(); i++ {
			found = ix.ContainsPassword("correct horse "+strconv.Itoa(i&1023)) != found
		}
		sink = found
	})
}

var _ = sha1.Size
