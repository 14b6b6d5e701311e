// Package password hashes and verifies user passwords for storage.
//
// New hashes are Argon2id (RFC 9106) in the PHC string format used by the
// reference implementation:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with salt and hash in unpadded standard base64. Verify also accepts bcrypt
// hashes ($2a$, $2b$, $2y$) so that users imported from legacy systems can
// sign in; such hashes are reported as needing a rehash, and callers should
// store a fresh Hash of the password once it has been verified.
//
// All hashing runs in a bounded pool (see NewHasher): at most maxConcurrent
// hashes are computed at once, so peak memory is about maxConcurrent*Memory
// KiB, and a caller that cannot get a slot within the queue timeout gets
// ErrBusy, which should be answered with 503 and Retry-After rather than
// queueing without bound.
//
// The pool keeps the Argon2id working memory of its slots between hashes
// (internal/argon2id), so a steady stream of sign-ins does not allocate
// Memory KiB per hash and make the garbage collector run every few sign-ins;
// after a minute without hashing, the kept memory is given back.
//
// Caveats:
//
//   - Passwords are normalised to Unicode NFKC before Argon2id hashing, so
//     visually identical input typed on different keyboards verifies. An
//     Argon2id hash made elsewhere from non-normalised bytes will not verify.
//     For bcrypt, the NFKC form is tried first and then the raw bytes.
//   - Passwords longer than MaxBytes bytes are rejected with ErrTooLong
//     before any work is done. bcrypt itself only uses the first 72 bytes.
//   - Parameters read from a stored hash are bounded (memory, time, bcrypt
//     cost; see Verify), so a hostile or corrupted hash cannot make the
//     process allocate or compute without limit. Hashes beyond the bounds
//     are rejected as malformed.
//   - VerifyDummy equalises the time of sign-in for unknown and known users
//     only for users whose hash uses the Hasher's current parameters. It
//     queues for the same pool and returns the same errors as Verify, so
//     under a flood both kinds of account see the same ErrBusy.
//   - The context is observed only while waiting for a pool slot; a hash,
//     once started, runs to completion.
//   - Go gives no way to reliably erase secrets from memory; copies of the
//     password may remain on the heap until overwritten.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sellerguard/sellerguard/internal/argon2id"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"
)

// MaxBytes is the maximum length, in bytes of UTF-8, of a password accepted
// by Hash, Verify and VerifyDummy. It is checked before any normalisation or
// hashing.
const MaxBytes = 4096

var (
	// ErrTooLong is returned for passwords longer than MaxBytes.
	ErrTooLong = errors.New("password: password too long")

	// ErrBusy is returned when no hashing slot became free within the
	// queue timeout. Callers should answer 503 with Retry-After.
	ErrBusy = errors.New("password: hashing pool busy")

	// ErrMalformedHash is returned (possibly wrapped) by Verify for a stored
	// hash that is not a well-formed Argon2id or bcrypt hash, or whose
	// parameters are out of bounds.
	ErrMalformedHash = errors.New("password: malformed hash")
)

// Params are Argon2id parameters.
type Params struct {
	Memory  uint32 // memory in KiB
	Time    uint32 // number of passes
	Threads uint8  // degree of parallelism (lanes)
	SaltLen uint32 // salt length in bytes
	KeyLen  uint32 // hash length in bytes
}

// DefaultParams returns the OWASP recommended Argon2id parameters:
// 19 MiB of memory, 2 passes, 1 lane, a 16-byte salt and a 32-byte hash.
func DefaultParams() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Bounds enforced by Validate.
const (
	minSaltLen = 8 // RFC 9106 minimum
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
	maxMemory  = 4 << 20 // KiB, 4 GiB
	maxTime    = 64
)

// Additional bounds on hashes read by Verify, so that a hostile stored hash
// cannot demand unbounded memory or time. The Argon2id bounds are raised to
// the Hasher's own parameters if those are higher.
const (
	maxVerifyMemory = 256 << 10 // KiB, 256 MiB
	maxVerifyTime   = 16
	maxBcryptCost   = 16  // a few seconds of CPU
	maxEncodedLen   = 256 // longer than any hash within the bounds above
)

