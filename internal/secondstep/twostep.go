package secondstep

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"slices"
	"strings"
	"time"

	"github.com/pquerna/otp"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// SecondStepInput is a second step: a method and its code.
type SecondStepInput struct {
	Method          string
	Code            string
	RememberBrowser bool
	Device          string // device cookie
}

// SecondStepResult is the full session that replaces the partial one.
type SecondStepResult struct {
	Token            string
	Session          sellerguard.Session
	Method           string
	BackupCodesLeft  int
	ReenrollAdvised  bool // signed in with a backup code: the usual device may be lost
	TrustedBrowserID string
}

// verifyCode checks a code against the user's methods of the given kind and
// consumes it (TOTP step or backup code) inside tx. It returns the method id
// used, or "" for a wrong code.
func (s *Service) verifyCode(ctx context.Context, tx *store.Tx, userID, sessionID, kind, code string, now time.Time) (string, error) {
	switch kind {
	case twostep.KindSMS, twostep.KindVoice: // one code, texted or read out
		return s.verifySMSCode(ctx, tx, smsChallengeID(sessionID), userID, code, now)
	case twostep.KindTOTP:
		ms, err := tx.ListMethods(ctx, userID)
		if err != nil {
			return "", err
		}
		for _, m := range ms {
			if !m.Confirmed || m.Kind != twostep.KindTOTP {
				continue
			}
			secret, err := s.Keys.Open("totp", m.SecretSealed, []byte(m.ID))
			if err != nil {
				return "", err
			}
			step, ok, err := twostep.VerifyTOTP(string(secret), code, now, m.LastStep)
			if errors.Is(err, twostep.ErrReplayed) {
				continue
			}
			if err != nil {
				return "", err
			}
			if ok {
				if err := tx.UseMethodStep(ctx, m.ID, step, now); errors.Is(err, store.ErrConflict) {
					continue // a racing request used this step first
				} else if err != nil {
					return "", err
				}
				return m.ID, nil
			}
		}
		return "", nil
	case twostep.KindBackup:
		n := twostep.NormalizeBackupCode(code)
		if n == "" {
			return "", nil
		}
		err := tx.UseBackupCode(ctx, userID, s.Keys.MAC("backup-code", userID, n), now)
		if errors.Is(err, store.ErrNotFound) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		return twostep.KindBackup, nil
	}
	if s.ExtraSecondSteps != nil {
		if v, ok := s.ExtraSecondSteps[kind]; ok {
			return v(ctx, tx, userID, code, now)
		}
	}
	return "", nil
}

// CodeVerifier checks a code of an extra kind of second step (SMS, passkey)
// inside tx, returning the method id used or "" when wrong.
type CodeVerifier func(ctx context.Context, tx *store.Tx, userID, code string, now time.Time) (string, error)

