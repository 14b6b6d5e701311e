package password_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/sellerguard/sellerguard/internal/password"
)

// small are cheap parameters for tests where speed matters.
var small = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// slow are parameters for which a hash takes long enough (hundreds of
// milliseconds) to hold a pool slot while a test observes the queue.
var slow = password.Params{Memory: 64 << 10, Time: 6, Threads: 1, SaltLen: 16, KeyLen: 32}

func newSmall() *password.Hasher { return password.NewHasher(small, 4, time.Minute) }

func mustHash(t testing.TB, h *password.Hasher, pw string) string {
	t.Helper()
	enc, err := h.Hash(context.Background(), pw)
	if err != nil {
		t.Fatalf("Hash(%q): %v", pw, err)
	}
	return enc
}

func verify(t testing.TB, h *password.Hasher, enc, pw string) (ok, needsRehash bool) {
	t.Helper()
	ok, needsRehash, err := h.Verify(context.Background(), enc, pw)
	if err != nil {
		t.Fatalf("Verify(%q, %q): %v", enc, pw, err)
	}
	return ok, needsRehash
}

func TestRoundTrip(t *testing.T) {
	h := newSmall()
	enc := mustHash(t, h, "correct horse battery staple")
	if ok, rehash := verify(t, h, enc, "correct horse battery staple"); !ok || rehash {
		t.Errorf("correct password: ok=%v needsRehash=%v, want true, false", ok, rehash)
	}
	for _, wrong := range []string{"", "correct horse battery stapl", "correct horse battery staple ", "Correct horse battery staple"} {
		if ok, rehash := verify(t, h, enc, wrong); ok || rehash {
			t.Errorf("wrong password %q: ok=%v needsRehash=%v, want false, false", wrong, ok, rehash)
		}
	}
}

func TestEmptyAndMaxLength(t *testing.T) {
	h := newSmall()
	for _, pw := range []string{"", strings.Repeat("x", password.MaxBytes), strings.Repeat("é", password.MaxBytes/2)} {
		enc := mustHash(t, h, pw)
		if ok, _ := verify(t, h, enc, pw); !ok {
			t.Errorf("password of %d bytes does not verify", len(pw))
		}
	}
}

func TestNFKC(t *testing.T) {
	h := newSmall()
	tests := []struct{ hashed, typed string }{
		{"caf" + "e\u0301", "caf\u00e9"}, // decomposed hashed, composed typed
		{"caf\u00e9", "caf" + "e\u0301"}, // and vice versa
		{"ｐａｓｓ１", "pass1"},               // fullwidth compatibility forms
		{"\ufb01x", "fix"},               // ligature
	}
	for _, tt := range tests {
		enc := mustHash(t, h, tt.hashed)
		if ok, _ := verify(t, h, enc, tt.typed); !ok {
			t.Errorf("hash of %+q does not verify with %+q", tt.hashed, tt.typed)
		}
		if ok, _ := verify(t, h, enc, tt.typed+"x"); ok {
			t.Errorf("hash of %+q verifies with %+q", tt.hashed, tt.typed+"x")
		}
	}
}

func TestHashFormat(t *testing.T) {
	for _, p := range []password.Params{small, password.DefaultParams()} {
		h := password.NewHasher(p, 0, time.Minute)
		re := regexp.MustCompile(fmt.Sprintf(`^\$argon2id\$v=19\$m=%d,t=%d,p=%d\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`,
			p.Memory, p.Time, p.Threads))
		a := mustHash(t, h, "hunter2")
		b := mustHash(t, h, "hunter2")
		for _, enc := range []string{a, b} {
			if !re.MatchString(enc) {
				t.Errorf("Hash = %q, does not match %s", enc, re)
			}
		}
		if a == b {
			t.Errorf("two hashes of the same password are equal: %q", a)
		}
		if sa, sb := strings.Split(a, "$")[4], strings.Split(b, "$")[4]; sa == sb {
			t.Errorf("two hashes share the salt %q", sa)
		}
	}
	if got := password.DefaultParams(); got != (password.Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}) {
		t.Errorf("DefaultParams() = %+v", got)
	}
}

