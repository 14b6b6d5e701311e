package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/sellerguard/sellerguard"
)

const outboxCols = `id, channel, recipient, subject, body, status, attempts, next_attempt_at, created_at, sent_at, last_error, message_id, user_id, event`

func scanOutbox(row interface{ Scan(...any) error }) (sellerguard.OutboxMessage, error) {
	var m sellerguard.OutboxMessage
	var next, created, sent int64
	err := row.Scan(&m.ID, &m.Channel, &m.To, &m.Subject, &m.Body, &m.Status, &m.Attempts, &next, &created, &sent, &m.LastError, &m.MessageID, &m.UserID, &m.Event)
	if err != nil {
		return m, fmt.Errorf("store: scan outbox: %w", err)
	}
	m.NextAttemptAt, m.CreatedAt, m.SentAt = fromTS(next), fromTS(created), fromTS(sent)
	return m, nil
}

// EnqueueMessage adds a message to the outbox, due at once.
func (s queries) EnqueueMessage(ctx context.Context, m sellerguard.OutboxMessage) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO outbox (`+outboxCols+`, lease_until) VALUES ($1,$2,$3,$4,$5,$6,0,$7,$8,0,'',$9,$10,$11,0)`,
		m.ID, m.Channel, m.To, m.Subject, m.Body, sellerguard.OutboxPending, ts(m.CreatedAt), ts(m.CreatedAt), m.MessageID, m.UserID, m.Event)
	if err != nil {
		return fmt.Errorf("store: enqueue: %w", err)
	}
	return nil
}

// ClaimDueMessages leases up to limit due messages to the caller until
// now+lease and counts the attempt. A message whose lease ran out (its
// worker died mid-delivery) is due again. Each claim is a compare-and-set,
// so two workers never hold the same message.
func (s queries) ClaimDueMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]sellerguard.OutboxMessage, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT id FROM outbox
		WHERE (status = 'pending' AND next_attempt_at <= $1) OR (status = 'sending' AND lease_until <= $1)
		ORDER BY next_attempt_at, id LIMIT $2`, ts(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due messages: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []sellerguard.OutboxMessage
	for _, id := range ids {
		m, err := scanOutbox(s.q.QueryRowContext(ctx, `UPDATE outbox SET status = 'sending', lease_until = $1, attempts = attempts + 1
			WHERE id = $2 AND ((status = 'pending' AND next_attempt_at <= $3) OR (status = 'sending' AND lease_until <= $3))
			RETURNING `+outboxCols, ts(now.Add(lease)), id, ts(now)))
		if ErrNoRows(err) {
			continue // another worker took it
		}
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// MarkMessageSent records a delivery. When scrub is set the body is erased
// (it may hold a code) and only its metadata kept.
func (s queries) MarkMessageSent(ctx context.Context, id string, at time.Time, messageID string, scrub bool) error {
	q := `UPDATE outbox SET status = 'sent', sent_at = $1, message_id = $2, last_error = '' WHERE id = $3`
	if scrub {
		q = `UPDATE outbox SET status = 'sent', sent_at = $1, message_id = $2, last_error = '', body = '' WHERE id = $3`
	}
	if _, err := s.q.ExecContext(ctx, q, ts(at), messageID, id); err != nil {
		return fmt.Errorf("store: mark sent: %w", err)
	}
	return nil
}

// ReleaseMessage hands back a claimed message that was not attempted: it is
// due again at once and the claim's attempt is not counted.
func (s queries) ReleaseMessage(ctx context.Context, id string) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE outbox SET status = 'pending', lease_until = 0, attempts = attempts - 1 WHERE id = $1 AND status = 'sending'`, id); err != nil {
		return fmt.Errorf("store: release message: %w", err)
	}
	return nil
}

// MarkMessageRetry records a failed attempt and when to try again.
func (s queries) MarkMessageRetry(ctx context.Context, id string, next time.Time, lastErr string) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE outbox SET status = 'pending', next_attempt_at = $1, lease_until = 0, last_error = $2 WHERE id = $3`, ts(next), lastErr, id); err != nil {
		return fmt.Errorf("store: mark retry: %w", err)
	}
	return nil
}

// MarkMessageFailed gives up on a message.
func (s queries) MarkMessageFailed(ctx context.Context, id string, lastErr string) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE outbox SET status = 'failed', lease_until = 0, last_error = $1, body = '' WHERE id = $2`, lastErr, id); err != nil {
		return fmt.Errorf("store: mark failed: %w", err)
	}
	return nil
}

// ListOutbox lists the newest limit messages, oldest first (the local
// outbox view).
func (s queries) ListOutbox(ctx context.Context, limit int) ([]sellerguard.OutboxMessage, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+outboxCols+` FROM outbox ORDER BY created_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list outbox: %w", err)
	}
	defer rows.Close()
	out := []sellerguard.OutboxMessage{}
	for rows.Next() {
		m, err := scanOutbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	slices.Reverse(out)
	return out, rows.Err()
}

// CountOutbox counts messages by status.
func (s queries) CountOutbox(ctx context.Context, status string) (int, error) {
	var n int
	err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE status = $1`, status).Scan(&n)
	return n, err
}
