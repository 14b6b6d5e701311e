package secondstep

import (
	"context"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// Names of the shared base (internal/session) that this package's rules
// use unqualified: the rule code reads as it did in one package.
type (
	Principal   = session.Principal
	RequestMeta = session.RequestMeta
	StepUp      = session.StepUp
	msgKey      = i18n.Key
)

// Constants of the shared base.
const (
	EventBackupCodeUsed = session.EventBackupCodeUsed
	EventTwoStepChanged = session.EventTwoStepChanged
)

var (
	errInvalidCredentials = session.ErrInvalidCredentials
	errNoSuchMethod       = session.ErrNoSuchMethod
	errWrongSecondStep    = session.ErrWrongSecondStep
)

func NewID(prefix string) string { return session.NewID(prefix) }

func accountDelayed(wait time.Duration) error { return session.AccountDelayed(wait) }

func (s *Service) afterBusinessRuleChanged(err error, reachesMembers bool) error {
	return s.AfterBusinessRuleChanged(err, reachesMembers)
}

func backupCodeUsedEmail(to string, left int, meta RequestMeta, at time.Time, baseURL string) sellerguard.OutboxMessage {
	return session.BackupCodeUsedEmail(to, left, meta, at, baseURL)
}

func (s *Service) businessRuleChanged(ctx context.Context, tx *store.Tx, now time.Time, p *Principal, meta RequestMeta, businessID, action string,
	before, after map[string]any, reachesMembers bool, key string, kv ...any) error {
	return s.BusinessRuleChanged(ctx, tx, now, p, meta, businessID, action, before, after, reachesMembers, key, kv...)
}

func cleanText(s string) string { return session.CleanText(s) }

func deviceID(cookie string) string { return session.DeviceID(cookie) }

func (s *Service) hashError(err error) error { return session.HashError(err) }

func methodKinds(ms []store.TwoStepMethod, backupLeft int) []string {
	return session.MethodKinds(ms, backupLeft)
}

func newToken() (token, hash string) { return session.NewToken() }

func (s *Service) now() time.Time { return s.NowUTC() }

func protectionOf(ctx context.Context, q interface {
	ListMethods(context.Context, string) ([]store.TwoStepMethod, error)
	CountBackupCodesLeft(context.Context, string) (int, error)
}, userID string) (twostep.Protection, []store.TwoStepMethod, error) {
	return session.ProtectionOf(ctx, q, userID)
}

func requiresOrNot(key string, required bool) msgKey { return session.RequiresOrNot(key, required) }

func (s *Service) sendEmail(ctx context.Context, tx *store.Tx, now time.Time, m sellerguard.OutboxMessage) error {
	return s.SendEmail(ctx, tx, now, m)
}

func sixDigitCode() (string, error) { return session.SixDigitCode() }

func twoStepChangedEmail(to, action, kind, label string, meta RequestMeta, at time.Time, baseURL string) sellerguard.OutboxMessage {
	return session.TwoStepChangedEmail(to, action, kind, label, meta, at, baseURL)
}

func withEvent(m sellerguard.OutboxMessage, event string) sellerguard.OutboxMessage {
	return session.WithEvent(m, event)
}

func (s *Service) replaceSession(ctx context.Context, tx *store.Tx, p *Principal, reauthAt time.Time, meta RequestMeta, now time.Time) (StepUp, error) {
	return s.ReplaceSession(ctx, tx, p, reauthAt, meta, now)
}

func tmail(event, to, key string, kv ...any) sellerguard.OutboxMessage {
	return session.TMail(event, to, key, kv...)
}
