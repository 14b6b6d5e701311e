package team

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/store"
)

// InvitationTTL is how long an invitation waits.
const InvitationTTL = 7 * 24 * time.Hour

// validatePermissions checks a requested set of permissions and that the
// granter holds at least as much in every area (the owner holds all).
func validatePermissions(p *Principal, businessID string, perms sellerguard.Permissions) (sellerguard.Permissions, error) {
	out := sellerguard.Permissions{}
	var fields []sellerguard.FieldError
	known := map[string]bool{}
	for _, a := range sellerguard.Areas {
		known[a] = true
	}
	for area, level := range perms {
		switch {
		case !known[area]:
			fields = append(fields, sellerguard.FieldError{Field: "permissions." + area, Code: "unknown_area", Message: "Areas are payments, storefront, listings, user_permissions and audit_log."})
		case level != sellerguard.LevelNone && level != sellerguard.LevelView && level != sellerguard.LevelEdit:
			fields = append(fields, sellerguard.FieldError{Field: "permissions." + area, Code: "invalid_level", Message: "Levels are none, view and edit."})
		case sellerguard.LevelRank(level) > sellerguard.LevelRank(p.Level(businessID, area)):
			fields = append(fields, sellerguard.FieldError{Field: "permissions." + area, Code: "exceeds_own", Message: "You cannot give more access than you have."})
		case level != sellerguard.LevelNone:
			out[area] = level
		}
	}
	if len(fields) > 0 {
		return nil, &sellerguard.Error{Code: sellerguard.ECodeInvalidInput, Message: "Some permissions cannot be given.", Fields: fields}
	}
	return out, nil
}

// Member is what the members list shows.
type Member = store.Member

// ListMembers lists a business's members (user_permissions: view).
func (s *Service) ListMembers(ctx context.Context, p *Principal, businessID string) ([]Member, error) {
	if err := p.RequireArea(businessID, sellerguard.AreaUserPermissions, sellerguard.LevelView); err != nil {
		return nil, err
	}
	return s.DB.ListMembers(ctx, businessID)
}

