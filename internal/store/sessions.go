package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sellerguard/sellerguard"
)

const sessionCols = `id, user_id, created_at, last_seen_at, expires_at, ip, user_agent, auth_level, reauth_at`

func scanSession(row interface{ Scan(...any) error }) (sellerguard.Session, error) {
	var s sellerguard.Session
	var created, seen, exp, reauth int64
	err := row.Scan(&s.ID, &s.UserID, &created, &seen, &exp, &s.IP, &s.UserAgent, &s.AuthLevel, &reauth)
	if errors.Is(err, sql.ErrNoRows) {
		return s, ErrNotFound
	}
	if err != nil {
		return s, fmt.Errorf("store: scan session: %w", err)
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.ReauthAt = fromTS(created), fromTS(seen), fromTS(exp), fromTS(reauth)
	return s, nil
}

// CreateSession stores a session under the hash of its token.
func (s queries) CreateSession(ctx context.Context, sess sellerguard.Session, tokenHash string) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO sessions (token_hash, `+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		tokenHash, sess.ID, sess.UserID, ts(sess.CreatedAt), ts(sess.LastSeenAt), ts(sess.ExpiresAt), sess.IP, sess.UserAgent, sess.AuthLevel, ts(sess.ReauthAt))
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	if sess.AuthLevel == sellerguard.AuthFull { // a completed sign-in (access reviews show it)
		// Never backwards: a session replaced after a step-up keeps its
		// older sign-in time.
		if _, err := s.q.ExecContext(ctx, `UPDATE users SET last_sign_in_at = $1 WHERE id = $2 AND last_sign_in_at < $1`, ts(sess.CreatedAt), sess.UserID); err != nil {
			return fmt.Errorf("store: last sign-in: %w", err)
		}
	}
	return nil
}

// FindSessionByTokenHash finds a session by the SHA-256 of its token.
func (s queries) FindSessionByTokenHash(ctx context.Context, tokenHash string) (sellerguard.Session, error) {
	return scanSession(s.q.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE token_hash = $1`, tokenHash))
}

// ListSessions lists a user's sessions, newest first.
func (s queries) ListSessions(ctx context.Context, userID string) ([]sellerguard.Session, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	defer rows.Close()
	out := []sellerguard.Session{}
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sess)
	}
	return out, rows.Err()
}

// FindSession finds one of a user's sessions by id.
func (s queries) FindSession(ctx context.Context, userID, id string) (sellerguard.Session, error) {
	return scanSession(s.q.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE user_id = $1 AND id = $2`, userID, id))
}

// DeleteSession removes one of a user's sessions; ErrNotFound when there is none.
func (s queries) DeleteSession(ctx context.Context, userID, id string) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id = $2`, userID, id)
	if err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteOtherSessions removes every session of a user but keepID and returns
// the ids removed.
func (s queries) DeleteOtherSessions(ctx context.Context, userID, keepID string) ([]string, error) {
	rows, err := s.q.QueryContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id`, userID, keepID)
	if err != nil {
		return nil, fmt.Errorf("store: delete sessions: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// DeleteExpiredSessions removes sessions past their absolute expiry or idle
// for longer than idle.
func (s queries) DeleteExpiredSessions(ctx context.Context, now time.Time, idle time.Duration) (int64, error) {
	res, err := s.q.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < $1 OR last_seen_at < $2`, ts(now), ts(now.Add(-idle)))
	if err != nil {
		return 0, fmt.Errorf("store: expire sessions: %w", err)
	}
	return res.RowsAffected()
}

// TouchSessions records last-seen times in one batch; a time never moves
// backwards.
// The statement is prepared once per batch (a flush can hold thousands).
func (s queries) TouchSessions(ctx context.Context, seen map[string]time.Time) error {
	const q = `UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1`
	exec := s.q.ExecContext
	if p, ok := s.q.(interface {
		PrepareContext(context.Context, string) (*sql.Stmt, error)
	}); ok && len(seen) > 1 {
		st, err := p.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("store: touch session: %w", err)
		}
		defer func() { _ = st.Close() }()
		exec = func(ctx context.Context, _ string, args ...any) (sql.Result, error) {
			return st.ExecContext(ctx, args...)
		}
	}
	for id, t := range seen {
		if _, err := exec(ctx, q, ts(t), id); err != nil {
			return fmt.Errorf("store: touch session: %w", err)
		}
	}
	return nil
}
