package outbox_test

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/outbox"
	"github.com/sellerguard/sellerguard/internal/store"
)

// gatedDeliverer holds each delivery until the test lets it go: the edge of
// the outside world, so a delivery can be caught in hand.
type gatedDeliverer struct {
	started chan string
	release chan struct{}
	count   atomic.Int32
}

var _ outbox.Deliverer = (*gatedDeliverer)(nil)

func (g *gatedDeliverer) Deliver(ctx context.Context, m sellerguard.OutboxMessage) (string, error) {
	g.count.Add(1)
	g.started <- m.ID
	select {
	case <-g.release:
		return "<" + m.ID + "@test>", nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Drain (what SIGTERM does) lets the delivery in hand finish and be recorded
// as sent, hands the rest of the claim back (due at once, the attempt not
// counted) and stops the worker; nothing is lost and nothing is left
// mid-delivery to be sent twice.
func TestDrainFinishesTheDeliveryInHandAndHandsBackTheRest(t *testing.T) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			db := setup(t, dialect)
			now := time.Now()
			enqueue(t, db, now, 5)
			g := &gatedDeliverer{started: make(chan string, 1), release: make(chan struct{})}
			w := &outbox.Worker{DB: db, Email: g, Now: time.Now, Poll: time.Hour, Lease: time.Minute, MaxAttempts: 12,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			done := make(chan struct{})
			go func() { defer close(done); w.Run(context.Background()) }()
			inHand := <-g.started
			w.Drain()
			select {
			case <-done:
				t.Fatal("Run returned while a delivery was in hand")
			case <-time.After(100 * time.Millisecond):
			}
			close(g.release)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after the delivery in hand finished")
			}
			if n := g.count.Load(); n != 1 {
				t.Fatalf("%d deliveries started, want only the one in hand", n)
			}
			msgs, err := db.ListOutbox(context.Background(), 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				switch {
				case m.ID == inHand && (m.Status != sellerguard.OutboxSent || m.Attempts != 1):
					t.Errorf("the message in hand: %s after %d attempts, want sent after 1", m.Status, m.Attempts)
				case m.ID != inHand && (m.Status != sellerguard.OutboxPending || m.Attempts != 0 || m.NextAttemptAt.After(now)):
					t.Errorf("message %s: %s, %d attempts, due %v; want pending, 0 attempts, due at once", m.ID, m.Status, m.Attempts, m.NextAttemptAt)
				}
			}
			// The next worker delivers the rest at once.
			g2 := &gatedDeliverer{started: make(chan string, 10), release: make(chan struct{})}
			close(g2.release)
			w2 := &outbox.Worker{DB: db, Email: g2, Now: time.Now, Poll: time.Hour, Lease: time.Minute, MaxAttempts: 12,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			if n, err := w2.RunOnce(context.Background()); err != nil || n != 4 {
				t.Fatalf("the next worker delivered %d (%v), want the 4 handed back", n, err)
			}
		})
	}
}
