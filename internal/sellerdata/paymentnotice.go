package sellerdata

import (
	"context"
	"time"

	"github.com/sellerguard/sellerguard/internal/store"
)

// BusinessTeller tells a business's owner and user managers of an event
// (session.Service.TellBusiness).
type BusinessTeller interface {
	TellBusiness(ctx context.Context, tx *store.Tx, now time.Time, businessID, event, key string, kv ...any) error
}

// TellPaymentChange is who is told about a payment change (a deposit
// account added, the card for fees changed, a held deposit account
// confirmed or removed): the business's owner and every member who manages
// users (sellerguard.Membership.ManagesUsers: an active member with
// user_permissions: edit; suspended members are never told), each by email
// in their own language with their anti-phishing phrase, in the change's
// transaction. The event (EventPaymentChanged) is critical: no notification
// setting turns it off.
func TellPaymentChange(ctx context.Context, tx *store.Tx, now time.Time, t BusinessTeller, businessID, key string, kv ...any) error {
	return t.TellBusiness(ctx, tx, now, businessID, EventPaymentChanged, key, kv...)
}
