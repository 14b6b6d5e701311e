package notify_test

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
	"github.com/sellerguard/sellerguard/internal/account"
	"github.com/sellerguard/sellerguard/internal/keys"
	"github.com/sellerguard/sellerguard/internal/notify"
	"github.com/sellerguard/sellerguard/internal/outbox"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/sms"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/team"
	"github.com/sellerguard/sellerguard/internal/testenv"
)

var dialects = []string{store.SQLite, store.Postgres}

type fixture struct {
	db     *store.DB
	keys   *keys.Keys
	router *notify.Router
	sms    bool
	now    time.Time
}

func setup(t *testing.T, dialect string) *fixture {
	t.Helper()
	url := "sqlite://" + t.TempDir() + "/n.db"
	if dialect == store.Postgres {
		url = testenv.PostgresURL(t)
	}
	db, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	k, err := keys.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, keys: k, sms: true, now: time.Now().UTC().Truncate(time.Microsecond)}
	f.router = notify.New(db, k, notify.Options{
		BaseURL: "https://sellerguard.test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return f.now }, SMSAvailable: func() bool { return f.sms },
	})
	return f
}

func (f *fixture) tx(t *testing.T, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := f.db.WithTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// user creates a user, with a sealed mobile number when phone is not "".
func (f *fixture) user(t *testing.T, id, email, phone string) {
	t.Helper()
	f.tx(t, func(tx *store.Tx) error {
		err := tx.CreateUser(context.Background(), store.UserRecord{
			User:      sellerguard.User{ID: id, Email: email, Status: sellerguard.UserActive, PasswordChangedAt: f.now, CreatedAt: f.now},
			EmailNorm: strings.ToLower(email), PasswordHash: "x",
		})
		if err != nil || phone == "" {
			return err
		}
		sealed, err := f.keys.Seal("phone", []byte(phone), []byte(id))
		if err != nil {
			return err
		}
		return tx.SetUserPhoneNumber(context.Background(), id, sealed, f.keys.MAC("phone", phone), time.Time{})
	})
}

func (f *fixture) outbox(t *testing.T) []sellerguard.OutboxMessage {
	t.Helper()
	ms, err := f.db.ListOutbox(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func (f *fixture) deliver(t *testing.T, userID, email, event string) {
	t.Helper()
	f.tx(t, func(tx *store.Tx) error {
		return f.router.Deliver(context.Background(), tx, f.now, sellerguard.OutboxMessage{
			Channel: sellerguard.ChannelEmail, To: email, UserID: userID, Event: event,
			Subject: "Subject of " + event, Body: "Body of " + event + "\n",
		}, "HEADER\n")
	})
}

func count(ms []sellerguard.OutboxMessage, channel, event string) int {
	n := 0
	for _, m := range ms {
		if m.Channel == channel && m.Event == event {
			n++
		}
	}
	return n
}

func find(ms []sellerguard.OutboxMessage, fn func(sellerguard.OutboxMessage) bool) sellerguard.OutboxMessage {
	for _, m := range ms {
		if fn(m) {
			return m
		}
	}
	return sellerguard.OutboxMessage{}
}

func TestNotifCatalogueCoversEveryEvent(t *testing.T) {
	emitted := []string{session.EventSignupAttempt, session.EventWelcome, session.EventFailedSignins, session.EventBackupCodeUsed,
		session.EventTwoStepChanged, session.EventPasswordChanged, session.EventPasswordReminder, session.EventPasswordChangeForced,
		session.EventPhraseChanged, session.EventEmailChanged, session.EventPhoneChanged, session.EventNewDevice,
		team.EventSessionsEndedByBusiness, team.EventTwoStepReenrolRequired, team.EventSecurityReminder, account.EventAccountRecovery}
	for _, k := range emitted {
		if _, ok := notify.Lookup(k); !ok {
			t.Errorf("auth emits %q, which the catalogue lacks", k)
		}
	}
	if _, ok := notify.Lookup(session.EventUnlockCode); ok {
		t.Error("the empty event (codes) is in the catalogue")
	}
	critical := map[string]bool{
		notify.EventNewDevice: true, notify.EventFailedSignins: true, notify.EventPasswordChanged: true, notify.EventEmailChanged: true,
		notify.EventPhoneChanged: true, notify.EventTwoStepChanged: true, notify.EventBackupCodeUsed: true,
		notify.EventSessionsEndedByOther: true, notify.EventMemberInvited: true, notify.EventPaymentChanged: true,
		notify.EventAccountRecovery: true,
	}
	seen := map[string]bool{}
	for _, e := range notify.Catalogue() {
		if seen[e.Key] || e.Title == "" || e.Description == "" || notify.GroupTitles[e.Group] == "" {
			t.Errorf("bad catalogue entry %+v", e)
		}
		seen[e.Key] = true
		if critical[e.Key] && (!e.Critical || !e.Locked(notify.Email) || e.Locked(notify.SMS)) {
			t.Errorf("%s: critical events lock email (only)", e.Key)
		}
		if !e.Default(notify.Email) {
			t.Errorf("%s is off by email by default", e.Key)
		}
	}
	for _, k := range []string{notify.EventMemberInvited, notify.EventMemberRemoved, notify.EventMemberChanged, notify.EventPaymentChanged,
		notify.EventStorefrontChanged, notify.EventListingsBulkChanged, notify.EventAccessReviewDue} {
		if e, _ := notify.Lookup(k); !e.BusinessWide {
			t.Errorf("%s is not business-wide", k)
		}
	}
	if e, _ := notify.Lookup(notify.EventPasswordReminder); e.Critical || e.Locked(notify.Email) {
		t.Error("the password reminder is locked")
	}
	if e, _ := notify.Lookup(notify.EventDeliveryFailed); !e.Locked(notify.Email) || !e.Locked(notify.SMS) {
		t.Error("the delivery-failure notice has settings")
	}
	if got := notify.SMSText("Your SellerGuard password was changed"); got != "Your SellerGuard password was changed. Details in your SellerGuard account. SellerGuard never calls or texts to ask for a code." {
		t.Errorf("SMS text = %q", got)
	}
}

func TestNotifDeliverFollowsSettings(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			f := setup(t, dialect)
			ctx := context.Background()
			f.user(t, "usr_a", "a@example.com", "+447400123456")
			f.user(t, "usr_b", "b@example.com", "")
			put := func(user, event, ch string, on bool) {
				f.tx(t, func(tx *store.Tx) error {
					return tx.PutNotificationPref(ctx, store.NotificationPref{UserID: user, Event: event, Channel: ch, Enabled: on})
				})
			}
			// Defaults: email only, with the header on top.
			f.deliver(t, "usr_a", "a@example.com", notify.EventPasswordChanged)
			ms := f.outbox(t)
			if len(ms) != 1 || ms[0].Channel != notify.Email || ms[0].Body != "HEADER\nBody of security.password_changed\n" || ms[0].UserID != "usr_a" {
				t.Fatalf("default delivery: %+v", ms)
			}
			// A critical event's email cannot be switched off, even by a stored row.
			put("usr_a", notify.EventPasswordChanged, notify.Email, false)
			put("usr_a", notify.EventPasswordChanged, notify.SMS, true)
			f.deliver(t, "usr_a", "a@example.com", notify.EventPasswordChanged)
			ms = f.outbox(t)
			if count(ms, notify.Email, notify.EventPasswordChanged) != 2 || count(ms, notify.SMS, notify.EventPasswordChanged) != 1 {
				t.Fatalf("critical with email off and SMS on: %+v", ms)
			}
			last := find(ms, func(m sellerguard.OutboxMessage) bool { return m.Channel == notify.SMS })
			if last.To != "+447400123456" || last.Subject != "" ||
				last.Body != "Subject of security.password_changed. Details in your SellerGuard account. SellerGuard never calls or texts to ask for a code." {
				t.Fatalf("SMS copy: %+v", last)
			}
			// A non-critical event switched off by email: nothing.
			put("usr_a", notify.EventPasswordReminder, notify.Email, false)
			f.deliver(t, "usr_a", "a@example.com", notify.EventPasswordReminder)
			if n := count(f.outbox(t), notify.Email, notify.EventPasswordReminder); n != 0 {
				t.Fatalf("a switched-off event was sent: %d", n)
			}
			// SMS on but no phone: the email only.
			put("usr_b", notify.EventPasswordChanged, notify.SMS, true)
			f.deliver(t, "usr_b", "b@example.com", notify.EventPasswordChanged)
			ms = f.outbox(t)
			toB := find(ms, func(m sellerguard.OutboxMessage) bool { return m.UserID == "usr_b" })
			if toB.Channel != notify.Email || toB.To != "b@example.com" || count(ms, notify.SMS, notify.EventPasswordChanged) != 1 {
				t.Fatalf("SMS without a phone: %+v", ms)
			}
			// SMS on but SMS cannot be sent at all: the email only.
			f.sms = false
			f.deliver(t, "usr_a", "a@example.com", notify.EventPasswordChanged)
			if n := count(f.outbox(t), notify.SMS, notify.EventPasswordChanged); n != 1 {
				t.Fatalf("SMS sent while unavailable: %d", n)
			}
			f.sms = true
			// An unknown event is treated as critical: by email, whatever is stored.
			put("usr_a", "made.up", notify.Email, false)
			f.deliver(t, "usr_a", "a@example.com", "made.up")
			if n := count(f.outbox(t), notify.Email, "made.up"); n != 1 {
				t.Fatalf("unknown event: %d emails", n)
			}
		})
	}
}

