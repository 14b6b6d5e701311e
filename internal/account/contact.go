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
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/keys"
	"github.com/sellerguard/sellerguard/internal/limiter"
	"github.com/sellerguard/sellerguard/internal/outbox"
	"github.com/sellerguard/sellerguard/internal/recovery"
	"github.com/sellerguard/sellerguard/internal/sms"
	"github.com/sellerguard/sellerguard/internal/store"
)

// Contact-change tunables.
const (
	contactCodeTTL     = 10 * time.Minute
	contactMaxAttempts = 5
	revertTTL          = 7 * 24 * time.Hour
)

var errContactCode = sellerguard.Errorf(sellerguard.ECodeInvalidCode, "That code is not valid. Check the newest message, or start the change again.")

func (s *Service) sealFor(userID, value string) (string, error) {
	return s.Keys.Seal("contact", []byte(value), []byte(userID))
}

// StartEmailChange sends a code to the new address; the change happens only
// once it is entered. An address that belongs to another account gets the
// same answer (its owner is told someone tried to use it; no code).
func (s *Service) StartEmailChange(ctx context.Context, p *Principal, newEmail string, meta RequestMeta) error {
	if err := s.RequireRecentAuth(p); err != nil {
		return err
	}
	addr, fe := validateEmail("email", newEmail)
	if fe != nil {
		return sellerguard.Invalid(*fe)
	}
	norm := NormalizeEmail(addr)
	if norm == NormalizeEmail(p.User.Email) {
		return sellerguard.Invalid(sellerguard.FieldError{Field: "email", Code: "unchanged", Message: "That is already your sign-in email."})
	}
	now := s.now()
	code, err := sixDigitCode()
	if err != nil {
		return err
	}
	sealed, err := s.sealFor(p.User.ID, addr)
	if err != nil {
		return err
	}
	err = s.DB.WithUserTx(ctx, p.User.ID, func(tx *store.Tx) error {
		if err := s.checkContactSource(ctx, tx, meta, now); err != nil {
			return err
		}
		if err := tx.SupersedeContactChanges(ctx, p.User.ID, "email"); err != nil {
			return err
		}
		if err := tx.PutContactChange(ctx, store.ContactChange{
			ID: NewID("chg"), UserID: p.User.ID, Kind: "email", NewValueSealed: sealed, OldEmailNorm: NormalizeEmail(p.User.Email),
			CodeMAC: s.Keys.MAC("contact-code", p.User.ID, "email", code), ExpiresAt: now.Add(contactCodeTTL), Status: "pending", CreatedAt: now,
		}); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, now, audit.Entry{SubjectID: p.User.ID, ActorID: p.User.ID, ActorEmail: p.User.Email, IP: meta.IP, UserAgent: meta.UserAgent,
			Action: "account.email_change_started", Category: sellerguard.CategoryAccount, TargetType: "user", TargetID: p.User.ID,
			After: map[string]any{"new_email": addr}}); err != nil {
			return err
		}
		other, err := tx.FindUserByEmail(ctx, norm)
		switch {
		case err == nil:
			return s.sendEmail(ctx, tx, now, tmail("", other.Email, "email.email_taken", "BaseURL", s.Config.BaseURL))
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		m := tmail("", addr, "email.email_confirm", "Code", code, "BaseURL", s.Config.BaseURL)
		m.UserID = p.User.ID // the account's own anti-phishing phrase
		return s.sendEmail(ctx, tx, now, m)
	})
	if err != nil {
		return err
	}
	return nil
}

// checkContactSource limits code sends and tries per address.
func (s *Service) checkContactSource(ctx context.Context, tx *store.Tx, meta RequestMeta, now time.Time) error {
	retry, err := s.Limiter.Hit(ctx, tx, limiter.SourceKey("contact", meta.IP), meta.IP, now, s.Limits.SignupsPerSource, s.Limits.SourceWindow)
	if err != nil {
		return err
	}
	if !retry.IsZero() {
		return rateLimited(retry.Sub(now))
	}
	return nil
}

