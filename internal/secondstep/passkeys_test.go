package secondstep_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/secondstep"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// These tests drive the passkey service with a software authenticator
// written from the WebAuthn specification (§6.1 authenticator data, §6.5.4
// "none" attestation, §6.3.3 assertion signature over authData ||
// SHA-256(clientDataJSON)), so every refusal can be produced on purpose.

const (
	pkBaseURL = "https://seller.example"
	pkRPID    = "seller.example"
	pkPW      = "a long enough passphrase"
)

var b64 = base64.RawURLEncoding

// softKey is one credential of a software authenticator.
type softKey struct {
	id    []byte
	priv  *ecdsa.PrivateKey
	count uint32 // the last signature counter used; stays 0 when !counting
	// counting is false for authenticators without a counter (always 0).
	counting bool
}

func newSoftKey(t *testing.T, counting bool) *softKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	return &softKey{id: id, priv: priv, counting: counting}
}

const (
	flagUP = 0x01
	flagUV = 0x04
	flagAT = 0x40
)

func authData(rpID string, flags byte, count uint32, attested []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append([]byte{}, h[:]...)
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, count)
	return append(out, attested...)
}

func (k *softKey) coseKey(t *testing.T) []byte {
	t.Helper()
	pub, err := k.priv.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	b, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         1, XCoord: pub[1:33], YCoord: pub[33:65],
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type clientData struct {
	Type        string `json:"type"`
	Challenge   string `json:"challenge"`
	Origin      string `json:"origin"`
	CrossOrigin bool   `json:"crossOrigin"`
}

// attest answers navigator.credentials.create() for the options.
func (k *softKey) attest(t *testing.T, options json.RawMessage, origin, rpID string) []byte {
	t.Helper()
	var o struct{ Challenge string }
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	cd, _ := json.Marshal(clientData{Type: "webauthn.create", Challenge: o.Challenge, Origin: origin})
	attested := make([]byte, 16) // AAGUID zero
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(k.id)))
	attested = append(attested, k.id...)
	attested = append(attested, k.coseKey(t)...)
	obj, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": authData(rpID, flagUP|flagUV|flagAT, k.count, attested)})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "attestationObject": b64.EncodeToString(obj), "transports": []string{"internal"}},
	})
	return out
}

// assertion is what navigator.credentials.get() answers, with knobs to
// make it wrong.
type assertion struct {
	origin, rpID string
	flags        byte
	count        *uint32 // nil: the next count (or 0 without a counter)
	badSignature bool
}

func (k *softKey) assert(t *testing.T, options json.RawMessage, a assertion) []byte {
	t.Helper()
	var o struct{ Challenge string }
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	if a.origin == "" {
		a.origin = pkBaseURL
	}
	if a.rpID == "" {
		a.rpID = pkRPID
	}
	if a.flags == 0 {
		a.flags = flagUP | flagUV
	}
	count := uint32(0)
	switch {
	case a.count != nil:
		count = *a.count
	case k.counting:
		k.count++
		count = k.count
	}
	cd, _ := json.Marshal(clientData{Type: "webauthn.get", Challenge: o.Challenge, Origin: a.origin})
	ad := authData(a.rpID, a.flags, count, nil)
	sum := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), sum[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if a.badSignature {
		sig[len(sig)-1] ^= 0x01
	}
	out, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad), "signature": b64.EncodeToString(sig)},
	})
	return out
}

var pkMeta = session.RequestMeta{IP: "192.0.2.10", UserAgent: "passkey test"}

type pkEnv struct {
	in     *apptest.Instance
	email  string
	userID string
}

func startPasskeys(t *testing.T, dialect, email string, opts ...apptest.Option) pkEnv {
	t.Helper()
	opts = append([]apptest.Option{apptest.Env("SELLERGUARD_BASE_URL", pkBaseURL)}, opts...)
	in := apptest.Start(t, dialect, opts...)
	userID, _ := in.SignUp(t, email, pkPW, "Passkey Co")
	return pkEnv{in: in, email: email, userID: userID}
}

func (e pkEnv) principal(t *testing.T, token string) *session.Principal {
	t.Helper()
	p, err := e.in.Session.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return p
}

