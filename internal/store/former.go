package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// FormerMembership is how a user last lost a business: removed by someone
// who manages users, left of their own accord, or removed in an access
// review (its name, from the audit log).
type FormerMembership struct {
	BusinessName string
	At           time.Time
	Action       string // business.member_removed or business.access_review_decision
	AfterJSON    string // the event's after (the review decision, "left_by_themselves")
}

// LastRemoval returns the newest audit event of the business that removed
// the user from it, or took them out in an access review (ErrNotFound when
// there is none: the user never belonged to it).
func (s queries) LastRemoval(ctx context.Context, businessID, userID string) (FormerMembership, error) {
	var f FormerMembership
	var at int64
	err := s.q.QueryRowContext(ctx, `SELECT b.name, e.created_at, e.action, e.after_json FROM audit_events e JOIN businesses b ON b.id = e.business_id
		WHERE e.business_id = $1 AND e.action IN ('business.member_removed', 'business.access_review_decision') AND e.target_type = 'user' AND e.target_id = $2
		ORDER BY e.created_at DESC, e.seq DESC LIMIT 1`, businessID, userID).Scan(&f.BusinessName, &at, &f.Action, &f.AfterJSON)
	if errors.Is(err, sql.ErrNoRows) {
		return FormerMembership{}, ErrNotFound
	}
	if err != nil {
		return FormerMembership{}, fmt.Errorf("store: last removal: %w", err)
	}
	f.At = fromTS(at)
	return f, nil
}

// BusinessRequiresTwoStep reports a business's two-step rule (false for a
// business that does not exist).
func (s queries) BusinessRequiresTwoStep(ctx context.Context, businessID string) (bool, error) {
	var v int64
	err := s.q.QueryRowContext(ctx, `SELECT require_two_step FROM businesses WHERE id = $1`, businessID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: business two-step rule: %w", err)
	}
	return v == 1, nil
}
