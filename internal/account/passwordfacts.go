package account

import (
	"context"

	"github.com/sellerguard/sellerguard"

	"github.com/sellerguard/sellerguard/internal/policy"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// PasswordRules is what a signed-in user's new password is checked
// against: the public facts about them and the strict option of their
// businesses. Every path that sets a password for a signed-in user, and the
// live meter (POST /api/v1/password/check), use it, so the meter and the
// change never disagree.
type PasswordRules struct {
	Facts  policy.Context
	Strict bool // a business of the user demands letters, digits and symbols
}

// PasswordRulesFor gathers the public facts of p: the sign-in email, the
// mobile number and every phone of an SMS or voice second step (all their
// digits), the names of the user's businesses, and each business's
// storefront — its public name, phone, email and return address, public
// facts for every member of that business.
func (s *Service) PasswordRulesFor(ctx context.Context, p *Principal) (PasswordRules, error) {
	return s.passwordRulesOf(ctx, p.User.ID, p.User.Email, p.Memberships)
}

// passwordRulesOf is PasswordRulesFor for a user known by id, email and
// memberships (a password reset has no signed-in principal).
func (s *Service) passwordRulesOf(ctx context.Context, userID, email string, memberships []sellerguard.Membership) (PasswordRules, error) {
	r := PasswordRules{Facts: factsOf(email, memberships)}
	info, err := s.DB.UserContact(ctx, userID)
	if err != nil {
		return PasswordRules{}, err
	}
	if info.PhoneSealed != "" {
		phone, err := s.Keys.Open("phone", info.PhoneSealed, []byte(userID))
		if err != nil {
			return PasswordRules{}, err
		}
		r.Facts.Phone = string(phone)
	}
	methods, err := s.DB.ListMethods(ctx, userID)
	if err != nil {
		return PasswordRules{}, err
	}
	for _, m := range methods {
		if (m.Kind != twostep.KindSMS && m.Kind != twostep.KindVoice) || m.SecretSealed == "" {
			continue
		}
		phone, err := s.Keys.Open("phone", m.SecretSealed, []byte(m.ID))
		if err != nil {
			return PasswordRules{}, err
		}
		r.Facts.Phones = append(r.Facts.Phones, string(phone))
	}
	for _, m := range memberships {
		f, err := s.DB.GetStorefront(ctx, m.BusinessID)
		if err != nil {
			return PasswordRules{}, err
		}
		if f.DisplayName != "" {
			r.Facts.StoreNames = append(r.Facts.StoreNames, f.DisplayName)
		}
		if f.SupportPhone != "" {
			r.Facts.Phones = append(r.Facts.Phones, f.SupportPhone)
		}
		if f.SupportEmail != "" {
			r.Facts.StoreEmails = append(r.Facts.StoreEmails, f.SupportEmail)
		}
		if f.ReturnAddress != "" {
			r.Facts.StoreAddresses = append(r.Facts.StoreAddresses, f.ReturnAddress)
		}
	}
	if _, r.Strict, err = s.DB.BusinessPasswordRules(ctx, userID); err != nil {
		return PasswordRules{}, err
	}
	return r, nil
}
