// Package keys guards the instance secrets: 256-bit keys kept in one file in
// the data directory (mode 0600), from which purpose-bound subkeys are
// derived with HKDF-SHA256. Codes (sign-up, recovery, backup) and
// fingerprints are stored as HMACs under the first key, so a stolen database
// alone cannot brute-force a six-digit code offline; phone numbers, TOTP
// secrets and deposit account numbers are sealed with AES-256-GCM under the
// newest key, with the row they belong to bound in as associated data.
//
// Key versions: the key file holds numbered keys, one per line
// ("VERSION BASE64"); a file of one bare base64 line (the format before
// versions) is version 1. Seal uses the newest key and writes
// "v<VERSION>." before the base64url of nonce|ciphertext; Open reads the
// version and uses that key, and opens an unversioned value (sealed before
// versions existed) with key 1. AddVersion appends a new key to the file
// (sellerguard keys rotate); old keys stay, so values sealed under them open
// until they are re-sealed, and forever after if need be.
//
// Caveats: every instance sharing a database must share this key file
// (mount the same data directory or copy the file after each rotation); an
// instance meeting a value sealed under a version it does not know re-reads
// its key file once before failing. Losing the file makes pending codes and
// sealed fields unreadable; it never makes passwords unreadable (they are
// Argon2id hashes, independent of these keys). Rotation does not change the
// MAC key (key 1): MACs of long-lived data (phone lookups, card
// fingerprints) must stay comparable, and codes are short-lived.
package keys

import (
	"bufio"
	"bytes"
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
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FileName is the key file's name inside the data directory.
const FileName = "secret.key"

// maxVersion bounds key versions (a rotation a day for a thousand years).
const maxVersion = 1 << 20

// Keys derives purpose-bound keys from the instance keys. It is safe for
// concurrent use; Reload and AddVersion change it in place.
type Keys struct {
	path string // "" for Keys made in memory (New, NewVersions)

	mu      sync.RWMutex
	set     map[int][]byte
	current int
	stamp   fileStamp
}

// fileStamp tells whether the key file changed since it was read.
type fileStamp struct {
	size    int64
	modTime time.Time
}

// New returns Keys for a 32-byte master secret as version 1 (tests use it
// directly).
func New(master []byte) (*Keys, error) {
	return NewVersions(map[int][]byte{1: master})
}

// NewVersions returns in-memory Keys holding the given versions; the
// highest seals. Version 1 must be present (it is the MAC key).
func NewVersions(set map[int][]byte) (*Keys, error) {
	if err := checkSet(set); err != nil {
		return nil, err
	}
	k := &Keys{set: map[int][]byte{}}
	for v, key := range set {
		k.set[v] = append([]byte(nil), key...)
		k.current = max(k.current, v)
	}
	return k, nil
}

func checkSet(set map[int][]byte) error {
	if _, ok := set[1]; !ok {
		return errors.New("keys: key version 1 is missing")
	}
	for v, key := range set {
		if v < 1 || v > maxVersion {
			return fmt.Errorf("keys: key version %d is out of range", v)
		}
		if len(key) != 32 {
			return fmt.Errorf("keys: key version %d is not 32 bytes", v)
		}
	}
	return nil
}

// LoadOrCreate reads dataDir/secret.key, creating the directory (0700) and the
// key file (0600, one random key as version 1) when missing. It refuses a key
// file that others can read.
func LoadOrCreate(dataDir string) (*Keys, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("keys: create data dir: %w", err)
	}
	path := filepath.Join(dataDir, FileName)
	k := &Keys{path: path}
	err := k.reload(true)
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
		if _, err := f.Write(formatFile(map[int][]byte{1: master})); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("keys: write key file: %w", err)
		}
		if err := f.Sync(); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("keys: write key file: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("keys: write key file: %w", err)
		}
		return LoadOrCreate(dataDir)
	}
	if err != nil {
		return nil, err
	}
	return k, nil
}

// Path returns the key file the keys were read from ("" in memory).
func (k *Keys) Path() string { return k.path }

// Current returns the version new values are sealed under.
func (k *Keys) Current() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current
}

// Versions lists the key versions held, oldest first.
func (k *Keys) Versions() []int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]int, 0, len(k.set))
	for v := range k.set {
		out = append(out, v)
	}
	sort.Ints(out)
	return out
}

