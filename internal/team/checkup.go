package team

import (
	"context"
	"errors"
	"regexp"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/checkup"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// The security checkup's parts that change state or need the session: the
// business rule "a backup method is required", and the actions of an owner
// (or user manager) on a member's security. The rules of who may act on
// whom live in internal/checkup (MayActOn); each action commits with its
// audit event, the member's notice and the revocation of their cached
// sessions.

// Notification events of the checkup (internal/notify's catalogue lists them).
const (
	EventTwoStepReenrolRequired  = "security.two_step_reenrolment_required"
	EventSessionsEndedByBusiness = "security.sessions_ended_by_business"
	EventSecurityReminder        = "account.security_reminder"
)

// SetBusinessBackupMethodRule turns the rule "a backup method is required" on
// or off (the owner, with a recent sign-in; audited; the owner and user
// managers are told).
func (s *Service) SetBusinessBackupMethodRule(ctx context.Context, p *Principal, businessID string, required bool, meta RequestMeta) error {
	if err := p.RequireFull(); err != nil {
		return err
	}
	if err := p.RequireOwner(businessID, "change the business's security rules"); err != nil {
		return err
	}
	if err := s.RequireRecentAuth(p); err != nil {
		return err
	}
	now := s.now()
	var before bool
	for _, m := range p.Memberships {
		if m.BusinessID == businessID {
			before = m.RequireBackupMethod
		}
	}
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetBusinessBackupMethodRule(ctx, businessID, required); err != nil {
			return err
		}
		return s.businessRuleChanged(ctx, tx, now, p, meta, businessID, "business.backup_method_rule_changed",
			map[string]any{"required": before}, map[string]any{"required": required}, true,
			"email.rule_backup", "Actor", p.User.Email, "Rule", requiresOrNot("email.rule_backup", required))
	})
	return s.afterBusinessRuleChanged(err, true)
}

// CheckupReviewFlags applies the access review's flags (reviewFlags) to a
// member of a business checkup: the days without sign-in (30, 60, 90 or 0)
// and the areas whose edit right went unused for 90 days.
func CheckupReviewFlags(now time.Time, m checkup.MemberFacts) (int, []string) {
	uses := map[string]store.AreaUse{}
	for area, t := range m.EditedAt {
		uses[area] = store.AreaUse{EditedAt: t}
	}
	flags, unused := reviewFlags(now, m.JoinedAt, m.LastSignInAt, m.Permissions, m.EditSince, uses)
	days := 0
	for _, f := range flags {
		switch f {
		case FlagNoSignIn30:
			days = 30
		case FlagNoSignIn60:
			days = 60
		case FlagNoSignIn90:
			days = 90
		}
	}
	return days, unused
}

// Member security actions.
const (
	MemberEndSessions           = "end-sessions"
	MemberRequirePasswordChange = "require-password-change"
	MemberRequireTwoStepReenrol = "require-two-step-reenrolment"
	MemberRemind                = "remind"
)

// MemberActionResult says what an action did.
type MemberActionResult struct {
	Action          string
	UserID          string
	SessionsEnded   int
	MethodsRemoved  int
	ReminderMissing []string // what the reminder asked the member to fix
}

var userIDRE = regexp.MustCompile(`^usr_[a-z2-7]{1,60}$`)

