package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/history"
	"github.com/sellerguard/sellerguard/internal/limiter"
	"github.com/sellerguard/sellerguard/internal/password"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// TokenPrefix starts every session token, so a leaked token is recognisable
// (e.g. by secret scanners).
const TokenPrefix = "sgs_"

// Principal is the caller behind a valid session.
type Principal struct {
	User        sellerguard.User
	Session     sellerguard.Session
	Memberships []sellerguard.Membership
	TwoStep     twostep.Protection
	// MustChangePassword says why the user must change their password
	// before anything else ("" when they need not).
	MustChangePassword string
	// Failed is the account's recent failed sign-ins from elsewhere, as
	// of when the session was loaded into the cache (at most the cache's
	// TTL old on other instances; this instance refreshes on each failure).
	Failed FailedSignIns
	// ReenrolTwoStep: a business owner required the user to enrol two-step
	// verification again; until they do, business data stays closed.
	ReenrolTwoStep bool

	uses *AreaUseRecorder // where RequireArea notes area use (nil: nowhere)
	now  func() time.Time
}

// Owns reports whether the principal owns the business.
func (p *Principal) Owns(businessID string) bool {
	for _, m := range p.Memberships {
		if m.BusinessID == businessID && m.Role == sellerguard.RoleOwner {
			return true
		}
	}
	return false
}

// RequireOwner is the check of owner-only actions: a business the caller
// does not belong to is not found (as in RequireArea); a member who is not
// the owner is forbidden, told that only the owner can do what.
func (p *Principal) RequireOwner(businessID, what string) error {
	for _, m := range p.Memberships {
		if m.BusinessID != businessID {
			continue
		}
		if m.Role != sellerguard.RoleOwner {
			return sellerguard.Errorf(sellerguard.ECodeForbidden, "Only the owner can %s.", what)
		}
		return nil
	}
	return errNoBusiness
}

// OwnedBusinessIDs lists the businesses the principal owns.
func (p *Principal) OwnedBusinessIDs() []string {
	var out []string
	for _, m := range p.Memberships {
		if m.Role == sellerguard.RoleOwner {
			out = append(out, m.BusinessID)
		}
	}
	return out
}