// Invite invites an address to a business with permissions no greater than
// the inviter's own. The email carries no link and no code: the invitee
// signs in (or up) by typing SellerGuard's address, where it waits.
func (s *Service) Invite(ctx context.Context, p *Principal, businessID, addr string, perms sellerguard.Permissions, meta RequestMeta) (store.Invitation, error) {
	if err := p.RequireArea(businessID, sellerguard.AreaUserPermissions, sellerguard.LevelEdit); err != nil {
		return store.Invitation{}, err
	}
	invitee, fe := validateEmail("email", addr)
	if fe != nil {
		return store.Invitation{}, sellerguard.Invalid(*fe)
	}
	clean, err := validatePermissions(p, businessID, perms)
	if err != nil {
		return store.Invitation{}, err
	}
	now := s.now()
	norm := NormalizeEmail(invitee)
	inv := store.Invitation{ID: NewID("inv"), BusinessID: businessID, Email: invitee, EmailNorm: norm, Permissions: clean, InvitedBy: p.User.ID,
		Status: "pending", CreatedAt: now, ExpiresAt: now.Add(InvitationTTL)}
	err = s.DB.WithBusinessTx(ctx, businessID, func(tx *store.Tx) error {
		if u, err := tx.FindUserByEmail(ctx, norm); err == nil {
			if _, err := tx.FindMember(ctx, businessID, u.ID); err == nil {
				return sellerguard.Errorf(sellerguard.ECodeConflict, "That person already belongs to this business.")
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.WithdrawPendingInvitations(ctx, businessID, norm, now); err != nil {
			return err
		}
		if err := tx.PutInvitation(ctx, inv); err != nil {
			return err
		}
		biz, err := tx.FindBusiness(ctx, businessID)
		if err != nil {
			return err
		}
		inv.BusinessName = biz.Name
		if err := s.teamEvent(ctx, tx, now, p, meta, businessID, "business.member_invited", "invitation", inv.ID, nil,
			map[string]any{"email": invitee, "permissions": clean}); err != nil {
			return err
		}
		// In the inviter's language (the business's, as far as the invitee
		// knows) unless the invitee has an account and so a language.
		inv := tmail("", invitee, "email.invitation", "Inviter", p.User.Email, "Business", biz.Name, "BaseURL", s.Config.BaseURL)
		inv.Lang = p.User.WritingLanguage()
		if err := s.sendEmail(ctx, tx, now, inv); err != nil {
			return err
		}
		return s.tellBusiness(ctx, tx, now, businessID, EventMemberInvited, "email.member_invited",
			"Inviter", p.User.Email, "Invitee", invitee, "Business", biz.Name, "Permissions", permsText(clean))
	})
	if err != nil {
		return store.Invitation{}, err
	}
	return inv, nil
}

// ListBusinessInvitations lists a business's pending invitations.
func (s *Service) ListBusinessInvitations(ctx context.Context, p *Principal, businessID string) ([]store.Invitation, error) {
	if err := p.RequireArea(businessID, sellerguard.AreaUserPermissions, sellerguard.LevelView); err != nil {
		return nil, err
	}
	return s.DB.ListBusinessInvitations(ctx, businessID, s.now())
}

// WithdrawInvitation withdraws a pending invitation.
func (s *Service) WithdrawInvitation(ctx context.Context, p *Principal, businessID, id string, meta RequestMeta) error {
	if err := p.RequireArea(businessID, sellerguard.AreaUserPermissions, sellerguard.LevelEdit); err != nil {
		return err
	}
	now := s.now()
	return s.DB.WithBusinessTx(ctx, businessID, func(tx *store.Tx) error {
		inv, err := tx.FindInvitation(ctx, id)
		if errors.Is(err, store.ErrNotFound) || err == nil && (inv.BusinessID != businessID || inv.Status != "pending") {
			return sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such invitation.")
		}
		if err != nil {
			return err
		}
		inv.Status, inv.DecidedAt = "withdrawn", now
		if err := tx.PutInvitation(ctx, inv); err != nil {
			return err
		}
		return s.teamEvent(ctx, tx, now, p, meta, businessID, "business.invitation_withdrawn", "invitation", id, map[string]any{"email": inv.Email}, nil)
	})
}

// MyInvitations lists the invitations waiting for the caller's (verified)
// email address.
func (s *Service) MyInvitations(ctx context.Context, p *Principal) ([]store.Invitation, error) {
	if err := p.RequireFull(); err != nil {
		return nil, err
	}
	return s.DB.ListInvitationsFor(ctx, NormalizeEmail(p.User.Email), s.now())
}

// DecideInvitation accepts or declines an invitation to the caller's email.
func (s *Service) DecideInvitation(ctx context.Context, p *Principal, id string, accept bool, meta RequestMeta) (store.Invitation, error) {
	if err := p.RequireFull(); err != nil {
		return store.Invitation{}, err
	}
	now := s.now()
	var inv store.Invitation
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		inv, err = tx.FindInvitation(ctx, id)
		if err == nil {
			// One decision at a time, and none beside a withdrawal: the
			// business is locked and the invitation read again.
			if err := tx.LockBusiness(ctx, inv.BusinessID); err != nil {
				return err
			}
			inv, err = tx.FindInvitation(ctx, id)
		}
		if errors.Is(err, store.ErrNotFound) || err == nil && (inv.EmailNorm != NormalizeEmail(p.User.Email) || inv.Status != "pending" || !now.Before(inv.ExpiresAt)) {
			return sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such invitation, or it has expired.")
		}
		if err != nil {
			return err
		}
		inv.DecidedAt = now
		action, event, verb := "business.invitation_declined", EventMemberChanged, "declined"
		if accept {
			inv.Status = "accepted"
			err := tx.CreateMembership(ctx, sellerguard.Membership{BusinessID: inv.BusinessID, UserID: p.User.ID, Role: sellerguard.RoleMember,
				Status: sellerguard.MembershipActive, CreatedAt: now, Permissions: inv.Permissions})
			if errors.Is(err, store.ErrConflict) {
				return sellerguard.Errorf(sellerguard.ECodeConflict, "You already belong to this business.")
			}
			if err != nil {
				return err
			}
			action, event, verb = "business.member_joined", EventMemberInvited, "accepted"
		} else {
			inv.Status = "declined"
		}
		if err := tx.PutInvitation(ctx, inv); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, now, audit.Entry{BusinessID: inv.BusinessID, SubjectID: p.User.ID, ActorID: p.User.ID, ActorEmail: p.User.Email,
			IP: meta.IP, UserAgent: meta.UserAgent, Action: action, Category: sellerguard.CategoryBusiness, TargetType: "user", TargetID: p.User.ID,
			After: map[string]any{"invitation": inv.ID, "permissions": inv.Permissions}}); err != nil {
			return err
		}
		if err := s.Cache.Revoke(ctx, tx, p.User.ID); err != nil {
			return err
		}
		return s.tellBusiness(ctx, tx, now, inv.BusinessID, event, "email.invitation_"+verb, "Actor", p.User.Email, "Business", inv.BusinessName)
	})
	if err != nil {
		return store.Invitation{}, err
	}
	return inv, nil
}

