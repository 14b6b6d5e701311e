package web

import (
	"net/http"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/secondstep"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

type secondStepRequest struct {
	Method          string `json:"method"`
	Code            string `json:"code"`
	RememberBrowser bool   `json:"remember_browser"`
}

func (s *Server) apiSecondStep(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req secondStepRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	res, err := s.TwoStep.CompleteSecondStep(r.Context(), p, secondstep.SecondStepInput{Method: req.Method, Code: req.Code, RememberBrowser: req.RememberBrowser, Device: s.deviceCookie(r)}, s.meta(r))
	if err != nil {
		return err
	}
	if _, err := r.Cookie(s.cookieName()); err == nil {
		s.setSessionCookie(w, res.Token, res.Session.ExpiresAt)
	}
	out := map[string]any{"token": res.Token, "session": toSessionJSON(res.Session, res.Session.ID), "method": res.Method}
	if res.ReenrollAdvised {
		out["backup_codes_left"] = res.BackupCodesLeft
		out["reenroll_recommended"] = true
	}
	if res.TrustedBrowserID != "" {
		out["trusted_browser_id"] = res.TrustedBrowserID
	}
	if p.NeedsBackupMethod() { // a business asks for a backup method (api_checkup.go)
		out["add_backup_method"] = true
	}
	return writeJSON(w, http.StatusOK, out)
}

type reauthRequest struct {
	Password string `json:"password"`
	Method   string `json:"method"`
	Code     string `json:"code"`
}

func (s *Server) apiReauth(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req reauthRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	next, err := s.TwoStep.Reauthenticate(r.Context(), p, req.Password, req.Method, req.Code, s.meta(r))
	if err != nil {
		return err
	}
	return s.writeReauthenticated(w, r, next)
}

type methodJSON struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	Label      string     `json:"label"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func toMethodJSON(m store.TwoStepMethod) methodJSON {
	j := methodJSON{ID: m.ID, Kind: m.Kind, Label: m.Label, CreatedAt: m.CreatedAt.UTC()}
	if !m.LastUsedAt.IsZero() {
		t := m.LastUsedAt.UTC()
		j.LastUsedAt = &t
	}
	return j
}

func (s *Server) apiListTwoStep(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	ov, err := s.TwoStep.ListTwoStep(r.Context(), p)
	if err != nil {
		return err
	}
	ms := make([]methodJSON, 0, len(ov.Methods))
	for _, m := range ov.Methods {
		ms = append(ms, toMethodJSON(m))
	}
	missing := ov.Protection.Missing
	if missing == nil {
		missing = []string{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"methods":           ms,
		"backup_codes_left": ov.Protection.BackupLeft,
		"enrolled":          ov.Protection.Enrolled,
		"fully_protected":   ov.Protection.Full,
		"missing":           missing,
	})
}

type labelRequest struct {
	Label string `json:"label"`
}

func (s *Server) apiStartTOTP(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req labelRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
	}
	e, err := s.TwoStep.StartTOTP(r.Context(), p, req.Label)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{
		"method_id": e.MethodID, "secret": e.Secret, "otpauth_url": e.URL, "qr_code": e.QRDataURL,
		"confirm_with": "POST /api/v1/two-step/totp/" + e.MethodID + "/confirm",
	})
}

type codeRequest struct {
	Code string `json:"code"`
}

func (s *Server) apiConfirmTOTP(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req codeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	m, err := s.TwoStep.ConfirmTOTP(r.Context(), p, r.PathValue("id"), req.Code, s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"method": toMethodJSON(m)})
}

func (s *Server) apiRegenerateBackupCodes(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	codes, err := s.TwoStep.RegenerateBackupCodes(r.Context(), p, s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, answerIn(r, map[string]any{
		"codes":   codes,
		"message": "Keep these codes somewhere safe, away from your phone. Each works once. They are shown only now.",
	}))
}

func (s *Server) apiRemoveMethod(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := s.TwoStep.RemoveMethod(r.Context(), p, r.PathValue("id"), s.meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type trustedBrowserJSON struct {
	ID        string    `json:"id"`
	Device    string    `json:"device"`
	IP        string    `json:"ip"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Server) apiListTrustedBrowsers(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	list, err := s.TwoStep.ListTrustedBrowsers(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]trustedBrowserJSON, 0, len(list))
	for _, b := range list {
		out = append(out, trustedBrowserJSON{ID: b.ID, Device: describeUserAgent(b.UserAgent), IP: b.IP, CreatedAt: b.CreatedAt.UTC(), ExpiresAt: b.ExpiresAt.UTC()})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"trusted_browsers": out})
}

func (s *Server) apiForgetTrustedBrowser(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := s.TwoStep.ForgetTrustedBrowser(r.Context(), p, r.PathValue("id"), s.meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type requirementRequest struct {
	Required *bool `json:"required"`
}

func (s *Server) apiSetBusinessTwoStep(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req requirementRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Required == nil {
		return sellerguard.Invalid(sellerguard.FieldError{Field: "required", Code: "required", Message: "Say whether two-step verification is required: true or false."})
	}
	if err := s.TwoStep.SetBusinessTwoStep(r.Context(), p, r.PathValue("business_id"), *req.Required, s.meta(r)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"business_id": r.PathValue("business_id"), "two_step_required": *req.Required})
}

type smsRequest struct {
	Phone string `json:"phone"`
	Voice bool   `json:"voice"`
}

func (s *Server) apiStartSMS(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req smsRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	e, err := s.TwoStep.StartSMS(r.Context(), p, req.Phone, req.Voice, s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{
		"method_id": e.MethodID, "sent_to": e.SentTo, "warning": tr(r, "sms.warning"),
		"confirm_with": "POST /api/v1/two-step/sms/" + e.MethodID + "/confirm",
	})
}

func (s *Server) apiConfirmSMS(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req codeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	m, err := s.TwoStep.ConfirmSMS(r.Context(), p, r.PathValue("id"), req.Code, s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"method": toMethodJSON(m)})
}

type sendSMSRequest struct {
	MethodID string `json:"method_id"`
}

func (s *Server) apiSendSessionSMS(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req sendSMSRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
	}
	to, err := s.TwoStep.SendSessionSMS(r.Context(), p, req.MethodID, s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, map[string]any{"sent_to": to, "valid_for_seconds": 600})
}

// writeReauthenticated answers a successful re-authentication: the old
// session has ended, and the answer carries the token of its successor.
func (s *Server) writeReauthenticated(w http.ResponseWriter, r *http.Request, next session.StepUp) error {
	s.replaceSessionCookie(w, r, next)
	at := next.Session.ReauthAt
	return writeJSON(w, http.StatusOK, map[string]any{"reauthenticated_at": at.UTC(), "valid_until": at.Add(s.Session.TwoStep.ReauthWindow).UTC(),
		"token": next.Token, "session": toSessionJSON(next.Session, next.Session.ID)})
}

// replaceSessionCookie gives a browser the session that replaced its own
// after a step-up, when the request was authenticated by the cookie (a
// program that sent its bearer token reads the new one from the answer).
func (s *Server) replaceSessionCookie(w http.ResponseWriter, r *http.Request, next session.StepUp) {
	if r.Header.Get("Authorization") != "" {
		return
	}
	if _, err := r.Cookie(s.cookieName()); err == nil {
		s.setSessionCookie(w, next.Token, next.Session.ExpiresAt)
	}
}
