package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sellerguard/sellerguard"
)

// Notification settings (internal/notify): only a user's overrides of the
// catalogue's defaults are stored, one row per (user, event, channel).

// NotificationPref is one stored override of a default notification setting.
type NotificationPref struct {
	UserID  string
	Event   string
	Channel string
	Enabled bool
}

// NotificationPrefs lists a user's overrides.
func (s queries) NotificationPrefs(ctx context.Context, userID string) ([]NotificationPref, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT event, channel, enabled FROM notification_prefs WHERE user_id = $1 ORDER BY event, channel`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: notification prefs: %w", err)
	}
	defer rows.Close()
	var out []NotificationPref
	for rows.Next() {
		p := NotificationPref{UserID: userID}
		var on int64
		if err := rows.Scan(&p.Event, &p.Channel, &on); err != nil {
			return nil, fmt.Errorf("store: notification prefs: %w", err)
		}
		p.Enabled = on != 0
		out = append(out, p)
	}
	return out, rows.Err()
}

// PutNotificationPref stores an override (insert or replace).
func (s queries) PutNotificationPref(ctx context.Context, p NotificationPref) error {
	on := 0
	if p.Enabled {
		on = 1
	}
	_, err := s.q.ExecContext(ctx, `INSERT INTO notification_prefs (user_id, event, channel, enabled) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id, event, channel) DO UPDATE SET enabled = excluded.enabled`, p.UserID, p.Event, p.Channel, on)
	if err != nil {
		return fmt.Errorf("store: put notification pref: %w", err)
	}
	return nil
}

// DeleteNotificationPref removes an override: the default applies again.
func (s queries) DeleteNotificationPref(ctx context.Context, userID, event, channel string) error {
	if _, err := s.q.ExecContext(ctx, `DELETE FROM notification_prefs WHERE user_id = $1 AND event = $2 AND channel = $3`, userID, event, channel); err != nil {
		return fmt.Errorf("store: delete notification pref: %w", err)
	}
	return nil
}

// NotifyContact is what a notification needs to reach a user.
type NotifyContact struct {
	UserID      string
	Email       string
	Phrase      string // anti-phishing phrase ("" when not chosen)
	PhoneSealed string // "" when the user has no mobile number
	// Membership is the member's place in the business
	// (BusinessNotifyRecipients only).
	Membership sellerguard.Membership
}

// NotifyContactOf returns how to reach a user; ErrNotFound when there is no
// such user.
func (s queries) NotifyContactOf(ctx context.Context, userID string) (NotifyContact, error) {
	c := NotifyContact{UserID: userID}
	err := s.q.QueryRowContext(ctx, `SELECT email, phishing_phrase, phone_sealed FROM users WHERE id = $1`, userID).Scan(&c.Email, &c.Phrase, &c.PhoneSealed)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: notify contact: %w", err)
	}
	return c, nil
}

// BusinessNotifyRecipients lists the members of a business (active and
// suspended, owner first) with how to reach them and their membership, for
// the caller to pick the user managers (sellerguard.Membership.ManagesUsers:
// the one rule, not repeated here in SQL).
func (s queries) BusinessNotifyRecipients(ctx context.Context, businessID string) ([]NotifyContact, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT u.id, u.email, u.phishing_phrase, u.phone_sealed, m.role, m.status, m.permissions
		FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.business_id = $1 AND m.status IN ('active', 'suspended')
		ORDER BY CASE WHEN m.role = 'owner' THEN 0 ELSE 1 END, m.created_at, u.id`, businessID)
	if err != nil {
		return nil, fmt.Errorf("store: business recipients: %w", err)
	}
	defer rows.Close()
	var out []NotifyContact
	for rows.Next() {
		var c NotifyContact
		var perms string
		if err := rows.Scan(&c.UserID, &c.Email, &c.Phrase, &c.PhoneSealed, &c.Membership.Role, &c.Membership.Status, &perms); err != nil {
			return nil, fmt.Errorf("store: business recipients: %w", err)
		}
		c.Membership.BusinessID, c.Membership.UserID = businessID, c.UserID
		if c.Membership.Permissions, err = decodePermissions(perms); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// EnqueueMessageOnce adds a message to the outbox unless one with its id is
// there already, and reports whether it added it. m.ID and m.CreatedAt must
// be set.
func (s queries) EnqueueMessageOnce(ctx context.Context, m sellerguard.OutboxMessage) (bool, error) {
	res, err := s.q.ExecContext(ctx, `INSERT INTO outbox (`+outboxCols+`, lease_until) VALUES ($1,$2,$3,$4,$5,$6,0,$7,$8,0,'',$9,$10,$11,0)
		ON CONFLICT (id) DO NOTHING`,
		m.ID, m.Channel, m.To, m.Subject, m.Body, sellerguard.OutboxPending, ts(m.CreatedAt), ts(m.CreatedAt), m.MessageID, m.UserID, m.Event)
	if err != nil {
		return false, fmt.Errorf("store: enqueue once: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: enqueue once: %w", err)
	}
	return n == 1, nil
}

// CountUserMessages counts the messages of one event on one channel about a
// user created at or after since (e.g. recent delivery-failure notices).
func (s queries) CountUserMessages(ctx context.Context, userID, event, channel string, since time.Time) (int, error) {
	var n int
	err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE user_id = $1 AND event = $2 AND channel = $3 AND created_at >= $4`,
		userID, event, channel, ts(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count user messages: %w", err)
	}
	return n, nil
}

// FailedDeliveries lists, newest first, up to limit messages about a user
// created at or after since that could not be delivered. Bodies are not
// read (a failed message's body is erased anyway).
func (s queries) FailedDeliveries(ctx context.Context, userID string, since time.Time, limit int) ([]sellerguard.OutboxMessage, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT id, channel, recipient, subject, attempts, created_at, user_id, event FROM outbox
		WHERE user_id = $1 AND status = $2 AND created_at >= $3 ORDER BY created_at DESC, id DESC LIMIT $4`,
		userID, sellerguard.OutboxFailed, ts(since), limit)
	if err != nil {
		return nil, fmt.Errorf("store: failed deliveries: %w", err)
	}
	defer rows.Close()
	out := []sellerguard.OutboxMessage{}
	for rows.Next() {
		m := sellerguard.OutboxMessage{Status: sellerguard.OutboxFailed}
		var created int64
		if err := rows.Scan(&m.ID, &m.Channel, &m.To, &m.Subject, &m.Attempts, &created, &m.UserID, &m.Event); err != nil {
			return nil, fmt.Errorf("store: failed deliveries: %w", err)
		}
		m.CreatedAt = fromTS(created)
		out = append(out, m)
	}
	return out, rows.Err()
}
