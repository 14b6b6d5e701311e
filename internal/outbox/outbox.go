// Package outbox delivers SellerGuard's emails and text messages reliably.
//
// A service enqueues a message with Enqueue inside the transaction of the
// change that causes it, so a committed change always has its message and a
// rolled-back one never does. The Worker then delivers due messages with
// retries and exponential back-off. Claims are leases: a worker that dies
// mid-delivery (kill -9) leaves a lease that runs out, and the message is
// delivered by the next worker. Delivery is therefore at-least-once; the
// stable Message-ID lets a receiver drop the rare duplicate.
//
// Outside local mode a delivered message's body is erased from the table, so
// a code inside it does not outlive its delivery.
package outbox

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/store"
)

// Deliverer hands one message to the outside world (SMTP, an SMS gateway, or
// the local outbox) and returns the id the message went out with.
type Deliverer interface {
	Deliver(ctx context.Context, m sellerguard.OutboxMessage) (messageID string, err error)
}

// PermanentError marks a failure that retrying cannot fix (a rejected
// recipient, say): the message is marked failed at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// NewMessageID returns a random outbox id.
func NewMessageID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "msg_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// Enqueue adds m to the outbox inside tx.
func Enqueue(ctx context.Context, tx *store.Tx, now time.Time, m sellerguard.OutboxMessage) error {
	if m.Channel != sellerguard.ChannelEmail && m.Channel != sellerguard.ChannelSMS {
		return fmt.Errorf("outbox: unknown channel %q", m.Channel)
	}
	if m.ID == "" {
		m.ID = NewMessageID()
	}
	m.CreatedAt = now.UTC()
	return tx.EnqueueMessage(ctx, m)
}

// LocalDeliverer keeps messages in the local outbox: delivery only marks
// them delivered, and the dev outbox page shows them.
type LocalDeliverer struct{}

// Deliver implements Deliverer.
func (LocalDeliverer) Deliver(_ context.Context, m sellerguard.OutboxMessage) (string, error) {
	return "<" + m.ID + "@local.sellerguard>", nil
}

// Worker delivers due messages.
type Worker struct {
	DB          *store.DB
	Email       Deliverer
	SMS         Deliverer // nil: SMS messages fail with a clear error
	Now         func() time.Time
	Poll        time.Duration // how often to look for due messages
	Lease       time.Duration // how long a claim lasts before another worker may retry
	MaxAttempts int
	ScrubSent   bool // erase bodies once delivered (outside local mode)
	Logger      *slog.Logger
	// Delivered, when set, is told of every delivery (for metrics).
	Delivered func(channel, outcome string)
	// OnFailed, when set, is called when the worker gives up on a message
	// (a permanent failure, or the last attempt), inside the transaction
	// that marks it failed, so that what it enqueues (telling the user on
	// another channel) commits exactly once with the failure. m still holds
	// its body, which must not be copied anywhere. Should OnFailed fail, the
	// message is marked failed without it and the error is logged.
	OnFailed func(ctx context.Context, tx *store.Tx, now time.Time, m sellerguard.OutboxMessage) error

	once      sync.Once
	wake      chan struct{}
	drainOnce sync.Once
	draining  chan struct{}
}

func (w *Worker) init() {
	w.once.Do(func() {
		w.wake = make(chan struct{}, 1)
		w.draining = make(chan struct{})
	})
}

// Drain asks Run to stop at the next safe point: the delivery in hand is
// finished and recorded (so it is never sent twice), the other messages it
// had claimed are handed back, due at once for the next worker, and Run
// returns. Nothing is lost: messages enqueued from now on wait in the outbox
// for another instance or the next start. Cancelling Run's context instead
// aborts the delivery in hand (its lease runs out and it is retried: a
// possible duplicate), so shutdown calls Drain first and cancels only when
// the shutdown timeout is over.
func (w *Worker) Drain() {
	w.init()
	w.drainOnce.Do(func() { close(w.draining) })
}

func (w *Worker) isDraining() bool {
	select {
	case <-w.draining:
		return true
	default:
		return false
	}
}

