package web

import (
	"net/http"
	"slices"

	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/support"
)

// Seller Support pages: the case form (signed in or not, from "Can't sign
// in?"), "My cases", one case with its messages, and "This wasn't me".
func (s *Server) registerSupportPages(mux *recordingMux) {
	mux.Handle("GET /support", s.pageAuthed(s.pageMyCases))
	mux.Handle("GET /support/new", s.page(s.pageCaseForm))
	mux.Handle("POST /support/new", s.page(s.pageCaseSubmit))
	mux.Handle("GET /support/cases/{case_id}", s.pageAuthed(s.pageMyCase))
	mux.Handle("POST /support/cases/{case_id}/messages", s.pageAuthed(s.pageCaseReply))
	mux.Handle("POST /support/cases/{case_id}/not-me", s.pageAuthed(s.pageCaseNotMe))
	mux.Handle("GET /support/not-me", s.page(s.pageNotMeForm))
	mux.Handle("POST /support/not-me", s.page(s.pageNotMeSubmit))
}

type caseFormPage struct {
	*form
	SignedIn bool
	Email    string
	Kinds    []string
}

// optionalPrincipal is the signed-in user of a page that also serves
// signed-out visitors (nil when there is none, or only a partial session).
func (s *Server) pagePrincipal(r *http.Request) *session.Principal {
	if _, err := r.Cookie(s.cookieName()); err != nil {
		return nil
	}
	p, err := s.authenticate(r)
	if err != nil || p.RequireFull() != nil || p.RequireNoPendingPasswordChange() != nil {
		return nil
	}
	return p
}

func (s *Server) pageCaseForm(w http.ResponseWriter, r *http.Request) error {
	pg := caseFormPage{form: newForm(), Kinds: support.Kinds}
	if p := s.pagePrincipal(r); p != nil {
		pg.SignedIn, pg.Email = true, p.User.Email
		r = r.WithContext(withPrincipal(r.Context(), p))
	}
	if k := r.URL.Query().Get("kind"); slices.Contains(support.Kinds, k) {
		pg.Values["kind"] = k
	}
	s.render(w, r, http.StatusOK, "support_new", pg)
	return nil
}

func (s *Server) pageCaseSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	pg := caseFormPage{form: newForm(), Kinds: support.Kinds}
	for _, k := range []string{"kind", "account_email", "contact_email", "description"} {
		pg.Values[k] = r.PostForm.Get(k)
	}
	if p := s.pagePrincipal(r); p != nil {
		pg.SignedIn, pg.Email = true, p.User.Email
		r = r.WithContext(withPrincipal(r.Context(), p))
		c, err := s.Options.Support.OpenSignedIn(r.Context(), p, support.OpenInput{Kind: pg.Values["kind"], Description: pg.Values["description"], Lang: langOf(r)}, s.meta(r))
		if err != nil {
			return s.failFormPage(w, r, "support_new", pg.form, pg, err)
		}
		http.Redirect(w, r, "/support/cases/"+c.ID, http.StatusSeeOther)
		return nil
	}
	err := s.Options.Support.OpenSignedOut(r.Context(), support.OpenInput{Kind: pg.Values["kind"], AccountEmail: pg.Values["account_email"],
		ContactEmail: pg.Values["contact_email"], Description: pg.Values["description"], Lang: langOf(r)}, s.meta(r))
	if err != nil {
		return s.failFormPage(w, r, "support_new", pg.form, pg, err)
	}
	done := caseFormPage{form: newForm(), Kinds: support.Kinds}
	done.Values["sent"] = "1"
	s.render(w, r, http.StatusAccepted, "support_new", done)
	return nil
}

// failFormPage is failForm for a page whose struct embeds the form.
func (s *Server) failFormPage(w http.ResponseWriter, r *http.Request, name string, f *form, page any, err error) error {
	general, fields, ok := formError(err)
	if !ok {
		return err
	}
	f.Message, f.Errors = general, fields
	s.render(w, r, statusOf(s.classify(r, err).Code), name, page)
	return nil
}

type myCasesPage struct {
	Cases []support.Case
}

func (s *Server) pageMyCases(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	cs, err := s.Options.Support.MyCases(r.Context(), p)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "support_cases", myCasesPage{Cases: cs})
	return nil
}

type myCasePage struct {
	*form
	Case support.Case
}

func (s *Server) renderMyCase(w http.ResponseWriter, r *http.Request, p *session.Principal, f *form, status int) error {
	c, err := s.Options.Support.MyCase(r.Context(), p, r.PathValue("case_id"))
	if err != nil {
		return err
	}
	s.render(w, r, status, "support_case", myCasePage{form: f, Case: c})
	return nil
}

func (s *Server) pageMyCase(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	return s.renderMyCase(w, r, p, newForm(), http.StatusOK)
}

func (s *Server) pageCaseReply(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm()
	f.Values["body"] = r.PostForm.Get("body")
	if err := s.Options.Support.Reply(r.Context(), p, r.PathValue("case_id"), f.Values["body"], s.meta(r)); err != nil {
		general, fields, ok := formError(err)
		if !ok || statusOf(s.classify(r, err).Code) == http.StatusNotFound {
			return err
		}
		f.Message, f.Errors = general, fields
		return s.renderMyCase(w, r, p, f, statusOf(s.classify(r, err).Code))
	}
	http.Redirect(w, r, "/support/cases/"+r.PathValue("case_id"), http.StatusSeeOther)
	return nil
}

func (s *Server) pageCaseNotMe(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := s.Options.Support.DisownSignedIn(r.Context(), p, r.PathValue("case_id"), s.meta(r)); err != nil {
		return err
	}
	f := newForm()
	f.Values["not_me_done"] = "1"
	return s.renderMyCase(w, r, p, f, http.StatusOK)
}

func (s *Server) pageNotMeForm(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "support_notme", newForm())
	return nil
}

func (s *Server) pageNotMeSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm()
	f.Values["code"] = r.PostForm.Get("code")
	if err := s.Options.Support.NotMe(r.Context(), f.Values["code"], s.meta(r)); err != nil {
		return s.failForm(w, r, "support_notme", f, err)
	}
	done := newForm()
	done.Values["done"] = "1"
	s.render(w, r, http.StatusOK, "support_notme", done)
	return nil
}