func newToken() (token, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is what the database stores of a token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

var errInvalidCredentials = sellerguard.Errorf(sellerguard.ECodeInvalidCredentials, "The email address or password is not right.")

// ErrUnauthenticated is the answer for a missing, unknown or ended session.
var ErrUnauthenticated = sellerguard.Errorf(sellerguard.ECodeUnauthenticated, "Sign in to continue.")

// SignInInput is what a person or program signs in with.
type SignInInput struct {
	Email      string
	Password   string
	UnlockCode string // optional: lets the owner past delays and the lock
	Device     string // the browser's device cookie, "" when it has none
}

// SignInResult is a started session.
type SignInResult struct {
	Token   string
	Session sellerguard.Session
	// NewDevice is a device token to store in the browser's device cookie
	// when it had none (or an unknown one).
	NewDevice string
	// SecondStepMethods is set when the session is partial: the kinds of
	// second step the user can finish signing in with.
	SecondStepMethods []string
	// MustChangePassword says why the password must change before anything
	// else ("" when it need not).
	MustChangePassword string
	// AddBackupMethod says the new session is full and a business of the
	// user asks for a backup method they lack (Principal.NeedsBackupMethod):
	// the answer asks them to add one.
	AddBackupMethod bool
}

// SignIn checks an email and password and starts a session. An unknown
// email, a wrong password, and an account whose attempts are delayed or
// locked all give the same error after the same work; a source that has
// failed too often gets rate_limited.
func (s *Service) SignIn(ctx context.Context, in SignInInput, meta RequestMeta) (SignInResult, error) {
	// The place first (Admit). In a flood the waiting goroutines are
	// parked here, so this frame stays small: signIn's own frame (large)
	// would grow each of their stacks (≈ 9 MB over 1,000 in the flood).
	leave, err := s.Admit(ctx)
	if err != nil {
		return SignInResult{}, err
	}
	defer leave()
	return s.signIn(ctx, in, meta)
}

func (s *Service) signIn(ctx context.Context, in SignInInput, meta RequestMeta) (SignInResult, error) {
	now := s.now()
	srcKey := limiter.SourceKey("signin", meta.IP)
	emailNorm := NormalizeEmail(in.Email)
	absurd := len(emailNorm) > MaxEmailLen || len(in.Password) > password.MaxBytes || len(in.UnlockCode) > 64
	if absurd {
		emailNorm = truncateKey(emailNorm)
	}
	device := deviceID(in.Device)
	// One read for the source's limit, the browser's mark and the account
	// counter the attempt counts on.
	gate, err := s.Limiter.Gate(ctx, s.DB, srcKey, emailNorm, device, now)
	if err != nil {
		return SignInResult{}, err
	}
	if !gate.SourceRetry.IsZero() {
		return SignInResult{}, rateLimited(gate.SourceRetry.Sub(now))
	}
	if absurd {
		// No hashing for absurd input, but the same answer, and it counts.
		return SignInResult{}, s.signInFailed(ctx, emailNorm, limiter.AccountKey(emailNorm, ""), nil, meta, now)
	}
	known, key, st := gate.Known, gate.Key, gate.Account
	unlocked := false
	if in.UnlockCode != "" {
		if unlocked, err = s.useUnlockCode(ctx, emailNorm, in.UnlockCode, now); err != nil {
			return SignInResult{}, err
		}
	}
	// The user with what a successful sign-in decides by (the forced
	// change, the businesses' maximum password age, whether there is a
	// second step to read), in one read: the same read for every address,
	// so an unknown one answers no faster.
	su, err := s.DB.FindUserForSignIn(ctx, emailNorm)
	u := su.UserRecord
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return SignInResult{}, err
	}
	ok, rehash := false, false
	if found && (unlocked || st.Allowed(now)) {
		ok, rehash, err = s.Hasher.Verify(ctx, u.PasswordHash, in.Password)
		if err != nil {
			return SignInResult{}, HashError(err)
		}
	} else if err := s.Hasher.VerifyDummy(ctx, in.Password); err != nil {
		// The same answer as a real account's when the pool is full: a
		// flood must not tell which accounts exist (503 here, 503 there).
		return SignInResult{}, HashError(err)
	}
	if !ok || u.Status != sellerguard.UserActive {
		var user *store.UserRecord
		if found {
			user = &u
		}
		return SignInResult{}, s.signInFailed(ctx, emailNorm, key, user, meta, now)
	}
	newHash := ""
	if rehash {
		if newHash, err = s.Hasher.Hash(ctx, in.Password); err != nil {
			newHash = "" // upgrade next time; the sign-in itself succeeded
		}
	}
	res := SignInResult{}
	if device == "" { // no device cookie yet (or not one of ours)
		res.NewDevice = newDeviceToken()
		device = deviceID(res.NewDevice)
	}
	prot, methods := assess(nil, 0)
	if su.HasTwoStepMethods {
		if prot, methods, err = protection(ctx, s.DB, u.ID, false); err != nil {
			return SignInResult{}, err
		}
	}
	trusted := false
	if prot.Enrolled {
		if trusted, err = s.DB.IsTrustedBrowser(ctx, u.ID, device, now); err != nil {
			return SignInResult{}, err
		}
	}
	token, tokenHash := newToken()
	sess := sellerguard.Session{
		ID: NewID("ses"), UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.Config.AbsoluteTimeout),
		IP: meta.IP, UserAgent: meta.UserAgent, AuthLevel: sellerguard.AuthFull, ReauthAt: now,
	}
	if prot.Enrolled && !trusted {
		// The password was right; the session can do nothing but finish the
		// second step (or sign out) until it does, and not for long.
		sess.AuthLevel, sess.ExpiresAt = sellerguard.AuthPartial, now.Add(s.TwoStep.PartialSessionTTL)
		res.SecondStepMethods = methodKinds(methods, prot.BackupLeft)
	}
	if sess.AuthLevel == sellerguard.AuthFull && prot.Enrolled && !prot.Full {
		// Only then can a business's rule ask for a backup (a trusted
		// browser skipped the second step): read the memberships for it.
		ms, err := s.DB.ListMemberships(ctx, u.ID)
		if err != nil {
			return SignInResult{}, err
		}
		res.AddBackupMethod = (&Principal{TwoStep: prot, Memberships: ms}).NeedsBackupMethod()
	}
	breach := s.breachAtSignIn(ctx, in.Password)
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		if newHash != "" {
			if err := tx.UpdatePasswordHash(ctx, u.ID, newHash, time.Time{}); err != nil {
				return err
			}
		}
		if err := tx.CreateSession(ctx, sess, tokenHash); err != nil {
			return err
		}
		if res.MustChangePassword, err = s.afterPasswordSignIn(ctx, tx, su, breach, now); err != nil {
			return err
		}
		// One change clears the attempt's failures, remembers the browser
		// and counts its network and browser for the new-device check.
		seen, err := s.Limiter.AccountSuccess(ctx, tx, emailNorm, device, key, seenKey(u.EmailNorm, meta), meta.IP, now, knownDeviceLifetime)
		if err != nil {
			return err
		}
		newDevice, err := s.newDeviceCheck(ctx, tx, u, known, seen.Count, meta, now)
		if err != nil {
			return err
		}
		// The failed sign-ins (cleared just now) are part of the user's
		// cached state that all their sessions share.
		tx.AfterCommit(func() { s.Cache.InvalidateUser(u.ID) })
		if unlocked {
			if err := s.clearAfterUnlock(ctx, tx, u, meta, now); err != nil {
				return err
			}
		}
		return audit.Append(ctx, tx, now, audit.Entry{
			SubjectID: u.ID, ActorID: u.ID, ActorEmail: u.Email, IP: meta.IP, UserAgent: meta.UserAgent,
			Action: "session.created", Category: sellerguard.CategorySession, TargetType: "session", TargetID: sess.ID,
			After: map[string]any{"expires_at": sess.ExpiresAt, "upgraded_params": newHash != "", "known_browser": known, "with_unlock_code": unlocked,
				"level": sess.AuthLevel, "trusted_browser": trusted, "new_device": newDevice},
		})
	})
	if err != nil {
		return SignInResult{}, err
	}
	res.Token, res.Session = token, sess
	return res, nil
}

