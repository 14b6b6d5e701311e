package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/history"
	"github.com/sellerguard/sellerguard/internal/password"
	"github.com/sellerguard/sellerguard/internal/policy"
	"github.com/sellerguard/sellerguard/internal/store"
)

// policyError turns the policy's reasons into one problem listing them all.
func policyError(field string, reasons []policy.Reason) error {
	if len(reasons) == 0 {
		return nil
	}
	// The reasons are put in as formats' values, so that the web layer can
	// translate the message and each reason in it (internal/i18n).
	e := &sellerguard.Error{Code: sellerguard.ECodePasswordPolicy, Message: fmt.Sprintf("Choose another password: %s", reasons[0].Message)}
	if len(reasons) > 1 {
		msgs := make([]string, len(reasons))
		for i, r := range reasons {
			msgs[i] = r.Message
		}
		e.Message = fmt.Sprintf("Choose another password. It has these problems: %s", strings.Join(msgs, " "))
	}
	for _, r := range reasons {
		e.Fields = append(e.Fields, sellerguard.FieldError{Field: field, Code: r.Code, Message: r.Message})
	}
	return e
}

// checkNewPassword applies the policy (with the strict option of the user's
// businesses) and the reuse rule. breachUnverified reports a password
// accepted while the breached-password range API could not answer: the
// caller marks it for a check at the next sign-in.
func (s *Service) checkNewPassword(ctx context.Context, field, pw string, c policy.Context, strict bool, previous []string) (breachUnverified bool, err error) {
	if s.Policy == nil {
		if fe := s.validatePassword(field, pw); fe != nil {
			return false, sellerguard.Invalid(*fe)
		}
		return false, nil
	}
	pol := s.Policy
	if strict {
		pol = pol.WithStrict(true)
	}
	reasons, breachUnverified := pol.CheckNew(ctx, pw, c)
	if len(pw) <= password.MaxBytes {
		for _, h := range previous {
			ok, _, err := s.Hasher.Verify(ctx, h, pw)
			if errors.Is(err, password.ErrMalformedHash) {
				continue // an unreadable old hash cannot match
			}
			if err != nil {
				// A full pool (or the caller gone) decides nothing: a
				// password not compared is not known to be new.
				return false, s.hashError(err)
			}
			if ok {
				reasons = append(reasons, policy.Reason{Code: policy.CodeReused, Message: policy.MessageReused})
				break
			}
		}
	}
	return breachUnverified, policyError(field, reasons)
}

// PolicyContext is what is public about a user, for the policy (and the
// live meter of a signed-in user).
func PolicyContext(p *Principal) policy.Context { return policyContext(p) }

// policyContext is what is public about a user, for the policy.
func policyContext(p *Principal) policy.Context { return factsOf(p.User.Email, p.Memberships) }

// factsOf is what is public about a user from their sign-in email and the
// names of their businesses.
func factsOf(email string, memberships []sellerguard.Membership) policy.Context {
	c := policy.Context{Email: email}
	for _, m := range memberships {
		c.BusinessNames = append(c.BusinessNames, m.BusinessName)
	}
	return c
}

// newPassword checks next as u's new password against rules and the reuse
// rule (the current password never comes back, nor the last few when
// SELLERGUARD_PASSWORD_HISTORY keeps them) and hashes it. Every path that
// sets a password — change, reset, Secure my account — goes through it, so
// no path checks less than another.
func (s *Service) newPassword(ctx context.Context, field string, u store.UserRecord, rules PasswordRules, next string) (hash string, breachUnverified bool, err error) {
	history, err := s.DB.PasswordHistory(ctx, u.ID, max(s.Passwords.History-1, 0))
	if err != nil {
		return "", false, err
	}
	previous := append([]string{u.PasswordHash}, history...)
	if breachUnverified, err = s.checkNewPassword(ctx, field, next, rules.Facts, rules.Strict, previous); err != nil {
		return "", false, err
	}
	if hash, err = s.Hasher.Hash(ctx, next); err != nil {
		return "", false, s.hashError(err)
	}
	return hash, breachUnverified, nil
}

