package changes

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/auth"
	"github.com/sellerguard/sellerguard/internal/notify"
	"github.com/sellerguard/sellerguard/internal/outbox"
	"github.com/sellerguard/sellerguard/internal/store"
)

// DigestWindow is how long listing changes are gathered into one message.
const DigestWindow = 5 * time.Minute

// digestGrace keeps a window's message back a little past the window's
// end, so a change whose transaction started just before the end still
// joins it.
const digestGrace = time.Minute

const digestMarker = "\nThe change review of your business shows each change, before and after"

// ListingsDigest returns auth.Service.ListingsChanged: every listing change
// too small for the bulk notice becomes one line of one message per
// business, window (DigestWindow) and recipient (the owner and the members
// who manage users, unless they switched the listings notice off by email).
// The line is written in the change's transaction, into an outbox message
// whose id is derived from the business, the window and the recipient and
// that is due after the window: nothing is lost if the process dies, and a
// window's changes go out together. A line that comes after its window's
// message was already sent goes out in a message of its own.
func ListingsDigest(baseURL string) func(ctx context.Context, tx *store.Tx, now time.Time, businessID string, lines []string) error {
	return func(ctx context.Context, tx *store.Tx, now time.Time, businessID string, lines []string) error {
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
		text := "\n" + strings.Join(lines, "\n")
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
			m := sellerguard.OutboxMessage{
				ID:      fmt.Sprintf("digest.listings.%s.%d.%s", businessID, start.Unix(), c.UserID),
				Channel: sellerguard.ChannelEmail, To: c.Email, UserID: c.UserID, Event: notify.EventListingsChanged, CreatedAt: now,
				Subject: "Listings of " + biz.Name + " were changed",
				Body: outbox.PhraseHeader(c.Phrase) + fmt.Sprintf("Listings of %s were changed between %s and %s UTC:\n",
					biz.Name, start.Format("2006-01-02 15:04"), start.Add(DigestWindow).Format("15:04")) +
					text + digestMarker + " (Account → Changes): " + baseURL + "/account/changes\n" +
					"If you did not expect this, open SellerGuard by typing its address and choose Secure my account.\n\n" + auth.SafetyFooter + "\n",
			}
			added, err := tx.UpsertDigestMessage(ctx, m, start.Add(DigestWindow+digestGrace), digestMarker, text)
			if err != nil {
				return err
			}
			if !added { // the window's message already went: this line goes alone
				m.ID = m.ID + ".late." + fmt.Sprint(now.UnixMicro())
				if _, err := tx.UpsertDigestMessage(ctx, m, now, digestMarker, text); err != nil {
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
