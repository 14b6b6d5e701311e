package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/keys"
	"github.com/sellerguard/sellerguard/internal/limiter"
	"github.com/sellerguard/sellerguard/internal/store"
)

// LimitConfig holds the limits the service applies beyond the limiter's own.
type LimitConfig struct {
	SignupsPerSource int
	SourceWindow     time.Duration
}

const (
	knownDeviceLifetime   = 90 * 24 * time.Hour
	unlockCodeTTL         = time.Hour
	unlockCodeMaxAttempts = 5
	unlockRequestsPerHour = 3
	devicePrefix          = "sgd_"
)

func rateLimited(wait time.Duration) error {
	return &sellerguard.Error{
		Code: sellerguard.ECodeRateLimited, Message: "Too many attempts from your network. Please wait and try again.",
		RetryAfter: max(wait, time.Second),
	}
}

// accountDelayed answers a guess on an account whose wrong codes earned a
// delay (the account is known to the caller here: they hold its session).
func accountDelayed(wait time.Duration) error {
	return &sellerguard.Error{
		Code: sellerguard.ECodeRateLimited, Message: "Too many wrong codes for this account. Please wait and try again.",
		RetryAfter: max(wait, time.Second),
	}
}

// newDeviceToken returns the value of a new device cookie.
func newDeviceToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return devicePrefix + base64.RawURLEncoding.EncodeToString(b)
}

// deviceID turns a device cookie into the id stored in counters (a hash, so
// the database never holds the cookie); "" for anything not ours.
func deviceID(cookie string) string {
	if !strings.HasPrefix(cookie, devicePrefix) || len(cookie) != len(devicePrefix)+22 {
		return ""
	}
	sum := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(sum[:12])
}

func truncateKey(s string) string {
	if len(s) > MaxEmailLen {
		// Not in the middle of a character: the key is stored as text.
		return strings.ToValidUTF8(s[:MaxEmailLen], "")
	}
	return s
}

func eightDigitCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%08d", n.Int64()), nil
}

// signInFailed counts a failure against the account's counter and the
// source, tells the owner when the failures reach the alert or lock
// thresholds (with an unlock code), and returns the one sign-in error.
func (s *Service) signInFailed(ctx context.Context, emailNorm, key string, u *store.UserRecord, meta RequestMeta, now time.Time) error {
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		st, err := s.Limiter.AccountFailure(ctx, tx, key, meta.IP, now)
		if err != nil {
			return err
		}
		if _, err := s.Limiter.SourceFailure(ctx, tx, limiter.SourceKey("signin", meta.IP), meta.IP, now); err != nil {
			return err
		}
		if u != nil { // each wrong password of an account, for its sign-in activity (internal/checkup)
			if err := audit.Append(ctx, tx, now, audit.Entry{SubjectID: u.ID, IP: meta.IP, UserAgent: meta.UserAgent,
				Action: "session.signin_failed", Category: sellerguard.CategorySession, TargetType: "user", TargetID: u.ID,
				After: map[string]any{"failed_attempts": st.Failures}}); err != nil {
				return err
			}
		}
		cfg := s.Limiter.Config
		if u == nil || (st.Failures != cfg.NotifyFailures && st.Failures != cfg.LockFailures) {
			return nil
		}
		code, err := s.newUnlockCode(ctx, tx, emailNorm, now)
		if err != nil {
			return err
		}
		locked := st.Failures >= cfg.LockFailures
		action := "account.signin_failures_alerted"
		if locked {
			action = "account.locked"
		}
		if err := audit.Append(ctx, tx, now, audit.Entry{
			SubjectID: u.ID, ActorEmail: "", IP: meta.IP, UserAgent: meta.UserAgent,
			Action: action, Category: sellerguard.CategoryAccount, TargetType: "user", TargetID: u.ID,
			After: map[string]any{"failed_attempts": st.Failures, "last_from": meta.IP, "own_browser_counter": strings.Contains(key, "|dev:")},
		}); err != nil {
			return err
		}
		return s.sendEmail(ctx, tx, now, withEvent(failedSignInsEmail(u.Email, st.Failures, meta, now, code, locked, s.Config.BaseURL), EventFailedSignins))
	})
	if err != nil {
		return err
	}
	if u != nil {
		s.Cache.InvalidateUser(u.ID) // the account overview shows failures at once here
	}
	return errInvalidCredentials
}

func (s *Service) newUnlockCode(ctx context.Context, tx *store.Tx, emailNorm string, now time.Time) (string, error) {
	code, err := eightDigitCode()
	if err != nil {
		return "", err
	}
	err = tx.PutUnlockCode(ctx, store.UnlockCode{EmailNorm: emailNorm, CodeMAC: s.Keys.MAC("unlock-code", emailNorm, code), ExpiresAt: now.Add(unlockCodeTTL), CreatedAt: now})
	return code, err
}

