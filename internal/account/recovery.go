package account

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/limiter"
	"github.com/sellerguard/sellerguard/internal/outbox"
	"github.com/sellerguard/sellerguard/internal/password"
	"github.com/sellerguard/sellerguard/internal/recovery"
	"github.com/sellerguard/sellerguard/internal/store"
)

// EventAccountRecovery tells the addresses on file of every recovery
// attempt: a wrong code, a code that stopped working, a password reset.
const EventAccountRecovery = "security.account_recovery"

var errRecoveryCode = sellerguard.Errorf(sellerguard.ECodeInvalidCode,
	"That code is not valid. Check the newest email from SellerGuard, or ask for a new code.")

var errRecoveryToken = sellerguard.Errorf(sellerguard.ECodeInvalidCode,
	"This password reset has expired or was already used. Start again from \"Can't sign in?\".")

func (s *Service) recoveryRules() *recovery.Rules {
	return &recovery.Rules{Keys: s.Keys, Limiter: s.Limiter}
}

// StartRecovery is "Forgot password": the account of the address, if there
// is one, gets a six-digit code at its email on file. The answer is the same,
// after the same database work, whether or not the address has an account.
func (s *Service) StartRecovery(ctx context.Context, addr string, meta RequestMeta) error {
	e, fe := validateEmail("email", addr)
	if fe != nil {
		return sellerguard.Invalid(*fe)
	}
	emailNorm := NormalizeEmail(e)
	now := s.now()
	if err := s.checkSource(ctx, "recovery", meta.IP, s.Limits.SignupsPerSource, now); err != nil {
		return err
	}
	rules := s.recoveryRules()
	start := time.Now()
	known := false
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		// The code email waits for the pace (woken below): delivered at
		// commit, it would slow a registered address's own answer.
		tx.HoldOutboxWake()
		if _, err := s.Limiter.Hit(ctx, tx, limiter.SourceKey("recovery", meta.IP), meta.IP, now, s.Limits.SignupsPerSource, s.Limits.SourceWindow); err != nil {
			return err
		}
		u, err := tx.FindUserByEmail(ctx, emailNorm)
		known = err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		code, err := rules.Issue(ctx, tx, emailNorm, u.ID, meta.IP, now)
		if err != nil || !known {
			return err
		}
		if err := audit.Append(ctx, tx, now, audit.Entry{SubjectID: u.ID, IP: meta.IP, UserAgent: meta.UserAgent,
			Action: "account.recovery_requested", Category: sellerguard.CategoryAccount, TargetType: "user", TargetID: u.ID,
			After: map[string]any{"code_sent": code != ""}}); err != nil {
			return err
		}
		if code == "" {
			return nil // enough codes this hour: the newest one still works
		}
		m := tmail("", u.Email, "email.reset_code", "When", now, "IP", meta.IP, "Code", code, "BaseURL", s.Config.BaseURL)
		m.UserID = u.ID
		if err := s.sendEmail(ctx, tx, now, m); err != nil {
			return err
		}
		lang, err := tx.LanguageOf(ctx, u.ID)
		if err != nil {
			return err
		}
		return s.textOnFile(ctx, tx, now, u.ID, i18n.Default().T(i18n.OrDefault(lang), "sms.reset_asked"))
	})
	if err != nil {
		return err
	}
	s.RecoveryPace.Finish(ctx, start, known)
	s.DB.WakeOutbox() // both paths: which one enqueued is not to be seen
	return nil
}

