package secondstep

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/keys"
	"github.com/sellerguard/sellerguard/internal/limiter"
	"github.com/sellerguard/sellerguard/internal/outbox"
	"github.com/sellerguard/sellerguard/internal/sms"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

const (
	smsCodeTTL         = 10 * time.Minute
	smsCodeMaxAttempts = 5
)

// SMSWarning tells users what SMS is worth.
const SMSWarning = "Text messages are the weakest second step: numbers can be hijacked by SIM swap. Prefer an authenticator app or a passkey, and keep SMS as a backup."

func smsChallengeID(sessionID string) string      { return "sms:" + sessionID }
func smsEnrollChallengeID(methodID string) string { return "smsenroll:" + methodID }

// smsText is the text (or the words of the call) that brings a code, in
// the user's language.
func smsText(lang, code string) string {
	return i18n.Default().T(i18n.OrDefault(lang), "sms.code", "Code", code)
}

// sendSMSCode applies the caps, stores a fresh code in the challenge (a
// resend replaces the code but keeps the failure count) and queues the text.
// Past any cap nothing is queued: nothing reaches the gateway.
func (s *Service) sendSMSCode(ctx context.Context, tx *store.Tx, c store.Challenge, phone, phoneMAC string, voice bool, ip string, now time.Time) error {
	for _, cap := range []struct {
		key   string
		limit int
	}{
		{"sms:num:" + phoneMAC, s.SMS.PerNumberHour},
		{"sms:user:" + c.UserID, s.SMS.PerUserHour},
		{limiter.SourceKey("sms", ip), s.SMS.PerSourceHour},
	} {
		retry, err := s.Limiter.Over(ctx, tx, cap.key, now, cap.limit, time.Hour)
		if err != nil {
			return err
		}
		if !retry.IsZero() {
			return &sellerguard.Error{Code: sellerguard.ECodeRateLimited, RetryAfter: retry.Sub(now),
				Message: "Too many text messages were sent. Wait, or use another second step (authenticator app, passkey or backup code)."}
		}
	}
	for _, key := range []string{"sms:num:" + phoneMAC, "sms:user:" + c.UserID, limiter.SourceKey("sms", ip)} {
		if _, err := s.Limiter.Hit(ctx, tx, key, ip, now, 1<<30, time.Hour); err != nil {
			return err
		}
	}
	code, err := sixDigitCode()
	if err != nil {
		return err
	}
	c.CodeMAC = s.Keys.MAC("sms-code", c.ID, code)
	c.Sends++
	c.ExpiresAt = now.Add(smsCodeTTL)
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	if err := tx.PutChallenge(ctx, c); err != nil {
		return err
	}
	lang, err := tx.LanguageOf(ctx, c.UserID)
	if err != nil {
		return err
	}
	lang = string(i18n.OrDefault(lang))
	m := sellerguard.OutboxMessage{Channel: sellerguard.ChannelSMS, To: phone, UserID: c.UserID, Body: smsText(lang, code)}
	if voice {
		m.Subject = sms.VoiceSubject(lang)
	}
	return outbox.Enqueue(ctx, tx, now, m)
}

// verifySMSCode checks a code against a challenge; each challenge takes at
// most smsCodeMaxAttempts tries. It returns the method id, or "" when wrong.
func (s *Service) verifySMSCode(ctx context.Context, tx *store.Tx, challengeID, userID, code string, now time.Time) (string, error) {
	c, err := tx.FindChallenge(ctx, challengeID, now)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if c.UserID != userID || c.Attempts >= smsCodeMaxAttempts {
		return "", nil
	}
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if !keys.EqualMAC(c.CodeMAC, s.Keys.MAC("sms-code", c.ID, code)) {
		c.Attempts++
		return "", tx.PutChallenge(ctx, c)
	}
	return c.MethodID, tx.DeleteChallenge(ctx, c.ID)
}

// SMSEnrollment is a started phone enrolment.
type SMSEnrollment struct {
	MethodID string
	SentTo   string
}

// StartSMS begins enrolling a phone: a code goes to it by text (or voice).
func (s *Service) StartSMS(ctx context.Context, p *Principal, phone string, voice bool, meta RequestMeta) (SMSEnrollment, error) {
	return s.startSMS(ctx, p, phone, voice, meta, false)
}

// StartSMSKept is StartSMS for a page: the enrolment is kept for this
// session (KeptSMS) in the same transaction, for the page the POST
// redirects to.
func (s *Service) StartSMSKept(ctx context.Context, p *Principal, phone string, voice bool, meta RequestMeta) error {
	_, err := s.startSMS(ctx, p, phone, voice, meta, true)
	return err
}

