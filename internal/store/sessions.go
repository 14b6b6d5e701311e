package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
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
	insert := `INSERT INTO sessions (token_hash, ` + sessionCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
	args := []any{tokenHash, sess.ID, sess.UserID, ts(sess.CreatedAt), ts(sess.LastSeenAt), ts(sess.ExpiresAt), sess.IP, sess.UserAgent, sess.AuthLevel, ts(sess.ReauthAt)}
	var err error
	if sess.AuthLevel == sellerguard.AuthFull {
		// A completed sign-in moves the user's last sign-in (access
		// reviews show it), never backwards: a session replaced after a
		// step-up keeps its older sign-in time.
		err = s.execJoined(ctx, insert, `UPDATE users SET last_sign_in_at = $4 WHERE id = $3 AND last_sign_in_at < $4`, args...)
	} else {
		_, err = s.q.ExecContext(ctx, insert, args...)
	}
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
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
// backwards, and a session that is gone is skipped. A flush can hold
// thousands (every session an instance served in 15 s). On PostgreSQL it
// is one statement, the sessions joined to two arrays: one at a time, the
// round trips of 10,000 sessions took 0.8-0.95 s of the flusher and of a
// backend every 15 s (BenchmarkTouchSessions). On SQLite, in-process, one
// prepared statement per session is the faster way.
func (tx *Tx) TouchSessions(ctx context.Context, seen map[string]time.Time) error {
	if len(seen) == 0 {
		return nil
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	slices.Sort(ids) // rows locked in the same order, whoever flushes
	if tx.dialect == Postgres {
		at := make([]int64, len(ids))
		for i, id := range ids {
			at[i] = ts(seen[id])
		}
		_, err := tx.q.ExecContext(ctx, `UPDATE sessions SET last_seen_at = v.at
			FROM unnest($1::text[], $2::bigint[]) AS v(id, at)
			WHERE sessions.id = v.id AND sessions.last_seen_at < v.at`, ids, at)
		if err != nil {
			return fmt.Errorf("store: touch sessions: %w", err)
		}
		return nil
	}
	st, err := tx.q.(*sql.Tx).PrepareContext(ctx, // a Tx's querier is its *sql.Tx (DB.WithTx)
		`UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1`)
	if err != nil {
		return fmt.Errorf("store: touch sessions: %w", err)
	}
	defer func() { _ = st.Close() }()
	for _, id := range ids {
		if _, err := st.ExecContext(ctx, ts(seen[id]), id); err != nil {
			return fmt.Errorf("store: touch sessions: %w", err)
		}
	}
	return nil
}