// useContactCode checks a code against the user's pending change of kind,
// counting a wrong try (at most contactMaxAttempts per change). ok is false
// for a wrong, used-up or missing code.
func (s *Service) useContactCode(ctx context.Context, tx *store.Tx, userID, kind, code string, now time.Time) (c store.ContactChange, ok bool, err error) {
	// One confirmation at a time: a code sent twice at once confirms once
	// (one change, one notice with one revert code), and no wrong attempt
	// goes uncounted.
	if err := tx.LockUser(ctx, userID); err != nil {
		return c, false, err
	}
	c, err = tx.PendingContactChange(ctx, userID, kind, now)
	if errors.Is(err, store.ErrNotFound) {
		return c, false, nil
	}
	if err != nil {
		return c, false, err
	}
	if c.Attempts >= contactMaxAttempts || len(code) > 16 || !keys.EqualMAC(c.CodeMAC, s.Keys.MAC("contact-code", userID, kind, code)) {
		c.Attempts++
		return c, false, tx.PutContactChange(ctx, c)
	}
	return c, true, nil
}

// ConfirmEmailChange completes the change with the code sent to the new
// address. The old address is told at once and gets a revert code, valid 7
// days, that undoes the change and ends every session.
func (s *Service) ConfirmEmailChange(ctx context.Context, p *Principal, code string, meta RequestMeta) (string, error) {
	if err := p.RequireFull(); err != nil {
		return "", err
	}
	now := s.now()
	code = strings.TrimSpace(code)
	var newAddr string
	var wrong, taken bool
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		c, ok, err := s.useContactCode(ctx, tx, p.User.ID, "email", code, now)
		if err != nil || !ok {
			wrong = !ok
			return err
		}
		raw, err := s.Keys.Open("contact", c.NewValueSealed, []byte(p.User.ID))
		if err != nil {
			return err
		}
		newAddr = string(raw)
		if err := tx.ChangeUserEmail(ctx, p.User.ID, newAddr, NormalizeEmail(newAddr), now); errors.Is(err, store.ErrConflict) {
			// Registered meanwhile: the change is over (committed, so its
			// code is used up), and the answer says why.
			c.Status, taken = "superseded", true
			return tx.PutContactChange(ctx, c)
		} else if err != nil {
			return err
		}
		// For 30 days, critical notices also go to the previous address
		// (internal/notify).
		if err := tx.AddPreviousEmail(ctx, p.User.ID, p.User.Email, NormalizeEmail(p.User.Email), now); err != nil {
			return err
		}
		revert, err := recovery.NewRevertCode() // 80 bits: no attempt limit needed
		if err != nil {
			return err
		}
		oldSealed, err := s.sealFor(p.User.ID, p.User.Email)
		if err != nil {
			return err
		}
		c.Status, c.DoneAt, c.OldValueSealed = "done", now, oldSealed
		c.RevertMAC, c.RevertExpiresAt = s.Keys.MAC("revert-code", c.ID, recovery.NormalizeRevertCode(revert)), now.Add(revertTTL)
		if err := tx.PutContactChange(ctx, c); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, now, audit.Entry{SubjectID: p.User.ID, ActorID: p.User.ID, ActorEmail: newAddr, IP: meta.IP, UserAgent: meta.UserAgent,
			Action: "account.email_changed", Category: sellerguard.CategoryAccount, TargetType: "user", TargetID: p.User.ID,
			Before: map[string]any{"email": p.User.Email}, After: map[string]any{"email": newAddr}}); err != nil {
			return err
		}
		if err := s.Cache.Revoke(ctx, tx, p.User.ID); err != nil {
			return err
		}
		old := tmail(EventEmailChanged, p.User.Email, "email.email_changed", "New", newAddr, "When", now, "IP", meta.IP, "Code", revert, "BaseURL", s.Config.BaseURL)
		old.UserID = p.User.ID
		// The old address no longer belongs to the account: enqueue directly,
		// with the account's phrase; this notice cannot be switched off.
		phrase, err := tx.PhishingPhraseOf(ctx, p.User.ID)
		if err != nil {
			return err
		}
		lang, err := tx.LanguageOf(ctx, p.User.ID)
		if err != nil {
			return err
		}
		if s.Notify != nil { // email to the old address, and a text if the user chose one
			if err := s.Notify(ctx, tx, now, old, outbox.PhraseHeaderIn(lang, phrase)); err != nil {
				return err
			}
		} else {
			old = outbox.Localize(old, lang)
			old.Body = outbox.PhraseHeaderIn(lang, phrase) + old.Body
			if err := outbox.Enqueue(ctx, tx, now, old); err != nil {
				return err
			}
		}
		return s.sendEmail(ctx, tx, now, tmail(EventEmailChanged, newAddr, "email.email_now_yours", "BaseURL", s.Config.BaseURL))
	})
	if err != nil {
		return "", err
	}
	if wrong {
		return "", errContactCode
	}
	if taken {
		return "", sellerguard.Errorf(sellerguard.ECodeConflict, "That address is no longer available. Choose another one.")
	}
	return newAddr, nil
}

