package twostep

import (
	"encoding/base32"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// RFC 4226 Appendix D: HOTP values for the ASCII secret "12345678901234567890".
func TestRFC4226Vectors(t *testing.T) {
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for i, w := range want {
		got, err := TOTPCode(secret, int64(i))
		if err != nil || got != w {
			t.Errorf("counter %d: %s, %v; want %s", i, got, err, w)
		}
	}
}

// RFC 6238 Appendix B, SHA-1 rows (8 digits, as in the RFC).
func TestRFC6238Vectors(t *testing.T) {
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	for unix, want := range map[int64]string{59: "94287082", 1111111109: "07081804", 1111111111: "14050471", 1234567890: "89005924", 2000000000: "69279037", 20000000000: "65353130"} {
		got, err := totp.GenerateCodeCustom(secret, time.Unix(unix, 0).UTC(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1})
		if err != nil || got != want {
			t.Errorf("T=%d: %s, %v; want %s", unix, got, err, want)
		}
		// And the step arithmetic SellerGuard uses agrees with the RFC's T.
		h, _ := hotp.GenerateCodeCustom(secret, uint64(Step(time.Unix(unix, 0))), hotp.ValidateOpts{Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1})
		if h != want {
			t.Errorf("T=%d via Step: %s", unix, h)
		}
	}
}

func TestVerifyTOTPWindowAndReplay(t *testing.T) {
	secret, err := NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := b32.DecodeString(secret); len(raw) != 20 {
		t.Fatalf("secret has %d bytes", len(raw))
	}
	now := time.Unix(1_800_000_015, 0)
	cur := Step(now)
	for off, accept := range map[int64]bool{-3: false, -2: false, -1: true, 0: true, 1: true, 2: false, 3: false} {
		code, _ := TOTPCode(secret, cur+off)
		_, ok, err := VerifyTOTP(secret, code, now, 0)
		if ok != accept || err != nil {
			t.Errorf("offset %d: ok=%v err=%v", off, ok, err)
		}
	}
	code, _ := TOTPCode(secret, cur)
	step, ok, _ := VerifyTOTP(secret, code, now, 0)
	if !ok || step != cur {
		t.Fatal("current code refused")
	}
	if _, ok, err := VerifyTOTP(secret, code, now, step); ok || !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay: ok=%v err=%v", ok, err)
	}
	older, _ := TOTPCode(secret, cur-1)
	if _, ok, err := VerifyTOTP(secret, older, now, step); ok || !errors.Is(err, ErrReplayed) {
		t.Fatal("an older step was accepted after a newer one")
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef", "12 34 5x"} {
		if _, ok, _ := VerifyTOTP(secret, bad, now, 0); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	if u := TOTPURL("SellerGuard", "a@example.com", secret); !strings.HasPrefix(u, "otpauth://totp/SellerGuard:a@example.com?") || !strings.Contains(u, "secret="+secret) {
		t.Fatalf("url %s", u)
	}
}

func TestBackupCodes(t *testing.T) {
	codes, err := NewBackupCodes()
	if err != nil || len(codes) != 10 {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		n := NormalizeBackupCode(c)
		if len(c) != 19 || n == "" || seen[n] {
			t.Fatalf("code %q normalises to %q", c, n)
		}
		seen[n] = true
		if NormalizeBackupCode(strings.ToLower(strings.ReplaceAll(c, "-", " "))) != n {
			t.Fatalf("typed variant of %q differs", c)
		}
	}
	if NormalizeBackupCode("ABCD-EFGH-IJKL-MNO") != "" || NormalizeBackupCode("ABCD-EFGH-IJKL-MNO!") != "" {
		t.Fatal("malformed code accepted")
	}
	if NormalizeBackupCode("0018-2222-3333-4444") != "OOIB222233334444" {
		t.Fatal("look-alike digits are not mapped")
	}
}

func TestAssessNeedsAnIndependentBackup(t *testing.T) {
	cases := []struct {
		name           string
		methods        []Method
		backups        int
		enrolled, full bool
	}{
		{"nothing", nil, 0, false, false},
		{"app only", []Method{{Kind: KindTOTP}}, 0, true, false},
		{"app and backup codes", []Method{{Kind: KindTOTP}}, 10, true, true},
		{"two apps", []Method{{Kind: KindTOTP}, {Kind: KindTOTP}}, 0, true, false},
		{"app and phone", []Method{{Kind: KindTOTP}, {Kind: KindSMS, Phone: "+1"}}, 0, true, true},
		{"same phone twice", []Method{{Kind: KindSMS, Phone: "+1"}, {Kind: KindVoice, Phone: "+1"}}, 0, true, false},
		{"two phones", []Method{{Kind: KindSMS, Phone: "+1"}, {Kind: KindSMS, Phone: "+2"}}, 0, true, true},
		{"two passkeys", []Method{{Kind: KindPasskey}, {Kind: KindPasskey}}, 0, true, true},
		{"backup codes only", nil, 10, false, false},
	}
	for _, c := range cases {
		p := Assess(c.methods, c.backups)
		if p.Enrolled != c.enrolled || p.Full != c.full || (c.full == (len(p.Missing) > 0)) {
			t.Errorf("%s: %+v", c.name, p)
		}
	}
}
