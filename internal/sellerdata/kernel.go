package sellerdata

import (
	"context"
	"time"

	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

// Service holds the seller-data rules on the shared base (session.Service).
type Service struct {
	*session.Service
	// ListingsChanged, when set, is told (in the change's transaction) of
	// every listing change too small for the bulk notice, one line each;
	// internal/changes groups them into one message per few minutes.
	ListingsChanged func(ctx context.Context, tx *store.Tx, now time.Time, businessID string, lines []ListingLine) error
}
