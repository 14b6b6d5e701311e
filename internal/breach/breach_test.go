package breach

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func hashHex(pw string) string {
	h := sha1.Sum([]byte(pw))
	return strings.ToUpper(hex.EncodeToString(h[:]))
}

func TestParseLine(t *testing.T) {
	h := hashHex("password")
	for _, tc := range []struct {
		line   string
		ok     bool
		blank  bool
		count  uint64
		prefix uint64
	}{
		{line: h + ":3", ok: true, count: 3, prefix: 0x5BAA61E4C9B93F3F},
		{line: strings.ToLower(h) + ":10\r", ok: true, count: 10, prefix: 0x5BAA61E4C9B93F3F},
		{line: "", ok: true, blank: true},
		{line: "\r", ok: true, blank: true},
		{line: h, ok: false},
		{line: h + ":", ok: false},
		{line: h + ":x", ok: false},
		{line: h + ":1 ", ok: false},
		{line: h[:39] + "G:1", ok: false},
		{line: h[:32] + ":1", ok: false}, // an NTLM file
		{line: " " + h + ":1", ok: false},
		{line: h + ":99999999999999999999", ok: false},
	} {
		prefix, count, blank, err := parseLine([]byte(tc.line))
		if (err == nil) != tc.ok || blank != tc.blank || (tc.ok && !tc.blank && (count != tc.count || prefix != tc.prefix)) {
			t.Errorf("parseLine(%q) = %x, %d, %v, %v", tc.line, prefix, count, blank, err)
		}
	}
}

func FuzzParseLine(f *testing.F) {
	f.Add([]byte(hashHex("password") + ":3"))
	f.Add([]byte(strings.ToLower(hashHex("x")) + ":0\r"))
	f.Add([]byte(":"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, line []byte) {
		prefix, _, blank, err := parseLine(line)
		if err != nil || blank {
			return
		}
		// Whatever parses is 40 hex digits, ':' and digits; the prefix is
		// the first 16 of them.
		s := strings.TrimSuffix(string(line), "\r")
		if len(s) < 42 || s[40] != ':' {
			t.Fatalf("accepted %q", line)
		}
		b, herr := hex.DecodeString(s[:40])
		if herr != nil {
			t.Fatalf("accepted non-hex %q", line)
		}
		var want uint64
		for _, c := range b[:8] {
			want = want<<8 | uint64(c)
		}
		if want != prefix {
			t.Fatalf("prefix %x, want %x", prefix, want)
		}
	})
}

