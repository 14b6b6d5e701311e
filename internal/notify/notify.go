// Package notify routes SellerGuard's notifications: the catalogue of events
// a user can be told about, each user's settings per event and channel
// (email, SMS), and the notice on the other channel when a message could
// not be delivered.
//
// What it guards:
//   - security-critical events always reach the user by email: their email
//     cannot be switched off (Update refuses, and Deliver ignores a stored
//     "off" all the same), and an event key the catalogue does not know is
//     treated as critical;
//   - codes are never routed here: the rule packages send messages without an
//     event (sign-up and unlock codes) straight to the outbox;
//   - an SMS copy goes only to the number on the account, is short, and
//     carries no link and no code;
//   - when the outbox gives up on a message about a user, the user is told
//     on the other channel, once per failed message and never for a notice
//     that itself failed; the notice carries no part of the lost body.
//
// Every settings change commits with its audit event.
package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/keys"
	"github.com/sellerguard/sellerguard/internal/outbox"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/sms"
	"github.com/sellerguard/sellerguard/internal/store"
)

// Options configures a Router.
type Options struct {
	BaseURL string
	Logger  *slog.Logger
	// Now is the clock of settings changes (default time.Now).
	Now func() time.Time
	// SMSAvailable reports whether text messages can be sent at all. nil
	// means no, unless Attach fills it in from the auth service.
	SMSAvailable func() bool
	// FallbackQuiet: after a notice that a message could not be delivered,
	// further failures within this time only show in the account instead
	// of sending another notice on the same channel (default one hour;
	// negative: every failure gets its notice).
	FallbackQuiet time.Duration
}

// Router delivers notifications by the users' settings.
type Router struct {
	db   *store.DB
	keys *keys.Keys
	opts Options
}

// New returns a router over the database; k opens the users' sealed phone
// numbers.
func New(db *store.DB, k *keys.Keys, opts Options) *Router {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.FallbackQuiet == 0 {
		opts.FallbackQuiet = time.Hour
	}
	return &Router{db: db, keys: k, opts: opts}
}

// Attach wires the router into the auth service (event emails) and, when w
// is not nil, the outbox worker (notices of failed deliveries).
func (r *Router) Attach(svc *session.Service, w *outbox.Worker) {
	if r.opts.SMSAvailable == nil {
		r.opts.SMSAvailable = func() bool { return svc.SMS.Available }
	}
	svc.Notify = r.Deliver
	svc.NotifyBusiness = r.DeliverBusiness
	if w != nil {
		w.OnFailed = r.DeliveryFailed
	}
}

var _ session.Notifier = (*Router)(nil).Deliver

func (r *Router) smsAvailable() bool {
	return r.opts.SMSAvailable != nil && r.opts.SMSAvailable()
}

// SMSAvailable reports whether text messages can be sent at all.
func (r *Router) SMSAvailable() bool { return r.smsAvailable() }

// overrides is a user's stored settings: event → channel → enabled.
type overrides map[string]map[string]bool

type prefReader interface {
	NotificationPrefs(ctx context.Context, userID string) ([]store.NotificationPref, error)
}

func loadOverrides(ctx context.Context, q prefReader, userID string) (overrides, error) {
	ps, err := q.NotificationPrefs(ctx, userID)
	if err != nil {
		return nil, err
	}
	o := overrides{}
	for _, p := range ps {
		if o[p.Event] == nil {
			o[p.Event] = map[string]bool{}
		}
		o[p.Event][p.Channel] = p.Enabled
	}
	return o, nil
}

// enabled is the effective setting of a channel for an event. A locked
// channel has its default whatever is stored; an unknown event goes by
// email only (fail safe: treated as critical).
func (o overrides) enabled(key string, channel string) bool {
	ev, known := Lookup(key)
	if known && ev.Locked(channel) {
		return ev.Default(channel)
	}
	if !known && channel == Email {
		return true
	}
	if on, ok := o[key][channel]; ok {
		return on
	}
	return known && ev.Default(channel)
}

