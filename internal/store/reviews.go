package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sellerguard/sellerguard"
)

// ChargeMethod is the card a business's fees are charged to, as stored.
type ChargeMethod struct {
	BusinessID  string
	Holder      string
	Brand       string
	Last4       string
	ExpMonth    int
	ExpYear     int
	Fingerprint string // keyed HMAC of the full number (never stored)
	UpdatedBy   string
	UpdatedAt   time.Time
}

// GetChargeMethod returns a business's charge method; ErrNotFound if none.
func (s queries) GetChargeMethod(ctx context.Context, businessID string) (ChargeMethod, error) {
	c := ChargeMethod{BusinessID: businessID}
	var updated int64
	err := s.q.QueryRowContext(ctx, `SELECT holder, brand, last4, exp_month, exp_year, fingerprint, updated_by, updated_at
		FROM charge_methods WHERE business_id = $1`, businessID).Scan(&c.Holder, &c.Brand, &c.Last4, &c.ExpMonth, &c.ExpYear, &c.Fingerprint, &c.UpdatedBy, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: charge method: %w", err)
	}
	c.UpdatedAt = fromTS(updated)
	return c, nil
}

// PutChargeMethod stores a business's charge method, replacing any other.
// The full card number is not stored (number_sealed stays empty).
func (s queries) PutChargeMethod(ctx context.Context, c ChargeMethod) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO charge_methods (business_id, holder, brand, last4, exp_month, exp_year, number_sealed, fingerprint, updated_by, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,'',$7,$8,$9)
		ON CONFLICT (business_id) DO UPDATE SET holder = excluded.holder, brand = excluded.brand, last4 = excluded.last4, exp_month = excluded.exp_month,
			exp_year = excluded.exp_year, number_sealed = '', fingerprint = excluded.fingerprint, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		c.BusinessID, c.Holder, c.Brand, c.Last4, c.ExpMonth, c.ExpYear, c.Fingerprint, c.UpdatedBy, ts(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: put charge method: %w", err)
	}
	return nil
}

// AreaUseKey names one member's use of one area of a business.
type AreaUseKey struct {
	BusinessID, UserID, Area string
}

// AreaUse is when a member last viewed (with any access) and last edited an
// area; zero times mean never.
type AreaUse struct {
	ViewedAt, EditedAt time.Time
}

// RecordAreaUse merges batched area uses: each time only moves forward.
func (s queries) RecordAreaUse(ctx context.Context, uses map[AreaUseKey]AreaUse) error {
	for k, u := range uses {
		_, err := s.q.ExecContext(ctx, `INSERT INTO area_use (business_id, user_id, area, viewed_at, edited_at) VALUES ($1,$2,$3,$4,$5)
			ON CONFLICT (business_id, user_id, area) DO UPDATE SET
				viewed_at = CASE WHEN excluded.viewed_at > area_use.viewed_at THEN excluded.viewed_at ELSE area_use.viewed_at END,
				edited_at = CASE WHEN excluded.edited_at > area_use.edited_at THEN excluded.edited_at ELSE area_use.edited_at END`,
			k.BusinessID, k.UserID, k.Area, ts(u.ViewedAt), ts(u.EditedAt))
		if err != nil {
			return fmt.Errorf("store: record area use: %w", err)
		}
	}
	return nil
}

// AreaUses returns a business's recorded area uses by user and area.
func (s queries) AreaUses(ctx context.Context, businessID string) (map[string]map[string]AreaUse, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT user_id, area, viewed_at, edited_at FROM area_use WHERE business_id = $1`, businessID)
	if err != nil {
		return nil, fmt.Errorf("store: area uses: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]AreaUse{}
	for rows.Next() {
		var user, area string
		var v, e int64
		if err := rows.Scan(&user, &area, &v, &e); err != nil {
			return nil, fmt.Errorf("store: scan area use: %w", err)
		}
		if out[user] == nil {
			out[user] = map[string]AreaUse{}
		}
		out[user][area] = AreaUse{ViewedAt: fromTS(v), EditedAt: fromTS(e)}
	}
	return out, rows.Err()
}

// LastSignIns returns the last full sign-in of each member of a business.
func (s queries) LastSignIns(ctx context.Context, businessID string) (map[string]time.Time, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT u.id, u.last_sign_in_at FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.business_id = $1`, businessID)
	if err != nil {
		return nil, fmt.Errorf("store: last sign-ins: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var t int64
		if err := rows.Scan(&id, &t); err != nil {
			return nil, fmt.Errorf("store: scan last sign-in: %w", err)
		}
		out[id] = fromTS(t)
	}
	return out, rows.Err()
}