func truncateUA(ua string) string {
	ua = strings.ToValidUTF8(ua, "")
	if len(ua) > 512 {
		ua = ua[:512]
	}
	return strings.ToValidUTF8(ua, "")
}

// Authenticate resolves a token to its principal. It is the hot path of every
// request: the common case is answered from the in-process cache without
// touching the database, and nothing is written (last-seen times are kept in
// memory and flushed in batches by FlushLastSeen).
func (s *Service) Authenticate(ctx context.Context, token string) (*Principal, error) {
	p := new(Principal)
	if err := s.AuthenticateInto(ctx, token, p); err != nil {
		return nil, err
	}
	return p, nil
}

// hashTokenInto writes HashToken(token) into dst without allocating (the
// token's length is checked by the caller: at most 64 bytes).
func hashTokenInto(dst *[64]byte, token string) {
	var tb [64]byte
	n := copy(tb[:], token)
	sum := sha256.Sum256(tb[:n])
	hex.Encode(dst[:], sum[:])
}

// AuthenticateInto is Authenticate writing the principal into dst, a
// per-request copy the caller owns (the cached principal itself is never
// handed out), so that a cache hit allocates nothing.
func (s *Service) AuthenticateInto(ctx context.Context, token string, dst *Principal) error {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) != len(TokenPrefix)+43 {
		return ErrUnauthenticated
	}
	var hx [64]byte
	hashTokenInto(&hx, token)
	now := s.Now()
	e, ok := s.Cache.get(hx[:], now)
	if !ok {
		var err error
		if e, err = s.loadSession(ctx, string(hx[:]), now); err != nil {
			return err
		}
	}
	p := e.principal
	last := e.lastSeen()
	if p.User.Status != sellerguard.UserActive || !now.Before(p.Session.ExpiresAt) || now.Sub(last) >= s.Config.IdleTimeout {
		return ErrUnauthenticated
	}
	e.touch(now)
	*dst = *p
	dst.Session.LastSeenAt = e.lastSeen()
	return nil
}

