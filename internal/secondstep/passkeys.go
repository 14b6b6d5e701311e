package secondstep

// Passkeys (WebAuthn) as a second step.
//
// A passkey is enrolled like any other two-step method (a full session,
// signed in recently) and answers the second step of a sign-in in place of a
// code. It never replaces the password here.
//
// What it guards:
//   - Each ceremony has one challenge, stored server-side (table challenges)
//     for five minutes, bound to the session that began it and to its user,
//     and used once: it is deleted as soon as an answer is checked against
//     it, right or wrong. Beginning again replaces it.
//   - The answer must come from the configured origin (the base URL) for the
//     relying party id of its host; user presence is required and user
//     verification preferred.
//   - Signature counters: an authenticator that counts must show a larger
//     count each time; a count that did not increase is refused (a cloned
//     key, or a replay) and audited. The new count is stored with a
//     compare-and-set, so two racing answers cannot both win.
//
// Caveats: the relying party id is the base URL's host, so passkeys need a
// domain name (localhost or a real one), never an IP address; and a passkey
// made for one host does not work on another. Attestation is not asked for
// ("none"): SellerGuard does not restrict which authenticators people use.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

const (
	// PasskeyChallengeTTL is how long a passkey ceremony may take.
	PasskeyChallengeTTL = 5 * time.Minute

	challengePasskeyEnroll = "passkey-enroll"
	challengePasskeySignIn = "passkey-signin"
	challengePasskeyReauth = "passkey-reauth"

	// maxPasskeyResponseBytes caps the JSON of one authenticator answer.
	maxPasskeyResponseBytes = 16 << 10
)

// errPasskeyTaken refuses a credential id registered already, to anyone
// (WebAuthn Level 2, §7.1 step 22): one passkey belongs to one user.
var errPasskeyTaken = &sellerguard.Error{Code: sellerguard.ECodeConflict,
	Message: "This passkey is registered already. Use another passkey or security key.",
	Fields:  []sellerguard.FieldError{{Field: "credential", Code: "passkey_already_registered", Message: "This passkey is registered already."}}}

var (
	errPasskeysUnavailable = sellerguard.Errorf(sellerguard.ECodeConflict, "Passkeys are not available here: this service must be reached by a domain name (such as localhost), not an IP address.")
	errPasskeyCeremony     = sellerguard.Errorf(sellerguard.ECodeNotFound, "This passkey request has expired or was already used. Start again.")
	errNoPasskeys          = sellerguard.Errorf(sellerguard.ECodeNotFound, "You have no passkey. Use another way to confirm it's you.")
)

func passkeyEnrollChallengeID(sessionID string) string { return "passkey-enroll:" + sessionID }
func passkeySignInChallengeID(sessionID string) string { return "passkey:" + sessionID }

func passkeyReauthChallengeID(sessionID string) string { return "passkey-reauth:" + sessionID }

// EnablePasskeys lets the second step of a sign-in accept passkeys, by
// adding the passkey verifier to s.ExtraSecondSteps. The ceremonies refuse to
// begin until it is called. Caveat: re-authentication does not take a
// passkey yet (its ceremony begins only for a partial session); a user
// whose only second step is a passkey signs in again instead.
func EnablePasskeys(s *Service) {
	if s.ExtraSecondSteps == nil {
		s.ExtraSecondSteps = map[string]CodeVerifier{}
	}
	s.ExtraSecondSteps[twostep.KindPasskey] = s.VerifyPasskey
}

func (s *Service) passkeysEnabled() bool {
	_, ok := s.ExtraSecondSteps[twostep.KindPasskey]
	return ok
}

// relyingParty describes this service to authenticators: the base URL's
// host is the relying party id and its origin the only one accepted.
func (s *Service) relyingParty() (*webauthn.WebAuthn, error) {
	if !s.passkeysEnabled() {
		return nil, errPasskeysUnavailable
	}
	u, err := url.Parse(s.Config.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || net.ParseIP(u.Hostname()) != nil {
		return nil, errPasskeysUnavailable
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  u.Hostname(),
		RPDisplayName:         "SellerGuard",
		RPOrigins:             []string{u.Scheme + "://" + u.Host},
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementPreferred,
			RequireResidentKey: protocol.ResidentKeyNotRequired(),
			UserVerification:   protocol.VerificationPreferred,
		},
		// Client extension outputs are not signed and SellerGuard reads
		// none of them; some password managers add ones nobody asked for.
		ExtensionsUnsolicitedOutputPolicy: protocol.UnsolicitedOutputPolicyIgnore,
	})
	if err != nil {
		return nil, &sellerguard.Error{Code: errPasskeysUnavailable.Code, Message: errPasskeysUnavailable.Message, Err: err}
	}
	return wa, nil
}