// RevertEmailChange undoes an email change with the revert code sent to the
// old address and starts a recovery: the old address is the sign-in email
// again, every session ends, the password in place stops working, and the
// answer is a recovery token for choosing a new one at once. The 80-bit code
// has no attempt limit (wrong tries cannot burn it); guesses count against
// their source. It needs no session: the owner may be locked out.
func (s *Service) RevertEmailChange(ctx context.Context, oldEmail, code string, meta RequestMeta) (recoveryToken string, err error) {
	now := s.now()
	if err := s.checkSource(ctx, "code", meta.IP, s.Limiter.Config.SourceLimit, now); err != nil {
		return "", err
	}
	oldNorm := NormalizeEmail(oldEmail)
	code = recovery.NormalizeRevertCode(code)
	unusable, err := s.unusablePasswordHash(ctx, code)
	if err != nil {
		return "", err
	}
	var wrong bool
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		find := func() (*store.ContactChange, error) {
			changes, err := tx.RevertableEmailChanges(ctx, oldNorm, now)
			if err != nil {
				return nil, err
			}
			for i := range changes {
				c := &changes[i]
				if code != "" && keys.EqualMAC(c.RevertMAC, s.Keys.MAC("revert-code", c.ID, code)) {
					return c, nil
				}
			}
			return nil, nil
		}
		hit, err := find()
		if err == nil && hit != nil {
			// One undo at a time: after the lock, the code is looked for
			// again, and an undo that committed meanwhile has used it.
			if err := tx.LockUser(ctx, hit.UserID); err != nil {
				return err
			}
			hit, err = find()
		}
		if err != nil {
			return err
		}
		if hit == nil {
			wrong = true
			_, err := s.Limiter.SourceFailure(ctx, tx, limiter.SourceKey("code", meta.IP), meta.IP, now)
			return err
		}
		u, err := tx.FindUserByID(ctx, hit.UserID)
		if err != nil {
			return err
		}
		raw, err := s.Keys.Open("contact", hit.OldValueSealed, []byte(hit.UserID))
		if err != nil {
			return err
		}
		oldAddr := string(raw)
		if err := tx.ChangeUserEmail(ctx, u.ID, oldAddr, NormalizeEmail(oldAddr), now); errors.Is(err, store.ErrConflict) {
			return sellerguard.Errorf(sellerguard.ECodeConflict, "That address now belongs to another account, so it cannot come back to this one. Your sign-in email stays as it is; sign in and choose Secure my account.")
		} else if err != nil {
			return err
		}
		hit.Status = "reverted"
		if err := tx.PutContactChange(ctx, *hit); err != nil {
			return err
		}
		// The codes of later changes went to addresses that were not the
		// owner's (an intruder's first new address could undo this undo),
		// and those addresses get no copies of the account's notices.
		if err := tx.EndEmailChangesSince(ctx, u.ID, hit.DoneAt); err != nil {
			return err
		}
		if err := tx.DeletePreviousEmailsSince(ctx, u.ID, NormalizeEmail(oldAddr), hit.DoneAt); err != nil {
			return err
		}
		holds, err := s.holdAddedSince(ctx, tx, u, oldAddr, hit.ID, hit.CreatedAt, meta, now)
		if err != nil {
			return err
		}
		ids, err := tx.DeleteOtherSessions(ctx, u.ID, "")
		if err != nil {
			return err
		}
		if _, err := tx.DeleteAllTrustedBrowsers(ctx, u.ID); err != nil {
			return err
		}
		if recoveryToken, err = s.startRevertRecovery(ctx, tx, u, unusable, now); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, now, audit.Entry{SubjectID: u.ID, ActorEmail: oldAddr, IP: meta.IP, UserAgent: meta.UserAgent,
			Action: "account.email_change_reverted", Category: sellerguard.CategoryAccount, TargetType: "user", TargetID: u.ID,
			Before: map[string]any{"email": u.Email}, After: map[string]any{"email": oldAddr, "sessions_ended": len(ids), "password": "disabled until the owner sets a new one", "held": len(holds)}}); err != nil {
			return err
		}
		if err := s.Cache.Revoke(ctx, tx, u.ID); err != nil {
			return err
		}
		held := ""
		for i, h := range holds {
			if i > 0 {
				held += "\n"
			}
			held += "  - " + h.Summary
		}
		return s.sendEmail(ctx, tx, now, tmail(EventEmailChanged, oldAddr, "email.email_back", "Ended", len(ids), "Held", held, "BaseURL", s.Config.BaseURL))
	})
	if err != nil {
		return "", err
	}
	if wrong {
		return "", errContactCode
	}
	return recoveryToken, nil
}