// storePassword writes u's new password hash in tx: the old one joins the
// history, a pending forced change is cleared, and a password the breach
// check could not vouch for is marked for a check at the next sign-in.
func (s *Service) storePassword(ctx context.Context, tx *store.Tx, u store.UserRecord, hash string, breachUnverified bool, now time.Time) error {
	if err := tx.UpdatePasswordHash(ctx, u.ID, hash, now); err != nil {
		return err
	}
	if s.Passwords.History > 0 {
		if err := tx.PushPasswordHistory(ctx, u.ID, u.PasswordHash, now, s.Passwords.History); err != nil {
			return err
		}
	}
	if err := tx.SetMustChangePassword(ctx, u.ID, ""); err != nil {
		return err
	}
	return tx.SetBreachRecheck(ctx, u.ID, breachUnverified)
}

// PasswordChanged is the outcome of a password change.
type PasswordChanged struct {
	OtherSessionsEnded int
	StepUp             // the caller's new session
}

// ChangePassword replaces the user's password: it needs the current one and
// a recent sign-in, refuses what the policy refuses and the last few
// passwords, ends every other session and trusted browser of the user, and
// tells the user by an email that cannot be switched off. The caller's own
// session ends too: a new one with a new token replaces it (see StepUp),
// keeping the old one's last re-authentication.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string, meta RequestMeta) (PasswordChanged, error) {
	if err := s.RequireRecentAuth(p); err != nil {
		return PasswordChanged{}, err
	}
	now := s.now()
	key := "reauth:" + p.User.ID
	if st, err := s.Limiter.Account(ctx, s.DB, key, now); err != nil {
		return PasswordChanged{}, err
	} else if !st.Allowed(now) {
		return PasswordChanged{}, rateLimited(st.RetryAt.Sub(now))
	}
	u, err := s.DB.FindUserByID(ctx, p.User.ID)
	if err != nil {
		return PasswordChanged{}, err
	}
	ok, _, err := s.Hasher.Verify(ctx, u.PasswordHash, current)
	if err != nil && !errors.Is(err, password.ErrTooLong) {
		return PasswordChanged{}, s.hashError(err)
	}
	if !ok {
		if err := s.DB.WithUserTx(ctx, p.User.ID, func(tx *store.Tx) error {
			_, err := s.Limiter.AccountFailure(ctx, tx, key, meta.IP, now)
			return err
		}); err != nil {
			return PasswordChanged{}, err
		}
		return PasswordChanged{}, sellerguard.Invalid(sellerguard.FieldError{Field: "current_password", Code: "wrong_password", Message: "Your current password is not right."})
	}
	rules, err := s.PasswordRulesFor(ctx, p)
	if err != nil {
		return PasswordChanged{}, err
	}
	hash, breachUnverified, err := s.newPassword(ctx, "new_password", u, rules, next)
	if err != nil {
		return PasswordChanged{}, err
	}
	var res PasswordChanged
	err = s.DB.WithUserTx(ctx, p.User.ID, func(tx *store.Tx) error {
		if err := s.storePassword(ctx, tx, u, hash, breachUnverified, now); err != nil {
			return err
		}
		ids, err := tx.DeleteOtherSessions(ctx, u.ID, p.Session.ID)
		if err != nil {
			return err
		}
		res.OtherSessionsEnded = len(ids)
		if res.StepUp, err = s.replaceSession(ctx, tx, p, p.Session.ReauthAt, meta, now); err != nil {
			return err
		}
		browsers, err := tx.DeleteAllTrustedBrowsers(ctx, u.ID)
		if err != nil {
			return err
		}
		if err := tx.DeleteCounter(ctx, key); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, now, audit.Entry{SubjectID: u.ID, ActorID: u.ID, ActorEmail: u.Email, IP: meta.IP, UserAgent: meta.UserAgent,
			Action: "account.password_changed", Category: sellerguard.CategoryAccount, TargetType: "user", TargetID: u.ID,
			Before: map[string]any{"changed_at": u.PasswordChangedAt, "must_change": p.MustChangePassword},
			After: map[string]any{"changed_at": now, "other_sessions_ended": len(ids), "trusted_browsers_forgotten": browsers,
				"session_replaced": p.Session.ID, "session": res.StepUp.Session.ID}}); err != nil {
			return err
		}
		if err := s.Cache.Revoke(ctx, tx, u.ID); err != nil {
			return err
		}
		return s.sendEmail(ctx, tx, now, withEvent(passwordChangedEmail(u.Email, len(ids), meta, now, s.Config.BaseURL), EventPasswordChanged))
	})
	if err != nil {
		return PasswordChanged{}, err
	}
	return res, nil
}