// Validate reports whether p is within sane bounds: at least one thread,
// Memory between 8*Threads KiB and 4 GiB, Time between 1 and 64, SaltLen
// between 8 and 64 bytes and KeyLen between 16 and 64 bytes.
func (p Params) Validate() error {
	switch {
	case p.Threads < 1:
		return errors.New("password: Threads must be at least 1")
	case p.Memory < 8*uint32(p.Threads):
		return fmt.Errorf("password: Memory %d KiB is below 8*Threads", p.Memory)
	case p.Memory > maxMemory:
		return fmt.Errorf("password: Memory %d KiB is above 4 GiB", p.Memory)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("password: Time %d is not between 1 and %d", p.Time, maxTime)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("password: SaltLen %d is not between %d and %d", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("password: KeyLen %d is not between %d and %d", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// A Hasher hashes and verifies passwords through a bounded pool.
// It is safe for concurrent use. The zero value is not usable; use NewHasher.
type Hasher struct {
	params  Params
	timeout time.Duration
	sem     chan struct{}
	door    chan struct{} // Admit's places
	waiting atomic.Int64
	dummy   string // well-formed hash with params, matching no password

	// mems holds the working memory of idle slots: a slot takes one (or
	// a new, empty one) for each Argon2id hash, so there are never more
	// than cap(sem). idleRelease after the last hash, release empties it.
	mems        chan *argon2id.Memory
	idleRelease time.Duration
	idleMu      sync.Mutex
	idleTimer   *time.Timer
}

// defaultIdleRelease is how long the pool keeps working memory after the
// last hash.
const defaultIdleRelease = time.Minute

// NewHasher returns a Hasher that makes hashes with parameters p and computes
// at most maxConcurrent hashes at once. If maxConcurrent <= 0,
// runtime.GOMAXPROCS(0) is used. queueTimeout is how long a call waits for a
// free slot before failing with ErrBusy; if it is <= 0, calls do not wait.
//
// NewHasher panics if p is not valid.
func NewHasher(p Params, maxConcurrent int, queueTimeout time.Duration) *Hasher {
	if err := p.Validate(); err != nil {
		panic(err)
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.GOMAXPROCS(0)
	}
	salt := make([]byte, p.SaltLen)
	key := make([]byte, p.KeyLen)
	rand.Read(salt) // never fails since Go 1.24
	rand.Read(key)
	return &Hasher{
		params:  p,
		timeout: queueTimeout,
		sem:     make(chan struct{}, maxConcurrent),
		door:    make(chan struct{}, 2*maxConcurrent),
		dummy:   encode(p, salt, key),

		mems:        make(chan *argon2id.Memory, maxConcurrent),
		idleRelease: defaultIdleRelease,
	}
}

// idKey computes an Argon2id key in a pool slot's kept memory. Memory for a
// hash costlier than h's own (an old hash with other parameters) is not
// kept.
func (h *Hasher) idKey(pw, salt []byte, p Params) []byte {
	if p.Memory > h.params.Memory {
		var once argon2id.Memory
		defer once.Release()
		return once.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	}
	var m *argon2id.Memory
	select {
	case m = <-h.mems:
	default:
		m = new(argon2id.Memory)
	}
	key := m.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	select {
	case h.mems <- m:
	default: // cannot happen: at most cap(sem) memories exist
	}
	h.idleMu.Lock()
	if h.idleTimer == nil {
		h.idleTimer = time.AfterFunc(h.idleRelease, h.release)
	} else {
		h.idleTimer.Reset(h.idleRelease)
	}
	h.idleMu.Unlock()
	return key
}

// release gives back the memory of the idle slots; a slot busy now keeps
// its memory until the next release.
func (h *Hasher) release() {
	for {
		select {
		case m := <-h.mems:
			m.Release()
		default:
			return
		}
	}
}

// Params returns the parameters h uses for new hashes.
func (h *Hasher) Params() Params { return h.params }

// InFlight returns the number of hashes being computed.
func (h *Hasher) InFlight() int { return len(h.sem) }

// Waiting returns the number of calls waiting for a slot.
func (h *Hasher) Waiting() int { return int(h.waiting.Load()) }

// Hash returns an Argon2id PHC string for the NFKC form of password, with a
// fresh random salt and h's parameters. It fails with ErrTooLong if password
// is longer than MaxBytes, with ErrBusy if no pool slot became free within
// the queue timeout, and with ctx's error if ctx ended first.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxBytes {
		return "", ErrTooLong
	}
	pw := []byte(norm.NFKC.String(password))
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	var key []byte
	err := h.run(ctx, func() {
		key = h.idKey(pw, salt, h.params)
	})
	if err != nil {
		return "", err
	}
	return encode(h.params, salt, key), nil
}

// Verify reports whether password matches the stored hash encoded, which
// may be an Argon2id PHC string with any parameters or a bcrypt hash.
// needsRehash is true if the password matched and encoded is a bcrypt hash
// or an Argon2id hash whose parameters differ from h.Params.
//
// A stored hash that is malformed, or whose Argon2id memory exceeds the
// larger of 256 MiB and h's memory, whose time exceeds the larger of 16 and
// h's time, or whose bcrypt cost exceeds 16, yields an error wrapping
// ErrMalformedHash. A wrong password yields ok == false and a nil error.
// Verify also fails with ErrTooLong, ErrBusy or ctx's error, as Hash does.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (ok, needsRehash bool, err error) {
	if len(password) > MaxBytes {
		return false, false, ErrTooLong
	}
	if len(encoded) > maxEncodedLen {
		return false, false, malformed("too long")
	}
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		return h.verifyArgon2id(ctx, encoded, password)
	case strings.HasPrefix(encoded, "$2"):
		if !isBcrypt(encoded) {
			return false, false, malformed("not a bcrypt hash within limits")
		}
		return h.verifyBcrypt(ctx, encoded, password)
	}
	return false, false, malformed("unknown algorithm")
}

