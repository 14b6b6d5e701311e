package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ContactChange is a change of sign-in email or mobile number (or a
// confirmation that they are still the user's), as stored.
type ContactChange struct {
	ID              string
	UserID          string
	Kind            string // "email", "phone", "confirm_email", "confirm_phone"
	NewValueSealed  string
	OldValueSealed  string
	OldEmailNorm    string
	CodeMAC         string
	Attempts        int
	ExpiresAt       time.Time
	Status          string // "pending", "done", "reverted", "superseded"
	RevertMAC       string
	RevertAttempts  int
	RevertExpiresAt time.Time
	CreatedAt       time.Time
	DoneAt          time.Time
}

const contactCols = `id, user_id, kind, new_value_sealed, old_value_sealed, old_email_norm, code_mac, attempts, expires_at, status, revert_mac, revert_attempts, revert_expires_at, created_at, done_at`

func scanContact(row interface{ Scan(...any) error }) (ContactChange, error) {
	var c ContactChange
	var exp, rexp, created, done int64
	err := row.Scan(&c.ID, &c.UserID, &c.Kind, &c.NewValueSealed, &c.OldValueSealed, &c.OldEmailNorm, &c.CodeMAC, &c.Attempts, &exp, &c.Status, &c.RevertMAC, &c.RevertAttempts, &rexp, &created, &done)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: scan contact change: %w", err)
	}
	c.ExpiresAt, c.RevertExpiresAt, c.CreatedAt, c.DoneAt = fromTS(exp), fromTS(rexp), fromTS(created), fromTS(done)
	return c, nil
}

// PutContactChange inserts or replaces a contact change.
func (s queries) PutContactChange(ctx context.Context, c ContactChange) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO contact_changes (`+contactCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)
		ON CONFLICT (id) DO UPDATE SET new_value_sealed = excluded.new_value_sealed, old_value_sealed = excluded.old_value_sealed,
			old_email_norm = excluded.old_email_norm, code_mac = excluded.code_mac, attempts = excluded.attempts, expires_at = excluded.expires_at,
			status = excluded.status, revert_mac = excluded.revert_mac, revert_attempts = excluded.revert_attempts,
			revert_expires_at = excluded.revert_expires_at, done_at = excluded.done_at`,
		c.ID, c.UserID, c.Kind, c.NewValueSealed, c.OldValueSealed, c.OldEmailNorm, c.CodeMAC, c.Attempts, ts(c.ExpiresAt), c.Status,
		c.RevertMAC, c.RevertAttempts, ts(c.RevertExpiresAt), ts(c.CreatedAt), ts(c.DoneAt))
	if err != nil {
		return fmt.Errorf("store: put contact change: %w", err)
	}
	return nil
}

// PendingContactChange returns the user's newest pending change of a kind.
func (s queries) PendingContactChange(ctx context.Context, userID, kind string, now time.Time) (ContactChange, error) {
	return scanContact(s.q.QueryRowContext(ctx, `SELECT `+contactCols+` FROM contact_changes
		WHERE user_id = $1 AND kind = $2 AND status = 'pending' AND expires_at > $3 ORDER BY created_at DESC LIMIT 1`, userID, kind, ts(now)))
}

