package outbox

import (
	"context"
	"fmt"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/mail"
)

// EmailDeliverer sends outbox emails over SMTP. The Message-ID is derived
// from the outbox id, so a retry after a crash re-sends the same Message-ID
// and a receiver can recognise the duplicate.
type EmailDeliverer struct {
	Sender mail.Sender
	Domain string // right-hand side of Message-IDs (the From domain)
	// Sent, when set, is called with every message as transmitted (for the
	// sent-mail ledger).
	Sent func(ctx context.Context, m sellerguard.OutboxMessage, messageID string, raw []byte)
}

// Deliver implements Deliverer.
func (d *EmailDeliverer) Deliver(ctx context.Context, m sellerguard.OutboxMessage) (string, error) {
	html, err := HTMLBody(m.Subject, m.Body)
	if err != nil {
		return "", &PermanentError{Err: err}
	}
	id, raw, err := d.Sender.Send(ctx, mail.Message{To: m.To, Subject: m.Subject, Text: m.Body, HTML: html, MessageID: m.ID + "@" + d.Domain})
	if err != nil {
		if mail.IsPermanent(err) {
			return "", &PermanentError{Err: err}
		}
		return "", fmt.Errorf("outbox: send email: %w", err)
	}
	if d.Sent != nil {
		d.Sent(ctx, m, id, raw)
	}
	return id, nil
}
