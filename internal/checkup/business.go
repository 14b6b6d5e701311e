package checkup

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// MemberFacts is what the business checkup knows of one member.
type MemberFacts struct {
	UserID          string
	Email           string
	Role            string
	Status          string
	JoinedAt        time.Time
	LastSignInAt    time.Time
	Permissions     sellerguard.Permissions
	EditSince       map[string]time.Time
	EditedAt        map[string]time.Time // last edit per area
	Methods         []twostep.Method
	BackupCodesLeft int
}

// InvitationFacts is a pending invitation.
type InvitationFacts struct {
	ID        string
	Email     string
	CreatedAt time.Time
}

// DepositFacts is a deposit account of the business.
type DepositFacts struct {
	ID         string
	Last4      string
	CreatedAt  time.Time
	ActiveFrom time.Time
}

// BusinessFacts is what the business checkup knows of one business.
type BusinessFacts struct {
	BusinessID          string
	Name                string
	CreatedAt           time.Time
	RequireTwoStep      bool
	StrictPasswords     bool
	RequireBackupMethod bool
	ReviewIntervalDays  int // 0: the default interval
	LastCompletedReview time.Time
	Members             []MemberFacts
	Invitations         []InvitationFacts
	DepositAccounts     []DepositFacts
}

// BusinessReport is a business's checkup.
type BusinessReport struct {
	BusinessID string    `json:"business_id"`
	Name       string    `json:"name"`
	Status     string    `json:"status"`
	CheckedAt  time.Time `json:"checked_at"`
	Items      []Item    `json:"items"`
	// DaysSinceReview is the days since the last completed access review
	// (nil when there never was one); ReviewIntervalDays the interval.
	DaysSinceReview    *int `json:"days_since_review"`
	ReviewIntervalDays int  `json:"review_interval_days"`
}

// Item returns the item with the id (nil when there is none).
func (r BusinessReport) Item(id string) *Item {
	for i := range r.Items {
		if r.Items[i].ID == id {
			return &r.Items[i]
		}
	}
	return nil
}

// Viewer is who asks for a business checkup (session.Principal).
type Viewer interface {
	RequireArea(businessID, area, level string) error
}

// Business runs a business's checkup for the owner or a user manager:
// others who belong to it get 403, everyone else 404.
func (s *Service) Business(ctx context.Context, v Viewer, businessID string) (BusinessReport, error) {
	if err := v.RequireArea(businessID, sellerguard.AreaUserPermissions, sellerguard.LevelEdit); err != nil {
		return BusinessReport{}, err
	}
	now := s.Now().UTC()
	f, err := s.Store.CheckupBusinessFacts(ctx, businessID, now)
	if err != nil {
		return BusinessReport{}, err
	}
	return EvaluateBusiness(f, s.Config, now, s.ReviewFlags), nil
}

func sortNotes(ns []MemberNote) []MemberNote {
	sort.Slice(ns, func(i, j int) bool { return ns[i].Email < ns[j].Email })
	return ns
}

