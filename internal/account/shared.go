package account

import (
	"context"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

// Names of the shared base (internal/session) that this package's rules
// use unqualified: the rule code reads as it did in one package.
type (
	Principal   = session.Principal
	RequestMeta = session.RequestMeta
	StepUp      = session.StepUp
	msgKey      = i18n.Key
	msgT        = i18n.Msg
)

// Constants of the shared base.
const (
	EventContactCheck         = session.EventContactCheck
	EventEmailChanged         = session.EventEmailChanged
	EventPasswordChangeForced = session.EventPasswordChangeForced
	EventPasswordChanged      = session.EventPasswordChanged
	EventPasswordReminder     = session.EventPasswordReminder
	EventPaymentChanged       = session.EventPaymentChanged
	EventPhoneChanged         = session.EventPhoneChanged
	EventPhraseChanged        = session.EventPhraseChanged
	EventSignupAttempt        = session.EventSignupAttempt
	EventTwoStepChanged       = session.EventTwoStepChanged
	EventWelcome              = session.EventWelcome
	MaxBusinessNameLen        = session.MaxBusinessNameLen
	MaxEmailLen               = session.MaxEmailLen
	MustChangeSupport         = session.MustChangeSupport
	SignupCodeTTL             = session.SignupCodeTTL
	SignupMaxAttempts         = session.SignupMaxAttempts
)

func NewID(prefix string) string { return session.NewID(prefix) }

func NormalizeEmail(email string) string { return session.NormalizeEmail(email) }

func (s *Service) afterBusinessRuleChanged(err error, reachesMembers bool) error {
	return s.AfterBusinessRuleChanged(err, reachesMembers)
}

func (s *Service) businessRuleChanged(ctx context.Context, tx *store.Tx, now time.Time, p *Principal, meta RequestMeta, businessID, action string,
	before, after map[string]any, reachesMembers bool, key string, kv ...any) error {
	return s.BusinessRuleChanged(ctx, tx, now, p, meta, businessID, action, before, after, reachesMembers, key, kv...)
}

func (s *Service) checkSource(ctx context.Context, kind, ip string, limit int, now time.Time) error {
	return s.CheckSource(ctx, kind, ip, limit, now)
}

func cleanText(s string) string { return session.CleanText(s) }

func (s *Service) hashError(err error) error { return session.HashError(err) }

func (s *Service) now() time.Time { return s.NowUTC() }

func rateLimited(wait time.Duration) error { return session.RateLimited(wait) }

func (s *Service) sendEmail(ctx context.Context, tx *store.Tx, now time.Time, m sellerguard.OutboxMessage) error {
	return s.SendEmail(ctx, tx, now, m)
}

func signupCodeEmail(to, code, baseURL, lang string) sellerguard.OutboxMessage {
	return session.SignupCodeEmail(to, code, baseURL, lang)
}

func signupNoticeEmail(to string, meta RequestMeta, at time.Time, baseURL string) sellerguard.OutboxMessage {
	return session.SignupNoticeEmail(to, meta, at, baseURL)
}

func sixDigitCode() (string, error) { return session.SixDigitCode() }

func (s *Service) teamEvent(ctx context.Context, tx *store.Tx, now time.Time, p *Principal, meta RequestMeta, businessID, action, targetType, targetID string, before, after map[string]any) error {
	return s.TeamEvent(ctx, tx, now, p, meta, businessID, action, targetType, targetID, before, after)
}

func tmail(event, to, key string, kv ...any) sellerguard.OutboxMessage {
	return session.TMail(event, to, key, kv...)
}

func validateEmail(field, email string) (string, *sellerguard.FieldError) {
	return session.ValidateEmail(field, email)
}

func (s *Service) validatePassword(field, pw string) *sellerguard.FieldError {
	return s.ValidatePassword(field, pw)
}

func welcomeEmail(to, business, baseURL string) sellerguard.OutboxMessage {
	return session.WelcomeEmail(to, business, baseURL)
}

func withEvent(m sellerguard.OutboxMessage, event string) sellerguard.OutboxMessage {
	return session.WithEvent(m, event)
}

func (s *Service) replaceSession(ctx context.Context, tx *store.Tx, p *Principal, reauthAt time.Time, meta RequestMeta, now time.Time) (StepUp, error) {
	return s.ReplaceSession(ctx, tx, p, reauthAt, meta, now)
}
