package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/support"
)

// The agent console's API (internal/support): agent sessions are separate
// from seller sessions — their own tokens ("sga_…"), their own cookie —
// so a seller's session never opens an agent route and an agent's session
// never opens a seller route.
func (s *Server) registerAgent(mux *recordingMux) {
	mux.Handle("POST /api/v1/agent/enrol", s.api(s.apiAgentEnrol))
	mux.Handle("POST /api/v1/agent/sessions", s.api(s.apiAgentSignIn))
	mux.Handle("GET /api/v1/agent/session", s.apiAgent(s.apiAgentSession))
	mux.Handle("DELETE /api/v1/agent/session", s.apiAgent(s.apiAgentSignOut))
	mux.Handle("GET /api/v1/agent/cases", s.apiAgent(s.apiAgentQueue))
	mux.Handle("GET /api/v1/agent/cases/{case_id}", s.apiAgent(s.apiAgentCase))
	mux.Handle("POST /api/v1/agent/cases/{case_id}/assign", s.apiAgent(s.apiAgentAssign))
	mux.Handle("POST /api/v1/agent/cases/{case_id}/messages", s.apiAgent(s.apiAgentMessage))
	mux.Handle("POST /api/v1/agent/cases/{case_id}/state", s.apiAgent(s.apiAgentState))
	mux.Handle("POST /api/v1/agent/cases/{case_id}/check-codes", s.apiAgent(s.apiAgentCheckCode))
	mux.Handle("POST /api/v1/agent/cases/{case_id}/evidence", s.apiAgent(s.apiAgentEvidence))
	mux.Handle("POST /api/v1/agent/cases/{case_id}/actions", s.apiAgent(s.apiAgentAction))
	mux.Handle("POST /api/v1/agent/actions/{action_id}/approve", s.apiAgent(s.apiAgentApprove))
	mux.Handle("GET /api/v1/agent/agents", s.apiAgent(s.apiAgentList))
	mux.Handle("POST /api/v1/agent/agents", s.apiAgent(s.apiAgentAdd))
	mux.Handle("POST /api/v1/agent/agents/{agent_id}/disable", s.apiAgent(s.apiAgentDisable))
	s.registerAgentPages(mux)
}

func (s *Server) agentCookieName() string {
	if s.Options.SecureCookies {
		return "__Host-sg_agent"
	}
	return "sg_agent"
}

func (s *Server) setAgentCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: s.agentCookieName(), Value: token, Path: "/", HttpOnly: true, Secure: s.Options.SecureCookies,
		SameSite: http.SameSiteStrictMode, MaxAge: int((8 * time.Hour).Seconds())})
}

func (s *Server) clearAgentCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.agentCookieName(), Value: "", Path: "/", HttpOnly: true, Secure: s.Options.SecureCookies, SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

type agentKey struct{}

// authenticateAgent resolves the agent of a request: "Authorization:
// Bearer sga_…" or the agent cookie (never the seller's).
func (s *Server) authenticateAgent(r *http.Request) (support.Agent, error) {
	token := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, t, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return support.Agent{}, support.ErrAgentUnauthenticated
		}
		token = strings.TrimSpace(t)
	} else if c, err := r.Cookie(s.agentCookieName()); err == nil {
		token = c.Value
	}
	if token == "" {
		return support.Agent{}, support.ErrAgentUnauthenticated
	}
	return s.Options.Support.AuthenticateAgent(r.Context(), token)
}

// requireJSONWithAgentCookie is requireJSONWithCookie for the agent cookie.
func (s *Server) requireJSONWithAgentCookie(r *http.Request) error {
	if r.Header.Get("Authorization") != "" {
		return nil
	}
	if _, err := r.Cookie(s.agentCookieName()); err != nil {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		if r.ContentLength == 0 {
			return nil
		}
		return errCookieNeedsJSON
	}
	if mt, _, _ := strings.Cut(ct, ";"); strings.TrimSpace(strings.ToLower(mt)) != "application/json" {
		return errCookieNeedsJSON
	}
	return nil
}

// apiAgent adapts a handler of the agent console: a signed-in agent.
func (s *Server) apiAgent(h func(http.ResponseWriter, *http.Request, support.Agent) error) http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		if err := s.requireJSONWithAgentCookie(r); err != nil {
			return err
		}
		a, err := s.authenticateAgent(r)
		if err != nil {
			return err
		}
		ctx := context.WithValue(audit.WithSession(r.Context(), a.SessionID), agentKey{}, a)
		return h(w, r.WithContext(ctx), a)
	})
}

type agentEnrolRequest struct {
	Email         string `json:"email"`
	EnrolmentCode string `json:"enrolment_code"`
	Password      string `json:"password"`
}

