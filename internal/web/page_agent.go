package web

import (
	"context"
	"net/http"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/support"
)

// The agent console's pages: enrolment, sign-in, the queue, one case with
// its checks and actions, and (supervisors) the agents.
func (s *Server) registerAgentPages(mux *recordingMux) {
	mux.Handle("GET /agent/enrol", s.page(s.pageAgentEnrolForm))
	mux.Handle("POST /agent/enrol", s.page(s.pageAgentEnrolSubmit))
	mux.Handle("GET /agent/signin", s.page(s.pageAgentSignInForm))
	mux.Handle("POST /agent/signin", s.page(s.pageAgentSignInSubmit))
	mux.Handle("POST /agent/signout", s.pageAgent(s.pageAgentSignOut))
	mux.Handle("GET /agent", s.pageAgent(s.pageAgentQueue))
	mux.Handle("GET /agent/cases/{case_id}", s.pageAgent(s.pageAgentCase))
	mux.Handle("POST /agent/cases/{case_id}/{op}", s.pageAgent(s.pageAgentCaseOp))
	mux.Handle("POST /agent/actions/{action_id}/approve", s.pageAgent(s.pageAgentApprove))
	mux.Handle("GET /agent/agents", s.pageAgent(s.pageAgentAgents))
	mux.Handle("POST /agent/agents", s.pageAgent(s.pageAgentAdd))
	mux.Handle("POST /agent/agents/{agent_id}/disable", s.pageAgent(s.pageAgentDisable))
}

// pageAgent adapts a console page: a signed-in agent, or the agent sign-in page.
func (s *Server) pageAgent(h func(http.ResponseWriter, *http.Request, support.Agent) error) http.Handler {
	return s.page(func(w http.ResponseWriter, r *http.Request) error {
		a, err := s.authenticateAgent(r)
		if err != nil {
			if sellerguard.ErrorCode(err) == sellerguard.ECodeUnauthenticated {
				s.clearAgentCookie(w)
				http.Redirect(w, r, "/agent/signin", http.StatusSeeOther)
				return nil
			}
			return err
		}
		ctx := context.WithValue(audit.WithSession(r.Context(), a.SessionID), agentKey{}, a)
		return h(w, r.WithContext(ctx), a)
	})
}

type agentPage struct {
	*form
	Agent    support.Agent
	Cases    []support.AgentCase
	Case     support.AgentCase
	Agents   []support.Agent
	Enrolled *support.Enrolment
	Code     string
	Kinds    []string
	States   []string
	Evidence []string
	Actions  []string
}

func (s *Server) newAgentPage(a support.Agent) *agentPage {
	return &agentPage{form: newForm(), Agent: a, Kinds: support.Kinds, States: support.States, Evidence: support.EvidenceKinds, Actions: support.ActionKinds}
}

func (s *Server) pageAgentEnrolForm(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "agent_enrol", &agentPage{form: newForm()})
	return nil
}

func (s *Server) pageAgentEnrolSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	pg := &agentPage{form: newForm()}
	pg.Values["email"] = r.PostForm.Get("email")
	e, err := s.Options.Support.Enrol(r.Context(), pg.Values["email"], r.PostForm.Get("enrolment_code"), r.PostForm.Get("password"), s.meta(r))
	if err != nil {
		return s.failFormPage(w, r, "agent_enrol", pg.form, pg, err)
	}
	pg.Enrolled = &e
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "agent_enrol", pg)
	return nil
}

func (s *Server) pageAgentSignInForm(w http.ResponseWriter, r *http.Request) error {
	pg := &agentPage{form: newForm()}
	if r.URL.Query().Get("signed_out") == "1" {
		pg.Notice = tr(r, "agent.signin.signed_out")
	}
	s.render(w, r, http.StatusOK, "agent_signin", pg)
	return nil
}

func (s *Server) pageAgentSignInSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	pg := &agentPage{form: newForm()}
	pg.Values["email"] = r.PostForm.Get("email")
	token, _, err := s.Options.Support.AgentSignIn(r.Context(), pg.Values["email"], r.PostForm.Get("password"), r.PostForm.Get("code"), s.meta(r))
	if err != nil {
		return s.failFormPage(w, r, "agent_signin", pg.form, pg, err)
	}
	s.setAgentCookie(w, token)
	http.Redirect(w, r, "/agent", http.StatusSeeOther)
	return nil
}

func (s *Server) pageAgentSignOut(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	if err := s.Options.Support.AgentSignOut(r.Context(), a); err != nil {
		return err
	}
	s.clearAgentCookie(w)
	http.Redirect(w, r, "/agent/signin?signed_out=1", http.StatusSeeOther)
	return nil
}

func (s *Server) pageAgentQueue(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	pg := s.newAgentPage(a)
	for _, k := range []string{"kind", "state", "min_age_hours"} {
		pg.Values[k] = r.URL.Query().Get(k)
	}
	f, err := queueFilter(r)
	if err == nil {
		pg.Cases, err = s.Options.Support.Queue(r.Context(), a, f)
	}
	if err != nil {
		return s.failFormPage(w, r, "agent_queue", pg.form, pg, err)
	}
	s.render(w, r, http.StatusOK, "agent_queue", pg)
	return nil
}