func TestNotifUpdateLocksAuditsAndStoresOnlyOverrides(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			f := setup(t, dialect)
			ctx := context.Background()
			f.user(t, "usr_a", "a@example.com", "")
			p := &session.Principal{User: sellerguard.User{ID: "usr_a", Email: "a@example.com"}}
			meta := session.RequestMeta{IP: "192.0.2.1", UserAgent: "test"}
			off, on := false, true

			err := f.router.Update(ctx, p, meta, []notify.Change{{Event: notify.EventPasswordReminder, Email: &off}, {Event: notify.EventPasswordChanged, Email: &off}})
			var se *sellerguard.Error
			if !errors.As(err, &se) || se.Code != sellerguard.ECodeInvalidInput || len(se.Fields) != 1 || se.Fields[0].Field != "email" || se.Fields[0].Code != "locked" {
				t.Fatalf("locked: %v", err)
			}
			if err := f.router.Update(ctx, p, meta, []notify.Change{{Event: "no.such", Email: &on}}); sellerguard.ErrorCode(err) != sellerguard.ECodeNotFound {
				t.Fatalf("unknown event: %v", err)
			}
			if ps, _ := f.db.NotificationPrefs(ctx, "usr_a"); len(ps) != 0 {
				t.Fatalf("a refused change stored %v", ps)
			}
			// Asking for on where it is locked on is no change.
			if err := f.router.Update(ctx, p, meta, []notify.Change{{Event: notify.EventPasswordReminder, Email: &off, SMS: &on}, {Event: notify.EventPasswordChanged, Email: &on}}); err != nil {
				t.Fatal(err)
			}
			st, err := f.router.Setting(ctx, "usr_a", notify.EventPasswordReminder)
			if err != nil || st.Email.Enabled || !st.SMS.Enabled || st.Email.Locked || !st.Email.Default || st.SMS.Default {
				t.Fatalf("after the change: %+v %v", st, err)
			}
			if ps, _ := f.db.NotificationPrefs(ctx, "usr_a"); len(ps) != 2 {
				t.Fatalf("stored %v", ps)
			}
			// Back to the defaults: nothing stored.
			f.now = f.now.Add(time.Second)
			if err := f.router.Update(ctx, p, meta, []notify.Change{{Event: notify.EventPasswordReminder, Email: &on, SMS: &off}}); err != nil {
				t.Fatal(err)
			}
			if ps, _ := f.db.NotificationPrefs(ctx, "usr_a"); len(ps) != 0 {
				t.Fatalf("defaults stored: %v", ps)
			}
			evs, err := f.db.ListAudit(ctx, store.AuditFilter{SubjectID: "usr_a", Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 2 {
				t.Fatalf("%d audit events, want 2 (one per effective change)", len(evs))
			}
			for _, e := range evs {
				if e.Action != "account.notifications_changed" || e.Category != sellerguard.CategoryAccount || e.TargetID != notify.EventPasswordReminder || e.IP != "192.0.2.1" {
					t.Fatalf("audit: %+v", e)
				}
			}
			if !strings.Contains(evs[1].After, `"email":false`) || !strings.Contains(evs[0].After, `"email":true`) {
				t.Fatalf("audit after: %s / %s", evs[1].After, evs[0].After)
			}
		})
	}
}

