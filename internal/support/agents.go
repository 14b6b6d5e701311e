package support

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/keys"
	"github.com/sellerguard/sellerguard/internal/limiter"
	"github.com/sellerguard/sellerguard/internal/password"
	"github.com/sellerguard/sellerguard/internal/recovery"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// Agent roles and statuses.
const (
	RoleAgent      = "agent"
	RoleSupervisor = "supervisor"

	AgentEnrolling = "enrolling"
	AgentActive    = "active"
	AgentDisabled  = "disabled"
)

// Agent bounds.
const (
	AgentPasswordMin = 15
	EnrolCodeTTL     = 72 * time.Hour
	// AgentTokenPrefix marks agent session tokens (seller tokens start "sg_").
	AgentTokenPrefix = "sga_"
)

// Agent is a signed-in agent (or one as listed to a supervisor).
type Agent struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	// SessionID is the agent session of the request ("" outside one).
	SessionID string `json:"-"`
}

// Supervisor reports whether the agent is a supervisor.
func (a Agent) Supervisor() bool { return a.Role == RoleSupervisor }

func agentOf(r store.SupportAgent) Agent {
	return Agent{ID: r.ID, Email: r.Email, Role: r.Role, Status: r.Status, CreatedAt: r.CreatedAt}
}

var (
	errAgentCredentials = sellerguard.Errorf(sellerguard.ECodeInvalidCredentials, "The email, password or authenticator code is not right.")
	errEnrol            = sellerguard.Errorf(sellerguard.ECodeInvalidCode, "The email or enrolment code is not right, or the code has expired. Ask a supervisor for a new one.")
	// ErrAgentUnauthenticated: no valid agent session.
	ErrAgentUnauthenticated = sellerguard.Errorf(sellerguard.ECodeUnauthenticated, "Sign in to the agent console.")
	errSupervisorOnly       = sellerguard.Errorf(sellerguard.ECodeForbidden, "Only a supervisor can do this.")
)

func (s *Service) enrolMAC(emailNorm, code string) string {
	return s.Keys.MAC("agent-enrol", emailNorm, recovery.NormalizeRevertCode(code))
}

// AddAgent creates an agent waiting for enrolment and returns its
// single-use enrolment code (shown once, valid EnrolCodeTTL). by is the
// supervisor adding it (nil: the command line).
func (s *Service) AddAgent(ctx context.Context, by *Agent, addr, role string) (Agent, string, error) {
	if by != nil && !by.Supervisor() {
		return Agent{}, "", errSupervisorOnly
	}
	addr, err := validEmail("email", addr)
	if err != nil {
		return Agent{}, "", err
	}
	if role != RoleAgent && role != RoleSupervisor {
		return Agent{}, "", field("role", "invalid_role", "Choose agent or supervisor.")
	}
	code, err := recovery.NewRevertCode()
	if err != nil {
		return Agent{}, "", err
	}
	now := s.now()
	norm := session.NormalizeEmail(addr)
	creator := "command line"
	if by != nil {
		creator = by.ID
	}
	rec := store.SupportAgent{ID: session.NewID("agt"), Email: addr, EmailNorm: norm, Role: role, Status: AgentEnrolling,
		EnrolCodeMAC: s.enrolMAC(norm, code), EnrolExpiresAt: now.Add(EnrolCodeTTL), CreatedBy: creator, CreatedAt: now}
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		err := tx.CreateSupportAgent(ctx, rec)
		if errors.Is(err, store.ErrConflict) {
			return sellerguard.Errorf(sellerguard.ECodeConflict, "There is an agent with this email already.")
		}
		return err
	})
	if err != nil {
		return Agent{}, "", err
	}
	if s.Logger != nil {
		s.Logger.Info("support agent added", "agent_id", rec.ID, "role", role, "by", creator)
	}
	return agentOf(rec), code, nil
}

// Enrolment is what an agent receives at enrolment: the authenticator
// secret to add to their app (shown once).
type Enrolment struct {
	TOTPSecret string `json:"totp_secret"`
	TOTPURL    string `json:"otpauth_url"`
}