// passkeyUser is a user as WebAuthn sees it: the user handle is the user id
// (random, no personal data), the names are the email address.
type passkeyUser struct {
	id, email string
	creds     []webauthn.Credential
	methods   []store.TwoStepMethod // parallel to creds
}

func (u *passkeyUser) WebAuthnID() []byte                         { return []byte(u.id) }
func (u *passkeyUser) WebAuthnName() string                       { return u.email }
func (u *passkeyUser) WebAuthnDisplayName() string                { return u.email }
func (u *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// methodOf finds the method that holds the credential id.
func (u *passkeyUser) methodOf(credentialID []byte) (store.TwoStepMethod, bool) {
	for i, c := range u.creds {
		if bytes.Equal(c.ID, credentialID) {
			return u.methods[i], true
		}
	}
	return store.TwoStepMethod{}, false
}

// loadPasskeyUser reads the user's confirmed passkeys. The stored signature
// counter is the method's last step (kept by compare-and-set), not the copy
// in the credential JSON.
func loadPasskeyUser(ctx context.Context, q interface {
	ListMethods(context.Context, string) ([]store.TwoStepMethod, error)
}, userID, email string) (*passkeyUser, error) {
	ms, err := q.ListMethods(ctx, userID)
	if err != nil {
		return nil, err
	}
	u := &passkeyUser{id: userID, email: email}
	for _, m := range ms {
		if !m.Confirmed || m.Kind != twostep.KindPasskey {
			continue
		}
		var c webauthn.Credential
		if err := json.Unmarshal([]byte(m.Data), &c); err != nil {
			return nil, fmt.Errorf("auth: passkey %s: %w", m.ID, err)
		}
		c.Authenticator.SignCount = uint32(m.LastStep)
		c.Authenticator.CloneWarning = false
		u.creds = append(u.creds, c)
		u.methods = append(u.methods, m)
	}
	return u, nil
}

// PasskeyCeremony is a begun registration or sign-in: the options for
// navigator.credentials.create() or .get() (PublicKeyCredentialCreationOptions
// or PublicKeyCredentialRequestOptions as JSON, binary members base64url) and
// the challenge id to send back with the answer.
type PasskeyCeremony struct {
	ChallengeID string
	Options     json.RawMessage
	ExpiresAt   time.Time
}

func (s *Service) putPasskeyChallenge(ctx context.Context, id, kind string, p *Principal, sd *webauthn.SessionData, options any, now time.Time) (PasskeyCeremony, error) {
	data, err := json.Marshal(sd)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	opts, err := json.Marshal(options)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	c := store.Challenge{ID: id, SessionID: p.Session.ID, UserID: p.User.ID, Kind: kind, Data: string(data), ExpiresAt: now.Add(PasskeyChallengeTTL), CreatedAt: now}
	if err := s.DB.PutChallenge(ctx, c); err != nil {
		return PasskeyCeremony{}, err
	}
	return PasskeyCeremony{ChallengeID: id, Options: opts, ExpiresAt: c.ExpiresAt}, nil
}

// BeginPasskeyRegistration starts adding a passkey: a full session signed in
// recently. The user's passkeys are excluded, so an authenticator that holds
// one already says so instead of making a second.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, p *Principal) (PasskeyCeremony, error) {
	if err := s.RequireRecentAuth(p); err != nil {
		return PasskeyCeremony{}, err
	}
	wa, err := s.relyingParty()
	if err != nil {
		return PasskeyCeremony{}, err
	}
	u, err := loadPasskeyUser(ctx, s.DB, p.User.ID, p.User.Email)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	if len(u.creds) >= maxMethodsPerKind {
		return PasskeyCeremony{}, sellerguard.Errorf(sellerguard.ECodeConflict, "You already have %d passkeys. Remove one first.", len(u.creds))
	}
	creation, sd, err := wa.BeginRegistration(u,
		webauthn.WithExclusions(webauthn.Credentials(u.creds).CredentialDescriptors()),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()))
	if err != nil {
		return PasskeyCeremony{}, fmt.Errorf("auth: begin passkey registration: %w", err)
	}
	return s.putPasskeyChallenge(ctx, passkeyEnrollChallengeID(p.Session.ID), challengePasskeyEnroll, p, sd, creation.Response, s.now())
}

