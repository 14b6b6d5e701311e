package sellerdata

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
	msgT        = i18n.Msg
)

// Constants of the shared base.
const (
	EventListingsBulk      = session.EventListingsBulk
	EventPaymentChanged    = session.EventPaymentChanged
	EventStorefrontChanged = session.EventStorefrontChanged
)

func NewID(prefix string) string { return session.NewID(prefix) }

func cleanText(s string) string { return session.CleanText(s) }

func (s *Service) now() time.Time { return s.NowUTC() }

func (s *Service) teamEvent(ctx context.Context, tx *store.Tx, now time.Time, p *Principal, meta RequestMeta, businessID, action, targetType, targetID string, before, after map[string]any) error {
	return s.TeamEvent(ctx, tx, now, p, meta, businessID, action, targetType, targetID, before, after)
}

func (s *Service) tellBusiness(ctx context.Context, tx *store.Tx, now time.Time, businessID, event, key string, kv ...any) error {
	return s.TellBusiness(ctx, tx, now, businessID, event, key, kv...)
}

func validateEmail(field, email string) (string, *sellerguard.FieldError) {
	return session.ValidateEmail(field, email)
}
