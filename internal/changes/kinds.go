package changes

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sellerguard/sellerguard"
)

// The five categories of the guidance.
const (
	EmailPreferences   = "email_preferences"
	PaymentInformation = "payment_information"
	UserPermissions    = "user_permissions"
	Storefront         = "storefront"
	Listings           = "listings"
)

// Categories lists the categories in the order pages show them.
var Categories = []string{EmailPreferences, PaymentInformation, UserPermissions, Storefront, Listings}

// CategoryTitles names the categories for people.
var CategoryTitles = map[string]string{
	EmailPreferences:   "Email preferences",
	PaymentInformation: "Payment information",
	UserPermissions:    "User permissions",
	Storefront:         "Storefront details",
	Listings:           "Listings and condition notes",
}

// Actions of the undo events themselves.
const (
	ActionBusinessUndone = "business.change_undone"
	ActionAccountUndone  = "account.change_undone"
)

// How a kind of change is put back.
const (
	restoreNone         = ""
	restoreStorefront   = "storefront"
	restoreListing      = "listing"
	restoreBulk         = "listings"
	restoreMember       = "member"     // permissions back, or the member removed
	restoreInvitation   = "invitation" // withdrawn
	restoreDeposit      = "deposit"    // the new account removed
	restoreNotification = "notification"
)

// kind is one audited action as the change review sees it.
type kind struct {
	category  string
	userChain bool // recorded in the member's own chain, not the business's
	what      string
	restore   string
	// why the change cannot be undone here (restore == restoreNone).
	why string
}

// kinds is the one table from audited actions to the change review: which
// category each belongs to, and whether and how it is undone. An action
// not listed here is not a change of the five categories.
var kinds = map[string]kind{
	// email_preferences (members' own chains)
	"account.notifications_changed":   {category: EmailPreferences, userChain: true, what: "Notification settings changed", restore: restoreNotification},
	"account.email_changed":           {category: EmailPreferences, userChain: true, what: "Sign-in email changed", why: "An email change is undone with the code sent to the old address, or by changing the email again on the account page."},
	"account.email_change_reverted":   {category: EmailPreferences, userChain: true, what: "Sign-in email change undone", why: "Change the email on the account page."},
	"account.phone_changed":           {category: EmailPreferences, userChain: true, what: "Mobile number changed", why: "A mobile number needs a code sent to it: set it again on the account page."},
	"account.phishing_phrase_changed": {category: EmailPreferences, userChain: true, what: "Anti-phishing phrase changed", why: "Choose a new phrase on the account page: the old one may be known to whoever changed it."},
	ActionAccountUndone:               {category: EmailPreferences, userChain: true, what: "Undo", restore: restoreNotification},

	// payment_information
	"business.deposit_account_added":          {category: PaymentInformation, what: "Deposit account added", restore: restoreDeposit},
	"business.charge_method_changed":          {category: PaymentInformation, what: "Charge card changed", why: "Card numbers are not kept for undo: enter the right card again on the Data page."},
	"business.deposit_account_held":           {category: PaymentInformation, what: "Deposit account put on hold", why: "The member who added it undid a change of their sign-in email; they keep or remove it on Secure my account (or undo the addition itself)."},
	"business.deposit_account_hold_confirmed": {category: PaymentInformation, what: "Held deposit account kept", why: "Undo the addition of the account instead."},
	"business.deposit_account_hold_removed":   {category: PaymentInformation, what: "Held deposit account removed", why: "Add the account again on the Data page."},
	"business.deposit_account_cancelled":      {category: PaymentInformation, what: "New deposit account cancelled", why: "Add the account again on the Data page."},
	"business.invitation_withdrawn":           {category: UserPermissions, what: "Invitation withdrawn", why: "Invite the person again on the Team page."},
	"business.member_invited":                 {category: UserPermissions, what: "Member invited", restore: restoreInvitation},
	"business.invitation_declined":            {category: UserPermissions, what: "Invitation declined", why: "The invitee declined; invite them again if you wish."},
	"business.member_joined":                  {category: UserPermissions, what: "Member joined", restore: restoreMember},
	"business.member_permissions_changed":     {category: UserPermissions, what: "Member permissions changed", restore: restoreMember},
	"business.member_removed":                 {category: UserPermissions, what: "Member removed", why: "Joining needs the person's consent: invite them again on the Team page."},
	"business.member_suspended":               {category: UserPermissions, what: "Member suspended", why: "Keep or remove the member in the access review on the Team page."},
	"business.access_review_decision":         {category: UserPermissions, what: "Access review decision", why: "Decisions of a review are changed on the Team page."},
	"business.ownership_offered":              {category: UserPermissions, what: "Ownership offered", why: "Withdraw a pending offer on the Team page."},
	"business.ownership_offer_withdrawn":      {category: UserPermissions, what: "Ownership offer withdrawn", why: "Offer it again on the Team page."},
	"business.ownership_offer_declined":       {category: UserPermissions, what: "Ownership offer declined", why: "Offer it again on the Team page."},
	"business.ownership_transferred":          {category: UserPermissions, what: "Ownership transferred", why: "Only the new owner can transfer ownership back."},
	"business.two_step_requirement_changed":   {category: UserPermissions, what: "Two-step rule of the business changed", why: "Change the rule on the Team page."},
	"business.password_rules_changed":         {category: UserPermissions, what: "Password rules of the business changed", why: "Change the rules on the Team page."},

	// storefront
	"business.storefront_changed": {category: Storefront, what: "Storefront details changed", restore: restoreStorefront},

	// listings
	"business.listing_created":       {category: Listings, what: "Listing created", restore: restoreListing},
	"business.listing_changed":       {category: Listings, what: "Listing changed", restore: restoreListing},
	"business.listings_bulk_changed": {category: Listings, what: "Listings changed at once", restore: restoreBulk},

	ActionBusinessUndone: {what: "Undo"}, // category and restore follow the target
}

