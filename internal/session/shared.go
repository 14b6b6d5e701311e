package session

import (
	"context"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// The shared base the rule packages (account, secondstep, team, sellerdata)
// build on: each of them embeds *Service and calls these under the
// unexported names it always used (its kernel.go), so a rule reads the same
// in every package.

// NowUTC is the service clock's time, in UTC, to the microsecond (what the
// store keeps).
func (s *Service) NowUTC() time.Time { return s.now() }

// SendEmail enqueues an email to a user in the transaction, through the
// user's notification settings.
func (s *Service) SendEmail(ctx context.Context, tx *store.Tx, now time.Time, m sellerguard.OutboxMessage) error {
	return s.sendEmail(ctx, tx, now, m)
}

// CheckSource counts an attempt of a kind from a source address against its
// hourly limit.
func (s *Service) CheckSource(ctx context.Context, kind, ip string, limit int, now time.Time) error {
	return s.checkSource(ctx, kind, ip, limit, now)
}

// ValidatePassword checks a new password's length and encoding.
func (s *Service) ValidatePassword(field, pw string) *sellerguard.FieldError {
	return s.validatePassword(field, pw)
}

// ReplaceSession ends the principal's session and starts its successor in
// the transaction (a step-up never upgrades the session that asked).
func (s *Service) ReplaceSession(ctx context.Context, tx *store.Tx, p *Principal, reauthAt time.Time, meta RequestMeta, now time.Time) (StepUp, error) {
	return s.replaceSession(ctx, tx, p, reauthAt, meta, now)
}

// TeamEvent appends a business's audit event for a change by a member.
func (s *Service) TeamEvent(ctx context.Context, tx *store.Tx, now time.Time, p *Principal, meta RequestMeta, businessID, action, targetType, targetID string, before, after map[string]any) error {
	return s.teamEvent(ctx, tx, now, p, meta, businessID, action, targetType, targetID, before, after)
}

// TellBusiness tells a business's owner and user managers of an event.
func (s *Service) TellBusiness(ctx context.Context, tx *store.Tx, now time.Time, businessID, event, key string, kv ...any) error {
	return s.tellBusiness(ctx, tx, now, businessID, event, key, kv...)
}

// TellMember tells one member of a change to their access.
func (s *Service) TellMember(ctx context.Context, tx *store.Tx, now time.Time, to, businessName string, what i18n.Msg) error {
	return s.tellMember(ctx, tx, now, to, businessName, what)
}

// BusinessRuleChanged records and announces a change of a business's
// security rules.
func (s *Service) BusinessRuleChanged(ctx context.Context, tx *store.Tx, now time.Time, p *Principal, meta RequestMeta, businessID, action string,
	before, after map[string]any, reachesMembers bool, key string, kv ...any) error {
	return s.businessRuleChanged(ctx, tx, now, p, meta, businessID, action, before, after, reachesMembers, key, kv...)
}

// AfterBusinessRuleChanged does what follows the commit of a rule change.
func (s *Service) AfterBusinessRuleChanged(err error, reachesMembers bool) error {
	return s.afterBusinessRuleChanged(err, reachesMembers)
}

// Shared checks, codes and texts.

// ValidateEmail checks an email address as typed.
func ValidateEmail(field, email string) (string, *sellerguard.FieldError) {
	return validateEmail(field, email)
}

// CleanText normalises text a person typed and drops control characters.
func CleanText(s string) string { return cleanText(s) }

// SixDigitCode draws a six-digit code from crypto/rand.
func SixDigitCode() (string, error) { return sixDigitCode() }

// RateLimited is the answer to a source over its limit.
func RateLimited(wait time.Duration) error { return rateLimited(wait) }

// AccountDelayed is the answer to an attempt on a delayed account.
func AccountDelayed(wait time.Duration) error { return accountDelayed(wait) }

// DeviceID is the known-browser id of a device cookie ("" for none).
func DeviceID(cookie string) string { return deviceID(cookie) }

// NewToken draws a session token and its stored hash.
func NewToken() (token, hash string) { return newToken() }

// TruncateUA is a request's User-Agent as SellerGuard keeps it: UTF-8
// only (a header may hold any byte above 0x7f; PostgreSQL keeps only UTF-8
// text), at most 512 bytes.
func TruncateUA(ua string) string { return truncateUA(ua) }

// MethodKinds lists the kinds of second step a user can use.
func MethodKinds(ms []store.TwoStepMethod, backupLeft int) []string {
	return methodKinds(ms, backupLeft)
}

// ProtectionOf reads a user's two-step methods and what they protect.
func ProtectionOf(ctx context.Context, q interface {
	ListMethods(context.Context, string) ([]store.TwoStepMethod, error)
	CountBackupCodesLeft(context.Context, string) (int, error)
}, userID string) (twostep.Protection, []store.TwoStepMethod, error) {
	return protectionOf(ctx, q, userID)
}

// RequiresOrNot is the message key of a rule turned on or off.
func RequiresOrNot(key string, required bool) i18n.Key { return requiresOrNot(key, required) }

// TMail is an email written from the message files.
func TMail(event, to, key string, kv ...any) sellerguard.OutboxMessage {
	return tmail(event, to, key, kv...)
}

// WithEvent tags a message with its notification event.
func WithEvent(m sellerguard.OutboxMessage, event string) sellerguard.OutboxMessage {
	return withEvent(m, event)
}

// SignupCodeEmail, SignupNoticeEmail, WelcomeEmail, BackupCodeUsedEmail and
// TwoStepChangedEmail are the emails of those events.
func SignupCodeEmail(to, code, baseURL, lang string) sellerguard.OutboxMessage {
	return signupCodeEmail(to, code, baseURL, lang)
}

// SignupNoticeEmail: see SignupCodeEmail.
func SignupNoticeEmail(to string, meta RequestMeta, at time.Time, baseURL string) sellerguard.OutboxMessage {
	return signupNoticeEmail(to, meta, at, baseURL)
}

// WelcomeEmail: see SignupCodeEmail.
func WelcomeEmail(to, business, baseURL string) sellerguard.OutboxMessage {
	return welcomeEmail(to, business, baseURL)
}

// BackupCodeUsedEmail: see SignupCodeEmail.
func BackupCodeUsedEmail(to string, left int, meta RequestMeta, at time.Time, baseURL string) sellerguard.OutboxMessage {
	return backupCodeUsedEmail(to, left, meta, at, baseURL)
}

// TwoStepChangedEmail: see SignupCodeEmail.
func TwoStepChangedEmail(to, action, kind, label string, meta RequestMeta, at time.Time, baseURL string) sellerguard.OutboxMessage {
	return twoStepChangedEmail(to, action, kind, label, meta, at, baseURL)
}

// DateText and PermsText are message values: a day, a set of permissions.
type (
	DateText  = dateText
	PermsText = permsText
)

// Shared errors.
var (
	ErrInvalidCredentials = errInvalidCredentials
	ErrNoSuchMethod       = errNoSuchMethod
	ErrWrongSecondStep    = errWrongSecondStep
)
