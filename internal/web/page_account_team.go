package web

import (
	"net/http"

	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/team"
)

// accountTeamCard is the account page's card about businesses the user is
// invited to or cannot open yet (partials/account-team-card.html): each
// waiting invitation with who sent it and where to accept or decline it,
// and each business that requires two-step verification the user has not
// set up, with the button to set it up.
type accountTeamCard struct {
	Invitations []team.WaitingInvitation
	Blocked     []string // names of businesses closed until two-step is set up
}

func (s *Server) accountTeamCard(r *http.Request, p *session.Principal) (*accountTeamCard, error) {
	inv, err := s.Team.InvitationsWaiting(r.Context(), p)
	if err != nil {
		return nil, err
	}
	c := &accountTeamCard{Invitations: inv, Blocked: p.TwoStepBlocked()}
	if len(c.Invitations) == 0 && len(c.Blocked) == 0 {
		return nil, nil
	}
	return c, nil
}
