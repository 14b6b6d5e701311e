package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/session"
)

// pageSet holds one parsed template per page and language, each the layout
// plus the page, parsed with that language's functions (t, msg, when), so a
// template says {{t "signin.submit"}} and gets its reader's language.
//
// A page is built (the layout's parse trees cloned, the page parsed into
// the copy) the first time it is rendered in a language, and kept: building
// all of them at start-up held about 10 MB of copied parse trees in a
// process that may never render a page (a server answering only the API),
// or never in Chinese. loadPages still parses every page file, so a broken
// template stops start-up as before. The map is not written after
// loadPages, so a render reads it without a lock.
type pageSet map[pageKey]*lazyPage

type pageKey struct {
	lang i18n.Lang
	name string
}

// lazyPage is one page in one language, built by its first render.
type lazyPage struct {
	layout *template.Template // the language's layout and partials, never executed
	file   string             // the page's file in assets
	once   sync.Once
	t      *template.Template
	err    error
}

// page returns the template of page name in language lang, building it on
// first use; ok is false for a page that does not exist.
func (ps pageSet) page(lang i18n.Lang, name string) (t *template.Template, ok bool, err error) {
	p := ps[pageKey{lang, name}]
	if p == nil {
		return nil, false, nil
	}
	p.once.Do(func() {
		c, err := p.layout.Clone()
		if err != nil {
			p.err = err
			return
		}
		p.t, p.err = c.ParseFS(assets, p.file)
	})
	return p.t, true, p.err
}

