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

// split-rename: begin

// Names under which Auth embeds the services (an embedded field is named
// after its type, and all five types are called Service).
type (
	SessionService    = session.Service
	AccountService    = account.Service
	SecondStepService = secondstep.Service
	TeamService       = team.Service
	SellerDataService = sellerdata.Service
)

// Auth is the one value the handlers (and tests, through app.App) still
// call as x.Auth.M while the split of the old auth.Service settles: every
// method and field of the five services is promoted through it.
// split-rename.sh rewrites each x.Auth.M to the service that owns M
// (x.Session.M, x.Account.M, …) and deletes this type.
type Auth struct {
	*SessionService
	*AccountService
	*SecondStepService
	*TeamService
	*SellerDataService
}

// NewAuth is the Auth of a set of services.
func NewAuth(v Services) *Auth {
	return &Auth{v.Session, v.Account, v.TwoStep, v.Team, v.SellerData}
}

// split-rename: end
