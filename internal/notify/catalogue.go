package notify

import (
	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/account"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/support"
	"github.com/sellerguard/sellerguard/internal/team"
)

// Channels a notification can go by.
const (
	Email = sellerguard.ChannelEmail
	SMS   = sellerguard.ChannelSMS
)

// Channels lists every channel, in the order settings show them.
var Channels = []string{Email, SMS}

// Event keys. The keys are stable: they are stored in users' settings and in
// the outbox, and clients of the API use them. Every event here is sent by
// something and every event sent is here (catalogue_test.go checks both by
// reading the source): the events the rule packages send keep their
// constants, the one this package sends (a failed delivery) is its own.
// An event leaves the catalogue with its last sender.
const (
	EventNewDevice               = session.EventNewDevice
	EventFailedSignins           = session.EventFailedSignins
	EventPasswordChanged         = session.EventPasswordChanged
	EventPasswordChangeForced    = session.EventPasswordChangeForced
	EventEmailChanged            = session.EventEmailChanged
	EventPhoneChanged            = session.EventPhoneChanged
	EventTwoStepChanged          = session.EventTwoStepChanged
	EventBackupCodeUsed          = session.EventBackupCodeUsed
	EventSecondStepFailed        = session.EventSecondStepFailed
	EventPhraseChanged           = session.EventPhraseChanged
	EventSessionsEndedByOther    = session.EventSessionsEndedByOther
	EventTwoStepReenrol          = team.EventTwoStepReenrolRequired
	EventSessionsEndedByBusiness = team.EventSessionsEndedByBusiness
	EventSecurityReminder        = team.EventSecurityReminder
	EventAccountRecovery         = account.EventAccountRecovery
	EventSignupAttempt           = session.EventSignupAttempt
	EventWelcome                 = session.EventWelcome
	EventPasswordReminder        = session.EventPasswordReminder
	EventContactCheck            = session.EventContactCheck
	EventMemberInvited           = session.EventMemberInvited
	EventMemberRemoved           = session.EventMemberRemoved
	EventMemberChanged           = session.EventMemberChanged
	EventPaymentChanged          = session.EventPaymentChanged
	EventStorefrontChanged       = session.EventStorefrontChanged
	EventListingsBulkChanged     = session.EventListingsBulk
	EventAccessReviewDue         = session.EventAccessReviewDue
	EventSecurityRules           = session.EventBusinessSecurityRules
	EventDeliveryFailed          = "delivery.failed"
	// Change review (internal/changes, issue 15).
	EventNotificationsChanged = "security.notifications_changed"
	EventListingsChanged      = "business.listings_changed"
	EventChangeUndone         = "business.change_undone"
	// Seller Support (internal/support, issue 14).
	EventSupportCaseOpened  = support.EventCaseOpened
	EventSupportCaseUpdated = support.EventCaseUpdated
	EventSupportAgentAction = support.EventAgentAction
)

// Groups of the catalogue, in the order settings show them.
const (
	GroupSecurity = "security"
	GroupAccount  = "account"
	GroupBusiness = "business"
	GroupDelivery = "delivery"
)

// GroupTitles names the groups for people.
var GroupTitles = map[string]string{
	GroupSecurity: "Sign-in and security",
	GroupAccount:  "Your account",
	GroupBusiness: "Your business",
	GroupDelivery: "Messages we could not deliver",
}

// Event is one kind of notification.
type Event struct {
	Key         string
	Group       string
	Title       string
	Description string
	// Critical events are security-critical: they always go by email, and
	// the email cannot be switched off (SMS copies stay the user's choice).
	Critical bool
	// Fixed events go on whichever channel still works and take no
	// settings at all (the notice that a message could not be delivered).
	Fixed bool
	// BusinessWide events are about a business, not one user: they go to
	// its owner and to its members who manage users (Router.DeliverBusiness).
	BusinessWide bool
	// Default channels, for a user who changed nothing.
	DefaultEmail bool
	DefaultSMS   bool
}

// TitleIn is the event's title in language l (notify.<event>.title in
// the message files; Title is the English).
func (e Event) TitleIn(l i18n.Lang) string { return textIn(l, "notify."+e.Key+".title", e.Title) }

// DescriptionIn is the event's description in language l.
func (e Event) DescriptionIn(l i18n.Lang) string {
	return textIn(l, "notify."+e.Key+".description", e.Description)
}

