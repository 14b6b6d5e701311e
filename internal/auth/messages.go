package auth

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
// language. A value of type time.Time is written for the reader's
// language (in UTC, the zone named); a value of type msgKey is itself a
// message, written in the reader's language.
type mailText struct {
	key string
	kv  []any
}

// msgKey is a value that is itself a message of the files.
type msgKey string

// msgT is a value that is itself a message of the files, with values of
// its own (rendered as mailText renders its values).
type msgT struct {
	key string
	kv  []any
}

// dateText is a value that is a day, written for the reader ("2 January
// 2006", "2006年1月2日").
type dateText time.Time

// permsText is a value that lists permissions, written in the reader's
// language ("payments: view, listings: edit").
type permsText sellerguard.Permissions

// Render implements sellerguard.Texts.
func (t mailText) Render(lang string) (subject, body string) {
	l := i18n.OrDefault(lang)
	c := i18n.Default()
	kv := renderValues(l, t.kv)
	return c.T(l, t.key+".subject", kv...), c.T(l, t.key+".body", kv...) + "\n\n" + c.T(l, "email.footer") + "\n"
}

// renderValues writes the values of a message for language l: times,
// nested messages and permission lists.
func renderValues(l i18n.Lang, in []any) []any {
	c := i18n.Default()
	kv := make([]any, len(in))
	copy(kv, in)
	for i := 1; i < len(kv); i += 2 {
		switch v := kv[i].(type) {
		case time.Time:
			kv[i] = i18n.FormatTime(l, v)
		case msgKey:
			kv[i] = c.T(l, string(v))
		case msgT:
			kv[i] = c.T(l, v.key, renderValues(l, v.kv)...)
		case permsText:
			kv[i] = describePermissionsIn(l, sellerguard.Permissions(v))
		case dateText:
			kv[i] = i18n.FormatDate(l, time.Time(v))
		case flaggedMembers:
			kv[i] = v.in(l)
		}
	}
	return kv
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