// TestKnownVector checks Verify against a PHC string built independently of
// Hash, from argon2.IDKey and a fixed salt.
func TestKnownVector(t *testing.T) {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("S3cret pässword"), salt, small.Time, small.Memory, small.Threads, small.KeyLen)
	enc := "$argon2id$v=19$m=64,t=1,p=1$" +
		base64.RawStdEncoding.EncodeToString(salt) + "$" +
		base64.RawStdEncoding.EncodeToString(key)
	if enc != "$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"+base64.RawStdEncoding.EncodeToString(key) {
		t.Fatalf("unexpected test vector %q", enc)
	}
	h := newSmall()
	if ok, rehash := verify(t, h, enc, "S3cret pässword"); !ok || rehash {
		t.Errorf("known vector: ok=%v needsRehash=%v, want true, false", ok, rehash)
	}
	if ok, _ := verify(t, h, enc, "S3cret passwörd"); ok {
		t.Error("known vector verifies a wrong password")
	}
}

// TestReferenceVector checks a hash from the Argon2 reference
// implementation's test suite (password "password", salt "somesalt").
func TestReferenceVector(t *testing.T) {
	const enc = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	h := newSmall()
	if ok, rehash := verify(t, h, enc, "password"); !ok || !rehash {
		t.Errorf("reference vector: ok=%v needsRehash=%v, want true, true", ok, rehash)
	}
	if ok, _ := verify(t, h, enc, "passwore"); ok {
		t.Error("reference vector verifies a wrong password")
	}
}