// ReviewSettings are a business's access-review rules: how often a review
// opens (0 = the instance default) and after how many days members left
// unreviewed in an open review are suspended (0 = never).
type ReviewSettings struct {
	IntervalDays, SuspendAfterDays int
}

// GetReviewSettings returns a business's review settings.
func (s queries) GetReviewSettings(ctx context.Context, businessID string) (ReviewSettings, error) {
	var r ReviewSettings
	err := s.q.QueryRowContext(ctx, `SELECT review_interval_days, suspend_unreviewed_days FROM businesses WHERE id = $1`, businessID).Scan(&r.IntervalDays, &r.SuspendAfterDays)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("store: review settings: %w", err)
	}
	return r, nil
}

// SetReviewSettings replaces a business's review settings.
func (s queries) SetReviewSettings(ctx context.Context, businessID string, r ReviewSettings) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE businesses SET review_interval_days = $1, suspend_unreviewed_days = $2 WHERE id = $3`, r.IntervalDays, r.SuspendAfterDays, businessID); err != nil {
		return fmt.Errorf("store: set review settings: %w", err)
	}
	return nil
}

// Review statuses.
const (
	ReviewOpen      = "open"
	ReviewCompleted = "completed"
)

// AccessReview is one review of who has access to a business.
type AccessReview struct {
	ID          string
	BusinessID  string
	Status      string
	CreatedAt   time.Time
	RemindedAt  time.Time
	Reminders   int
	CompletedAt time.Time
	CompletedBy string
	Items       []ReviewItem
}

// ReviewItem is one member in a review and what was decided.
type ReviewItem struct {
	UserID    string
	Email     string
	Decision  string // "" (open), keep, reduce, revoke, suspended, left
	Before    sellerguard.Permissions
	After     sellerguard.Permissions
	DecidedBy string
	DecidedAt time.Time
}

// CreateReview stores a new review with its items; ErrConflict when the
// business has an open review already.
func (s queries) CreateReview(ctx context.Context, r AccessReview) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO access_reviews (id, business_id, status, created_at, reminded_at, reminders, completed_at, completed_by)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`, r.ID, r.BusinessID, r.Status, ts(r.CreatedAt), ts(r.RemindedAt), r.Reminders, ts(r.CompletedAt), r.CompletedBy)
	if isUniqueViolation(err) {
		return ErrConflict // a review of this business is open already
	}
	if err != nil {
		return fmt.Errorf("store: create review: %w", err)
	}
	for _, it := range r.Items {
		if err := s.PutReviewItem(ctx, r.ID, it); err != nil {
			return err
		}
	}
	return nil
}

// PutReviewItem stores (or replaces) one item of a review.
func (s queries) PutReviewItem(ctx context.Context, reviewID string, it ReviewItem) error {
	before, err := encodePermissions(it.Before)
	if err != nil {
		return err
	}
	after, err := encodePermissions(it.After)
	if err != nil {
		return err
	}
	_, err = s.q.ExecContext(ctx, `INSERT INTO access_review_items (review_id, user_id, email, decision, perms_before, perms_after, decided_by, decided_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8)
		ON CONFLICT (review_id, user_id) DO UPDATE SET decision = excluded.decision, perms_after = excluded.perms_after,
			decided_by = excluded.decided_by, decided_at = excluded.decided_at`,
		reviewID, it.UserID, it.Email, it.Decision, before, after, it.DecidedBy, ts(it.DecidedAt))
	if err != nil {
		return fmt.Errorf("store: put review item: %w", err)
	}
	return nil
}

// The writes to a review below are conditional on what the writer saw, in
// the UPDATE itself: a scheduler that listed a review as open must not set
// back a review that the owner completed meanwhile, and two instances must
// not both remind (or both complete). Each reports whether it changed the
// row; false means somebody else got there first.

