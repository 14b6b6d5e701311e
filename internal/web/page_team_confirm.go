package web

import (
	"net/http"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/session"
)

// removalConfirmPage asks before a member is removed or leaves: the Remove
// and Leave buttons of the team page post without confirm=yes and land
// here; only this page's button (confirm=yes) removes. It works without
// JavaScript, and the server, not the browser, decides that it was asked.
type removalConfirmPage struct {
	*form
	BusinessID   string
	BusinessName string
	UserID       string
	Email        string // the member removed ("" when leaving)
	Leaving      bool
}

// confirmRemoval shows the confirmation of removing userID from biz (or of
// leaving it) and reports true; false when there is nothing to confirm
// (no such business or member, no access to the list): the removal itself
// then gives the refusal it would give anyway.
func (s *Server) confirmRemoval(w http.ResponseWriter, r *http.Request, p *session.Principal, biz, userID string) (bool, error) {
	var b *sellerguard.Membership
	for i := range p.Memberships {
		if p.Memberships[i].BusinessID == biz {
			b = &p.Memberships[i]
		}
	}
	if b == nil || userID == "" {
		return false, nil
	}
	pg := &removalConfirmPage{form: newForm(), BusinessID: biz, BusinessName: b.BusinessName, UserID: userID, Leaving: userID == p.User.ID}
	if !pg.Leaving {
		members, err := s.Team.ListMembers(r.Context(), p, biz)
		if err != nil {
			return false, nil // refused: RemoveMember gives the same refusal
		}
		for _, m := range members {
			if m.UserID == userID && m.Role != sellerguard.RoleOwner { // the owner cannot be removed: no question to ask
				pg.Email = m.Email
			}
		}
		if pg.Email == "" {
			return false, nil
		}
	}
	s.render(w, r, http.StatusOK, "team_confirm", pg)
	return true, nil
}
