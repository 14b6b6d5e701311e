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

// Deliverer delivers outbox messages of channel sms (outbox.Worker.SMS)
// through a Gateway. The convention for sellerguard.OutboxMessage:
//
//   - To is the recipient number in E.164 form;
//   - Body is the text to send, or to read out;
//   - Subject is SubjectVoice ("voice", exactly) for a voice call; any other
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
	id, err := d.Gateway.Send(ctx, Message{To: m.To, Body: m.Body, Voice: m.Subject == SubjectVoice})
	if err != nil {
		if IsPermanent(err) {
			return "", &outbox.PermanentError{Err: err}
		}
		return "", fmt.Errorf("sms: deliver: %w", err)
	}
	return id, nil
}