// partial signs in with the password and returns the partial session.
func (e pkEnv) partial(t *testing.T) *session.Principal {
	t.Helper()
	res, err := e.in.Session.SignIn(context.Background(), session.SignInInput{Email: e.email, Password: pkPW}, pkMeta)
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	if res.Session.AuthLevel != sellerguard.AuthPartial {
		t.Fatalf("sign-in level %q, want partial (methods %v)", res.Session.AuthLevel, res.SecondStepMethods)
	}
	return e.principal(t, res.Token)
}

func (e pkEnv) enrol(t *testing.T, p *session.Principal, k *softKey, label string) store.TwoStepMethod {
	t.Helper()
	ctx := context.Background()
	c, err := e.in.TwoStep.BeginPasskeyRegistration(ctx, p)
	if err != nil {
		t.Fatalf("begin registration: %v", err)
	}
	m, err := e.in.TwoStep.FinishPasskeyRegistration(ctx, p, secondstep.PasskeyRegistration{ChallengeID: c.ChallengeID, Label: label, Credential: k.attest(t, c.Options, pkBaseURL, pkRPID)}, pkMeta)
	if err != nil {
		t.Fatalf("finish registration: %v", err)
	}
	return m
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := sellerguard.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func TestPasskeyEnrolAndSignIn(t *testing.T) {
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		e := startPasskeys(t, dialect, "pk@example.com")
		ctx := context.Background()
		if e.in.TwoStep.ExtraSecondSteps[twostep.KindPasskey] == nil {
			t.Fatal("app.wire did not add the passkey verifier to ExtraSecondSteps")
		}
		p := e.principal(t, e.in.SignIn(t, e.email, pkPW))
		key := newSoftKey(t, true)

		c, err := e.in.TwoStep.BeginPasskeyRegistration(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		var opts struct {
			RP   struct{ ID, Name string }
			User struct {
				ID   string
				Name string
			}
			Challenge              string
			Attestation            string
			AuthenticatorSelection struct{ UserVerification, ResidentKey string }
			PubKeyCredParams       []struct{ Alg int }
		}
		if err := json.Unmarshal(c.Options, &opts); err != nil {
			t.Fatal(err)
		}
		if opts.RP.ID != pkRPID || opts.User.Name != e.email || string(mustB64(t, opts.User.ID)) != e.userID || len(mustB64(t, opts.Challenge)) < 16 ||
			opts.AuthenticatorSelection.UserVerification != "preferred" || len(opts.PubKeyCredParams) == 0 {
			t.Fatalf("creation options: %s", c.Options)
		}
		if d := c.ExpiresAt.Sub(e.in.Clock.Now()); d < 4*time.Minute || d > secondstep.PasskeyChallengeTTL {
			t.Errorf("challenge expires in %v, want 5 minutes", d)
		}
		att := key.attest(t, c.Options, pkBaseURL, pkRPID)
		m, err := e.in.TwoStep.FinishPasskeyRegistration(ctx, p, secondstep.PasskeyRegistration{ChallengeID: c.ChallengeID, Label: " Laptop ", Credential: att}, pkMeta)
		if err != nil {
			t.Fatalf("finish registration: %v", err)
		}
		if m.Kind != twostep.KindPasskey || !m.Confirmed || m.Label != "Laptop" || m.SecretSealed != "" || !strings.Contains(m.Data, `"publicKey"`) {
			t.Fatalf("stored method: %+v", m)
		}
		// The same answer again: the challenge is used up.
		_, err = e.in.TwoStep.FinishPasskeyRegistration(ctx, p, secondstep.PasskeyRegistration{ChallengeID: c.ChallengeID, Credential: att}, pkMeta)
		wantCode(t, "registration replayed", err, sellerguard.ECodeNotFound)

		// Two-step verification is on now, and the user was told.
		ov, err := e.in.TwoStep.ListTwoStep(ctx, p)
		if err != nil || !ov.Protection.Enrolled || len(ov.Methods) != 1 {
			t.Fatalf("after enrolment: %+v %v", ov, err)
		}
		waitForMail(t, e.in, e.email, "A two-step verification method was added")

		// Sign in: password, then the passkey.
		pp := e.partial(t)
		sc, err := e.in.TwoStep.BeginPasskeySignIn(ctx, pp)
		if err != nil {
			t.Fatal(err)
		}
		var ro struct {
			Challenge        string
			RPID             string `json:"rpId"`
			UserVerification string
			AllowCredentials []struct{ Type, ID string }
		}
		if err := json.Unmarshal(sc.Options, &ro); err != nil {
			t.Fatal(err)
		}
		if ro.RPID != pkRPID || ro.UserVerification != "preferred" || len(ro.AllowCredentials) != 1 || !bytes.Equal(mustB64(t, ro.AllowCredentials[0].ID), key.id) {
			t.Fatalf("request options: %s", sc.Options)
		}
		res, err := e.in.TwoStep.CompletePasskeySignIn(ctx, pp, secondstep.PasskeySignIn{ChallengeID: sc.ChallengeID, Credential: key.assert(t, sc.Options, assertion{})}, pkMeta)
		if err != nil {
			t.Fatalf("passkey sign-in: %v", err)
		}
		if res.Session.AuthLevel != sellerguard.AuthFull || res.Method != twostep.KindPasskey {
			t.Fatalf("result: %+v", res)
		}
		if _, err := e.in.Session.Authenticate(ctx, res.Token); err != nil {
			t.Fatalf("the new full session: %v", err)
		}
		got, err := e.in.DB.FindMethod(ctx, e.userID, m.ID)
		if err != nil || got.LastStep != 1 || got.LastUsedAt.IsZero() {
			t.Fatalf("after sign-in the counter is %d (%v), want 1", got.LastStep, err)
		}
	})
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := b64.DecodeString(s)
	if err != nil {
		t.Fatalf("not base64url: %q", s)
	}
	return b
}

