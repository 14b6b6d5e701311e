package team

import (
	"context"
	"errors"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/store"
)

// OwnershipTransferTTL is how long an offer of ownership waits.
const OwnershipTransferTTL = 7 * 24 * time.Hour

var errNoTransfer = sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no pending transfer of ownership for you here.")

// OfferOwnership offers the business to one of its members. Only the owner,
// with a recent sign-in, may; the member must use two-step verification.
// Nothing changes until the member accepts with a recent sign-in of their
// own: both people re-authenticate.
func (s *Service) OfferOwnership(ctx context.Context, p *Principal, businessID, toUser string, meta RequestMeta) (store.OwnershipTransfer, error) {
	if err := p.RequireArea(businessID, sellerguard.AreaUserPermissions, sellerguard.LevelEdit); err != nil {
		return store.OwnershipTransfer{}, err
	}
	if err := p.RequireOwner(businessID, "hand over the business"); err != nil {
		return store.OwnershipTransfer{}, err
	}
	if err := s.RequireRecentAuth(p); err != nil {
		return store.OwnershipTransfer{}, err
	}
	if toUser == p.User.ID {
		return store.OwnershipTransfer{}, sellerguard.Invalid(sellerguard.FieldError{Field: "user_id", Code: "own_access", Message: "You already own this business."})
	}
	now := s.now()
	t := store.OwnershipTransfer{BusinessID: businessID, FromUser: p.User.ID, ToUser: toUser, CreatedAt: now, ExpiresAt: now.Add(OwnershipTransferTTL)}
	err := s.DB.WithBusinessTx(ctx, businessID, func(tx *store.Tx) error {
		m, err := tx.FindMember(ctx, businessID, toUser)
		if errors.Is(err, store.ErrNotFound) || err == nil && m.Status != sellerguard.MembershipActive {
			return sellerguard.Invalid(sellerguard.FieldError{Field: "user_id", Code: "unknown_member", Message: "Choose an active member of this business."})
		}
		if err != nil {
			return err
		}
		prot, _, err := protectionOf(ctx, tx, toUser)
		if err != nil {
			return err
		}
		if !prot.Enrolled {
			return sellerguard.Errorf(sellerguard.ECodeConflict, "%s must turn on two-step verification before they can own the business.", m.Email)
		}
		if err := tx.PutOwnershipTransfer(ctx, t); err != nil {
			return err
		}
		biz, err := tx.FindBusiness(ctx, businessID)
		if err != nil {
			return err
		}
		if err := s.teamEvent(ctx, tx, now, p, meta, businessID, "business.ownership_offered", "user", toUser, nil,
			map[string]any{"to": m.Email, "expires_at": t.ExpiresAt}); err != nil {
			return err
		}
		if err := s.sendEmail(ctx, tx, now, tmail(EventMemberChanged, m.Email, "email.ownership_offer", "Actor", p.User.Email, "Business", biz.Name, "BaseURL", s.Config.BaseURL)); err != nil {
			return err
		}
		return s.tellBusiness(ctx, tx, now, businessID, EventMemberChanged, "email.ownership_offered", "Actor", p.User.Email, "Business", biz.Name, "Member", m.Email)
	})
	if err != nil {
		return store.OwnershipTransfer{}, err
	}
	return t, nil
}

// PendingOwnershipTransfer returns a business's pending transfer to the
// owner, the member it is offered to, and members who view user
// permissions; anyone else, or no pending transfer, is not found.
func (s *Service) PendingOwnershipTransfer(ctx context.Context, p *Principal, businessID string) (store.OwnershipTransfer, error) {
	if err := p.RequireArea(businessID, sellerguard.AreaUserPermissions, sellerguard.LevelNone); err != nil {
		return store.OwnershipTransfer{}, err
	}
	t, err := s.DB.FindOwnershipTransfer(ctx, businessID)
	if errors.Is(err, store.ErrNotFound) || err == nil && (!s.now().Before(t.ExpiresAt) ||
		t.ToUser != p.User.ID && sellerguard.LevelRank(p.Level(businessID, sellerguard.AreaUserPermissions)) < sellerguard.LevelRank(sellerguard.LevelView)) {
		return store.OwnershipTransfer{}, errNoTransfer
	}
	return t, err
}