// CompleteSecondStep finishes a sign-in: the partial session ends and a
// full one starts. Five wrong codes end the attempt; an account-level
// counter delays guesses across attempts.
func (s *Service) CompleteSecondStep(ctx context.Context, p *Principal, in SecondStepInput, meta RequestMeta) (SecondStepResult, error) {
	if p.Session.AuthLevel != sellerguard.AuthPartial {
		return SecondStepResult{}, sellerguard.Errorf(sellerguard.ECodeConflict, "This session has already finished signing in.")
	}
	if len(in.Code) > 512 || len(in.Method) > 32 {
		return SecondStepResult{}, sellerguard.Invalid(sellerguard.FieldError{Field: "code", Code: "too_long", Message: "That is not a code."})
	}
	now := s.now()
	key := "2fa:" + p.User.ID
	st, err := s.Limiter.Account(ctx, s.DB, key, now)
	if err != nil {
		return SecondStepResult{}, err
	}
	if !st.Allowed(now) {
		return SecondStepResult{}, accountDelayed(st.RetryAt.Sub(now))
	}
	var res SecondStepResult
	var wrong, restart bool
	token, tokenHash := newToken()
	err = s.DB.WithUserTx(ctx, p.User.ID, func(tx *store.Tx) error {
		used, err := s.verifyCode(ctx, tx, p.User.ID, p.Session.ID, in.Method, in.Code, now)
		if err != nil {
			return err
		}
		if used == "" {
			wrong = true
			return nil
		}
		if err := tx.DeleteSession(ctx, p.User.ID, p.Session.ID); err != nil {
			return err
		}
		sess := sellerguard.Session{
			ID: NewID("ses"), UserID: p.User.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.Config.AbsoluteTimeout),
			IP: meta.IP, UserAgent: meta.UserAgent, AuthLevel: sellerguard.AuthFull, ReauthAt: now,
		}
		if err := tx.CreateSession(ctx, sess, tokenHash); err != nil {
			return err
		}
		if err := tx.DeleteCounter(ctx, key); err != nil {
			return err
		}
		res = SecondStepResult{Token: token, Session: sess, Method: in.Method}
		if device := deviceID(in.Device); in.RememberBrowser && device != "" {
			res.TrustedBrowserID = NewID("trb")
			if err := tx.PutTrustedBrowser(ctx, store.TrustedBrowser{
				ID: res.TrustedBrowserID, UserID: p.User.ID, DeviceHash: device, IP: meta.IP, UserAgent: meta.UserAgent,
				CreatedAt: now, ExpiresAt: now.Add(s.TwoStep.TrustedBrowserFor),
			}); err != nil {
				return err
			}
		}
		base := audit.Entry{SubjectID: p.User.ID, ActorID: p.User.ID, ActorEmail: p.User.Email, IP: meta.IP, UserAgent: meta.UserAgent}
		ev := base
		ev.Action, ev.Category, ev.TargetType, ev.TargetID = "session.created", sellerguard.CategorySession, "session", sess.ID
		ev.After = map[string]any{"expires_at": sess.ExpiresAt, "second_step": in.Method, "remember_browser": res.TrustedBrowserID != ""}
		if err := audit.Append(ctx, tx, now, ev); err != nil {
			return err
		}
		if in.Method == twostep.KindBackup {
			left, err := tx.CountBackupCodesLeft(ctx, p.User.ID)
			if err != nil {
				return err
			}
			res.BackupCodesLeft, res.ReenrollAdvised = left, true
			ev := base
			ev.Action, ev.Category, ev.TargetType, ev.TargetID = "two_step.backup_code_used", sellerguard.CategoryAccount, "user", p.User.ID
			ev.After = map[string]any{"backup_codes_left": left}
			if err := audit.Append(ctx, tx, now, ev); err != nil {
				return err
			}
			if err := s.sendEmail(ctx, tx, now, withEvent(backupCodeUsedEmail(p.User.Email, left, meta, now, s.Config.BaseURL), EventBackupCodeUsed)); err != nil {
				return err
			}
		}
		return s.Cache.Revoke(ctx, tx, p.User.ID)
	})
	if err != nil {
		return SecondStepResult{}, err
	}
	if !wrong {
		return res, nil
	}
	// A wrong code: count it against this attempt and the account.
	err = s.DB.WithUserTx(ctx, p.User.ID, func(tx *store.Tx) error {
		st, err := s.Limiter.AccountFailure(ctx, tx, key, meta.IP, now)
		if err != nil {
			return err
		}
		// The right password, then wrong codes: the owner hears of it once
		// per run (secondstepalert.go).
		if err := s.secondStepFailed(ctx, tx, p, in.Method, st.Failures, meta, now); err != nil {
			return err
		}
		n, err := tx.CountSecondStepFailure(ctx, p.Session.ID)
		if err != nil {
			return err
		}
		if n >= s.TwoStep.MaxSecondStepErrors {
			restart = true
			if err := tx.DeleteSession(ctx, p.User.ID, p.Session.ID); err != nil {
				return err
			}
			return s.Cache.Revoke(ctx, tx, p.User.ID)
		}
		return nil
	})
	if err != nil {
		return SecondStepResult{}, err
	}
	s.Cache.InvalidateUser(p.User.ID) // the failed count is part of the cached principal
	if restart {
		return SecondStepResult{}, sellerguard.Errorf(sellerguard.ECodeUnauthenticated, "Too many wrong codes. Sign in again with your password.")
	}
	return SecondStepResult{}, errWrongSecondStep
}

