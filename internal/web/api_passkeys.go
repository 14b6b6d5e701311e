package web

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/secondstep"
	"github.com/sellerguard/sellerguard/internal/session"
)

// registerPasskeys adds the passkey routes: the JSON API of both ceremonies
// (adding a passkey, signing in with one) and their pages.
func (s *Server) registerPasskeys(mux *recordingMux) {
	mux.Handle("POST /api/v1/two-step/passkeys/begin", s.apiAuthed(s.apiBeginPasskeyRegistration))
	mux.Handle("POST /api/v1/two-step/passkeys/finish", s.apiAuthed(s.apiFinishPasskeyRegistration))
	mux.Handle("POST /api/v1/session/second-step/passkey/begin", s.apiSession(s.apiBeginPasskeySignIn))
	mux.Handle("POST /api/v1/session/second-step/passkey/finish", s.apiSession(s.apiFinishPasskeySignIn))
	mux.Handle("POST /api/v1/session/reauth/passkey/begin", s.apiAuthed(s.apiBeginPasskeyReauth))
	mux.Handle("POST /api/v1/session/reauth/passkey/finish", s.apiAuthed(s.apiFinishPasskeyReauth))

	mux.Handle("GET /account/two-step/passkeys", s.pageAuthed(s.pagePasskeys))
	mux.Handle("POST /account/two-step/passkeys/{id}/remove", s.pageAuthed(s.pageRemovePasskey))
	mux.Handle("GET /signin/second-step/passkey", s.pageSession(s.pagePasskeySignIn))
}

type passkeyCeremonyJSON struct {
	ChallengeID string          `json:"challenge_id"`
	PublicKey   json.RawMessage `json:"public_key"`
	ExpiresAt   time.Time       `json:"expires_at"`
}

func toPasskeyCeremonyJSON(c secondstep.PasskeyCeremony) passkeyCeremonyJSON {
	return passkeyCeremonyJSON{ChallengeID: c.ChallengeID, PublicKey: c.Options, ExpiresAt: c.ExpiresAt.UTC()}
}

// decodeEmpty accepts no body or an empty JSON object.
func decodeEmpty(r *http.Request) error {
	if r.ContentLength == 0 {
		return nil
	}
	var none struct{}
	return decodeJSON(r, &none)
}

// apiBeginPasskeyRegistration answers the options for
// navigator.credentials.create(): PublicKeyCredentialCreationOptions with
// binary members in base64url.
func (s *Server) apiBeginPasskeyRegistration(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := decodeEmpty(r); err != nil {
		return err
	}
	c, err := s.TwoStep.BeginPasskeyRegistration(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toPasskeyCeremonyJSON(c))
}

type passkeyRegistrationRequest struct {
	ChallengeID string          `json:"challenge_id"`
	Label       string          `json:"label"`
	Credential  json.RawMessage `json:"credential"`
}

func (s *Server) apiFinishPasskeyRegistration(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req passkeyRegistrationRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := requirePasskeyAnswer(req.ChallengeID, req.Credential); err != nil {
		return err
	}
	m, err := s.TwoStep.FinishPasskeyRegistration(r.Context(), p, secondstep.PasskeyRegistration{ChallengeID: req.ChallengeID, Label: req.Label, Credential: req.Credential}, s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"method": toMethodJSON(m)})
}

// apiBeginPasskeySignIn answers the options for navigator.credentials.get()
// (PublicKeyCredentialRequestOptions, allowCredentials listing the user's
// passkeys) to a session that still owes its second step.
func (s *Server) apiBeginPasskeySignIn(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := decodeEmpty(r); err != nil {
		return err
	}
	c, err := s.TwoStep.BeginPasskeySignIn(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toPasskeyCeremonyJSON(c))
}

type passkeySignInRequest struct {
	ChallengeID     string          `json:"challenge_id"`
	Credential      json.RawMessage `json:"credential"`
	RememberBrowser bool            `json:"remember_browser"`
}

// apiFinishPasskeySignIn finishes the second step with a passkey; it answers
// exactly as POST /api/v1/session/second-step does.
func (s *Server) apiFinishPasskeySignIn(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req passkeySignInRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := requirePasskeyAnswer(req.ChallengeID, req.Credential); err != nil {
		return err
	}
	res, err := s.TwoStep.CompletePasskeySignIn(r.Context(), p, secondstep.PasskeySignIn{
		ChallengeID: req.ChallengeID, Credential: req.Credential, RememberBrowser: req.RememberBrowser, Device: s.deviceCookie(r),
	}, s.meta(r))
	if err != nil {
		return err
	}
	if _, err := r.Cookie(s.cookieName()); err == nil {
		s.setSessionCookie(w, res.Token, res.Session.ExpiresAt)
	}
	out := map[string]any{"token": res.Token, "session": toSessionJSON(res.Session, res.Session.ID), "method": res.Method}
	if res.TrustedBrowserID != "" {
		out["trusted_browser_id"] = res.TrustedBrowserID
	}
	return writeJSON(w, http.StatusOK, out)
}

func requirePasskeyAnswer(challengeID string, credential json.RawMessage) error {
	var fields []sellerguard.FieldError
	if challengeID == "" || len(challengeID) > 128 {
		fields = append(fields, sellerguard.FieldError{Field: "challenge_id", Code: "required", Message: "Send the challenge_id from the begin step."})
	}
	if len(credential) == 0 || credential[0] != '{' {
		fields = append(fields, sellerguard.FieldError{Field: "credential", Code: "required", Message: "Send the authenticator's answer (a PublicKeyCredential as JSON)."})
	}
	if len(fields) > 0 {
		return sellerguard.Invalid(fields...)
	}
	return nil
}

// apiBeginPasskeyReauth answers the options for navigator.credentials.get()
// to re-authenticate a full session with a passkey.
func (s *Server) apiBeginPasskeyReauth(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := decodeEmpty(r); err != nil {
		return err
	}
	c, err := s.TwoStep.BeginPasskeyReauth(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toPasskeyCeremonyJSON(c))
}

type passkeyReauthRequest struct {
	Password    string          `json:"password"`
	ChallengeID string          `json:"challenge_id"`
	Credential  json.RawMessage `json:"credential"`
}

// apiFinishPasskeyReauth re-authenticates with the password and a passkey;
// it answers exactly as POST /api/v1/session/reauth does.
func (s *Server) apiFinishPasskeyReauth(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req passkeyReauthRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := requirePasskeyAnswer(req.ChallengeID, req.Credential); err != nil {
		return err
	}
	next, err := s.TwoStep.ReauthenticateWithPasskey(r.Context(), p, req.Password, req.ChallengeID, req.Credential, s.meta(r))
	if err != nil {
		return err
	}
	return s.writeReauthenticated(w, r, next)
}