// EvaluateBusiness computes a business's checkup from the facts at now.
func EvaluateBusiness(f BusinessFacts, cfg Config, now time.Time, flags func(time.Time, MemberFacts) (int, []string)) BusinessReport {
	b := url.PathEscape(f.BusinessID)
	q := "?business_id=" + url.QueryEscape(f.BusinessID)
	rep := BusinessReport{BusinessID: f.BusinessID, Name: f.Name, CheckedAt: now, Items: []Item{}}
	teamPage := "/account/team" + q
	remind := func(label string) *Fix {
		return &Fix{Label: label, Page: "/account/business/checkup" + q, Method: "POST", Route: "/api/v1/businesses/" + b + "/members/{user_id}/remind"}
	}
	var noTwoStep, noBackup []MemberNote
	idle := map[int][]MemberNote{}
	var unused []MemberNote
	for _, m := range f.Members {
		p := twostep.Assess(m.Methods, m.BackupCodesLeft)
		note := MemberNote{UserID: m.UserID, Email: m.Email}
		switch {
		case !p.Enrolled:
			note.Detail = "no two-step verification"
			noTwoStep = append(noTwoStep, note)
		case !p.Full:
			note.Detail = "one second-step method and no backup codes"
			noBackup = append(noBackup, note)
		}
		if m.Role == sellerguard.RoleOwner || flags == nil {
			continue
		}
		days, areas := flags(now, m)
		if days > 0 {
			n := MemberNote{UserID: m.UserID, Email: m.Email, Detail: "last sign-in: never"}
			if !m.LastSignInAt.IsZero() {
				n.Detail = "last sign-in " + m.LastSignInAt.UTC().Format("2006-01-02")
			}
			idle[days] = append(idle[days], n)
		}
		if len(areas) > 0 {
			unused = append(unused, MemberNote{UserID: m.UserID, Email: m.Email, Detail: "edit rights unused for 90 days: " + strings.Join(areas, ", ")})
		}
	}
	listItem := func(id, group string, notes []MemberNote, okTitle, badTitle, expl string, fix *Fix) {
		it := Item{ID: id, Group: group, Status: OK, Title: okTitle, Explanation: expl, Fix: fix, Members: []MemberNote{}}
		if len(notes) > 0 {
			it.Status, it.Title, it.Members = Warning, fmt.Sprintf(badTitle, len(notes)), sortNotes(notes)
		}
		rep.Items = append(rep.Items, it)
	}
	listItem("members_without_two_step", "two_step", noTwoStep, "Everyone uses two-step verification", "%d member(s) without two-step verification",
		"Members without a second step can be signed in as with a password alone. Remind them, or require two-step verification of everyone.", remind("Remind the member"))
	listItem("members_without_backup", "two_step", noBackup, "Everyone has a backup for their second step", "%d member(s) without a backup method",
		"A member with one second-step method is locked out when they lose it. Remind them to make backup codes or add a second method.", remind("Remind the member"))
	reviewFix := &Fix{Label: "Start an access review", Page: "/account/team/review" + q, Method: "POST", Route: "/api/v1/businesses/" + b + "/access-reviews"}
	for _, d := range []int{30, 60, 90} {
		upper := ""
		if d < 90 {
			upper = fmt.Sprintf(" (less than %d)", d+30)
		}
		listItem(fmt.Sprintf("no_sign_in_%d", d), "access", idle[d], fmt.Sprintf("No member idle for %d days%s", d, upper),
			"%d member(s) with no sign-in for "+fmt.Sprint(d)+" days"+upper,
			"Members who no longer sign in keep their access until you remove it. Review who still needs access.", reviewFix)
	}
	listItem("edit_unused_90", "access", unused, "Edit rights are in use", "%d member(s) with edit rights unused for 90 days",
		"Rights nobody uses are only useful to whoever steals the login. Reduce them on the team page.",
		&Fix{Label: "Open the team page", Page: teamPage, Method: "PATCH", Route: "/api/v1/businesses/" + b + "/members/{user_id}"})

	var old []MemberNote
	for _, inv := range f.Invitations {
		if now.Sub(inv.CreatedAt) >= pendingInvite {
			old = append(old, MemberNote{Email: inv.Email, Detail: "invited " + inv.CreatedAt.UTC().Format("2006-01-02") + " (invitation " + inv.ID + ")"})
		}
	}
	listItem("invitations_pending", "access", old, "No invitation pending for more than a week", "%d invitation(s) pending for more than a week",
		"An invitation nobody accepted should be withdrawn: whoever controls that address could still accept it.",
		&Fix{Label: "Withdraw it on the team page", Page: teamPage, Method: "DELETE", Route: "/api/v1/businesses/" + b + "/invitations/{id}"})

	interval := cfg.ReviewInterval
	if interval <= 0 {
		interval = DefaultReview
	}
	if f.ReviewIntervalDays > 0 {
		interval = time.Duration(f.ReviewIntervalDays) * day
	}
	rep.ReviewIntervalDays = int(interval / day)
	rev := Item{ID: "access_review", Group: "access", Fix: reviewFix}
	since := f.LastCompletedReview
	if !since.IsZero() {
		d := int(now.Sub(since) / day)
		rep.DaysSinceReview = &d
	}
	switch {
	case since.IsZero() && now.Sub(f.CreatedAt) > interval:
		rev.Status, rev.Title = Warning, "No access review completed yet"
		rev.Explanation = fmt.Sprintf("Review who has access at least every %d days.", rep.ReviewIntervalDays)
	case since.IsZero():
		rev.Status, rev.Title = OK, "First access review not due yet"
		rev.Explanation = fmt.Sprintf("The first review is due %d days after the business was created.", rep.ReviewIntervalDays)
	case now.Sub(since) > interval:
		rev.Status, rev.Title = Warning, "Access review overdue"
		rev.Explanation = fmt.Sprintf("The last access review was completed %d days ago; the interval is %d days.", *rep.DaysSinceReview, rep.ReviewIntervalDays)
	default:
		rev.Status, rev.Title = OK, "Access reviewed recently"
		rev.Explanation = fmt.Sprintf("The last access review was completed %d days ago; the interval is %d days.", *rep.DaysSinceReview, rep.ReviewIntervalDays)
	}
	rep.Items = append(rep.Items, rev)

	dep := Item{ID: "deposit_change_pending", Group: "payments", Status: OK, Title: "No deposit account change waiting",
		Explanation: "Payouts go to the deposit account you have been using.",
		Fix:         &Fix{Label: "Open payment information", Page: "/account/business" + q, Method: "GET", Route: "/api/v1/businesses/" + b + "/payments"}}
	for _, a := range f.DepositAccounts {
		if a.ActiveFrom.After(now) {
			dep.Status, dep.Title = Warning, "A new deposit account is in its cooling-off period"
			dep.Explanation = fmt.Sprintf("The account ending %s was added on %s and receives payouts from %s. If nobody in your business added it, change your passwords and check the audit log now.",
				a.Last4, a.CreatedAt.UTC().Format("2006-01-02"), a.ActiveFrom.UTC().Format("2006-01-02 15:04 UTC"))
		}
	}
	rep.Items = append(rep.Items, dep)

	rule := func(id string, on bool, title, offExpl, method, route string) {
		it := Item{ID: id, Group: "rules", Status: OK, Title: title + ": on", Explanation: "The business requires it of every member.",
			Fix: &Fix{Label: "Change the business's rules", Page: teamPage, Method: method, Route: "/api/v1/businesses/" + b + route}}
		if !on {
			it.Status, it.Title, it.Explanation = Warning, title+": off", offExpl
		}
		rep.Items = append(rep.Items, it)
	}
	rule("rule_two_step", f.RequireTwoStep, "Two-step verification required",
		"Members may reach the business's data with a password alone. Require two-step verification.", "PUT", "/two-step")
	rule("rule_strict_passwords", f.StrictPasswords, "Strict passwords",
		"Members' passwords are held to the standard rules only. Turn on strict passwords.", "PUT", "/password-rules")
	rule("rule_backup_method", f.RequireBackupMethod, "Backup method required",
		"Members with a single second-step method may change payment information. Require a backup method.", "PUT", "/backup-method-rule")
	rep.Status = Overall(rep.Items)
	return rep
}

// Actor is who acts on a member's security.
type Actor struct {
	UserID string
	Owner  bool
	Levels sellerguard.Permissions // the caller's level in every area
}

// Target is the member acted on.
type Target struct {
	UserID string
	Role   string
	Levels sellerguard.Permissions
}

// MayActOn is the rule of owner actions on a member's security: the caller
// manages users (checked before, by RequireArea), and the member is not
// the owner, not the caller, and holds no more than the caller in any area.
func MayActOn(a Actor, t Target) error {
	if t.Role == sellerguard.RoleOwner {
		return sellerguard.Errorf(sellerguard.ECodeForbidden, "The owner's security is theirs to manage; nobody in the business can act on it.")
	}
	if t.UserID == a.UserID {
		return sellerguard.Errorf(sellerguard.ECodeForbidden, "Use your own account settings for your own security.")
	}
	if a.Owner {
		return nil
	}
	for _, area := range sellerguard.Areas {
		if sellerguard.LevelRank(t.Levels[area]) > sellerguard.LevelRank(a.Levels[area]) {
			return sellerguard.Errorf(sellerguard.ECodeForbidden, "This member holds more than you in %s; only the owner can act on their security.", area)
		}
	}
	return nil
}