// writeHIBP writes a Pwned Passwords style file of the SHA-1 hashes of
// pws, plus extra lines, and returns its path.
func writeHIBP(t testing.TB, dir string, pws []string, extra ...string) string {
	t.Helper()
	var b bytes.Buffer
	for i, pw := range pws {
		h := hashHex(pw)
		if i%2 == 1 {
			h = strings.ToLower(h)
		}
		eol := "\n"
		if i%3 == 0 {
			eol = "\r\n"
		}
		fmt.Fprintf(&b, "%s:%d%s", h, i+1, eol)
	}
	for _, e := range extra {
		b.WriteString(e)
	}
	p := filepath.Join(dir, "pwned.txt")
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func importFile(t testing.TB, src, dst string) (Stats, error) {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	return Import(context.Background(), f, dst, nil)
}

func TestImportRoundTrip(t *testing.T) {
	dir := t.TempDir()
	var pws []string
	for i := range 5000 {
		pws = append(pws, fmt.Sprintf("pw-%d", i))
	}
	pws = append(pws, "password", "password") // a duplicate
	src := writeHIBP(t, dir, pws,
		"not a hash line\n",
		"\n",
		hashHex("x")[:39]+"Z:1\n",
		strings.Repeat("A", 5000)+"\n", // over-long
		hashHex("last-line-without-newline")+":7")
	dst := filepath.Join(dir, "sub", "breached.idx")
	_ = os.MkdirAll(filepath.Dir(dst), 0o700)
	var calls, lastDone, lastTotal int64
	f, _ := os.Open(src)
	st, err := Import(context.Background(), f, dst, func(done, total int64) { calls++; lastDone, lastTotal = done, total })
	_ = f.Close()
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(src)
	if calls == 0 || lastDone != fi.Size() || lastTotal != fi.Size() {
		t.Errorf("progress: %d calls, last %d/%d, file %d", calls, lastDone, lastTotal, fi.Size())
	}
	if st.Hashes != 5002 || st.Duplicates != 1 || st.Malformed != 3 || st.Bytes != fi.Size() {
		t.Errorf("stats = %+v", st)
	}
	if len(st.Errors) != 3 || st.Errors[0].Line != 5003 || st.Errors[1].Line != 5005 || st.Errors[2].Line != 5006 {
		t.Errorf("errors = %v", st.Errors)
	}
	for _, e := range st.Errors {
		if strings.Contains(e.Error(), "AAAA") {
			t.Errorf("error repeats the line: %v", e)
		}
	}
	if st.IndexBytes != entriesBase+5002*entrySize {
		t.Errorf("index bytes %d", st.IndexBytes)
	}
	for _, open := range []func(string) (*Index, error){Open, Load} {
		ix, err := open(dst)
		if err != nil {
			t.Fatal(err)
		}
		if ix.Len() != 5002 || ix.SizeBytes() != st.IndexBytes {
			t.Errorf("Len %d Size %d", ix.Len(), ix.SizeBytes())
		}
		for _, pw := range append(pws, "last-line-without-newline") {
			if !ix.ContainsPassword(pw) {
				t.Fatalf("%q not found", pw)
			}
		}
		for i := range 100000 {
			if pw := fmt.Sprintf("other-%d", i); ix.ContainsPassword(pw) {
				t.Fatalf("%q found", pw)
			}
		}
		if ok, err := ix.Breached(context.Background(), "password"); !ok || err != nil {
			t.Errorf("Breached = %v, %v", ok, err)
		}
		if err := ix.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(filepath.Dir(dst))
	if len(entries) != 1 {
		t.Errorf("left in the directory: %v", entries)
	}
}

// HIBP hashes the bytes as typed; SellerGuard stores the NFKC form. Both
// forms are looked up.
func TestContainsPasswordNFKC(t *testing.T) {
	dir := t.TempDir()
	decomposed := "cafe\u0301-latte"
	composed := "caf\u00e9-latte"
	fullwidth := "ｆｕｌｌｗｉｄｔｈ"
	src := writeHIBP(t, dir, []string{decomposed, "fullwidth"})
	dst := filepath.Join(dir, "idx")
	if _, err := importFile(t, src, dst); err != nil {
		t.Fatal(err)
	}
	ix, err := Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ix.Close() }()
	if !ix.ContainsPassword(decomposed) {
		t.Error("raw decomposed form not found")
	}
	if ix.ContainsPassword(composed) {
		t.Error("composed form found though only the decomposed one is listed")
	}
	if !ix.ContainsPassword(fullwidth) {
		t.Error("fullwidth form not found through NFKC")
	}
}

func TestImportRejectsGarbage(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "idx")
	if err := os.WriteFile(dst, []byte("old index"), 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := strings.Repeat("this is not a pwned passwords file\n", MaxMalformed+5)
	st, err := Import(context.Background(), strings.NewReader(garbage), dst, nil)
	if !errors.Is(err, ErrTooManyMalformed) || st.Malformed != MaxMalformed+1 || len(st.Errors) != maxReportedErrors {
		t.Fatalf("err = %v, stats %+v", err, st)
	}
	if _, err := Import(context.Background(), strings.NewReader("\n\n"), dst, nil); err == nil {
		t.Fatal("empty input accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	big := strings.Repeat(hashHex("x")+":1\n", 70000)
	if _, err := Import(ctx, strings.NewReader(big), dst, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled import: %v", err)
	}
	// The old file is untouched and nothing else is left.
	if b, _ := os.ReadFile(dst); string(b) != "old index" {
		t.Fatalf("dst changed to %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left in the directory: %v", entries)
	}
}

func TestOpenRejectsCorruptIndex(t *testing.T) {
	dir := t.TempDir()
	src := writeHIBP(t, dir, []string{"a", "b", "c"})
	dst := filepath.Join(dir, "idx")
	if _, err := importFile(t, src, dst); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(dst)
	for name, mutate := range map[string]func([]byte) []byte{
		"short":     func(b []byte) []byte { return b[:100] },
		"magic":     func(b []byte) []byte { b[0] = 'X'; return b },
		"truncated": func(b []byte) []byte { return b[:len(b)-1] },
		"table":     func(b []byte) []byte { b[headerSize+8*100] = 0xff; return b },
		"count":     func(b []byte) []byte { b[16] = 9; return b },
	} {
		p := filepath.Join(dir, name)
		_ = os.WriteFile(p, mutate(append([]byte(nil), good...)), 0o600)
		if _, err := Open(p); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: Open = %v, want ErrFormat", name, err)
		}
		if _, err := Load(p); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: Load = %v, want ErrFormat", name, err)
		}
	}
	if _, err := Open(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}

// rangeServer serves the range API for the hashes of pws.
func rangeServer(t *testing.T, pws []string, fail *atomic.Bool, delay time.Duration) (*httptest.Server, *atomic.Int64, *atomic.Bool) {
	var calls atomic.Int64
	var sawPadding atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Add-Padding") == "true" {
			sawPadding.Store(true)
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if fail != nil && fail.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		prefix, ok := strings.CutPrefix(r.URL.Path, "/range/")
		if !ok || len(prefix) != 5 {
			http.NotFound(w, r)
			return
		}
		for _, pw := range pws {
			if h := hashHex(pw); h[:5] == prefix {
				fmt.Fprintf(w, "%s:%d\r\n", h[5:], 42)
			}
		}
		// Filler and padding (count 0) lines.
		fmt.Fprintf(w, "%s:1\r\n", strings.Repeat("0", 35))
		if r.Header.Get("Add-Padding") == "true" {
			fmt.Fprintf(w, "%s:0\r\n", hashHex("padded-out")[5:])
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &calls, &sawPadding
}

func TestRangeClient(t *testing.T) {
	ctx := context.Background()
	var fail atomic.Bool
	srv, calls, sawPadding := rangeServer(t, []string{"hunter2", "cafe\u0301"}, &fail, 0)
	c := &RangeClient{BaseURL: srv.URL + "/", Client: srv.Client(), Padding: true}
	for pw, want := range map[string]bool{"hunter2": true, "correct horse": false, "padded-out": false, "cafe\u0301": true} {
		got, err := c.Breached(ctx, pw)
		if err != nil || got != want {
			t.Errorf("Breached(%q) = %v, %v; want %v", pw, got, err, want)
		}
	}
	if !sawPadding.Load() {
		t.Error("no Add-Padding header sent")
	}
	n := calls.Load()
	// Composed é: the raw form is not listed but its NFKC form is the same
	// bytes, so one request; "ｈｕｎｔｅｒ2" is found through NFKC.
	if got, err := c.Breached(ctx, "ｈｕｎｔｅｒ2"); !got || err != nil {
		t.Errorf("fullwidth: %v, %v", got, err)
	}
	if calls.Load()-n != 2 {
		t.Errorf("fullwidth took %d requests, want 2 (raw and NFKC)", calls.Load()-n)
	}

	fail.Store(true)
	open := &RangeClient{BaseURL: srv.URL, Client: srv.Client(), FailOpen: true}
	if got, err := open.Breached(ctx, "hunter2"); got || err != nil {
		t.Errorf("fail open: %v, %v", got, err)
	}
	closed := &RangeClient{BaseURL: srv.URL, Client: srv.Client()}
	if _, err := closed.Breached(ctx, "hunter2"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("fail closed: %v", err)
	}
}

func TestRangeClientTimeoutAndBadAnswers(t *testing.T) {
	ctx := context.Background()
	slow, _, _ := rangeServer(t, nil, nil, 2*time.Second)
	c := &RangeClient{BaseURL: slow.URL, Client: slow.Client(), Timeout: 50 * time.Millisecond}
	start := time.Now()
	if _, err := c.Breached(ctx, "x"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("timeout: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("timeout took %v", d)
	}
	c.FailOpen = true
	if got, err := c.Breached(ctx, "x"); got || err != nil {
		t.Errorf("timeout, fail open: %v %v", got, err)
	}
	for name, body := range map[string]string{
		"garbage":  "<html>hello</html>\n",
		"empty":    "",
		"long":     strings.Repeat("A", 1000) + "\n",
		"badcount": strings.Repeat("0", 35) + ":x\n",
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, body) }))
		c := &RangeClient{BaseURL: srv.URL, Client: srv.Client()}
		if _, err := c.Breached(ctx, "x"); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: %v", name, err)
		}
		srv.Close()
	}
	if _, err := (&RangeClient{BaseURL: "http://127.0.0.1:1", Timeout: time.Second}).Breached(ctx, "x"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("connection refused: %v", err)
	}
}

