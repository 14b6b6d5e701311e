package changes

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/notify"
	"github.com/sellerguard/sellerguard/internal/outbox"
	"github.com/sellerguard/sellerguard/internal/sellerdata"
	"github.com/sellerguard/sellerguard/internal/store"
)

// DigestWindow is how long listing changes are gathered into one message.
const DigestWindow = 5 * time.Minute

// digestGrace keeps a window's message back a little past the window's
// end, so a change whose transaction started just before the end still
// joins it.
const digestGrace = time.Minute

// digestMarker is where a line joins its window's message: the message's
// last line, in its language (email.listings_digest.marker).
func digestMarker(l i18n.Lang) string {
	return "\n" + i18n.Default().T(l, "email.listings_digest.marker")
}

// ListingsDigest returns sellerdata.Service.ListingsChanged: every listing change
// too small for the bulk notice becomes one line of one message per
// business, window (DigestWindow) and recipient (the owner and the members
// who manage users, unless they switched the listings notice off by email).
// The line is written in the change's transaction, into an outbox message
// whose id is derived from the business, the window and the recipient and
// that is due after the window: nothing is lost if the process dies, and a
// window's changes go out together. A line that comes after its window's
// message was already sent goes out in a message of its own.
func ListingsDigest(baseURL string) func(ctx context.Context, tx *store.Tx, now time.Time, businessID string, lines []sellerdata.ListingLine) error {
	return func(ctx context.Context, tx *store.Tx, now time.Time, businessID string, lines []sellerdata.ListingLine) error {
		if len(lines) == 0 {
			return nil
		}
		start := now.UTC().Truncate(DigestWindow)
		biz, err := tx.FindBusiness(ctx, businessID)
		if err != nil {
			return err
		}
		rs, err := tx.BusinessNotifyRecipients(ctx, businessID)
		if err != nil {
			return err
		}
		ev, _ := notify.Lookup(notify.EventListingsChanged)
		for _, c := range rs {
			if !c.Membership.ManagesUsers() {
				continue
			}
			on, err := emailOn(ctx, tx, c.UserID, ev)
			if err != nil {
				return err
			}
			if !on {
				continue
			}
			// In the recipient's language. The marker is in that language
			// too: should the recipient switch languages within a window,
			// the window's message (started in the other) takes no more
			// lines, and they are only in the change review.
			lang, err := tx.LanguageOf(ctx, c.UserID)
			if err != nil {
				return err
			}
			l := i18n.OrDefault(lang)
			cat := i18n.Default()
			texts := make([]string, len(lines))
			for i, ln := range lines {
				texts[i] = ln.In(string(l))
			}
			text := "\n" + strings.Join(texts, "\n")
			marker := digestMarker(l)
			m := sellerguard.OutboxMessage{
				ID:      fmt.Sprintf("digest.listings.%s.%d.%s", businessID, start.Unix(), c.UserID),
				Channel: sellerguard.ChannelEmail, To: c.Email, UserID: c.UserID, Event: notify.EventListingsChanged, CreatedAt: now,
				Subject: cat.T(l, "email.listings_digest.subject", "Business", biz.Name),
				Body: outbox.PhraseHeaderIn(string(l), c.Phrase) + cat.T(l, "email.listings_digest.intro", "Business", biz.Name,
					"From", start.Format("2006-01-02 15:04"), "To", start.Add(DigestWindow).Format("15:04")) + "\n" +
					text + marker + cat.T(l, "email.listings_digest.end", "BaseURL", baseURL) + "\n\n" + cat.T(l, "email.footer") + "\n",
			}
			added, err := tx.UpsertDigestMessage(ctx, m, start.Add(DigestWindow+digestGrace), marker, text)
			if err != nil {
				return err
			}
			if !added { // the window's message already went: this line goes alone
				m.ID = m.ID + ".late." + fmt.Sprint(now.UnixMicro())
				if _, err := tx.UpsertDigestMessage(ctx, m, now, marker, text); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// emailOn reports whether a user gets an event by email.
func emailOn(ctx context.Context, tx *store.Tx, userID string, ev notify.Event) (bool, error) {
	if ev.Locked(notify.Email) {
		return true, nil
	}
	prefs, err := tx.NotificationPrefs(ctx, userID)
	if err != nil {
		return false, err
	}
	for _, p := range prefs {
		if p.Event == ev.Key && p.Channel == notify.Email {
			return p.Enabled, nil
		}
	}
	return ev.Default(notify.Email), nil
}