// Wake asks the worker to look for due messages now (after a commit).
func (w *Worker) Wake() {
	w.init()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers until Drain is called (after the delivery in hand) or ctx
// ends (at once, aborting it).
func (w *Worker) Run(ctx context.Context) {
	w.init()
	t := time.NewTicker(w.Poll)
	defer t.Stop()
	for !w.isDraining() {
		if _, err := w.RunOnce(ctx); err != nil && ctx.Err() == nil {
			w.Logger.Error("outbox: delivery round failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-w.draining:
			return
		case <-t.C:
		case <-w.wake:
		}
	}
}

// backoff returns the wait after the given number of failed attempts:
// 5 s, 10 s, 20 s … capped at one hour.
func backoff(attempts int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < attempts && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// RunOnce delivers every message due now and returns how many it handled.
// When Drain is called it returns after the delivery in hand and hands the
// rest of its claim back.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.init()
	handled := 0
	for !w.isDraining() {
		msgs, err := w.DB.ClaimDueMessages(ctx, w.Now(), w.Lease, 20)
		if err != nil {
			return handled, err
		}
		if len(msgs) == 0 {
			return handled, nil
		}
		for i, m := range msgs {
			if w.isDraining() {
				return handled, w.release(ctx, msgs[i:])
			}
			if err := w.deliver(ctx, m); err != nil {
				return handled, err
			}
			handled++
		}
	}
	return handled, nil
}

// release hands claimed but undelivered messages back, due at once.
func (w *Worker) release(ctx context.Context, msgs []sellerguard.OutboxMessage) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, m := range msgs {
		if err := w.DB.ReleaseMessage(rctx, m.ID); err != nil {
			return err
		}
	}
	return nil
}

func (w *Worker) deliver(ctx context.Context, m sellerguard.OutboxMessage) error {
	d := w.Email
	if m.Channel == sellerguard.ChannelSMS {
		d = w.SMS
	}
	var id string
	var err error
	if d == nil {
		err = &PermanentError{Err: fmt.Errorf("no deliverer for channel %s is configured", m.Channel)}
	} else {
		dctx, cancel := context.WithTimeout(ctx, w.Lease/2)
		id, err = d.Deliver(dctx, m)
		cancel()
	}
	now := w.Now()
	var perm *PermanentError
	switch {
	case err == nil:
		w.report(m.Channel, "sent")
		return w.DB.MarkMessageSent(ctx, m.ID, now, id, w.ScrubSent)
	case errors.As(err, &perm) || m.Attempts >= w.MaxAttempts:
		w.Logger.Warn("outbox: giving up on a message", "id", m.ID, "channel", m.Channel, "attempts", m.Attempts, "err", err)
		w.report(m.Channel, "failed")
		return w.markFailed(ctx, m, now, truncate(err.Error(), 500))
	default:
		next := now.Add(backoff(m.Attempts))
		w.Logger.Info("outbox: delivery failed, will retry", "id", m.ID, "channel", m.Channel, "attempts", m.Attempts, "retry_at", next, "err", err)
		w.report(m.Channel, "retry")
		return w.DB.MarkMessageRetry(ctx, m.ID, next, truncate(err.Error(), 500))
	}
}

// markFailed gives up on m, with OnFailed in the same transaction.
func (w *Worker) markFailed(ctx context.Context, m sellerguard.OutboxMessage, now time.Time, lastErr string) error {
	if w.OnFailed == nil {
		return w.DB.MarkMessageFailed(ctx, m.ID, lastErr)
	}
	err := w.DB.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.MarkMessageFailed(ctx, m.ID, lastErr); err != nil {
			return err
		}
		return w.OnFailed(ctx, tx, now, m)
	})
	if err == nil || ctx.Err() != nil {
		return err
	}
	w.Logger.Error("outbox: after a failed delivery", "id", m.ID, "channel", m.Channel, "err", err)
	return w.DB.MarkMessageFailed(ctx, m.ID, lastErr)
}

func (w *Worker) report(channel, outcome string) {
	if w.Delivered != nil {
		w.Delivered(channel, outcome)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
