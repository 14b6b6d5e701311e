package team

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/store"
)

// ReviewConfig holds the access-review rules of the instance.
type ReviewConfig struct {
	// Interval is how often a business with members gets a review, unless
	// the business chose its own (default 90 days).
	Interval time.Duration
	// RemindEvery is how often an open review is brought up again (default
	// 7 days).
	RemindEvery time.Duration
}

func (c ReviewConfig) interval(days int) time.Duration {
	if days > 0 {
		return time.Duration(days) * 24 * time.Hour
	}
	if c.Interval > 0 {
		return c.Interval
	}
	return 90 * 24 * time.Hour
}

func (c ReviewConfig) remindEvery() time.Duration {
	if c.RemindEvery > 0 {
		return c.RemindEvery
	}
	return 7 * 24 * time.Hour
}

// Review flags: what makes a member worth a second look.
const (
	FlagNoSignIn30 = "no_sign_in_30d"
	FlagNoSignIn60 = "no_sign_in_60d"
	FlagNoSignIn90 = "no_sign_in_90d"
	FlagEditUnused = "edit_unused_90d"
)

// Review decisions.
const (
	DecisionKeep      = "keep"
	DecisionReduce    = "reduce"
	DecisionRevoke    = "revoke"
	DecisionSuspended = "suspended" // by the grace period; still to decide
	DecisionLeft      = "left"      // no longer a member
)

const day = 24 * time.Hour

// AreaActivity is a member's level in an area and their last use of it.
type AreaActivity struct {
	Level        string
	LastViewedAt time.Time
	LastEditedAt time.Time
}

// ReviewMember is one row of a review: the member as they are now, what
// stands out, and what was decided.
type ReviewMember struct {
	store.ReviewItem
	Status          string // active, suspended, or "" when they left
	Permissions     sellerguard.Permissions
	TwoStep         bool
	LastSignInAt    time.Time
	Areas           map[string]AreaActivity
	Flags           []string
	UnusedEditAreas []string
}

// Decided says whether the row needs no more attention.
func (m ReviewMember) Decided() bool {
	return m.Decision != "" && m.Decision != DecisionSuspended
}

// ReviewView is a review with live details of each member.
type ReviewView struct {
	store.AccessReview
	Members          []ReviewMember
	SuspendAfterDays int
	SuspendsAt       time.Time // zero: the business does not suspend
}

// Open counts the members still to decide.
func (v ReviewView) Open() int {
	n := 0
	for _, m := range v.Members {
		if !m.Decided() {
			n++
		}
	}
	return n
}

// reviewFlags computes a member's flags at now. An edit right counts as
// unused from its last use, or else from when it was given (editSince; the
// day they joined when unknown).
func reviewFlags(now, joined, lastSignIn time.Time, perms sellerguard.Permissions, editSince map[string]time.Time, uses map[string]store.AreaUse) (flags, unused []string) {
	ref := lastSignIn
	if ref.IsZero() {
		ref = joined
	}
	switch idle := now.Sub(ref); {
	case idle >= 90*day:
		flags = append(flags, FlagNoSignIn90)
	case idle >= 60*day:
		flags = append(flags, FlagNoSignIn60)
	case idle >= 30*day:
		flags = append(flags, FlagNoSignIn30)
	}
	for _, a := range sellerguard.Areas {
		if perms[a] != sellerguard.LevelEdit {
			continue
		}
		last := uses[a].EditedAt
		if given := editSince[a]; given.After(last) {
			last = given // given (again) after its last use
		}
		if last.IsZero() {
			last = joined
		}
		if now.Sub(last) >= 90*day {
			unused = append(unused, a)
		}
	}
	if len(unused) > 0 {
		flags = append(flags, FlagEditUnused)
	}
	return flags, unused
}