// useUnlockCode checks an unlock code; each code takes at most
// unlockCodeMaxAttempts tries.
func (s *Service) useUnlockCode(ctx context.Context, emailNorm, code string, now time.Time) (bool, error) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	ok := false
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		u, err := tx.FindUnlockCode(ctx, emailNorm, now)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if u.Attempts >= unlockCodeMaxAttempts {
			return nil
		}
		if err := tx.CountUnlockAttempt(ctx, emailNorm); err != nil {
			return err
		}
		ok = keys.EqualMAC(u.CodeMAC, s.Keys.MAC("unlock-code", emailNorm, code))
		return nil
	})
	return ok, err
}

// clearAfterUnlock ends the delay and lock of an account whose owner signed
// in with an unlock code.
func (s *Service) clearAfterUnlock(ctx context.Context, tx *store.Tx, u store.UserRecord, meta RequestMeta, now time.Time) error {
	if err := tx.DeleteCounter(ctx, limiter.AccountKey(u.EmailNorm, "")); err != nil {
		return err
	}
	if err := tx.DeleteUnlockCode(ctx, u.EmailNorm); err != nil {
		return err
	}
	return audit.Append(ctx, tx, now, audit.Entry{
		SubjectID: u.ID, ActorID: u.ID, ActorEmail: u.Email, IP: meta.IP, UserAgent: meta.UserAgent,
		Action: "account.unlocked", Category: sellerguard.CategoryAccount, TargetType: "user", TargetID: u.ID,
		After: map[string]any{"by": "unlock code"},
	})
}

// RequestUnlock emails a fresh unlock code to the owner of the address, if
// there is one. The answer is the same either way.
func (s *Service) RequestUnlock(ctx context.Context, email string, meta RequestMeta) error {
	now := s.now()
	srcKey := limiter.SourceKey("unlock", meta.IP)
	if retry, err := s.Limiter.Over(ctx, s.DB, srcKey, now, s.Limits.SignupsPerSource, s.Limits.SourceWindow); err != nil {
		return err
	} else if !retry.IsZero() {
		return rateLimited(retry.Sub(now))
	}
	emailNorm := truncateKey(NormalizeEmail(email))
	if _, fe := validateEmail("email", email); fe != nil {
		return sellerguard.Invalid(*fe)
	}
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := s.Limiter.Hit(ctx, tx, srcKey, meta.IP, now, s.Limits.SignupsPerSource, s.Limits.SourceWindow); err != nil {
			return err
		}
		// At most a few codes an hour per account, whoever asks.
		retry, err := s.Limiter.Hit(ctx, tx, "unlockreq:"+emailNorm, meta.IP, now, unlockRequestsPerHour, time.Hour)
		if err != nil || !retry.IsZero() {
			return err
		}
		u, err := tx.FindUserByEmail(ctx, emailNorm)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		code, err := s.newUnlockCode(ctx, tx, emailNorm, now)
		if err != nil {
			return err
		}
		return s.sendEmail(ctx, tx, now, unlockCodeEmail(u.Email, code, meta, now, s.Config.BaseURL))
	})
	if err != nil {
		return err
	}
	return nil
}

// FailedSignIns is what the account overview shows of recent failures.
type FailedSignIns struct {
	Count  int
	LastAt time.Time
	LastIP string
}

// RecentFailedSignIns returns the failures counted against the user's
// account from browsers other than their known ones. It reads the session
// cache, not the database: the session check stays off the disk.
func (s *Service) RecentFailedSignIns(_ context.Context, p *Principal) (FailedSignIns, error) {
	if p.Failed.Count == 0 {
		return FailedSignIns{}, nil
	}
	if s.Now().Sub(p.Failed.LastAt) >= s.Limiter.Config.FailureMemory {
		return FailedSignIns{}, nil // forgotten since the session was cached
	}
	return p.Failed, nil
}

// checkSource refuses a source over a window limit before any work.
func (s *Service) checkSource(ctx context.Context, kind, ip string, limit int, now time.Time) error {
	retry, err := s.Limiter.Over(ctx, s.DB, limiter.SourceKey(kind, ip), now, limit, s.Limits.SourceWindow)
	if err != nil {
		return err
	}
	if !retry.IsZero() {
		return rateLimited(retry.Sub(now))
	}
	return nil
}

// ClearAccountLimits resets every guess counter and the unlock code of an
// account (support's `sellerguard limits clear`), audited. It returns how
// many counters it removed.
func (s *Service) ClearAccountLimits(ctx context.Context, email, actor string) (int64, error) {
	emailNorm := NormalizeEmail(email)
	now := s.now()
	var n int64
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		if n, err = tx.DeleteCountersWithPrefix(ctx, limiter.AccountKey(emailNorm, "")); err != nil {
			return err
		}
		if err := tx.DeleteUnlockCode(ctx, emailNorm); err != nil {
			return err
		}
		subject := "system"
		if u, err := tx.FindUserByEmail(ctx, emailNorm); err == nil {
			subject = u.ID
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return audit.Append(ctx, tx, now, audit.Entry{
			SubjectID: subject, ActorID: actor, ActorEmail: "", Action: "limits.cleared", Category: sellerguard.CategorySupport,
			TargetType: "account", TargetID: emailNorm, Before: map[string]any{"counters": n}, After: map[string]any{"counters": 0},
		})
	})
	return n, err
}
