package session

import (
	"context"
	"errors"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/store"
)

// A step-up (re-authentication, a password change) never upgrades the
// session that asked for it: that session ends and a new one, with a new
// token, takes its place (ASVS 7.2.4). A token captured before the step-up
// therefore answers 401 afterwards and never gains the "recent sign-in"
// window; only the caller who did the step-up holds the new token.
//
// The new session keeps the old one's sign-in time and absolute expiry (a
// step-up does not make a session live longer) and its level (full).

// StepUp is the session that replaced the caller's after a step-up.
type StepUp struct {
	Token   string
	Session sellerguard.Session
}

// replaceSession ends the session of p and starts its successor inside tx,
// with reauthAt as its last re-authentication. The caller notifies the
// session caches (NotifyRevoked in tx, InvalidateUser after the commit), as
// for every revocation.
func (s *Service) replaceSession(ctx context.Context, tx *store.Tx, p *Principal, reauthAt time.Time, meta RequestMeta, now time.Time) (StepUp, error) {
	if err := tx.DeleteSession(ctx, p.User.ID, p.Session.ID); errors.Is(err, store.ErrNotFound) {
		// Another request of this session replaced or ended it meanwhile
		// (two password changes at once): this one is no longer signed
		// in, and its change is rolled back.
		return StepUp{}, ErrUnauthenticated
	} else if err != nil {
		return StepUp{}, err
	}
	token, tokenHash := newToken()
	sess := sellerguard.Session{
		ID: NewID("ses"), UserID: p.User.ID, CreatedAt: p.Session.CreatedAt, LastSeenAt: now, ExpiresAt: p.Session.ExpiresAt,
		IP: meta.IP, UserAgent: meta.UserAgent, AuthLevel: p.Session.AuthLevel, ReauthAt: reauthAt,
	}
	if err := tx.CreateSession(ctx, sess, tokenHash); err != nil {
		return StepUp{}, err
	}
	return StepUp{Token: token, Session: sess}, nil
}