// VerifyRecovery checks the emailed code and answers a recovery token, good
// once and only for RecoveryPassword. Every failure gives one error; wrong
// codes of a registered address are audited and its owner is told.
func (s *Service) VerifyRecovery(ctx context.Context, addr, code string, meta RequestMeta) (string, error) {
	e, fe := validateEmail("email", addr)
	if fe != nil {
		return "", sellerguard.Invalid(*fe)
	}
	if !recovery.WellFormedCode(code) {
		return "", sellerguard.Invalid(sellerguard.FieldError{Field: "code", Code: "invalid_code_format", Message: "The code is the six digits from the email."})
	}
	emailNorm := NormalizeEmail(e)
	now := s.now()
	if err := s.checkSource(ctx, "code", meta.IP, s.Limiter.Config.SourceLimit, now); err != nil {
		return "", err
	}
	var token string
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		// The tries of one account's code take turns: eight wrong codes at
		// once are eight of its five tries, not five plus three more.
		if err := tx.LockUserByEmail(ctx, emailNorm); err != nil {
			return err
		}
		out, err := s.recoveryRules().Verify(ctx, tx, emailNorm, code, meta.IP, now)
		if err != nil {
			return err
		}
		if !out.OK() {
			if _, err := s.Limiter.SourceFailure(ctx, tx, limiter.SourceKey("code", meta.IP), meta.IP, now); err != nil {
				return err
			}
		}
		if out.UserID == "" {
			return nil // no account (or no code): nothing to tell anyone
		}
		u, err := tx.FindUserByID(ctx, out.UserID)
		if err != nil {
			return err
		}
		if out.OK() {
			token = out.Token
			return audit.Append(ctx, tx, now, audit.Entry{SubjectID: u.ID, IP: meta.IP, UserAgent: meta.UserAgent,
				Action: "account.recovery_code_verified", Category: sellerguard.CategoryAccount, TargetType: "user", TargetID: u.ID})
		}
		if err := audit.Append(ctx, tx, now, audit.Entry{SubjectID: u.ID, IP: meta.IP, UserAgent: meta.UserAgent,
			Action: "account.recovery_code_failed", Category: sellerguard.CategoryAccount, TargetType: "user", TargetID: u.ID,
			After: map[string]any{"wrong_codes": out.Wrongs, "blocked": out.Blocked || out.Wrongs >= recovery.MaxWrongCodes}}); err != nil {
			return err
		}
		// Told at the first wrong code and when the codes stop working, not
		// at every guess (an attacker could flood the mailbox).
		if out.Blocked || (out.Wrongs != 1 && out.Wrongs != recovery.MaxWrongCodes) {
			return nil
		}
		line := msgT{Key: "email.reset_attempt.one_wrong"}
		if out.Wrongs >= recovery.MaxWrongCodes {
			line = msgT{Key: "email.reset_attempt.blocked", KV: []any{"Wrongs", out.Wrongs}}
		}
		return s.tellAddressesOnFile(ctx, tx, now, u, tmail(EventAccountRecovery, u.Email, "email.reset_attempt",
			"Line", line, "When", now, "IP", meta.IP, "BaseURL", s.Config.BaseURL))
	})
	if err != nil {
		return "", err
	}
	if token == "" {
		return "", errRecoveryCode
	}
	return token, nil
}

// RecoveryDone is what a recovery's new password led to.
type RecoveryDone struct {
	// Email is the account's sign-in email (for signing in next).
	Email string
	// Revert: the recovery was started by undoing a sign-in email change;
	// the owner goes on to Secure my account.
	Revert bool
	// Holds counts the items that wait for the owner's decision.
	Holds int
}

// RecoveryPassword sets a new password with a recovery token: the password
// policy applies as for any new password, every session of the account ends
// (on every instance), every trusted browser is forgotten, and every address
// on file is told. It signs nobody in: the next sign-in asks for the
// password and the second step.
func (s *Service) RecoveryPassword(ctx context.Context, token, newPassword string, meta RequestMeta) (RecoveryDone, error) {
	if !recovery.WellFormedToken(token) {
		return RecoveryDone{}, sellerguard.Invalid(sellerguard.FieldError{Field: "recovery_token", Code: "invalid_token", Message: "The recovery token is missing or malformed."})
	}
	if newPassword == "" {
		return RecoveryDone{}, sellerguard.Invalid(sellerguard.FieldError{Field: "password", Code: "required", Message: "Choose a new password."})
	}
	if len(newPassword) > password.MaxBytes {
		return RecoveryDone{}, sellerguard.Invalid(sellerguard.FieldError{Field: "password", Code: "too_long", Message: fmt.Sprintf("Use at most %d bytes.", password.MaxBytes)})
	}
	now := s.now()
	rules := s.recoveryRules()
	tok, ok, err := rules.Peek(ctx, s.DB, token, now)
	if err != nil {
		return RecoveryDone{}, err
	}
	if !ok {
		return RecoveryDone{}, errRecoveryToken
	}
	u, err := s.DB.FindUserByID(ctx, tok.UserID)
	if err != nil {
		return RecoveryDone{}, err
	}
	ms, err := s.DB.ListMemberships(ctx, u.ID)
	if err != nil {
		return RecoveryDone{}, err
	}
	pwRules, err := s.passwordRulesOf(ctx, u.ID, u.Email, ms)
	if err != nil {
		return RecoveryDone{}, err
	}
	hash, breachUnverified, err := s.newPassword(ctx, "password", u, pwRules, newPassword)
	if err != nil {
		return RecoveryDone{}, err
	}
	done := RecoveryDone{Email: u.Email, Revert: tok.Purpose == recovery.PurposeRevert}
	used := false
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		id, ok, err := rules.Redeem(ctx, tx, token, now)
		if err != nil {
			return err
		}
		if !ok || id != u.ID {
			used = true
			return nil
		}
		if err := s.storePassword(ctx, tx, u, hash, breachUnverified, now); err != nil {
			return err
		}
		// Sign-in locked by Seller Support opens again only here, through
		// the emailed code (internal/support).
		if err := tx.SetUserStatus(ctx, u.ID, sellerguard.UserActive); err != nil {
			return err
		}
		ids, err := tx.DeleteOtherSessions(ctx, u.ID, "")
		if err != nil {
			return err
		}
		browsers, err := tx.DeleteAllTrustedBrowsers(ctx, u.ID)
		if err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, now, audit.Entry{SubjectID: u.ID, ActorEmail: u.Email, IP: meta.IP, UserAgent: meta.UserAgent,
			Action: "account.password_reset", Category: sellerguard.CategoryAccount, TargetType: "user", TargetID: u.ID,
			Before: map[string]any{"changed_at": u.PasswordChangedAt},
			After:  map[string]any{"changed_at": now, "sessions_ended": len(ids), "trusted_browsers_forgotten": browsers, "by": "emailed code"}}); err != nil {
			return err
		}
		if err := s.Cache.Revoke(ctx, tx, u.ID); err != nil {
			return err
		}
		holds, err := tx.OpenHolds(ctx, u.ID)
		if err != nil {
			return err
		}
		done.Holds = len(holds)
		return s.tellAddressesOnFile(ctx, tx, now, u, tmail(EventAccountRecovery, u.Email, "email.password_reset",
			"When", now, "IP", meta.IP, "Ended", len(ids), "BaseURL", s.Config.BaseURL))
	})
	if err != nil {
		return RecoveryDone{}, err
	}
	if used {
		return RecoveryDone{}, errRecoveryToken
	}
	return done, nil
}

