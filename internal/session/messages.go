package session

import (
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/i18n"
)

// SafetyFooter ends every email SellerGuard sends.
const SafetyFooter = `--
SellerGuard will never ask you for your password or a code by email, phone or
chat, and no email from SellerGuard signs you in. If in doubt, do not click:
type the address of SellerGuard into your browser yourself.
To check that an email is really from us, open SellerGuard and choose
"Check an email".`

// Notification events (the catalogue is internal/notify).
const (
	EventSignupAttempt        = "account.signup_attempt"
	EventWelcome              = "account.welcome"
	EventFailedSignins        = "security.failed_signins"
	EventUnlockCode           = "" // a code the user asked for: always sent, no event
	EventBackupCodeUsed       = "security.backup_code_used"
	EventTwoStepChanged       = "security.two_step_changed"
	EventPasswordChanged      = "security.password_changed"
	EventPasswordReminder     = "account.password_reminder"
	EventPasswordChangeForced = "security.password_change_required"
	EventPhraseChanged        = "security.phishing_phrase_changed"
	EventEmailChanged         = "security.email_changed"
	EventPhoneChanged         = "security.phone_changed"
	EventNewDevice            = "security.new_device_signin"
	EventSessionsEndedByOther = "security.sessions_ended_by_other"
	EventContactCheck         = "account.contact_check"
	EventMemberInvited        = "business.member_invited"
	EventMemberRemoved        = "business.member_removed"
	EventMemberChanged        = "business.member_changed"
	EventPaymentChanged       = "business.payment_changed"
	EventStorefrontChanged    = "business.storefront_changed"
	EventListingsBulk         = "business.listings_bulk_changed"
	EventAccessReviewDue      = "business.access_review_due"
	// EventBusinessSecurityRules: a business's security rules (two-step
	// requirement, password rules, access-review rules) changed.
	EventBusinessSecurityRules = "business.security_rules_changed"
)

// withEvent tags a message with its notification event.
func withEvent(m sellerguard.OutboxMessage, event string) sellerguard.OutboxMessage {
	m.Event = event
	return m
}

// mailText is an email written from the message files: key+".subject"
// and key+".body", with their values, and the safety footer of the same
// language. Values are written for the reader (i18n.Values): a time.Time
// in UTC with the zone named, an i18n.Text (a nested message, permissions,
// a day) in the reader's language.
type mailText struct {
	key string
	kv  []any
}

// msgKey and msgT are values that are messages themselves (i18n.Key,
// i18n.Msg).
type (
	msgKey = i18n.Key
	msgT   = i18n.Msg
)

// dateText is a value that is a day, written for the reader ("2 January
// 2006", "2006年1月2日").
type dateText time.Time

// In implements i18n.Text.
func (d dateText) In(l i18n.Lang) string { return i18n.FormatDate(l, time.Time(d)) }

// permsText is a value that lists permissions, written in the reader's
// language ("payments: view, listings: edit").
type permsText sellerguard.Permissions

// In implements i18n.Text.
func (p permsText) In(l i18n.Lang) string {
	return describePermissionsIn(l, sellerguard.Permissions(p))
}

// Render implements sellerguard.Texts.
func (t mailText) Render(lang string) (subject, body string) {
	l := i18n.OrDefault(lang)
	c := i18n.Default()
	kv := i18n.Values(l, t.kv)
	return c.T(l, t.key+".subject", kv...), c.T(l, t.key+".body", kv...) + "\n\n" + c.T(l, "email.footer") + "\n"
}

// describePermissionsIn is describePermissions in language l.
func describePermissionsIn(l i18n.Lang, p sellerguard.Permissions) string {
	if l == i18n.English {
		return describePermissions(p)
	}
	c := i18n.Default()
	var parts []string
	for _, a := range sellerguard.Areas {
		if lv := p[a]; lv != "" && lv != sellerguard.LevelNone {
			parts = append(parts, c.T(l, "email.area."+a)+"："+c.T(l, "email.level."+lv))
		}
	}
	if len(parts) == 0 {
		return c.T(l, "email.level.none")
	}
	return strings.Join(parts, "，")
}

// tmail is an email from the message files (see mailText), with its
// English Subject and Body already written: the sender writes it again in
// the recipient's language (outbox.Localize).
func tmail(event, to, key string, kv ...any) sellerguard.OutboxMessage {
	m := sellerguard.OutboxMessage{Channel: sellerguard.ChannelEmail, To: to, Event: event, Texts: mailText{key: key, kv: kv}}
	m.Subject, m.Body = m.Texts.Render(string(i18n.English))
	return m
}

// signupCodeEmail goes to an address without an account yet: in the
// language of the sign-up request.
func signupCodeEmail(to, code, baseURL, lang string) sellerguard.OutboxMessage {
	m := tmail("", to, "email.signup_code", "Code", code, "BaseURL", baseURL)
	m.Lang = lang
	return m
}

func signupNoticeEmail(to string, meta RequestMeta, at time.Time, baseURL string) sellerguard.OutboxMessage {
	return tmail("", to, "email.signup_attempt", "When", at, "IP", meta.IP, "BaseURL", baseURL)
}

func welcomeEmail(to, business, baseURL string) sellerguard.OutboxMessage {
	return tmail("", to, "email.welcome", "Business", business, "BaseURL", baseURL)
}

func failedSignInsEmail(to string, failures int, meta RequestMeta, at time.Time, code string, locked bool, baseURL string) sellerguard.OutboxMessage {
	key := "email.failed_signins"
	if locked {
		key = "email.failed_signins_locked"
	}
	return tmail("", to, key, "Failures", failures, "When", at, "IP", meta.IP, "Code", code, "BaseURL", baseURL)
}

func unlockCodeEmail(to, code string, meta RequestMeta, at time.Time, baseURL string) sellerguard.OutboxMessage {
	return tmail("", to, "email.unlock_code", "Code", code, "When", at, "IP", meta.IP, "BaseURL", baseURL)
}

func backupCodeUsedEmail(to string, left int, meta RequestMeta, at time.Time, baseURL string) sellerguard.OutboxMessage {
	return tmail("", to, "email.backup_code_used", "Left", left, "When", at, "IP", meta.IP, "BaseURL", baseURL)
}

func twoStepChangedEmail(to, action, kind, label string, meta RequestMeta, at time.Time, baseURL string) sellerguard.OutboxMessage {
	what := map[string]string{
		"two_step.method_added":             "email.two_step_changed.added",
		"two_step.method_removed":           "email.two_step_changed.removed",
		"two_step.backup_codes_regenerated": "email.two_step_changed.backup_codes",
	}[action]
	return tmail("", to, "email.two_step_changed", "What", msgKey(what), "Label", label, "Kind", kind, "When", at, "IP", meta.IP, "BaseURL", baseURL)
}

// EventSecondStepFailed: the right password was entered for the account,
// followed by repeated wrong second-step codes. It is critical (its email
// cannot be switched off): whoever typed the codes holds the password, and
// the owner can only act on that if they hear of it.
const EventSecondStepFailed = "security.second_step_failed"