// PasskeyRegistration is the answer of navigator.credentials.create().
type PasskeyRegistration struct {
	ChallengeID string
	Label       string
	Credential  []byte // the PublicKeyCredential as JSON, binary members base64url
}

// FinishPasskeyRegistration checks the authenticator's answer and stores the
// passkey as a confirmed method, with its audit event and notification. The
// challenge is used up whatever the outcome.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, p *Principal, in PasskeyRegistration, meta RequestMeta) (store.TwoStepMethod, error) {
	if err := p.RequireFull(); err != nil {
		return store.TwoStepMethod{}, err
	}
	label, err := cleanLabel(in.Label, "Passkey")
	if err != nil {
		return store.TwoStepMethod{}, err
	}
	if len(in.Credential) == 0 {
		return store.TwoStepMethod{}, sellerguard.Invalid(sellerguard.FieldError{Field: "credential", Code: "required", Message: "Send the passkey's answer from navigator.credentials.create()."})
	}
	if len(in.Credential) > maxPasskeyResponseBytes {
		return store.TwoStepMethod{}, sellerguard.Invalid(sellerguard.FieldError{Field: "credential", Code: "too_long", Message: "That is not a passkey's answer."})
	}
	wa, err := s.relyingParty()
	if err != nil {
		return store.TwoStepMethod{}, err
	}
	now := s.now()
	var m store.TwoStepMethod
	var rejected error
	err = s.DB.WithUserTx(ctx, p.User.ID, func(tx *store.Tx) error {
		rejected = nil
		c, err := tx.FindChallenge(ctx, in.ChallengeID, now)
		if errors.Is(err, store.ErrNotFound) {
			return errPasskeyCeremony
		}
		if err != nil {
			return err
		}
		if c.Kind != challengePasskeyEnroll || c.UserID != p.User.ID || c.SessionID != p.Session.ID {
			return errPasskeyCeremony
		}
		if err := tx.DeleteChallenge(ctx, c.ID); err != nil {
			return err
		}
		u, err := loadPasskeyUser(ctx, tx, p.User.ID, p.User.Email)
		if err != nil {
			return err
		}
		cred, err := verifyRegistration(wa, u, c, in.Credential)
		if err != nil {
			rejected = err
			return nil // the challenge stays used up
		}
		credentialID := base64.StdEncoding.EncodeToString(cred.ID)
		if taken, err := tx.PasskeyCredentialTaken(ctx, credentialID); err != nil {
			return err
		} else if taken {
			// The same answer for one's own passkey and anyone else's; the
			// challenge stays used up.
			rejected = errPasskeyTaken
			return nil
		}
		if len(u.creds) >= maxMethodsPerKind {
			return sellerguard.Errorf(sellerguard.ECodeConflict, "You already have %d passkeys. Remove one first.", len(u.creds))
		}
		data, err := json.Marshal(cred)
		if err != nil {
			return err
		}
		m = store.TwoStepMethod{
			ID: NewID("tsm"), UserID: p.User.ID, Kind: twostep.KindPasskey, Label: label, Data: string(data),
			Confirmed: true, LastStep: int64(cred.Authenticator.SignCount), CreatedAt: now, CredentialID: credentialID,
		}
		if err := tx.CreateMethod(ctx, m); errors.Is(err, store.ErrConflict) {
			return errPasskeyTaken // a racing registration of the same credential won
		} else if err != nil {
			return err
		}
		return s.methodChanged(ctx, tx, p, meta, now, "two_step.method_added", m)
	})
	if err != nil {
		return store.TwoStepMethod{}, err
	}
	if errors.Is(rejected, errPasskeyTaken) {
		return store.TwoStepMethod{}, errPasskeyTaken
	}
	if rejected != nil {
		return store.TwoStepMethod{}, &sellerguard.Error{Code: sellerguard.ECodeInvalidCode,
			Message: "Your passkey's answer could not be verified. Start again, and use a passkey on this device or a security key.", Err: rejected}
	}
	return m, nil
}

func verifyRegistration(wa *webauthn.WebAuthn, u *passkeyUser, c store.Challenge, response []byte) (*webauthn.Credential, error) {
	var sd webauthn.SessionData
	if err := json.Unmarshal([]byte(c.Data), &sd); err != nil {
		return nil, fmt.Errorf("passkey session data: %w", err)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, err
	}
	return wa.CreateCredential(u, sd, parsed)
}

