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
	SecondStep *secondstep.Service // TOTP, SMS/voice, passkeys, backup codes, trusted browsers
	Team       *team.Service       // members, invitations, access reviews, ownership, checkup actions
	SellerData *sellerdata.Service // payments, storefront, listings
}

// Names under which Auth embeds the services (an embedded field is named
// after its type, and all five types are called Service).
type (
	SessionService    = session.Service    // split-rename: delete
	AccountService    = account.Service    // split-rename: delete
	SecondStepService = secondstep.Service // split-rename: delete
	TeamService       = team.Service       // split-rename: delete
	SellerDataService = sellerdata.Service // split-rename: delete
) // split-rename: delete

// Auth is the one value the handlers still call as s.Auth.X while the split
// of the old auth.Service settles: every method of the five services is
// promoted through it. /work/wt/split-rename.sh rewrites each s.Auth.X to
// the service that owns X and deletes this type.
type Auth struct { // split-rename: delete
	*SessionService    // split-rename: delete
	*AccountService    // split-rename: delete
	*SecondStepService // split-rename: delete
	*TeamService       // split-rename: delete
	*SellerDataService // split-rename: delete
} // split-rename: delete

// NewAuth is the Auth of a set of services.
func NewAuth(v Services) *Auth { // split-rename: delete
	return &Auth{v.Session, v.Account, v.SecondStep, v.Team, v.SellerData} // split-rename: delete
} // split-rename: delete