// SupersedeContactChanges ends the user's pending changes of a kind.
func (s queries) SupersedeContactChanges(ctx context.Context, userID, kind string) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE contact_changes SET status = 'superseded' WHERE user_id = $1 AND kind = $2 AND status = 'pending'`, userID, kind); err != nil {
		return fmt.Errorf("store: supersede contact changes: %w", err)
	}
	return nil
}

// RevertableEmailChanges lists done email changes away from an address whose
// revert code is still valid, newest first.
func (s queries) RevertableEmailChanges(ctx context.Context, oldEmailNorm string, now time.Time) ([]ContactChange, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+contactCols+` FROM contact_changes
		WHERE old_email_norm = $1 AND kind = 'email' AND status = 'done' AND revert_expires_at > $2 ORDER BY done_at DESC LIMIT 5`, oldEmailNorm, ts(now))
	if err != nil {
		return nil, fmt.Errorf("store: revertable changes: %w", err)
	}
	defer rows.Close()
	var out []ContactChange
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ChangeUserEmail sets a user's sign-in email; ErrConflict when taken (the
// transaction stays usable: execUnique).
func (s queries) ChangeUserEmail(ctx context.Context, userID, email, emailNorm string, at time.Time) error {
	_, err := s.execUnique(ctx, `UPDATE users SET email = $1, email_norm = $2, email_confirmed_at = $3 WHERE id = $4`, email, emailNorm, ts(at), userID)
	if isUniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: change email: %w", err)
	}
	return nil
}

// SetUserPhoneNumber sets (or clears, with "") a user's mobile number.
func (s queries) SetUserPhoneNumber(ctx context.Context, userID, sealed, mac string, at time.Time) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE users SET phone_sealed = $1, phone_mac = $2, phone_confirmed_at = $3 WHERE id = $4`, sealed, mac, ts(at), userID); err != nil {
		return fmt.Errorf("store: set phone: %w", err)
	}
	return nil
}

// ContactInfo is what the account overview shows of a user's contacts.
type ContactInfo struct {
	PhoneSealed      string
	EmailConfirmedAt time.Time
	PhoneConfirmedAt time.Time
}

// UserContact reads a user's phone (sealed) and confirmation times.
func (s queries) UserContact(ctx context.Context, userID string) (ContactInfo, error) {
	var c ContactInfo
	var ec, pc int64
	err := s.q.QueryRowContext(ctx, `SELECT phone_sealed, email_confirmed_at, phone_confirmed_at FROM users WHERE id = $1`, userID).Scan(&c.PhoneSealed, &ec, &pc)
	if err != nil {
		return c, fmt.Errorf("store: user contact: %w", err)
	}
	c.EmailConfirmedAt, c.PhoneConfirmedAt = fromTS(ec), fromTS(pc)
	return c, nil
}

// SetContactConfirmed records that the user confirmed their email or phone.
func (s queries) SetContactConfirmed(ctx context.Context, userID, kind string, at time.Time) error {
	col := "email_confirmed_at"
	if kind == "phone" {
		col = "phone_confirmed_at"
	}
	if _, err := s.q.ExecContext(ctx, `UPDATE users SET `+col+` = $1 WHERE id = $2`, ts(at), userID); err != nil {
		return fmt.Errorf("store: confirm contact: %w", err)
	}
	return nil
}

// UsersDueForContactCheck lists users whose email, or mobile number, was
// last confirmed before cutoff (a number never confirmed counts from the
// account's creation), for "is this still yours?"; Since is the older of
// the two that are due.
func (s queries) UsersDueForContactCheck(ctx context.Context, cutoff time.Time, limit int) ([]UserDue, error) {
	const phoneSince = `(CASE WHEN phone_confirmed_at > 0 THEN phone_confirmed_at ELSE created_at END)`
	const emailDue = `(email_confirmed_at > 0 AND email_confirmed_at < $1)`
	const phoneDue = `(phone_sealed <> '' AND ` + phoneSince + ` < $1)`
	return s.queryUsersDue(ctx, "contact checks", `SELECT id, email,
		CASE WHEN `+emailDue+` AND (NOT `+phoneDue+` OR email_confirmed_at <= `+phoneSince+`) THEN email_confirmed_at ELSE `+phoneSince+` END AS since
		FROM users WHERE status = 'active' AND (`+emailDue+` OR `+phoneDue+`) ORDER BY since LIMIT $2`, ts(cutoff), limit)
}

// PhishingPhraseOf returns a user's anti-phishing phrase by id.
func (s queries) PhishingPhraseOf(ctx context.Context, userID string) (string, error) {
	var p string
	if err := s.q.QueryRowContext(ctx, `SELECT phishing_phrase FROM users WHERE id = $1`, userID).Scan(&p); err != nil {
		return "", fmt.Errorf("store: phrase: %w", err)
	}
	return p, nil
}