// RemindReview records a reminder of an open review whose last reminder
// was at seen (zero: never).
func (s queries) RemindReview(ctx context.Context, id string, seen, at time.Time) (bool, error) {
	return s.updateReview(ctx, "remind", `UPDATE access_reviews SET reminded_at = $1, reminders = reminders + 1
		WHERE id = $2 AND status = 'open' AND reminded_at = $3`, ts(at), id, ts(seen))
}

// CompleteReview completes an open review.
func (s queries) CompleteReview(ctx context.Context, id string, at time.Time, by string) (bool, error) {
	return s.updateReview(ctx, "complete", `UPDATE access_reviews SET status = 'completed', completed_at = $1, completed_by = $2
		WHERE id = $3 AND status = 'open'`, ts(at), by, id)
}

// LockOpenReview holds an open review's row until the transaction ends
// (PostgreSQL row lock; SQLite's write transaction already holds the
// database), so decisions, suspensions and completion of one review take
// turns; false if the review is no longer open.
func (s queries) LockOpenReview(ctx context.Context, id string) (bool, error) {
	return s.updateReview(ctx, "lock", `UPDATE access_reviews SET status = status WHERE id = $1 AND status = 'open'`, id)
}

func (s queries) updateReview(ctx context.Context, what, query string, args ...any) (bool, error) {
	res, err := s.q.ExecContext(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("store: %s review: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: %s review: %w", what, err)
	}
	return n == 1, nil
}

const reviewCols = `id, business_id, status, created_at, reminded_at, reminders, completed_at, completed_by`

func scanReview(sc interface{ Scan(...any) error }) (AccessReview, error) {
	var r AccessReview
	var created, reminded, completed int64
	err := sc.Scan(&r.ID, &r.BusinessID, &r.Status, &created, &reminded, &r.Reminders, &completed, &r.CompletedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("store: scan review: %w", err)
	}
	r.CreatedAt, r.RemindedAt, r.CompletedAt = fromTS(created), fromTS(reminded), fromTS(completed)
	return r, nil
}