// Enrol uses an enrolment code: the agent chooses a password and gets an
// authenticator secret; from then on they sign in with both.
func (s *Service) Enrol(ctx context.Context, addr, code, pw string, meta session.RequestMeta) (Enrolment, error) {
	if _, err := validEmail("email", addr); err != nil {
		return Enrolment{}, err
	}
	if len(recovery.NormalizeRevertCode(code)) != 16 {
		return Enrolment{}, field("enrolment_code", "invalid_code_format", "The enrolment code is 16 letters and digits, such as 7K2M-Q9XD-4HTB-W3NE.")
	}
	if utf8.RuneCountInString(pw) < AgentPasswordMin || len(pw) > password.MaxBytes || !utf8.ValidString(pw) {
		return Enrolment{}, field("password", "password_policy", fmt.Sprintf("Choose a password of at least %d characters.", AgentPasswordMin))
	}
	now := s.now()
	norm := session.NormalizeEmail(addr)
	key := limiter.SourceKey("agent-enrol", meta.IP)
	if retry, err := s.Limiter.Source(ctx, s.DB, key, now); err != nil {
		return Enrolment{}, err
	} else if !retry.IsZero() {
		return Enrolment{}, rateLimited(retry.Sub(now))
	}
	a, err := s.DB.FindSupportAgentByEmail(ctx, norm)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Enrolment{}, err
	}
	if err != nil || a.Status != AgentEnrolling || !now.Before(a.EnrolExpiresAt) || !keys.EqualMAC(a.EnrolCodeMAC, s.enrolMAC(norm, code)) {
		if err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
			_, err := s.Limiter.SourceFailure(ctx, tx, key, meta.IP, now)
			return err
		}); err != nil {
			return Enrolment{}, err
		}
		return Enrolment{}, errEnrol
	}
	hash, err := s.Hasher.Hash(ctx, pw)
	if err != nil {
		return Enrolment{}, session.HashError(err)
	}
	secret, err := twostep.NewTOTPSecret()
	if err != nil {
		return Enrolment{}, err
	}
	sealed, err := s.Keys.Seal("agent-totp", []byte(secret), []byte(a.ID))
	if err != nil {
		return Enrolment{}, err
	}
	used := false
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockSupportAgent(ctx, a.ID); err != nil { // one code, one enrolment
			return err
		}
		cur, err := tx.FindSupportAgent(ctx, a.ID)
		if err != nil {
			return err
		}
		if cur.Status != AgentEnrolling || cur.EnrolCodeMAC != a.EnrolCodeMAC {
			used = true
			return nil
		}
		cur.Status, cur.PasswordHash, cur.TOTPSealed, cur.EnrolCodeMAC, cur.EnrolExpiresAt = AgentActive, hash, sealed, "", time.Time{}
		return tx.UpdateSupportAgent(ctx, cur)
	})
	if err != nil {
		return Enrolment{}, err
	}
	if used {
		return Enrolment{}, errEnrol
	}
	return Enrolment{TOTPSecret: secret, TOTPURL: twostep.TOTPURL("SellerGuard Support", a.Email, secret)}, nil
}

// AgentSignIn checks an agent's password and authenticator code and
// starts an agent session; the token is returned once. Like a seller's
// sign-in it first takes one of the hashing pool's places (a full pool
// past the queue timeout: 503 busy, nothing counted), in a small frame
// where a flood's requests wait.
func (s *Service) AgentSignIn(ctx context.Context, addr, pw, totp string, meta session.RequestMeta) (string, Agent, error) {
	leave, err := session.Admit(ctx, s.Hasher)
	if err != nil {
		return "", Agent{}, err
	}
	defer leave()
	return s.agentSignIn(ctx, addr, pw, totp, meta)
}

func (s *Service) agentSignIn(ctx context.Context, addr, pw, totp string, meta session.RequestMeta) (string, Agent, error) {
	now := s.now()
	srcKey := limiter.SourceKey("agent-signin", meta.IP)
	if retry, err := s.Limiter.Source(ctx, s.DB, srcKey, now); err != nil {
		return "", Agent{}, err
	} else if !retry.IsZero() {
		return "", Agent{}, rateLimited(retry.Sub(now))
	}
	norm := session.NormalizeEmail(addr)
	if len(norm) > MaxEmailLen || len(pw) > password.MaxBytes || len(totp) > 16 {
		return "", Agent{}, errAgentCredentials
	}
	accKey := limiter.AccountKey("agent:"+norm, "")
	st, err := s.Limiter.Account(ctx, s.DB, accKey, now)
	if err != nil {
		return "", Agent{}, err
	}
	a, err := s.DB.FindSupportAgentByEmail(ctx, norm)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", Agent{}, err
	}
	ok := false
	if found && a.Status == AgentActive && st.Allowed(now) {
		if ok, _, err = s.Hasher.Verify(ctx, a.PasswordHash, pw); err != nil {
			return "", Agent{}, session.HashError(err)
		}
	} else if err := s.Hasher.VerifyDummy(ctx, pw); err != nil {
		return "", Agent{}, session.HashError(err)
	}
	step := int64(0)
	if ok {
		secret, err := s.Keys.Open("agent-totp", a.TOTPSealed, []byte(a.ID))
		if err != nil {
			return "", Agent{}, err
		}
		var good bool
		step, good, err = twostep.VerifyTOTP(string(secret), totp, now, a.TOTPLastStep)
		if err != nil && !errors.Is(err, twostep.ErrReplayed) {
			return "", Agent{}, err
		}
		ok = good && err == nil
	}
	if !ok {
		err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
			if _, err := s.Limiter.SourceFailure(ctx, tx, srcKey, meta.IP, now); err != nil {
				return err
			}
			_, err := s.Limiter.AccountFailure(ctx, tx, accKey, meta.IP, now)
			return err
		})
		if err != nil {
			return "", Agent{}, err
		}
		return "", Agent{}, errAgentCredentials
	}
	token, hash, err := newAgentToken()
	if err != nil {
		return "", Agent{}, err
	}
	sess := store.AgentSession{ID: session.NewID("ags"), TokenHash: hash, AgentID: a.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.absolute())}
	replayed := false
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		fresh, err := tx.UseAgentTOTPStep(ctx, a.ID, step)
		if err != nil {
			return err
		}
		if !fresh {
			replayed = true
			return nil
		}
		if err := tx.DeleteCounter(ctx, accKey); err != nil {
			return err
		}
		return tx.CreateAgentSession(ctx, sess)
	})
	if err != nil {
		return "", Agent{}, err
	}
	if replayed {
		return "", Agent{}, errAgentCredentials
	}
	if s.Logger != nil {
		s.Logger.Info("support agent signed in", "agent_id", a.ID, "session_id", sess.ID, "ip", meta.IP)
	}
	out := agentOf(a)
	out.SessionID = sess.ID
	return token, out, nil
}

