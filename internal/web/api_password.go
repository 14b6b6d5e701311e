package web

import (
	"fmt"
	"net/http"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/limiter"
	"github.com/sellerguard/sellerguard/internal/policy"
	"github.com/sellerguard/sellerguard/internal/session"
)

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (s *Server) apiChangePassword(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req changePasswordRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	res, err := s.Account.ChangePassword(r.Context(), p, req.CurrentPassword, req.NewPassword, s.meta(r))
	if err != nil {
		return err
	}
	s.replaceSessionCookie(w, r, res.StepUp)
	return writeJSON(w, http.StatusOK, map[string]any{
		"changed":                true,
		"other_sessions_ended":   res.OtherSessionsEnded,
		"trusted_browsers_reset": true,
		"token":                  res.Token,
		"session":                toSessionJSON(res.Session, res.Session.ID),
		"message":                tr(r, "password.changed"),
	})
}

type checkPasswordRequest struct {
	Password     string `json:"password"`
	Email        string `json:"email"`
	BusinessName string `json:"business_name"`
	Phone        string `json:"phone"`
}

// apiCheckPassword runs the policy without changing anything: the live
// strength meter of the pages and clients that check before submitting.
// It is limited per address like any other guess surface.
func (s *Server) apiCheckPassword(w http.ResponseWriter, r *http.Request) error {
	var req checkPasswordRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var fields []sellerguard.FieldError
	for _, f := range []struct {
		name  string
		value string
		max   int
	}{{"email", req.Email, 254}, {"business_name", req.BusinessName, 480}, {"phone", req.Phone, 32}} {
		if len(f.value) > f.max {
			fields = append(fields, sellerguard.FieldError{Field: f.name, Code: "too_long", Message: fmt.Sprintf("Use at most %d bytes.", f.max)})
		}
	}
	if len(fields) > 0 {
		return sellerguard.Invalid(fields...)
	}
	ip := s.clientIP(r)
	now := s.Session.Now()
	retry, err := s.Session.Limiter.Hit(r.Context(), s.DB, limiter.SourceKey("pwcheck", ip), ip, now, 600, s.Session.Limits.SourceWindow)
	if err != nil {
		return err
	}
	if !retry.IsZero() {
		return &sellerguard.Error{Code: sellerguard.ECodeRateLimited, Message: "Too many checks from your network. Please wait.", RetryAfter: retry.Sub(now)}
	}
	c := policy.Context{Email: req.Email, Phone: req.Phone}
	if req.BusinessName != "" {
		c.BusinessNames = []string{req.BusinessName}
	}
	// A signed-in caller (the change-password page) is checked exactly as
	// the change will be: their own public facts (phones, businesses and
	// storefronts included) and their businesses' strict option, in place
	// of the context fields.
	strict := false
	if p, err := s.authenticate(r); err == nil && p.RequireFull() == nil {
		rules, err := s.Account.PasswordRulesFor(r.Context(), p)
		if err != nil {
			return err
		}
		c, strict = rules.Facts, rules.Strict
	}
	reasons, score, tips := s.Account.CheckPassword(r.Context(), req.Password, c, strict)
	if reasons == nil {
		reasons = []policy.Reason{}
	}
	// Reasons and tips in the caller's language; the codes stay as they are.
	lang := langOf(r)
	for i := range reasons {
		reasons[i].Message = i18n.Default().Message(lang, reasons[i].Message)
	}
	if tips == nil {
		tips = []string{}
	}
	for i := range tips {
		tips[i] = i18n.Default().Translate(lang, "password.tip.", tips[i])
	}
	return writeJSON(w, http.StatusOK, map[string]any{"accepted": len(reasons) == 0, "reasons": reasons, "score": score, "tips": tips})
}

type passwordRulesRequest struct {
	MaxAgeDays *int  `json:"max_age_days"`
	Strict     *bool `json:"strict"`
}

func (s *Server) apiSetPasswordRules(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req passwordRulesRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.MaxAgeDays == nil || req.Strict == nil {
		return sellerguard.Invalid(sellerguard.FieldError{Field: "max_age_days", Code: "required", Message: "Give both max_age_days (0 for none) and strict (true or false)."})
	}
	if err := s.Account.SetBusinessPasswordRules(r.Context(), p, r.PathValue("business_id"), *req.MaxAgeDays, *req.Strict, s.meta(r)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"business_id": r.PathValue("business_id"), "max_age_days": *req.MaxAgeDays, "strict": *req.Strict})
}