func TestNotifBusinessWideGoesToOwnerAndUserManagers(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			f := setup(t, dialect)
			ctx := context.Background()
			f.user(t, "usr_owner", "owner@example.com", "")
			f.user(t, "usr_manager", "manager@example.com", "")
			f.user(t, "usr_suspended", "suspended@example.com", "")
			f.user(t, "usr_staff", "staff@example.com", "")
			manage := sellerguard.Permissions{sellerguard.AreaUserPermissions: sellerguard.LevelEdit}
			f.tx(t, func(tx *store.Tx) error {
				if err := tx.CreateBusiness(ctx, sellerguard.Business{ID: "biz_1", Name: "Shop", CreatedAt: f.now}); err != nil {
					return err
				}
				if err := tx.SetPhishingPhrase(ctx, "usr_manager", "blue heron"); err != nil {
					return err
				}
				for _, m := range []sellerguard.Membership{
					{UserID: "usr_owner", Role: sellerguard.RoleOwner, Status: sellerguard.MembershipActive},
					{UserID: "usr_manager", Role: sellerguard.RoleMember, Status: sellerguard.MembershipActive, Permissions: manage},
					{UserID: "usr_suspended", Role: sellerguard.RoleMember, Status: sellerguard.MembershipSuspended, Permissions: manage},
					{UserID: "usr_staff", Role: sellerguard.RoleMember, Status: sellerguard.MembershipActive,
						Permissions: sellerguard.Permissions{sellerguard.AreaUserPermissions: sellerguard.LevelView, sellerguard.AreaPayments: sellerguard.LevelEdit}},
				} {
					m.BusinessID, m.CreatedAt = "biz_1", f.now
					if err := tx.CreateMembership(ctx, m); err != nil {
						return err
					}
				}
				return f.router.DeliverBusiness(ctx, tx, f.now, "biz_1", sellerguard.OutboxMessage{Event: notify.EventMemberInvited, Subject: "A member was invited", Body: "Someone was invited.\n"})
			})
			got := map[string]string{}
			for _, m := range f.outbox(t) {
				got[m.To] = m.Body
				if m.Event != notify.EventMemberInvited || m.Channel != notify.Email {
					t.Fatalf("message %+v", m)
				}
			}
			// The owner and the active member who manages users; not the
			// suspended manager, not staff who only view user permissions.
			if len(got) != 2 || !strings.HasPrefix(got["manager@example.com"], outbox.PhraseHeader("blue heron")) ||
				!strings.HasPrefix(got["owner@example.com"], outbox.PhraseHeader("")) {
				t.Fatalf("recipients: %v", got)
			}
		})
	}
}

