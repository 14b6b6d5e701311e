package web

import (
	"maps"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sellerguard/sellerguard"
)

// Walls behind the cross-origin check: the developer outbox answers only
// this machine, the session cookie carries only JSON API calls, and the
// metrics are served on a listener of their own.

// MetricsHandler serves the Prometheus metrics. It is not on the main
// listener (there /metrics answers 404): internal/app serves it on the
// metrics listener, SELLERGUARD_METRICS_ADDR.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{})
}

// fromLoopbackPeer reports whether the request comes straight from this
// machine: the TCP peer (never X-Forwarded-For, which anyone can send) is a
// loopback address, and no proxy says it forwarded the request — a reverse
// proxy on this machine would otherwise carry the network's requests in
// from 127.0.0.1.
func fromLoopbackPeer(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !peer.Unmap().IsLoopback() {
		return false
	}
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip", "X-Forwarded-Host"} {
		if _, ok := r.Header[h]; ok {
			return false
		}
	}
	return true
}

// devOutboxAllowed: the local outbox (every code in the clear) exists only
// in local mode, and only for loopback peers; anyone else gets 404.
func (s *Server) devOutboxAllowed(r *http.Request) error {
	if !s.Options.LocalMode || !fromLoopbackPeer(r) {
		return errNotFound
	}
	return nil
}

var errCookieNeedsJSON = sellerguard.Errorf(sellerguard.ECodeUnsupportedMedia,
	"A request signed in with the session cookie must send its body as application/json (programs: use Authorization: Bearer).")

// requireJSONWithCookie refuses an API call authenticated by the session
// cookie whose body is not labelled JSON: a form or text body (or a body
// with no label) is what a cross-site form or "simple" fetch can send, so
// it is refused with 415 even before the cross-origin check would be
// needed. Calls with "Authorization: Bearer" keep form-labelled bodies
// (curl -d), and bodiless calls (GET, DELETE) are not affected.
func (s *Server) requireJSONWithCookie(r *http.Request) error {
	return s.requireBodyTypeWithCookie(r)
}

// requireBodyTypeWithCookie is requireJSONWithCookie for an operation that
// also takes other media types that no cross-site form can send (a whole
// email as message/rfc822).
func (s *Server) requireBodyTypeWithCookie(r *http.Request, also ...string) error {
	if r.Header.Get("Authorization") != "" {
		return nil // the bearer token, not the cookie, authenticates
	}
	if _, err := r.Cookie(s.cookieName()); err != nil {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		if r.ContentLength == 0 {
			return nil
		}
		return errCookieNeedsJSON
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json") && !slices.Contains(also, mt)) {
		return errCookieNeedsJSON
	}
	return nil
}

// errBadText refuses a query, form or JSON text holding a NUL character or
// bytes that are not UTF-8. No name, id, code or message SellerGuard keeps
// has one; PostgreSQL can neither store nor compare one (its error was
// answered 500), and SQLite would keep it quietly.
var errBadText = sellerguard.Errorf(sellerguard.ECodeInvalidInput,
	"The request has a NUL character or bytes that are not UTF-8 text. Remove them and try again.")

// badTextField refuses one field of a form or JSON body for the same
// reason, naming it.
func badTextField(field string) error {
	return sellerguard.Invalid(sellerguard.FieldError{Field: field, Code: "bad_text",
		Message: "This field has a NUL character or bytes that are not UTF-8 text."})
}

// cleanText reports whether s is UTF-8 without a NUL character.
func cleanText(s string) bool { return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) }

// cleanQuery reports, without decoding or allocating, that a raw query
// cannot decode to text cleanText refuses: it is clean itself and has no
// percent escape (the only way to write a NUL or a byte above 0x7f
// otherwise; '+' decodes to a space). A query it does not vouch for is
// decoded and checked field by field.
func cleanQuery(raw string) bool {
	return strings.IndexByte(raw, '%') < 0 && cleanText(raw)
}

// checkValues refuses a query or form with a key or value that is not
// cleanText, naming the first such field when its name is clean. The
// values of bytesFields are bytes, not text (a pasted email, stored as
// such): any key is checked, their values are not.
func checkValues(v url.Values, bytesFields ...string) error {
	for _, k := range slices.Sorted(maps.Keys(v)) {
		if !cleanText(k) {
			return errBadText
		}
		if slices.Contains(bytesFields, k) {
			continue
		}
		for _, s := range v[k] {
			if !cleanText(s) {
				return badTextField(k)
			}
		}
	}
	return nil
}

// refuseBadText answers a path holding a NUL byte or bytes that are not
// UTF-8 404 (no route or id has one), and such a query 400, before any
// handler reads them. (A query net/http cannot parse is left as before:
// the pairs it cannot read are dropped.) Forms and JSON bodies are checked
// where they are parsed, parseForm and decodeJSON.
func (s *Server) refuseBadText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cleanText(r.URL.Path) {
			s.writeError(w, r, errNotFound)
			return
		}
		if !cleanQuery(r.URL.RawQuery) {
			if q, _ := url.ParseQuery(r.URL.RawQuery); checkValues(q) != nil {
				s.writeError(w, r, errBadText)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
