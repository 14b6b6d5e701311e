package keys

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreateMakesPrivateKeyAndReusesIt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, want 0600", st.Mode().Perm())
	}
	k2, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if k1.MAC("code", "123456") != k2.MAC("code", "123456") {
		t.Fatal("reloaded key derives a different MAC")
	}
	if err := os.Chmod(filepath.Join(dir, FileName), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(dir); err == nil {
		t.Fatal("a world-readable key file was accepted")
	}
}

func TestMACSeparatesPurposesAndFields(t *testing.T) {
	k, _ := New(make([]byte, 32))
	if k.MAC("a", "x") == k.MAC("b", "x") {
		t.Fatal("different purposes gave the same MAC")
	}
	if k.MAC("a", "ab", "c") == k.MAC("a", "a", "bc") {
		t.Fatal("field boundaries are ambiguous")
	}
	if !EqualMAC(k.MAC("a", "x"), k.MAC("a", "x")) {
		t.Fatal("same input, different MAC")
	}
}

func TestSealOpenBindsAAD(t *testing.T) {
	k, _ := New(make([]byte, 32))
	s, err := k.Seal("phone", []byte("+15550001111"), []byte("user-1"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.Open("phone", s, []byte("user-1"))
	if err != nil || string(got) != "+15550001111" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open("phone", s, []byte("user-2")); err == nil {
		t.Fatal("opened with another row's binding")
	}
	if _, err := k.Open("totp", s, []byte("user-1")); err == nil {
		t.Fatal("opened under another purpose")
	}
	if _, err := k.Open("phone", "!!", nil); err == nil {
		t.Fatal("malformed input opened")
	}
}