// StartPhoneChange sends a code by text to the new mobile number.
func (s *Service) StartPhoneChange(ctx context.Context, p *Principal, phone string, meta RequestMeta) (string, error) {
	if err := s.RequireRecentAuth(p); err != nil {
		return "", err
	}
	if !s.SMS.Available {
		return "", sellerguard.Errorf(sellerguard.ECodeConflict, "Text messages are not available on this SellerGuard.")
	}
	if len(phone) > 32 {
		return "", sellerguard.Invalid(sellerguard.FieldError{Field: "phone", Code: "too_long", Message: "A mobile number has at most 15 digits."})
	}
	e164, err := sms.NormalizeNumber(phone)
	if err != nil {
		return "", sellerguard.Invalid(sellerguard.FieldError{Field: "phone", Code: "invalid_phone", Message: fmt.Sprintf("Enter a mobile number in international form, like %s.", sms.ExampleNumber)})
	}
	now := s.now()
	code, err := sixDigitCode()
	if err != nil {
		return "", err
	}
	sealed, err := s.sealFor(p.User.ID, e164)
	if err != nil {
		return "", err
	}
	err = s.DB.WithUserTx(ctx, p.User.ID, func(tx *store.Tx) error {
		if err := s.checkContactSource(ctx, tx, meta, now); err != nil {
			return err
		}
		phoneMAC := s.Keys.MAC("phone", e164)
		for _, cap := range []struct {
			key   string
			limit int
		}{{"sms:num:" + phoneMAC, s.SMS.PerNumberHour}, {"sms:user:" + p.User.ID, s.SMS.PerUserHour}} {
			if retry, err := s.Limiter.Over(ctx, tx, cap.key, now, cap.limit, time.Hour); err != nil {
				return err
			} else if !retry.IsZero() {
				return rateLimited(retry.Sub(now))
			}
			if _, err := s.Limiter.Hit(ctx, tx, cap.key, meta.IP, now, 1<<30, time.Hour); err != nil {
				return err
			}
		}
		if err := tx.SupersedeContactChanges(ctx, p.User.ID, "phone"); err != nil {
			return err
		}
		if err := tx.PutContactChange(ctx, store.ContactChange{
			ID: NewID("chg"), UserID: p.User.ID, Kind: "phone", NewValueSealed: sealed,
			CodeMAC: s.Keys.MAC("contact-code", p.User.ID, "phone", code), ExpiresAt: now.Add(contactCodeTTL), Status: "pending", CreatedAt: now,
		}); err != nil {
			return err
		}
		return outbox.Enqueue(ctx, tx, now, sellerguard.OutboxMessage{Channel: sellerguard.ChannelSMS, To: e164, UserID: p.User.ID, Body: smsText(p.User.WritingLanguage(), code)})
	})
	if err != nil {
		return "", err
	}
	return sms.Last4(e164), nil
}