// whenIn shows a time for people in language l ("never" for the zero
// time). Pages also mark times up as <time datetime> so the browser can show
// them in the reader's time zone.
func whenIn(l i18n.Lang) func(time.Time) string {
	return func(t time.Time) string {
		if t.IsZero() {
			return i18n.Default().T(l, "time.never")
		}
		if l == i18n.Chinese {
			return t.UTC().Format("2006年1月2日 15:04 UTC")
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	}
}

// atIn marks a time up for people in language l: <time datetime="…">
// around its text, so static/localtime.js can show it in the reader's time
// zone. The zero time is "never", without a <time> element.
func atIn(l i18n.Lang) func(time.Time) template.HTML {
	show := whenIn(l)
	return func(t time.Time) template.HTML {
		if t.IsZero() {
			return template.HTML(template.HTMLEscapeString(show(t)))
		}
		return template.HTML(`<time datetime="` + t.UTC().Format(time.RFC3339) + `">` + template.HTMLEscapeString(show(t)) + `</time>`)
	}
}

// knownTexts translates the texts that other packages write in English for
// people (the second-step protection's "missing" list, the checkup's
// items, the change review's summaries): by their English text, exactly or
// by printf format, as Catalog.Message does for errors.
var knownTexts = i18n.Default().Known("twostep.missing.", "twostep.label.", "checkup.text.", "changes.text.", "mailcheck.text.", "err.mailcheck.")

// knownText translates such a text into language l; a text that is not in
// the catalogue comes back unchanged.
func knownText(l i18n.Lang, english string) string { return knownTexts.In(l, english) }

// knownSummary translates a summary of the form "What: detail" (the change
// review's): the whole text when the catalogue has it, else the part
// before the first ": ", with the detail (a name, an address, field names:
// data) as it is.
func knownSummary(l i18n.Lang, english string) string {
	if s := knownText(l, english); s != english || l == i18n.English {
		return s
	}
	head, detail, ok := strings.Cut(english, ": ")
	if !ok {
		return english
	}
	if h := knownText(l, head); h != head {
		return h + i18n.Default().T(l, "common.colon") + detail
	}
	return english
}

// funcsFor returns the template functions of language l.
func funcsFor(l i18n.Lang) template.FuncMap {
	cat := i18n.Default()
	return template.FuncMap{
		"t":       func(key string, kv ...any) string { return cat.T(l, key, kv...) },
		"msg":     func(english string) string { return cat.Message(l, english) },
		"when":    whenIn(l),
		"at":      atIn(l),
		"tt":      ttIn(l), // t with times in the reader's zone (page_history.go)
		"known":   func(english string) string { return knownText(l, english) },
		"summary": func(english string) string { return knownSummary(l, english) },
		// tk is the message prefix+id, or id itself when there is none (an
		// identifier the catalogue does not name yet).
		"tk": func(prefix, id string) string {
			if cat.Has(i18n.English, prefix+id) {
				return cat.T(l, prefix+id)
			}
			return id
		},
		// tor is the message key, or fallback when the catalogue has no
		// such key (a text another package names by key, such as the
		// notification catalogue's "notify.<event>.title").
		"tor": func(key, fallback string) string {
			if cat.Has(i18n.English, key) {
				return cat.T(l, key)
			}
			return fallback
		},
		"join":  func(list []string) string { return strings.Join(list, cat.T(l, "common.list_separator")) },
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
}

func loadPages() (pageSet, error) {
	files, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	layouts := map[i18n.Lang]*template.Template{}
	for _, lang := range i18n.Supported {
		// The layout and the partials that several pages use (one definition
		// each, in templates/partials).
		layouts[lang], err = template.New("layout.html").Funcs(funcsFor(lang)).ParseFS(assets, "templates/layout.html", "templates/partials/*.html")
		if err != nil {
			return nil, fmt.Errorf("web: layout: %w", err)
		}
	}
	ps, funcs := pageSet{}, funcsFor(i18n.English)
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		// Every page parses (alone, in one language: the functions' names
		// are the same in all; the layout is cloned into it on first
		// use), or start-up fails.
		if _, err := template.New(name).Funcs(funcs).ParseFS(assets, f); err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		for lang, layout := range layouts {
			ps[pageKey{lang, name}] = &lazyPage{layout: layout, file: f}
		}
	}
	return ps, nil
}

// pageData is what every page gets; Page holds the page's own struct.
type pageData struct {
	Title     string
	User      *sellerguard.User
	LocalMode bool
	Page      any
	// Lang is the page's language, Langs every language (for the switch),
	// Here the address of this page (where the switch comes back to).
	Lang  i18n.Lang
	Langs []i18n.Lang
	Here  string
	// Agent: a page of the agent console (its own navigation; no seller's).
	Agent bool
	// RetryIn says how long to wait after a refusal for too many
	// attempts, in words ("" when there is nothing to wait for).
	RetryIn string
	// Passkeys: whether a passkey can work on this address (passkey_reach.go).
	Passkeys passkeyReach
}

type errorPage struct {
	Status  int
	Title   string
	Message string
}

// render executes a page into a buffer first, so a template error becomes a
// clean error page instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, page any) {
	lang := langOf(r)
	t, ok, err := s.pages.page(lang, name)
	if !ok || err != nil {
		s.Logger.Error("web: page template", "name", name, "found", ok, "err", err)
		http.Error(w, i18n.Default().Message(lang, "Something went wrong on our side. Please try again."), http.StatusInternalServerError)
		return
	}
	here := "/"
	if r.Method == http.MethodGet {
		here = hereOf(r.URL)
	}
	data := pageData{Title: pageTitle(lang, name), LocalMode: s.Options.LocalMode && fromLoopbackPeer(r), Page: page,
		Lang: lang, Langs: i18n.Supported, Here: here}
	if p, ok := r.Context().Value(principalKey{}).(*session.Principal); ok && p != nil {
		data.User = &p.User
	}
	data.Agent = strings.HasPrefix(r.URL.Path, "/agent")
	if d, ok := r.Context().Value(retryAfterKey{}).(time.Duration); ok && d > 0 {
		data.RetryIn = waitWords(r, d)
	}
	if data.User == nil && !data.Agent {
		data.User = s.layoutUser(r) // an error page or a public page: the header of the real signed-in state
	}
	data.Passkeys = s.passkeyReachOf(r)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		s.Logger.Error("web: render", "name", name, "err", err)
		http.Error(w, i18n.Default().Message(lang, "Something went wrong on our side. Please try again."), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", string(lang))
	w.Header().Add("Vary", "Accept-Language")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // client went away
}

// hereOf is the address the language switch comes back to: this page, with
// its query but without a "next" (a page that goes on elsewhere, such as
// the reauthentication page, starts over at its default): a page never
// echoes an address it was handed.
func hereOf(u *url.URL) string {
	q := u.Query()
	if !q.Has("next") {
		return u.RequestURI()
	}
	q.Del("next")
	if len(q) == 0 {
		return u.EscapedPath()
	}
	return u.EscapedPath() + "?" + q.Encode()
}

// pageTitle is a page's title in language l: the message "title.<page>".
func pageTitle(l i18n.Lang, name string) string {
	if i18n.Default().Has(i18n.English, "title."+name) {
		return i18n.Default().T(l, "title."+name)
	}
	return i18n.Default().T(l, "title.default")
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
func (s *Server) pageAuthed(h func(http.ResponseWriter, *http.Request, *session.Principal) error) http.Handler {
	return s.pageSession(func(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
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
func (s *Server) pageBusiness(h func(http.ResponseWriter, *http.Request, *session.Principal) error) http.Handler {
	return s.pageAuthed(func(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
		if p.NeedsEnrollment() {
			http.Redirect(w, r, "/account/two-step?required=1", http.StatusSeeOther)
			return nil
		}
		return h(w, r, p)
	})
}

// pageSession adapts a page any session may see, even a partial one.
func (s *Server) pageSession(h func(http.ResponseWriter, *http.Request, *session.Principal) error) http.Handler {
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
	// A busy server (503) is said on the form, which keeps what was typed
	// for the retry; other server errors get the error page.
	if !errors.As(err, &e) || (statusOf(e.Code) >= 500 && e.Code != sellerguard.ECodeBusy) || e.Code == sellerguard.ECodeTooLarge {
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
