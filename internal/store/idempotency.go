package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Idempotency key states.
const (
	IdemPending = "pending" // the first request is running, or its outcome is unknown
	IdemDone    = "done"    // the first request's answer is kept
)

// IdempotencyRecord is a caller's key and what became of it.
type IdempotencyRecord struct {
	UserID, Key, RequestHash, State string
	Status                          int
	ContentType, Body               string
	CreatedAt                       time.Time
}

// ClaimIdempotencyKey stores a pending key; ErrConflict when the caller
// used the key before.
func (s queries) ClaimIdempotencyKey(ctx context.Context, r IdempotencyRecord) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO idempotency_keys (user_id, idem_key, request_hash, state, status, content_type, body, created_at)
		VALUES ($1,$2,$3,$4,0,'','',$5)`, r.UserID, r.Key, r.RequestHash, IdemPending, ts(r.CreatedAt))
	if isUniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: claim idempotency key: %w", err)
	}
	return nil
}

// FindIdempotencyKey returns a caller's key; ErrNotFound if unused.
func (s queries) FindIdempotencyKey(ctx context.Context, userID, key string) (IdempotencyRecord, error) {
	r := IdempotencyRecord{UserID: userID, Key: key}
	var created int64
	err := s.q.QueryRowContext(ctx, `SELECT request_hash, state, status, content_type, body, created_at FROM idempotency_keys WHERE user_id = $1 AND idem_key = $2`,
		userID, key).Scan(&r.RequestHash, &r.State, &r.Status, &r.ContentType, &r.Body, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("store: find idempotency key: %w", err)
	}
	r.CreatedAt = fromTS(created)
	return r, nil
}

// CompleteIdempotencyKey keeps the answer of a key's first request.
func (s queries) CompleteIdempotencyKey(ctx context.Context, r IdempotencyRecord) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE idempotency_keys SET state = $1, status = $2, content_type = $3, body = $4 WHERE user_id = $5 AND idem_key = $6`,
		IdemDone, r.Status, r.ContentType, r.Body, r.UserID, r.Key); err != nil {
		return fmt.Errorf("store: complete idempotency key: %w", err)
	}
	return nil
}

// ReleaseIdempotencyKey forgets a pending key whose request changed nothing
// (it was refused), so the caller may fix the request and use the key again.
func (s queries) ReleaseIdempotencyKey(ctx context.Context, userID, key string) error {
	if _, err := s.q.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE user_id = $1 AND idem_key = $2 AND state = $3`, userID, key, IdemPending); err != nil {
		return fmt.Errorf("store: release idempotency key: %w", err)
	}
	return nil
}

// ForgetIdempotencyKey removes a key whatever its state (an expired one).
func (s queries) ForgetIdempotencyKey(ctx context.Context, userID, key string) error {
	if _, err := s.q.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE user_id = $1 AND idem_key = $2`, userID, key); err != nil {
		return fmt.Errorf("store: forget idempotency key: %w", err)
	}
	return nil
}

// DeleteIdempotencyKeysBefore forgets keys older than t.
func (s queries) DeleteIdempotencyKeysBefore(ctx context.Context, t time.Time) error {
	if _, err := s.q.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, ts(t)); err != nil {
		return fmt.Errorf("store: expire idempotency keys: %w", err)
	}
	return nil
}