func TestBcrypt(t *testing.T) {
	h := newSmall()
	b, err := bcrypt.GenerateFromPassword([]byte("legacy pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	a := string(b)
	if !strings.HasPrefix(a, "$2a$04$") {
		t.Fatalf("unexpected bcrypt hash %q", a)
	}
	for _, enc := range []string{a, "$2b$" + a[4:], "$2y$" + a[4:]} {
		if ok, rehash := verify(t, h, enc, "legacy pass"); !ok || !rehash {
			t.Errorf("%s: ok=%v needsRehash=%v, want true, true", enc[:4], ok, rehash)
		}
		if ok, rehash := verify(t, h, enc, "legacy pas"); ok || rehash {
			t.Errorf("%s wrong password: ok=%v needsRehash=%v, want false, false", enc[:4], ok, rehash)
		}
	}

	// NFKC form first, then the raw bytes, which legacy systems hashed.
	for _, tt := range []struct{ hashed, typed string }{
		{"caf\u00e9", "cafe\u0301"},  // legacy hashed the NFKC form
		{"cafe\u0301", "cafe\u0301"}, // legacy hashed non-normalised bytes
	} {
		b, err := bcrypt.GenerateFromPassword([]byte(tt.hashed), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := verify(t, h, string(b), tt.typed); !ok {
			t.Errorf("bcrypt of %+q does not verify with %+q", tt.hashed, tt.typed)
		}
	}
}

func TestNeedsRehash(t *testing.T) {
	h := newSmall()
	other := small
	other.Time = 2
	for _, tt := range []struct {
		p    password.Params
		want bool
	}{
		{small, false},
		{other, true},
		{password.Params{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, true},
		{password.Params{Memory: 64, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}, true},
		{password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 32}, true},
		{password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 16}, true},
	} {
		enc := mustHash(t, password.NewHasher(tt.p, 1, time.Minute), "pw")
		if ok, rehash := verify(t, h, enc, "pw"); !ok || rehash != tt.want {
			t.Errorf("%+v: ok=%v needsRehash=%v, want true, %v", tt.p, ok, rehash, tt.want)
		}
		if ok, rehash := verify(t, h, enc, "pW"); ok || rehash {
			t.Errorf("%+v wrong password: ok=%v needsRehash=%v, want false, false", tt.p, ok, rehash)
		}
	}
}

func TestMalformed(t *testing.T) {
	h := newSmall()
	const (
		salt = "MDEyMzQ1Njc4OWFiY2RlZg"                      // 16 bytes
		key  = "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc" // 32 bytes
		pre  = "$argon2id$v=19$m=64,t=1,p=1$"
	)
	good := pre + salt + "$" + key
	if _, _, err := h.Verify(context.Background(), good, "x"); err != nil {
		t.Fatalf("base case %q: %v", good, err)
	}
	bc := "$2a$04$" + strings.Repeat("A", 53)
	if _, _, err := h.Verify(context.Background(), bc, "x"); err != nil {
		t.Fatalf("base case %q: %v", bc, err)
	}
	a2 := func(params, salt, key string) string { return "$argon2id$v=19$" + params + "$" + salt + "$" + key }
	tests := []struct{ name, enc string }{
		{"empty", ""},
		{"plain text", "password"},
		{"only separators", "$$$$$"},
		{"no leading $", "argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"upper case", "$ARGON2ID$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"leading space", " " + good},
		{"leading NBSP", "\u00a0" + good},
		{"missing version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"missing params", "$argon2id$v=19$" + salt + "$" + key},
		{"missing hash", pre + salt},
		{"empty hash", pre + salt + "$"},
		{"empty salt", pre + "$" + key},
		{"v=18", "$argon2id$v=18$m=64,t=1,p=1$" + salt + "$" + key},
		{"v=16", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key},
		{"v=019", "$argon2id$v=019$m=64,t=1,p=1$" + salt + "$" + key},
		{"m=0", a2("m=0,t=1,p=1", salt, key)},
		{"t=0", a2("m=64,t=0,p=1", salt, key)},
		{"p=0", a2("m=64,t=1,p=0", salt, key)},
		{"m below 8", a2("m=7,t=1,p=1", salt, key)},
		{"m below 8*p", a2("m=64,t=1,p=9", salt, key)},
		{"p above 255", a2("m=4096,t=1,p=256", salt, key)},
		{"m overflows uint32", a2("m=99999999999,t=1,p=1", salt, key)},
		{"m 4 TiB", a2("m=4294967295,t=1,p=1", salt, key)},
		{"m 4 GiB", a2("m=4194304,t=1,p=1", salt, key)},
		{"m above 256 MiB", a2("m=262145,t=1,p=1", salt, key)},
		{"t above 16", a2("m=64,t=17,p=1", salt, key)},
		{"t max uint32", a2("m=64,t=4294967295,p=1", salt, key)},
		{"leading zero", a2("m=064,t=1,p=1", salt, key)},
		{"plus sign", a2("m=+64,t=1,p=1", salt, key)},
		{"minus sign", a2("m=-64,t=1,p=1", salt, key)},
		{"space in number", a2("m= 64,t=1,p=1", salt, key)},
		{"hex number", a2("m=0x40,t=1,p=1", salt, key)},
		{"empty number", a2("m=,t=1,p=1", salt, key)},
		{"params out of order", a2("t=1,m=64,p=1", salt, key)},
		{"missing p", a2("m=64,t=1", salt, key)},
		{"repeated m", a2("m=64,m=64,t=1,p=1", salt, key)},
		{"trailing comma", a2("m=64,t=1,p=1,", salt, key)},
		{"keyid", a2("m=64,t=1,p=1,keyid=abc", salt, key)},
		{"bad base64", pre + "!!!!" + salt + "$" + key},
		{"URL alphabet", pre + salt + "$" + key[:42] + "_"},
		{"padded salt", pre + salt + "==$" + key},
		{"padded hash", pre + salt + "$" + key + "="},
		{"non-canonical trailing bits", pre + salt[:21] + "h$" + key},
		{"newline in base64", pre + salt + "$" + key[:40] + "\n" + key[40:]},
		{"CR in base64", pre + salt + "$" + key[:40] + "\r" + key[40:]},
		{"4-byte salt", pre + "c29tZQ$" + key},
		{"66-byte salt", pre + strings.Repeat("A", 88) + "$" + key},
		{"8-byte hash", pre + salt + "$c29tZXNhbHQ"},
		{"66-byte hash", pre + salt + "$" + strings.Repeat("A", 88)},
		{"trailing $", good + "$"},
		{"trailing field", good + "$x"},
		{"trailing space", good + " "},
		{"trailing NUL", good + "\x00"},
		{"trailing newline", good + "\n"},
		{"far too long", good + strings.Repeat("A", 300)},
		{"bcrypt too short", bc[:59]},
		{"bcrypt too long", bc + "A"},
		{"bcrypt alphabet", bc[:59] + "!"},
		{"bcrypt $2x$", "$2x$" + bc[4:]},
		{"bcrypt $2$", "$2$04$" + strings.Repeat("A", 54)},
		{"bcrypt cost 03", "$2a$03$" + bc[7:]},
		{"bcrypt cost 17", "$2a$17$" + bc[7:]},
		{"bcrypt cost 31", "$2a$31$" + bc[7:]},
		{"bcrypt cost 4", "$2a$4$A" + bc[7:]},
		{"bcrypt cost a4", "$2a$a4$" + bc[7:]},
		{"bcrypt missing $", "$2a$04A" + bc[7:]},
		{"md5crypt", "$1$abc$" + strings.Repeat("A", 22)},
		{"pbkdf2", "$pbkdf2-sha256$29000$c29tZXNhbHQ$" + key},
	}
	for _, tt := range tests {
		ok, rehash, err := h.Verify(context.Background(), tt.enc, "password")
		if !errors.Is(err, password.ErrMalformedHash) || ok || rehash {
			t.Errorf("%s: Verify(%q) = %v, %v, %v; want false, false, ErrMalformedHash", tt.name, tt.enc, ok, rehash, err)
		}
	}
}

func TestTooLong(t *testing.T) {
	h := password.NewHasher(password.DefaultParams(), 1, time.Minute)
	ctx := context.Background()
	enc := "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	for _, pw := range []string{strings.Repeat("a", password.MaxBytes+1), strings.Repeat("é", 5<<20)} {
		if got, err := h.Hash(ctx, pw); err != password.ErrTooLong || got != "" {
			t.Errorf("Hash of %d bytes = %q, %v; want ErrTooLong", len(pw), got, err)
		}
		if ok, rehash, err := h.Verify(ctx, enc, pw); err != password.ErrTooLong || ok || rehash {
			t.Errorf("Verify of %d bytes = %v, %v, %v; want ErrTooLong", len(pw), ok, rehash, err)
		}
		if err := h.VerifyDummy(ctx, pw); err != password.ErrTooLong {
			t.Errorf("VerifyDummy of %d bytes: %v; want ErrTooLong", len(pw), err)
		}
	}
}

func TestParamsValidate(t *testing.T) {
	valid := []password.Params{
		small,
		slow,
		password.DefaultParams(),
		{Memory: 8, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 16},
		{Memory: 8 * 255, Time: 64, Threads: 255, SaltLen: 64, KeyLen: 64},
		{Memory: 4 << 20, Time: 1, Threads: 4, SaltLen: 16, KeyLen: 32},
	}
	for _, p := range valid {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v.Validate() = %v, want nil", p, err)
		}
	}
	invalid := []password.Params{
		{},
		{Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32},
		{Memory: 0, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 31, Time: 1, Threads: 4, SaltLen: 16, KeyLen: 32},
		{Memory: 4<<20 + 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 65, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 7, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 65, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 15},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 65},
	}
	for _, p := range invalid {
		if err := p.Validate(); err == nil {
			t.Errorf("%+v.Validate() = nil, want error", p)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("NewHasher with invalid params did not panic")
		}
	}()
	password.NewHasher(password.Params{}, 1, time.Second)
}