// UpdateMember changes a member's permissions. Never the owner, never the
// caller's own, never more than the caller holds. It takes effect on the
// member's very next request, on every instance.
func (s *Service) UpdateMember(ctx context.Context, p *Principal, businessID, userID string, perms sellerguard.Permissions, meta RequestMeta) (Member, error) {
	if err := p.RequireArea(businessID, sellerguard.AreaUserPermissions, sellerguard.LevelEdit); err != nil {
		return Member{}, err
	}
	if err := s.RequireRecentAuth(p); err != nil {
		return Member{}, err
	}
	if userID == p.User.ID {
		return Member{}, sellerguard.Errorf(sellerguard.ECodeForbidden, "You cannot change your own permissions.")
	}
	clean, err := validatePermissions(p, businessID, perms)
	if err != nil {
		return Member{}, err
	}
	now := s.now()
	var m Member
	err = s.DB.WithBusinessTx(ctx, businessID, func(tx *store.Tx) error {
		m, err = tx.FindMember(ctx, businessID, userID)
		if errors.Is(err, store.ErrNotFound) {
			return sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such member.")
		}
		if err != nil {
			return err
		}
		if m.Role == sellerguard.RoleOwner {
			return sellerguard.Errorf(sellerguard.ECodeForbidden, "The owner's access cannot be changed.")
		}
		// A manager may not lower anyone below … what they cannot grant either:
		// changing an area the caller cannot edit at the member's level is refused.
		for _, a := range sellerguard.Areas {
			if sellerguard.LevelRank(m.Permissions[a]) > sellerguard.LevelRank(p.Level(businessID, a)) && m.Permissions[a] != clean[a] {
				return sellerguard.Errorf(sellerguard.ECodeForbidden, "You cannot change access to %s that you do not have yourself.", strings.ReplaceAll(a, "_", " "))
			}
		}
		before := m.Permissions
		if err := tx.SetMemberPermissions(ctx, businessID, userID, clean, now); err != nil {
			return err
		}
		m.Permissions = clean
		if err := s.teamEvent(ctx, tx, now, p, meta, businessID, "business.member_permissions_changed", "user", userID,
			map[string]any{"permissions": before}, map[string]any{"permissions": clean}); err != nil {
			return err
		}
		if err := s.Cache.Revoke(ctx, tx, userID); err != nil {
			return err
		}
		biz, err := tx.FindBusiness(ctx, businessID)
		if err != nil {
			return err
		}
		if err := s.tellMember(ctx, tx, now, m.Email, biz.Name, msgT{Key: "email.member_access.changed", KV: []any{"Actor", p.User.Email, "Business", biz.Name, "Permissions", permsText(clean)}}); err != nil {
			return err
		}
		return s.tellBusiness(ctx, tx, now, businessID, EventMemberChanged, "email.member_permissions",
			"Actor", p.User.Email, "Member", m.Email, "Permissions", permsText(clean))
	})
	if err != nil {
		return Member{}, err
	}
	return m, nil
}

// RemoveMember removes a member from a business (never the owner; a member
// may leave). A member removed from their only business is signed out.
func (s *Service) RemoveMember(ctx context.Context, p *Principal, businessID, userID string, meta RequestMeta) error {
	leaving := userID == p.User.ID
	if !leaving {
		if err := p.RequireArea(businessID, sellerguard.AreaUserPermissions, sellerguard.LevelEdit); err != nil {
			return err
		}
		if err := s.RequireRecentAuth(p); err != nil {
			return err
		}
	} else if err := p.RequireArea(businessID, sellerguard.AreaUserPermissions, sellerguard.LevelNone); err != nil {
		return err
	}
	now := s.now()
	err := s.DB.WithBusinessTx(ctx, businessID, func(tx *store.Tx) error {
		m, err := tx.FindMember(ctx, businessID, userID)
		if errors.Is(err, store.ErrNotFound) {
			return sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such member.")
		}
		if err != nil {
			return err
		}
		if m.Role == sellerguard.RoleOwner {
			return sellerguard.Errorf(sellerguard.ECodeForbidden, "The owner cannot be removed.")
		}
		if !leaving {
			for _, a := range sellerguard.Areas {
				if sellerguard.LevelRank(m.Permissions[a]) > sellerguard.LevelRank(p.Level(businessID, a)) {
					return sellerguard.Errorf(sellerguard.ECodeForbidden, "You cannot remove someone with more access than you.")
				}
			}
		}
		signedOut, err := s.dropMember(ctx, tx, businessID, userID)
		if err != nil {
			return err
		}
		if err := s.teamEvent(ctx, tx, now, p, meta, businessID, "business.member_removed", "user", userID,
			map[string]any{"email": m.Email, "permissions": m.Permissions}, map[string]any{"left_by_themselves": leaving, "sessions_ended": signedOut}); err != nil {
			return err
		}
		if err := s.Cache.Revoke(ctx, tx, userID); err != nil {
			return err
		}
		if !leaving {
			biz, err := tx.FindBusiness(ctx, businessID)
			if err != nil {
				return err
			}
			if err := s.tellMember(ctx, tx, now, m.Email, biz.Name, msgT{Key: "email.member_access.removed", KV: []any{"Actor", p.User.Email, "Business", biz.Name}}); err != nil {
				return err
			}
		}
		return s.tellBusiness(ctx, tx, now, businessID, EventMemberRemoved, "email.member_removed", "Actor", p.User.Email, "Member", m.Email)
	})
	if err != nil {
		return err
	}
	return nil
}
