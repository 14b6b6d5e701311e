package session

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/keys"
	"github.com/sellerguard/sellerguard/internal/limiter"
	"github.com/sellerguard/sellerguard/internal/outbox"
	"github.com/sellerguard/sellerguard/internal/password"
	"github.com/sellerguard/sellerguard/internal/policy"
	"github.com/sellerguard/sellerguard/internal/recovery"
	"github.com/sellerguard/sellerguard/internal/store"
	"golang.org/x/text/unicode/norm"
)

// Limits on input fields.
const (
	MaxEmailLen        = 254
	MaxBusinessNameLen = 120
	SignupCodeTTL      = 10 * time.Minute
	SignupMaxAttempts  = 5
)

// Config holds the service's tunables.
type Config struct {
	IdleTimeout       time.Duration
	AbsoluteTimeout   time.Duration
	PasswordMinLength int
	BaseURL           string
}

// Service implements the account rules.
type Service struct {
	DB      *store.DB
	Hasher  *password.Hasher
	Keys    *keys.Keys
	Cache   *SessionCache
	Limiter *limiter.Limiter
	Limits  LimitConfig
	TwoStep TwoStepConfig
	SMS     SMSConfig
	// Policy checks new passwords (nil: the minimum length only); Breached
	// flags a known-breached password at sign-in (nil: no check).
	Policy    *policy.Policy
	Breached  policy.BreachChecker
	Passwords PasswordConfig
	Config    Config
	// PayoutCoolingOff is how long a new deposit account waits before
	// payouts use it (default 72 h).
	PayoutCoolingOff time.Duration
	// ContactCheckAge is how often users confirm their email and mobile
	// ("is this still yours?", default 180 days).
	ContactCheckAge time.Duration
	// AreaUse records members' last use of each area (nil: not recorded).
	AreaUse *AreaUseRecorder
	// NotifyBusiness, when set, tells a business's owner and user managers
	// of a business event by their own settings (internal/notify).
	NotifyBusiness func(ctx context.Context, tx *store.Tx, now time.Time, businessID string, m sellerguard.OutboxMessage) error
	// Notify, when set, routes event emails through the user's notification
	// settings (internal/notify); nil sends every event by email.
	Notify Notifier
	Now    func() time.Time
	Logger *slog.Logger
	// RecoveryPace evens out the timing of "forgot password" requests
	// (internal/recovery).
	RecoveryPace recovery.Pace
	// Interleave, when set (tests only), is called by the scheduled jobs
	// between listing what is due and writing it, with a name for the
	// point, so a test can run a competing change in that window.
	Interleave func(point string)
}

