package web

import (
	"net/http"

	"github.com/sellerguard/sellerguard/internal/session"
)

// The pages about SellerGuard itself that the footer of every page links
// to (issue 18, item 8): the security practices (the marketplace's
// guidance, each point with the page that does it) and what SellerGuard
// stores and why. Both are for everyone; a signed-in reader gets the
// signed-in header and links.

// aboutPage is what the two pages need: whether the reader is signed in
// (the links then go to the settings; otherwise to sign-in and help).
type aboutPage struct {
	SignedIn bool
}

func (s *Server) registerAboutPages(mux *recordingMux) {
	mux.Handle("GET /security", s.pageOptional(s.pageSecurityPractices))
	mux.Handle("GET /privacy", s.pageOptional(s.pagePrivacy))
}

func (s *Server) pageSecurityPractices(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	s.render(w, r, http.StatusOK, "security", &aboutPage{SignedIn: p != nil})
	return nil
}

func (s *Server) pagePrivacy(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	s.render(w, r, http.StatusOK, "privacy", &aboutPage{SignedIn: p != nil})
	return nil
}