// Reauthenticate confirms it is still the user before a sensitive change:
// the password, and a second step when the user has one. Trusted browsers
// never skip this. The session that asked ends and a new one, with a new
// token and a fresh "recent sign-in", replaces it (see StepUp).
func (s *Service) Reauthenticate(ctx context.Context, p *Principal, pw, method, code string, meta RequestMeta) (StepUp, error) {
	if err := p.RequireFull(); err != nil {
		return StepUp{}, err
	}
	now := s.now()
	key := "reauth:" + p.User.ID
	st, err := s.Limiter.Account(ctx, s.DB, key, now)
	if err != nil {
		return StepUp{}, err
	}
	if !st.Allowed(now) {
		return StepUp{}, accountDelayed(st.RetryAt.Sub(now))
	}
	if len(pw) > 4096 || len(code) > 512 || len(method) > 32 {
		return StepUp{}, errInvalidCredentials
	}
	u, err := s.DB.FindUserByID(ctx, p.User.ID)
	if err != nil {
		return StepUp{}, err
	}
	ok, _, err := s.Hasher.Verify(ctx, u.PasswordHash, pw)
	if err != nil {
		return StepUp{}, s.hashError(err)
	}
	var failed error
	var next StepUp
	err = s.DB.WithUserTx(ctx, p.User.ID, func(tx *store.Tx) error {
		if ok && p.TwoStep.Enrolled {
			used, err := s.verifyCode(ctx, tx, p.User.ID, p.Session.ID, method, code, now)
			if err != nil {
				return err
			}
			if used == "" {
				ok, failed = false, errWrongSecondStep
			}
		}
		if !ok {
			if failed == nil {
				failed = errInvalidCredentials
			}
			_, err := s.Limiter.AccountFailure(ctx, tx, key, meta.IP, now)
			return err
		}
		if err := tx.DeleteCounter(ctx, key); err != nil {
			return err
		}
		if next, err = s.replaceSession(ctx, tx, p, now, meta, now); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, now, audit.Entry{
			SubjectID: p.User.ID, ActorID: p.User.ID, ActorEmail: p.User.Email, IP: meta.IP, UserAgent: meta.UserAgent,
			Action: "session.reauthenticated", Category: sellerguard.CategorySession, TargetType: "session", TargetID: next.Session.ID,
			Before: map[string]any{"session": p.Session.ID}, After: map[string]any{"second_step": method, "session": next.Session.ID},
		}); err != nil {
			return err
		}
		return s.Cache.Revoke(ctx, tx, p.User.ID)
	})
	if err != nil {
		return StepUp{}, err
	}
	if failed != nil {
		return StepUp{}, failed
	}
	return next, nil
}

// TwoStepOverview is what the account security page and the API show.
type TwoStepOverview struct {
	Methods    []store.TwoStepMethod
	Protection twostep.Protection
}

// ListTwoStep returns the user's confirmed methods and protection.
func (s *Service) ListTwoStep(ctx context.Context, p *Principal) (TwoStepOverview, error) {
	if err := p.RequireFull(); err != nil {
		return TwoStepOverview{}, err
	}
	prot, ms, err := protectionOf(ctx, s.DB, p.User.ID)
	if err != nil {
		return TwoStepOverview{}, err
	}
	return TwoStepOverview{Methods: ms, Protection: prot}, nil
}

// TOTPEnrollment is a started authenticator-app enrolment: shown once.
type TOTPEnrollment struct {
	MethodID  string
	Secret    string
	URL       string
	QRDataURL string
}

const (
	maxLabelLen       = 60
	maxMethodsPerKind = 5
)

// countKinds counts a user's methods (enrolling ones included) of the kinds.
func countKinds(ms []store.TwoStepMethod, kinds ...string) int {
	n := 0
	for _, m := range ms {
		if slices.Contains(kinds, m.Kind) {
			n++
		}
	}
	return n
}

func cleanLabel(label, def string) (string, error) {
	label = cleanText(label)
	if label == "" {
		label = def
	}
	if len([]rune(label)) > maxLabelLen {
		return "", sellerguard.Invalid(sellerguard.FieldError{Field: "label", Code: "too_long", Message: fmt.Sprintf("Use at most %d characters.", maxLabelLen)})
	}
	return label, nil
}

