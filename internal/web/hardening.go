package web

import (
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"

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
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return errCookieNeedsJSON
	}
	return nil
}
