package auth

import (
	"fmt"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
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

// eventEmail is email for a notification event.
func eventEmail(event, to, subject string, lines ...string) sellerguard.OutboxMessage {
	return withEvent(email(to, subject, lines...), event)
}

func email(to, subject string, lines ...string) sellerguard.OutboxMessage {
	return sellerguard.OutboxMessage{
		Channel: sellerguard.ChannelEmail,
		To:      to,
		Subject: subject,
		Body:    strings.Join(lines, "\n") + "\n\n" + SafetyFooter + "\n",
	}
}

func signupCodeEmail(to, code, baseURL string) sellerguard.OutboxMessage {
	return email(to, "Your SellerGuard verification code",
		"Welcome to SellerGuard.",
		"",
		"Your verification code is: "+code,
		"",
		"Enter it on the SellerGuard page where you signed up. It is valid for 10 minutes.",
		"Do not share it with anyone: SellerGuard staff will never ask for it.",
		"",
		"If you did not sign up, ignore this email: without the code, nothing happens.",
		"SellerGuard: "+baseURL,
	)
}

func signupNoticeEmail(to string, meta RequestMeta, at time.Time, baseURL string) sellerguard.OutboxMessage {
	return email(to, "Someone tried to sign up with your email address",
		"Someone tried to create a new SellerGuard account with this email address,",
		"which already has an account. No new account was created.",
		"",
		fmt.Sprintf("When: %s", at.Format(time.RFC1123)),
		fmt.Sprintf("From network address: %s", meta.IP),
		"",
		"If it was you, sign in to your existing account instead. If you forgot your",
		"password, type the address of SellerGuard into your browser and choose",
		"\"Can't sign in?\".",
		"SellerGuard: "+baseURL,
	)
}

func welcomeEmail(to, business, baseURL string) sellerguard.OutboxMessage {
	return email(to, "Your SellerGuard account is ready",
		"Your account for "+business+" is ready, and you are its owner.",
		"",
		"Next steps to keep your business safe:",
		"  1. Set up two-step verification.",
		"  2. Give each of your staff their own login instead of sharing yours.",
		"  3. Review your notification settings.",
		"",
		"SellerGuard: "+baseURL,
	)
}

func failedSignInsEmail(to string, failures int, meta RequestMeta, at time.Time, code string, locked bool, baseURL string) sellerguard.OutboxMessage {
	subject := "Repeated failed sign-ins to your SellerGuard account"
	state := "Further attempts from other browsers are slowed down. Your own browser, where you\nsigned in before, is not affected."
	if locked {
		subject = "Your SellerGuard account is locked after repeated failed sign-ins"
		state = "Sign-ins from browsers that never signed in to your account now need an unlock code."
	}
	return email(to, subject,
		fmt.Sprintf("There were %d failed attempts to sign in to your account in a row.", failures),
		"",
		fmt.Sprintf("Latest attempt: %s", at.Format(time.RFC1123)),
		fmt.Sprintf("From network address: %s", meta.IP),
		"",
		state,
		"",
		"If this was you and you cannot get in, type the address of SellerGuard into",
		"your browser, sign in with your password and enter this unlock code:",
		"",
		"    Unlock code: "+code,
		"",
		"It is valid for one hour. If it was not you, your password held: nobody got in.",
		"Consider changing your password anyway, and make sure two-step verification is on.",
		"SellerGuard: "+baseURL,
	)
}

func unlockCodeEmail(to, code string, meta RequestMeta, at time.Time, baseURL string) sellerguard.OutboxMessage {
	return email(to, "Your SellerGuard unlock code",
		"Someone asked for an unlock code for your account.",
		fmt.Sprintf("When: %s, from network address %s.", at.Format(time.RFC1123), meta.IP),
		"",
		"    Unlock code: "+code,
		"",
		"Enter it with your password on the SellerGuard sign-in page (type the address",
		"yourself). It is valid for one hour. If you did not ask for it, ignore this email.",
		"SellerGuard: "+baseURL,
	)
}

func backupCodeUsedEmail(to string, left int, meta RequestMeta, at time.Time, baseURL string) sellerguard.OutboxMessage {
	return email(to, "A backup code was used to sign in to your SellerGuard account",
		"Someone signed in to your account with one of your backup codes.",
		fmt.Sprintf("When: %s, from network address %s.", at.Format(time.RFC1123), meta.IP),
		fmt.Sprintf("Backup codes left: %d.", left),
		"",
		"If it was you because you lost your phone, set up your authenticator app again",
		"and make new backup codes in your account security.",
		"If it was not you, change your password at once and end your other sessions.",
		"SellerGuard: "+baseURL,
	)
}

func twoStepChangedEmail(to, action, kind, label string, meta RequestMeta, at time.Time, baseURL string) sellerguard.OutboxMessage {
	what := map[string]string{
		"two_step.method_added":             "A two-step verification method was added to your account",
		"two_step.method_removed":           "A two-step verification method was removed from your account",
		"two_step.backup_codes_regenerated": "New backup codes were made for your account; the old ones no longer work",
	}[action]
	return email(to, what,
		what+".",
		fmt.Sprintf("Method: %s (%s)", label, kind),
		fmt.Sprintf("When: %s, from network address %s.", at.Format(time.RFC1123), meta.IP),
		"",
		"If this was not you, someone may have your password: change it at once, end",
		"your other sessions, and review your two-step methods.",
		"SellerGuard: "+baseURL,
	)
}
