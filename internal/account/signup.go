package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/keys"
	"github.com/sellerguard/sellerguard/internal/limiter"
	"github.com/sellerguard/sellerguard/internal/policy"
	"github.com/sellerguard/sellerguard/internal/sms"
	"github.com/sellerguard/sellerguard/internal/store"
)

// SignupInput is what a new seller gives.
type SignupInput struct {
	Email              string
	Password           string
	BusinessName       string
	Phone              string
	AntiPhishingPhrase string // optional; shown at the top of every email
	// Joining: the person was invited to a business and wants no business
	// of their own (BusinessName must then be empty). Their invitations
	// wait in their account after sign-up.
	Joining bool
}

// Signup starts a sign-up. Its answer never says whether the email is
// registered: a new address gets a six-digit code, a registered one a notice
// that someone tried to sign up with it.
func (s *Service) Signup(ctx context.Context, in SignupInput, meta RequestMeta) error {
	// It hashes: a place first, as a sign-in (session.Service.SignIn: a
	// small frame to wait in).
	leave, err := s.Admit(ctx)
	if err != nil {
		return err
	}
	defer leave()
	return s.signup(ctx, in, meta)
}

func (s *Service) signup(ctx context.Context, in SignupInput, meta RequestMeta) error {
	var fields []sellerguard.FieldError
	email, fe := validateEmail("email", in.Email)
	if fe != nil {
		fields = append(fields, *fe)
	}
	name := cleanText(in.BusinessName)
	breachUnverified, err := s.checkNewPassword(ctx, "password", in.Password, policy.Context{Email: strings.TrimSpace(in.Email), BusinessNames: []string{name}, Phone: in.Phone}, false, nil)
	if err != nil {
		var pe *sellerguard.Error
		if !errors.As(err, &pe) {
			return err
		}
		fields = append(fields, pe.Fields...)
	}
	switch {
	case in.Joining && name != "":
		fields = append(fields, sellerguard.FieldError{Field: "business_name", Code: "not_allowed", Message: "Leave the business name empty when you only join a business you were invited to."})
	case in.Joining:
	case name == "":
		fields = append(fields, sellerguard.FieldError{Field: "business_name", Code: "required", Message: "Enter your business name (or say that you are joining a business you were invited to)."})
	case utf8.RuneCountInString(name) > MaxBusinessNameLen:
		fields = append(fields, sellerguard.FieldError{Field: "business_name", Code: "too_long", Message: fmt.Sprintf("Use at most %d characters.", MaxBusinessNameLen)})
	}
	phone := ""
	if len(in.Phone) > 32 {
		fields = append(fields, sellerguard.FieldError{Field: "phone", Code: "too_long", Message: "A mobile number has at most 15 digits."})
	} else if strings.TrimSpace(in.Phone) != "" {
		// The same rule as every other mobile number (internal/sms): a real,
		// mobile-capable number in international form.
		p, err := sms.NormalizeNumber(in.Phone)
		if err != nil {
			fields = append(fields, sellerguard.FieldError{Field: "phone", Code: "invalid_phone", Message: fmt.Sprintf("Enter the mobile number in international form, like %s.", sms.ExampleNumber)})
		}
		phone = p
	}
	phrase, fe := validatePhrase("anti_phishing_phrase", in.AntiPhishingPhrase)
	if len(in.AntiPhishingPhrase) > 4*MaxPhraseLen {
		fe = &sellerguard.FieldError{Field: "anti_phishing_phrase", Code: "too_long", Message: fmt.Sprintf("Use at most %d characters.", MaxPhraseLen)}
	}
	if fe != nil {
		fields = append(fields, *fe)
	}
	if len(fields) > 0 {
		onlyPassword := true
		for _, f := range fields {
			onlyPassword = onlyPassword && f.Field == "password"
		}
		if onlyPassword && fields[0].Code != "too_long" {
			var reasons []policy.Reason
			for _, f := range fields {
				reasons = append(reasons, policy.Reason{Code: f.Code, Message: f.Message})
			}
			return policyError("password", reasons)
		}
		return sellerguard.Invalid(fields...)
	}
	emailNorm := NormalizeEmail(email)
	now := s.now()
	if err := s.checkSource(ctx, "signup", meta.IP, s.Limits.SignupsPerSource, now); err != nil {
		return err
	}

	// The hash is computed whether or not the address is registered, so the
	// answer takes the same time either way.
	hash, err := s.Hasher.Hash(ctx, in.Password)
	if err != nil {
		return s.hashError(err)
	}
	code, err := sixDigitCode()
	if err != nil {
		return err
	}
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := s.Limiter.Hit(ctx, tx, limiter.SourceKey("signup", meta.IP), meta.IP, now, s.Limits.SignupsPerSource, s.Limits.SourceWindow); err != nil {
			return err
		}
		existing, err := tx.FindUserByEmail(ctx, emailNorm)
		switch {
		case err == nil:
			return s.sendEmail(ctx, tx, now, withEvent(signupNoticeEmail(existing.Email, meta, now, s.Config.BaseURL), EventSignupAttempt))
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		sealed := ""
		if phone != "" {
			if sealed, err = s.Keys.Seal("phone", []byte(phone), []byte(emailNorm)); err != nil {
				return err
			}
		}
		if err := tx.PutSignup(ctx, store.PendingSignup{
			EmailNorm: emailNorm, Email: email, PasswordHash: hash, BusinessName: name, PhoneSealed: sealed,
			CodeMAC: s.Keys.MAC("signup-code", emailNorm, code), ExpiresAt: now.Add(SignupCodeTTL), CreatedAt: now,
		}); err != nil {
			return err
		}
		if err := tx.SetSignupPhishingPhrase(ctx, emailNorm, phrase); err != nil {
			return err
		}
		if err := tx.SetSignupBreachRecheck(ctx, emailNorm, breachUnverified); err != nil {
			return err
		}
		return s.sendEmail(ctx, tx, now, signupCodeEmail(email, code, s.Config.BaseURL, string(i18n.OrDefault(meta.Lang))))
	})
	if err != nil {
		return err
	}
	return nil
}

