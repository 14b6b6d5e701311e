package store

import (
	"context"
	"fmt"
	"time"
)

// PasswordHistory returns a user's previous password hashes, newest first.
func (s queries) PasswordHistory(ctx context.Context, userID string, limit int) ([]string, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT hash FROM password_history WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: password history: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// PushPasswordHistory keeps an old hash and trims the history to keep entries.
func (s queries) PushPasswordHistory(ctx context.Context, userID, hash string, at time.Time, keep int) error {
	if _, err := s.q.ExecContext(ctx, `INSERT INTO password_history (user_id, hash, created_at) VALUES ($1, $2, $3)`, userID, hash, ts(at)); err != nil {
		return fmt.Errorf("store: password history: %w", err)
	}
	_, err := s.q.ExecContext(ctx, `DELETE FROM password_history WHERE user_id = $1 AND created_at NOT IN
		(SELECT created_at FROM password_history WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2)`, userID, keep)
	if err != nil {
		return fmt.Errorf("store: trim password history: %w", err)
	}
	return nil
}

// SetMustChangePassword records why a user must change their password
// before anything else ("" clears it).
func (s queries) SetMustChangePassword(ctx context.Context, userID, reason string) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE users SET must_change_password = $1 WHERE id = $2`, reason, userID); err != nil {
		return fmt.Errorf("store: must change password: %w", err)
	}
	return nil
}

// The businesses whose password rules apply to a user (their active
// memberships), to end with the user's id, and the shortest maximum
// password age among them (NULL when none has one).
const (
	activeBusinessesOf = `FROM memberships m JOIN businesses b ON b.id = m.business_id WHERE m.status = 'active' AND m.user_id = `
	shortestMaxAge     = `MIN(CASE WHEN b.password_max_age_days > 0 THEN b.password_max_age_days END)`
)

// SignInUser is what a password sign-in reads about a user before it
// hashes, in one query (FindUserForSignIn): the user, their pending forced
// change of password ("" when none), the shortest maximum password age of
// their businesses in days (0 = none, as BusinessPasswordRules returns it)
// and whether they have any second-step method (confirmed or not: only
// then does the sign-in read them).
type SignInUser struct {
	UserRecord
	MustChangePassword string
	MaxPasswordAgeDays int
	HasTwoStepMethods  bool
}

// FindUserForSignIn reads a SignInUser by normalised email; ErrNotFound
// when there is none.
func (s queries) FindUserForSignIn(ctx context.Context, emailNorm string) (SignInUser, error) {
	var su SignInUser
	var minAge, methods int64
	u, err := scanUser(s.q.QueryRowContext(ctx, `SELECT `+userCols+`, u.must_change_password,
		COALESCE((SELECT `+shortestMaxAge+` `+activeBusinessesOf+`u.id), 0),
		CASE WHEN EXISTS (SELECT 1 FROM two_step_methods t WHERE t.user_id = u.id) THEN 1 ELSE 0 END
		FROM users u WHERE u.email_norm = $1`, emailNorm), &su.MustChangePassword, &minAge, &methods)
	if err != nil {
		return SignInUser{}, err
	}
	su.UserRecord, su.MaxPasswordAgeDays, su.HasTwoStepMethods = u, int(minAge), methods == 1
	return su, nil
}

// BusinessPasswordRules returns the strictest rules of the businesses a user
// belongs to: the shortest maximum age in days (0 = none) and whether any
// demands strict passwords.
func (s queries) BusinessPasswordRules(ctx context.Context, userID string) (maxAgeDays int, strict bool, err error) {
	var minAge, anyStrict int64
	err = s.q.QueryRowContext(ctx, `SELECT COALESCE(`+shortestMaxAge+`, 0), COALESCE(MAX(b.strict_passwords), 0)
		`+activeBusinessesOf+`$1`, userID).Scan(&minAge, &anyStrict)
	if err != nil {
		return 0, false, fmt.Errorf("store: password rules: %w", err)
	}
	return int(minAge), anyStrict == 1, nil
}

// SetBusinessPasswordRules sets a business's password rules.
func (s queries) SetBusinessPasswordRules(ctx context.Context, businessID string, maxAgeDays int, strict bool) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE businesses SET password_max_age_days = $1, strict_passwords = $2 WHERE id = $3`, maxAgeDays, boolInt(strict), businessID); err != nil {
		return fmt.Errorf("store: password rules: %w", err)
	}
	return nil
}

// UserDue is a user due for a reminder, with the time it counts from (the
// last password change, or the last confirmation of their email).
type UserDue struct {
	ID, Email string
	Since     time.Time
}

func (s queries) queryUsersDue(ctx context.Context, what, query string, args ...any) ([]UserDue, error) {
	rows, err := s.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	var out []UserDue
	for rows.Next() {
		var u UserDue
		var at int64
		if err := rows.Scan(&u.ID, &u.Email, &at); err != nil {
			return nil, err
		}
		u.Since = fromTS(at)
		out = append(out, u)
	}
	return out, rows.Err()
}

// UsersDueForPasswordReminder lists users whose password is older than
// changedBefore and who were not reminded since it last changed.
func (s queries) UsersDueForPasswordReminder(ctx context.Context, changedBefore time.Time, limit int) ([]UserDue, error) {
	return s.queryUsersDue(ctx, "reminders", `SELECT id, email, password_changed_at FROM users
		WHERE password_changed_at < $1 AND password_reminded_at < password_changed_at AND status = 'active' ORDER BY password_changed_at LIMIT $2`, ts(changedBefore), limit)
}

// MarkPasswordReminded claims the reminder for a user's current password:
// it records the reminder only if none went out since the password last
// changed and the password is still older than changedBefore, and reports
// whether it did. The condition is in the UPDATE itself, so two instances
// that both listed the user remind them once (the second waits for the
// first's row lock and then matches nothing).
func (s queries) MarkPasswordReminded(ctx context.Context, userID string, changedBefore, at time.Time) (bool, error) {
	res, err := s.q.ExecContext(ctx, `UPDATE users SET password_reminded_at = $1
		WHERE id = $2 AND password_reminded_at < password_changed_at AND password_changed_at < $3 AND status = 'active'`, ts(at), userID, ts(changedBefore))
	if err != nil {
		return false, fmt.Errorf("store: reminded: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: reminded: %w", err)
	}
	return n == 1, nil
}
