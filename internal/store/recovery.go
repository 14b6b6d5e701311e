package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sellerguard/sellerguard/internal/recovery"
)

var _ recovery.Store = (*Tx)(nil)

// PutRecoveryCode stores an address's recovery code, replacing its previous
// one, and removes the codes and tokens that have expired.
func (s queries) PutRecoveryCode(ctx context.Context, c recovery.Code) error {
	if _, err := s.q.ExecContext(ctx, `DELETE FROM recovery_codes WHERE expires_at <= $1`, ts(c.CreatedAt)); err != nil {
		return fmt.Errorf("store: expire recovery codes: %w", err)
	}
	if _, err := s.q.ExecContext(ctx, `DELETE FROM recovery_tokens WHERE expires_at <= $1`, ts(c.CreatedAt)); err != nil {
		return fmt.Errorf("store: expire recovery tokens: %w", err)
	}
	_, err := s.q.ExecContext(ctx, `INSERT INTO recovery_codes (email_norm, user_id, code_mac, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (email_norm) DO UPDATE SET user_id = excluded.user_id, code_mac = excluded.code_mac, expires_at = excluded.expires_at, created_at = excluded.created_at`,
		c.EmailNorm, c.UserID, c.CodeMAC, ts(c.ExpiresAt), ts(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: put recovery code: %w", err)
	}
	return nil
}

// RecoveryCode returns an address's recovery code.
func (s queries) RecoveryCode(ctx context.Context, emailNorm string) (recovery.Code, bool, error) {
	c := recovery.Code{EmailNorm: emailNorm}
	var exp, created int64
	err := s.q.QueryRowContext(ctx, `SELECT user_id, code_mac, expires_at, created_at FROM recovery_codes WHERE email_norm = $1`, emailNorm).
		Scan(&c.UserID, &c.CodeMAC, &exp, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("store: recovery code: %w", err)
	}
	c.ExpiresAt, c.CreatedAt = fromTS(exp), fromTS(created)
	return c, true, nil
}

// DeleteRecoveryCode removes an address's recovery code.
func (s queries) DeleteRecoveryCode(ctx context.Context, emailNorm string) (bool, error) {
	res, err := s.q.ExecContext(ctx, `DELETE FROM recovery_codes WHERE email_norm = $1`, emailNorm)
	if err != nil {
		return false, fmt.Errorf("store: delete recovery code: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: delete recovery code: %w", err)
	}
	return n > 0, nil
}

// PutRecoveryToken stores a recovery token, replacing the user's others.
func (s queries) PutRecoveryToken(ctx context.Context, t recovery.Token) error {
	if err := s.DeleteRecoveryTokens(ctx, t.UserID); err != nil {
		return err
	}
	if t.Purpose == "" {
		t.Purpose = recovery.PurposeReset
	}
	_, err := s.q.ExecContext(ctx, `INSERT INTO recovery_tokens (token_hash, user_id, expires_at, created_at, purpose) VALUES ($1, $2, $3, $4, $5)`,
		t.Hash, t.UserID, ts(t.ExpiresAt), ts(t.CreatedAt), t.Purpose)
	if err != nil {
		return fmt.Errorf("store: put recovery token: %w", err)
	}
	return nil
}

func scanRecoveryToken(row *sql.Row, hash string) (recovery.Token, bool, error) {
	t := recovery.Token{Hash: hash}
	var exp, created int64
	err := row.Scan(&t.UserID, &exp, &created, &t.Purpose)
	if errors.Is(err, sql.ErrNoRows) {
		return t, false, nil
	}
	if err != nil {
		return t, false, fmt.Errorf("store: recovery token: %w", err)
	}
	t.ExpiresAt, t.CreatedAt = fromTS(exp), fromTS(created)
	return t, true, nil
}

// RecoveryToken returns the recovery token with this hash.
func (s queries) RecoveryToken(ctx context.Context, hash string) (recovery.Token, bool, error) {
	return scanRecoveryToken(s.q.QueryRowContext(ctx, `SELECT user_id, expires_at, created_at, purpose FROM recovery_tokens WHERE token_hash = $1`, hash), hash)
}

// TakeRecoveryToken deletes the recovery token with this hash and returns it.
func (s queries) TakeRecoveryToken(ctx context.Context, hash string) (recovery.Token, bool, error) {
	return scanRecoveryToken(s.q.QueryRowContext(ctx, `DELETE FROM recovery_tokens WHERE token_hash = $1 RETURNING user_id, expires_at, created_at, purpose`, hash), hash)
}

// DeleteRecoveryTokens removes every recovery token of a user.
func (s queries) DeleteRecoveryTokens(ctx context.Context, userID string) error {
	if _, err := s.q.ExecContext(ctx, `DELETE FROM recovery_tokens WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("store: delete recovery tokens: %w", err)
	}
	return nil
}