var errInvalidCode = sellerguard.Errorf(sellerguard.ECodeInvalidCode,
	"That code is not valid. Check the newest email from SellerGuard, or ask for a new code.")

// SignupResendsPerAddress is how many new sign-up codes one address may be
// sent in SignupResendWindow: with SignupMaxAttempts tries per code, it
// bounds the guesses at a sign-up code.
const (
	SignupResendsPerAddress = 3
	SignupResendWindow      = time.Hour
)

// ResendSignupCode sends a new code for a sign-up that waits for its code
// (one used up by wrong tries included), and gives it a fresh expiry and
// tries. The answer is the same whether or not a sign-up waits for the
// address (no account enumeration); the address and the network are
// limited alike either way.
func (s *Service) ResendSignupCode(ctx context.Context, email string, meta RequestMeta) error {
	emailNorm := NormalizeEmail(email)
	if emailNorm == "" || len(emailNorm) > MaxEmailLen {
		return sellerguard.Invalid(sellerguard.FieldError{Field: "email", Code: "invalid_email", Message: "Enter the email address you signed up with."})
	}
	now := s.now()
	if err := s.checkSource(ctx, "signup", meta.IP, s.Limits.SignupsPerSource, now); err != nil {
		return err
	}
	code, err := sixDigitCode()
	if err != nil {
		return err
	}
	var limited time.Duration
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := s.Limiter.Hit(ctx, tx, limiter.SourceKey("signup", meta.IP), meta.IP, now, s.Limits.SignupsPerSource, s.Limits.SourceWindow); err != nil {
			return err
		}
		retry, err := s.Limiter.Hit(ctx, tx, "signup-resend:"+emailNorm, meta.IP, now, SignupResendsPerAddress, SignupResendWindow)
		if err != nil {
			return err
		}
		if !retry.IsZero() {
			limited = retry.Sub(now)
			return nil // commit the count, then answer rate_limited
		}
		p, err := tx.FindSignup(ctx, emailNorm)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if now.After(p.ExpiresAt) {
			return tx.DeleteSignup(ctx, emailNorm)
		}
		p.CodeMAC, p.Attempts, p.ExpiresAt = s.Keys.MAC("signup-code", emailNorm, code), 0, now.Add(SignupCodeTTL)
		if err := tx.PutSignup(ctx, p); err != nil {
			return err
		}
		return s.sendEmail(ctx, tx, now, signupCodeEmail(p.Email, code, s.Config.BaseURL, string(i18n.OrDefault(meta.Lang))))
	})
	if err != nil {
		return err
	}
	if limited > 0 {
		return &sellerguard.Error{Code: sellerguard.ECodeRateLimited, Message: "Too many new codes were asked for this address. Please wait and try again.",
			RetryAfter: max(limited, time.Second)}
	}
	return nil
}