// reviewView loads a review with live member details.
func (s *Service) reviewView(ctx context.Context, q *store.Tx, businessID, id string, now time.Time) (ReviewView, error) {
	r, err := q.FindReview(ctx, businessID, id)
	if errors.Is(err, store.ErrNotFound) {
		return ReviewView{}, sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such access review.")
	}
	if err != nil {
		return ReviewView{}, err
	}
	members, err := q.ListMembers(ctx, businessID)
	if err != nil {
		return ReviewView{}, err
	}
	byID := map[string]store.Member{}
	for _, m := range members {
		byID[m.UserID] = m
	}
	uses, err := q.AreaUses(ctx, businessID)
	if err != nil {
		return ReviewView{}, err
	}
	signIns, err := q.LastSignIns(ctx, businessID)
	if err != nil {
		return ReviewView{}, err
	}
	settings, err := q.GetReviewSettings(ctx, businessID)
	if err != nil {
		return ReviewView{}, err
	}
	v := ReviewView{AccessReview: r, SuspendAfterDays: settings.SuspendAfterDays}
	if settings.SuspendAfterDays > 0 && r.Status == store.ReviewOpen {
		v.SuspendsAt = r.CreatedAt.Add(time.Duration(settings.SuspendAfterDays) * day)
	}
	for _, it := range r.Items {
		rm := ReviewMember{ReviewItem: it, Areas: map[string]AreaActivity{}}
		m, ok := byID[it.UserID]
		if !ok {
			if !rm.Decided() {
				rm.Decision = DecisionLeft
			}
			rm.Permissions = sellerguard.Permissions{}
			v.Members = append(v.Members, rm)
			continue
		}
		rm.Status, rm.Permissions, rm.LastSignInAt = m.Status, m.Permissions.Full(), signIns[it.UserID]
		prot, _, err := protectionOf(ctx, q, it.UserID)
		if err != nil {
			return ReviewView{}, err
		}
		rm.TwoStep = prot.Enrolled
		for _, a := range sellerguard.Areas {
			u := uses[it.UserID][a]
			rm.Areas[a] = AreaActivity{Level: rm.Permissions[a], LastViewedAt: u.ViewedAt, LastEditedAt: u.EditedAt}
		}
		rm.Flags, rm.UnusedEditAreas = reviewFlags(now, m.CreatedAt, rm.LastSignInAt, m.Permissions, m.EditSince, uses[it.UserID])
		v.Members = append(v.Members, rm)
	}
	return v, nil
}

// openReview creates a review of every member besides the owner. It
// returns ErrNotFound-free conflicts as API errors.
func (s *Service) openReview(ctx context.Context, tx *store.Tx, businessID string, now time.Time) (store.AccessReview, error) {
	members, err := tx.ListMembers(ctx, businessID)
	if err != nil {
		return store.AccessReview{}, err
	}
	r := store.AccessReview{ID: NewID("rev"), BusinessID: businessID, Status: store.ReviewOpen, CreatedAt: now}
	for _, m := range members {
		if m.Role == sellerguard.RoleOwner {
			continue
		}
		r.Items = append(r.Items, store.ReviewItem{UserID: m.UserID, Email: m.Email, Before: m.Permissions, After: m.Permissions})
	}
	if len(r.Items) == 0 {
		return r, sellerguard.Errorf(sellerguard.ECodeConflict, "There is nobody to review: nobody besides the owner has access to this business.")
	}
	if err := tx.CreateReview(ctx, r); errors.Is(err, store.ErrConflict) {
		return r, sellerguard.Errorf(sellerguard.ECodeConflict, "A review of this business was opened at the same moment. Reload to see it.")
	} else if err != nil {
		return r, err
	}
	return r, nil
}