// CheckPassword runs the policy for a live meter and for clients that want
// to check before submitting; it changes nothing. strict applies a
// business's strict option, as PasswordRulesFor reports it for a signed-in
// user. Reuse of a recent password is not checked here (that needs the
// current password's owner to be proven, and hashing): the change alone
// refuses it.
func (s *Service) CheckPassword(ctx context.Context, pw string, c policy.Context, strict bool) (reasons []policy.Reason, score int, tips []string) {
	if s.Policy == nil {
		return nil, 0, nil
	}
	pol := s.Policy
	if strict {
		pol = pol.WithStrict(true)
	}
	reasons = pol.Check(ctx, pw, c)
	return reasons, pol.Score(pw, c), policy.Tips(pw)
}

// RequirePasswordChange is support's flag: the user must change their
// password at the next sign-in, before anything else (audited).
func (s *Service) RequirePasswordChange(ctx context.Context, addr, actor string) error {
	now := s.now()
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		u, err := tx.FindUserByEmail(ctx, NormalizeEmail(addr))
		if errors.Is(err, store.ErrNotFound) {
			return sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no account with that email.")
		}
		if err != nil {
			return err
		}
		if err := tx.SetMustChangePassword(ctx, u.ID, MustChangeSupport); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, now, audit.Entry{SubjectID: u.ID, ActorID: actor, Action: "account.password_change_required",
			Category: sellerguard.CategorySupport, TargetType: "user", TargetID: u.ID, After: map[string]any{"reason": MustChangeSupport}}); err != nil {
			return err
		}
		if err := s.Cache.Revoke(ctx, tx, u.ID); err != nil {
			return err
		}
		return s.sendEmail(ctx, tx, now, tmail(EventPasswordChangeForced, u.Email, "email.support_password_change", "BaseURL", s.Config.BaseURL))
	})
	if err != nil {
		return err
	}
	s.Cache.InvalidateAll()
	return nil
}

// SendPasswordReminders emails users whose password reached the reminder
// age, once per password.
func (s *Service) SendPasswordReminders(ctx context.Context) (int, error) {
	if s.Passwords.ReminderAge <= 0 {
		return 0, nil
	}
	now := s.now()
	cutoff := now.Add(-s.Passwords.ReminderAge)
	due, err := s.DB.UsersDueForPasswordReminder(ctx, cutoff, 200)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	if s.Interleave != nil {
		s.Interleave("password_reminders")
	}
	sent := 0
	for _, u := range due {
		err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
			// Claimed in the UPDATE: another instance that listed the
			// same user, or a password changed since the list, sends nothing.
			if ok, err := tx.MarkPasswordReminded(ctx, u.ID, cutoff, now); err != nil || !ok {
				return err
			}
			sent++
			days := int(now.Sub(u.Since).Hours() / 24)
			return s.sendEmail(ctx, tx, now, tmail(EventPasswordReminder, u.Email, "email.password_reminder", "Days", days, "BaseURL", s.Config.BaseURL))
		})
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// SetBusinessPasswordRules sets a business's maximum password age (days, 0
// = none) and strict option (owner, recent sign-in).
func (s *Service) SetBusinessPasswordRules(ctx context.Context, p *Principal, businessID string, maxAgeDays int, strict bool, meta RequestMeta) error {
	if err := p.RequireOwner(businessID, "set the business's password rules"); err != nil {
		return err
	}
	if err := s.RequireRecentAuth(p); err != nil {
		return err
	}
	if maxAgeDays < 0 || maxAgeDays > 3650 || (maxAgeDays > 0 && maxAgeDays < 30) {
		return sellerguard.Invalid(sellerguard.FieldError{Field: "max_age_days", Code: "out_of_range", Message: "Use 0 (no maximum) or 30 to 3650 days."})
	}
	now := s.now()
	err := s.DB.WithBusinessTx(ctx, businessID, func(tx *store.Tx) error {
		if err := tx.SetBusinessPasswordRules(ctx, businessID, maxAgeDays, strict); err != nil {
			return err
		}
		return s.businessRuleChanged(ctx, tx, now, p, meta, businessID, "business.password_rules_changed",
			nil, map[string]any{"max_age_days": maxAgeDays, "strict": strict}, false,
			"email.rule_passwords", "Actor", p.User.Email, "Days", maxAgeDays, "Strict", msgKey(fmt.Sprintf("email.rule_passwords.strict_%v", strict)))
	})
	return s.afterBusinessRuleChanged(err, false)
}

