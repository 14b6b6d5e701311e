package web

import (
	"github.com/sellerguard/sellerguard/internal/account"
	"github.com/sellerguard/sellerguard/internal/secondstep"
	"github.com/sellerguard/sellerguard/internal/sellerdata"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/team"
)

// Services are the rule services behind the handlers, one per concern
// (internal/app wires them on one shared session.Service).
type Services struct {
	Session    *session.Service    // sign-in, sessions, the cache, revocation, limits
	Account    *account.Service    // sign-up, contact details, passwords, recovery, holds
	TwoStep    *secondstep.Service // TOTP, SMS/voice, passkeys, backup codes, trusted browsers
	Team       *team.Service       // members, invitations, access reviews, ownership, checkup actions
	SellerData *sellerdata.Service // payments, storefront, listings
}
