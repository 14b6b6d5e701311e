package checkup

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// Item statuses.
const (
	OK      = "ok"
	Warning = "warning"
	Problem = "problem"
)

// Overall statuses.
const (
	Secure         = "secure"
	NeedsAttention = "needs_attention"
	AtRisk         = "at_risk"
)

// Windows of the checkup.
const (
	EventWindow    = 28 * 24 * time.Hour // recent security events
	ActivityDays   = 30                  // days of the sign-in chart
	day            = 24 * time.Hour
	pendingInvite  = 7 * day
	DefaultFresh   = 180 * day
	DefaultReview  = 90 * day
	HistoryEntries = 20
)

// Audit actions the checkup reads. SignInFailed is written by internal/session
// for every wrong password of an existing account.
const (
	ActionSignIn       = "session.created"
	ActionSignInFailed = "session.signin_failed"
)

// Fix is what fixes an item: a page for people and, where there is one, the
// API route for programs.
type Fix struct {
	Label  string `json:"label"`
	Page   string `json:"page"`
	Method string `json:"method,omitempty"`
	Route  string `json:"route,omitempty"`
}

// Item is one line of a checkup.
type Item struct {
	ID          string `json:"id"`
	Group       string `json:"group"`
	Status      string `json:"status"`
	Title       string `json:"title"`
	Explanation string `json:"explanation"`
	Fix         *Fix   `json:"fix"`
	// Members are the members an item of a business checkup is about.
	Members []MemberNote `json:"members,omitempty"`
}

// MemberNote names a member in a business checkup item.
type MemberNote struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Detail string `json:"detail"`
}

// AuditFact is one of the person's audit events, as the checkup needs it.
type AuditFact struct {
	ID        string
	Action    string
	At        time.Time
	IP        string
	UserAgent string
	After     map[string]any
}

// AccountFacts is what the checkup knows of one person.
type AccountFacts struct {
	UserID             string
	Email              string
	CreatedAt          time.Time
	PasswordChangedAt  time.Time
	MustChangePassword string // "breached" when the index knew the password at the last sign-in
	Methods            []twostep.Method
	BackupCodesLeft    int
	HasPhone           bool
	EmailConfirmedAt   time.Time
	PhoneConfirmedAt   time.Time
	PhraseSet          bool
	// FailedEmails counts emails to the person that failed after the last
	// one delivered (0: the newest email went through, or none was sent).
	FailedEmails int
	// SMSOn lists the events whose SMS copy the person turned on.
	SMSOn map[string]bool
	// Audit holds the person's audit events of the last ActivityDays days,
	// oldest first; Acks the events acknowledged with "This was me".
	Audit []AuditFact
	Acks  map[string]time.Time
}

// Config holds the checkup's tunables.
type Config struct {
	PasswordReminderAge time.Duration // 0: passwords do not age
	ContactFreshness    time.Duration // how recently email and mobile must be confirmed (default 180 days)
	ReviewInterval      time.Duration // default access-review interval (default 90 days)
	// CriticalEvents are the notification events that must reach a working
	// address (internal/notify's critical events).
	CriticalEvents []string
}

func (c Config) freshness() time.Duration {
	if c.ContactFreshness > 0 {
		return c.ContactFreshness
	}
	return DefaultFresh
}

// SecurityEvent is one recent event the person should recognise.
type SecurityEvent struct {
	ID             string     `json:"id"`
	Kind           string     `json:"kind"`
	Title          string     `json:"title"`
	At             time.Time  `json:"at"`
	IP             string     `json:"ip"`
	UserAgent      string     `json:"user_agent"`
	NewSource      bool       `json:"new_source"`
	Acknowledged   bool       `json:"acknowledged"`
	AcknowledgedAt *time.Time `json:"acknowledged_at"`
	// NeedsReview: not acknowledged, and of a kind that counts against the
	// overall status (new-browser sign-ins, failed-sign-in bursts).
	NeedsReview bool `json:"needs_review"`
}

// Security event kinds.
const (
	KindNewBrowser    = "new_browser_sign_in"
	KindPassword      = "password_changed"
	KindContact       = "contact_changed"
	KindTwoStep       = "two_step_changed"
	KindFailedBurst   = "failed_sign_in_burst"
	KindBusinessForce = "changed_by_business"
)

