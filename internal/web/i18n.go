package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/session"
)

// langCookie keeps a signed-out visitor's language choice (a year).
const langCookie = "sg_lang"

// reqState is filled in as a request is handled, for the answer's language:
// the API adapters learn the caller only inside the handler, after the
// error writer was chosen.
type reqState struct {
	principal *session.Principal
	caller    session.Principal // where apiSession keeps the request's copy of the caller
	sessionID string            // the caller's session, for audit.SessionFrom (reqContext answers audit.SessionKey)
}

type reqStateKey struct{}

// reqContext is the context of every request the server serves (observe
// makes it): the parent context's values plus the request's state, and the
// middleware's response writers, in one allocation rather than one
// context.WithValue, Request.WithContext and writer each. Nothing keeps it
// past the request.
type reqContext struct {
	context.Context
	st  reqState
	rec statusRecorder
	mux muxErrorWriter
}

type reqContextKey struct{}

// Value answers the request's state, the request context itself and the
// acting session's id (once apiSession has set it), else asks the parent.
func (c *reqContext) Value(key any) any {
	switch key.(type) {
	case reqStateKey:
		return &c.st
	case reqContextKey:
		return c
	case audit.SessionKey:
		if c.st.sessionID != "" {
			return c.st.sessionID
		}
	}
	return c.Context.Value(key)
}

// reqContextOf returns the request's reqContext, or nil outside observe.
func reqContextOf(r *http.Request) *reqContext {
	c, _ := r.Context().Value(reqContextKey{}).(*reqContext)
	return c
}

func withReqState(r *http.Request) (*http.Request, *reqState) {
	if st, ok := r.Context().Value(reqStateKey{}).(*reqState); ok {
		return r, st
	}
	st := &reqState{}
	return r.WithContext(context.WithValue(r.Context(), reqStateKey{}, st)), st
}

// langOf picks the language of an answer: the signed-in user's choice; else
// the visitor's language cookie; else the browser's Accept-Language; else
// English.
func langOf(r *http.Request) i18n.Lang {
	var p *session.Principal
	if v, ok := r.Context().Value(principalKey{}).(*session.Principal); ok {
		p = v
	} else if st, ok := r.Context().Value(reqStateKey{}).(*reqState); ok {
		p = st.principal
	}
	if p != nil && p.User.Language != "" {
		return i18n.OrDefault(p.User.Language)
	}
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := i18n.Parse(c.Value); ok {
			return l
		}
	}
	return i18n.FromAcceptLanguage(r.Header.Get("Accept-Language"))
}

// localPath returns next when it is a path on this site, else "/": the
// language switch must not become an open redirect.
func localPath(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

func (s *Server) setLangCookie(w http.ResponseWriter, l i18n.Lang) {
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: string(l), Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: s.Options.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// pageSetLanguage is the language switch on every page: it keeps the choice
// in a cookie and, for a signed-in user, saves it on the account (emails
// and text messages follow it too), then goes back to the page.
func (s *Server) pageSetLanguage(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return sellerguard.Invalid(sellerguard.FieldError{Field: "language", Code: "required", Message: "Choose en (English) or zh-CN (Simplified Chinese)."})
	}
	l, ok := i18n.Parse(r.PostForm.Get("language"))
	if !ok {
		return sellerguard.Invalid(sellerguard.FieldError{Field: "language", Code: "unsupported_language", Message: "Choose en (English) or zh-CN (Simplified Chinese)."})
	}
	if p, err := s.authenticate(r); err == nil && p.RequireFull() == nil {
		if _, err := s.Account.SetLanguage(r.Context(), p, string(l), s.meta(r)); err != nil {
			return err
		}
	}
	s.setLangCookie(w, l)
	http.Redirect(w, r, localPath(r.PostForm.Get("next")), http.StatusSeeOther)
	return nil
}

type languageJSON struct {
	Language  string   `json:"language"`
	Chosen    bool     `json:"chosen"`
	Supported []string `json:"supported"`
}

func languageAnswer(u sellerguard.User) languageJSON {
	out := languageJSON{Language: u.WritingLanguage(), Chosen: u.Language != ""}
	for _, l := range i18n.Supported {
		out.Supported = append(out.Supported, string(l))
	}
	return out
}

func (s *Server) apiGetLanguage(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	return writeJSON(w, http.StatusOK, languageAnswer(p.User))
}

type languageRequest struct {
	Language *string `json:"language"`
}

func (s *Server) apiSetLanguage(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req languageRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Language == nil {
		return sellerguard.Invalid(sellerguard.FieldError{Field: "language", Code: "required", Message: "Choose en (English) or zh-CN (Simplified Chinese)."})
	}
	if _, err := s.Account.SetLanguage(r.Context(), p, *req.Language, s.meta(r)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, languageAnswer(p.User))
}

// tr is message key in the request's language, for texts that handlers put
// on pages (notices, labels).
func tr(r *http.Request, key string, kv ...any) string {
	return i18n.Default().T(langOf(r), key, kv...)
}