func waitForMail(t *testing.T, in *apptest.Instance, to, subject string) {
	t.Helper()
	for range 100 {
		for _, m := range in.Outbox(t) {
			if strings.EqualFold(m.To, to) && strings.Contains(m.Subject, subject) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("no mail %q to %s", subject, to)
}

// tryPasskey begins a passkey second step on a fresh partial session and
// completes it with the answer made from the options; it waits out the
// account's guess delay when it is asked to.
func (e pkEnv) tryPasskey(t *testing.T, answer func(options json.RawMessage) []byte) (secondstep.SecondStepResult, error) {
	t.Helper()
	ctx := context.Background()
	for range 3 {
		p := e.partial(t)
		c, err := e.in.TwoStep.BeginPasskeySignIn(ctx, p)
		if err != nil {
			t.Fatalf("begin sign-in: %v", err)
		}
		res, err := e.in.TwoStep.CompletePasskeySignIn(ctx, p, secondstep.PasskeySignIn{ChallengeID: c.ChallengeID, Credential: answer(c.Options)}, pkMeta)
		var se *sellerguard.Error
		if errors.As(err, &se) && se.Code == sellerguard.ECodeRateLimited {
			e.in.Clock.Advance(se.RetryAfter + time.Second)
			continue
		}
		return res, err
	}
	t.Fatal("still rate limited")
	return secondstep.SecondStepResult{}, nil
}

func TestPasskeySignInRefusals(t *testing.T) {
	e := startPasskeys(t, "sqlite", "refuse@example.com",
		apptest.Env("SELLERGUARD_LIMIT_FREE_FAILURES", "20"), apptest.Env("SELLERGUARD_LIMIT_NOTIFY_FAILURES", "50"))
	ctx := context.Background()
	key := newSoftKey(t, true)
	m := e.enrol(t, e.principal(t, e.in.SignIn(t, e.email, pkPW)), key, "Laptop")
	other := newSoftKey(t, true) // never enrolled

	var fullToken string
	ok := func(what string, answer func(json.RawMessage) []byte) {
		t.Helper()
		res, err := e.tryPasskey(t, answer)
		if err != nil || res.Session.AuthLevel != sellerguard.AuthFull {
			t.Fatalf("%s: %v", what, err)
		}
		fullToken = res.Token
	}
	refused := func(what string, answer func(json.RawMessage) []byte) {
		t.Helper()
		_, err := e.tryPasskey(t, answer)
		wantCode(t, what, err, sellerguard.ECodeInvalidCode)
	}
	ok("a good answer", func(o json.RawMessage) []byte { return key.assert(t, o, assertion{}) })
	refused("another origin (phishing site)", func(o json.RawMessage) []byte {
		return key.assert(t, o, assertion{origin: "https://seller-example.com"})
	})
	refused("another relying party id", func(o json.RawMessage) []byte {
		return key.assert(t, o, assertion{rpID: "evil.example"})
	})
	refused("a bad signature", func(o json.RawMessage) []byte { return key.assert(t, o, assertion{badSignature: true}) })
	refused("no user presence", func(o json.RawMessage) []byte { return key.assert(t, o, assertion{flags: flagUV}) })
	refused("a passkey that is not enrolled", func(o json.RawMessage) []byte { return other.assert(t, o, assertion{}) })
	refused("the answer to another challenge", func(o json.RawMessage) []byte {
		return key.assert(t, json.RawMessage(`{"challenge":"`+b64.EncodeToString(bytes.Repeat([]byte{7}, 32))+`"}`), assertion{})
	})
	ok("user verification is preferred, not required", func(o json.RawMessage) []byte { return key.assert(t, o, assertion{flags: flagUP}) })

	// Signature counters: the same count again, or a lower one, is a cloned
	// key or a replay; the next count works.
	same, lower := key.count, key.count-1
	refused("a counter that did not increase", func(o json.RawMessage) []byte { return key.assert(t, o, assertion{count: &same}) })
	refused("a counter that went back", func(o json.RawMessage) []byte { return key.assert(t, o, assertion{count: &lower}) })
	ok("the next counter", func(o json.RawMessage) []byte { return key.assert(t, o, assertion{}) })
	if got, _ := e.in.DB.FindMethod(ctx, e.userID, m.ID); got.LastStep != int64(key.count) {
		t.Errorf("stored counter %d, want %d", got.LastStep, key.count)
	}
	rows, err := e.in.DB.ListAudit(ctx, store.AuditFilter{SubjectID: e.userID, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	rejected := 0
	for _, r := range rows {
		if r.Action == "two_step.passkey_counter_rejected" {
			rejected++
		}
	}
	if rejected != 2 {
		t.Errorf("%d counter rejections audited, want 2", rejected)
	}

	// A replayed answer: once accepted, neither its challenge nor its
	// signature works again.
	p := e.partial(t)
	c, err := e.in.TwoStep.BeginPasskeySignIn(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	answer := key.assert(t, c.Options, assertion{})
	if _, err := e.in.TwoStep.CompletePasskeySignIn(ctx, p, secondstep.PasskeySignIn{ChallengeID: c.ChallengeID, Credential: answer}, pkMeta); err != nil {
		t.Fatal(err)
	}
	p2 := e.partial(t)
	_, err = e.in.TwoStep.CompletePasskeySignIn(ctx, p2, secondstep.PasskeySignIn{ChallengeID: c.ChallengeID, Credential: answer}, pkMeta)
	wantCode(t, "replay with the old challenge id", err, sellerguard.ECodeInvalidCode)
	c2, err := e.in.TwoStep.BeginPasskeySignIn(ctx, p2)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.in.TwoStep.CompletePasskeySignIn(ctx, p2, secondstep.PasskeySignIn{ChallengeID: c2.ChallengeID, Credential: answer}, pkMeta)
	wantCode(t, "replay against a new challenge", err, sellerguard.ECodeInvalidCode)

	// A challenge is bound to the session that began it, and a wrong try
	// from another session leaves it intact for its own.
	pa, pb := e.partial(t), e.partial(t)
	ca, err := e.in.TwoStep.BeginPasskeySignIn(ctx, pa)
	if err != nil {
		t.Fatal(err)
	}
	answerA := key.assert(t, ca.Options, assertion{})
	_, err = e.in.TwoStep.CompletePasskeySignIn(ctx, pb, secondstep.PasskeySignIn{ChallengeID: ca.ChallengeID, Credential: answerA}, pkMeta)
	wantCode(t, "another session's challenge", err, sellerguard.ECodeInvalidCode)
	if _, err := e.in.TwoStep.CompletePasskeySignIn(ctx, pa, secondstep.PasskeySignIn{ChallengeID: ca.ChallengeID, Credential: answerA}, pkMeta); err != nil {
		t.Fatalf("the challenge's own session after another's try: %v", err)
	}

	// A wrong answer uses the challenge up too.
	p3 := e.partial(t)
	c3, err := e.in.TwoStep.BeginPasskeySignIn(ctx, p3)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.in.TwoStep.CompletePasskeySignIn(ctx, p3, secondstep.PasskeySignIn{ChallengeID: c3.ChallengeID, Credential: key.assert(t, c3.Options, assertion{badSignature: true})}, pkMeta)
	wantCode(t, "bad signature", err, sellerguard.ECodeInvalidCode)
	_, err = e.in.TwoStep.CompletePasskeySignIn(ctx, p3, secondstep.PasskeySignIn{ChallengeID: c3.ChallengeID, Credential: key.assert(t, c3.Options, assertion{})}, pkMeta)
	wantCode(t, "good answer after a wrong one on the same challenge", err, sellerguard.ECodeInvalidCode)

	// Five minutes, then the challenge is gone.
	p4 := e.partial(t)
	c4, err := e.in.TwoStep.BeginPasskeySignIn(ctx, p4)
	if err != nil {
		t.Fatal(err)
	}
	e.in.Clock.Advance(secondstep.PasskeyChallengeTTL + time.Second)
	_, err = e.in.TwoStep.CompletePasskeySignIn(ctx, p4, secondstep.PasskeySignIn{ChallengeID: c4.ChallengeID, Credential: key.assert(t, c4.Options, assertion{})}, pkMeta)
	wantCode(t, "expired challenge", err, sellerguard.ECodeInvalidCode)

	// Beginning from a full session is refused.
	_, err = e.in.TwoStep.BeginPasskeySignIn(ctx, e.principal(t, fullToken))
	wantCode(t, "begin sign-in on a full session", err, sellerguard.ECodeConflict)
}

func TestPasskeyRegistrationRefusals(t *testing.T) {
	e := startPasskeys(t, "sqlite", "reg@example.com")
	ctx := context.Background()
	key := newSoftKey(t, false)
	finish := func(p *session.Principal, c secondstep.PasskeyCeremony, credential []byte) error {
		_, err := e.in.TwoStep.FinishPasskeyRegistration(ctx, p, secondstep.PasskeyRegistration{ChallengeID: c.ChallengeID, Credential: credential}, pkMeta)
		return err
	}
	pa := e.principal(t, e.in.SignIn(t, e.email, pkPW))
	pb := e.principal(t, e.in.SignIn(t, e.email, pkPW))

	// Bound to the session that began it.
	c, err := e.in.TwoStep.BeginPasskeyRegistration(ctx, pa)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "another session's registration", finish(pb, c, key.attest(t, c.Options, pkBaseURL, pkRPID)), sellerguard.ECodeNotFound)

	// Made on another site: refused, and the challenge is used up.
	wantCode(t, "registration from another origin", finish(pa, c, key.attest(t, c.Options, "https://evil.example", pkRPID)), sellerguard.ECodeInvalidCode)
	wantCode(t, "registration after a refused one", finish(pa, c, key.attest(t, c.Options, pkBaseURL, pkRPID)), sellerguard.ECodeNotFound)
	c, _ = e.in.TwoStep.BeginPasskeyRegistration(ctx, pa)
	wantCode(t, "registration for another relying party", finish(pa, c, key.attest(t, c.Options, pkBaseURL, "evil.example")), sellerguard.ECodeInvalidCode)
	c, _ = e.in.TwoStep.BeginPasskeyRegistration(ctx, pa)
	wantCode(t, "garbage", finish(pa, c, []byte(`{"id":"x"}`)), sellerguard.ECodeInvalidCode)

	// Expired after five minutes.
	c, _ = e.in.TwoStep.BeginPasskeyRegistration(ctx, pa)
	e.in.Clock.Advance(secondstep.PasskeyChallengeTTL + time.Second)
	wantCode(t, "expired registration", finish(pa, c, key.attest(t, c.Options, pkBaseURL, pkRPID)), sellerguard.ECodeNotFound)

	// Needs a recent sign-in to begin.
	stale := e.principal(t, e.in.SignIn(t, e.email, pkPW))
	e.in.Clock.Advance(e.in.Session.TwoStep.ReauthWindow + time.Second)
	_, err = e.in.TwoStep.BeginPasskeyRegistration(ctx, stale)
	wantCode(t, "begin without a recent sign-in", err, sellerguard.ECodeReauthRequired)

	// The same authenticator twice: refused; five passkeys at most.
	pa = e.principal(t, e.in.SignIn(t, e.email, pkPW))
	e.enrol(t, pa, key, "First")
	pa = e.partial(t)
	res, err := e.in.TwoStep.CompleteSecondStep(ctx, pa, secondstep.SecondStepInput{Method: "totp", Code: "000000"}, pkMeta)
	if err == nil {
		t.Fatalf("a TOTP code finished the sign-in of a passkey-only user: %+v", res)
	}
	full := e.signInWithPasskey(t, key)
	c, _ = e.in.TwoStep.BeginPasskeyRegistration(ctx, full)
	var opts struct{ ExcludeCredentials []struct{ ID string } }
	if err := json.Unmarshal(c.Options, &opts); err != nil || len(opts.ExcludeCredentials) != 1 || !bytes.Equal(mustB64(t, opts.ExcludeCredentials[0].ID), key.id) {
		t.Errorf("excludeCredentials of the second registration: %s", c.Options)
	}
	wantCode(t, "the same passkey again", finish(full, c, key.attest(t, c.Options, pkBaseURL, pkRPID)), sellerguard.ECodeConflict)
	for i := range 4 {
		e.enrol(t, full, newSoftKey(t, true), "Key "+string(rune('A'+i)))
	}
	_, err = e.in.TwoStep.BeginPasskeyRegistration(ctx, full)
	wantCode(t, "a sixth passkey", err, sellerguard.ECodeConflict)
}

// signInWithPasskey signs in with the password and the passkey.
func (e pkEnv) signInWithPasskey(t *testing.T, key *softKey) *session.Principal {
	t.Helper()
	res, err := e.tryPasskey(t, func(o json.RawMessage) []byte { return key.assert(t, o, assertion{}) })
	if err != nil {
		t.Fatalf("passkey sign-in: %v", err)
	}
	return e.principal(t, res.Token)
}

// The generic second-step route takes the passkey answer as the code:
// {"challenge_id", "credential"}. There the challenge must belong to a live
// partial sign-in of the same user.
func TestPasskeyCodeThroughTheVerifier(t *testing.T) {
	e := startPasskeys(t, "sqlite", "code@example.com")
	ctx := context.Background()
	key := newSoftKey(t, true)
	e.enrol(t, e.principal(t, e.in.SignIn(t, e.email, pkPW)), key, "")
	other := startPasskeysUser(t, e, "other@example.com")

	verify := func(userID, code string) string {
		t.Helper()
		var id string
		err := e.in.DB.WithTx(ctx, func(tx *store.Tx) error {
			var err error
			id, err = e.in.TwoStep.VerifyPasskey(ctx, tx, userID, code, e.in.Clock.Now().UTC())
			return err
		})
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		return id
	}
	code := func(challengeID string, credential []byte) string {
		b, _ := json.Marshal(map[string]any{"challenge_id": challengeID, "credential": json.RawMessage(credential)})
		return string(b)
	}
	p := e.partial(t)
	c, err := e.in.TwoStep.BeginPasskeySignIn(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	answer := key.assert(t, c.Options, assertion{})
	for _, bad := range []string{"", "123456", c.ChallengeID, `{"challenge_id":"` + c.ChallengeID + `"}`, code(c.ChallengeID, answer) + "{}", code(c.ChallengeID, answer) + "}",
		`{"challenge_id":"` + c.ChallengeID + `","credential":{},"x":1}`} {
		if id := verify(e.userID, bad); id != "" {
			t.Errorf("code %q accepted", bad)
		}
	}
	if id := verify(other, code(c.ChallengeID, answer)); id != "" {
		t.Error("another user's verifier accepted the answer")
	}
	if id := verify(e.userID, code(c.ChallengeID, answer)); id == "" {
		t.Fatal("a good answer as a code was refused")
	}
	if id := verify(e.userID, code(c.ChallengeID, answer)); id != "" {
		t.Error("the same code twice")
	}
	// A challenge whose sign-in has ended is dead.
	p = e.partial(t)
	c, _ = e.in.TwoStep.BeginPasskeySignIn(ctx, p)
	if err := e.in.Session.SignOut(ctx, p, pkMeta); err != nil {
		t.Fatal(err)
	}
	if id := verify(e.userID, code(c.ChallengeID, key.assert(t, c.Options, assertion{}))); id != "" {
		t.Error("the challenge of a signed-out session was accepted")
	}
}

func startPasskeysUser(t *testing.T, e pkEnv, email string) string {
	t.Helper()
	id, _ := e.in.SignUp(t, email, pkPW, "Other Co")
	return id
}

func TestPasskeysNeedADomainName(t *testing.T) {
	in := apptest.Start(t, "sqlite") // base URL http://127.0.0.1:PORT
	in.SignUp(t, "ip@example.com", pkPW, "IP Co")
	p, err := in.Session.Authenticate(context.Background(), in.SignIn(t, "ip@example.com", pkPW))
	if err != nil {
		t.Fatal(err)
	}
	_, err = in.TwoStep.BeginPasskeyRegistration(context.Background(), p)
	wantCode(t, "passkeys on an IP address", err, sellerguard.ECodeConflict)
}

// Re-authenticating with a passkey: the password and an answer to a
// re-authentication challenge of this very session. A sign-in challenge, a
// challenge of another session, a wrong password, or an answer used twice
// are refused, and the session stays as stale as it was.
func TestPasskeyReauthentication(t *testing.T) {
	e := startPasskeys(t, "sqlite", "reauth@example.com", apptest.Env("SELLERGUARD_REAUTH_WINDOW", "1m"))
	ctx := context.Background()
	key := newSoftKey(t, true)
	e.enrol(t, e.principal(t, e.in.SignIn(t, e.email, pkPW)), key, "")
	signIn := func() (string, *session.Principal) {
		t.Helper()
		res, err := e.tryPasskey(t, func(o json.RawMessage) []byte { return key.assert(t, o, assertion{}) })
		if err != nil {
			t.Fatalf("passkey sign-in: %v", err)
		}
		return res.Token, e.principal(t, res.Token)
	}
	token, full := signIn()
	_, other := signIn()
	e.in.Clock.Advance(2 * time.Minute)
	if err := e.in.Session.RequireRecentAuth(full); sellerguard.ErrorCode(err) != sellerguard.ECodeReauthRequired {
		t.Fatalf("session not stale: %v", err)
	}
	begin := func(p *session.Principal) secondstep.PasskeyCeremony {
		t.Helper()
		c, err := e.in.TwoStep.BeginPasskeyReauth(ctx, p)
		if err != nil {
			t.Fatalf("begin: %v", err)
		}
		return c
	}
	try := func(p *session.Principal, pw, challenge string, answer []byte) error {
		_, err := e.in.TwoStep.ReauthenticateWithPasskey(ctx, p, pw, challenge, answer, pkMeta)
		return err
	}

	// A sign-in challenge cannot re-authenticate (another ceremony).
	partial := e.partial(t)
	sc, err := e.in.TwoStep.BeginPasskeySignIn(ctx, partial)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "a sign-in challenge", try(full, pkPW, sc.ChallengeID, key.assert(t, sc.Options, assertion{})), sellerguard.ECodeInvalidCode)
	// Another session's challenge is not this session's.
	oc := begin(other)
	wantCode(t, "another session's challenge", try(full, pkPW, oc.ChallengeID, key.assert(t, oc.Options, assertion{})), sellerguard.ECodeInvalidCode)
	// A wrong password, with a good answer.
	c := begin(full)
	wantCode(t, "a wrong password", try(full, "wrong password entirely", c.ChallengeID, key.assert(t, c.Options, assertion{})), sellerguard.ECodeInvalidCredentials)
	if err := e.in.Session.RequireRecentAuth(e.principal(t, token)); err == nil {
		t.Fatal("a refused attempt re-authenticated the session")
	}
	// The right password and a good answer; the same answer again is refused.
	c = begin(full)
	answer := key.assert(t, c.Options, assertion{})
	next, err := e.in.TwoStep.ReauthenticateWithPasskey(ctx, full, pkPW, c.ChallengeID, answer, pkMeta)
	if err != nil {
		t.Fatalf("passkey re-authentication: %v", err)
	}
	// The session that asked has ended; its successor has the window.
	if _, err := e.in.Session.Authenticate(ctx, token); sellerguard.ErrorCode(err) != sellerguard.ECodeUnauthenticated {
		t.Fatalf("the token from before re-authenticating: %v, want unauthenticated", err)
	}
	if err := e.in.Session.RequireRecentAuth(e.principal(t, next.Token)); err != nil {
		t.Fatalf("after re-authenticating: %v", err)
	}
	wantCode(t, "the same answer twice", try(full, pkPW, c.ChallengeID, answer), sellerguard.ECodeInvalidCode)
	// A partial session cannot begin one.
	if _, err := e.in.TwoStep.BeginPasskeyReauth(ctx, partial); sellerguard.ErrorCode(err) != sellerguard.ECodeSecondStepRequired {
		t.Fatalf("partial session began a re-authentication: %v", err)
	}
}