var eventKinds = map[string]struct{ kind, title string }{
	"account.password_changed":                      {KindPassword, "Password changed"},
	"account.email_changed":                         {KindContact, "Sign-in email changed"},
	"account.email_change_reverted":                 {KindContact, "Sign-in email change undone"},
	"account.phone_changed":                         {KindContact, "Mobile number changed"},
	"two_step.method_added":                         {KindTwoStep, "Two-step method added"},
	"two_step.method_removed":                       {KindTwoStep, "Two-step method removed"},
	"two_step.backup_codes_regenerated":             {KindTwoStep, "New backup codes made"},
	"two_step.backup_code_used":                     {KindTwoStep, "Backup code used to sign in"},
	"account.signin_failures_alerted":               {KindFailedBurst, "Many wrong passwords in a row"},
	"account.locked":                                {KindFailedBurst, "Account locked after wrong passwords"},
	"account.second_step_failures_alerted":          {KindFailedBurst, "Right password, then wrong two-step codes"},
	"business.member_sessions_ended":                {KindBusinessForce, "Signed out everywhere by your business"},
	"business.member_password_change_required":      {KindBusinessForce, "New password required by your business"},
	"business.member_two_step_reenrolment_required": {KindBusinessForce, "New two-step enrolment required by your business"},
}

