package session

import (
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
)

// TwoStepConfig holds the two-step tunables.
type TwoStepConfig struct {
	ReauthWindow        time.Duration // how recent a sign-in sensitive actions need (default 10 min)
	TrustedBrowserFor   time.Duration // "don't ask again on this browser" (default 30 days, at most 90)
	PartialSessionTTL   time.Duration // time to finish the second step (default 10 min)
	MaxSecondStepErrors int           // wrong codes per sign-in attempt (default 5)
}

var (
	errSecondStepRequired = sellerguard.Errorf(sellerguard.ECodeSecondStepRequired, "Finish signing in with your second step first.")
	errEnrollmentRequired = sellerguard.Errorf(sellerguard.ECodeEnrollmentRequired, "Your business requires two-step verification. Set it up in your account security to continue.")
	errReauthRequired     = sellerguard.Errorf(sellerguard.ECodeReauthRequired, "For this change, confirm it's you: enter your password (and your second step) again.")
	errNoSuchMethod       = sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such two-step method.")
	errWrongSecondStep    = sellerguard.Errorf(sellerguard.ECodeInvalidCode, "That code is not right. Check your authenticator app, text message or backup codes and try again.")
)

// RequireFull refuses a partial (password-only) session.
func (p *Principal) RequireFull() error {
	if p.Session.AuthLevel != sellerguard.AuthFull {
		return errSecondStepRequired
	}
	return nil
}

// NeedsEnrollment reports whether a business the user belongs to requires
// two-step verification that the user has not set up.
func (p *Principal) NeedsEnrollment() bool {
	if p.TwoStep.Enrolled {
		return false
	}
	if p.ReenrolTwoStep {
		return true
	}
	for _, m := range p.Memberships {
		if m.RequireTwoStep {
			return true
		}
	}
	return false
}

// RequireBusinessAccess is the gate of every route to business data: a full
// session, and two-step verification where the business requires it.
func (p *Principal) RequireBusinessAccess() error {
	if err := p.RequireFull(); err != nil {
		return err
	}
	if p.NeedsEnrollment() {
		return errEnrollmentRequired
	}
	return nil
}

// RequireRecentAuth refuses a session whose last sign-in or
// re-authentication is older than the window.
func (s *Service) RequireRecentAuth(p *Principal) error {
	if err := p.RequireFull(); err != nil {
		return err
	}
	if s.Now().Sub(p.Session.ReauthAt) > s.TwoStep.ReauthWindow {
		return errReauthRequired
	}
	return nil
}

// SMSConfig holds the caps that stop SMS pumping: codes sent per number,
// per account and per source address within an hour.
type SMSConfig struct {
	Available     bool // a gateway (or local mode) can deliver texts
	PerNumberHour int
	PerUserHour   int
	PerSourceHour int
}

// PasswordConfig holds the password tunables beyond the policy's own.
type PasswordConfig struct {
	History     int           // previous passwords that may not be reused (default 5)
	ReminderAge time.Duration // remind users of passwords this old (0 = never)
}

// Reasons a user must change their password before anything else.
const (
	MustChangeBreached = "breached" // found breached at sign-in (index or range API)
	MustChangeSupport  = "support"  // flagged by support
	MustChangeExpired  = "expired"  // older than a business's maximum age
)

var errPasswordChangeRequired = sellerguard.Errorf(sellerguard.ECodePasswordChangeRequired, "Change your password before you continue.")

// RequireNoPendingPasswordChange refuses a session whose user must change
// their password first.
func (p *Principal) RequireNoPendingPasswordChange() error {
	if p.MustChangePassword != "" {
		return errPasswordChangeRequired
	}
	return nil
}

var errNoBusiness = sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such business.")

// ErrNoBusiness is the answer about a business the caller is not a member
// of (the same as for one that does not exist).
var ErrNoBusiness = errNoBusiness

// Level returns the caller's level in an area of a business: the owner has
// edit everywhere, a member what they were given, anyone else none.
func (p *Principal) Level(businessID, area string) string {
	for _, m := range p.Memberships {
		if m.BusinessID != businessID {
			continue
		}
		if m.Role == sellerguard.RoleOwner {
			return sellerguard.LevelEdit
		}
		if l := m.Permissions[area]; l != "" {
			return l
		}
		return sellerguard.LevelNone
	}
	return sellerguard.LevelNone
}

// RequireArea is the one permission check of business routes: a business
// the caller does not belong to is not found (exactly like one that does not
// exist); a level too low is forbidden.
func (p *Principal) RequireArea(businessID, area, level string) error {
	if err := p.RequireBusinessAccess(); err != nil {
		return err
	}
	member := false
	for _, m := range p.Memberships {
		member = member || m.BusinessID == businessID
	}
	if !member {
		return errNoBusiness
	}
	if sellerguard.LevelRank(p.Level(businessID, area)) < sellerguard.LevelRank(level) {
		return sellerguard.Errorf(sellerguard.ECodeForbidden, "You need %s access to %s in this business.", level, strings.ReplaceAll(area, "_", " "))
	}
	if p.uses != nil && p.now != nil {
		p.uses.Record(businessID, p.User.ID, area, level, p.now())
	}
	return nil
}

// MustChangeBusiness is the reason a user must change their password when an
// owner or user manager of their business asked for it.
const MustChangeBusiness = "business"

// NeedsBackupMethod reports whether a business of the user requires a
// backup method and the user has two-step verification with no backup
// (a single method and no backup codes).
func (p *Principal) NeedsBackupMethod() bool {
	if !p.TwoStep.Enrolled || p.TwoStep.Full {
		return false
	}
	for _, m := range p.Memberships {
		if m.RequireBackupMethod {
			return true
		}
	}
	return false
}

var errBackupMethodRequired = sellerguard.Errorf(sellerguard.ECodeBackupMethodRequired,
	"This business requires a backup for your second step before you change payment information. Make backup codes or add a second method in your two-step settings.")

// RequireBackupMethodFor refuses a change of payment information while the
// business requires a backup method that the user does not have.
func (p *Principal) RequireBackupMethodFor(businessID string) error {
	if p.TwoStep.Full {
		return nil
	}
	for _, m := range p.Memberships {
		if m.BusinessID == businessID && m.RequireBackupMethod {
			return errBackupMethodRequired
		}
	}
	return nil
}

// TwoStepBlocked lists the names of the user's businesses that require
// two-step verification the user has not set up: their data stays closed
// until the user has a second step.
func (p *Principal) TwoStepBlocked() []string {
	if p.TwoStep.Enrolled {
		return nil
	}
	var out []string
	for _, m := range p.Memberships {
		if m.RequireTwoStep || p.ReenrolTwoStep {
			out = append(out, m.BusinessName)
		}
	}
	return out
}
