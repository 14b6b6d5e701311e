package outbox_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard"
	smtpmail "github.com/sellerguard/sellerguard/internal/mail"
	"github.com/sellerguard/sellerguard/internal/outbox"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/testenv"
)

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func setup(t *testing.T, dialect string) *store.DB {
	t.Helper()
	url := "sqlite://" + t.TempDir() + "/o.db"
	if dialect == store.Postgres {
		url = testenv.PostgresURL(t)
	}
	db, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func enqueue(t *testing.T, db *store.DB, now time.Time, n int) {
	t.Helper()
	for i := range n {
		err := db.WithTx(context.Background(), func(tx *store.Tx) error {
			return outbox.Enqueue(context.Background(), tx, now, sellerguard.OutboxMessage{
				Channel: sellerguard.ChannelEmail, To: fmt.Sprintf("user%d@example.com", i),
				Subject: fmt.Sprintf("Message %d", i), Body: fmt.Sprintf("Body %d", i),
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func newWorker(t *testing.T, db *store.DB, srv *testenv.SMTPServer, c *clock) *outbox.Worker {
	t.Helper()
	sender, err := smtpmail.NewSMTPSender(smtpmail.SMTPConfig{URL: "smtp://" + srv.Addr, From: "SellerGuard <no-reply@sellerguard.test>", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &outbox.Worker{
		DB: db, Email: &outbox.EmailDeliverer{Sender: sender, Domain: "sellerguard.test"}, Now: c.Now,
		Poll: time.Hour, Lease: time.Minute, MaxAttempts: 12, ScrubSent: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// With the SMTP server down, messages wait; once it is back they are all
// delivered, none twice.
func TestOutageThenRecoveryDeliversEachMessageOnce(t *testing.T) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			db := setup(t, dialect)
			srv := testenv.StartSMTP(t)
			c := &clock{t: time.Now()}
			w := newWorker(t, db, srv, c)
			ctx := context.Background()

			srv.Stop()
			enqueue(t, db, c.t, 5)
			if n, err := w.RunOnce(ctx); err != nil || n != 5 {
				t.Fatalf("round during outage: %d, %v", n, err)
			}
			if n, _ := db.CountOutbox(ctx, sellerguard.OutboxPending); n != 5 {
				t.Fatalf("%d pending after the failed round", n)
			}
			// Not due again before the back-off ends.
			if n, _ := w.RunOnce(ctx); n != 0 {
				t.Fatalf("%d retried inside the back-off", n)
			}
			srv.Start()
			c.t = c.t.Add(6 * time.Second)
			if n, err := w.RunOnce(ctx); err != nil || n != 5 {
				t.Fatalf("round after recovery: %d, %v", n, err)
			}
			msgs := srv.WaitMessages(t, 5, 10*time.Second)
			c.t = c.t.Add(time.Hour)
			if n, _ := w.RunOnce(ctx); n != 0 {
				t.Fatalf("%d delivered again", n)
			}
			if got := len(srv.Messages(t)); got != 5 {
				t.Fatalf("server received %d messages, want 5", got)
			}
			subjects := map[string]bool{}
			for _, raw := range msgs {
				m, err := mail.ReadMessage(strings.NewReader(string(raw)))
				if err != nil {
					t.Fatal(err)
				}
				subjects[m.Header.Get("Subject")] = true
				if !strings.HasSuffix(m.Header.Get("Message-Id"), "@sellerguard.test>") {
					t.Errorf("Message-ID %q", m.Header.Get("Message-Id"))
				}
			}
			if len(subjects) != 5 {
				t.Fatalf("subjects = %v", subjects)
			}
			list, _ := db.ListOutbox(ctx, 10)
			for _, m := range list {
				if m.Status != sellerguard.OutboxSent || m.Body != "" || m.Attempts != 2 {
					t.Errorf("after delivery: %+v (want sent, body scrubbed, 2 attempts)", m)
				}
			}
		})
	}
}

// A worker that dies after claiming (kill -9 between commit and delivery)
// loses nothing: once its lease ends, another worker delivers.
func TestDeadWorkersClaimsAreDeliveredByTheNext(t *testing.T) {
	db := setup(t, store.SQLite)
	srv := testenv.StartSMTP(t)
	c := &clock{t: time.Now()}
	enqueue(t, db, c.t, 3)
	claimed, err := db.ClaimDueMessages(context.Background(), c.t, time.Minute, 10)
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claim: %d %v", len(claimed), err)
	}
	// ... and the claiming worker is never heard of again.
	w := newWorker(t, db, srv, c)
	if n, _ := w.RunOnce(context.Background()); n != 0 {
		t.Fatalf("delivered %d messages still leased to another worker", n)
	}
	c.t = c.t.Add(61 * time.Second)
	if n, err := w.RunOnce(context.Background()); err != nil || n != 3 {
		t.Fatalf("after the lease: %d %v", n, err)
	}
	srv.WaitMessages(t, 3, 10*time.Second)
}

// A recipient the server refuses fails permanently at once, without retries.
func TestPermanentFailureIsNotRetried(t *testing.T) {
	db := setup(t, store.SQLite)
	srv := testenv.StartSMTP(t)
	c := &clock{t: time.Now()}
	err := db.WithTx(context.Background(), func(tx *store.Tx) error {
		return outbox.Enqueue(context.Background(), tx, c.t, sellerguard.OutboxMessage{Channel: sellerguard.ChannelEmail, To: "not an address", Subject: "x", Body: "y"})
	})
	if err != nil {
		t.Fatal(err)
	}
	w := newWorker(t, db, srv, c)
	if _, err := w.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.CountOutbox(context.Background(), sellerguard.OutboxFailed); n != 1 {
		t.Fatalf("%d failed messages, want 1", n)
	}
}

func TestEnqueueRejectsUnknownChannel(t *testing.T) {
	db := setup(t, store.SQLite)
	err := db.WithTx(context.Background(), func(tx *store.Tx) error {
		return outbox.Enqueue(context.Background(), tx, time.Now(), sellerguard.OutboxMessage{Channel: "pigeon", To: "x"})
	})
	if err == nil {
		t.Fatal("an unknown channel was accepted")
	}
}