// fakeDeliverer fails every message with err (nil: delivers).
type fakeDeliverer struct {
	mu   sync.Mutex
	err  error
	sent []sellerguard.OutboxMessage
}

func (d *fakeDeliverer) Deliver(_ context.Context, m sellerguard.OutboxMessage) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return "", d.err
	}
	d.sent = append(d.sent, m)
	return "<" + m.ID + ">", nil
}

func (f *fixture) worker(email, text outbox.Deliverer) *outbox.Worker {
	return &outbox.Worker{DB: f.db, Email: email, SMS: text, Now: func() time.Time { return f.now }, Poll: time.Hour, Lease: time.Minute,
		MaxAttempts: 3, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), OnFailed: f.router.DeliveryFailed}
}

func (f *fixture) enqueue(t *testing.T, m sellerguard.OutboxMessage) {
	t.Helper()
	f.tx(t, func(tx *store.Tx) error { return outbox.Enqueue(context.Background(), tx, f.now, m) })
}

func statuses(ms []sellerguard.OutboxMessage) map[string]int {
	out := map[string]int{}
	for _, m := range ms {
		out[m.Channel+"/"+m.Event+"/"+m.Status]++
	}
	return out
}

// An SMS that fails permanently is told by one email; the notice does not
// repeat however often the worker runs, and a failing notice gets none.
func TestNotifPermanentSMSFailureIsToldOnceByEmail(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			f := setup(t, dialect)
			ctx := context.Background()
			f.user(t, "usr_a", "a@example.com", "+447400123456")
			f.tx(t, func(tx *store.Tx) error { return tx.SetPhishingPhrase(ctx, "usr_a", "red kite") })
			email := &fakeDeliverer{}
			text := &fakeDeliverer{err: &outbox.PermanentError{Err: errors.New("number refused")}}
			w := f.worker(email, text)
			f.enqueue(t, sellerguard.OutboxMessage{Channel: notify.SMS, To: "+447400123456", Body: "Secret 123456", UserID: "usr_a", Event: notify.EventPasswordChanged})
			f.enqueue(t, sellerguard.OutboxMessage{Channel: notify.SMS, To: "+447400999999", Body: "code 654321"}) // about nobody: no notice
			for range 3 {
				if _, err := w.RunOnce(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if len(email.sent) != 1 {
				t.Fatalf("%d notices, want 1: %+v", len(email.sent), email.sent)
			}
			n := email.sent[0]
			if n.To != "a@example.com" || n.Event != notify.EventDeliveryFailed || n.UserID != "usr_a" || !strings.HasSuffix(n.ID, ".fallback") ||
				!strings.HasPrefix(n.Body, outbox.PhraseHeader("red kite")) || !strings.Contains(n.Body, "•••• 3456") ||
				!strings.Contains(n.Body, "Password changed") || strings.Contains(n.Body, "123456") || !strings.Contains(n.Subject, "text message") {
				t.Fatalf("notice: %+v", n)
			}
			if got := statuses(f.outbox(t)); got["sms/security.password_changed/failed"] != 1 || got["sms//failed"] != 1 || got["email/delivery.failed/sent"] != 1 {
				t.Fatalf("outbox: %v", got)
			}
			failed, err := f.router.FailedDeliveries(ctx, "usr_a")
			if err != nil || len(failed) != 1 || failed[0].Channel != notify.SMS || failed[0].To != "•••• 3456" || failed[0].EventTitle != "Password changed" {
				t.Fatalf("failed deliveries: %+v %v", failed, err)
			}

			// The notice itself fails (here: after the last attempt): no notice for it.
			email.err = errors.New("smtp down")
			f.router = notify.New(f.db, f.keys, notify.Options{SMSAvailable: func() bool { return true }, FallbackQuiet: -1})
			w = f.worker(email, text)
			f.enqueue(t, sellerguard.OutboxMessage{Channel: notify.SMS, To: "+447400123456", Body: "x", UserID: "usr_a", Event: notify.EventNewDevice})
			for range 10 {
				if _, err := w.RunOnce(ctx); err != nil {
					t.Fatal(err)
				}
				f.now = f.now.Add(2 * time.Hour) // past every back-off
			}
			got := statuses(f.outbox(t))
			if got["email/delivery.failed/failed"] != 1 || got["email/delivery.failed/sent"] != 1 || got["sms/delivery.failed/pending"]+got["sms/delivery.failed/failed"] != 0 {
				t.Fatalf("a notice got a notice: %v", got)
			}
		})
	}
}