// Reload re-reads the key file if it changed since it was read, so that a
// running instance learns a key added by `sellerguard keys rotate`. A file
// that lost a key this process holds is refused: keys are never removed.
func (k *Keys) Reload() error {
	if k.path == "" {
		return nil
	}
	return k.reload(false)
}

func (k *Keys) reload(force bool) error {
	st, err := os.Stat(k.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return fmt.Errorf("keys: %w", err)
	}
	stamp := fileStamp{size: st.Size(), modTime: st.ModTime()}
	k.mu.RLock()
	same := !force && k.set != nil && stamp == k.stamp
	k.mu.RUnlock()
	if same {
		return nil
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("keys: %s is readable by others (mode %v); run chmod 600 on it", k.path, st.Mode().Perm())
	}
	b, err := os.ReadFile(k.path)
	if err != nil {
		return fmt.Errorf("keys: read key file: %w", err)
	}
	set, err := parseFile(b)
	if err != nil {
		return fmt.Errorf("keys: %s: %w", k.path, err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for v, old := range k.set {
		if !hmac.Equal(set[v], old) {
			return fmt.Errorf("keys: %s no longer holds key version %d that this process uses; restore it (keys are never removed)", k.path, v)
		}
	}
	k.set, k.stamp = set, stamp
	k.current = 0
	for v := range set {
		k.current = max(k.current, v)
	}
	return nil
}

// parseFile reads a key file: either one bare base64 line (version 1, the
// format before versions) or lines "VERSION BASE64" with comments (#) and
// blank lines allowed. Versions are unique; version 1 must be present.
func parseFile(b []byte) (map[int][]byte, error) {
	trimmed := strings.TrimSpace(string(b))
	if trimmed != "" && !strings.ContainsAny(trimmed, " \n#") {
		key, err := base64.StdEncoding.Strict().DecodeString(trimmed)
		if err != nil || len(key) != 32 {
			return nil, errors.New("does not hold a base64 32-byte key")
		}
		return map[int][]byte{1: key}, nil
	}
	set := map[int][]byte{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		vs, enc, ok := strings.Cut(line, " ")
		v, err := strconv.Atoi(vs)
		if !ok || err != nil || v < 1 || v > maxVersion || vs != strconv.Itoa(v) {
			return nil, fmt.Errorf("line %d is not \"VERSION BASE64\"", n)
		}
		key, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(enc))
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("line %d does not hold a base64 32-byte key", n)
		}
		if _, dup := set[v]; dup {
			return nil, fmt.Errorf("key version %d appears twice", v)
		}
		set[v] = key
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := checkSet(set); err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "keys: "))
	}
	return set, nil
}

func formatFile(set map[int][]byte) []byte {
	var b bytes.Buffer
	b.WriteString("# SellerGuard instance keys: \"VERSION BASE64\", one a line. Keep this file secret (mode 0600)\n")
	b.WriteString("# and never remove a line: values sealed under an old key open with it. The highest version seals.\n")
	vs := make([]int, 0, len(set))
	for v := range set {
		vs = append(vs, v)
	}
	sort.Ints(vs)
	for _, v := range vs {
		fmt.Fprintf(&b, "%d %s\n", v, base64.StdEncoding.EncodeToString(set[v]))
	}
	return b.Bytes()
}

// AddVersion makes sure the key file holds key version v, creating a
// random key for it if missing, and makes v the sealing version. It is
// idempotent and safe against other processes doing the same (a lock file
// beside the key file); the file is replaced atomically and synced to disk
// before it returns, so nothing is ever sealed under a key that a crash
// could lose.
func (k *Keys) AddVersion(v int) error {
	if k.path == "" {
		return errors.New("keys: in-memory keys have no file to add a key to")
	}
	if v < 1 || v > maxVersion {
		return fmt.Errorf("keys: key version %d is out of range", v)
	}
	unlock, err := lockFile(k.path + ".lock")
	if err != nil {
		return fmt.Errorf("keys: lock key file: %w", err)
	}
	defer unlock()
	if err := k.reload(true); err != nil {
		return err
	}
	k.mu.RLock()
	_, have := k.set[v]
	set := make(map[int][]byte, len(k.set)+1)
	for ver, key := range k.set {
		set[ver] = key
	}
	k.mu.RUnlock()
	if have {
		return nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	set[v] = key
	if err := writeFileSynced(k.path, formatFile(set)); err != nil {
		return fmt.Errorf("keys: write key file: %w", err)
	}
	return k.reload(true)
}

// writeFileSynced replaces path with data (mode 0600) through a synced
// temporary file and a rename, then syncs the directory.
func writeFileSynced(path string, data []byte) error {
	tmp := path + ".new"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return err
	}
	return d.Close()
}