// EventActions lists the audit actions the checkup reads, for the store.
func EventActions() []string {
	out := []string{ActionSignIn, ActionSignInFailed}
	for a := range eventKinds {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// Day is one day of the sign-in chart.
type Day struct {
	Date        string `json:"date"` // YYYY-MM-DD, UTC
	Succeeded   int    `json:"succeeded"`
	Failed      int    `json:"failed"`
	NewBrowsers int    `json:"new_browsers"`
}

// Report is a person's checkup.
type Report struct {
	Status    string          `json:"status"`
	CheckedAt time.Time       `json:"checked_at"`
	Items     []Item          `json:"items"`
	Events    []SecurityEvent `json:"events"`
	Activity  []Day           `json:"sign_in_activity"`
}

// Reasons lists the ids of the items that are not ok.
func (r Report) Reasons() []string {
	var out []string
	for _, it := range r.Items {
		if it.Status != OK {
			out = append(out, it.ID)
		}
	}
	return out
}

// Item returns the item with the id (nil when there is none).
func (r Report) Item(id string) *Item {
	for i := range r.Items {
		if r.Items[i].ID == id {
			return &r.Items[i]
		}
	}
	return nil
}

// Overall applies the documented rule: the worst item.
func Overall(items []Item) string {
	worst := Secure
	for _, it := range items {
		switch it.Status {
		case Problem:
			return AtRisk
		case Warning:
			worst = NeedsAttention
		}
	}
	return worst
}

func afterString(m map[string]any, k string) string {
	if v, ok := m[k].(string); ok {
		return v
	}
	return ""
}

func afterBool(m map[string]any, k string) bool {
	v, ok := m[k].(bool)
	return ok && v
}

// successfulSignIn says whether a session.created event is a finished
// sign-in (not the password step of one that still owes its second step).
func successfulSignIn(e AuditFact) bool {
	if e.Action != ActionSignIn {
		return false
	}
	return afterString(e.After, "level") == sellerguard.AuthFull || afterString(e.After, "second_step") != ""
}

// burstSource is where a failed-sign-in burst came from.
func burstSource(e AuditFact) string {
	if s := afterString(e.After, "last_from"); s != "" {
		return s
	}
	return e.IP
}

// Evaluate computes a person's checkup from the facts at now.
func Evaluate(f AccountFacts, cfg Config, now time.Time) Report {
	rep := Report{CheckedAt: now.UTC(), Items: []Item{}, Events: []SecurityEvent{}}
	knownIPs := map[string]bool{}
	for _, e := range f.Audit {
		if successfulSignIn(e) && e.IP != "" {
			knownIPs[e.IP] = true
		}
	}
	// Recent security events, newest first.
	var incident time.Time // newest unacknowledged burst from a new source
	unackedBrowsers, unackedKnownBursts, unackedNewBursts := 0, 0, 0
	for i := len(f.Audit) - 1; i >= 0; i-- {
		e := f.Audit[i]
		if now.Sub(e.At) > EventWindow {
			continue
		}
		ev := SecurityEvent{ID: e.ID, At: e.At.UTC(), IP: e.IP, UserAgent: e.UserAgent}
		switch k, ok := eventKinds[e.Action]; {
		case e.Action == ActionSignIn && afterBool(e.After, "new_device"):
			ev.Kind, ev.Title = KindNewBrowser, "Sign-in from a new browser or network"
			ev.NewSource = true // by definition: not seen before
		case ok:
			ev.Kind, ev.Title = k.kind, k.title
		default:
			continue
		}
		if at, ok := f.Acks[e.ID]; ok {
			at := at.UTC()
			ev.Acknowledged, ev.AcknowledgedAt = true, &at
		}
		switch ev.Kind {
		case KindNewBrowser:
			ev.NeedsReview = !ev.Acknowledged
			if ev.NeedsReview {
				unackedBrowsers++
			}
		case KindFailedBurst:
			src := burstSource(e)
			ev.IP = src
			ev.NewSource = !knownIPs[src]
			ev.NeedsReview = !ev.Acknowledged
			switch {
			case ev.Acknowledged:
			case ev.NewSource:
				unackedNewBursts++
				if e.At.After(f.PasswordChangedAt) && e.At.After(incident) {
					incident = e.At
				}
			default:
				unackedKnownBursts++
			}
		}
		rep.Events = append(rep.Events, ev)
	}

	prot := twostep.Assess(f.Methods, f.BackupCodesLeft)
	phoneOnly := prot.Enrolled
	for _, m := range f.Methods {
		if m.Kind == twostep.KindTOTP || m.Kind == twostep.KindPasskey {
			phoneOnly = false
		}
	}
	twoStepFix := &Fix{Label: "Open two-step settings", Page: "/account/two-step", Method: "POST", Route: "/api/v1/two-step/totp"}
	add := func(it Item) { rep.Items = append(rep.Items, it) }

	// 1. Two-step verification.
	switch {
	case !prot.Enrolled:
		add(Item{ID: "two_step", Group: "two_step", Status: Problem, Title: "Two-step verification is off",
			Explanation: "Anyone who learns your password can sign in. Add an authenticator app, a passkey or a phone.", Fix: twoStepFix})
	case phoneOnly:
		add(Item{ID: "two_step", Group: "two_step", Status: Warning, Title: "Text messages are your only second step",
			Explanation: "Text messages can be diverted to another SIM card. Add an authenticator app or a passkey as well.", Fix: twoStepFix})
	default:
		add(Item{ID: "two_step", Group: "two_step", Status: OK, Title: "Two-step verification is on",
			Explanation: "Signing in needs your password and a second step.", Fix: twoStepFix})
	}
	backupFix := &Fix{Label: "Make backup codes", Page: "/account/two-step", Method: "POST", Route: "/api/v1/two-step/backup-codes"}
	switch {
	case prot.Full:
		expl := "You have a second independent method"
		if f.BackupCodesLeft > 0 {
			expl = fmt.Sprintf("You have %d backup code(s) left", f.BackupCodesLeft)
		}
		add(Item{ID: "backup_method", Group: "recovery", Status: OK, Title: "You can still sign in if you lose your phone",
			Explanation: expl + ": losing one method does not lock you out.", Fix: backupFix})
	default:
		add(Item{ID: "backup_method", Group: "recovery", Status: Warning, Title: "No backup for your second step",
			Explanation: "If you lose the device you sign in with, you are locked out. Make backup codes, or add a second method of another kind (an app, a passkey or another phone).", Fix: backupFix})
	}

	// 2. Password.
	pwFix := &Fix{Label: "Change your password", Page: "/account/password", Method: "POST", Route: "/api/v1/account/password"}
	if f.MustChangePassword == "breached" {
		add(Item{ID: "password_breached", Group: "password", Status: Problem, Title: "Your password is known to attackers",
			Explanation: "When it was last checked, your password was in the list of passwords from public data breaches. Choose a new one that you use nowhere else.", Fix: pwFix})
	} else {
		add(Item{ID: "password_breached", Group: "password", Status: OK, Title: "Password not found in public breaches",
			Explanation: "When it was last checked, your password was not in the list of breached passwords.", Fix: pwFix})
	}
	age := now.Sub(f.PasswordChangedAt)
	if cfg.PasswordReminderAge > 0 && age >= cfg.PasswordReminderAge {
		add(Item{ID: "password_age", Group: "password", Status: Warning, Title: "Your password is old",
			Explanation: fmt.Sprintf("Your password is %d days old; we suggest a new one every %d days.", int(age/day), int(cfg.PasswordReminderAge/day)), Fix: pwFix})
	} else {
		add(Item{ID: "password_age", Group: "password", Status: OK, Title: "Password changed recently enough",
			Explanation: fmt.Sprintf("Your password is %d days old.", int(age/day)), Fix: pwFix})
	}
	if !incident.IsZero() {
		add(Item{ID: "password_since_incident", Group: "password", Status: Problem, Title: "Password not changed since someone tried to guess it",
			Explanation: fmt.Sprintf("On %s someone tried many wrong passwords from a network you have not signed in from. Change your password, or mark the event \"This was me\" if it was you.", incident.UTC().Format("2006-01-02")), Fix: pwFix})
	} else {
		add(Item{ID: "password_since_incident", Group: "password", Status: OK, Title: "No unexplained guessing of your password",
			Explanation: "There was no burst of wrong passwords from an unknown network since your password last changed.", Fix: pwFix})
	}

	// 3. Contact details.
	fresh := cfg.freshness()
	confirmFix := &Fix{Label: "Confirm your email", Page: "/account", Method: "POST", Route: "/api/v1/account/contact/confirm"}
	switch {
	case f.EmailConfirmedAt.IsZero() || now.Sub(f.EmailConfirmedAt) > fresh:
		add(Item{ID: "email_confirmed", Group: "contact", Status: Warning, Title: "Is your sign-in email still yours?",
			Explanation: fmt.Sprintf("You have not confirmed your sign-in email in the last %d days. Confirm it, or change it if you no longer use it.", int(fresh/day)), Fix: confirmFix})
	default:
		add(Item{ID: "email_confirmed", Group: "contact", Status: OK, Title: "Sign-in email confirmed",
			Explanation: "You confirmed your sign-in email on " + f.EmailConfirmedAt.UTC().Format("2006-01-02") + ".", Fix: &Fix{Label: "Change your email", Page: "/account/email", Method: "POST", Route: "/api/v1/account/email"}})
	}
	phoneFix := &Fix{Label: "Add your mobile number", Page: "/account/phone", Method: "POST", Route: "/api/v1/account/phone"}
	switch {
	case !f.HasPhone:
		add(Item{ID: "mobile", Group: "contact", Status: Warning, Title: "No mobile number",
			Explanation: "A confirmed mobile number lets us reach you when email does not, and helps you recover your account.", Fix: phoneFix})
	case f.PhoneConfirmedAt.IsZero() || now.Sub(f.PhoneConfirmedAt) > fresh:
		add(Item{ID: "mobile", Group: "contact", Status: Warning, Title: "Is your mobile number still yours?",
			Explanation: fmt.Sprintf("You have not confirmed your mobile number in the last %d days.", int(fresh/day)),
			Fix:         &Fix{Label: "Confirm your mobile number", Page: "/account", Method: "POST", Route: "/api/v1/account/contact/confirm"}})
	default:
		add(Item{ID: "mobile", Group: "contact", Status: OK, Title: "Mobile number confirmed",
			Explanation: "You confirmed your mobile number on " + f.PhoneConfirmedAt.UTC().Format("2006-01-02") + ".", Fix: phoneFix})
	}

	// 5. Phishing and notifications.
	phraseFix := &Fix{Label: "Choose an anti-phishing phrase", Page: "/account/phrase", Method: "PUT", Route: "/api/v1/account/anti-phishing-phrase"}
	if f.PhraseSet {
		add(Item{ID: "anti_phishing_phrase", Group: "phishing", Status: OK, Title: "Anti-phishing phrase set",
			Explanation: "Every email from us starts with your phrase; an email without it is not from us.", Fix: phraseFix})
	} else {
		add(Item{ID: "anti_phishing_phrase", Group: "phishing", Status: Warning, Title: "No anti-phishing phrase",
			Explanation: "Choose a phrase that every email from us will start with, so you can tell our emails from fakes.", Fix: phraseFix})
	}
	failedFix := &Fix{Label: "See what could not be delivered", Page: "/account/notifications#failed", Method: "GET", Route: "/api/v1/notifications/failed-deliveries"}
	emailWorks := f.FailedEmails == 0
	if emailWorks {
		add(Item{ID: "email_delivery", Group: "phishing", Status: OK, Title: "Our emails reach you",
			Explanation: "The last emails we sent you were delivered (or are on their way).", Fix: failedFix})
	} else {
		add(Item{ID: "email_delivery", Group: "phishing", Status: Warning, Title: "Our emails do not reach you",
			Explanation: fmt.Sprintf("%d email(s) to you failed since the last one that was delivered. Check your address or change it.", f.FailedEmails), Fix: failedFix})
	}
	phoneWorks := f.HasPhone && !f.PhoneConfirmedAt.IsZero()
	var unreached []string
	for _, ev := range cfg.CriticalEvents {
		if !emailWorks && !(f.SMSOn[ev] && phoneWorks) {
			unreached = append(unreached, ev)
		}
	}
	notifyFix := &Fix{Label: "Open notification settings", Page: "/account/notifications", Method: "GET", Route: "/api/v1/notifications"}
	if len(unreached) == 0 {
		add(Item{ID: "notifications", Group: "notifications", Status: OK, Title: "Security alerts reach you",
			Explanation: "Every security-critical notification goes to at least one address that works.", Fix: notifyFix})
	} else {
		add(Item{ID: "notifications", Group: "notifications", Status: Warning, Title: "Some security alerts cannot reach you",
			Explanation: fmt.Sprintf("%d security-critical notification(s) go only to an address that does not work now. Fix your email, or turn on text-message copies with a confirmed mobile number.", len(unreached)), Fix: notifyFix})
	}

	// Recent events.
	evFix := &Fix{Label: "Review the events below", Page: "/account/checkup#events", Method: "POST", Route: "/api/v1/account/checkup/events/{event_id}/ack"}
	switch {
	case !incident.IsZero():
		add(Item{ID: "recent_events", Group: "events", Status: Problem, Title: "Someone may be trying to get into your account",
			Explanation: "Many wrong passwords came from a network you have never signed in from. If it was not you, change your password and sign out other sessions.", Fix: pwFix})
	case unackedNewBursts+unackedKnownBursts+unackedBrowsers > 0:
		add(Item{ID: "recent_events", Group: "events", Status: Warning, Title: "Recent events to check",
			Explanation: fmt.Sprintf("%d sign-in(s) from a new browser and %d burst(s) of wrong passwords in the last 28 days are waiting for you to say whether they were you.", unackedBrowsers, unackedNewBursts+unackedKnownBursts), Fix: evFix})
	default:
		add(Item{ID: "recent_events", Group: "events", Status: OK, Title: "No unexplained security events",
			Explanation: "Nothing in the last 28 days is waiting for your review.", Fix: evFix})
	}

	rep.Activity = Activity(f.Audit, now)
	rep.Status = Overall(rep.Items)
	return rep
}

// Activity counts sign-ins per UTC day for the last ActivityDays days,
// oldest first: finished sign-ins, wrong passwords, and sign-ins from a new
// browser or network.
func Activity(events []AuditFact, now time.Time) []Day {
	today := now.UTC().Truncate(day)
	first := today.Add(-(ActivityDays - 1) * day)
	days := make([]Day, ActivityDays)
	for i := range days {
		days[i].Date = first.Add(time.Duration(i) * day).Format("2006-01-02")
	}
	for _, e := range events {
		at := e.At.UTC()
		if at.Before(first) || !at.Before(today.Add(day)) {
			continue
		}
		i := int(at.Sub(first) / day)
		switch {
		case e.Action == ActionSignInFailed:
			days[i].Failed++
		case e.Action == ActionSignIn:
			if successfulSignIn(e) {
				days[i].Succeeded++
			}
			if afterBool(e.After, "new_device") {
				days[i].NewBrowsers++
			}
		}
	}
	return days
}

// StatusChange is one entry of a person's status history.
type StatusChange struct {
	Status  string    `json:"status"`
	Reasons []string  `json:"reasons"`
	At      time.Time `json:"at"`
}

// Store is what the checkup reads and writes (internal/store implements it).
type Store interface {
	CheckupAccountFacts(ctx context.Context, userID string, since time.Time) (AccountFacts, error)
	// AckCheckupEvent records "This was me" for one of the user's events
	// (the first time stays); found is false when the user has no such
	// event among actions.
	AckCheckupEvent(ctx context.Context, userID, eventID string, actions []string, at time.Time) (ackedAt time.Time, found bool, err error)
	// RecordCheckupStatus stores the status when it differs from the
	// user's newest stored one.
	RecordCheckupStatus(ctx context.Context, userID string, c StatusChange) error
	CheckupStatusHistory(ctx context.Context, userID string, limit int) ([]StatusChange, error)
	CheckupBusinessFacts(ctx context.Context, businessID string, now time.Time) (BusinessFacts, error)
}

// Service runs checkups.
type Service struct {
	Store  Store
	Config Config
	Now    func() time.Time
	// ReviewFlags applies the access review's flags to a member
	// (internal/team's rules: days without sign-in, unused edit rights).
	ReviewFlags func(now time.Time, m MemberFacts) (idleDays int, unusedEdit []string)
}

// Account runs the person's checkup, records a change of their overall
// status, and returns the report with the recent history (newest first).
func (s *Service) Account(ctx context.Context, userID string) (Report, []StatusChange, error) {
	now := s.Now().UTC()
	f, err := s.Store.CheckupAccountFacts(ctx, userID, now.Add(-ActivityDays*day))
	if err != nil {
		return Report{}, nil, err
	}
	rep := Evaluate(f, s.Config, now)
	if err := s.Store.RecordCheckupStatus(ctx, userID, StatusChange{Status: rep.Status, Reasons: rep.Reasons(), At: now}); err != nil {
		return Report{}, nil, err
	}
	hist, err := s.Store.CheckupStatusHistory(ctx, userID, HistoryEntries)
	if err != nil {
		return Report{}, nil, err
	}
	return rep, hist, nil
}

var eventIDRE = regexp.MustCompile(`^evt_[a-z2-7]{1,60}$`)

// Acknowledge records "This was me" for one of the person's recent
// security events.
func (s *Service) Acknowledge(ctx context.Context, userID, eventID string) (time.Time, error) {
	if !eventIDRE.MatchString(eventID) {
		return time.Time{}, sellerguard.Invalid(sellerguard.FieldError{Field: "event_id", Code: "invalid", Message: "That is not an event id (evt_ followed by letters and digits)."})
	}
	var actions []string
	actions = append(actions, ActionSignIn)
	for a := range eventKinds {
		actions = append(actions, a)
	}
	sort.Strings(actions)
	at, found, err := s.Store.AckCheckupEvent(ctx, userID, eventID, actions, s.Now().UTC())
	if err != nil {
		return time.Time{}, err
	}
	if !found {
		return time.Time{}, sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such security event on your account.")
	}
	return at, nil
}

// Summary is the short form of a checkup for the account home page.
type Summary struct {
	Status  string
	ToFix   []Item
	Checked time.Time
}

// Summarise picks the items to fix, problems first.
func Summarise(r Report) Summary {
	s := Summary{Status: r.Status, Checked: r.CheckedAt}
	for _, st := range []string{Problem, Warning} {
		for _, it := range r.Items {
			if it.Status == st {
				s.ToFix = append(s.ToFix, it)
			}
		}
	}
	return s
}

// StatusLabel says an overall status in words.
func StatusLabel(status string) string {
	switch status {
	case Secure:
		return "Secure"
	case NeedsAttention:
		return "Needs attention"
	case AtRisk:
		return "At risk"
	}
	return strings.ReplaceAll(status, "_", " ")
}
