package web

import (
	"net/http"
	"strings"
)

// A person who opens the address of a button (a bookmark, a reload after
// the session ended, a link pasted from a form's address) gets a page that
// says what happened and leads back to the page with the button, in the
// header of who is really signed in — not a bare 405.

// postOnlyBacks are where such a page leads back to, by the address's
// start (the first match wins), each with the message of its link.
var postOnlyBacks = []struct{ prefix, back, key string }{
	{"/account/two-step", "/account/two-step", "post_only.to_two_step"},
	{"/account/trusted-browsers", "/account/two-step", "post_only.to_two_step"},
	{"/account/team", "/account/team", "post_only.to_team"},
	{"/account/business", "/account/business", "post_only.to_business"},
	{"/account/sessions", "/account/sessions", "post_only.to_sessions"},
	{"/account", "/account", "post_only.to_account"},
	{"/signin", "/signin", "post_only.to_signin"},
	{"/signup", "/signup", "post_only.to_signup"},
	{"/agent", "/agent", "post_only.to_agent"}, // the console (its sign-in when signed out)
}

type postOnlyPage struct {
	Back, BackText string
}

// postOnlyPage answers a GET of an address that only takes a POST with a
// page that leads back; false for anything else (an API path, a client
// that does not read HTML, another method), which gets the usual error.
func (s *Server) postOnlyPage(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead || strings.HasPrefix(r.URL.Path, "/api/") ||
		!acceptsHTML(r) || !strings.Contains(w.Header().Get("Allow"), http.MethodPost) {
		return false
	}
	pg := &postOnlyPage{Back: "/", BackText: tr(r, "post_only.to_home")}
	for _, b := range postOnlyBacks {
		if r.URL.Path == b.prefix || strings.HasPrefix(r.URL.Path, b.prefix+"/") {
			pg.Back, pg.BackText = b.back, tr(r, b.key)
			break
		}
	}
	s.render(w, s.withViewer(r), http.StatusMethodNotAllowed, "post_only", pg)
	return true
}