// StartReview opens an access review now (user_permissions: edit). When one
// is already open, that one is returned (created false).
func (s *Service) StartReview(ctx context.Context, p *Principal, businessID string, meta RequestMeta) (v ReviewView, created bool, err error) {
	if err := p.RequireArea(businessID, sellerguard.AreaUserPermissions, sellerguard.LevelEdit); err != nil {
		return ReviewView{}, false, err
	}
	now := s.now()
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		r, err := tx.FindOpenReview(ctx, businessID)
		open := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if open {
			done, err := s.completeIfDone(ctx, tx, r, now)
			if err != nil {
				return err
			}
			open = !done
		}
		if !open {
			if r, err = s.openReview(ctx, tx, businessID, now); err != nil {
				return err
			}
			created = true
			if err := s.teamEvent(ctx, tx, now, p, meta, businessID, "business.access_review_started", "access_review", r.ID, nil,
				map[string]any{"members": len(r.Items)}); err != nil {
				return err
			}
		}
		v, err = s.reviewView(ctx, tx, businessID, r.ID, now)
		return err
	})
	return v, created, err
}

// ListReviews lists a business's reviews (user_permissions: view).
func (s *Service) ListReviews(ctx context.Context, p *Principal, businessID string) ([]store.AccessReview, error) {
	if err := p.RequireArea(businessID, sellerguard.AreaUserPermissions, sellerguard.LevelView); err != nil {
		return nil, err
	}
	return s.DB.ListReviews(ctx, businessID)
}

// Review returns one review with live member details (user_permissions: view).
func (s *Service) Review(ctx context.Context, p *Principal, businessID, id string) (ReviewView, error) {
	if err := p.RequireArea(businessID, sellerguard.AreaUserPermissions, sellerguard.LevelView); err != nil {
		return ReviewView{}, err
	}
	var v ReviewView
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		v, err = s.reviewView(ctx, tx, businessID, id, s.now())
		return err
	})
	return v, err
}

// ReviewDecision is what the reviewer decided for one member.
type ReviewDecision struct {
	UserID      string
	Action      string
	Permissions sellerguard.Permissions // for reduce: the new, smaller set
}