func derive(master []byte, purpose string) []byte {
	key, err := hkdf.Key(sha256.New, master, nil, "sellerguard/"+purpose, 32)
	if err != nil {
		panic(err) // only for lengths HKDF cannot produce; 32 always works
	}
	return key
}

func (k *Keys) key(v int) ([]byte, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	key, ok := k.set[v]
	return key, ok
}

// MAC returns HMAC-SHA256 of data under the subkey for purpose (derived from
// key version 1), base64url.
func (k *Keys) MAC(purpose string, data ...string) string {
	master, _ := k.key(1)
	m := hmac.New(sha256.New, derive(master, "mac/"+purpose))
	for _, d := range data {
		fmt.Fprintf(m, "%d:%s;", len(d), d)
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// EqualMAC compares two MACs in constant time.
func EqualMAC(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b))
}

// Seal encrypts plaintext with AES-256-GCM under the subkey for purpose of
// the current key version, binding aad (e.g. the owning row's id). Output:
// "v<VERSION>." followed by base64url(nonce|ciphertext).
func (k *Keys) Seal(purpose string, plaintext, aad []byte) (string, error) {
	return k.SealWith(k.Current(), purpose, plaintext, aad)
}

// SealWith seals under a given key version (key rotation uses it).
func (k *Keys) SealWith(version int, purpose string, plaintext, aad []byte) (string, error) {
	nonce := make([]byte, 12)
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return k.sealNonce(version, purpose, plaintext, aad, nonce)
}

func (k *Keys) sealNonce(version int, purpose string, plaintext, aad, nonce []byte) (string, error) {
	aead, err := k.aead(version, purpose)
	if err != nil {
		return "", err
	}
	return "v" + strconv.Itoa(version) + "." + base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plaintext, aad)), nil
}

// VersionOf returns the key version a sealed value is under (1 for a value
// sealed before versions existed). It does not open the value.
func VersionOf(sealed string) (int, error) {
	head, body, versioned := strings.Cut(sealed, ".")
	if !versioned {
		return 1, nil
	}
	v, err := strconv.Atoi(strings.TrimPrefix(head, "v"))
	if !strings.HasPrefix(head, "v") || err != nil || v < 1 || v > maxVersion || head != "v"+strconv.Itoa(v) || body == "" {
		return 0, errors.New("keys: sealed value is malformed")
	}
	return v, nil
}

// Open reverses Seal; it fails when the data or the aad were changed. A value
// under a key version this process does not hold makes it re-read the key
// file once (another process may have rotated).
func (k *Keys) Open(purpose, sealed string, aad []byte) ([]byte, error) {
	v, err := VersionOf(sealed)
	if err != nil {
		return nil, err
	}
	body := sealed
	if i := strings.IndexByte(sealed, '.'); i >= 0 {
		body = sealed[i+1:]
	}
	if _, ok := k.key(v); !ok && k.path != "" {
		if err := k.Reload(); err != nil {
			return nil, err
		}
	}
	aead, err := k.aead(v, purpose)
	if err != nil {
		return nil, err
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(b) < aead.NonceSize() {
		return nil, errors.New("keys: sealed value is malformed")
	}
	out, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], aad)
	if err != nil {
		return nil, errors.New("keys: sealed value does not open (wrong key, data or binding)")
	}
	return out, nil
}

// Reseal opens a sealed value and seals it again under key version to,
// unchanged when it already is under to. changed reports a new value.
func (k *Keys) Reseal(to int, purpose, sealed string, aad []byte) (out string, changed bool, err error) {
	if v, err := VersionOf(sealed); err != nil {
		return "", false, err
	} else if v == to {
		return sealed, false, nil
	}
	plain, err := k.Open(purpose, sealed, aad)
	if err != nil {
		return "", false, err
	}
	out, err = k.SealWith(to, purpose, plain, aad)
	clear(plain)
	return out, err == nil, err
}

func (k *Keys) aead(version int, purpose string) (cipher.AEAD, error) {
	master, ok := k.key(version)
	if !ok {
		return nil, fmt.Errorf("keys: key version %d is not in the key file; copy the key file from the instance that ran \"sellerguard keys rotate\"", version)
	}
	block, err := aes.NewCipher(derive(master, "seal/"+purpose))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
