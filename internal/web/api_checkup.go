package web

import (
	"net/http"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/checkup"
	"github.com/sellerguard/sellerguard/internal/notify"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/team"
)

// The security checkup: the caller's own checkup with its recent security
// events and status history, the business checkup for the owner and user
// managers, the owner's actions on a member's security, and the business
// rule "a backup method is required". The rules live in internal/checkup
// (and the state changes in internal/team/checkup.go).

func (s *Server) checkupService() *checkup.Service {
	var critical []string
	for _, e := range notify.Catalogue() {
		if e.Critical && !e.BusinessWide {
			critical = append(critical, e.Key)
		}
	}
	return &checkup.Service{
		Store: s.DB,
		Now:   func() time.Time { return s.Session.Now() },
		Config: checkup.Config{
			PasswordReminderAge: s.Session.Passwords.ReminderAge,
			ContactFreshness:    s.Session.ContactCheckAge,
			ReviewInterval:      s.Team.Reviews.Interval,
			CriticalEvents:      critical,
		},
		ReviewFlags: team.CheckupReviewFlags,
	}
}

func (s *Server) registerCheckup(mux *recordingMux) {
	h := &checkupHandlers{s: s, c: s.checkupService()}
	// The person's own checkup answers even while a password change is
	// pending: a breached password is exactly what it must show.
	mux.Handle("GET /api/v1/account/checkup", s.apiFull(h.apiAccount))
	mux.Handle("POST /api/v1/account/checkup/events/{event_id}/ack", s.apiFull(h.apiAck))
	mux.Handle("GET /api/v1/businesses/{business_id}/checkup", s.apiBusiness(h.apiBusiness))
	for _, action := range []string{team.MemberEndSessions, team.MemberRequirePasswordChange, team.MemberRequireTwoStepReenrol, team.MemberRemind} {
		mux.Handle("POST /api/v1/businesses/{business_id}/members/{user_id}/"+action, s.apiBusiness(h.apiMemberAction(action)))
	}
	mux.Handle("PUT /api/v1/businesses/{business_id}/backup-method-rule", s.apiAuthed(h.apiSetBackupRule))
	s.registerCheckupPages(mux, h)
}

type checkupHandlers struct {
	s *Server
	c *checkup.Service
}

// secureActions are what "Secure my account" offers today: the pages and
// routes that exist (a guided flow is another issue).
var secureActions = []checkup.Fix{
	{Label: "Secure my account: new password, everyone else signed out, review what changed", Page: "/account/secure", Method: "POST", Route: "/api/v1/account/secure"},
	{Label: "Change your password", Page: "/account/password", Method: "POST", Route: "/api/v1/account/password"},
	{Label: "Sign out of every other session", Page: "/account/sessions", Method: "POST", Route: "/api/v1/sessions/revoke-others"},
	{Label: "Review two-step verification", Page: "/account/two-step", Method: "GET", Route: "/api/v1/two-step"},
}

type accountCheckupJSON struct {
	checkup.Report
	History         []checkup.StatusChange `json:"history"`
	SecureMyAccount []checkup.Fix          `json:"secure_my_account"`
}

func (h *checkupHandlers) apiAccount(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	rep, hist, err := h.c.Account(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, accountCheckupJSON{Report: rep, History: hist, SecureMyAccount: secureActions})
}

func (h *checkupHandlers) apiAck(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	at, err := h.c.Acknowledge(r.Context(), p.User.ID, r.PathValue("event_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"event_id": r.PathValue("event_id"), "acknowledged_at": at.UTC()})
}

func (h *checkupHandlers) apiBusiness(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	rep, err := h.c.Business(r.Context(), p, r.PathValue("business_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

type memberActionJSON struct {
	Action          string   `json:"action"`
	UserID          string   `json:"user_id"`
	SessionsEnded   int      `json:"sessions_ended"`
	MethodsRemoved  int      `json:"methods_removed"`
	ReminderMissing []string `json:"reminder_missing"`
}

func (h *checkupHandlers) apiMemberAction(action string) func(http.ResponseWriter, *http.Request, *session.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
		if r.ContentLength > 0 {
			var empty struct{}
			if err := decodeJSON(r, &empty); err != nil {
				return err
			}
		}
		res, err := h.s.Team.ActOnMember(r.Context(), p, r.PathValue("business_id"), r.PathValue("user_id"), action, h.s.meta(r))
		if err != nil {
			return err
		}
		out := memberActionJSON{Action: res.Action, UserID: res.UserID, SessionsEnded: res.SessionsEnded, MethodsRemoved: res.MethodsRemoved, ReminderMissing: res.ReminderMissing}
		if out.ReminderMissing == nil {
			out.ReminderMissing = []string{}
		}
		return writeJSON(w, http.StatusOK, out)
	}
}

type backupRuleRequest struct {
	Required *bool `json:"required"`
}

func (h *checkupHandlers) apiSetBackupRule(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req backupRuleRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Required == nil {
		return sellerguard.Invalid(sellerguard.FieldError{Field: "required", Code: "required", Message: "Say whether a backup method is required (true or false)."})
	}
	if err := h.s.Team.SetBusinessBackupMethodRule(r.Context(), p, r.PathValue("business_id"), *req.Required, h.s.meta(r)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"business_id": r.PathValue("business_id"), "required": *req.Required})
}