// VerifySignup completes a sign-up with the emailed code: the user and the
// business are created, the user owns the business. Every failure (unknown
// email, wrong or expired code, too many attempts) gives the same error.
func (s *Service) VerifySignup(ctx context.Context, email, code string, meta RequestMeta) (userID, businessID string, err error) {
	emailNorm := NormalizeEmail(email)
	if len(code) > 32 {
		code = "" // refused below, without trimming megabytes of spaces
	}
	code = strings.TrimSpace(code)
	if emailNorm == "" || len(emailNorm) > MaxEmailLen {
		return "", "", sellerguard.Invalid(sellerguard.FieldError{Field: "email", Code: "invalid_email", Message: "Enter the email address you signed up with."})
	}
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" { // also caps its length
		return "", "", sellerguard.Invalid(sellerguard.FieldError{Field: "code", Code: "invalid_code_format", Message: "The code is the six digits from the email."})
	}
	now := s.now()
	if err := s.checkSource(ctx, "code", meta.IP, s.Limiter.Config.SourceLimit, now); err != nil {
		return "", "", err
	}
	var wrong bool
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockSignup(ctx, emailNorm); err != nil {
			return err
		}
		p, err := tx.FindSignup(ctx, emailNorm)
		if errors.Is(err, store.ErrNotFound) {
			wrong = true
			return nil
		}
		if err != nil {
			return err
		}
		if now.After(p.ExpiresAt) {
			if err := tx.DeleteSignup(ctx, emailNorm); err != nil {
				return err
			}
			wrong = true // commit the deletion, then answer invalid
			return nil
		}
		if p.Attempts >= SignupMaxAttempts {
			// The code is used up; the sign-up stays (until it expires)
			// so that ResendSignupCode can send a new code without the
			// whole form being filled in again.
			wrong = true
			return nil
		}
		if !keys.EqualMAC(p.CodeMAC, s.Keys.MAC("signup-code", emailNorm, code)) {
			wrong = true
			return tx.SetSignupAttempts(ctx, emailNorm, p.Attempts+1)
		}
		phrase, err := tx.PhishingPhraseFor(ctx, emailNorm) // the sign-up's: no user has this email yet
		if err != nil {
			return err
		}
		userID, businessID = NewID("usr"), NewID("biz")
		err = tx.CreateUser(ctx, store.UserRecord{
			User: sellerguard.User{ID: userID, Email: p.Email, Status: sellerguard.UserActive, PasswordChangedAt: now, CreatedAt: now,
				SignupLanguage: string(i18n.OrDefault(meta.Lang))},
			EmailNorm:    emailNorm,
			PasswordHash: p.PasswordHash,
		})
		if errors.Is(err, store.ErrConflict) {
			wrong = true // registered meanwhile: like any wrong code (the transaction wrote nothing)
			return nil
		}
		if err != nil {
			return err
		}
		if p.BusinessName == "" {
			businessID = "" // joining a business by invitation: no business of their own
		} else {
			if err := tx.CreateBusiness(ctx, sellerguard.Business{ID: businessID, Name: p.BusinessName, CreatedAt: now}); err != nil {
				return err
			}
			if err := tx.CreateMembership(ctx, sellerguard.Membership{BusinessID: businessID, UserID: userID, Role: sellerguard.RoleOwner, Status: sellerguard.MembershipActive, CreatedAt: now}); err != nil {
				return err
			}
		}
		if err := tx.SetPhishingPhrase(ctx, userID, phrase); err != nil {
			return err
		}
		if err := tx.SetContactConfirmed(ctx, userID, "email", now); err != nil {
			return err
		}
		if p.PhoneSealed != "" { // the number given at sign-up, now bound to the user
			if raw, err := s.Keys.Open("phone", p.PhoneSealed, []byte(emailNorm)); err == nil {
				if sealed, err := s.Keys.Seal("phone", raw, []byte(userID)); err == nil {
					if err := tx.SetUserPhoneNumber(ctx, userID, sealed, s.Keys.MAC("phone", string(raw)), time.Time{}); err != nil {
						return err
					}
				}
			}
		}
		if recheck, err := tx.SignupBreachRecheck(ctx, emailNorm); err != nil {
			return err
		} else if recheck {
			if err := tx.SetBreachRecheck(ctx, userID, true); err != nil {
				return err
			}
		}
		if err := tx.DeleteSignup(ctx, emailNorm); err != nil {
			return err
		}
		base := audit.Entry{BusinessID: businessID, SubjectID: userID, ActorID: userID, ActorEmail: p.Email, IP: meta.IP, UserAgent: meta.UserAgent}
		ev := base
		ev.Action, ev.Category, ev.TargetType, ev.TargetID = "user.created", sellerguard.CategoryAccount, "user", userID
		ev.After = map[string]any{"email": p.Email, "phone_set": p.PhoneSealed != "", "password": "set"}
		if err := audit.Append(ctx, tx, now, ev); err != nil {
			return err
		}
		if businessID == "" {
			return s.sendEmail(ctx, tx, now, tmail(EventWelcome, p.Email, "email.welcome_invited", "BaseURL", s.Config.BaseURL))
		}
		ev = base
		ev.Action, ev.Category, ev.TargetType, ev.TargetID = "business.created", sellerguard.CategoryBusiness, "business", businessID
		ev.After = map[string]any{"name": p.BusinessName, "owner": userID}
		if err := audit.Append(ctx, tx, now, ev); err != nil {
			return err
		}
		return s.sendEmail(ctx, tx, now, withEvent(welcomeEmail(p.Email, p.BusinessName, s.Config.BaseURL), EventWelcome))
	})
	if err != nil {
		return "", "", err
	}
	if wrong {
		err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
			_, err := s.Limiter.SourceFailure(ctx, tx, limiter.SourceKey("code", meta.IP), meta.IP, now)
			return err
		})
		if err != nil {
			return "", "", err
		}
		return "", "", errInvalidCode
	}
	return userID, businessID, nil
}

