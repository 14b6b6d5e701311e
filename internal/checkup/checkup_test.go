package checkup_test

import (
	"slices"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/checkup"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// secureFacts is a person every item is happy with.
func secureFacts() checkup.AccountFacts {
	return checkup.AccountFacts{
		UserID: "usr_a", Email: "a@example.com", CreatedAt: now.Add(-100 * day), PasswordChangedAt: now.Add(-10 * day),
		Methods:         []twostep.Method{{ID: "m1", Kind: twostep.KindTOTP}},
		BackupCodesLeft: 8, HasPhone: true, EmailConfirmedAt: now.Add(-day), PhoneConfirmedAt: now.Add(-day), PhraseSet: true,
		Audit: []checkup.AuditFact{{ID: "evt_ok", Action: checkup.ActionSignIn, At: now.Add(-2 * day), IP: "192.0.2.1", After: map[string]any{"level": "full"}}},
	}
}

var cfg = checkup.Config{PasswordReminderAge: 180 * day, ContactFreshness: 180 * day, CriticalEvents: []string{"security.password_changed"}}

func statusOf(t *testing.T, r checkup.Report, id string) string {
	t.Helper()
	it := r.Item(id)
	if it == nil {
		t.Fatalf("no item %s", id)
	}
	return it.Status
}

func TestOverallIsTheWorstItem(t *testing.T) {
	cases := []struct {
		name   string
		change func(f *checkup.AccountFacts)
		status string
		item   string // the item that is not ok
	}{
		{"everything in order", func(f *checkup.AccountFacts) {}, checkup.Secure, ""},
		{"two-step off", func(f *checkup.AccountFacts) { f.Methods, f.BackupCodesLeft = nil, 0 }, checkup.AtRisk, "two_step"},
		{"an app only", func(f *checkup.AccountFacts) { f.BackupCodesLeft = 0 }, checkup.NeedsAttention, "backup_method"},
		{"an app and a passkey", func(f *checkup.AccountFacts) {
			f.BackupCodesLeft = 0
			f.Methods = append(f.Methods, twostep.Method{ID: "m2", Kind: twostep.KindPasskey})
		}, checkup.Secure, ""},
		{"text messages only, with backup codes", func(f *checkup.AccountFacts) {
			f.Methods = []twostep.Method{{ID: "m1", Kind: twostep.KindSMS, Phone: "p1"}}
		}, checkup.NeedsAttention, "two_step"},
		{"breached password", func(f *checkup.AccountFacts) { f.MustChangePassword = "breached" }, checkup.AtRisk, "password_breached"},
		{"old password", func(f *checkup.AccountFacts) { f.PasswordChangedAt = now.Add(-200 * day) }, checkup.NeedsAttention, "password_age"},
		{"stale email", func(f *checkup.AccountFacts) { f.EmailConfirmedAt = now.Add(-181 * day) }, checkup.NeedsAttention, "email_confirmed"},
		{"no phone", func(f *checkup.AccountFacts) { f.HasPhone, f.PhoneConfirmedAt = false, time.Time{} }, checkup.NeedsAttention, "mobile"},
		{"no phrase", func(f *checkup.AccountFacts) { f.PhraseSet = false }, checkup.NeedsAttention, "anti_phishing_phrase"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := secureFacts()
			c.change(&f)
			r := checkup.Evaluate(f, cfg, now)
			if r.Status != c.status {
				t.Fatalf("status %s, want %s (%v)", r.Status, c.status, r.Reasons())
			}
			if c.item != "" && !slices.Contains(r.Reasons(), c.item) {
				t.Fatalf("reasons %v lack %s", r.Reasons(), c.item)
			}
			for _, it := range r.Items {
				if it.Fix == nil || it.Fix.Page == "" || it.Title == "" || it.Explanation == "" {
					t.Errorf("item %s has no fix, title or explanation: %+v", it.ID, it)
				}
			}
		})
	}
}