// StartTOTP begins enrolling an authenticator app. The method counts only
// once confirmed with a code from the app.
func (s *Service) StartTOTP(ctx context.Context, p *Principal, label string) (TOTPEnrollment, error) {
	return s.startTOTP(ctx, p, label, false)
}

// StartTOTPKept is StartTOTP for a page: the enrolment is kept for this
// session (KeptTOTP) in the same transaction, for the page the POST
// redirects to.
func (s *Service) StartTOTPKept(ctx context.Context, p *Principal, label string) error {
	_, err := s.startTOTP(ctx, p, label, true)
	return err
}

func (s *Service) startTOTP(ctx context.Context, p *Principal, label string, keep bool) (TOTPEnrollment, error) {
	if err := s.RequireRecentAuth(p); err != nil {
		return TOTPEnrollment{}, err
	}
	label, err := cleanLabel(label, "Authenticator app")
	if err != nil {
		return TOTPEnrollment{}, err
	}
	secret, err := twostep.NewTOTPSecret()
	if err != nil {
		return TOTPEnrollment{}, err
	}
	now := s.now()
	id := NewID("tsm")
	sealed, err := s.Keys.Seal("totp", []byte(secret), []byte(id))
	if err != nil {
		return TOTPEnrollment{}, err
	}
	err = s.DB.WithUserTx(ctx, p.User.ID, func(tx *store.Tx) error {
		ms, err := tx.ListMethods(ctx, p.User.ID)
		if err != nil {
			return err
		}
		if n := countKinds(ms, twostep.KindTOTP); n >= maxMethodsPerKind {
			return sellerguard.Errorf(sellerguard.ECodeConflict, "You already have %d authenticator apps. Remove one first.", n)
		}
		if err := tx.CreateMethod(ctx, store.TwoStepMethod{ID: id, UserID: p.User.ID, Kind: twostep.KindTOTP, Label: label, SecretSealed: sealed, CreatedAt: now}); err != nil {
			return err
		}
		if keep {
			return s.keepResult(ctx, tx, p, ResultTOTP, totpResult{MethodID: id, Secret: secret}, now)
		}
		return nil
	})
	if err != nil {
		return TOTPEnrollment{}, err
	}
	url := twostep.TOTPURL("SellerGuard", p.User.Email, secret)
	qr, err := qrDataURL(url)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	return TOTPEnrollment{MethodID: id, Secret: secret, URL: url, QRDataURL: qr}, nil
}