// VerifyDummy does the work of a failed Verify against a hash with h's
// parameters, through the same bounded pool and queue deadline. Call it when
// the account being signed in to does not exist (or may not be tried now), so
// that the response takes as long as for an existing account — and, when the
// pool is full, fails the same way: with ErrBusy (or ctx's error, or
// ErrTooLong) exactly when Verify would. A caller must answer that error as
// it answers Verify's, or a flood tells which accounts exist.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	_, _, err := h.Verify(ctx, h.dummy, password)
	return err
}

func (h *Hasher) verifyArgon2id(ctx context.Context, encoded, password string) (ok, needsRehash bool, err error) {
	p, salt, key, err := parseArgon2id(encoded)
	if err != nil {
		return false, false, err
	}
	if p.Memory > max(maxVerifyMemory, h.params.Memory) || p.Time > max(maxVerifyTime, h.params.Time) {
		return false, false, malformed("parameters exceed limits")
	}
	pw := []byte(norm.NFKC.String(password))
	var got []byte
	err = h.run(ctx, func() {
		got = h.idKey(pw, salt, p)
	})
	if err != nil {
		return false, false, err
	}
	ok = subtle.ConstantTimeCompare(got, key) == 1
	return ok, ok && p != h.params, nil
}

func (h *Hasher) verifyBcrypt(ctx context.Context, encoded, password string) (ok, needsRehash bool, err error) {
	nfkc := norm.NFKC.String(password)
	var cmpErr error
	err = h.run(ctx, func() {
		cmpErr = bcryptCompare(encoded, nfkc)
		if cmpErr == bcrypt.ErrMismatchedHashAndPassword && nfkc != password {
			// Legacy systems hashed the bytes as typed.
			cmpErr = bcryptCompare(encoded, password)
		}
	})
	if err != nil {
		return false, false, err
	}
	switch cmpErr {
	case nil:
		return true, true, nil
	case bcrypt.ErrMismatchedHashAndPassword:
		return false, false, nil
	}
	return false, false, malformed("bcrypt: " + cmpErr.Error())
}

func bcryptCompare(encoded, password string) error {
	return bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
}

// run calls f while holding a pool slot.
func (h *Hasher) run(ctx context.Context, f func()) error {
	if err := h.take(ctx, h.sem); err != nil {
		return err
	}
	defer func() { <-h.sem }()
	f()
	return nil
}

// take takes a place in places (the slots, or Admit's): at once when one
// is free, else waiting up to the queue timeout (ErrBusy after it; at once
// without one), counted as waiting.
func (h *Hasher) take(ctx context.Context, places chan struct{}) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case places <- struct{}{}:
		return nil
	default:
	}
	if h.timeout <= 0 {
		return ErrBusy
	}
	h.waiting.Add(1)
	defer h.waiting.Add(-1)
	t := time.NewTimer(h.timeout)
	defer t.Stop()
	select {
	case places <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return ErrBusy
	}
}

