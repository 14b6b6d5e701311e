package team

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
	dateText    = session.DateText
	msgKey      = i18n.Key
	msgT        = i18n.Msg
	permsText   = session.PermsText
)

// Constants of the shared base.
const (
	EventAccessReviewDue       = session.EventAccessReviewDue
	EventBusinessSecurityRules = session.EventBusinessSecurityRules
	EventMemberChanged         = session.EventMemberChanged
	EventMemberInvited         = session.EventMemberInvited
	EventMemberRemoved         = session.EventMemberRemoved
	EventPasswordChangeForced  = session.EventPasswordChangeForced
	MustChangeBusiness         = session.MustChangeBusiness
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

func (s *Service) teamEvent(ctx context.Context, tx *store.Tx, now time.Time, p *Principal, meta RequestMeta, businessID, action, targetType, targetID string, before, after map[string]any) error {
	return s.TeamEvent(ctx, tx, now, p, meta, businessID, action, targetType, targetID, before, after)
}

func (s *Service) tellBusiness(ctx context.Context, tx *store.Tx, now time.Time, businessID, event, key string, kv ...any) error {
	return s.TellBusiness(ctx, tx, now, businessID, event, key, kv...)
}

func (s *Service) tellMember(ctx context.Context, tx *store.Tx, now time.Time, to, businessName string, what msgT) error {
	return s.TellMember(ctx, tx, now, to, businessName, what)
}

func tmail(event, to, key string, kv ...any) sellerguard.OutboxMessage {
	return session.TMail(event, to, key, kv...)
}

func validateEmail(field, email string) (string, *sellerguard.FieldError) {
	return session.ValidateEmail(field, email)
}

var errNoBusiness = session.ErrNoBusiness
