package web

import (
	"net/http"

	"github.com/sellerguard/sellerguard/internal/session"
)

// "Is this still yours?" on the account page: when the sign-in email or the
// mobile number was last confirmed longer ago than
// SELLERGUARD_CONTACT_CHECK_AGE, the account page asks, with a button that
// sends a code to it; the code, entered on the same page, confirms it (as
// POST /api/v1/account/contact/confirm and …/verify).

var contactKinds = map[string]bool{"email": true, "phone": true}

func (s *Server) registerContactCheck(mux *recordingMux) {
	mux.Handle("POST /account/contact/confirm", s.pageAuthed(s.pageContactCheckSend))
	mux.Handle("POST /account/contact/confirm/verify", s.pageAuthed(s.pageContactCheckVerify))
}

// pageContactCheckSend sends the code and shows the account page with the
// field for it.
func (s *Server) pageContactCheckSend(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	kind := r.PostForm.Get("kind")
	if err := s.Account.StartContactConfirmation(r.Context(), p, kind, s.meta(r)); err != nil {
		pg, perr := s.newAccountPage(r, p)
		if perr != nil {
			return perr
		}
		return s.failPage(w, r, "account", pg, pg.Check, err, nil)
	}
	http.Redirect(w, r, "/account?confirming="+kind, http.StatusSeeOther)
	return nil
}

// pageContactCheckVerify checks the code: confirmed, back to the account
// page saying so; a wrong code shows the field again with the problem.
func (s *Server) pageContactCheckVerify(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	kind := r.PostForm.Get("kind")
	if err := s.Account.ConfirmContact(r.Context(), p, kind, r.PostForm.Get("code"), s.meta(r)); err != nil {
		pg, perr := s.newAccountPage(r, p)
		if perr != nil {
			return perr
		}
		if contactKinds[kind] {
			pg.Check.Values["kind"] = kind
		}
		return s.failPage(w, r, "account", pg, pg.Check, err, map[string]string{"invalid_code": "code"})
	}
	http.Redirect(w, r, "/account?confirmed="+kind, http.StatusSeeOther)
	return nil
}