// waitFor polls cond until it holds, failing the test after 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(50 * time.Microsecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// startSlow starts a Hash on h and returns once it holds a pool slot.
func startSlow(t *testing.T, h *password.Hasher) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := h.Hash(context.Background(), "slow")
		done <- err
	}()
	waitFor(t, "InFlight() == 1", func() bool { return h.InFlight() == 1 })
	return done
}

func TestPoolBusy(t *testing.T) {
	h := password.NewHasher(slow, 1, 10*time.Millisecond)
	done := startSlow(t, h)
	if _, err := h.Hash(context.Background(), "second"); err != password.ErrBusy {
		t.Errorf("second Hash: err = %v, want ErrBusy", err)
	}
	enc := "$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	if _, _, err := h.Verify(context.Background(), enc, "second"); err != password.ErrBusy {
		t.Errorf("concurrent Verify: err = %v, want ErrBusy", err)
	}
	// The dummy verification for an unknown account waits for the same
	// pool and fails the same way: no account oracle under load.
	start := time.Now()
	if err := h.VerifyDummy(context.Background(), "second"); err != password.ErrBusy {
		t.Errorf("concurrent VerifyDummy: err = %v, want ErrBusy", err)
	}
	if d := time.Since(start); d < 10*time.Millisecond {
		t.Errorf("VerifyDummy gave up after %v, before the 10ms queue timeout", d)
	}
	if err := <-done; err != nil {
		t.Errorf("first Hash: %v", err)
	}
	if n, w := h.InFlight(), h.Waiting(); n != 0 || w != 0 {
		t.Errorf("after: InFlight=%d Waiting=%d, want 0, 0", n, w)
	}
	// The slot is free again.
	if _, err := password.NewHasher(small, 1, 0).Hash(context.Background(), "x"); err != nil {
		t.Errorf("Hash on idle pool with no queue timeout: %v", err)
	}
}