func qrDataURL(u string) (string, error) {
	key, err := otp.NewKeyFromURL(u)
	if err != nil {
		return "", err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// ConfirmTOTP finishes an authenticator-app enrolment with a code from it.
func (s *Service) ConfirmTOTP(ctx context.Context, p *Principal, methodID, code string, meta RequestMeta) (store.TwoStepMethod, error) {
	if err := p.RequireFull(); err != nil {
		return store.TwoStepMethod{}, err
	}
	now := s.now()
	var m store.TwoStepMethod
	var wrong bool
	err := s.DB.WithUserTx(ctx, p.User.ID, func(tx *store.Tx) error {
		var err error
		m, err = tx.FindMethod(ctx, p.User.ID, methodID)
		if errors.Is(err, store.ErrNotFound) || err == nil && (m.Kind != twostep.KindTOTP || m.Confirmed || m.Held) {
			return errNoSuchMethod
		}
		if err != nil {
			return err
		}
		secret, err := s.Keys.Open("totp", m.SecretSealed, []byte(m.ID))
		if err != nil {
			return err
		}
		step, ok, err := twostep.VerifyTOTP(string(secret), code, now, 0)
		if err != nil {
			return err
		}
		if !ok {
			// At most five tries per enrolment, then it is gone: start again.
			wrong = true
			retry, err := s.Limiter.Hit(ctx, tx, "confirm:"+m.ID, meta.IP, now, 4, time.Hour)
			if err != nil || retry.IsZero() {
				return err
			}
			return tx.DeleteMethod(ctx, p.User.ID, m.ID)
		}
		if err := tx.ConfirmMethod(ctx, p.User.ID, m.ID, step, now); err != nil {
			return err
		}
		m.Confirmed, m.LastStep = true, step
		return s.methodChanged(ctx, tx, p, meta, now, "two_step.method_added", m)
	})
	if err != nil {
		return store.TwoStepMethod{}, err
	}
	if wrong {
		return store.TwoStepMethod{}, errWrongSecondStep
	}
	return m, nil
}

// methodChanged writes the audit event and the notification (which cannot be
// switched off) of a change to the user's second steps.
func (s *Service) methodChanged(ctx context.Context, tx *store.Tx, p *Principal, meta RequestMeta, now time.Time, action string, m store.TwoStepMethod) error {
	info := map[string]any{"id": m.ID, "kind": m.Kind, "label": m.Label}
	ev := audit.Entry{SubjectID: p.User.ID, ActorID: p.User.ID, ActorEmail: p.User.Email, IP: meta.IP, UserAgent: meta.UserAgent,
		Action: action, Category: sellerguard.CategoryAccount, TargetType: "two_step_method", TargetID: m.ID}
	if strings.HasSuffix(action, "removed") {
		ev.Before = info
	} else {
		ev.After = info
	}
	if err := audit.Append(ctx, tx, now, ev); err != nil {
		return err
	}
	if err := s.Cache.Revoke(ctx, tx, p.User.ID); err != nil {
		return err
	}
	return s.sendEmail(ctx, tx, now, withEvent(twoStepChangedEmail(p.User.Email, action, m.Kind, m.Label, meta, now, s.Config.BaseURL), EventTwoStepChanged))
}

// RemoveMethod removes a second step. The last primary method cannot go
// while a business of the user requires two-step verification.
func (s *Service) RemoveMethod(ctx context.Context, p *Principal, methodID string, meta RequestMeta) error {
	if err := s.RequireRecentAuth(p); err != nil {
		return err
	}
	now := s.now()
	// Locked: two removals at once must not both see the other's method left.
	err := s.DB.WithUserTx(ctx, p.User.ID, func(tx *store.Tx) error {
		m, err := tx.FindMethod(ctx, p.User.ID, methodID)
		if errors.Is(err, store.ErrNotFound) {
			return errNoSuchMethod
		}
		if err != nil {
			return err
		}
		if m.Held {
			return sellerguard.Errorf(sellerguard.ECodeConflict, "This method is on hold since your sign-in email change was undone: keep or remove it on Secure my account.")
		}
		if err := tx.DeleteMethod(ctx, p.User.ID, m.ID); errors.Is(err, store.ErrNotFound) {
			return errNoSuchMethod
		} else if err != nil {
			return err
		}
		if m.Confirmed {
			prot, _, err := protectionOf(ctx, tx, p.User.ID)
			if err != nil {
				return err
			}
			if !prot.Enrolled {
				for _, ms := range p.Memberships {
					if ms.RequireTwoStep {
						return sellerguard.Errorf(sellerguard.ECodeConflict, "%s requires two-step verification. Add another method before you remove this one.", ms.BusinessName)
					}
				}
			}
		}
		return s.methodChanged(ctx, tx, p, meta, now, "two_step.method_removed", m)
	})
	if err != nil {
		return err
	}
	return nil
}

// RegenerateBackupCodes makes a new set of ten backup codes, shown once;
// the old set stops working.
func (s *Service) RegenerateBackupCodes(ctx context.Context, p *Principal, meta RequestMeta) ([]string, error) {
	return s.regenerateBackupCodes(ctx, p, meta, false)
}

// RegenerateBackupCodesKept is RegenerateBackupCodes for a page: the new
// codes are kept for this session (KeptBackupCodes) in the same
// transaction, for the page the POST redirects to.
func (s *Service) RegenerateBackupCodesKept(ctx context.Context, p *Principal, meta RequestMeta) error {
	_, err := s.regenerateBackupCodes(ctx, p, meta, true)
	return err
}

func (s *Service) regenerateBackupCodes(ctx context.Context, p *Principal, meta RequestMeta, keep bool) ([]string, error) {
	if err := s.RequireRecentAuth(p); err != nil {
		return nil, err
	}
	codes, err := twostep.NewBackupCodes()
	if err != nil {
		return nil, err
	}
	macs := make([]string, len(codes))
	for i, c := range codes {
		macs[i] = s.Keys.MAC("backup-code", p.User.ID, twostep.NormalizeBackupCode(c))
	}
	now := s.now()
	err = s.DB.WithUserTx(ctx, p.User.ID, func(tx *store.Tx) error {
		if err := tx.ReplaceBackupCodes(ctx, p.User.ID, macs, now); err != nil {
			return err
		}
		if keep {
			if err := s.keepResult(ctx, tx, p, ResultBackupCodes, BackupCodesResult{Codes: codes, Replaced: p.TwoStep.BackupLeft > 0}, now); err != nil {
				return err
			}
		}
		return s.methodChanged(ctx, tx, p, meta, now, "two_step.backup_codes_regenerated", store.TwoStepMethod{ID: "backup_codes", Kind: twostep.KindBackup, Label: fmt.Sprintf("%d backup codes", len(codes))})
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// ListTrustedBrowsers lists the browsers that skip the second step.
func (s *Service) ListTrustedBrowsers(ctx context.Context, p *Principal) ([]store.TrustedBrowser, error) {
	if err := p.RequireFull(); err != nil {
		return nil, err
	}
	return s.DB.ListTrustedBrowsers(ctx, p.User.ID, s.now())
}

// ForgetTrustedBrowser makes a browser ask for the second step again.
func (s *Service) ForgetTrustedBrowser(ctx context.Context, p *Principal, id string, meta RequestMeta) error {
	if err := p.RequireFull(); err != nil {
		return err
	}
	now := s.now()
	err := s.DB.WithUserTx(ctx, p.User.ID, func(tx *store.Tx) error {
		if err := tx.DeleteTrustedBrowser(ctx, p.User.ID, id); errors.Is(err, store.ErrNotFound) {
			return sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such trusted browser.")
		} else if err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, audit.Entry{SubjectID: p.User.ID, ActorID: p.User.ID, ActorEmail: p.User.Email, IP: meta.IP, UserAgent: meta.UserAgent,
			Action: "two_step.trusted_browser_removed", Category: sellerguard.CategoryAccount, TargetType: "trusted_browser", TargetID: id})
	})
	return err
}

// SetBusinessTwoStep turns a business's requirement on or off (owner only,
// recent sign-in). It cannot be turned off while members other than the
// owner belong to the business: they may handle payments.
//
// An owner who has not enrolled may change it too: it is their business's
// explicit, audited choice, and without a second step of their own anyone
// with their password could anyway.
func (s *Service) SetBusinessTwoStep(ctx context.Context, p *Principal, businessID string, required bool, meta RequestMeta) error {
	if err := p.RequireFull(); err != nil {
		return err
	}
	if err := p.RequireOwner(businessID, "set the business's two-step rule"); err != nil {
		return err
	}
	if err := s.RequireRecentAuth(p); err != nil {
		return err
	}
	now := s.now()
	var before bool
	for _, m := range p.Memberships {
		if m.BusinessID == businessID {
			before = m.RequireTwoStep
		}
	}
	err := s.DB.WithBusinessTx(ctx, businessID, func(tx *store.Tx) error {
		if !required {
			others, err := tx.CountOtherMembers(ctx, businessID, p.User.ID)
			if err != nil {
				return err
			}
			if others > 0 {
				return sellerguard.Errorf(sellerguard.ECodeConflict, "Two-step verification stays required while other people belong to this business.")
			}
		}
		if err := tx.SetBusinessTwoStep(ctx, businessID, required); err != nil {
			return err
		}
		return s.businessRuleChanged(ctx, tx, now, p, meta, businessID, "business.two_step_requirement_changed",
			map[string]any{"required": before}, map[string]any{"required": required}, true,
			"email.rule_two_step", "Actor", p.User.Email, "Rule", requiresOrNot("email.rule_two_step", required))
	})
	return s.afterBusinessRuleChanged(err, true)
}

// SecondStepMethods lists the kinds of second step the user can finish a
// sign-in (or a re-authentication) with; a partial session may ask.
func (s *Service) SecondStepMethods(ctx context.Context, p *Principal) ([]string, error) {
	prot, ms, err := protectionOf(ctx, s.DB, p.User.ID)
	if err != nil {
		return nil, err
	}
	return methodKinds(ms, prot.BackupLeft), nil
}
