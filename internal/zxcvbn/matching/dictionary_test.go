package matching

import (
	"runtime"
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/zxcvbn/frequency"
)

// TestRankedDictionaryRanks: every word of every list has its line number
// as its rank, words not in a list are not found, and user inputs are
// ranked by position with a later copy winning (upstream's map semantics).
func TestRankedDictionaryRanks(t *testing.T) {
	dicts := loadDefaultDictionnaries().rankedDictionaries
	for name, list := range frequency.Lists {
		d := dicts[name]
		for i, w := range strings.Split(strings.TrimSuffix(list, "\n"), "\n") {
			if r, ok := d.rank(w); !ok || r != i+1 {
				t.Fatalf("%s: %q has rank %d (found %v), want %d", name, w, r, ok, i+1)
			}
			if _, ok := d.rank(w + "\n"); ok {
				t.Fatalf("%s: %q found with its separator", name, w)
			}
		}
		for _, w := range []string{"", "\n", "zzqxjv", "Password"} {
			if r, ok := d.rank(w); ok {
				t.Errorf("%s: %q found with rank %d", name, w, r)
			}
		}
	}
	u := buildRankedDict([]string{"Bench", "goods", "BENCH", "", "a\x00b"})
	for w, want := range map[string]int{"bench": 3, "goods": 2, "": 4, "a\x00b": 5} {
		if r, ok := u.rank(w); !ok || r != want {
			t.Errorf("user input %q: rank %d (found %v), want %d", w, r, ok, want)
		}
	}
	for _, w := range []string{"Bench", "a", "b", "benc"} {
		if _, ok := u.rank(w); ok {
			t.Errorf("user input %q found", w)
		}
	}
	if _, ok := buildRankedDict(nil).rank("x"); ok {
		t.Error("empty dictionary found a word")
	}
}

// TestDefaultDictionariesAreCompact bounds what indexing the default lists
// allocates: upstream's maps and string headers took about 5 MB of heap
// for the same words.
func TestDefaultDictionariesAreCompact(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d := loadDefaultDictionnaries()
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("default dictionaries: %d lists, %.2f MB allocated", len(d.rankedDictionaries), float64(allocated)/1e6)
	if allocated > 1_500_000 {
		t.Errorf("indexing the default lists allocated %d bytes, want at most 1.5 MB", allocated)
	}
	runtime.KeepAlive(d)
}
