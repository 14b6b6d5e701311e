package keys

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func seqKey(from byte) []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = from + byte(i)
	}
	return b
}

// TestVersionedSealKnownAnswer checks the vectors of testdata, computed
// outside Go from the documented construction, both ways: this package
// opens them and, given the same nonce, produces them.
func TestVersionedSealKnownAnswer(t *testing.T) {
	k, err := NewVersions(map[int][]byte{1: seqKey(0), 2: seqKey(32)})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join("testdata", "sealed_versioned.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 6 {
			t.Fatalf("bad vector line %q", line)
		}
		ver, _ := strconv.Atoi(fs[0])
		purpose, aad, plain, want := fs[1], fs[2], fs[3], fs[5]
		nonce, err := hex.DecodeString(fs[4])
		if err != nil {
			t.Fatal(err)
		}
		got, err := k.sealNonce(ver, purpose, []byte(plain), []byte(aad), nonce)
		if err != nil || got != want {
			t.Errorf("seal v%d %s = %q, %v; want %q", ver, purpose, got, err, want)
		}
		opened, err := k.Open(purpose, want, []byte(aad))
		if err != nil || string(opened) != plain {
			t.Errorf("open vector v%d %s = %q, %v", ver, purpose, opened, err)
		}
		if v, err := VersionOf(want); err != nil || v != ver {
			t.Errorf("VersionOf = %d, %v; want %d", v, err, ver)
		}
		if _, err := k.Open(purpose, want, []byte(aad+"x")); err == nil {
			t.Error("vector opened with another binding")
		}
		n++
	}
	if n < 3 {
		t.Fatalf("only %d vectors read", n)
	}
}

func TestSealUsesNewestKeyAndOldValuesStillOpen(t *testing.T) {
	k1, _ := New(seqKey(0))
	legacyBody := func(s string) string { return s[strings.IndexByte(s, '.')+1:] }
	v1, err := k1.Seal("phone", []byte("+15550001111"), []byte("usr_1"))
	if err != nil || !strings.HasPrefix(v1, "v1.") {
		t.Fatalf("seal under version 1 = %q, %v", v1, err)
	}
	k, _ := NewVersions(map[int][]byte{1: seqKey(0), 2: seqKey(32)})
	v2, err := k.Seal("phone", []byte("+15550001111"), []byte("usr_1"))
	if err != nil || !strings.HasPrefix(v2, "v2.") || k.Current() != 2 {
		t.Fatalf("seal with two keys = %q, %v (current %d)", v2, err, k.Current())
	}
	for _, s := range []string{v1, legacyBody(v1), v2} { // legacy = unversioned, key 1
		if got, err := k.Open("phone", s, []byte("usr_1")); err != nil || string(got) != "+15550001111" {
			t.Errorf("open %q = %q, %v", s, got, err)
		}
	}
	if _, err := k1.Open("phone", v2, []byte("usr_1")); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("a value under an unknown key: %v", err)
	}
	// The version prefix cannot be swapped: v2's body under key 1 fails.
	if _, err := k.Open("phone", "v1."+legacyBody(v2), []byte("usr_1")); err == nil {
		t.Error("a relabelled value opened")
	}
	for _, bad := range []string{"v.abc", "v0.abc", "vx.abc", "v2.", "v02.abc", "2.abc", "v2.!!!"} {
		if _, err := k.Open("phone", bad, nil); err == nil {
			t.Errorf("malformed %q opened", bad)
		}
	}
	out, changed, err := k.Reseal(2, "phone", legacyBody(v1), []byte("usr_1"))
	if err != nil || !changed || !strings.HasPrefix(out, "v2.") {
		t.Fatalf("reseal legacy = %q, %v, %v", out, changed, err)
	}
	if again, changed, err := k.Reseal(2, "phone", out, []byte("usr_1")); err != nil || changed || again != out {
		t.Fatalf("reseal of a current value changed it: %v %v", changed, err)
	}
	// MACs stay under key 1 across rotations.
	if k.MAC("phone", "x") != k1.MAC("phone", "x") {
		t.Error("adding a key changed the MAC key")
	}
}

func TestKeyFileLegacyUpgradeAndAddVersion(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	legacy := base64.StdEncoding.EncodeToString(seqKey(0)) + "\n"
	if err := os.WriteFile(path, []byte(legacy), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := LoadOrCreate(dir)
	if err != nil || k.Current() != 1 {
		t.Fatalf("legacy file: %v (current %d)", err, k.Current())
	}
	old, _ := k.Seal("totp", []byte("secret"), []byte("tsm_1"))
	other, err := LoadOrCreate(dir) // a running server reading the same file
	if err != nil {
		t.Fatal(err)
	}
	if err := k.AddVersion(2); err != nil {
		t.Fatal(err)
	}
	if err := k.AddVersion(2); err != nil { // idempotent
		t.Fatal(err)
	}
	if k.Current() != 2 || len(k.Versions()) != 2 {
		t.Fatalf("after AddVersion: current %d, versions %v", k.Current(), k.Versions())
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode after rotation: %v %v", st.Mode().Perm(), err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "1 "+strings.TrimSpace(legacy)+"\n") {
		t.Fatalf("the old key is not kept as version 1:\n%s", b)
	}
	fresh, _ := k.Seal("totp", []byte("secret"), []byte("tsm_1"))
	// The other process learns the new key when it meets a value under it.
	if got, err := other.Open("totp", fresh, []byte("tsm_1")); err != nil || string(got) != "secret" {
		t.Fatalf("other process opening a new value: %q, %v", got, err)
	}
	if other.Current() != 2 {
		t.Fatalf("other process did not start sealing under the new key: %d", other.Current())
	}
	reloaded, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{old, fresh} {
		if got, err := reloaded.Open("totp", s, []byte("tsm_1")); err != nil || string(got) != "secret" {
			t.Fatalf("reloaded open %q: %q, %v", s, got, err)
		}
	}
	// A file that lost a key is refused by a process holding it.
	if err := os.WriteFile(path, []byte(legacy+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := reloaded.Reload(); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("a key file that lost a key: %v", err)
	}
}

func TestKeyFileRejectsGarbage(t *testing.T) {
	good := base64.StdEncoding.EncodeToString(seqKey(0))
	for name, body := range map[string]string{
		"empty":          "",
		"short key":      "1 " + base64.StdEncoding.EncodeToString([]byte("short")) + "\n",
		"no version 1":   "2 " + good + "\n",
		"duplicate":      "1 " + good + "\n1 " + good + "\n",
		"bad version":    "01 " + good + "\n",
		"zero version":   "0 " + good + "\n1 " + good + "\n",
		"not base64":     "1 !!!\n",
		"bare not a key": "hello\n",
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreate(dir); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
