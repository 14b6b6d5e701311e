package sms

import (
	"context"
	"fmt"
	"sync"
)

// FakeGateway is a Gateway for tests only — of this package and of the
// packages that send codes (it lives outside a _test file so that they can
// use it). It records every message it accepts and can be told to fail.
// It refuses what TwilioGateway refuses before sending (no number, a
// number not in E.164 form, an empty or too long body) with the same
// permanent error. It is safe for concurrent use; the zero value is ready.
//
// Never wire it into a server: nothing it accepts leaves the process.
type FakeGateway struct {
	mu       sync.Mutex
	sent     []Message
	err      error
	attempts int
}

var _ Gateway = (*FakeGateway)(nil)

// Send implements Gateway. It returns ids "SMfake1", "SMfake2", …
func (f *FakeGateway) Send(ctx context.Context, m Message) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", &Error{Op: op(m), Err: err}
	}
	if err := check(m); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts++
	if f.err != nil {
		return "", f.err
	}
	f.sent = append(f.sent, m)
	return fmt.Sprintf("SMfake%d", len(f.sent)), nil
}

// FailWith makes every later Send fail with err, until FailWith(nil). To
// fail permanently (IsPermanent), pass an *Error with Permanent set, e.g.
// &sms.Error{Op: "send", Permanent: true, Code: 21211, Err: errors.New("invalid number")}.
func (f *FakeGateway) FailWith(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// Sent returns the messages accepted so far, oldest first.
func (f *FakeGateway) Sent() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Message(nil), f.sent...)
}

// LastTo returns the newest message accepted for the number to.
func (f *FakeGateway) LastTo(to string) (Message, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.sent) - 1; i >= 0; i-- {
		if f.sent[i].To == to {
			return f.sent[i], true
		}
	}
	return Message{}, false
}

// Attempts returns how many valid messages Send was asked to send,
// accepted or failed by FailWith.
func (f *FakeGateway) Attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts
}

// Reset forgets every message and attempt and stops failing.
func (f *FakeGateway) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent, f.err, f.attempts = nil, nil, 0
}