// AuditQuery is what a caller may filter the audit log by.
type AuditQuery struct {
	BusinessID string // "" = every business the caller owns, plus the caller's own events
	Category   string
	ActorID    string
	Since      time.Time
	Until      time.Time
	BeforeTime time.Time
	BeforeID   string
	Limit      int
}

// ListAudit returns the audit events the caller may read: those of the
// businesses they own and those about themselves. A business the caller does
// not own answers not found, exactly like one that does not exist.
func (s *Service) ListAudit(ctx context.Context, p *Principal, q AuditQuery) ([]store.AuditRecord, error) {
	f := store.AuditFilter{
		Category: q.Category, ActorID: q.ActorID, Since: q.Since, Until: q.Until,
		BeforeTime: q.BeforeTime, BeforeID: q.BeforeID, Limit: q.Limit,
	}
	if q.BusinessID != "" {
		if err := p.RequireArea(q.BusinessID, sellerguard.AreaAuditLog, sellerguard.LevelView); err != nil {
			return nil, err
		}
		f.BusinessIDs = []string{q.BusinessID}
	} else {
		for _, m := range p.Memberships {
			if sellerguard.LevelRank(p.Level(m.BusinessID, sellerguard.AreaAuditLog)) >= sellerguard.LevelRank(sellerguard.LevelView) {
				f.BusinessIDs = append(f.BusinessIDs, m.BusinessID)
			}
		}
		f.SubjectID = p.User.ID
	}
	return s.DB.ListAudit(ctx, f)
}

// MaxPhraseLen caps the anti-phishing phrase.
const MaxPhraseLen = 64

func validatePhrase(field, phrase string) (string, *sellerguard.FieldError) {
	phrase = cleanText(phrase)
	n := utf8.RuneCountInString(phrase)
	switch {
	case phrase == "":
		return "", nil
	case n < 3:
		return "", &sellerguard.FieldError{Field: field, Code: "too_short", Message: "Use at least 3 characters: a few words only you would pick."}
	case n > MaxPhraseLen:
		return "", &sellerguard.FieldError{Field: field, Code: "too_long", Message: fmt.Sprintf("Use at most %d characters.", MaxPhraseLen)}
	}
	return phrase, nil
}

// SetPhishingPhrase changes the user's anti-phishing phrase (a recent
// sign-in is needed: a thief who could set it could imitate our emails).
func (s *Service) SetPhishingPhrase(ctx context.Context, p *Principal, phrase string, meta RequestMeta) error {
	if err := s.RequireRecentAuth(p); err != nil {
		return err
	}
	if len(phrase) > 4*MaxPhraseLen {
		return sellerguard.Invalid(sellerguard.FieldError{Field: "phrase", Code: "too_long", Message: fmt.Sprintf("Use at most %d characters.", MaxPhraseLen)})
	}
	clean, fe := validatePhrase("phrase", phrase)
	if fe != nil {
		return sellerguard.Invalid(*fe)
	}
	if clean == "" {
		return sellerguard.Invalid(sellerguard.FieldError{Field: "phrase", Code: "required", Message: "Enter a phrase."})
	}
	now := s.now()
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetPhishingPhrase(ctx, p.User.ID, clean); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, now, audit.Entry{SubjectID: p.User.ID, ActorID: p.User.ID, ActorEmail: p.User.Email, IP: meta.IP, UserAgent: meta.UserAgent,
			Action: "account.phishing_phrase_changed", Category: sellerguard.CategoryAccount, TargetType: "user", TargetID: p.User.ID,
			After: map[string]any{"phrase": "changed"}}); err != nil {
			return err
		}
		return s.sendEmail(ctx, tx, now, tmail(EventPhraseChanged, p.User.Email, "email.phrase_changed", "When", now, "IP", meta.IP, "BaseURL", s.Config.BaseURL))
	})
	if err != nil {
		return err
	}
	return nil
}

// PhishingPhrase returns the user's anti-phishing phrase.
func (s *Service) PhishingPhrase(ctx context.Context, p *Principal) (string, error) {
	return s.DB.PhishingPhraseFor(ctx, NormalizeEmail(p.User.Email))
}