type fixed struct {
	bad   bool
	err   error
	calls int
}

func (f *fixed) Breached(context.Context, string) (bool, error) { f.calls++; return f.bad, f.err }

func TestAny(t *testing.T) {
	ctx := context.Background()
	down := errors.New("down")
	yes, no, broken := &fixed{bad: true}, &fixed{}, &fixed{err: down}
	if got, err := Any(no, broken, yes).Breached(ctx, "x"); !got || err != nil {
		t.Errorf("any yes: %v %v", got, err)
	}
	if got, err := Any(no, broken).Breached(ctx, "x"); got || !errors.Is(err, down) {
		t.Errorf("any error: %v %v", got, err)
	}
	if got, err := Any(nil, no).Breached(ctx, "x"); got || err != nil {
		t.Errorf("any no: %v %v", got, err)
	}
	yes.calls = 0
	later := &fixed{}
	_, _ = Any(yes, later).Breached(ctx, "x")
	if later.calls != 0 {
		t.Error("asked the next checker after a yes")
	}
}

// A dense bucket (every hash starting with the same 16 bits) exercises
// the interpolation and galloping of Contains against a map.
func TestContainsDenseBucket(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(3, 4))
	var b bytes.Buffer
	present := map[[20]byte]bool{}
	var list [][20]byte
	for i := range 30000 {
		var h [20]byte
		h[0], h[1] = 0xAB, 0xCD
		for j := 2; j < 20; j++ {
			h[j] = byte(r.Uint32())
		}
		if i < 40 { // clusters at the ends of the key range
			h[2] = byte(i % 2 * 0xff)
		}
		present[h] = true
		list = append(list, h)
		fmt.Fprintf(&b, "%X:1\n", h[:])
	}
	dst := filepath.Join(dir, "idx")
	if _, err := Import(context.Background(), &b, dst, nil); err != nil {
		t.Fatal(err)
	}
	ix, err := Load(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ix.Close() }()
	for _, h := range list {
		if !ix.Contains(h) {
			t.Fatalf("%X not found", h)
		}
	}
	for i := range 200000 {
		var h [20]byte
		h[0], h[1] = 0xAB, 0xCD
		for j := 2; j < 20; j++ {
			h[j] = byte(r.Uint32())
		}
		if i%3 == 0 {
			h[2] = byte(i % 2 * 0xff)
		}
		if i%5 == 0 { // a neighbour of a present key
			h = list[r.IntN(len(list))]
			h[7] ^= 1
		}
		if ix.Contains(h) != present[h] {
			t.Fatalf("Contains(%X) = %v", h, !present[h])
		}
	}
}
