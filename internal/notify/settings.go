package notify

import (
	"context"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/outbox"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

// ChannelSetting is a user's setting of one event on one channel.
type ChannelSetting struct {
	Enabled bool // what applies now
	Default bool // what applies to a user who changed nothing
	Locked  bool // the user cannot change it
}

// Setting is one event of the catalogue with a user's settings.
type Setting struct {
	Event Event
	Email ChannelSetting
	SMS   ChannelSetting
}

// Channel returns the setting of one channel.
func (s Setting) Channel(channel string) ChannelSetting {
	if channel == SMS {
		return s.SMS
	}
	return s.Email
}

func (o overrides) setting(ev Event) Setting {
	cs := func(ch string) ChannelSetting {
		return ChannelSetting{Enabled: o.enabled(ev.Key, ch), Default: ev.Default(ch), Locked: ev.Locked(ch)}
	}
	return Setting{Event: ev, Email: cs(Email), SMS: cs(SMS)}
}

// Settings returns the whole catalogue with the user's settings.
func (r *Router) Settings(ctx context.Context, userID string) ([]Setting, error) {
	o, err := loadOverrides(ctx, r.db, userID)
	if err != nil {
		return nil, err
	}
	out := make([]Setting, 0, len(catalogue))
	for _, ev := range catalogue {
		out = append(out, o.setting(ev))
	}
	return out, nil
}

// ErrNoSuchEvent answers a key the catalogue does not have.
var ErrNoSuchEvent = sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such notification event.")

// Setting returns one event with the user's settings.
func (r *Router) Setting(ctx context.Context, userID, key string) (Setting, error) {
	ev, ok := Lookup(key)
	if !ok {
		return Setting{}, ErrNoSuchEvent
	}
	o, err := loadOverrides(ctx, r.db, userID)
	if err != nil {
		return Setting{}, err
	}
	return o.setting(ev), nil
}

// Change is a requested change of one event's settings; a nil channel
// stays as it is.
type Change struct {
	Event string
	Email *bool
	SMS   *bool
}

func (c Change) value(channel string) *bool {
	if channel == SMS {
		return c.SMS
	}
	return c.Email
}

func lockedError(channel string) *sellerguard.Error {
	msg := "This is a security-critical notification: it always goes by email."
	if channel == SMS {
		msg = "This notification always goes on the channel that still works; it has no setting."
	}
	return sellerguard.Invalid(sellerguard.FieldError{Field: channel, Code: "locked", Message: msg})
}

// Update applies the user's own changes, all or none. A key the catalogue
// does not have answers not found; switching a locked channel off answers
// invalid_input (field "email" or "sms", code "locked") and changes
// nothing. Only settings that differ from the defaults are stored. Each
// event whose settings change is audited (category account) in the same
// transaction.
func (r *Router) Update(ctx context.Context, p *session.Principal, meta session.RequestMeta, changes []Change) error {
	for _, c := range changes {
		ev, ok := Lookup(c.Event)
		if !ok {
			return ErrNoSuchEvent
		}
		for _, ch := range Channels {
			if v := c.value(ch); v != nil && !*v && ev.Locked(ch) {
				return lockedError(ch)
			}
		}
	}
	now := r.opts.Now().UTC().Truncate(time.Microsecond)
	userID := p.User.ID
	return r.db.WithTx(ctx, func(tx *store.Tx) error {
		o, err := loadOverrides(ctx, tx, userID)
		if err != nil {
			return err
		}
		var told []settingChange // what changed, for the notice
		for _, c := range changes {
			ev, _ := Lookup(c.Event)
			before := o.setting(ev)
			after := map[string]bool{Email: before.Email.Enabled, SMS: before.SMS.Enabled}
			changed := false
			for _, ch := range Channels {
				v := c.value(ch)
				if v == nil || *v == after[ch] || ev.Locked(ch) {
					continue // unchanged, or locked on (asking for on is no change)
				}
				after[ch], changed = *v, true
				if *v == ev.Default(ch) {
					err = tx.DeleteNotificationPref(ctx, userID, ev.Key, ch)
				} else {
					err = tx.PutNotificationPref(ctx, store.NotificationPref{UserID: userID, Event: ev.Key, Channel: ch, Enabled: *v})
				}
				if err != nil {
					return err
				}
				if o[ev.Key] == nil {
					o[ev.Key] = map[string]bool{}
				}
				o[ev.Key][ch] = *v
			}
			if !changed {
				continue
			}
			err := audit.Append(ctx, tx, now, audit.Entry{
				SubjectID: userID, ActorID: userID, ActorEmail: p.User.Email, IP: meta.IP, UserAgent: meta.UserAgent,
				Action: "account.notifications_changed", Category: sellerguard.CategoryAccount, TargetType: "notification", TargetID: ev.Key,
				Before: map[string]any{"event": ev.Key, Email: before.Email.Enabled, SMS: before.SMS.Enabled},
				After:  map[string]any{"event": ev.Key, Email: after[Email], SMS: after[SMS]},
			})
			if err != nil {
				return err
			}
			told = append(told, settingChange{ev, after[Email], after[SMS]})
		}
		return r.tellSettingsChanged(ctx, tx, now, p, meta, told)
	})
}

// settingChange is one event's settings after a change.
type settingChange struct {
	event      Event
	email, sms bool
}

// settingsNotice is the notice of a settings change, written in each
// recipient's language (sellerguard.Texts).
type settingsNotice struct {
	intro   string // key
	introKV []any
	changes []settingChange
	ip, ua  string
	at      time.Time
	baseURL string
}

// Render implements sellerguard.Texts.
func (n settingsNotice) Render(lang string) (subject, body string) {
	l := i18n.OrDefault(lang)
	c := i18n.Default()
	onOff := func(b bool) string {
		if b {
			return c.T(l, "email.settings_changed.on")
		}
		return c.T(l, "email.settings_changed.off")
	}
	lines := make([]string, len(n.changes))
	for i, ch := range n.changes {
		lines[i] = c.T(l, "email.settings_changed.line", "Title", ch.event.TitleIn(l), "Email", onOff(ch.email), "SMS", onOff(ch.sms))
	}
	body = c.T(l, "email.settings_changed.body", "Intro", c.T(l, n.intro, n.introKV...), "Lines", strings.Join(lines, "\n"),
		"IP", n.ip, "UA", n.ua, "When", i18n.FormatTime(l, n.at), "BaseURL", n.baseURL)
	return c.T(l, "email.settings_changed.subject"), body + "\n\n" + c.T(l, "email.footer") + "\n"
}

// tellSettingsChanged sends the critical notice of a settings change (it
// cannot be switched off, so an intruder cannot silently switch the alerts
// off first) to the user and to the owner of each of their businesses.
func (r *Router) tellSettingsChanged(ctx context.Context, tx *store.Tx, now time.Time, p *session.Principal, meta session.RequestMeta, what []settingChange) error {
	if len(what) == 0 {
		return nil
	}
	send := func(userID, to, phrase, intro string, introKV ...any) error {
		m := sellerguard.OutboxMessage{UserID: userID, To: to, Event: EventNotificationsChanged,
			Texts: settingsNotice{intro: intro, introKV: introKV, changes: what, ip: meta.IP, ua: meta.UserAgent, at: now, baseURL: r.opts.BaseURL}}
		m.Subject, m.Body = m.Texts.Render(string(i18n.English))
		return r.Deliver(ctx, tx, now, m, outbox.PhraseHeader(phrase))
	}
	me, err := tx.NotifyContactOf(ctx, p.User.ID)
	if err != nil {
		return err
	}
	if err := send(p.User.ID, me.Email, me.Phrase, "email.settings_changed.intro_self"); err != nil {
		return err
	}
	ms, err := tx.ListMemberships(ctx, p.User.ID)
	if err != nil {
		return err
	}
	told := map[string]bool{p.User.ID: true}
	for _, m := range ms {
		rs, err := tx.BusinessNotifyRecipients(ctx, m.BusinessID)
		if err != nil {
			return err
		}
		for _, c := range rs {
			if c.Membership.Role != sellerguard.RoleOwner || told[c.UserID] {
				continue
			}
			told[c.UserID] = true
			if err := send(c.UserID, c.Email, c.Phrase, "email.settings_changed.intro_member", "Actor", p.User.Email, "Business", m.BusinessName); err != nil {
				return err
			}
		}
	}
	return nil
}

// FailedWindow is how far back the account shows messages that could not
// be delivered.
const FailedWindow = 30 * 24 * time.Hour

// FailedDelivery is a message to a user that could not be delivered.
type FailedDelivery struct {
	ID         string
	Channel    string
	To         string // masked
	Subject    string // emails only
	Event      string // "" for a code or message the user asked for
	EventTitle string
	At         time.Time
}

// FailedDeliveries lists the user's messages of the last 30 days that could
// not be delivered, newest first (at most 50).
func (r *Router) FailedDeliveries(ctx context.Context, userID string) ([]FailedDelivery, error) {
	ms, err := r.db.FailedDeliveries(ctx, userID, r.opts.Now().Add(-FailedWindow), 50)
	if err != nil {
		return nil, err
	}
	out := make([]FailedDelivery, 0, len(ms))
	for _, m := range ms {
		f := FailedDelivery{ID: m.ID, Channel: m.Channel, Event: m.Event, At: m.CreatedAt}
		switch m.Channel {
		case SMS:
			f.To = MaskPhone(m.To)
		default:
			f.To, f.Subject = MaskEmail(m.To), m.Subject
		}
		if ev, ok := Lookup(m.Event); ok {
			f.EventTitle = ev.Title
		} else {
			f.EventTitle = "A code or message you asked for"
		}
		out = append(out, f)
	}
	return out, nil
}
