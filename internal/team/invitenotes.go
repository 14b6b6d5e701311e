package team

import (
	"context"
	"errors"
	"time"

	"github.com/sellerguard/sellerguard/internal/store"
)

// WaitingInvitation is an invitation to the user, as their account page
// tells of it: the business, who invited them, until when, and whether the
// business requires two-step verification the user has not set up yet.
type WaitingInvitation struct {
	ID           string
	BusinessID   string
	BusinessName string
	InvitedBy    string // the inviter's sign-in email ("" when they are gone)
	ExpiresAt    time.Time
	NeedsTwoStep bool
}

// InvitationsWaiting lists the invitations waiting for the user, with the
// inviter's email and the business's two-step rule.
func (s *Service) InvitationsWaiting(ctx context.Context, p *Principal) ([]WaitingInvitation, error) {
	list, err := s.MyInvitations(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]WaitingInvitation, 0, len(list))
	for _, inv := range list {
		w := WaitingInvitation{ID: inv.ID, BusinessID: inv.BusinessID, BusinessName: inv.BusinessName, ExpiresAt: inv.ExpiresAt}
		if u, err := s.DB.FindUserByID(ctx, inv.InvitedBy); err == nil {
			w.InvitedBy = u.Email
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if !p.TwoStep.Enrolled {
			if w.NeedsTwoStep, err = s.DB.BusinessRequiresTwoStep(ctx, inv.BusinessID); err != nil {
				return nil, err
			}
		}
		out = append(out, w)
	}
	return out, nil
}