// GroupTitleIn names a group in language l.
func GroupTitleIn(l i18n.Lang, group string) string {
	return textIn(l, "notify.group."+group, GroupTitles[group])
}

func textIn(l i18n.Lang, key, english string) string {
	if l == i18n.English || !i18n.Default().Has(l, key) {
		return english
	}
	return i18n.Default().T(l, key)
}

// Locked reports whether the user cannot change the event's setting for a
// channel: the email of a critical event, and every channel of a fixed one.
func (e Event) Locked(channel string) bool {
	return e.Fixed || (channel == Email && e.Critical)
}

// Default returns the setting of a channel for a user who changed nothing.
func (e Event) Default(channel string) bool {
	if channel == Email {
		return e.DefaultEmail || e.Critical || e.Fixed
	}
	return e.DefaultSMS || e.Fixed
}

// catalogue is every event, in the order settings show them. Every event
// goes by email unless the user says otherwise; SMS copies are off unless
// the user turns them on (they go only to the number on the account).
var catalogue = emailByDefault([]Event{
	{Key: EventNewDevice, Group: GroupSecurity, Critical: true,
		Title:       "Sign-in from a new device or place",
		Description: "Someone signed in to your account from a browser or a place not seen before."},
	{Key: EventFailedSignins, Group: GroupSecurity, Critical: true,
		Title:       "Repeated failed sign-ins",
		Description: "Many wrong passwords in a row for your account; the email carries your unlock code."},
	{Key: EventPasswordChanged, Group: GroupSecurity, Critical: true,
		Title:       "Password changed",
		Description: "The password of your account was changed."},
	{Key: EventPasswordChangeForced, Group: GroupSecurity, Critical: true,
		Title:       "Password change required",
		Description: "You must choose a new password before you can go on."},
	{Key: EventEmailChanged, Group: GroupSecurity, Critical: true,
		Title:       "Email changed",
		Description: "The sign-in email of your account was changed, or the change was undone."},
	{Key: EventPhoneChanged, Group: GroupSecurity, Critical: true,
		Title:       "Mobile number changed",
		Description: "The mobile number of your account was changed or removed."},
	{Key: EventTwoStepChanged, Group: GroupSecurity, Critical: true,
		Title:       "Two-step methods added or removed, backup codes regenerated",
		Description: "An authenticator app, phone or passkey was added to or removed from your account, or new backup codes were made."},
	{Key: EventBackupCodeUsed, Group: GroupSecurity, Critical: true,
		Title:       "Backup code used",
		Description: "Someone signed in to your account with one of your backup codes."},
	// Critical: the password is known to whoever typed the codes; only the
	// owner can end that (a new password), so the email cannot be switched off.
	{Key: EventSecondStepFailed, Group: GroupSecurity, Critical: true,
		Title:       "Right password, wrong codes",
		Description: "Someone entered your password but then several wrong two-step codes."},
	{Key: EventPhraseChanged, Group: GroupSecurity, Critical: true,
		Title:       "Anti-phishing phrase changed",
		Description: "The phrase at the top of every email from SellerGuard was changed."},
	{Key: EventSessionsEndedByOther, Group: GroupSecurity, Critical: true,
		Title:       "Sessions ended from another session",
		Description: "Your other sessions were signed out from one of your sessions (\"sign out everywhere else\", or one session ended from the list)."},
	{Key: EventSessionsEndedByBusiness, Group: GroupSecurity, Critical: true,
		Title:       "Signed out by your business",
		Description: "An owner or user manager of your business ended all your sessions."},
	{Key: EventTwoStepReenrol, Group: GroupSecurity, Critical: true,
		Title:       "Two-step verification to set up again",
		Description: "An owner of your business removed your second-step methods: set up two-step verification again."},
	{Key: EventNotificationsChanged, Group: GroupSecurity, Critical: true,
		Title:       "Notification settings changed",
		Description: "Someone changed which notifications you (or a member of your business) get, or put them back; the owner is told too."},
	{Key: EventAccountRecovery, Group: GroupSecurity, Critical: true,
		Title:       "Account recovery",
		Description: "Someone entered a wrong password reset code for your account, or your password was reset with an emailed code (your mobile number on file gets a short text as well)."},
	{Key: EventSupportCaseOpened, Group: GroupSecurity, Critical: true,
		Title:       "Seller Support case opened",
		Description: "A Seller Support case was opened by you or about your account (with a way to say \"this wasn't me\")."},
	{Key: EventSupportCaseUpdated, Group: GroupSecurity, Critical: true,
		Title:       "Seller Support answered",
		Description: "An agent answered your Seller Support case or resolved it."},
	{Key: EventSupportAgentAction, Group: GroupSecurity, Critical: true,
		Title:       "Seller Support acted on your account",
		Description: "A support agent checked your identity, ended your sessions, locked sign-in, or asked for, approved or carried out a recovery action."},

	{Key: EventSignupAttempt, Group: GroupAccount,
		Title:       "Sign-up attempt with your email",
		Description: "Someone tried to create a new account with your email address; no account was made."},
	{Key: EventWelcome, Group: GroupAccount,
		Title:       "Welcome",
		Description: "Your account is ready, with first steps to protect it."},
	{Key: EventPasswordReminder, Group: GroupAccount,
		Title:       "Password age reminder",
		Description: "Your password is old: time to choose a new one."},
	{Key: EventSecurityReminder, Group: GroupAccount,
		Title:       "Security reminder from your business",
		Description: "An owner of your business asks you to check your account's security checkup."},
	{Key: EventContactCheck, Group: GroupAccount,
		Title:       "Are your email and mobile still yours?",
		Description: "You last confirmed your sign-in email or mobile number long ago: confirm them, or change them if they are no longer yours."},

	{Key: EventMemberInvited, Group: GroupBusiness, Critical: true, BusinessWide: true,
		Title:       "Member invited",
		Description: "Someone was invited to your business."},
	{Key: EventMemberRemoved, Group: GroupBusiness, Critical: true, BusinessWide: true,
		Title:       "Member removed",
		Description: "Someone was removed from your business."},
	{Key: EventMemberChanged, Group: GroupBusiness, Critical: true, BusinessWide: true,
		Title:       "Member changed",
		Description: "The role or access of a member of your business was changed."},
	{Key: EventPaymentChanged, Group: GroupBusiness, Critical: true, BusinessWide: true,
		Title:       "Payment information changed",
		Description: "The bank account or payout details of your business were changed."},
	{Key: EventStorefrontChanged, Group: GroupBusiness, BusinessWide: true,
		Title:       "Storefront changed",
		Description: "The name, address or look of your storefront was changed."},
	{Key: EventListingsBulkChanged, Group: GroupBusiness, BusinessWide: true,
		Title:       "Many listings changed at once",
		Description: "Many listings of your business were changed, added or removed in a short time."},
	{Key: EventListingsChanged, Group: GroupBusiness, BusinessWide: true,
		Title:       "Listings changed",
		Description: "Listings or their condition notes were changed: one message for the changes of a few minutes."},
	{Key: EventChangeUndone, Group: GroupBusiness, Critical: true, BusinessWide: true,
		Title:       "Change undone",
		Description: "A change to your business was undone from the change review."},
	{Key: EventAccessReviewDue, Group: GroupBusiness, BusinessWide: true,
		Title:       "Access review due",
		Description: "It is time to check who can reach your business and what they can do."},
	{Key: EventSecurityRules, Group: GroupBusiness, Critical: true, BusinessWide: true,
		Title:       "Security rules changed",
		Description: "The business's rules for two-step verification, passwords or access reviews were changed."},

	{Key: EventDeliveryFailed, Group: GroupDelivery, Fixed: true,
		Title:       "Failed delivery of a message",
		Description: "A message to you could not be delivered: you are told on your other channel. Always on."},
})

func emailByDefault(es []Event) []Event {
	for i := range es {
		es[i].DefaultEmail = true
	}
	return es
}

var byKey = func() map[string]Event {
	m := make(map[string]Event, len(catalogue))
	for _, e := range catalogue {
		if _, dup := m[e.Key]; dup || e.Key == "" {
			panic("notify: duplicate or empty event key " + e.Key)
		}
		m[e.Key] = e
	}
	return m
}()

// Catalogue returns every event, in the order settings show them.
func Catalogue() []Event {
	out := make([]Event, len(catalogue))
	copy(out, catalogue)
	return out
}

// Lookup returns the event with this key.
func Lookup(key string) (Event, bool) {
	e, ok := byKey[key]
	return e, ok
}