func (s *Service) idle() time.Duration {
	if s.IdleTimeout > 0 {
		return s.IdleTimeout
	}
	return 30 * time.Minute
}

func (s *Service) absolute() time.Duration {
	if s.AbsoluteTimeout > 0 {
		return s.AbsoluteTimeout
	}
	return 8 * time.Hour
}

func newAgentToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = AgentTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, hashAgentToken(token), nil
}

func hashAgentToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// AuthenticateAgent resolves an agent session token: the session must be
// within its idle and absolute limits and its agent active. A seller's
// token is never an agent's (a different prefix, a different table).
func (s *Service) AuthenticateAgent(ctx context.Context, token string) (Agent, error) {
	if len(token) != len(AgentTokenPrefix)+43 || token[:len(AgentTokenPrefix)] != AgentTokenPrefix {
		return Agent{}, ErrAgentUnauthenticated
	}
	now := s.now()
	sess, err := s.DB.FindAgentSession(ctx, hashAgentToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return Agent{}, ErrAgentUnauthenticated
	}
	if err != nil {
		return Agent{}, err
	}
	a, err := s.DB.FindSupportAgent(ctx, sess.AgentID)
	if err != nil {
		return Agent{}, err
	}
	if a.Status != AgentActive || !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= s.idle() {
		if err := s.DB.DeleteAgentSession(ctx, sess.ID); err != nil {
			return Agent{}, err
		}
		return Agent{}, ErrAgentUnauthenticated
	}
	if now.Sub(sess.LastSeenAt) >= 10*time.Second {
		if err := s.DB.TouchAgentSession(ctx, sess.ID, now); err != nil {
			return Agent{}, err
		}
	}
	out := agentOf(a)
	out.SessionID = sess.ID
	return out, nil
}

// AgentSignOut ends the agent's session.
func (s *Service) AgentSignOut(ctx context.Context, a Agent) error {
	return s.DB.DeleteAgentSession(ctx, a.SessionID)
}

// ListAgents lists every agent (supervisors only).
func (s *Service) ListAgents(ctx context.Context, by Agent) ([]Agent, error) {
	if !by.Supervisor() {
		return nil, errSupervisorOnly
	}
	rs, err := s.DB.ListSupportAgents(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Agent, 0, len(rs))
	for _, r := range rs {
		out = append(out, agentOf(r))
	}
	return out, nil
}

// DisableAgent disables an agent (supervisors only, not themselves): their
// sessions end at once.
func (s *Service) DisableAgent(ctx context.Context, by Agent, id string) error {
	if !by.Supervisor() {
		return errSupervisorOnly
	}
	if !wellFormedID("agt", id) {
		return errNoAgent
	}
	if id == by.ID {
		return sellerguard.Errorf(sellerguard.ECodeConflict, "You cannot disable yourself; ask another supervisor.")
	}
	return s.DB.WithTx(ctx, func(tx *store.Tx) error {
		// Two supervisors disabling each other at once must not both
		// succeed (nobody left to approve): the supervisors take turns,
		// and one disabled meanwhile may disable nobody.
		if err := tx.LockSupervisors(ctx); err != nil {
			return err
		}
		if me, err := tx.FindSupportAgent(ctx, by.ID); err != nil {
			return err
		} else if me.Status != AgentActive {
			return sellerguard.Errorf(sellerguard.ECodeForbidden, "Your agent account was disabled meanwhile.")
		}
		a, err := tx.FindSupportAgent(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return errNoAgent
		}
		if err != nil {
			return err
		}
		a.Status, a.EnrolCodeMAC = AgentDisabled, ""
		if err := tx.UpdateSupportAgent(ctx, a); err != nil {
			return err
		}
		if s.Logger != nil {
			s.Logger.Info("support agent disabled", "agent_id", a.ID, "by", by.ID)
		}
		return tx.DeleteAgentSessions(ctx, a.ID)
	})
}