// tellAddressesOnFile sends a recovery notice to the account's email (it
// cannot be switched off) and a short text to its mobile number on file.
// m is written in the user's language, and so is the text (its subject).
func (s *Service) tellAddressesOnFile(ctx context.Context, tx *store.Tx, now time.Time, u store.UserRecord, m sellerguard.OutboxMessage) error {
	m.UserID = u.ID
	if err := s.sendEmail(ctx, tx, now, m); err != nil {
		return err
	}
	lang, err := tx.LanguageOf(ctx, u.ID)
	if err != nil {
		return err
	}
	l := i18n.OrDefault(lang)
	return s.textOnFile(ctx, tx, now, u.ID, i18n.Default().T(l, "sms.recovery", "Subject", outbox.Localize(m, lang).Subject))
}

// textOnFile sends a text to the user's mobile number on file, when there
// is one and texts can be delivered (the notice of a code request: always
// sent, like the code itself).
func (s *Service) textOnFile(ctx context.Context, tx *store.Tx, now time.Time, userID, text string) error {
	if !s.SMS.Available {
		return nil
	}
	info, err := tx.UserContact(ctx, userID)
	if err != nil || info.PhoneSealed == "" {
		return err
	}
	raw, err := s.Keys.Open("phone", info.PhoneSealed, []byte(userID))
	if err != nil {
		return nil // an unreadable number cannot be texted; the email went out
	}
	return outbox.Enqueue(ctx, tx, now, sellerguard.OutboxMessage{Channel: sellerguard.ChannelSMS, To: string(raw), UserID: userID, Body: text})
}

// unusablePasswordHash hashes 32 random bytes: the password of an account
// whose email change was undone, until the owner sets a new one (the
// intruder who changed the email may know the one in place). It is made
// only for a code that could be right (16 symbols, or 8 of an older code).
func (s *Service) unusablePasswordHash(ctx context.Context, normalizedCode string) (string, error) {
	if len(normalizedCode) != 16 && len(normalizedCode) != 8 {
		return "", nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	h, err := s.Hasher.Hash(ctx, hex.EncodeToString(b))
	if err != nil {
		return "", s.hashError(err)
	}
	return h, nil
}

// startRevertRecovery is the recovery an undone email change starts: the
// password in place stops working and the owner gets a recovery token to
// set a new one at once.
func (s *Service) startRevertRecovery(ctx context.Context, tx *store.Tx, u store.UserRecord, unusableHash string, now time.Time) (string, error) {
	if unusableHash == "" {
		return "", errors.New("auth: revert without an unusable password hash")
	}
	if s.Passwords.History > 0 { // the intruder may know it: never again
		if err := tx.PushPasswordHistory(ctx, u.ID, u.PasswordHash, now, s.Passwords.History); err != nil {
			return "", err
		}
	}
	if err := tx.UpdatePasswordHash(ctx, u.ID, unusableHash, now); err != nil {
		return "", err
	}
	return s.recoveryRules().IssueToken(ctx, tx, u.ID, recovery.PurposeRevert, now)
}
