package web

import (
	"net/http"

	"github.com/sellerguard/sellerguard"
)

// layoutUser is the signed-in user for the header of a page rendered
// without a principal: an error page (404, 403, 405 …) or a public page.
// Without it a signed-in seller who mistypes an address sees the signed-out
// header ("Sign in", "Sign up") and seems to have been signed out. Only the
// session cookie counts (a page is never bearer-authenticated), and only a
// full session that owes no password change, as for pageOptional; any
// failure reads as signed out.
func (s *Server) layoutUser(r *http.Request) *sellerguard.User {
	if _, err := r.Cookie(s.cookieName()); err != nil || r.Header.Get("Authorization") != "" {
		return nil
	}
	p, err := s.authenticate(r)
	if err != nil || p.RequireFull() != nil || p.RequireNoPendingPasswordChange() != nil {
		return nil
	}
	return &p.User
}