// DecideReview applies decisions to an open review, all or none
// (user_permissions: edit and a recent sign-in). Keep leaves a member as
// they are (and lifts a suspension), reduce lowers their permissions,
// revoke removes them, effective on their very next request. The review
// completes when every member is decided.
func (s *Service) DecideReview(ctx context.Context, p *Principal, businessID, id string, decisions []ReviewDecision, meta RequestMeta) (ReviewView, error) {
	if err := p.RequireArea(businessID, sellerguard.AreaUserPermissions, sellerguard.LevelEdit); err != nil {
		return ReviewView{}, err
	}
	if err := s.RequireRecentAuth(p); err != nil {
		return ReviewView{}, err
	}
	if len(decisions) == 0 || len(decisions) > 500 {
		return ReviewView{}, sellerguard.Invalid(sellerguard.FieldError{Field: "decisions", Code: "required", Message: "Give a decision for 1 to 500 members."})
	}
	now := s.now()
	var v ReviewView
	var touched []string
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		// Take the review's row first: the scheduler's suspension and
		// completion of the same review wait for this decision (and see it).
		if _, err := tx.LockOpenReview(ctx, id); err != nil {
			return err
		}
		var err error
		if v, err = s.reviewView(ctx, tx, businessID, id, now); err != nil {
			return err
		}
		if v.Status != store.ReviewOpen {
			return sellerguard.Errorf(sellerguard.ECodeConflict, "This review is already complete.")
		}
		rows := map[string]int{}
		for i, m := range v.Members {
			rows[m.UserID] = i
		}
		var fields []sellerguard.FieldError
		seen := map[string]bool{}
		clean := make([]sellerguard.Permissions, len(decisions))
		for i, d := range decisions {
			f := fmt.Sprintf("decisions[%d]", i)
			idx, ok := rows[d.UserID]
			switch {
			case !ok:
				fields = append(fields, sellerguard.FieldError{Field: f + ".user_id", Code: "unknown_member", Message: "That person is not part of this review."})
				continue
			case seen[d.UserID]:
				fields = append(fields, sellerguard.FieldError{Field: f + ".user_id", Code: "duplicate", Message: "Each member may appear once."})
				continue
			case v.Members[idx].Decided():
				fields = append(fields, sellerguard.FieldError{Field: f + ".user_id", Code: "already_decided", Message: "This member was already decided in this review."})
				continue
			case d.UserID == p.User.ID:
				fields = append(fields, sellerguard.FieldError{Field: f + ".user_id", Code: "own_access", Message: "Someone else must review your own access."})
				continue
			}
			seen[d.UserID] = true
			m := v.Members[idx]
			for _, a := range sellerguard.Areas {
				if sellerguard.LevelRank(m.Permissions[a]) > sellerguard.LevelRank(p.Level(businessID, a)) {
					fields = append(fields, sellerguard.FieldError{Field: f + ".user_id", Code: "exceeds_own", Message: "You cannot decide on someone with more access than you."})
					break
				}
			}
			switch d.Action {
			case DecisionKeep, DecisionRevoke:
				if len(d.Permissions) > 0 {
					fields = append(fields, sellerguard.FieldError{Field: f + ".permissions", Code: "not_allowed", Message: "Only a reduction takes permissions."})
				}
			case DecisionReduce:
				perms, err := validatePermissions(p, businessID, d.Permissions)
				if err != nil {
					var pe *sellerguard.Error
					if errors.As(err, &pe) {
						for _, fe := range pe.Fields {
							fe.Field = f + "." + fe.Field
							fields = append(fields, fe)
						}
						continue
					}
					return err
				}
				lower := false
				for _, a := range sellerguard.Areas {
					have, want := sellerguard.LevelRank(m.Permissions[a]), sellerguard.LevelRank(perms[a])
					if want > have {
						fields = append(fields, sellerguard.FieldError{Field: f + ".permissions." + a, Code: "not_a_reduction", Message: "A review can only lower access; change permissions on the members page to raise it."})
					}
					lower = lower || want < have
				}
				if !lower {
					fields = append(fields, sellerguard.FieldError{Field: f + ".permissions", Code: "not_a_reduction", Message: "Lower at least one area, or keep the member as they are."})
				}
				clean[i] = perms
			default:
				fields = append(fields, sellerguard.FieldError{Field: f + ".action", Code: "invalid_action", Message: "Decide keep, reduce or revoke."})
			}
		}
		if len(fields) > 0 {
			return &sellerguard.Error{Code: sellerguard.ECodeInvalidInput, Message: "Some decisions cannot be applied; nothing was changed.", Fields: fields}
		}
		counts := map[string]int{}
		type telling struct {
			email string
			what  msgT
		}
		var told []telling // member, what happened
		for i, d := range decisions {
			m := v.Members[rows[d.UserID]]
			it := m.ReviewItem
			it.Decision, it.DecidedBy, it.DecidedAt = d.Action, p.User.ID, now
			it.After = m.Permissions
			switch d.Action {
			case DecisionKeep:
				if m.Status == sellerguard.MembershipSuspended {
					if err := tx.SetMembershipStatus(ctx, businessID, d.UserID, sellerguard.MembershipActive); err != nil {
						return err
					}
				}
			case DecisionReduce:
				it.After = clean[i].Full()
				if err := tx.SetMemberPermissions(ctx, businessID, d.UserID, clean[i], now); err != nil {
					return err
				}
				if err := tx.SetMembershipStatus(ctx, businessID, d.UserID, sellerguard.MembershipActive); err != nil {
					return err
				}
			case DecisionRevoke:
				it.After = sellerguard.Permissions{}
				if _, err := s.dropMember(ctx, tx, businessID, d.UserID); err != nil {
					return err
				}
			}
			counts[d.Action]++
			switch d.Action {
			case DecisionReduce:
				told = append(told, telling{m.Email, msgT{Key: "email.member_access.review_reduced", KV: []any{"Actor", p.User.Email, "Permissions", permsText(clean[i])}}})
			case DecisionRevoke:
				told = append(told, telling{m.Email, msgT{Key: "email.member_access.review_removed", KV: []any{"Actor", p.User.Email}}})
			}
			if err := tx.PutReviewItem(ctx, id, it); err != nil {
				return err
			}
			if err := s.teamEvent(ctx, tx, now, p, meta, businessID, "business.access_review_decision", "user", d.UserID,
				map[string]any{"email": m.Email, "permissions": m.Permissions, "status": m.Status},
				map[string]any{"review": id, "decision": d.Action, "permissions": it.After}); err != nil {
				return err
			}
			if err := s.Cache.Revoke(ctx, tx, d.UserID); err != nil {
				return err
			}
			touched = append(touched, d.UserID)
		}
		if v, err = s.reviewView(ctx, tx, businessID, id, now); err != nil {
			return err
		}
		biz, err := tx.FindBusiness(ctx, businessID)
		if err != nil {
			return err
		}
		for _, m := range told {
			if err := s.tellMember(ctx, tx, now, m.email, biz.Name, m.what); err != nil {
				return err
			}
		}
		if v.Open() == 0 {
			v.Status, v.CompletedAt, v.CompletedBy = store.ReviewCompleted, now, p.User.ID
			if ok, err := tx.CompleteReview(ctx, id, now, p.User.ID); err != nil || !ok {
				if err == nil {
					err = sellerguard.Errorf(sellerguard.ECodeConflict, "This review is already complete.")
				}
				return err
			}
			if err := s.teamEvent(ctx, tx, now, p, meta, businessID, "business.access_review_completed", "access_review", id, nil,
				map[string]any{"members": len(v.Members)}); err != nil {
				return err
			}
		}
		if counts[DecisionReduce]+counts[DecisionRevoke] == 0 {
			return nil // nothing changed for anyone: no need to tell
		}
		event := EventMemberChanged
		if counts[DecisionRevoke] > 0 {
			event = EventMemberRemoved
		}
		return s.tellBusiness(ctx, tx, now, businessID, event, "email.review_done", "Actor", p.User.Email, "Business", biz.Name,
			"Kept", counts[DecisionKeep], "Reduced", counts[DecisionReduce], "Removed", counts[DecisionRevoke])
	})
	if err != nil {
		return ReviewView{}, err
	}
	return v, nil
}

