package team

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/store"
)

// NoLongerMember answers a signed-in user who asks for a business they do
// not belong to (now). When they were removed from it (by someone who
// manages users, in an access review, or they left), the answer says so by
// name: "You no longer have access to …" (forbidden) instead of a bare "no
// such business". It tells them nothing they did not know: they were in it.
// Anyone else gets the usual not_found, exactly like a business that does
// not exist.
func (s *Service) NoLongerMember(ctx context.Context, p *Principal, businessID string) error {
	if businessID == "" || len(businessID) > 64 {
		return errNoBusiness
	}
	for _, m := range p.Memberships {
		if m.BusinessID == businessID {
			return errNoBusiness // a member (the page refused for another reason)
		}
	}
	f, err := s.DB.LastRemoval(ctx, businessID, p.User.ID)
	if errors.Is(err, store.ErrNotFound) {
		return errNoBusiness
	}
	if err != nil {
		return err
	}
	if f.Action == "business.access_review_decision" {
		var after struct {
			Decision string `json:"decision"`
		}
		if json.Unmarshal([]byte(f.AfterJSON), &after) != nil || after.Decision != DecisionRevoke {
			return errNoBusiness
		}
	}
	return sellerguard.Errorf(sellerguard.ECodeForbidden, "You no longer have access to %s. Ask its owner if you need it again.", f.BusinessName)
}