func passwordChangedEmail(to string, ended int, meta RequestMeta, at time.Time, baseURL string) sellerguard.OutboxMessage {
	what := history.Text{Viewer: "self", Event: history.Event{Action: "account.password_changed", ActorID: "self"}} // the account page's sentence
	return tmail("", to, "email.password_changed", "What", what, "Ended", ended, "When", at, "IP", meta.IP, "BaseURL", baseURL)
}

// ImportedUser is one user from another system's export.
type ImportedUser struct {
	Email        string `json:"email"`
	PasswordHash string `json:"password_hash"`
	BusinessName string `json:"business_name"`
}

// ErrAlreadyRegistered is ImportUser's answer for an email already in use.
var ErrAlreadyRegistered = errors.New("already registered")

// ImportUser creates an active user owning a business from an imported
// record. The hash (bcrypt or Argon2id PHC) verifies at sign-in and is then
// upgraded to the configured Argon2id parameters (audited, by actor).
func (s *Service) ImportUser(ctx context.Context, in ImportedUser, actor string) error {
	addr, fe := validateEmail("email", in.Email)
	if fe != nil {
		return fmt.Errorf("email %q: %s", in.Email, fe.Message)
	}
	if err := password.CheckHash(in.PasswordHash); err != nil {
		return fmt.Errorf("%s: password_hash: %w", addr, err)
	}
	name := cleanText(in.BusinessName)
	if name == "" {
		name = addr
	}
	if len([]rune(name)) > MaxBusinessNameLen {
		return fmt.Errorf("%s: business_name is longer than %d characters", addr, MaxBusinessNameLen)
	}
	now := s.now()
	emailNorm := NormalizeEmail(addr)
	return s.DB.WithTx(ctx, func(tx *store.Tx) error {
		userID, businessID := NewID("usr"), NewID("biz")
		err := tx.CreateUser(ctx, store.UserRecord{
			User:      sellerguard.User{ID: userID, Email: addr, Status: sellerguard.UserActive, PasswordChangedAt: now, CreatedAt: now},
			EmailNorm: emailNorm, PasswordHash: in.PasswordHash,
		})
		if errors.Is(err, store.ErrConflict) {
			return ErrAlreadyRegistered
		}
		if err != nil {
			return err
		}
		if err := tx.CreateBusiness(ctx, sellerguard.Business{ID: businessID, Name: name, CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateMembership(ctx, sellerguard.Membership{BusinessID: businessID, UserID: userID, Role: sellerguard.RoleOwner, Status: sellerguard.MembershipActive, CreatedAt: now}); err != nil {
			return err
		}
		alg := "bcrypt"
		if strings.HasPrefix(in.PasswordHash, "$argon2id$") {
			alg = "argon2id"
		}
		return audit.Append(ctx, tx, now, audit.Entry{BusinessID: businessID, SubjectID: userID, ActorID: actor, Action: "user.imported",
			Category: sellerguard.CategorySupport, TargetType: "user", TargetID: userID,
			After: map[string]any{"email": addr, "business": name, "hash_algorithm": alg}})
	})
}