func (s *Server) renderAgentCase(w http.ResponseWriter, r *http.Request, pg *agentPage, status int) error {
	c, err := s.Options.Support.CaseForAgent(r.Context(), pg.Agent, r.PathValue("case_id"))
	if err != nil {
		return err
	}
	pg.Case = c
	s.render(w, r, status, "agent_case", pg)
	return nil
}

func (s *Server) pageAgentCase(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	return s.renderAgentCase(w, r, s.newAgentPage(a), http.StatusOK)
}

// pageAgentCaseOp runs one of the case page's forms and shows the case
// again with the outcome.
func (s *Server) pageAgentCaseOp(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	if err := parseForm(r); err != nil {
		return err
	}
	sup, id, f := s.Options.Support, r.PathValue("case_id"), r.PostForm
	pg := s.newAgentPage(a)
	var err error
	switch r.PathValue("op") {
	case "assign":
		err = sup.Assign(r.Context(), a, id, f.Get("agent_id"))
		pg.Notice = tr(r, "agent.notice.assigned")
	case "messages":
		err = sup.AgentReply(r.Context(), a, id, f.Get("body"), f.Get("internal") == "1")
		pg.Notice = tr(r, "agent.notice.saved")
	case "state":
		err = sup.SetState(r.Context(), a, id, f.Get("state"))
		pg.Notice = tr(r, "agent.notice.state")
	case "check-codes":
		err = sup.SendCheckCode(r.Context(), a, id, f.Get("kind"))
		pg.Notice = tr(r, "agent.notice.code_sent")
	case "evidence":
		var e support.Evidence
		e, err = sup.RecordEvidence(r.Context(), a, id, f.Get("kind"), f.Get("value"))
		pg.Notice = tr(r, "agent.notice.no_match", "Kind", e.Kind)
		if e.Matched {
			pg.Notice = tr(r, "agent.notice.matches", "Kind", e.Kind)
		}
	case "actions":
		var act support.Action
		act, err = sup.RequestAction(r.Context(), a, id, support.ActionInput{Kind: f.Get("kind"), MethodID: f.Get("method_id"), NewEmail: f.Get("new_email")})
		pg.Notice = tr(r, "agent.notice.action", "Kind", act.Kind, "State", act.State)
	default:
		return errNotFound
	}
	if err != nil {
		general, fields, ok := formError(err)
		if !ok || statusOf(s.classify(r, err).Code) == http.StatusNotFound {
			return err
		}
		pg.Notice, pg.Message, pg.Errors = "", general, fields
		return s.renderAgentCase(w, r, pg, statusOf(s.classify(r, err).Code))
	}
	return s.renderAgentCase(w, r, pg, http.StatusOK)
}

func (s *Server) pageAgentApprove(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	act, err := s.Options.Support.ApproveAction(r.Context(), a, r.PathValue("action_id"))
	if err != nil {
		return err
	}
	c, err := s.Options.Support.CaseForAgent(r.Context(), a, act.CaseID)
	if err != nil {
		return err
	}
	pg := s.newAgentPage(a)
	pg.Case = c
	pg.Notice = tr(r, "agent.notice.approved", "When", whenIn(langOf(r))(act.EffectiveAt))
	s.render(w, r, http.StatusOK, "agent_case", pg)
	return nil
}

func (s *Server) pageAgentAgents(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	pg := s.newAgentPage(a)
	as, err := s.Options.Support.ListAgents(r.Context(), a)
	if err != nil {
		return err
	}
	pg.Agents = as
	s.render(w, r, http.StatusOK, "agent_agents", pg)
	return nil
}

func (s *Server) pageAgentAdd(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	if err := parseForm(r); err != nil {
		return err
	}
	pg := s.newAgentPage(a)
	pg.Values["email"], pg.Values["role"] = r.PostForm.Get("email"), r.PostForm.Get("role")
	added, code, err := s.Options.Support.AddAgent(r.Context(), &a, pg.Values["email"], pg.Values["role"])
	if err == nil {
		pg.Code, pg.Notice = code, tr(r, "agent.notice.added", "Email", added.Email)
		pg.Values = map[string]string{}
		w.Header().Set("Cache-Control", "no-store")
	}
	as, lerr := s.Options.Support.ListAgents(r.Context(), a)
	if lerr != nil {
		return lerr
	}
	pg.Agents = as
	if err != nil {
		return s.failFormPage(w, r, "agent_agents", pg.form, pg, err)
	}
	s.render(w, r, http.StatusOK, "agent_agents", pg)
	return nil
}

func (s *Server) pageAgentDisable(w http.ResponseWriter, r *http.Request, a support.Agent) error {
	if err := s.Options.Support.DisableAgent(r.Context(), a, r.PathValue("agent_id")); err != nil {
		return err
	}
	http.Redirect(w, r, "/agent/agents", http.StatusSeeOther)
	return nil
}