// loadSession reads a session and its user's state from the database and
// caches it. Concurrent misses of one token wait for the first one's load
// (when it began at the current cache generation) rather than each reading
// the same rows: a hot session re-read after its TTL is one load, not one
// per waiting request.
func (s *Service) loadSession(ctx context.Context, hash string, now time.Time) (*cacheEntry, error) {
	gen := s.Cache.generation()
	l, leader := s.Cache.beginLoad(hash, gen)
	if !leader {
		select {
		case <-l.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if l.err == nil || errors.Is(l.err, ErrUnauthenticated) {
			return l.e, l.err
		}
		// The first request's load failed (its client may have gone
		// away): load for this one.
		return s.readSession(ctx, hash, gen, now)
	}
	var e *cacheEntry
	err := errLoadUnfinished // what the waiters see should the read panic
	defer func() { s.Cache.endLoad(hash, l, e, err) }()
	e, err = s.readSession(ctx, hash, gen, now)
	return e, err
}

var errLoadUnfinished = errors.New("auth: session load did not finish")

func (s *Service) readSession(ctx context.Context, hash string, gen uint64, now time.Time) (*cacheEntry, error) {
	sess, err := s.DB.FindSessionByTokenHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	ue, ok := s.Cache.getUser(sess.UserID, now)
	if !ok {
		up, err := s.readUser(ctx, sess.UserID, now)
		if err != nil {
			return nil, err
		}
		ue = s.Cache.putUser(gen, up, now)
	}
	p := ue.p // a copy; the memberships slice is shared and never changed
	p.Session = sess
	return s.Cache.put(hash, gen, &p, now, ue.staleAt), nil
}

// readUser reads the part of a principal that all of a user's sessions
// share, in four reads (each a round trip on PostgreSQL): the user's row
// with what hangs on it, memberships, second-step methods, failed sign-ins.
func (s *Service) readUser(ctx context.Context, userID string, now time.Time) (Principal, error) {
	u, err := s.DB.FindUserState(ctx, userID)
	if err != nil {
		return Principal{}, err
	}
	ms, err := s.DB.ListMemberships(ctx, u.ID)
	if err != nil {
		return Principal{}, err
	}
	methods, err := s.DB.ListMethods(ctx, u.ID)
	if err != nil {
		return Principal{}, err
	}
	prot, _ := assess(methods, u.BackupCodesLeft)
	c, err := s.DB.GetCounter(ctx, limiter.AccountKey(u.EmailNorm, ""), now)
	if err != nil {
		return Principal{}, err
	}
	return Principal{User: u.User, Memberships: ms, TwoStep: prot, MustChangePassword: u.MustChangePassword, ReenrolTwoStep: u.ReenrolTwoStep,
		Failed: FailedSignIns{Count: c.Count, LastAt: c.LastAt, LastIP: c.LastIP}, uses: s.AreaUse, now: s.Now}, nil
}

// FlushLastSeen writes the batched last-seen times to the database,
// and the batched last use of each business area.
func (s *Service) FlushLastSeen(ctx context.Context) error {
	uerr := s.flushAreaUse(ctx)
	seen := s.Cache.drainSeen()
	if len(seen) == 0 {
		return uerr
	}
	return errors.Join(uerr, s.DB.WithTx(ctx, func(tx *store.Tx) error { return tx.TouchSessions(ctx, seen) }))
}

// ExpireSessions removes ended sessions, stale sign-ups and expired guess
// counters.
func (s *Service) ExpireSessions(ctx context.Context) error {
	if err := s.FlushLastSeen(ctx); err != nil {
		return err
	}
	now := s.Now()
	return s.DB.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.DeleteExpiredSessions(ctx, now, s.Config.IdleTimeout); err != nil {
			return err
		}
		if _, err := tx.DeleteExpiredSignups(ctx, now); err != nil {
			return err
		}
		if err := tx.DeleteExpiredChallenges(ctx, now); err != nil {
			return err
		}
		if err := tx.DeleteUnconfirmedMethods(ctx, now.Add(-time.Hour)); err != nil {
			return err
		}
		if err := tx.DeleteIdempotencyKeysBefore(ctx, now.Add(-IdempotencyTTL)); err != nil {
			return err
		}
		return tx.DeleteExpiredCounters(ctx, now)
	})
}

// SignOut ends the caller's own session.
func (s *Service) SignOut(ctx context.Context, p *Principal, meta RequestMeta) error {
	return s.endSessions(ctx, p, meta, "session.ended", func(tx *store.Tx) ([]string, error) {
		if err := tx.DeleteSession(ctx, p.User.ID, p.Session.ID); errors.Is(err, store.ErrNotFound) {
			// Signed out (or revoked) meanwhile by another request: this
			// token is no longer signed in.
			return nil, ErrUnauthenticated
		} else if err != nil {
			return nil, err
		}
		return []string{p.Session.ID}, nil
	})
}

