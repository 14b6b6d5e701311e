package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// OneTimeResult is a result a page shows after a POST (new backup codes, a
// new authenticator key), kept sealed for the page the POST redirects to.
// DataSealed is sealed by the caller with the session and kind bound in.
type OneTimeResult struct {
	ID, SessionID, Kind, DataSealed string
	CreatedAt, ExpiresAt            time.Time
}

// PutOneTimeResult keeps a result, replacing the session's earlier one of
// the same kind, and drops every result that expired before now.
func (s queries) PutOneTimeResult(ctx context.Context, r OneTimeResult, now time.Time) error {
	if _, err := s.q.ExecContext(ctx, `DELETE FROM one_time_results WHERE expires_at < $1 OR (session_id = $2 AND kind = $3)`,
		ts(now), r.SessionID, r.Kind); err != nil {
		return fmt.Errorf("store: drop one-time results: %w", err)
	}
	if _, err := s.q.ExecContext(ctx, `INSERT INTO one_time_results (id, session_id, kind, data_sealed, created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6)`,
		r.ID, r.SessionID, r.Kind, r.DataSealed, ts(r.CreatedAt), ts(r.ExpiresAt)); err != nil {
		return fmt.Errorf("store: keep one-time result: %w", err)
	}
	return nil
}

// FindOneTimeResult returns the session's result of a kind that has not
// expired at now; ErrNotFound when there is none.
func (s queries) FindOneTimeResult(ctx context.Context, sessionID, kind string, now time.Time) (OneTimeResult, error) {
	r := OneTimeResult{SessionID: sessionID, Kind: kind}
	var created, expires int64
	err := s.q.QueryRowContext(ctx, `SELECT id, data_sealed, created_at, expires_at FROM one_time_results WHERE session_id = $1 AND kind = $2 AND expires_at >= $3`,
		sessionID, kind, ts(now)).Scan(&r.ID, &r.DataSealed, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("store: find one-time result: %w", err)
	}
	r.CreatedAt, r.ExpiresAt = fromTS(created), fromTS(expires)
	return r, nil
}

// DeleteOneTimeResult drops the session's result of a kind (none is fine).
func (s queries) DeleteOneTimeResult(ctx context.Context, sessionID, kind string) error {
	if _, err := s.q.ExecContext(ctx, `DELETE FROM one_time_results WHERE session_id = $1 AND kind = $2`, sessionID, kind); err != nil {
		return fmt.Errorf("store: drop one-time result: %w", err)
	}
	return nil
}
