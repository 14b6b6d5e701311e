// Package keys guards the instance secret: one 256-bit key, created on first
// start in the data directory with mode 0600, from which purpose-bound
// subkeys are derived with HKDF-SHA256. Codes (sign-up, recovery, backup) are
// stored as HMACs under it, so a stolen database alone cannot brute-force a
// six-digit code offline; phone numbers and TOTP secrets are sealed with
// AES-256-GCM under it, with the row they belong to bound in as associated data.
//
// Caveat: every instance sharing a database must share this key file (mount
// the same data directory or copy the file). Losing it makes pending codes and
// sealed fields unreadable; it never makes passwords unreadable (they are
// Argon2id hashes, independent of this key).
package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FileName is the key file's name inside the data directory.
const FileName = "secret.key"

// Keys derives purpose-bound keys from the instance secret.
type Keys struct {
	master []byte
}

// New returns Keys for a 32-byte master secret (tests use it directly).
func New(master []byte) (*Keys, error) {
	if len(master) != 32 {
		return nil, errors.New("keys: master secret must be 32 bytes")
	}
	return &Keys{master: append([]byte(nil), master...)}, nil
}

// LoadOrCreate reads dataDir/secret.key, creating the directory (0700) and the
// key (0600, 32 random bytes, base64) when missing. It refuses a key file that
// others can read.
func LoadOrCreate(dataDir string) (*Keys, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("keys: create data dir: %w", err)
	}
	path := filepath.Join(dataDir, FileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		master := make([]byte, 32)
		if _, err := rand.Read(master); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			if errors.Is(err, fs.ErrExist) { // another process won the race
				return LoadOrCreate(dataDir)
			}
			return nil, fmt.Errorf("keys: create key file: %w", err)
		}
		if _, err := f.WriteString(base64.StdEncoding.EncodeToString(master) + "\n"); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("keys: write key file: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("keys: write key file: %w", err)
		}
		return New(master)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: read key file: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("keys: %s is readable by others (mode %v); run chmod 600 on it", path, st.Mode().Perm())
	}
	master, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(master) != 32 {
		return nil, fmt.Errorf("keys: %s does not hold a base64 32-byte key", path)
	}
	return New(master)
}

func (k *Keys) derive(purpose string) []byte {
	key, err := hkdf.Key(sha256.New, k.master, nil, "sellerguard/"+purpose, 32)
	if err != nil {
		panic(err) // only for lengths HKDF cannot produce; 32 always works
	}
	return key
}

// MAC returns HMAC-SHA256 of data under the subkey for purpose, base64url.
func (k *Keys) MAC(purpose string, data ...string) string {
	m := hmac.New(sha256.New, k.derive("mac/"+purpose))
	for _, d := range data {
		fmt.Fprintf(m, "%d:%s;", len(d), d)
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// EqualMAC compares two MACs in constant time.
func EqualMAC(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b))
}

// Seal encrypts plaintext with AES-256-GCM under the subkey for purpose,
// binding aad (e.g. the owning row's id). Output: base64url(nonce|ciphertext).
func (k *Keys) Seal(purpose string, plaintext, aad []byte) (string, error) {
	aead, err := k.aead(purpose)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plaintext, aad)), nil
}

// Open reverses Seal; it fails when the data or the aad were changed.
func (k *Keys) Open(purpose, sealed string, aad []byte) ([]byte, error) {
	aead, err := k.aead(purpose)
	if err != nil {
		return nil, err
	}
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(b) < aead.NonceSize() {
		return nil, errors.New("keys: sealed value is malformed")
	}
	out, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], aad)
	if err != nil {
		return nil, errors.New("keys: sealed value does not open (wrong key, data or binding)")
	}
	return out, nil
}

func (k *Keys) aead(purpose string) (cipher.AEAD, error) {
	block, err := aes.NewCipher(k.derive("seal/" + purpose))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
