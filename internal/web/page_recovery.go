package web

import (
	"net/http"
	"net/url"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/recovery"
	"github.com/sellerguard/sellerguard/internal/session"
)

func (s *Server) registerRecoveryPages(mux *recordingMux) {
	mux.Handle("GET /signin/help", s.page(s.pageSignInHelp))
	mux.Handle("GET /signin/forgot", s.page(s.pageForgotForm))
	mux.Handle("POST /signin/forgot", s.page(s.pageForgotSubmit))
	mux.Handle("POST /signin/forgot/verify", s.page(s.pageForgotVerify))
	mux.Handle("POST /signin/forgot/password", s.page(s.pageForgotPassword))
}

// pageSignInHelp is "Can't sign in?": the choices a seller has today.
func (s *Server) pageSignInHelp(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "signin_help", newForm())
	return nil
}

// The forgot-password page has three steps, kept in the form itself:
// "email" (ask for a code), "code" (enter it), "password" (choose a new
// one, with the recovery token in a hidden field — never in a URL).
func (s *Server) pageForgotForm(w http.ResponseWriter, r *http.Request) error {
	f := newForm()
	f.Values["step"] = "email"
	s.render(w, r, http.StatusOK, "forgot", f)
	return nil
}

func (s *Server) pageForgotSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm()
	f.Values["step"], f.Values["email"] = "email", r.PostForm.Get("email")
	if err := s.Account.StartRecovery(r.Context(), f.Values["email"], s.meta(r)); err != nil {
		return s.failForm(w, r, "forgot", f, err)
	}
	f.Values["step"] = "code"
	f.Notice = tr(r, "forgot.code_sent")
	s.render(w, r, http.StatusOK, "forgot", f)
	return nil
}

func (s *Server) pageForgotVerify(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm()
	f.Values["step"], f.Values["email"] = "code", r.PostForm.Get("email")
	token, err := s.Account.VerifyRecovery(r.Context(), f.Values["email"], r.PostForm.Get("code"), s.meta(r))
	if err != nil {
		return s.failForm(w, r, "forgot", f, err)
	}
	f.Values["step"], f.Values["token"] = "password", token
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "forgot", f)
	return nil
}

func (s *Server) pageForgotPassword(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm()
	f.Values["step"], f.Values["token"], f.Values["email"] = "password", r.PostForm.Get("recovery_token"), r.PostForm.Get("username")
	w.Header().Set("Cache-Control", "no-store")
	newPassword := r.PostForm.Get("password")
	done, err := s.Account.RecoveryPassword(r.Context(), f.Values["token"], newPassword, s.meta(r))
	if err != nil {
		if sellerguard.ErrorCode(err) == sellerguard.ECodeInvalidCode || !recovery.WellFormedToken(f.Values["token"]) {
			f.Values["step"], f.Values["token"] = "email", "" // expired or used: start again
		}
		return s.failForm(w, r, "forgot", f, err)
	}
	if done.Revert {
		// The owner took the account back: sign in with the password just
		// chosen, exactly as the sign-in page does (the second step is
		// still asked for), and go on to Secure my account.
		res, err := s.Session.SignIn(r.Context(), session.SignInInput{Email: done.Email, Password: newPassword, Device: s.deviceCookie(r)}, s.meta(r))
		if err == nil {
			s.setDeviceCookie(w, res.NewDevice)
			s.setSessionCookie(w, res.Token, res.Session.ExpiresAt)
			if res.Session.AuthLevel == sellerguard.AuthPartial {
				http.Redirect(w, r, "/signin/second-step?next="+url.QueryEscape(secureNext), http.StatusSeeOther)
				return nil
			}
			http.Redirect(w, r, secureNext, http.StatusSeeOther)
			return nil
		}
		if _, _, ok := formError(err); !ok {
			return err
		}
		// Signing in was refused (a busy or limited moment): the password
		// is set all the same; sign in on the page.
	}
	s.clearSessionCookie(w)
	n := newForm()
	n.Notice = tr(r, "forgot.done")
	if done.Revert {
		n.Notice = tr(r, "forgot.done_revert")
	}
	s.render(w, r, http.StatusOK, "signin", n)
	return nil
}