// Admit waits, as a hash waits for a slot, for one of 2 × slots places
// for requests that will hash, and returns the function that gives the
// place back. A sign-in takes its place after reading its (small) body and
// before it reads the database: in a flood the requests that wait then
// hold their connection and body, not the user's rows or a stack grown by
// database work (a 1,000-connection flood peaked ≈ 45 MB lower with it,
// docs/benchmarks.md). Taken after the body, a client that sends its body
// slowly holds no place. Two places per slot keep every slot busy while
// the others' requests read or write the database around their hash.
func (h *Hasher) Admit(ctx context.Context) (func(), error) {
	if err := h.take(ctx, h.door); err != nil {
		return nil, err
	}
	return h.leave, nil
}

func (h *Hasher) leave() { <-h.door }

// Occupy takes one hashing slot as a hash does (waiting as a hash waits)
// and holds it, hashing nothing, until the returned function is called:
// how tests fill the pool to see what its callers answer when it is full.
func (h *Hasher) Occupy(ctx context.Context) (func(), error) {
	if err := h.take(ctx, h.sem); err != nil {
		return nil, err
	}
	return func() { <-h.sem }, nil
}

var b64 = base64.RawStdEncoding

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2id.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

func malformed(reason string) error {
	return fmt.Errorf("%w: %s", ErrMalformedHash, reason)
}

// parseArgon2id strictly parses $argon2id$v=19$m=<m>,t=<t>,p=<p>$<salt>$<key>.
// The returned Params have SaltLen and KeyLen set from the decoded lengths
// and are valid.
func parseArgon2id(s string) (p Params, salt, key []byte, err error) {
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" {
		return p, nil, nil, malformed("not an argon2id PHC string")
	}
	if f[2] != "v=19" {
		return p, nil, nil, malformed("unsupported argon2 version")
	}
	kv := strings.Split(f[3], ",")
	if len(kv) != 3 {
		return p, nil, nil, malformed("want parameters m, t, p")
	}
	m, okm := decimal(kv[0], "m=")
	t, okt := decimal(kv[1], "t=")
	par, okp := decimal(kv[2], "p=")
	if !okm || !okt || !okp || par > math.MaxUint8 {
		return p, nil, nil, malformed("bad parameters")
	}
	if salt, err = decodeB64(f[4]); err != nil {
		return p, nil, nil, malformed("bad salt encoding")
	}
	if key, err = decodeB64(f[5]); err != nil {
		return p, nil, nil, malformed("bad hash encoding")
	}
	p = Params{
		Memory:  m,
		Time:    t,
		Threads: uint8(par),
		SaltLen: uint32(len(salt)),
		KeyLen:  uint32(len(key)),
	}
	if err := p.Validate(); err != nil {
		return Params{}, nil, nil, malformed(err.Error())
	}
	return p, salt, key, nil
}

// decimal parses s as name followed by a decimal uint32 in canonical form:
// digits only, no sign and no leading zeros.
func decimal(s, name string) (uint32, bool) {
	v, ok := strings.CutPrefix(s, name)
	if !ok || len(v) > 1 && v[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 32) // rejects "", signs and non-digits
	return uint32(n), err == nil
}

// decodeB64 decodes unpadded standard base64, accepting only the canonical
// encoding (the decoder itself skips newlines and ignores trailing bits).
func decodeB64(s string) ([]byte, error) {
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if b64.EncodeToString(b) != s {
		return nil, errors.New("non-canonical base64")
	}
	return b, nil
}

// isBcrypt reports whether s has the exact shape of a bcrypt hash:
// $2a$, $2b$ or $2y$, a two-digit cost within bounds, $, and 53 characters
// of bcrypt's base64 alphabet (22 of salt, 31 of hash).
func isBcrypt(s string) bool {
	if len(s) != 60 || s[0] != '$' || s[1] != '2' || s[3] != '$' || s[6] != '$' {
		return false
	}
	switch s[2] {
	case 'a', 'b', 'y':
	default:
		return false
	}
	if s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9' {
		return false
	}
	cost := int(s[4]-'0')*10 + int(s[5]-'0')
	if cost < bcrypt.MinCost || cost > maxBcryptCost {
		return false
	}
	for i := 7; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '/') {
			return false
		}
	}
	return true
}

// CheckHash reports whether encoded is a hash Verify can use (an Argon2id
// PHC string or a bcrypt hash, within the limits Verify enforces), without
// computing anything: for imports.
func CheckHash(encoded string) error {
	if len(encoded) > maxEncodedLen {
		return malformed("too long")
	}
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		_, _, _, err := parseArgon2id(encoded)
		return err
	case strings.HasPrefix(encoded, "$2") && isBcrypt(encoded):
		return nil
	}
	return malformed("not an Argon2id or bcrypt hash")
}