// ActOnMember applies one action to a member's security: end their
// sessions, require a new password or a new two-step enrolment at their
// next sign-in, or remind them of what their security lacks. The caller
// manages the business's users; the member is not the owner, not the
// caller and holds no more than the caller (checkup.MayActOn). All but the
// reminder need a recent sign-in. Each action commits with its audit event
// in the business's log and the member's email; their cached sessions are
// revoked at once on every instance.
func (s *Service) ActOnMember(ctx context.Context, p *Principal, businessID, userID, action string, meta RequestMeta) (MemberActionResult, error) {
	res := MemberActionResult{Action: action, UserID: userID}
	if err := p.RequireArea(businessID, sellerguard.AreaUserPermissions, sellerguard.LevelEdit); err != nil {
		return res, err
	}
	if action != MemberRemind {
		if err := s.RequireRecentAuth(p); err != nil {
			return res, err
		}
	}
	if !userIDRE.MatchString(userID) {
		return res, sellerguard.Invalid(sellerguard.FieldError{Field: "user_id", Code: "invalid", Message: "That is not a user id (usr_ followed by letters and digits)."})
	}
	var bizName string
	for _, m := range p.Memberships {
		if m.BusinessID == businessID {
			bizName = m.BusinessName
		}
	}
	actor := checkup.Actor{UserID: p.User.ID, Owner: p.Owns(businessID), Levels: sellerguard.Permissions{}}
	for _, a := range sellerguard.Areas {
		actor.Levels[a] = p.Level(businessID, a)
	}
	now := s.now()
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		target, err := tx.FindMember(ctx, businessID, userID)
		if errors.Is(err, store.ErrNotFound) {
			return sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such member of this business.")
		}
		if err != nil {
			return err
		}
		if err := checkup.MayActOn(actor, checkup.Target{UserID: target.UserID, Role: target.Role, Levels: target.Levels()}); err != nil {
			return err
		}
		var auditAction string
		after := map[string]any{}
		var msg sellerguard.OutboxMessage
		by := msgT{Key: "email.member_action.by", KV: []any{"Actor", p.User.Email, "Business", bizName}}
		switch action {
		case MemberEndSessions:
			ids, err := tx.DeleteOtherSessions(ctx, userID, "")
			if err != nil {
				return err
			}
			res.SessionsEnded = len(ids)
			auditAction, after["sessions_ended"] = "business.member_sessions_ended", len(ids)
			msg = tmail(EventSessionsEndedByBusiness, target.Email, "email.member_signed_out", "By", by, "BaseURL", s.Config.BaseURL)
		case MemberRequirePasswordChange:
			if err := tx.SetMustChangePassword(ctx, userID, MustChangeBusiness); err != nil {
				return err
			}
			auditAction, after["reason"] = "business.member_password_change_required", MustChangeBusiness
			msg = tmail(EventPasswordChangeForced, target.Email, "email.member_password_change", "By", by, "BaseURL", s.Config.BaseURL)
		case MemberRequireTwoStepReenrol:
			n, err := tx.DeleteAllMethods(ctx, userID)
			if err != nil {
				return err
			}
			if _, err := tx.DeleteAllTrustedBrowsers(ctx, userID); err != nil {
				return err
			}
			if err := tx.SetTwoStepReenrolment(ctx, userID, now); err != nil {
				return err
			}
			ids, err := tx.DeleteOtherSessions(ctx, userID, "")
			if err != nil {
				return err
			}
			res.MethodsRemoved, res.SessionsEnded = int(n), len(ids)
			auditAction = "business.member_two_step_reenrolment_required"
			after["methods_removed"], after["sessions_ended"] = n, len(ids)
			msg = tmail(EventTwoStepReenrolRequired, target.Email, "email.member_two_step_again", "By", by, "BaseURL", s.Config.BaseURL)
		case MemberRemind:
			ms, left, err := tx.SecondStepProtection(ctx, userID)
			if err != nil {
				return err
			}
			prot := twostep.Assess(ms, left)
			switch {
			case !prot.Enrolled:
				res.ReminderMissing = append(res.ReminderMissing, "two_step")
			case !prot.Full:
				res.ReminderMissing = append(res.ReminderMissing, "backup_method")
			}
			auditAction, after["missing"] = "business.member_reminded", res.ReminderMissing
			var missing any = ""
			if len(res.ReminderMissing) > 0 {
				// At most one: no second step, or no backup for it.
				missing = msgT{Key: "email.security_reminder.lacks", KV: []any{"What", msgKey("email.security_reminder.missing." + res.ReminderMissing[0])}}
			}
			msg = tmail(EventSecurityReminder, target.Email, "email.security_reminder", "By", by, "Missing", missing, "BaseURL", s.Config.BaseURL)
		default:
			return sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such action.")
		}
		msg.UserID = userID
		if err := s.teamEvent(ctx, tx, now, p, meta, businessID, auditAction, "user", userID, nil, after); err != nil {
			return err
		}
		if err := s.sendEmail(ctx, tx, now, msg); err != nil {
			return err
		}
		return s.Cache.Revoke(ctx, tx, userID)
	})
	if err != nil {
		return res, err
	}
	return res, nil
}