func TestFailedEmailsAndNotifications(t *testing.T) {
	f := secureFacts()
	f.FailedEmails = 2
	r := checkup.Evaluate(f, cfg, now)
	if statusOf(t, r, "email_delivery") != checkup.Warning || statusOf(t, r, "notifications") != checkup.Warning {
		t.Fatalf("failing email: %v", r.Reasons())
	}
	f.SMSOn = map[string]bool{"security.password_changed": true} // a copy by text to a confirmed phone
	r = checkup.Evaluate(f, cfg, now)
	if statusOf(t, r, "notifications") != checkup.OK {
		t.Fatalf("critical events reach the phone: %v", r.Reasons())
	}
}

func burst(id, ip string, at time.Time) checkup.AuditFact {
	return checkup.AuditFact{ID: id, Action: "account.signin_failures_alerted", At: at, IP: ip, After: map[string]any{"last_from": ip}}
}

func TestBurstsFromNewAndKnownSources(t *testing.T) {
	f := secureFacts()
	f.Audit = append(f.Audit, burst("evt_b1", "198.51.100.9", now.Add(-day)))
	r := checkup.Evaluate(f, cfg, now)
	if r.Status != checkup.AtRisk || statusOf(t, r, "password_since_incident") != checkup.Problem || !r.Events[0].NewSource {
		t.Fatalf("burst from a new source: %s %v %+v", r.Status, r.Reasons(), r.Events)
	}
	// A password change after it ends the risk; the event still asks for review.
	f.PasswordChangedAt = now.Add(-12 * time.Hour)
	r = checkup.Evaluate(f, cfg, now)
	if r.Status != checkup.NeedsAttention || statusOf(t, r, "recent_events") != checkup.Warning {
		t.Fatalf("after a password change: %s %v", r.Status, r.Reasons())
	}
	// From a network the person signs in from: a warning only.
	f = secureFacts()
	f.Audit = append(f.Audit, burst("evt_b2", "192.0.2.1", now.Add(-day)))
	r = checkup.Evaluate(f, cfg, now)
	if r.Status != checkup.NeedsAttention || r.Events[0].NewSource {
		t.Fatalf("burst from a known source: %s %v", r.Status, r.Reasons())
	}
	// Acknowledged: nothing left.
	f.Acks = map[string]time.Time{"evt_b2": now}
	if r = checkup.Evaluate(f, cfg, now); r.Status != checkup.Secure || !r.Events[0].Acknowledged {
		t.Fatalf("acknowledged burst: %s %v", r.Status, r.Reasons())
	}
	// Older than 28 days: not listed.
	f = secureFacts()
	f.Audit = append(f.Audit, burst("evt_b3", "198.51.100.9", now.Add(-29*day)))
	if r = checkup.Evaluate(f, cfg, now); r.Status != checkup.Secure || len(r.Events) != 0 {
		t.Fatalf("old burst: %s %v", r.Status, r.Events)
	}
}

func TestActivityCountsPerDay(t *testing.T) {
	ev := []checkup.AuditFact{
		{Action: checkup.ActionSignIn, At: now.Add(-31 * day), After: map[string]any{"level": "full"}}, // too old
		{Action: checkup.ActionSignIn, At: now.Add(-2 * day), After: map[string]any{"level": "partial", "new_device": true}},
		{Action: checkup.ActionSignIn, At: now.Add(-2 * day), After: map[string]any{"second_step": "totp"}},
		{Action: checkup.ActionSignInFailed, At: now.Add(-2 * day)},
		{Action: checkup.ActionSignInFailed, At: now},
		{Action: checkup.ActionSignIn, At: now, After: map[string]any{"level": "full"}},
	}
	days := checkup.Activity(ev, now)
	if len(days) != checkup.ActivityDays || days[29].Date != "2026-03-01" || days[0].Date != "2026-01-31" {
		t.Fatalf("days %d from %s to %s", len(days), days[0].Date, days[len(days)-1].Date)
	}
	if d := days[27]; d != (checkup.Day{Date: "2026-02-27", Succeeded: 1, Failed: 1, NewBrowsers: 1}) {
		t.Fatalf("two days ago: %+v", d)
	}
	if d := days[29]; d.Succeeded != 1 || d.Failed != 1 || d.NewBrowsers != 0 {
		t.Fatalf("today: %+v", d)
	}
}