func (s *Server) apiAgentEnrol(w http.ResponseWriter, r *http.Request) error {
	var req agentEnrolRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	e, err := s.Options.Support.Enrol(r.Context(), req.Email, req.EnrolmentCode, req.Password, s.meta(r))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, e)
}

type agentSignInRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Code     string `json:"code"`
}

func (s *Server) apiAgentSignIn(w http.ResponseWriter, r *http.Request) error {
	var req agentSignInRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	token, a, err := s.Options.Support.AgentSignIn(r.Context(), req.Email, req.Password, req.Code, s.meta(r))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, map[string]any{"token": token, "agent": a})
}

func (s *Server) apiAgentSession(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	return writeJSON(w, http.StatusOK, a)
}

func (s *Server) apiAgentSignOut(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	if err := s.Options.Support.AgentSignOut(r.Context(), a); err != nil {
		return err
	}
	s.clearAgentCookie(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// queueFilter reads the queue's filters from the query.
func queueFilter(r *http.Request) (support.QueueFilter, error) {
	q := r.URL.Query()
	f := support.QueueFilter{Kind: q.Get("kind"), State: q.Get("state")}
	if v := q.Get("min_age_hours"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 8760 {
			return f, sellerguard.Invalid(sellerguard.FieldError{Field: "min_age_hours", Code: "invalid_age", Message: "Give a whole number of hours between 0 and 8760."})
		}
		f.MinAge = time.Duration(n) * time.Hour
	}
	return f, nil
}

func (s *Server) apiAgentQueue(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	f, err := queueFilter(r)
	if err != nil {
		return err
	}
	cs, err := s.Options.Support.Queue(r.Context(), a, f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"cases": cs})
}

func (s *Server) apiAgentCase(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	c, err := s.Options.Support.CaseForAgent(r.Context(), a, r.PathValue("case_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

func (s *Server) agentCaseAnswer(w http.ResponseWriter, r *http.Request, a support.Agent, status int) error {
	c, err := s.Options.Support.CaseForAgent(r.Context(), a, r.PathValue("case_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, status, c)
}

type agentAssignRequest struct {
	AgentID string `json:"agent_id"`
}

func (s *Server) apiAgentAssign(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	var req agentAssignRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.Options.Support.Assign(r.Context(), a, r.PathValue("case_id"), req.AgentID); err != nil {
		return err
	}
	return s.agentCaseAnswer(w, r, a, http.StatusOK)
}

type agentMessageRequest struct {
	Body     string `json:"body"`
	Internal bool   `json:"internal"`
}

func (s *Server) apiAgentMessage(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	var req agentMessageRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.Options.Support.AgentReply(r.Context(), a, r.PathValue("case_id"), req.Body, req.Internal); err != nil {
		return err
	}
	return s.agentCaseAnswer(w, r, a, http.StatusCreated)
}

type agentStateRequest struct {
	State string `json:"state"`
}

func (s *Server) apiAgentState(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	var req agentStateRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.Options.Support.SetState(r.Context(), a, r.PathValue("case_id"), req.State); err != nil {
		return err
	}
	return s.agentCaseAnswer(w, r, a, http.StatusOK)
}

type agentKindRequest struct {
	Kind string `json:"kind"`
}

func (s *Server) apiAgentCheckCode(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	var req agentKindRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.Options.Support.SendCheckCode(r.Context(), a, r.PathValue("case_id"), req.Kind); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, answerIn(r, map[string]any{"sent": true, "message": "SellerGuard sent a code to the account's address on file. Ask the seller to read it to you and record it as evidence."}))
}

type agentEvidenceRequest struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

func (s *Server) apiAgentEvidence(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	var req agentEvidenceRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	e, err := s.Options.Support.RecordEvidence(r.Context(), a, r.PathValue("case_id"), req.Kind, req.Value)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, e)
}

type agentActionRequest struct {
	Kind     string `json:"kind"`
	MethodID string `json:"method_id"`
	NewEmail string `json:"new_email"`
}

func (s *Server) apiAgentAction(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	var req agentActionRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	act, err := s.Options.Support.RequestAction(r.Context(), a, r.PathValue("case_id"), support.ActionInput(req))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, act)
}

func (s *Server) apiAgentApprove(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	act, err := s.Options.Support.ApproveAction(r.Context(), a, r.PathValue("action_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, act)
}

func (s *Server) apiAgentList(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	as, err := s.Options.Support.ListAgents(r.Context(), a)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"agents": as})
}

type agentAddRequest struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

func (s *Server) apiAgentAdd(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	var req agentAddRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	added, code, err := s.Options.Support.AddAgent(r.Context(), &a, req.Email, req.Role)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, map[string]any{"agent": added, "enrolment_code": code})
}

func (s *Server) apiAgentDisable(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	if err := s.Options.Support.DisableAgent(r.Context(), a, r.PathValue("agent_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