// Deliver sends a notification about an event to one user (session.Notifier):
// m is the email as auth built it (To, Subject, Body, UserID, Event) and
// header the recipient's anti-phishing header. The email copy goes unless
// the user switched email off for a non-critical event; an SMS copy goes
// when the user turned SMS on for the event and has a mobile number. It
// runs inside tx: the messages commit with the change they are about.
func (r *Router) Deliver(ctx context.Context, tx *store.Tx, now time.Time, m sellerguard.OutboxMessage, header string) error {
	if _, known := Lookup(m.Event); !known {
		r.opts.Logger.Warn("notify: event not in the catalogue, sent as security-critical", "event", m.Event)
	}
	o, err := loadOverrides(ctx, tx, m.UserID)
	if err != nil {
		return err
	}
	// Written in the recipient's language (their saved choice, else the
	// one they signed up in), header included, when the message carries
	// its texts; a message without them goes in English as it came.
	lang, err := tx.LanguageOf(ctx, m.UserID)
	if err != nil {
		return err
	}
	if i18n.OrDefault(lang) != i18n.English {
		phrase, err := tx.PhishingPhraseOf(ctx, m.UserID)
		if err != nil {
			return err
		}
		header = outbox.PhraseHeaderIn(lang, phrase)
	}
	m = outbox.Localize(m, lang)
	if o.enabled(m.Event, Email) {
		e := m
		e.ID, e.Channel, e.Body = "", Email, header+m.Body
		if err := outbox.Enqueue(ctx, tx, now, e); err != nil {
			return err
		}
	}
	if err := r.copyToPreviousAddresses(ctx, tx, now, m, header); err != nil {
		return err
	}
	if !o.enabled(m.Event, SMS) || !r.smsAvailable() {
		return nil
	}
	c, err := tx.NotifyContactOf(ctx, m.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	phone, ok := r.phoneOf(c)
	if !ok {
		return nil
	}
	return outbox.Enqueue(ctx, tx, now, sellerguard.OutboxMessage{
		Channel: SMS, To: phone, Body: SMSTextIn(lang, m.Subject), UserID: m.UserID, Event: m.Event,
	})
}

// PreviousAddressWindow is how long after a change of sign-in email the
// previous address keeps getting copies of critical notices.
const PreviousAddressWindow = 30 * 24 * time.Hour

// copyToPreviousAddresses sends a copy of a critical notice addressed to
// the user's sign-in email to every address that was the sign-in email in
// the last PreviousAddressWindow: whoever changed the email, the owner of
// the old address still hears of every security event. A notice addressed
// elsewhere (the old address itself, a new address being confirmed) gets
// no copies.
func (r *Router) copyToPreviousAddresses(ctx context.Context, tx *store.Tx, now time.Time, m sellerguard.OutboxMessage, header string) error {
	if ev, known := Lookup(m.Event); m.UserID == "" || known && !ev.Critical {
		return nil
	}
	prev, err := tx.PreviousEmailsSince(ctx, m.UserID, now.Add(-PreviousAddressWindow))
	if err != nil || len(prev) == 0 {
		return err
	}
	c, err := tx.NotifyContactOf(ctx, m.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !strings.EqualFold(strings.TrimSpace(m.To), c.Email) {
		return nil
	}
	for _, p := range prev {
		if strings.EqualFold(p.Email, c.Email) {
			continue
		}
		cp := m
		cp.ID, cp.Channel, cp.To = "", Email, p.Email
		cp.Body = header + strings.Join([]string{
			"A copy for the previous sign-in email of your SellerGuard account.",
			fmt.Sprintf("This address was the account's sign-in email until %s. For 30 days after", p.ChangedAt.UTC().Format(time.RFC1123)),
			"a change of sign-in email, every security notice also goes to the previous",
			"address. If you did not make that change, undo it with the revert code we sent",
			"to this address when it happened: type the address of SellerGuard yourself and",
			"choose \"Undo an email change\" on its sign-in page.",
			"",
			"The notice, as sent to the current sign-in email:",
			"",
		}, "\n") + m.Body
		if err := outbox.Enqueue(ctx, tx, now, cp); err != nil {
			return err
		}
	}
	return nil
}

// SMSText is the text message copy of a notification: its subject and a
// pointer to the account, with no link and no code.
func SMSText(subject string) string { return SMSTextIn(string(i18n.English), subject) }

// SMSTextIn is SMSText in language lang (the subject already in it).
func SMSTextIn(lang, subject string) string {
	subject = strings.TrimRight(strings.TrimSpace(subject), ".。")
	return i18n.Default().T(i18n.OrDefault(lang), "sms.notice", "Subject", subject)
}

// phoneOf opens the user's mobile number; false when there is none or it
// does not open (logged: the email copy still goes).
func (r *Router) phoneOf(c store.NotifyContact) (string, bool) {
	if c.PhoneSealed == "" || r.keys == nil {
		return "", false
	}
	raw, err := r.keys.Open("phone", c.PhoneSealed, []byte(c.UserID))
	if err != nil {
		r.opts.Logger.Error("notify: the user's phone number does not open", "user_id", c.UserID, "err", err)
		return "", false
	}
	return string(raw), true
}

// HasPhone reports whether the user has a mobile number SMS copies can go to.
func (r *Router) HasPhone(ctx context.Context, userID string) (bool, error) {
	c, err := r.db.NotifyContactOf(ctx, userID)
	if err != nil {
		return false, err
	}
	_, ok := r.phoneOf(c)
	return ok, nil
}

// DeliverBusiness sends a business-wide event to the business's owner and
// to its members who manage users (Membership.ManagesUsers), each by their own
// settings and with their own anti-phishing header. m needs Subject, Body
// and Event; To and UserID are set per recipient.
func (r *Router) DeliverBusiness(ctx context.Context, tx *store.Tx, now time.Time, businessID string, m sellerguard.OutboxMessage) error {
	rs, err := tx.BusinessNotifyRecipients(ctx, businessID)
	if err != nil {
		return err
	}
	for _, c := range rs {
		if !c.Membership.ManagesUsers() {
			continue
		}
		mm := m
		mm.To, mm.UserID = c.Email, c.UserID
		if err := r.Deliver(ctx, tx, now, mm, outbox.PhraseHeader(c.Phrase)); err != nil {
			return err
		}
	}
	return nil
}

// FallbackID is the outbox id of the notice about the failed message id:
// one failed message has at most one notice.
func FallbackID(id string) string { return id + ".fallback" }

// DeliveryFailed is the outbox worker's OnFailed hook: when a message about
// a user could not be delivered, the user is told on the other channel (an
// SMS failed: by email; an email failed: by SMS, when the user has a mobile
// number and SMS can be sent). It runs in the transaction that marks the
// message failed. A notice that itself fails gets no notice.
func (r *Router) DeliveryFailed(ctx context.Context, tx *store.Tx, now time.Time, m sellerguard.OutboxMessage) error {
	if m.UserID == "" || m.Event == EventDeliveryFailed {
		return nil
	}
	c, err := tx.NotifyContactOf(ctx, m.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	l, err := tx.LanguageOf(ctx, m.UserID)
	if err != nil {
		return err
	}
	lang := i18n.OrDefault(l)
	var notice sellerguard.OutboxMessage
	switch m.Channel {
	case SMS:
		notice = r.smsFailedEmail(lang, c, m)
	case Email:
		if !r.smsAvailable() {
			return nil
		}
		phone, ok := r.phoneOf(c)
		if !ok {
			return nil
		}
		notice = sellerguard.OutboxMessage{Channel: SMS, To: phone,
			Body: i18n.Default().T(lang, "sms.email_failed", "Address", MaskEmail(m.To))}
	default:
		return nil
	}
	if r.opts.FallbackQuiet > 0 {
		n, err := tx.CountUserMessages(ctx, m.UserID, EventDeliveryFailed, notice.Channel, now.Add(-r.opts.FallbackQuiet))
		if err != nil {
			return err
		}
		if n > 0 {
			return nil // told recently; the account lists every failure
		}
	}
	notice.ID, notice.UserID, notice.Event, notice.CreatedAt = FallbackID(m.ID), m.UserID, EventDeliveryFailed, now.UTC()
	_, err = tx.EnqueueMessageOnce(ctx, notice)
	return err
}

func (r *Router) smsFailedEmail(lang i18n.Lang, c store.NotifyContact, m sellerguard.OutboxMessage) sellerguard.OutboxMessage {
	cat := i18n.Default()
	what := "email.sms_failed.a_text"
	if voice, _ := sms.IsVoice(m.Subject); voice {
		what = "email.sms_failed.a_call"
	}
	about := cat.T(lang, "email.sms_failed.about_code")
	if ev, ok := Lookup(m.Event); ok {
		about = cat.T(lang, "email.sms_failed.about_event", "Title", ev.TitleIn(lang))
	}
	kv := []any{"What", cat.T(lang, what), "Phone", MaskPhone(m.To), "About", about, "Sent", i18n.FormatTime(lang, m.CreatedAt), "BaseURL", r.opts.BaseURL}
	return sellerguard.OutboxMessage{
		Channel: Email, To: c.Email,
		Subject: cat.T(lang, "email.sms_failed.subject", kv...),
		Body:    outbox.PhraseHeaderIn(string(lang), c.Phrase) + cat.T(lang, "email.sms_failed.body", kv...) + "\n\n" + cat.T(lang, "email.footer") + "\n",
	}
}

// MaskEmail shows an address as its first character and domain.
func MaskEmail(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "***"
	}
	first := []rune(addr[:at])[0]
	return string(first) + "***" + addr[at:]
}

// MaskPhone shows a number as its last four digits.
func MaskPhone(n string) string {
	if len(n) <= 4 {
		return "••••"
	}
	return "•••• " + n[len(n)-4:]
}
