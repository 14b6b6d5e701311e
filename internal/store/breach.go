package store

import (
	"context"
	"fmt"
)

// SetBreachRecheck marks (or clears) a user's password for a
// breached-password check at the next sign-in: it was accepted while the
// range API could not answer.
func (s queries) SetBreachRecheck(ctx context.Context, userID string, recheck bool) error {
	v := boolInt(recheck)
	if _, err := s.q.ExecContext(ctx, `UPDATE users SET breach_recheck = $1 WHERE id = $2 AND breach_recheck <> $1`, v, userID); err != nil {
		return fmt.Errorf("store: set breach recheck: %w", err)
	}
	return nil
}

// BreachRecheck reports whether a user's password awaits a
// breached-password check.
func (s queries) BreachRecheck(ctx context.Context, userID string) (bool, error) {
	var v int
	err := s.q.QueryRowContext(ctx, `SELECT breach_recheck FROM users WHERE id = $1`, userID).Scan(&v)
	if ErrNoRows(err) {
		return false, ErrNotFound
	}
	if err != nil {
		return false, fmt.Errorf("store: breach recheck: %w", err)
	}
	return v != 0, nil
}

// SetSignupBreachRecheck records on a pending sign-up whether its password
// awaits a breached-password check (carried to the user on confirmation).
func (s queries) SetSignupBreachRecheck(ctx context.Context, emailNorm string, recheck bool) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE signups SET breach_recheck = $1 WHERE email_norm = $2`, boolInt(recheck), emailNorm); err != nil {
		return fmt.Errorf("store: set signup breach recheck: %w", err)
	}
	return nil
}

// SignupBreachRecheck reports SetSignupBreachRecheck's mark (false when
// there is no such sign-up).
func (s queries) SignupBreachRecheck(ctx context.Context, emailNorm string) (bool, error) {
	var v int
	err := s.q.QueryRowContext(ctx, `SELECT breach_recheck FROM signups WHERE email_norm = $1`, emailNorm).Scan(&v)
	if ErrNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: signup breach recheck: %w", err)
	}
	return v != 0, nil
}
