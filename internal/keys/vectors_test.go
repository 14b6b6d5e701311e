package keys_test

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"testing"

	"github.com/sellerguard/sellerguard/internal/keys"
)

// Known-answer vectors: the stored formats of codes (MACs) and sealed fields
// are a contract with every database already written. A change to the key
// derivation, the MAC framing or the sealing format must fail here, not in
// a seller's account after an upgrade.
func vectorKeys(t *testing.T) *keys.Keys {
	t.Helper()
	master := make([]byte, 32)
	for i := range master {
		master[i] = byte(i)
	}
	k, err := keys.New(master)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestMACKnownAnswer(t *testing.T) {
	k := vectorKeys(t)
	const want = "6eWAySTp2VcXPkTcFczt_2zRACkiKh8y6s1XUudhbUE"
	if got := k.MAC("signup", "alice@example.com", "123456"); got != want {
		t.Fatalf("MAC = %s, want %s", got, want)
	}
	// The same value from the documented construction: HKDF-SHA256 (no
	// salt, info "sellerguard/mac/<purpose>") keys an HMAC-SHA256 over
	// each datum framed as "<len>:<datum>;".
	master := make([]byte, 32)
	for i := range master {
		master[i] = byte(i)
	}
	sub, err := hkdf.Key(sha256.New, master, nil, "sellerguard/mac/signup", 32)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, sub)
	m.Write([]byte("17:alice@example.com;6:123456;"))
	if got := base64.RawURLEncoding.EncodeToString(m.Sum(nil)); got != want {
		t.Fatalf("documented construction = %s, want %s", got, want)
	}
}

func TestSealedKnownAnswer(t *testing.T) {
	k := vectorKeys(t)
	// Sealed by this package (AES-256-GCM under HKDF info
	// "sellerguard/seal/totp", nonce first, base64url) with the row id
	// "tsm_1" bound in.
	const sealed = "f5cwybwXvL-mMKwjGFcipnaqKSLj9155TEyhqZit3VPfjvxWigzXSRr-TJg"
	got, err := k.Open("totp", sealed, []byte("tsm_1"))
	if err != nil || string(got) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Open(vector) = %q, %v", got, err)
	}
	if _, err := k.Open("totp", sealed, []byte("tsm_2")); err == nil {
		t.Fatal("the vector opens for another row")
	}
	if _, err := k.Open("phone", sealed, []byte("tsm_1")); err == nil {
		t.Fatal("the vector opens for another purpose")
	}
}