// CancelOwnershipTransfer withdraws (the owner) or declines (the member
// offered it) a pending transfer.
func (s *Service) CancelOwnershipTransfer(ctx context.Context, p *Principal, businessID string, meta RequestMeta) error {
	if err := p.RequireArea(businessID, sellerguard.AreaUserPermissions, sellerguard.LevelNone); err != nil {
		return err
	}
	now := s.now()
	err := s.DB.WithBusinessTx(ctx, businessID, func(tx *store.Tx) error {
		t, err := tx.FindOwnershipTransfer(ctx, businessID)
		if errors.Is(err, store.ErrNotFound) || err == nil && t.FromUser != p.User.ID && t.ToUser != p.User.ID {
			return errNoTransfer
		}
		if err != nil {
			return err
		}
		if err := tx.DeleteOwnershipTransfer(ctx, businessID); err != nil {
			return err
		}
		action, verb := "business.ownership_offer_withdrawn", "withdrawn"
		if t.ToUser == p.User.ID {
			action, verb = "business.ownership_offer_declined", "declined"
		}
		if err := s.teamEvent(ctx, tx, now, p, meta, businessID, action, "user", t.ToUser, map[string]any{"from": t.FromUser, "to": t.ToUser}, nil); err != nil {
			return err
		}
		biz, err := tx.FindBusiness(ctx, businessID)
		if err != nil {
			return err
		}
		// The owner and user managers hear of it, and so does the member
		// an offer was withdrawn from.
		if t.ToUser != p.User.ID {
			if to, err := tx.FindMember(ctx, businessID, t.ToUser); err == nil {
				if err := s.tellMember(ctx, tx, now, to.Email, biz.Name, msgT{Key: "email.member_access.offer_withdrawn", KV: []any{"Actor", p.User.Email, "Business", biz.Name}}); err != nil {
					return err
				}
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return s.tellBusiness(ctx, tx, now, businessID, EventMemberChanged, "email.ownership_offer_"+verb, "Actor", p.User.Email, "Business", biz.Name)
	})
	return err
}

// AcceptOwnership completes a transfer: the member offered it, with a
// recent sign-in and two-step verification, becomes the owner; the former
// owner stays a member with edit access to every area (the new owner may
// change that). Both take effect on the next request, on every instance.
func (s *Service) AcceptOwnership(ctx context.Context, p *Principal, businessID string, meta RequestMeta) error {
	if err := p.RequireArea(businessID, sellerguard.AreaUserPermissions, sellerguard.LevelNone); err != nil {
		return err
	}
	if err := s.RequireRecentAuth(p); err != nil {
		return err
	}
	now := s.now()
	err := s.DB.WithBusinessTx(ctx, businessID, func(tx *store.Tx) error {
		t, err := tx.FindOwnershipTransfer(ctx, businessID)
		if errors.Is(err, store.ErrNotFound) || err == nil && (t.ToUser != p.User.ID || !now.Before(t.ExpiresAt)) {
			return errNoTransfer
		}
		if err != nil {
			return err
		}
		old, err := tx.FindMember(ctx, businessID, t.FromUser)
		if errors.Is(err, store.ErrNotFound) || err == nil && old.Role != sellerguard.RoleOwner {
			return errNoTransfer // the offer is stale: whoever made it owns nothing now
		}
		if err != nil {
			return err
		}
		if !p.TwoStep.Enrolled {
			return sellerguard.Errorf(sellerguard.ECodeConflict, "Turn on two-step verification before you take over the business.")
		}
		all := sellerguard.Permissions{}
		for _, a := range sellerguard.Areas {
			all[a] = sellerguard.LevelEdit
		}
		if err := tx.SetMemberRole(ctx, businessID, t.FromUser, sellerguard.RoleMember, all, now); err != nil {
			return err
		}
		if err := tx.SetMemberRole(ctx, businessID, p.User.ID, sellerguard.RoleOwner, sellerguard.Permissions{}, now); err != nil {
			return err
		}
		if err := tx.DeleteOwnershipTransfer(ctx, businessID); err != nil {
			return err
		}
		if err := s.teamEvent(ctx, tx, now, p, meta, businessID, "business.ownership_transferred", "business", businessID,
			map[string]any{"owner": old.Email}, map[string]any{"owner": p.User.Email, "former_owner_permissions": all}); err != nil {
			return err
		}
		for _, u := range []string{t.FromUser, p.User.ID} {
			if err := s.Cache.Revoke(ctx, tx, u); err != nil {
				return err
			}
		}
		biz, err := tx.FindBusiness(ctx, businessID)
		if err != nil {
			return err
		}
		if err := s.sendEmail(ctx, tx, now, tmail(EventMemberChanged, old.Email, "email.ownership_left", "Actor", p.User.Email, "Business", biz.Name, "BaseURL", s.Config.BaseURL)); err != nil {
			return err
		}
		return s.tellBusiness(ctx, tx, now, businessID, EventMemberChanged, "email.ownership_transferred", "Actor", p.User.Email, "Business", biz.Name, "Old", old.Email)
	})
	if err != nil {
		return err
	}
	return nil
}