// kindOf returns how the change review sees an event, with the category
// and restore of an undo event taken from its target.
func kindOf(action, targetType string) (kind, bool) {
	k, ok := kinds[action]
	if !ok {
		return k, false
	}
	if action == ActionBusinessUndone {
		switch targetType {
		case "storefront":
			k.category, k.restore = Storefront, restoreStorefront
		case "listing":
			k.category, k.restore = Listings, restoreListing
		case "listings":
			k.category, k.restore = Listings, restoreBulk
		case "user":
			k.category, k.restore = UserPermissions, restoreMember
		case "invitation":
			k.category, k.why = UserPermissions, "Invite the person again on the Team page."
		case "deposit_account":
			k.category, k.why = PaymentInformation, "The removed account's number is not kept: add it again on the Data page."
		default:
			return k, false
		}
	}
	return k, true
}

// actionsOf lists the actions of categories (all when empty), split into
// business-chain and user-chain actions, sorted.
func actionsOf(categories ...string) (business, user []string) {
	want := map[string]bool{}
	for _, c := range categories {
		want[c] = true
	}
	for a, k := range kinds {
		if a == ActionBusinessUndone {
			if len(want) == 0 || want[Storefront] || want[Listings] || want[UserPermissions] || want[PaymentInformation] {
				business = append(business, a)
			}
			continue
		}
		if len(want) > 0 && !want[k.category] {
			continue
		}
		if k.userChain {
			user = append(user, a)
		} else {
			business = append(business, a)
		}
	}
	sort.Strings(business)
	sort.Strings(user)
	return business, user
}

// allActions lists every action of the table: what can supersede a change.
func allActions() []string {
	b, u := actionsOf()
	return append(b, u...)
}

// areaOf is the area whose edit level an undo of a category needs.
func areaOf(category string) string {
	switch category {
	case PaymentInformation:
		return sellerguard.AreaPayments
	case Storefront:
		return sellerguard.AreaStorefront
	case Listings:
		return sellerguard.AreaListings
	}
	return sellerguard.AreaUserPermissions
}

// summarise says in one line what changed.
func summarise(k kind, action string, before, after map[string]any) string {
	s := k.what
	if action == ActionBusinessUndone || action == ActionAccountUndone {
		return "Undo of an earlier change (" + strings.ReplaceAll(k.category, "_", " ") + ")"
	}
	var fields []string
	for f, v := range after {
		if f == "undoes" {
			continue
		}
		if fmt.Sprint(before[f]) != fmt.Sprint(v) {
			fields = append(fields, f)
		}
	}
	sort.Strings(fields)
	switch {
	case action == "account.notifications_changed":
		s += ": " + fmt.Sprint(after["event"])
	case action == "business.deposit_account_added":
		s += ": " + fmt.Sprint(after["deposit_account"])
	case action == "business.member_invited":
		s += ": " + fmt.Sprint(after["email"])
	case len(fields) > 0 && len(fields) <= 4:
		s += ": " + strings.Join(fields, ", ")
	}
	return s
}