func (s *Service) startSMS(ctx context.Context, p *Principal, phone string, voice bool, meta RequestMeta, keep bool) (SMSEnrollment, error) {
	if err := s.RequireRecentAuth(p); err != nil {
		return SMSEnrollment{}, err
	}
	if !s.SMS.Available {
		return SMSEnrollment{}, sellerguard.Errorf(sellerguard.ECodeConflict, "Text messages are not available on this SellerGuard. Use an authenticator app or a passkey.")
	}
	if len(phone) > 32 {
		return SMSEnrollment{}, sellerguard.Invalid(sellerguard.FieldError{Field: "phone", Code: "too_long", Message: "A mobile number has at most 15 digits."})
	}
	e164, err := sms.NormalizeNumber(phone)
	if err != nil {
		msg := fmt.Sprintf("Enter a mobile number in international form, like %s.", sms.ExampleNumber)
		if errors.Is(err, sms.ErrNumberNotAllowed) {
			msg = "That number cannot receive our text messages. Use a mobile number."
		}
		return SMSEnrollment{}, sellerguard.Invalid(sellerguard.FieldError{Field: "phone", Code: "invalid_phone", Message: msg})
	}
	kind := twostep.KindSMS
	if voice {
		kind = twostep.KindVoice
	}
	now := s.now()
	id := NewID("tsm")
	phoneMAC := s.Keys.MAC("phone", e164)
	sealed, err := s.Keys.Seal("phone", []byte(e164), []byte(id))
	if err != nil {
		return SMSEnrollment{}, err
	}
	err = s.DB.WithUserTx(ctx, p.User.ID, func(tx *store.Tx) error {
		ms, err := tx.ListMethods(ctx, p.User.ID)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if (m.Kind == twostep.KindSMS || m.Kind == twostep.KindVoice) && m.Confirmed && m.Data == phoneMAC {
				return sellerguard.Errorf(sellerguard.ECodeConflict, "That phone is already one of your methods. A backup must be a different phone or another kind of method.")
			}
		}
		if n := countKinds(ms, twostep.KindSMS, twostep.KindVoice); n >= maxMethodsPerKind {
			return sellerguard.Errorf(sellerguard.ECodeConflict, "You already have %d phones. Remove one first.", n)
		}
		if err := tx.CreateMethod(ctx, store.TwoStepMethod{ID: id, UserID: p.User.ID, Kind: kind, Label: sms.Last4(e164), SecretSealed: sealed, Data: phoneMAC, CreatedAt: now}); err != nil {
			return err
		}
		if err := s.sendSMSCode(ctx, tx, store.Challenge{ID: smsEnrollChallengeID(id), SessionID: p.Session.ID, UserID: p.User.ID, Kind: "sms-enroll", MethodID: id}, e164, phoneMAC, voice, meta.IP, now); err != nil {
			return err
		}
		if keep {
			return s.keepResult(ctx, tx, p, ResultSMS, SMSEnrollment{MethodID: id, SentTo: sms.Last4(e164)}, now)
		}
		return nil
	})
	if err != nil {
		return SMSEnrollment{}, err
	}
	return SMSEnrollment{MethodID: id, SentTo: sms.Last4(e164)}, nil
}

// ConfirmSMS finishes a phone enrolment with the code sent to it.
func (s *Service) ConfirmSMS(ctx context.Context, p *Principal, methodID, code string, meta RequestMeta) (store.TwoStepMethod, error) {
	if err := p.RequireFull(); err != nil {
		return store.TwoStepMethod{}, err
	}
	now := s.now()
	var m store.TwoStepMethod
	var wrong bool
	err := s.DB.WithUserTx(ctx, p.User.ID, func(tx *store.Tx) error {
		var err error
		m, err = tx.FindMethod(ctx, p.User.ID, methodID)
		if errors.Is(err, store.ErrNotFound) || err == nil && (m.Confirmed || m.Held || (m.Kind != twostep.KindSMS && m.Kind != twostep.KindVoice)) {
			return errNoSuchMethod
		}
		if err != nil {
			return err
		}
		used, err := s.verifySMSCode(ctx, tx, smsEnrollChallengeID(m.ID), p.User.ID, code, now)
		if err != nil {
			return err
		}
		if used == "" {
			wrong = true
			return nil
		}
		if err := tx.ConfirmMethod(ctx, p.User.ID, m.ID, 0, now); err != nil {
			return err
		}
		m.Confirmed = true
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

// SendSessionSMS texts a code for this session's second step (or its
// re-authentication) to one of the user's phones: methodID, or the first.
func (s *Service) SendSessionSMS(ctx context.Context, p *Principal, methodID string, meta RequestMeta) (string, error) {
	if !s.SMS.Available {
		return "", sellerguard.Errorf(sellerguard.ECodeConflict, "Text messages are not available on this SellerGuard. Use another second step.")
	}
	now := s.now()
	var sentTo string
	err := s.DB.WithUserTx(ctx, p.User.ID, func(tx *store.Tx) error {
		ms, err := tx.ListMethods(ctx, p.User.ID)
		if err != nil {
			return err
		}
		var m *store.TwoStepMethod
		for i := range ms {
			if ms[i].Confirmed && (ms[i].Kind == twostep.KindSMS || ms[i].Kind == twostep.KindVoice) && (methodID == "" || ms[i].ID == methodID) {
				m = &ms[i]
				break
			}
		}
		if m == nil {
			return errNoSuchMethod
		}
		phone, err := s.Keys.Open("phone", m.SecretSealed, []byte(m.ID))
		if err != nil {
			return err
		}
		c, err := tx.FindChallenge(ctx, smsChallengeID(p.Session.ID), now)
		if errors.Is(err, store.ErrNotFound) {
			c = store.Challenge{ID: smsChallengeID(p.Session.ID), SessionID: p.Session.ID, UserID: p.User.ID, Kind: "sms"}
		} else if err != nil {
			return err
		}
		c.MethodID = m.ID // a resend replaces the code; the failure count stays
		sentTo = m.Label
		return s.sendSMSCode(ctx, tx, c, string(phone), m.Data, m.Kind == twostep.KindVoice, meta.IP, now)
	})
	if err != nil {
		return "", err
	}
	return sentTo, nil
}
