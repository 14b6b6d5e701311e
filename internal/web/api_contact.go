package web

import (
	"net/http"
	"time"

	"github.com/sellerguard/sellerguard/internal/session"
)

func (s *Server) registerContact(mux *recordingMux) {
	mux.Handle("GET /api/v1/account/contact", s.apiAuthed(s.apiContact))
	mux.Handle("POST /api/v1/account/email", s.apiAuthed(s.apiStartEmailChange))
	mux.Handle("POST /api/v1/account/email/confirm", s.apiAuthed(s.apiConfirmEmailChange))
	mux.Handle("POST /api/v1/account/email/revert", s.api(s.apiRevertEmailChange))
	mux.Handle("POST /api/v1/account/phone", s.apiAuthed(s.apiStartPhoneChange))
	mux.Handle("POST /api/v1/account/phone/confirm", s.apiAuthed(s.apiConfirmPhoneChange))
	mux.Handle("POST /api/v1/account/contact/confirm", s.apiAuthed(s.apiStartContactConfirmation))
	mux.Handle("POST /api/v1/account/contact/confirm/verify", s.apiAuthed(s.apiConfirmContact))
	mux.Handle("GET /account/email", s.pageAuthed(s.pageEmailForm))
	mux.Handle("POST /account/email", s.pageAuthed(s.pageEmailSubmit))
	mux.Handle("POST /account/email/confirm", s.pageAuthed(s.pageEmailConfirm))
	mux.Handle("GET /account/phone", s.pageAuthed(s.pagePhoneForm))
	mux.Handle("POST /account/phone", s.pageAuthed(s.pagePhoneSubmit))
	mux.Handle("POST /account/phone/confirm", s.pageAuthed(s.pagePhoneConfirm))
	mux.Handle("GET /signin/revert-email", s.page(s.pageRevertForm))
	mux.Handle("POST /signin/revert-email", s.page(s.pageRevertSubmit))
}

