package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// commonFileSHA256 is the shipped list's digest (data/SOURCE.md).
const commonFileSHA256 = "7af2088679dbb7cb7ab9df5b0b4c1e42bce350f5d3e5c9cb0c362a915403f274"

// TestShippedCommonListFile: the embedded file is the one data/SOURCE.md
// describes, and reading it takes no heap to speak of: the list is read in
// place, from the binary's read-only data.
func TestShippedCommonListFile(t *testing.T) {
	sum := sha256.Sum256([]byte(commonFile))
	if got := hex.EncodeToString(sum[:]); got != commonFileSHA256 {
		t.Errorf("data/common-passwords.fcl has sha256 %s, data/SOURCE.md says %s", got, commonFileSHA256)
	}
	// Averaged over many reads, so that what another goroutine of the
	// test binary allocates meanwhile does not count as the list's.
	const reads = 100
	var l *CommonList
	var err error
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range reads {
		l, err = parseCommonList(commonFile)
	}
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if allocated := (after.TotalAlloc - before.TotalAlloc) / reads; allocated > 4096 {
		t.Errorf("reading the shipped list allocated %d bytes, want none but the list header", allocated)
	}
	if n := testing.AllocsPerRun(reads, func() { l, err = parseCommonList(commonFile) }); n > 1 {
		t.Errorf("reading the shipped list made %.0f allocations, want one (the list header)", n)
	}
	if l.Len() != 864601 || !l.Contains("password") || !l.Contains("zxcvbnm") || l.Contains("zq7!vb9#lm2k") {
		t.Errorf("shipped list: %d entries, or a wrong answer", l.Len())
	}
}

// TestCommonListBinaryForm: AppendBinary's form reads back as the same
// list, and malformed forms are refused.
func TestCommonListBinaryForm(t *testing.T) {
	words := []string{"123456", "abc", "abcd", "abcde", "dragon", "monkey", "password", "password1", "qwerty", "zebra"}
	for _, n := range []int{0, 1, blockSize - 1, blockSize, blockSize + 1, len(words)} {
		in := NewCommonList(words[:min(n, len(words))])
		if n > len(words) {
			continue
		}
		b, err := in.AppendBinary([]byte("prefix"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "prefix"+commonMagic) {
			t.Fatalf("AppendBinary did not append: %q", b[:20])
		}
		out, err := parseCommonList(string(b[len("prefix"):]))
		if n == 0 {
			if err != nil || out.Len() != 0 || out.Contains("abc") {
				t.Errorf("empty list: %v, %d entries", err, out.Len())
			}
			continue
		}
		if err != nil {
			t.Fatalf("%d entries: %v", n, err)
		}
		if out.Len() != n {
			t.Errorf("%d entries read back as %d", n, out.Len())
		}
		for i, w := range words {
			if got := out.Contains(w); got != (i < n) {
				t.Errorf("%d entries: Contains(%q) = %v", n, w, got)
			}
		}
	}
	var many []string // three blocks
	for i := range 2*blockSize + 3 {
		many = append(many, fmt.Sprintf("word%03d", i))
	}
	good, _ := NewCommonList(many).AppendBinary(nil)
	if _, err := parseCommonList(string(good)); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{
		"empty":            "",
		"other magic":      "SGCL0002" + string(good[8:]),
		"truncated header": string(good[:10]),
		"truncated index":  string(good[:17]),
		"wrong count":      commonMagic + "\x40\x00\x00\x00" + string(good[12:]),
		"block out of place": func() string {
			b := []byte(string(good))
			b[16+4] = 0 // the second block would start where the first does
			b[16+5], b[16+6], b[16+7] = 0, 0, 0
			return string(b)
		}(),
	} {
		if _, err := parseCommonList(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestCommonContainsAllocatesNothing: a lookup, found or not, allocates
// nothing (it runs for every variant of every password checked).
func TestCommonContainsAllocatesNothing(t *testing.T) {
	l, err := DefaultCommonList()
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"password", "zq7!vb9#lm2k", "iloveyou2024", strings.Repeat("a", 200)}
	i := 0
	if n := testing.AllocsPerRun(200, func() { l.Contains(keys[i%len(keys)]); i++ }); n != 0 {
		t.Errorf("Contains allocates %.1f times per lookup", n)
	}
}