// dropMember removes a membership; a user left with no business is signed
// out everywhere.
// It returns how many sessions ended.
func (s *Service) dropMember(ctx context.Context, tx *store.Tx, businessID, userID string) (int, error) {
	if err := tx.DeleteMembership(ctx, businessID, userID); errors.Is(err, store.ErrNotFound) {
		// Removed by someone else between our read and this write.
		return 0, sellerguard.Errorf(sellerguard.ECodeConflict, "That member was removed meanwhile. Reload and try again.")
	} else if err != nil {
		return 0, err
	}
	left, err := tx.CountMemberships(ctx, userID)
	if err != nil || left > 0 {
		return 0, err
	}
	ids, err := tx.DeleteOtherSessions(ctx, userID, "")
	return len(ids), err
}

// ReviewSettings returns a business's review rules (user_permissions: view)
// with the effective interval.
func (s *Service) ReviewSettings(ctx context.Context, p *Principal, businessID string) (store.ReviewSettings, error) {
	if err := p.RequireArea(businessID, sellerguard.AreaUserPermissions, sellerguard.LevelView); err != nil {
		return store.ReviewSettings{}, err
	}
	r, err := s.DB.GetReviewSettings(ctx, businessID)
	if err == nil && r.IntervalDays == 0 {
		r.IntervalDays = int(s.Reviews.interval(0) / day)
	}
	return r, err
}