type contactJSON struct {
	Email                string     `json:"email"`
	Phone                string     `json:"phone"`
	EmailConfirmedAt     *time.Time `json:"email_confirmed_at"`
	PhoneConfirmedAt     *time.Time `json:"phone_confirmed_at"`
	EmailConfirmationDue bool       `json:"email_confirmation_due"`
	PhoneConfirmationDue bool       `json:"phone_confirmation_due"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func (s *Server) apiContact(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	c, err := s.Account.Contact(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, contactJSON{Email: c.Email, Phone: c.Phone, EmailConfirmedAt: timePtr(c.EmailConfirmedAt), PhoneConfirmedAt: timePtr(c.PhoneConfirmedAt), EmailConfirmationDue: c.EmailDue, PhoneConfirmationDue: c.PhoneDue})
}

type emailChangeRequest struct {
	Email string `json:"email"`
}

// emailChangeStarted is the one answer to every valid request: it does not
// say whether the new address belongs to another account.
var emailChangeStarted = map[string]string{
	"status":  "code_sent",
	"message": "If this address can be used, a code is on its way to it. Enter it to finish the change.",
}

func (s *Server) apiStartEmailChange(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req emailChangeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.Account.StartEmailChange(r.Context(), p, req.Email, s.meta(r)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, answerIn(r, emailChangeStarted))
}

func (s *Server) apiConfirmEmailChange(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req codeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	addr, err := s.Account.ConfirmEmailChange(r.Context(), p, req.Code, s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, answerIn(r, map[string]any{"email": addr, "message": "Your sign-in email is changed. Your previous address was told, with a code that can undo the change for 7 days."}))
}

const revertedMessage = "Your previous email is your sign-in email again, every session of the account has ended and the password in place no longer works. Choose a new password now."

type revertRequest struct {
	Email string `json:"email"`
	Code  string `json:"code"`
}

func (s *Server) apiRevertEmailChange(w http.ResponseWriter, r *http.Request) error {
	var req revertRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	token, err := s.Account.RevertEmailChange(r.Context(), req.Email, req.Code, s.meta(r))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, answerIn(r, map[string]any{"reverted": true, "recovery_token": token, "message": revertedMessage}))
}

type phoneChangeRequest struct {
	Phone string `json:"phone"`
}

func (s *Server) apiStartPhoneChange(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req phoneChangeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	to, err := s.Account.StartPhoneChange(r.Context(), p, req.Phone, s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, map[string]any{"status": "code_sent", "sent_to": to})
}

func (s *Server) apiConfirmPhoneChange(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req codeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.Account.ConfirmPhoneChange(r.Context(), p, req.Code, s.meta(r)); err != nil {
		return err
	}
	return s.apiContact(w, r, p)
}

func (s *Server) pageEmailForm(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	f := newForm()
	f.Values["current"] = p.User.Email
	if r.URL.Query().Get("done") == "1" {
		f.Notice = tr(r, "email_page.notice.changed")
	}
	s.render(w, r, http.StatusOK, "email", f)
	return nil
}

func (s *Server) pageEmailSubmit(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm()
	f.Values["current"], f.Values["email"] = p.User.Email, r.PostForm.Get("email")
	err := s.Account.StartEmailChange(r.Context(), p, f.Values["email"], s.meta(r))
	if err != nil {
		if isReauth(err) {
			http.Redirect(w, r, "/account/reauth?next=/account/email", http.StatusSeeOther)
			return nil
		}
		return s.failForm(w, r, "email", f, err)
	}
	f.Values["pending"] = "1"
	f.Notice = tr(r, "email_page.notice.sent")
	s.render(w, r, http.StatusOK, "email", f)
	return nil
}

func (s *Server) pageEmailConfirm(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	if _, err := s.Account.ConfirmEmailChange(r.Context(), p, r.PostForm.Get("code"), s.meta(r)); err != nil {
		f := newForm()
		f.Values["current"], f.Values["pending"] = p.User.Email, "1"
		return s.failForm(w, r, "email", f, err)
	}
	http.Redirect(w, r, "/account/email?done=1", http.StatusSeeOther)
	return nil
}

func (s *Server) pageRevertForm(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "revert", newForm())
	return nil
}

func (s *Server) pageRevertSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm()
	f.Values["email"] = r.PostForm.Get("email")
	token, err := s.Account.RevertEmailChange(r.Context(), f.Values["email"], r.PostForm.Get("code"), s.meta(r))
	if err != nil {
		return s.failForm(w, r, "revert", f, err)
	}
	s.clearSessionCookie(w)
	// The recovery the revert started: choose the new password at once.
	n := newForm()
	n.Values["step"], n.Values["token"], n.Values["email"] = "password", token, f.Values["email"]
	n.Notice = tr(r, "revert.notice.done")
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "forgot", n)
	return nil
}

type contactKindRequest struct {
	Kind string `json:"kind"`
}

func (s *Server) apiStartContactConfirmation(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req contactKindRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.Account.StartContactConfirmation(r.Context(), p, req.Kind, s.meta(r)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, map[string]any{"status": "code_sent", "kind": req.Kind})
}

type contactConfirmRequest struct {
	Kind string `json:"kind"`
	Code string `json:"code"`
}

func (s *Server) apiConfirmContact(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req contactConfirmRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.Account.ConfirmContact(r.Context(), p, req.Kind, req.Code, s.meta(r)); err != nil {
		return err
	}
	return s.apiContact(w, r, p)
}

func (s *Server) phoneForm(r *http.Request, p *session.Principal) (*form, error) {
	c, err := s.Account.Contact(r.Context(), p)
	if err != nil {
		return nil, err
	}
	f := newForm()
	f.Values["current"] = c.Phone
	return f, nil
}

func (s *Server) pagePhoneForm(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	f, err := s.phoneForm(r, p)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("done") == "1" {
		f.Notice = tr(r, "phone.notice.changed")
	}
	s.render(w, r, http.StatusOK, "phone", f)
	return nil
}

func (s *Server) pagePhoneSubmit(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f, err := s.phoneForm(r, p)
	if err != nil {
		return err
	}
	f.Values["phone"] = r.PostForm.Get("phone")
	to, err := s.Account.StartPhoneChange(r.Context(), p, f.Values["phone"], s.meta(r))
	if err != nil {
		if isReauth(err) {
			http.Redirect(w, r, "/account/reauth?next=/account/phone", http.StatusSeeOther)
			return nil
		}
		return s.failForm(w, r, "phone", f, err)
	}
	f.Values["pending"], f.Notice = "1", tr(r, "phone.notice.sent", "To", to)
	s.render(w, r, http.StatusOK, "phone", f)
	return nil
}

func (s *Server) pagePhoneConfirm(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	if err := s.Account.ConfirmPhoneChange(r.Context(), p, r.PostForm.Get("code"), s.meta(r)); err != nil {
		f, ferr := s.phoneForm(r, p)
		if ferr != nil {
			return ferr
		}
		f.Values["pending"] = "1"
		return s.failForm(w, r, "phone", f, err)
	}
	http.Redirect(w, r, "/account/phone?done=1", http.StatusSeeOther)
	return nil
}
