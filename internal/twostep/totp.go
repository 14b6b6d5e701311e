package twostep

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// TOTP parameters: the ones every authenticator app supports.
const (
	TOTPPeriod     = 30
	TOTPDigits     = 6
	TOTPSecretSize = 20 // bytes: 160 bits
	TOTPSkew       = 1  // steps accepted either side of now
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns a fresh base32 secret of 160 random bits.
func NewTOTPSecret() (string, error) {
	b := make([]byte, TOTPSecretSize)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return b32.EncodeToString(b), nil
}

// TOTPURL is the otpauth:// URL an authenticator app scans.
func TOTPURL(issuer, account, secret string) string {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", "6")
	v.Set("period", "30")
	return "otpauth://totp/" + url.PathEscape(issuer+":"+account) + "?" + v.Encode()
}

// Step returns the TOTP time step of t.
func Step(t time.Time) int64 { return t.Unix() / TOTPPeriod }

// TOTPCode returns the code of a step (for tests and for showing nothing
// else: SellerGuard never sends TOTP codes anywhere).
func TOTPCode(secret string, step int64) (string, error) {
	return hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// ErrReplayed is returned for a code whose step was already used.
var ErrReplayed = errors.New("twostep: code already used")

// VerifyTOTP checks code against the steps around now and returns the step
// it matched. A step at or before lastUsed is refused with ErrReplayed, so a
// code accepted once is never accepted again. ok is false for a wrong code.
func VerifyTOTP(secret, code string, now time.Time, lastUsed int64) (step int64, ok bool, err error) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != TOTPDigits || strings.Trim(code, "0123456789") != "" {
		return 0, false, nil
	}
	cur := Step(now)
	matched := int64(-1)
	for s := cur - TOTPSkew; s <= cur+TOTPSkew; s++ {
		want, err := TOTPCode(secret, s)
		if err != nil {
			return 0, false, err
		}
		// Check every step (no early exit) so timing says nothing.
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && matched < 0 {
			matched = s
		}
	}
	if matched < 0 {
		return 0, false, nil
	}
	if matched <= lastUsed {
		return matched, false, ErrReplayed
	}
	return matched, true, nil
}