func TestMayActOn(t *testing.T) {
	all := func(l string) sellerguard.Permissions {
		p := sellerguard.Permissions{}
		for _, a := range sellerguard.Areas {
			p[a] = l
		}
		return p
	}
	manager := checkup.Actor{UserID: "usr_m", Levels: sellerguard.Permissions{sellerguard.AreaUserPermissions: "edit", sellerguard.AreaListings: "view"}.Full()}
	owner := checkup.Actor{UserID: "usr_o", Owner: true, Levels: all("edit")}
	cases := []struct {
		name  string
		actor checkup.Actor
		t     checkup.Target
		ok    bool
	}{
		{"owner on a member", owner, checkup.Target{UserID: "usr_x", Role: "member", Levels: all("edit")}, true},
		{"anyone on the owner", owner, checkup.Target{UserID: "usr_o2", Role: "owner"}, false},
		{"manager on the owner", manager, checkup.Target{UserID: "usr_o", Role: "owner"}, false},
		{"manager on themself", manager, checkup.Target{UserID: "usr_m", Role: "member", Levels: manager.Levels}, false},
		{"manager on less", manager, checkup.Target{UserID: "usr_x", Role: "member", Levels: sellerguard.Permissions{sellerguard.AreaListings: "view"}.Full()}, true},
		{"manager on more", manager, checkup.Target{UserID: "usr_x", Role: "member", Levels: sellerguard.Permissions{sellerguard.AreaListings: "edit"}.Full()}, false},
	}
	for _, c := range cases {
		err := checkup.MayActOn(c.actor, c.t)
		if (err == nil) != c.ok || (err != nil && sellerguard.ErrorCode(err) != sellerguard.ECodeForbidden) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestBusinessItems(t *testing.T) {
	f := checkup.BusinessFacts{BusinessID: "biz_1", Name: "B", CreatedAt: now.Add(-30 * day), RequireTwoStep: true, StrictPasswords: true, RequireBackupMethod: true,
		Members: []checkup.MemberFacts{
			{UserID: "usr_o", Email: "o@example.com", Role: "owner", Methods: []twostep.Method{{Kind: "totp"}}, BackupCodesLeft: 5},
			{UserID: "usr_a", Email: "a@example.com", Role: "member", Methods: []twostep.Method{{Kind: "totp"}}, BackupCodesLeft: 5},
		},
		Invitations:     []checkup.InvitationFacts{{ID: "inv_old", Email: "old@example.com", CreatedAt: now.Add(-8 * day)}, {ID: "inv_new", Email: "new@example.com", CreatedAt: now.Add(-day)}},
		DepositAccounts: []checkup.DepositFacts{{ID: "dep_1", Last4: "6789", CreatedAt: now.Add(-day), ActiveFrom: now.Add(2 * day)}},
	}
	r := checkup.EvaluateBusiness(f, cfg, now, func(time.Time, checkup.MemberFacts) (int, []string) { return 0, nil })
	if it := r.Item("invitations_pending"); it.Status != checkup.Warning || len(it.Members) != 1 || it.Members[0].Email != "old@example.com" {
		t.Fatalf("invitations: %+v", it)
	}
	if it := r.Item("deposit_change_pending"); it.Status != checkup.Warning {
		t.Fatalf("deposit in cooling-off: %+v", it)
	}
	if it := r.Item("access_review"); it.Status != checkup.OK || r.DaysSinceReview != nil {
		t.Fatalf("young business without a review: %+v", it)
	}
	f.Invitations, f.DepositAccounts = nil, nil
	if r = checkup.EvaluateBusiness(f, cfg, now, nil); r.Status != checkup.Secure {
		t.Fatalf("a business in order: %s %+v", r.Status, r.Items)
	}
}