func TestPoolContext(t *testing.T) {
	h := password.NewHasher(slow, 1, time.Minute)
	enc := "$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"

	// An already cancelled context fails even with a free slot.
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(cancelled, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash with cancelled ctx: err = %v, want context.Canceled", err)
	}
	if _, _, err := h.Verify(cancelled, enc, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify with cancelled ctx: err = %v, want context.Canceled", err)
	}

	done := startSlow(t, h)

	// Cancelling a waiting caller returns the context's error.
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := h.Hash(ctx, "waiter")
		errc <- err
	}()
	waitFor(t, "Waiting() == 1", func() bool { return h.Waiting() == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("waiting Hash: err = %v, want context.Canceled", err)
	}

	ctx, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if _, _, err := h.Verify(ctx, enc, "waiter"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting Verify: err = %v, want context.DeadlineExceeded", err)
	}

	// VerifyDummy also queues for a slot.
	ctx, cancel = context.WithCancel(context.Background())
	dummyDone := make(chan error, 1)
	go func() { dummyDone <- h.VerifyDummy(ctx, "nobody") }()
	waitFor(t, "VerifyDummy waiting", func() bool { return h.Waiting() == 1 })
	cancel()
	if err := <-dummyDone; !errors.Is(err, context.Canceled) {
		t.Errorf("waiting VerifyDummy: err = %v, want context.Canceled", err)
	}

	if err := <-done; err != nil {
		t.Errorf("slow Hash: %v", err)
	}
	if n, w := h.InFlight(), h.Waiting(); n != 0 || w != 0 {
		t.Errorf("after: InFlight=%d Waiting=%d, want 0, 0", n, w)
	}
}

