package web

import (
	"net/http"

	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/support"
)

// Seller Support, the seller's side (internal/support): open a case signed
// in or not, list and read one's cases, answer them, and say "this wasn't
// me" about a case opened about one's account.
func (s *Server) registerSupport(mux *recordingMux) {
	mux.Handle("POST /api/v1/support/cases", s.api(s.apiOpenCase))
	mux.Handle("GET /api/v1/support/cases", s.apiAuthed(s.apiMyCases))
	mux.Handle("GET /api/v1/support/cases/{case_id}", s.apiAuthed(s.apiMyCase))
	mux.Handle("POST /api/v1/support/cases/{case_id}/messages", s.apiAuthed(s.apiCaseReply))
	mux.Handle("POST /api/v1/support/cases/{case_id}/not-me", s.apiAuthed(s.apiCaseNotMe))
	mux.Handle("POST /api/v1/support/not-me", s.api(s.apiNotMe))
	s.registerSupportPages(mux)
}

type openCaseRequest struct {
	Kind         string `json:"kind"`
	AccountEmail string `json:"account_email"`
	ContactEmail string `json:"contact_email"`
	Description  string `json:"description"`
}

func (q openCaseRequest) input(r *http.Request) support.OpenInput {
	return support.OpenInput{Kind: q.Kind, AccountEmail: q.AccountEmail, ContactEmail: q.ContactEmail, Description: q.Description, Lang: langOf(r)}
}

// caseReceived is the one answer to every well-formed signed-out case: it
// does not say whether the account exists.
var caseReceived = map[string]string{
	"status":  "received",
	"message": "Thank you. Your case reference is on its way to the contact address you gave. If the account email belongs to a SellerGuard account, its owner is told that a case was opened.",
}

// apiOpenCase opens a case: with a full session (bearer token or cookie)
// it is the caller's own; without one (or with a stale cookie) it is a
// signed-out case. A bearer token that is not valid is refused.
func (s *Server) apiOpenCase(w http.ResponseWriter, r *http.Request) error {
	p, err := s.optionalPrincipal(r)
	if err != nil {
		return err
	}
	if p != nil {
		var req openCaseRequest
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
		c, err := s.Options.Support.OpenSignedIn(r.Context(), p, req.input(r), s.meta(r))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, c)
	}
	var req openCaseRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.Options.Support.OpenSignedOut(r.Context(), req.input(r), s.meta(r)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, answerIn(r, caseReceived))
}

func (s *Server) apiMyCases(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	cs, err := s.Options.Support.MyCases(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"cases": cs})
}

func (s *Server) apiMyCase(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	c, err := s.Options.Support.MyCase(r.Context(), p, r.PathValue("case_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

type caseMessageRequest struct {
	Body string `json:"body"`
}

func (s *Server) apiCaseReply(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req caseMessageRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.Options.Support.Reply(r.Context(), p, r.PathValue("case_id"), req.Body, s.meta(r)); err != nil {
		return err
	}
	c, err := s.Options.Support.MyCase(r.Context(), p, r.PathValue("case_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, c)
}

func (s *Server) apiCaseNotMe(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := s.Options.Support.DisownSignedIn(r.Context(), p, r.PathValue("case_id"), s.meta(r)); err != nil {
		return err
	}
	c, err := s.Options.Support.MyCase(r.Context(), p, r.PathValue("case_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

type notMeRequest struct {
	Code string `json:"code"`
}

var notMeDone = map[string]any{
	"cancelled": true,
	"message":   "Thank you. The case is marked as not opened by you and every pending support action on your account is cancelled. Consider changing your password.",
}

func (s *Server) apiNotMe(w http.ResponseWriter, r *http.Request) error {
	var req notMeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.Options.Support.NotMe(r.Context(), req.Code, s.meta(r)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, answerIn(r, notMeDone))
}