// RequestMeta describes where a request came from, for sessions and audit.
type RequestMeta struct {
	IP string
	// UserAgent is as sessions, audit events and alerts keep it: UTF-8, at
	// most 512 bytes (TruncateUA). The web layer builds every RequestMeta
	// (web.Server.meta) and makes it so, once per request.
	UserAgent string
	// Lang is the language of the request's page or answer (internal/i18n):
	// a sign-up keeps it as the user's sign-up language.
	Lang string
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// NormalizeEmail trims and lower-cases an address for lookups, so that
// " Alice@Example.COM" and "alice@example.com" are one account.
func NormalizeEmail(email string) string {
	return strings.ToLower(norm.NFKC.String(strings.TrimSpace(email)))
}

func validateEmail(field, email string) (string, *sellerguard.FieldError) {
	e := strings.TrimSpace(email)
	if e == "" {
		return "", &sellerguard.FieldError{Field: field, Code: "required", Message: "Enter your email address."}
	}
	if len(e) > MaxEmailLen {
		return "", &sellerguard.FieldError{Field: field, Code: "too_long", Message: "That email address is too long."}
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" || !strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".") {
		return "", &sellerguard.FieldError{Field: field, Code: "invalid_email", Message: "Enter an email address like name@example.com."}
	}
	return e, nil
}

func (s *Service) validatePassword(field, pw string) *sellerguard.FieldError {
	if len(pw) > password.MaxBytes {
		return &sellerguard.FieldError{Field: field, Code: "too_long", Message: fmt.Sprintf("Use at most %d bytes.", password.MaxBytes)}
	}
	if !utf8.ValidString(pw) {
		return &sellerguard.FieldError{Field: field, Code: "invalid_encoding", Message: "The password is not valid text."}
	}
	if pw == "" {
		return &sellerguard.FieldError{Field: field, Code: "too_short", Message: "Enter a password."}
	}
	if n := utf8.RuneCountInString(norm.NFKC.String(pw)); n < s.Config.PasswordMinLength {
		return &sellerguard.FieldError{Field: field, Code: "too_short", Message: fmt.Sprintf("Use at least %d characters.", s.Config.PasswordMinLength)}
	}
	return nil
}

func cleanText(s string) string {
	s = norm.NFKC.String(strings.TrimSpace(s))
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

// Admit takes one of h's places (password.Hasher.Admit) for a public
// request that will hash: SignIn, account's Signup and support's
// AgentSignIn take it first, before any database work, so in a flood the
// requests that wait hold only their connection and body. A full pool
// past the queue timeout is the same 503 busy as a hash's (HashError).
// Call the returned function when done.
func Admit(ctx context.Context, h *password.Hasher) (func(), error) {
	leave, err := h.Admit(ctx)
	if err != nil {
		return nil, HashError(err)
	}
	return leave, nil
}

// Admit is Admit with the service's hasher.
func (s *Service) Admit(ctx context.Context) (func(), error) { return Admit(ctx, s.Hasher) }

// HashError turns the password hasher's refusals into their answers: a
// full pool past the queue timeout into 503 busy (with Retry-After), a
// password over the length bound into a field error. Any other error is
// returned as it is.
func HashError(err error) error {
	switch {
	case errors.Is(err, password.ErrBusy):
		return &sellerguard.Error{Code: sellerguard.ECodeBusy, Message: "SellerGuard is busy. Please try again in a moment.", RetryAfter: 2 * time.Second, Err: err}
	case errors.Is(err, password.ErrTooLong):
		return sellerguard.Invalid(sellerguard.FieldError{Field: "password", Code: "too_long", Message: fmt.Sprintf("Use at most %d bytes.", password.MaxBytes)})
	}
	return err
}

// sixDigitCode returns a uniformly random code from crypto/rand.
func sixDigitCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// sendEmail queues an email with the recipient's anti-phishing phrase at
// the top. Every email of the service goes through here.
func (s *Service) sendEmail(ctx context.Context, tx *store.Tx, now time.Time, m sellerguard.OutboxMessage) error {
	userID, phrase, err := tx.FindUserIDAndPhrase(ctx, NormalizeEmail(m.To))
	if err != nil {
		return err
	}
	if m.UserID == "" {
		m.UserID = userID
	} else if m.UserID != userID {
		// To an address that is not (yet) the account's: the account's phrase.
		if phrase, err = tx.PhishingPhraseOf(ctx, m.UserID); err != nil {
			return err
		}
	}
	// The recipient's language: their saved choice, else the one they
	// signed up in; for an address without an account, the message's own
	// (the request's, the inviter's), else English.
	lang := m.Lang
	if m.UserID != "" {
		if lang, err = tx.LanguageOf(ctx, m.UserID); err != nil {
			return err
		}
	}
	header := outbox.PhraseHeaderIn(lang, phrase)
	if s.Notify != nil && m.UserID != "" && m.Event != "" {
		// The router writes the message in the user's language itself (it
		// also writes the text-message copy).
		return s.Notify(ctx, tx, now, m, header)
	}
	m = outbox.Localize(m, lang)
	m.Body = header + m.Body
	return outbox.Enqueue(ctx, tx, now, m)
}

// Notifier delivers a notification about an event to a user on the
// channels their settings choose (security-critical events always reach
// them by email). header is the anti-phishing header for the email copy.
type Notifier func(ctx context.Context, tx *store.Tx, now time.Time, m sellerguard.OutboxMessage, header string) error