// BeginPasskeySignIn starts the passkey second step of a partial session:
// the options list the user's passkeys (allowCredentials).
func (s *Service) BeginPasskeySignIn(ctx context.Context, p *Principal) (PasskeyCeremony, error) {
	if p.Session.AuthLevel != sellerguard.AuthPartial {
		return PasskeyCeremony{}, sellerguard.Errorf(sellerguard.ECodeConflict, "This session has already finished signing in.")
	}
	return s.beginPasskeyAssertion(ctx, p, passkeySignInChallengeID(p.Session.ID), challengePasskeySignIn)
}

// beginPasskeyAssertion asks for an answer from one of the user's passkeys,
// in a challenge of the given kind bound to the session.
func (s *Service) beginPasskeyAssertion(ctx context.Context, p *Principal, challengeID, kind string) (PasskeyCeremony, error) {
	wa, err := s.relyingParty()
	if err != nil {
		return PasskeyCeremony{}, err
	}
	u, err := loadPasskeyUser(ctx, s.DB, p.User.ID, p.User.Email)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	if len(u.creds) == 0 {
		return PasskeyCeremony{}, errNoPasskeys
	}
	assertion, sd, err := wa.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return PasskeyCeremony{}, fmt.Errorf("auth: begin passkey %s: %w", kind, err)
	}
	return s.putPasskeyChallenge(ctx, challengeID, kind, p, sd, assertion.Response, s.now())
}

// BeginPasskeyReauth starts re-authenticating a full session with a
// passkey (with the password, as every re-authentication): the options list
// the user's passkeys, and the challenge is bound to this session.
func (s *Service) BeginPasskeyReauth(ctx context.Context, p *Principal) (PasskeyCeremony, error) {
	if err := p.RequireFull(); err != nil {
		return PasskeyCeremony{}, err
	}
	return s.beginPasskeyAssertion(ctx, p, passkeyReauthChallengeID(p.Session.ID), challengePasskeyReauth)
}

// ReauthenticateWithPasskey is Reauthenticate with a passkey as the second
// step: the password and the answer to a BeginPasskeyReauth challenge of
// this very session (limits, wrong-answer counting, audit and the new
// session as there).
func (s *Service) ReauthenticateWithPasskey(ctx context.Context, p *Principal, password, challengeID string, credential []byte, meta RequestMeta) (StepUp, error) {
	if len(credential) > maxPasskeyResponseBytes || len(challengeID) > 128 {
		return StepUp{}, sellerguard.Invalid(sellerguard.FieldError{Field: "credential", Code: "too_long", Message: "That is not a passkey's answer."})
	}
	ctx = context.WithValue(ctx, passkeyAnswerKey{}, passkeyAnswer{sessionID: p.Session.ID, challengeID: challengeID, response: credential, kind: challengePasskeyReauth})
	return s.Reauthenticate(ctx, p, password, twostep.KindPasskey, challengeID, meta)
}

type passkeyAnswerKey struct{}

// passkeyAnswer is an assertion handed to VerifyPasskey through the context
// by CompletePasskeySignIn, with the session that sends it.
type passkeyAnswer struct {
	sessionID   string
	challengeID string
	response    []byte
	kind        string // the ceremony the challenge must belong to
}

// PasskeySignIn is the answer of navigator.credentials.get().
type PasskeySignIn struct {
	ChallengeID     string
	Credential      []byte // the PublicKeyCredential as JSON, binary members base64url
	RememberBrowser bool
	Device          string
}

// CompletePasskeySignIn finishes a sign-in with a passkey: the same as
// CompleteSecondStep with method "passkey" (limits, wrong-answer counting,
// the new full session, audit), with the challenge bound to this very
// session and without the size cap of a typed code.
func (s *Service) CompletePasskeySignIn(ctx context.Context, p *Principal, in PasskeySignIn, meta RequestMeta) (SecondStepResult, error) {
	if len(in.Credential) > maxPasskeyResponseBytes || len(in.ChallengeID) > 128 {
		return SecondStepResult{}, sellerguard.Invalid(sellerguard.FieldError{Field: "credential", Code: "too_long", Message: "That is not a passkey's answer."})
	}
	ctx = context.WithValue(ctx, passkeyAnswerKey{}, passkeyAnswer{sessionID: p.Session.ID, challengeID: in.ChallengeID, response: in.Credential, kind: challengePasskeySignIn})
	return s.CompleteSecondStep(ctx, p, SecondStepInput{Method: twostep.KindPasskey, Code: in.ChallengeID, RememberBrowser: in.RememberBrowser, Device: in.Device}, meta)
}