// ConfirmPhoneChange completes a mobile number change. The old number (by
// text) and the email are told; the change counts as adding a method.
func (s *Service) ConfirmPhoneChange(ctx context.Context, p *Principal, code string, meta RequestMeta) error {
	if err := p.RequireFull(); err != nil {
		return err
	}
	now := s.now()
	code = strings.TrimSpace(code)
	var wrong bool
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		c, ok, err := s.useContactCode(ctx, tx, p.User.ID, "phone", code, now)
		if err != nil || !ok {
			wrong = !ok
			return err
		}
		raw, err := s.Keys.Open("contact", c.NewValueSealed, []byte(p.User.ID))
		if err != nil {
			return err
		}
		e164 := string(raw)
		info, err := tx.UserContact(ctx, p.User.ID)
		if err != nil {
			return err
		}
		oldPhone := ""
		if info.PhoneSealed != "" {
			if b, err := s.Keys.Open("phone", info.PhoneSealed, []byte(p.User.ID)); err == nil {
				oldPhone = string(b)
			}
		}
		sealed, err := s.Keys.Seal("phone", []byte(e164), []byte(p.User.ID))
		if err != nil {
			return err
		}
		if err := tx.SetUserPhoneNumber(ctx, p.User.ID, sealed, s.Keys.MAC("phone", e164), now); err != nil {
			return err
		}
		c.Status, c.DoneAt = "done", now
		if err := tx.PutContactChange(ctx, c); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, now, audit.Entry{SubjectID: p.User.ID, ActorID: p.User.ID, ActorEmail: p.User.Email, IP: meta.IP, UserAgent: meta.UserAgent,
			Action: "account.phone_changed", Category: sellerguard.CategoryAccount, TargetType: "user", TargetID: p.User.ID,
			Before: map[string]any{"phone": last4OrNone(oldPhone)}, After: map[string]any{"phone": sms.Last4(e164)}}); err != nil {
			return err
		}
		if oldPhone != "" && oldPhone != e164 {
			if err := outbox.Enqueue(ctx, tx, now, sellerguard.OutboxMessage{Channel: sellerguard.ChannelSMS, To: oldPhone, UserID: p.User.ID, Event: EventPhoneChanged,
				Body: i18n.Default().T(i18n.OrDefault(p.User.WritingLanguage()), "sms.phone_changed")}); err != nil {
				return err
			}
		}
		// The account page's sentence for this change (internal/history).
		what := history.Text{Viewer: p.User.ID, Event: history.Event{Action: "account.phone_changed", ActorID: p.User.ID,
			Before: map[string]any{"phone": last4OrNone(oldPhone)}, After: map[string]any{"phone": sms.Last4(e164)}}}
		return s.sendEmail(ctx, tx, now, tmail(EventPhoneChanged, p.User.Email, "email.phone_changed",
			"What", what, "When", now, "IP", meta.IP, "BaseURL", s.Config.BaseURL))
	})
	if err != nil {
		return err
	}
	if wrong {
		return errContactCode
	}
	s.Cache.InvalidateUser(p.User.ID)
	return nil
}

func last4OrNone(e164 string) string {
	if e164 == "" {
		return "none"
	}
	return sms.Last4(e164)
}

// ContactOverview is what the account shows of the user's contacts.
type ContactOverview struct {
	Email            string
	Phone            string // "•••• 0123", "" when none
	EmailConfirmedAt time.Time
	PhoneConfirmedAt time.Time
	EmailDue         bool // "is this still yours?" is due for the email
	PhoneDue         bool // … and for the mobile number
}

// Contact returns the user's contact details as the overview shows them.
func (s *Service) Contact(ctx context.Context, p *Principal) (ContactOverview, error) {
	info, err := s.DB.UserContact(ctx, p.User.ID)
	if err != nil {
		return ContactOverview{}, err
	}
	ov := ContactOverview{Email: p.User.Email, EmailConfirmedAt: info.EmailConfirmedAt, PhoneConfirmedAt: info.PhoneConfirmedAt}
	if info.PhoneSealed != "" {
		if b, err := s.Keys.Open("phone", info.PhoneSealed, []byte(p.User.ID)); err == nil {
			ov.Phone = sms.Last4(string(b))
		}
	}
	ov.EmailDue, ov.PhoneDue = s.contactDue(info, p.User.CreatedAt)
	return ov, nil
}

// contactDue reports whether "is this still yours?" is due for the email
// and for the mobile number: last confirmed longer ago than ContactCheckAge
// (a number never confirmed counts from the account's creation).
func (s *Service) contactDue(info store.ContactInfo, created time.Time) (email, phone bool) {
	if s.ContactCheckAge <= 0 {
		return false, false
	}
	now := s.Now()
	email = !info.EmailConfirmedAt.IsZero() && now.Sub(info.EmailConfirmedAt) > s.ContactCheckAge
	if info.PhoneSealed != "" {
		since := info.PhoneConfirmedAt
		if since.IsZero() {
			since = created
		}
		phone = now.Sub(since) > s.ContactCheckAge
	}
	return email, phone
}

