package sms

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/outbox"
	"github.com/sellerguard/sellerguard/internal/store"
)

func smsMessage(to, subject, body string) sellerguard.OutboxMessage {
	return sellerguard.OutboxMessage{ID: outbox.NewMessageID(), Channel: sellerguard.ChannelSMS, To: to, Subject: subject, Body: body}
}

func TestDelivererSendsTextAndVoice(t *testing.T) {
	fake := &FakeGateway{}
	d := &Deliverer{Gateway: fake}
	ctx := context.Background()
	for _, subject := range []string{"", "Sign-in code", "Voice"} {
		if _, err := d.Deliver(ctx, smsMessage(numberOK, subject, "code 111111")); err != nil {
			t.Fatal(err)
		}
	}
	id, err := d.Deliver(ctx, smsMessage("+12015550123", SubjectVoice, "code 222222"))
	if err != nil {
		t.Fatal(err)
	}
	if id != "SMfake4" {
		t.Fatalf("id = %q", id)
	}
	sent := fake.Sent()
	if len(sent) != 4 {
		t.Fatalf("sent = %+v", sent)
	}
	for i, m := range sent[:3] {
		if m.Voice || m.To != numberOK || m.Body != "code 111111" {
			t.Errorf("message %d = %+v, want a text message", i, m)
		}
	}
	if last, ok := fake.LastTo("+12015550123"); !ok || !last.Voice || last.Body != "code 222222" {
		t.Fatalf("voice message = %+v, %v", last, ok)
	}
}

func TestDelivererMarksPermanentFailures(t *testing.T) {
	ctx := context.Background()
	fake := &FakeGateway{}
	d := &Deliverer{Gateway: fake}
	var perm *outbox.PermanentError

	for _, m := range []sellerguard.OutboxMessage{
		smsMessage("", "", "code 123456"),                                      // no number
		smsMessage("+44 7400 123456", "", "code 1"),                            // not E.164
		smsMessage(numberOK, "", ""),                                           // no body
		{Channel: sellerguard.ChannelEmail, To: numberOK, Body: "code 123456"}, // wrong channel
	} {
		if _, err := d.Deliver(ctx, m); !errors.As(err, &perm) {
			t.Errorf("Deliver(%+v): err = %v, want a permanent error", m, err)
		}
	}
	if fake.Attempts() != 0 {
		t.Fatalf("%d attempts for invalid messages", fake.Attempts())
	}

	fake.FailWith(&Error{Op: "send", HTTPStatus: 400, Code: 21211, Permanent: true, Err: errors.New("invalid number")})
	_, err := d.Deliver(ctx, smsMessage(numberOK, "", "code 123456"))
	if !errors.As(err, &perm) || !IsPermanent(err) {
		t.Fatalf("err = %v, want an *outbox.PermanentError", err)
	}

	fake.FailWith(&Error{Op: "send", HTTPStatus: 503, Err: errors.New("unavailable")})
	_, err = d.Deliver(ctx, smsMessage(numberOK, "", "code 123456"))
	if err == nil || errors.As(err, &perm) || IsPermanent(err) {
		t.Fatalf("err = %v, want a temporary error", err)
	}

	fake.FailWith(nil)
	if _, err := d.Deliver(ctx, smsMessage(numberOK, "", "code 123456")); err != nil {
		t.Fatal(err)
	}
	if fake.Attempts() != 3 || len(fake.Sent()) != 1 {
		t.Fatalf("attempts %d, sent %d", fake.Attempts(), len(fake.Sent()))
	}
	fake.Reset()
	if fake.Attempts() != 0 || len(fake.Sent()) != 0 {
		t.Fatal("Reset kept state")
	}
}

func TestFakeGatewayIsSafeForConcurrentUse(t *testing.T) {
	fake := &FakeGateway{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				if _, err := fake.Send(context.Background(), Message{To: numberOK, Body: "hi"}); err != nil {
					t.Error(err)
				}
				_ = fake.Sent()
			}
		})
	}
	wg.Wait()
	if n := len(fake.Sent()); n != 80 {
		t.Fatalf("sent %d, want 80", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := fake.Send(ctx, Message{To: numberOK, Body: "hi"}); !errors.Is(err, context.Canceled) || IsPermanent(err) {
		t.Fatalf("err = %v", err)
	}
}

// The whole chain: an outbox worker on SQLite delivers through the real
// TwilioGateway to a fake Twilio API; a refused number fails at once, a
// good one is sent with the SID as its id, and no stored error holds the
// code or the token.
func TestOutboxWorkerDeliversThroughTwilio(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite://"+t.TempDir()+"/sms.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	srv := startTwilio(t)
	now := time.Now()
	w := &outbox.Worker{
		DB: db, SMS: &Deliverer{Gateway: srv.gateway()}, Now: func() time.Time { return now },
		Poll: time.Hour, Lease: time.Minute, MaxAttempts: 5, ScrubSent: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	err = db.WithTx(ctx, func(tx *store.Tx) error {
		for _, m := range []sellerguard.OutboxMessage{
			smsMessage(numberOK, "", "Your code is 918273."),
			smsMessage(numberOK, SubjectVoice, "Your code is 918273."),
			smsMessage(numberInvalid, "", "Your code is 918273."),
		} {
			if err := outbox.Enqueue(ctx, tx, now, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := w.RunOnce(ctx); err != nil || n != 3 {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	msgs, err := db.ListOutbox(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]int{}
	for _, m := range msgs {
		status[m.Status]++
		switch m.To {
		case numberOK:
			if m.Status != sellerguard.OutboxSent || !strings.HasPrefix(m.MessageID, "SM") && !strings.HasPrefix(m.MessageID, "CA") {
				t.Errorf("message to %s: %+v", m.To, m)
			}
		case numberInvalid:
			if m.Status != sellerguard.OutboxFailed || !strings.Contains(m.LastError, "21211") {
				t.Errorf("message to %s: %+v", m.To, m)
			}
		}
		if strings.Contains(m.LastError, "918273") || strings.Contains(m.LastError, testToken) {
			t.Errorf("stored error %q leaks", m.LastError)
		}
	}
	if status[sellerguard.OutboxSent] != 2 || status[sellerguard.OutboxFailed] != 1 || len(srv.requests()) != 3 {
		t.Fatalf("statuses %v, %d requests", status, len(srv.requests()))
	}
}