// SetReviewSettings sets how often reviews open (30 to 365 days) and after
// how many days members left unreviewed are suspended (0 = never, else 7 to
// 90). Only the owner decides: suspension touches every member.
func (s *Service) SetReviewSettings(ctx context.Context, p *Principal, businessID string, r store.ReviewSettings, meta RequestMeta) (store.ReviewSettings, error) {
	if err := p.RequireArea(businessID, sellerguard.AreaUserPermissions, sellerguard.LevelEdit); err != nil {
		return store.ReviewSettings{}, err
	}
	if err := p.RequireOwner(businessID, "set the access-review rules"); err != nil {
		return store.ReviewSettings{}, err
	}
	if err := s.RequireRecentAuth(p); err != nil {
		return store.ReviewSettings{}, err
	}
	var fields []sellerguard.FieldError
	if r.IntervalDays < 30 || r.IntervalDays > 365 {
		fields = append(fields, sellerguard.FieldError{Field: "interval_days", Code: "out_of_range", Message: "Review every 30 to 365 days."})
	}
	if r.SuspendAfterDays != 0 && (r.SuspendAfterDays < 7 || r.SuspendAfterDays > 90) {
		fields = append(fields, sellerguard.FieldError{Field: "suspend_after_days", Code: "out_of_range", Message: "Suspend after 7 to 90 days, or 0 for never."})
	}
	if len(fields) > 0 {
		return store.ReviewSettings{}, sellerguard.Invalid(fields...)
	}
	now := s.now()
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		before, err := tx.GetReviewSettings(ctx, businessID)
		if err != nil {
			return err
		}
		if err := tx.SetReviewSettings(ctx, businessID, r); err != nil {
			return err
		}
		if err := s.teamEvent(ctx, tx, now, p, meta, businessID, "business.review_settings_changed", "business", businessID,
			map[string]any{"interval_days": before.IntervalDays, "suspend_after_days": before.SuspendAfterDays},
			map[string]any{"interval_days": r.IntervalDays, "suspend_after_days": r.SuspendAfterDays}); err != nil {
			return err
		}
		suspend := msgT{Key: "email.review_rules.no_suspend"}
		if r.SuspendAfterDays > 0 {
			suspend = msgT{Key: "email.review_rules.suspend", KV: []any{"Days", r.SuspendAfterDays}}
		}
		return s.tellBusiness(ctx, tx, now, businessID, EventBusinessSecurityRules, "email.review_rules",
			"Actor", p.User.Email, "Interval", r.IntervalDays, "Suspend", suspend)
	})
	if err != nil {
		return store.ReviewSettings{}, err
	}
	return r, nil
}

// ReviewRun is what one pass of RunAccessReviews did.
type ReviewRun struct {
	Opened, Reminded, Suspended int
}

// RunAccessReviews opens the reviews that are due, reminds about open ones,
// and suspends members left unreviewed past a business's grace period. It
// runs hourly; every step is its own transaction with its audit events and
// notices.
func (s *Service) RunAccessReviews(ctx context.Context) (ReviewRun, error) {
	var run ReviewRun
	now := s.now()
	cands, err := s.DB.ReviewCandidates(ctx)
	if err != nil {
		return run, err
	}
	for _, c := range cands {
		from := c.CreatedAt
		if c.LastReview.After(from) {
			from = c.LastReview
		}
		if c.Open || now.Sub(from) < s.Reviews.interval(c.IntervalDays) {
			continue
		}
		err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
			r, err := s.openReview(ctx, tx, c.BusinessID, now)
			if err != nil {
				return err
			}
			if err := s.systemEvent(ctx, tx, now, c.BusinessID, "business.access_review_started", "access_review", r.ID, nil, map[string]any{"members": len(r.Items)}); err != nil {
				return err
			}
			return s.tellReview(ctx, tx, now, r, "email.review_due")
		})
		var se *sellerguard.Error
		if errors.As(err, &se) && se.Code == sellerguard.ECodeConflict {
			continue // members left meanwhile
		}
		if err != nil {
			return run, err
		}
		run.Opened++
	}
	open, err := s.DB.OpenReviews(ctx)
	if err != nil {
		return run, err
	}
	for _, r := range open {
		var done bool
		err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
			var err error
			done, err = s.completeIfDone(ctx, tx, r, now)
			return err
		})
		if err != nil {
			return run, err
		}
		if done {
			continue // everyone in it left: no reminder, nothing to suspend
		}
		settings, err := s.DB.GetReviewSettings(ctx, r.BusinessID)
		if err != nil {
			return run, err
		}
		if settings.SuspendAfterDays > 0 && now.Sub(r.CreatedAt) >= time.Duration(settings.SuspendAfterDays)*day {
			n, err := s.suspendUnreviewed(ctx, r, now)
			if err != nil {
				return run, err
			}
			run.Suspended += n
		}
		last := r.CreatedAt
		if r.RemindedAt.After(last) {
			last = r.RemindedAt
		}
		if now.Sub(last) < s.Reviews.remindEvery() {
			continue
		}
		if s.Interleave != nil {
			s.Interleave("access_review_reminder")
		}
		reminded := false
		err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
			// Only if nobody completed or reminded it since it was listed.
			ok, err := tx.RemindReview(ctx, r.ID, r.RemindedAt, now)
			if err != nil || !ok {
				return err
			}
			reminded = true
			r.RemindedAt, r.Reminders = now, r.Reminders+1
			return s.tellReview(ctx, tx, now, r, "email.review_reminder")
		})
		if err != nil {
			return run, err
		}
		if reminded {
			run.Reminded++
		}
	}
	return run, nil
}