func TestConcurrent(t *testing.T) {
	h := password.NewHasher(small, 2, time.Minute)
	enc := mustHash(t, h, "shared")
	errc := make(chan error, 16)
	for i := range 16 {
		go func() {
			pw := fmt.Sprint("pw", i)
			e, err := h.Hash(context.Background(), pw)
			if err == nil {
				var ok bool
				if ok, _, err = h.Verify(context.Background(), e, pw); err == nil && !ok {
					err = fmt.Errorf("%s does not verify", pw)
				}
			}
			if err == nil {
				var ok bool
				if ok, _, err = h.Verify(context.Background(), enc, pw); err == nil && ok {
					err = fmt.Errorf("%s verifies against another hash", pw)
				}
			}
			if derr := h.VerifyDummy(context.Background(), pw); err == nil {
				err = derr
			}
			errc <- err
		}()
	}
	for range 16 {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
	if n, w := h.InFlight(), h.Waiting(); n != 0 || w != 0 {
		t.Errorf("after: InFlight=%d Waiting=%d, want 0, 0", n, w)
	}
}

func FuzzVerify(f *testing.F) {
	h := newSmall()
	b, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mustHash(f, h, "pw"), "pw")
	f.Add(string(b), "pw")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "caf\u00e9")
	f.Add("$argon2id$v=19$m=99999999999,t=1,p=1$$", "")
	f.Add("$2y$04$"+strings.Repeat(".", 53), "\xff\xfe")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, encoded, pw string) {
		ok, rehash, err := h.Verify(context.Background(), encoded, pw)
		if err != nil && (ok || rehash) {
			t.Fatalf("err = %v with ok=%v needsRehash=%v", err, ok, rehash)
		}
		if rehash && !ok {
			t.Fatal("needsRehash without ok")
		}
		if err != nil && !errors.Is(err, password.ErrMalformedHash) && err != password.ErrTooLong {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

var sink []byte

func BenchmarkHashDefault(b *testing.B) {
	h := password.NewHasher(password.DefaultParams(), 1, time.Minute)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkArgon2Raw(b *testing.B) {
	p := password.DefaultParams()
	pw := []byte("correct horse battery staple")
	salt := make([]byte, p.SaltLen)
	for b.Loop() {
		sink = argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	}
}

// Admit gives 2 × slots places; one more waits for a place up to the queue
// timeout (counted as waiting) and gets ErrBusy, a given-back place lets
// the next caller in, a cancelled caller gets its context's error, and
// with no queue timeout a full door refuses at once.
func TestAdmitPlaces(t *testing.T) {
	h := password.NewHasher(small, 2, 30*time.Millisecond)
	ctx := context.Background()
	var leaves []func()
	for i := range 4 {
		leave, err := h.Admit(ctx)
		if err != nil {
			t.Fatalf("place %d of 4: %v", i+1, err)
		}
		leaves = append(leaves, leave)
	}
	start := time.Now()
	if _, err := h.Admit(ctx); err != password.ErrBusy {
		t.Fatalf("a fifth caller: err = %v, want ErrBusy", err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("the fifth caller gave up after %v, before the 30ms queue timeout", d)
	}
	// The hashing slots are not the door's: a hash still runs.
	if _, err := h.Hash(ctx, "x"); err != nil {
		t.Fatalf("Hash with every place taken: %v", err)
	}
	// A waiting caller is counted, and enters when a place is given back.
	type admitted struct {
		leave func()
		err   error
	}
	got := make(chan admitted, 1)
	go func() {
		leave, err := h.Admit(ctx)
		got <- admitted{leave, err}
	}()
	waitFor(t, "Waiting() == 1", func() bool { return h.Waiting() == 1 })
	leaves[0]()
	a := <-got
	if a.err != nil {
		t.Fatalf("the waiting caller after a place was given back: %v", a.err)
	}
	leaves[0] = a.leave
	cancelled, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { _, err := h.Admit(cancelled); errc <- err }()
	waitFor(t, "Waiting() == 1", func() bool { return h.Waiting() == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled waiting caller: err = %v, want context.Canceled", err)
	}
	if _, err := h.Admit(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("an already cancelled caller: err = %v, want context.Canceled", err)
	}
	if w := h.Waiting(); w != 0 {
		t.Errorf("Waiting() = %d after the waiters left, want 0", w)
	}
	for _, leave := range leaves {
		leave()
	}
	if leave, err := h.Admit(ctx); err != nil {
		t.Fatalf("after every place was given back: %v", err)
	} else {
		leave()
	}
	noQueue := password.NewHasher(small, 1, 0)
	l1, _ := noQueue.Admit(ctx)
	l2, _ := noQueue.Admit(ctx)
	if _, err := noQueue.Admit(ctx); err != password.ErrBusy {
		t.Fatalf("a full door without a queue timeout: err = %v, want ErrBusy at once", err)
	}
	l1()
	l2()
}
