package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/auth"
)

// pageSet holds one parsed template per page, each the layout plus the page.
type pageSet struct {
	byName map[string]*template.Template
}

// when shows a time for people ("never" for the zero time).
func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

var templateFuncs = template.FuncMap{
	"when":  when,
	"money": formatCents,
	"val":   func(f *form, key string) string { return f.Values[key] },
	"areaLevel": func(p sellerguard.Permissions, area string) string {
		if l := p[area]; l != "" {
			return l
		}
		return sellerguard.LevelNone
	},
	"has": func(list []string, v string) bool {
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	},
}

func loadPages() (*pageSet, error) {
	// The layout and the partials that several pages use (one definition
	// each, in templates/partials).
	layout, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(assets, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: layout: %w", err)
	}
	files, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	ps := &pageSet{byName: map[string]*template.Template{}}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(assets, f)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		ps.byName[name] = t
	}
	return ps, nil
}

// pageData is what every page gets; Page holds the page's own struct.
type pageData struct {
	Title     string
	User      *sellerguard.User
	LocalMode bool
	Page      any
}

type errorPage struct {
	Status  int
	Title   string
	Message string
}

// render executes a page into a buffer first, so a template error becomes a
// clean error page instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, page any) {
	t, ok := s.pages.byName[name]
	if !ok {
		s.Logger.Error("web: no such template", "name", name)
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	data := pageData{Title: pageTitle(name), LocalMode: s.Options.LocalMode && fromLoopbackPeer(r), Page: page}
	if p, ok := r.Context().Value(principalKey{}).(*auth.Principal); ok {
		data.User = &p.User
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		s.Logger.Error("web: render", "name", name, "err", err)
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // client went away
}

func pageTitle(name string) string {
	switch name {
	case "signup":
		return "Sign up"
	case "verify":
		return "Verify your email"
	case "signin":
		return "Sign in"
	case "account":
		return "Your account"
	case "sessions":
		return "Where you're signed in"
	case "audit":
		return "Audit log"
	case "outbox":
		return "Local outbox"
	case "home":
		return "SellerGuard"
	case "unlock":
		return "Get an unlock code"
	case "phrase":
		return "Anti-phishing phrase"
	case "password":
		return "Change your password"
	case "email":
		return "Change your sign-in email"
	case "revert":
		return "Undo an email change"
	case "signin_help":
		return "Can't sign in?"
	case "forgot":
		return "Reset your password"
	case "phone":
		return "Change your mobile number"
	case "team":
		return "Team"
	case "review":
		return "Access review"
	case "business":
		return "Business data"
	case "checkup":
		return "Security checkup"
	case "business_checkup":
		return "Business security checkup"
	}
	return "SellerGuard"
}

// page adapts a page handler that returns an error.
func (s *Server) page(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// pageAuthed adapts a page that needs a fully signed-in user: others are
// sent to the sign-in page, and a session that still owes its second step
// to the second-step page.
func (s *Server) pageAuthed(h func(http.ResponseWriter, *http.Request, *auth.Principal) error) http.Handler {
	return s.pageSession(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
		if p.RequireFull() != nil {
			http.Redirect(w, r, "/signin/second-step", http.StatusSeeOther)
			return nil
		}
		if p.MustChangePassword != "" && r.URL.Path != "/account/password" {
			http.Redirect(w, r, "/account/password?required="+p.MustChangePassword, http.StatusSeeOther)
			return nil
		}
		return h(w, r, p)
	})
}

// pageBusiness adapts a page of business data: a full session, and two-step
// verification where a business of the user requires it (else to the
// two-step set-up page).
func (s *Server) pageBusiness(h func(http.ResponseWriter, *http.Request, *auth.Principal) error) http.Handler {
	return s.pageAuthed(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
		if p.NeedsEnrollment() {
			http.Redirect(w, r, "/account/two-step?required=1", http.StatusSeeOther)
			return nil
		}
		return h(w, r, p)
	})
}

// pageSession adapts a page any session may see, even a partial one.
func (s *Server) pageSession(h func(http.ResponseWriter, *http.Request, *auth.Principal) error) http.Handler {
	return s.page(func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.authenticate(r)
		if err != nil {
			if sellerguard.ErrorCode(err) == sellerguard.ECodeUnauthenticated {
				s.clearSessionCookie(w)
				http.Redirect(w, r, "/signin", http.StatusSeeOther)
				return nil
			}
			return err
		}
		r = r.WithContext(audit.WithSession(withPrincipal(r.Context(), p), p.Session.ID)) // audit events name their session
		return h(w, r, p)
	})
}

func (s *Server) cookieName() string {
	if s.Options.SecureCookies {
		return "__Host-sg_session"
	}
	return "sg_session"
}

func (s *Server) setSessionCookie(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(), Value: token, Path: "/", HttpOnly: true, Secure: s.Options.SecureCookies,
		SameSite: http.SameSiteLaxMode, Expires: expires, MaxAge: int(time.Until(expires).Seconds()),
	})
}

const deviceCookieName = "sg_device"

// deviceCookie returns the browser's device cookie ("" when none).
func (s *Server) deviceCookie(r *http.Request) string {
	c, err := r.Cookie(deviceCookieName)
	if err != nil {
		return ""
	}
	return c.Value
}

// setDeviceCookie stores a new device token: it marks a browser that has
// signed in before, whose attempts failures from elsewhere do not slow.
func (s *Server) setDeviceCookie(w http.ResponseWriter, token string) {
	if token == "" {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: deviceCookieName, Value: token, Path: "/", HttpOnly: true, Secure: s.Options.SecureCookies,
		SameSite: http.SameSiteLaxMode, MaxAge: 400 * 24 * 3600,
	})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: "", Path: "/", HttpOnly: true, Secure: s.Options.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// formError returns the field problems of err for showing next to fields,
// and a general message for the rest.
func formError(err error) (general string, fields map[string]string, ok bool) {
	var e *sellerguard.Error
	if !errors.As(err, &e) || statusOf(e.Code) >= 500 || e.Code == sellerguard.ECodeTooLarge {
		return "", nil, false
	}
	fields = map[string]string{}
	for _, f := range e.Fields {
		if _, dup := fields[f.Field]; !dup {
			fields[f.Field] = f.Message
		}
	}
	if len(e.Fields) == 0 || len(e.Fields) > 1 {
		general = e.Message
	}
	return general, fields, true
}

func isReauth(err error) bool { return sellerguard.ErrorCode(err) == sellerguard.ECodeReauthRequired }
