package sms

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Message is one text message or voice call.
type Message struct {
	To    string // the recipient in E.164 form, e.g. +447400123456
	Body  string // the text sent, or spoken when Voice is set; it may hold a code
	Voice bool   // place a call that reads Body out instead of sending a text
	// Lang is the language a call reads Body in: "zh-CN" (Mandarin) or
	// English for anything else. A text message needs none (the text is
	// already in the recipient's language).
	Lang string
}

// Gateway hands a Message to a phone network operator. Send returns the
// gateway's id for the message. A failure for which retrying the same
// message cannot help satisfies IsPermanent.
type Gateway interface {
	Send(ctx context.Context, m Message) (id string, err error)
}

// MaxBodyLength is the longest Body accepted, in characters (Twilio's limit
// for a text message, which it splits into segments).
const MaxBodyLength = 1600

// ErrInvalidMessage is wrapped by the (permanent) error of a Send that
// refused a message before sending it: no number, a number not in E.164
// form, an empty or too long body.
var ErrInvalidMessage = errors.New("sms: invalid message")

// Error is the error of a failed Send.
type Error struct {
	Op         string // "send" (text message) or "call" (voice)
	HTTPStatus int    // the gateway's HTTP status; 0 if it did not answer
	Code       int    // the gateway's error code (Twilio's "code"), 0 if none
	Permanent  bool   // retrying the same message cannot help; see IsPermanent
	Err        error  // the cause; never holds the body, the token or the number
}

func (e *Error) Error() string {
	kind := "temporary"
	if e.Permanent {
		kind = "permanent"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "sms: %s failed (%s", e.Op, kind)
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, ", HTTP %d", e.HTTPStatus)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, ", error %d", e.Code)
	}
	b.WriteString(")")
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// IsPermanent reports whether err from Send means retrying the same message
// cannot succeed: the message is invalid, or the gateway refused it for
// reasons of its own (an invalid or non-mobile number, a recipient that
// opted out, a region not enabled). Network failures, timeouts, 429 and 5xx
// answers, and answers that point at the gateway's configuration (bad
// credentials, unknown account, bad sender) are not permanent: they fail
// every message alike, and once the operator fixes them the retries go
// through.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

// op names what sending m does.
func op(m Message) string {
	if m.Voice {
		return "call"
	}
	return "send"
}

// check refuses a message that no gateway could deliver, before any
// request is made.
func check(m Message) error {
	var why string
	switch {
	case m.To == "":
		why = "no recipient number"
	case !isE164(m.To):
		why = "recipient number is not in E.164 form"
	case strings.TrimSpace(m.Body) == "":
		why = "empty body"
	case !utf8.ValidString(m.Body):
		why = "body is not UTF-8"
	case utf8.RuneCountInString(m.Body) > MaxBodyLength:
		why = fmt.Sprintf("body longer than %d characters", MaxBodyLength)
	default:
		return nil
	}
	return &Error{Op: op(m), Permanent: true, Err: fmt.Errorf("%w: %s", ErrInvalidMessage, why)}
}

// isE164 reports whether s is + and 7 to 15 digits, the first not 0.
func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// redact removes every secret from s (text from the gateway, which may
// echo what it was sent): each non-empty secret, and every run of four or
// more digits that also occurs in one of them (a code quoted alone).
func redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	for _, sec := range secrets {
		for _, run := range digitRuns(sec, 4) {
			s = strings.ReplaceAll(s, run, "[redacted]")
		}
	}
	return s
}

// digitRuns returns the runs of at least minLen ASCII digits in s.
func digitRuns(s string, minLen int) []string {
	var runs []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= minLen {
			runs = append(runs, s[start:i])
		}
		start = -1
	}
	return runs
}