// RevokeSession ends one of the caller's sessions by id.
func (s *Service) RevokeSession(ctx context.Context, p *Principal, id string, meta RequestMeta) error {
	err := s.endSessions(ctx, p, meta, "session.revoked", func(tx *store.Tx) ([]string, error) {
		if err := tx.DeleteSession(ctx, p.User.ID, id); err != nil {
			return nil, err
		}
		return []string{id}, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such session.")
	}
	return err
}

// RevokeOtherSessions ends every session of the caller but the current one
// and returns how many ended.
func (s *Service) RevokeOtherSessions(ctx context.Context, p *Principal, meta RequestMeta) (int, error) {
	var n int
	err := s.endSessions(ctx, p, meta, "session.revoked_others", func(tx *store.Tx) ([]string, error) {
		ids, err := tx.DeleteOtherSessions(ctx, p.User.ID, p.Session.ID)
		n = len(ids)
		return ids, err
	})
	return n, err
}

// endSessions ends the sessions del deletes, audited; when they include
// sessions other than the acting one, the user is told (an event that
// cannot be switched off).
func (s *Service) endSessions(ctx context.Context, p *Principal, meta RequestMeta, action string, del func(tx *store.Tx) ([]string, error)) error {
	now := s.now()
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		ids, err := del(tx)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		target := ids[0]
		if len(ids) > 1 {
			target = ""
		}
		if err := audit.Append(ctx, tx, now, audit.Entry{
			SubjectID: p.User.ID, ActorID: p.User.ID, ActorEmail: p.User.Email, IP: meta.IP, UserAgent: meta.UserAgent,
			Action: action, Category: sellerguard.CategorySession, TargetType: "session", TargetID: target,
			Before: map[string]any{"sessions": ids}, After: map[string]any{"current_session": p.Session.ID},
		}); err != nil {
			return err
		}
		if others := len(ids) - countOf(ids, p.Session.ID); others > 0 {
			if err := s.sendEmail(ctx, tx, now, sessionsEndedEmail(p.User.Email, others, meta, now, s.Config.BaseURL)); err != nil {
				return err
			}
		}
		return s.Cache.Revoke(ctx, tx, p.User.ID)
	})
	if err != nil {
		return err
	}
	return nil
}

func countOf(ids []string, id string) int {
	n := 0
	for _, x := range ids {
		if x == id {
			n++
		}
	}
	return n
}

// sessionsEndedEmail tells the user that sessions other than the one
// acting were ended from it: a session an attacker holds learns nothing,
// but the owner does if the attacker signs them out.
func sessionsEndedEmail(to string, n int, meta RequestMeta, at time.Time, baseURL string) sellerguard.OutboxMessage {
	return tmail(EventSessionsEndedByOther, to, "email.sessions_ended", "Count", n, "When", at, "IP", meta.IP, "BaseURL", baseURL)
}

// ListSessions lists the caller's sessions, newest first.
func (s *Service) ListSessions(ctx context.Context, p *Principal) ([]sellerguard.Session, error) {
	list, err := s.DB.ListSessions(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	cached := s.Cache.lastSeenOf(p.User.ID)
	out := list[:0]
	for _, sess := range list {
		if seen, ok := cached[sess.ID]; ok && seen.After(sess.LastSeenAt) {
			sess.LastSeenAt = seen
		}
		if now.Before(sess.ExpiresAt) && now.Sub(sess.LastSeenAt) < s.Config.IdleTimeout {
			out = append(out, sess)
		}
	}
	return out, nil
}

// seenKey marks the network and browser a user signed in from, for
// newDeviceCheck.
func seenKey(emailNorm string, meta RequestMeta) string {
	return "seen:" + emailNorm + "|" + limiter.SourceKey("net", meta.IP) + "|" + HashToken(meta.UserAgent)[:16]
}

// newDeviceCheck tells the user of a sign-in from a device they never
// signed in from: neither a browser with their device cookie nor the same
// network and browser as before. The very first sign-in tells nothing.
// seenCount is the seenKey counter after this sign-in counted it (one
// statement reads and counts: above one, it was there, unexpired, before).
// It reports whether it told them (the session.created event records it,
// for the security checkup).
func (s *Service) newDeviceCheck(ctx context.Context, tx *store.Tx, u store.UserRecord, knownDevice bool, seenCount int, meta RequestMeta, now time.Time) (bool, error) {
	if knownDevice || seenCount > 1 {
		return false, nil
	}
	before, err := tx.ListCounters(ctx, "seen:"+u.EmailNorm+"|", now, 2)
	if err != nil {
		return false, err
	}
	if len(before) < 2 { // only the one just recorded: the account's first sign-in
		return false, nil
	}
	// The first line is the account page's sentence for this sign-in
	// (internal/history).
	what := history.Text{Viewer: u.ID, Event: history.Event{Action: "session.created", ActorID: u.ID, ActorEmail: u.Email,
		IP: meta.IP, UserAgent: meta.UserAgent, After: map[string]any{"new_device": true}}}
	return true, s.sendEmail(ctx, tx, now, tmail(EventNewDevice, u.Email, "email.new_device",
		"What", what, "When", now, "IP", meta.IP, "Browser", meta.UserAgent, "BaseURL", s.Config.BaseURL))
}