// passkeyCode is the "code" of the passkey second step when it is sent to
// the generic second-step route: {"challenge_id": ..., "credential": {...}}.
type passkeyCode struct {
	ChallengeID string          `json:"challenge_id"`
	Credential  json.RawMessage `json:"credential"`
}

// parsePasskeyCode reads a passkey code strictly: one JSON object with only
// these two members.
func parsePasskeyCode(code string) (passkeyCode, bool) {
	var pc passkeyCode
	dec := json.NewDecoder(bytes.NewReader([]byte(code)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pc); err != nil {
		return passkeyCode{}, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return passkeyCode{}, false // trailing data
	}
	if pc.ChallengeID == "" || len(pc.Credential) == 0 {
		return passkeyCode{}, false
	}
	return pc, true
}

// VerifyPasskey is the CodeVerifier of the passkey second step. The code is
// either the challenge id of an answer that CompletePasskeySignIn passes in
// the context (bound to the calling session), or the JSON
// {"challenge_id", "credential"} (through the generic second-step route,
// where the challenge must belong to a live partial sign-in of the same
// user). It returns the method id of the passkey used, or "" when the answer
// is wrong, expired, replayed, of another user or session, or its signature
// counter did not increase.
func (s *Service) VerifyPasskey(ctx context.Context, tx *store.Tx, userID, code string, now time.Time) (string, error) {
	var challengeID, boundSession string
	var response []byte
	kind := challengePasskeySignIn
	if a, ok := ctx.Value(passkeyAnswerKey{}).(passkeyAnswer); ok && a.challengeID == code {
		challengeID, boundSession, response, kind = a.challengeID, a.sessionID, a.response, a.kind
	} else if pc, ok := parsePasskeyCode(code); ok {
		challengeID, response = pc.ChallengeID, pc.Credential
	} else {
		return "", nil
	}
	c, err := tx.FindChallenge(ctx, challengeID, now)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if c.Kind != kind || c.UserID != userID {
		return "", nil
	}
	if boundSession != "" && c.SessionID != boundSession {
		return "", nil
	}
	if boundSession == "" {
		sess, err := tx.FindSession(ctx, userID, c.SessionID)
		if errors.Is(err, store.ErrNotFound) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		if sess.AuthLevel != sellerguard.AuthPartial || !sess.ExpiresAt.After(now) {
			return "", nil
		}
	}
	// Used once, whatever the outcome: a wrong answer commits with the
	// failure count.
	if err := tx.DeleteChallenge(ctx, c.ID); err != nil {
		return "", err
	}
	wa, err := s.relyingParty()
	if err != nil {
		return "", nil
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal([]byte(c.Data), &sd); err != nil {
		return "", fmt.Errorf("auth: passkey session data: %w", err)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return "", nil
	}
	user, err := tx.FindUserByID(ctx, userID)
	if err != nil {
		return "", err
	}
	u, err := loadPasskeyUser(ctx, tx, userID, user.Email)
	if err != nil {
		return "", err
	}
	cred, err := wa.ValidateLogin(u, sd, parsed)
	if err != nil {
		s.logPasskey("passkey answer refused", userID, err)
		return "", nil
	}
	m, ok := u.methodOf(cred.ID)
	if !ok {
		return "", nil
	}
	count := parsed.Response.AuthenticatorData.Counter
	if cred.Authenticator.CloneWarning {
		// The counter did not increase: a cloned authenticator or a replay.
		s.logPasskey("passkey signature counter did not increase", userID, fmt.Errorf("method %s: stored %d, got %d", m.ID, m.LastStep, count))
		return "", audit.Append(ctx, tx, now, audit.Entry{
			SubjectID: userID, ActorID: userID, ActorEmail: user.Email,
			Action: "two_step.passkey_counter_rejected", Category: sellerguard.CategoryAccount, TargetType: "two_step_method", TargetID: m.ID,
			After: map[string]any{"stored_counter": m.LastStep, "received_counter": count, "label": m.Label},
		})
	}
	if count > 0 {
		if err := tx.UseMethodStep(ctx, m.ID, int64(count), now); errors.Is(err, store.ErrConflict) {
			return "", nil // a racing answer used this count first
		} else if err != nil {
			return "", err
		}
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return "", err
	}
	if err := tx.UpdateMethodData(ctx, m.ID, string(data), now); err != nil {
		return "", err
	}
	return m.ID, nil
}

func (s *Service) logPasskey(msg, userID string, err error) {
	if s.Logger != nil {
		s.Logger.Info(msg, "user_id", userID, "err", err)
	}
}
