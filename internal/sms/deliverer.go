package sms

import (
	"context"
	"fmt"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/outbox"
)

// SubjectVoice is the Subject of an outbox message of channel sms that is
// to be read out in a voice call instead of sent as a text message.
const SubjectVoice = "voice"

// SubjectVoiceChinese is SubjectVoice for a call read out in Mandarin
// (Simplified Chinese text). The Subject column is the one place an sms
// message in the outbox can say how it is read, so the language rides on it.
const SubjectVoiceChinese = "voice zh-CN"

// VoiceSubject is the Subject of a voice call in language lang ("en",
// "zh-CN").
func VoiceSubject(lang string) string {
	if lang == "zh-CN" {
		return SubjectVoiceChinese
	}
	return SubjectVoice
}

// IsVoice reports whether an sms outbox message's Subject asks for a call,
// and in which language it is read ("en" or "zh-CN").
func IsVoice(subject string) (voice bool, lang string) {
	switch subject {
	case SubjectVoice:
		return true, "en"
	case SubjectVoiceChinese:
		return true, "zh-CN"
	}
	return false, ""
}

// Deliverer delivers outbox messages of channel sms (outbox.Worker.SMS)
// through a Gateway. The convention for sellerguard.OutboxMessage:
//
//   - To is the recipient number in E.164 form;
//   - Body is the text to send, or to read out;
//   - Subject is SubjectVoice ("voice", exactly) for a voice call read in
//     English, SubjectVoiceChinese for one read in Mandarin; any other
//     Subject, including "", means a text message (a text message has no
//     subject, so it is not sent).
//
// A permanent gateway failure (IsPermanent) is returned as an
// *outbox.PermanentError, so the worker fails the message at once; any
// other failure is retried by the worker.
type Deliverer struct {
	Gateway Gateway
}

var _ outbox.Deliverer = (*Deliverer)(nil)

// Deliver implements outbox.Deliverer. It returns the gateway's id.
func (d *Deliverer) Deliver(ctx context.Context, m sellerguard.OutboxMessage) (string, error) {
	if m.Channel != sellerguard.ChannelSMS {
		return "", &outbox.PermanentError{Err: fmt.Errorf("sms: cannot deliver a message of channel %q", m.Channel)}
	}
	voice, lang := IsVoice(m.Subject)
	id, err := d.Gateway.Send(ctx, Message{To: m.To, Body: m.Body, Voice: voice, Lang: lang})
	if err != nil {
		if IsPermanent(err) {
			return "", &outbox.PermanentError{Err: err}
		}
		return "", fmt.Errorf("sms: deliver: %w", err)
	}
	return id, nil
}