// StartContactConfirmation sends a code to the user's current email (or
// mobile number): "is this still yours?".
func (s *Service) StartContactConfirmation(ctx context.Context, p *Principal, kind string, meta RequestMeta) error {
	if err := p.RequireFull(); err != nil {
		return err
	}
	if kind != "email" && kind != "phone" {
		return sellerguard.Invalid(sellerguard.FieldError{Field: "kind", Code: "invalid_kind", Message: "Confirm your email or your phone."})
	}
	now := s.now()
	code, err := sixDigitCode()
	if err != nil {
		return err
	}
	err = s.DB.WithUserTx(ctx, p.User.ID, func(tx *store.Tx) error {
		if err := s.checkContactSource(ctx, tx, meta, now); err != nil {
			return err
		}
		info, err := tx.UserContact(ctx, p.User.ID)
		if err != nil {
			return err
		}
		if kind == "phone" && info.PhoneSealed == "" {
			return sellerguard.Errorf(sellerguard.ECodeConflict, "Your account has no mobile number.")
		}
		if err := tx.SupersedeContactChanges(ctx, p.User.ID, "confirm_"+kind); err != nil {
			return err
		}
		if err := tx.PutContactChange(ctx, store.ContactChange{ID: NewID("chg"), UserID: p.User.ID, Kind: "confirm_" + kind,
			CodeMAC: s.Keys.MAC("contact-code", p.User.ID, "confirm_"+kind, code), ExpiresAt: now.Add(contactCodeTTL), Status: "pending", CreatedAt: now}); err != nil {
			return err
		}
		if kind == "phone" {
			raw, err := s.Keys.Open("phone", info.PhoneSealed, []byte(p.User.ID))
			if err != nil {
				return err
			}
			return outbox.Enqueue(ctx, tx, now, sellerguard.OutboxMessage{Channel: sellerguard.ChannelSMS, To: string(raw), UserID: p.User.ID, Body: smsText(p.User.WritingLanguage(), code)})
		}
		return s.sendEmail(ctx, tx, now, tmail("", p.User.Email, "email.still_yours_code", "Code", code, "BaseURL", s.Config.BaseURL))
	})
	if err != nil {
		return err
	}
	return nil
}

// ConfirmContact records that the email (or phone) is still the user's.
func (s *Service) ConfirmContact(ctx context.Context, p *Principal, kind, code string, meta RequestMeta) error {
	if err := p.RequireFull(); err != nil {
		return err
	}
	if kind != "email" && kind != "phone" {
		return sellerguard.Invalid(sellerguard.FieldError{Field: "kind", Code: "invalid_kind", Message: "Confirm your email or your phone."})
	}
	now := s.now()
	code = strings.TrimSpace(code)
	var wrong bool
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		c, ok, err := s.useContactCode(ctx, tx, p.User.ID, "confirm_"+kind, code, now)
		if err != nil || !ok {
			wrong = !ok
			return err
		}
		c.Status, c.DoneAt = "done", now
		if err := tx.PutContactChange(ctx, c); err != nil {
			return err
		}
		if err := tx.SetContactConfirmed(ctx, p.User.ID, kind, now); err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, audit.Entry{SubjectID: p.User.ID, ActorID: p.User.ID, ActorEmail: p.User.Email, IP: meta.IP, UserAgent: meta.UserAgent,
			Action: "account." + kind + "_confirmed", Category: sellerguard.CategoryAccount, TargetType: "user", TargetID: p.User.ID})
	})
	if err != nil {
		return err
	}
	if wrong {
		return errContactCode
	}
	return nil
}

// AskContactConfirmations emails users whose email or mobile number was
// last confirmed more than ContactCheckAge ago: "is this still yours?"
// (once a month at most).
func (s *Service) AskContactConfirmations(ctx context.Context) (int, error) {
	if s.ContactCheckAge <= 0 {
		return 0, nil
	}
	now := s.now()
	due, err := s.DB.UsersDueForContactCheck(ctx, now.Add(-s.ContactCheckAge), 200)
	if err != nil {
		return 0, err
	}
	asked := 0
	for _, u := range due {
		err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
			c, err := tx.GetCounter(ctx, "contactask:"+u.ID, now)
			if err != nil || c.Count > 0 {
				return err
			}
			// The increment claims the question: another instance that
			// listed the same user sees a count past 1 and asks nothing.
			if c, err := tx.IncrementCounter(ctx, "contactask:"+u.ID, now, time.Time{}, now.Add(30*24*time.Hour), ""); err != nil || c.Count != 1 {
				return err
			}
			asked++
			return s.sendEmail(ctx, tx, now, tmail(EventContactCheck, u.Email, "email.contact_check", "Days", int(now.Sub(u.Since).Hours()/24), "BaseURL", s.Config.BaseURL))
		})
		if err != nil {
			return asked, err
		}
	}
	return asked, nil
}