// completeIfDone completes an open review nobody is left to decide in (its
// last undecided members left the business meanwhile). It reports whether
// the review is complete now.
func (s *Service) completeIfDone(ctx context.Context, tx *store.Tx, r store.AccessReview, now time.Time) (bool, error) {
	open, err := tx.LockOpenReview(ctx, r.ID)
	if err != nil || !open {
		return !open, err // completed meanwhile (by the owner or another instance)
	}
	v, err := s.reviewView(ctx, tx, r.BusinessID, r.ID, now)
	if err != nil || v.Open() > 0 {
		return false, err
	}
	if _, err := tx.CompleteReview(ctx, r.ID, now, "system"); err != nil {
		return false, err
	}
	return true, s.systemEvent(ctx, tx, now, r.BusinessID, "business.access_review_completed", "access_review", r.ID, nil,
		map[string]any{"members": len(v.Members), "reason": "every member left the business"})
}

// suspendUnreviewed suspends the members of an open review nobody decided.
func (s *Service) suspendUnreviewed(ctx context.Context, r store.AccessReview, now time.Time) (int, error) {
	var users []string
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		if open, err := tx.LockOpenReview(ctx, r.ID); err != nil || !open {
			return err // completed meanwhile: nobody is left undecided
		}
		v, err := s.reviewView(ctx, tx, r.BusinessID, r.ID, now)
		if err != nil {
			return err
		}
		var emails []string
		for _, m := range v.Members {
			if m.Decision != "" || m.Status != sellerguard.MembershipActive {
				continue
			}
			if err := tx.SetMembershipStatus(ctx, r.BusinessID, m.UserID, sellerguard.MembershipSuspended); err != nil {
				return err
			}
			it := m.ReviewItem
			it.Decision, it.DecidedBy, it.DecidedAt = DecisionSuspended, "", now
			if err := tx.PutReviewItem(ctx, r.ID, it); err != nil {
				return err
			}
			if err := s.systemEvent(ctx, tx, now, r.BusinessID, "business.member_suspended", "user", m.UserID,
				map[string]any{"status": sellerguard.MembershipActive}, map[string]any{"status": sellerguard.MembershipSuspended, "review": r.ID}); err != nil {
				return err
			}
			if err := s.Cache.Revoke(ctx, tx, m.UserID); err != nil {
				return err
			}
			users, emails = append(users, m.UserID), append(emails, m.Email)
		}
		if len(users) == 0 {
			return nil
		}
		biz, err := tx.FindBusiness(ctx, r.BusinessID)
		if err != nil {
			return err
		}
		for _, e := range emails {
			if err := s.tellMember(ctx, tx, now, e, biz.Name, msgT{Key: "email.member_access.suspended", KV: []any{"Business", biz.Name}}); err != nil {
				return err
			}
		}
		return s.tellBusiness(ctx, tx, now, r.BusinessID, EventMemberChanged, "email.members_suspended", "Business", biz.Name, "Members", strings.Join(emails, ", "))
	})
	if err != nil {
		return 0, err
	}
	return len(users), nil
}

