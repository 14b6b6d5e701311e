package secondstep

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// One-time results: what a page shows once after a POST (new backup codes,
// a new authenticator key, a phone enrolment waiting for its code). The
// page answers the POST with a redirect and shows the result on the GET it
// redirects to (post/redirect/get), so that reloading shows the same result
// and never makes a new one — new backup codes would kill the printed ones.
// In between the result is kept in the database: sealed under the instance
// keys with the session and the kind bound in as associated data, readable
// only by the session that made it, for OneTimeResultTTL, and dropped when
// the user says they are done (or when a newer one of its kind replaces it).
// It never travels in a URL, a cookie or a log line.

// OneTimeResultTTL is how long a one-time result stays readable.
const OneTimeResultTTL = 15 * time.Minute

// The kinds of one-time result.
const (
	ResultBackupCodes = "backup_codes"
	ResultTOTP        = "totp"
	ResultSMS         = "sms"
)

// BackupCodesResult is a kept set of new backup codes.
type BackupCodesResult struct {
	Codes    []string `json:"codes"`
	Replaced bool     `json:"replaced"` // unused codes stopped working
}

// totpResult is a kept authenticator-app enrolment.
type totpResult struct {
	MethodID string `json:"method_id"`
	Secret   string `json:"secret"`
}

func oneTimeAAD(sessionID, kind string) []byte { return []byte(sessionID + ":" + kind) }

// keepResult keeps v as the session's one-time result of a kind, in tx (the
// same transaction as the change that made it).
func (s *Service) keepResult(ctx context.Context, tx *store.Tx, p *Principal, kind string, v any, now time.Time) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	sealed, err := s.Keys.Seal("one-time-result", data, oneTimeAAD(p.Session.ID, kind))
	if err != nil {
		return err
	}
	return tx.PutOneTimeResult(ctx, store.OneTimeResult{ID: NewID("otr"), SessionID: p.Session.ID, Kind: kind, DataSealed: sealed,
		CreatedAt: now, ExpiresAt: now.Add(OneTimeResultTTL)}, now)
}

// keptResult reads the session's one-time result of a kind into v: false
// when there is none (never made, expired, or dropped).
func (s *Service) keptResult(ctx context.Context, p *Principal, kind string, v any) (bool, error) {
	if err := p.RequireFull(); err != nil {
		return false, err
	}
	r, err := s.DB.FindOneTimeResult(ctx, p.Session.ID, kind, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	data, err := s.Keys.Open("one-time-result", r.DataSealed, oneTimeAAD(p.Session.ID, kind))
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal(data, v)
}

// DropKeptResult forgets the session's one-time result of a kind: the user
// is done with it (none is fine).
func (s *Service) DropKeptResult(ctx context.Context, p *Principal, kind string) error {
	if err := p.RequireFull(); err != nil {
		return err
	}
	return s.DB.DeleteOneTimeResult(ctx, p.Session.ID, kind)
}

// KeptBackupCodes returns the backup codes RegenerateBackupCodesKept made
// in this session, while they are kept.
func (s *Service) KeptBackupCodes(ctx context.Context, p *Principal) (BackupCodesResult, bool, error) {
	var r BackupCodesResult
	ok, err := s.keptResult(ctx, p, ResultBackupCodes, &r)
	return r, ok, err
}

// KeptTOTP returns the authenticator-app enrolment StartTOTPKept began in
// this session, while it is kept and still waits for its code.
func (s *Service) KeptTOTP(ctx context.Context, p *Principal) (TOTPEnrollment, bool, error) {
	var r totpResult
	ok, err := s.keptResult(ctx, p, ResultTOTP, &r)
	if err != nil || !ok {
		return TOTPEnrollment{}, false, err
	}
	m, err := s.DB.FindMethod(ctx, p.User.ID, r.MethodID)
	if errors.Is(err, store.ErrNotFound) || err == nil && (m.Kind != twostep.KindTOTP || m.Confirmed || m.Held) {
		return TOTPEnrollment{}, false, nil // confirmed, removed or given up meanwhile
	}
	if err != nil {
		return TOTPEnrollment{}, false, err
	}
	url := twostep.TOTPURL("SellerGuard", p.User.Email, r.Secret)
	qr, err := qrDataURL(url)
	if err != nil {
		return TOTPEnrollment{}, false, err
	}
	return TOTPEnrollment{MethodID: r.MethodID, Secret: r.Secret, URL: url, QRDataURL: qr}, true, nil
}

// KeptSMS returns the phone enrolment StartSMSKept began in this session,
// while it is kept and still waits for its code.
func (s *Service) KeptSMS(ctx context.Context, p *Principal) (SMSEnrollment, bool, error) {
	var r SMSEnrollment
	ok, err := s.keptResult(ctx, p, ResultSMS, &r)
	if err != nil || !ok {
		return SMSEnrollment{}, false, err
	}
	m, err := s.DB.FindMethod(ctx, p.User.ID, r.MethodID)
	if errors.Is(err, store.ErrNotFound) || err == nil && (m.Confirmed || m.Held || m.Kind != twostep.KindSMS && m.Kind != twostep.KindVoice) {
		return SMSEnrollment{}, false, nil
	}
	if err != nil {
		return SMSEnrollment{}, false, err
	}
	return r, true, nil
}