// FindReview returns a review of a business with its items.
func (s queries) FindReview(ctx context.Context, businessID, id string) (AccessReview, error) {
	r, err := scanReview(s.q.QueryRowContext(ctx, `SELECT `+reviewCols+` FROM access_reviews WHERE id = $1 AND business_id = $2`, id, businessID))
	if err != nil {
		return r, err
	}
	rows, err := s.q.QueryContext(ctx, `SELECT user_id, email, decision, perms_before, perms_after, decided_by, decided_at
		FROM access_review_items WHERE review_id = $1 ORDER BY email, user_id`, id)
	if err != nil {
		return r, fmt.Errorf("store: review items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var it ReviewItem
		var before, after string
		var decided int64
		if err := rows.Scan(&it.UserID, &it.Email, &it.Decision, &before, &after, &it.DecidedBy, &decided); err != nil {
			return r, fmt.Errorf("store: scan review item: %w", err)
		}
		it.DecidedAt = fromTS(decided)
		if it.Before, err = decodePermissions(before); err != nil {
			return r, err
		}
		if it.After, err = decodePermissions(after); err != nil {
			return r, err
		}
		r.Items = append(r.Items, it)
	}
	return r, rows.Err()
}

// ListReviews lists a business's reviews, newest first (without items).
func (s queries) ListReviews(ctx context.Context, businessID string) ([]AccessReview, error) {
	return s.queryReviews(ctx, "list reviews", `WHERE business_id = $1 ORDER BY created_at DESC, id DESC LIMIT 100`, businessID)
}

// OpenReviews lists every open review (for reminders and suspensions).
func (s queries) OpenReviews(ctx context.Context) ([]AccessReview, error) {
	return s.queryReviews(ctx, "open reviews", `WHERE status = 'open' ORDER BY created_at, id`)
}

// FindOpenReview returns a business's open review (there is at most one);
// ErrNotFound if none.
func (s queries) FindOpenReview(ctx context.Context, businessID string) (AccessReview, error) {
	return scanReview(s.q.QueryRowContext(ctx, `SELECT `+reviewCols+` FROM access_reviews WHERE business_id = $1 AND status = 'open'`, businessID))
}

func (s queries) queryReviews(ctx context.Context, what, where string, args ...any) ([]AccessReview, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+reviewCols+` FROM access_reviews `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	out := []AccessReview{}
	for rows.Next() {
		r, err := scanReview(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ReviewDue is a business that has members besides its owner, when its
// newest review opened (zero: never) and its review interval.
type ReviewDue struct {
	BusinessID   string
	CreatedAt    time.Time
	LastReview   time.Time
	IntervalDays int
	Open         bool
}

// ReviewCandidates lists businesses with at least one member besides the
// owner, with their newest review.
func (s queries) ReviewCandidates(ctx context.Context) ([]ReviewDue, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT b.id, b.created_at, b.review_interval_days,
			COALESCE((SELECT MAX(r.created_at) FROM access_reviews r WHERE r.business_id = b.id), 0),
			(SELECT COUNT(*) FROM access_reviews r WHERE r.business_id = b.id AND r.status = 'open')
		FROM businesses b
		WHERE EXISTS (SELECT 1 FROM memberships m WHERE m.business_id = b.id AND m.role <> 'owner')
		ORDER BY b.id`)
	if err != nil {
		return nil, fmt.Errorf("store: review candidates: %w", err)
	}
	defer rows.Close()
	var out []ReviewDue
	for rows.Next() {
		var d ReviewDue
		var created, last int64
		var open int
		if err := rows.Scan(&d.BusinessID, &created, &d.IntervalDays, &last, &open); err != nil {
			return nil, fmt.Errorf("store: scan review candidate: %w", err)
		}
		d.CreatedAt, d.LastReview, d.Open = fromTS(created), fromTS(last), open > 0
		out = append(out, d)
	}
	return out, rows.Err()
}

// SetMembershipStatus sets a member's status (active or suspended; never
// the owner's).
func (s queries) SetMembershipStatus(ctx context.Context, businessID, userID, status string) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE memberships SET status = $1 WHERE business_id = $2 AND user_id = $3 AND role <> 'owner'`, status, businessID, userID); err != nil {
		return fmt.Errorf("store: set membership status: %w", err)
	}
	return nil
}

// OwnershipTransfer is an owner's offer to hand a business to a member.
type OwnershipTransfer struct {
	BusinessID, FromUser, ToUser string
	CreatedAt, ExpiresAt         time.Time
}

// PutOwnershipTransfer stores (or replaces) a business's pending transfer.
func (s queries) PutOwnershipTransfer(ctx context.Context, t OwnershipTransfer) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO ownership_transfers (business_id, from_user, to_user, created_at, expires_at) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (business_id) DO UPDATE SET from_user = excluded.from_user, to_user = excluded.to_user, created_at = excluded.created_at, expires_at = excluded.expires_at`,
		t.BusinessID, t.FromUser, t.ToUser, ts(t.CreatedAt), ts(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: put ownership transfer: %w", err)
	}
	return nil
}

// FindOwnershipTransfer returns a business's pending transfer; ErrNotFound if none.
func (s queries) FindOwnershipTransfer(ctx context.Context, businessID string) (OwnershipTransfer, error) {
	t := OwnershipTransfer{BusinessID: businessID}
	var created, expires int64
	err := s.q.QueryRowContext(ctx, `SELECT from_user, to_user, created_at, expires_at FROM ownership_transfers WHERE business_id = $1`, businessID).
		Scan(&t.FromUser, &t.ToUser, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("store: find ownership transfer: %w", err)
	}
	t.CreatedAt, t.ExpiresAt = fromTS(created), fromTS(expires)
	return t, nil
}

// DeleteOwnershipTransfer removes a business's pending transfer.
func (s queries) DeleteOwnershipTransfer(ctx context.Context, businessID string) error {
	if _, err := s.q.ExecContext(ctx, `DELETE FROM ownership_transfers WHERE business_id = $1`, businessID); err != nil {
		return fmt.Errorf("store: delete ownership transfer: %w", err)
	}
	return nil
}

// SetMemberRole sets a membership's role and permissions at a moment (for an
// ownership transfer: demote the owner first, then promote).
func (s queries) SetMemberRole(ctx context.Context, businessID, userID, role string, p sellerguard.Permissions, at time.Time) error {
	return s.setRoleAndPermissions(ctx, businessID, userID, role, p, at)
}
