package changes

import (
	"context"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

// SignInPoints are the points in time a review can start from.
type SignInPoints struct {
	// LastKnown is the caller's last sign-in from a browser the account
	// knew, before the current session (zero: none in the log).
	LastKnown time.Time
	// FirstNew is the first sign-in from a new browser in the last 30 days
	// (zero: none), the point "Secure my account" suggests. The account's
	// very first sign-in does not count: no browser could be known then.
	FirstNew time.Time
}

// PointsOf finds the caller's sign-in points in their own chain (the last
// 500 sign-ins at most).
func (s *Service) PointsOf(ctx context.Context, p *session.Principal) (SignInPoints, error) {
	evs, err := s.Store.ListAudit(ctx, store.AuditFilter{SubjectID: p.User.ID, Category: sellerguard.CategorySession, Limit: 500})
	if err != nil {
		return SignInPoints{}, err
	}
	// The current session, and the password step it finished (a second
	// step makes a new session whose event names the partial one).
	skip := map[string]bool{p.Session.ID: true}
	for _, e := range evs {
		if e.Action == "session.created" && e.TargetID == p.Session.ID && e.SessionID != "" {
			skip[e.SessionID] = true
		}
	}
	var pts SignInPoints
	monthAgo := s.Now().Add(-30 * 24 * time.Hour)
	complete := len(evs) < 500 // the oldest listed sign-in is the account's first
	for i, e := range evs {    // newest first
		if e.Action != "session.created" || skip[e.TargetID] {
			continue
		}
		if complete && isFirst(evs[i+1:]) {
			continue // the account's first sign-in: no browser was known yet
		}
		known, ok := decodeState(e.After)["known_browser"].(bool)
		if !ok {
			continue
		}
		if known && pts.LastKnown.IsZero() {
			pts.LastKnown = e.CreatedAt
		}
		if !known && e.CreatedAt.After(monthAgo) {
			pts.FirstNew = e.CreatedAt
		}
	}
	return pts, nil
}

// isFirst reports whether no sign-in comes before (older events follow).
func isFirst(older []store.AuditRecord) bool {
	for _, e := range older {
		if e.Action == "session.created" {
			return false
		}
	}
	return true
}