// An email that fails is told by SMS when the user has a phone; without a
// phone (or without SMS) nothing more happens. Quiet time: one notice per
// hour per channel.
func TestNotifPermanentEmailFailureIsToldBySMS(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			f := setup(t, dialect)
			ctx := context.Background()
			f.user(t, "usr_a", "alice@example.com", "+447400123456")
			f.user(t, "usr_b", "bob@example.com", "")
			email := &fakeDeliverer{err: &outbox.PermanentError{Err: errors.New("mailbox unknown")}}
			gw := &sms.FakeGateway{}
			w := f.worker(email, &sms.Deliverer{Gateway: gw})
			for _, u := range []string{"usr_a", "usr_a", "usr_b"} {
				f.enqueue(t, sellerguard.OutboxMessage{Channel: notify.Email, To: strings.TrimPrefix(u, "usr_") + "@example.com", Subject: "s", Body: "b", UserID: u, Event: notify.EventPasswordChanged})
			}
			if _, err := w.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			sent := gw.Sent()
			if len(sent) != 1 || sent[0].To != "+447400123456" || !strings.Contains(sent[0].Body, "could not deliver an email to a***@example.com") || !strings.Contains(sent[0].Body, "never calls or texts") {
				t.Fatalf("SMS notices: %+v", sent)
			}
			// Past the quiet hour, the next failure is told again.
			f.now = f.now.Add(61 * time.Minute)
			f.enqueue(t, sellerguard.OutboxMessage{Channel: notify.Email, To: "alice@example.com", Subject: "s", Body: "b", UserID: "usr_a", Event: notify.EventNewDevice})
			if _, err := w.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if len(gw.Sent()) != 2 {
				t.Fatalf("after the quiet hour: %d SMS", len(gw.Sent()))
			}
			// A hook that fails still leaves the message failed (not retried).
			w.OnFailed = func(context.Context, *store.Tx, time.Time, sellerguard.OutboxMessage) error {
				return errors.New("hook broke")
			}
			f.enqueue(t, sellerguard.OutboxMessage{Channel: notify.Email, To: "bob@example.com", Subject: "s", Body: "b", UserID: "usr_b", Event: notify.EventNewDevice})
			if _, err := w.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if got := statuses(f.outbox(t)); got["email/security.new_device_signin/failed"] != 2 || got["email/security.new_device_signin/pending"] != 0 {
				t.Fatalf("after a failing hook: %v", got)
			}
		})
	}
}