// tellReview tells the owner and user managers about an open review, with
// the members that stand out.
func (s *Service) tellReview(ctx context.Context, tx *store.Tx, now time.Time, r store.AccessReview, key string) error {
	v, err := s.reviewView(ctx, tx, r.BusinessID, r.ID, now)
	if err != nil {
		return err
	}
	biz, err := tx.FindBusiness(ctx, r.BusinessID)
	if err != nil {
		return err
	}
	var flagged flaggedMembers
	for _, m := range v.Members {
		if len(m.Flags) > 0 && !m.Decided() {
			flagged = append(flagged, m)
		}
	}
	sort.Slice(flagged, func(i, j int) bool { return flagged[i].Email < flagged[j].Email })
	var standOut, suspends any = "", ""
	if len(flagged) > 0 {
		standOut = msgT{Key: "email.review_due.stand_out", KV: []any{"List", flagged}}
	}
	if !v.SuspendsAt.IsZero() {
		suspends = msgT{Key: "email.review_due.suspends", KV: []any{"Date", dateText(v.SuspendsAt)}}
	}
	return s.tellBusiness(ctx, tx, now, r.BusinessID, EventAccessReviewDue, key, "Business", biz.Name, "N", len(v.Members),
		"StandOut", standOut, "Suspends", suspends)
}

// flaggedMembers lists the members of a review that stand out, one line
// each, in the reader's language (see DescribeFlags).
type flaggedMembers []ReviewMember

func (f flaggedMembers) In(l i18n.Lang) string {
	var lines []string
	for _, m := range f {
		lines = append(lines, "  - "+m.Email+": "+describeFlagsIn(l, m))
	}
	return strings.Join(lines, "\n")
}

// describeFlagsIn is DescribeFlags in language l.
func describeFlagsIn(l i18n.Lang, m ReviewMember) string {
	if l == i18n.English {
		return DescribeFlags(m)
	}
	c := i18n.Default()
	var parts []string
	for _, f := range m.Flags {
		switch f {
		case FlagNoSignIn30, FlagNoSignIn60, FlagNoSignIn90:
			parts = append(parts, c.T(l, "email.review_flag."+f))
		case FlagEditUnused:
			var areas []string
			for _, a := range m.UnusedEditAreas {
				areas = append(areas, c.T(l, "email.area."+a))
			}
			parts = append(parts, c.T(l, "email.review_flag."+f, "Areas", strings.Join(areas, "、")))
		}
	}
	return strings.Join(parts, "；")
}

// DescribeFlags says in words why a member stands out.
func DescribeFlags(m ReviewMember) string {
	var parts []string
	for _, f := range m.Flags {
		switch f {
		case FlagNoSignIn30:
			parts = append(parts, "no sign-in for 30 days")
		case FlagNoSignIn60:
			parts = append(parts, "no sign-in for 60 days")
		case FlagNoSignIn90:
			parts = append(parts, "no sign-in for 90 days")
		case FlagEditUnused:
			var areas []string
			for _, a := range m.UnusedEditAreas {
				areas = append(areas, strings.ReplaceAll(a, "_", " "))
			}
			parts = append(parts, "edit rights unused for 90 days ("+strings.Join(areas, ", ")+")")
		}
	}
	return strings.Join(parts, "; ")
}

// systemEvent audits something SellerGuard did by itself (on a schedule).
func (s *Service) systemEvent(ctx context.Context, tx *store.Tx, now time.Time, businessID, action, targetType, targetID string, before, after map[string]any) error {
	return audit.Append(ctx, tx, now, audit.Entry{BusinessID: businessID, ActorID: "system", ActorEmail: "SellerGuard (scheduled)",
		Action: action, Category: sellerguard.CategoryBusiness, TargetType: targetType, TargetID: targetID, Before: before, After: after})
}
