package secondstep_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/secondstep"
	"github.com/sellerguard/sellerguard/internal/session"
)

// One passkey, one user (WebAuthn Level 2, §7.1 step 22): a credential id
// registered already — to another user, or to the same one — is refused
// with 409 conflict and the stable field code passkey_already_registered,
// even when the answer is otherwise valid (a forged key pair claiming the
// id); the challenge is used up, and the first owner's passkey still works.
func TestPasskeyCredentialIDBelongsToOneUser(t *testing.T) {
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		e := startPasskeys(t, dialect, "first@example.com")
		ctx := context.Background()
		key := newSoftKey(t, true)
		e.enrol(t, e.principal(t, e.in.SignIn(t, e.email, pkPW)), key, "Mine")

		startPasskeysUser(t, e, "second@example.com")
		second := e.principal(t, e.in.SignIn(t, "second@example.com", pkPW))
		forged := newSoftKey(t, true)
		forged.id = append([]byte(nil), key.id...) // another key pair, the same credential id
		for _, tc := range []struct {
			what string
			p    *session.Principal
			key  *softKey
		}{
			{"another user, the same authenticator's answer", second, key},
			{"another user, a forged key with the id", second, forged},
			{"the same user again", e.signInWithPasskey(t, key), forged},
		} {
			c, err := e.in.TwoStep.BeginPasskeyRegistration(ctx, tc.p)
			if err != nil {
				t.Fatalf("%s: begin: %v", tc.what, err)
			}
			answer := tc.key.attest(t, c.Options, pkBaseURL, pkRPID)
			_, err = e.in.TwoStep.FinishPasskeyRegistration(ctx, tc.p, secondstep.PasskeyRegistration{ChallengeID: c.ChallengeID, Credential: answer}, pkMeta)
			var se *sellerguard.Error
			if !errors.As(err, &se) || se.Code != sellerguard.ECodeConflict || len(se.Fields) != 1 || se.Fields[0].Code != "passkey_already_registered" {
				t.Fatalf("%s: %v, want conflict with passkey_already_registered", tc.what, err)
			}
			_, err = e.in.TwoStep.FinishPasskeyRegistration(ctx, tc.p, secondstep.PasskeyRegistration{ChallengeID: c.ChallengeID, Credential: answer}, pkMeta)
			wantCode(t, tc.what+", the challenge again", err, sellerguard.ECodeNotFound)
		}
		// Nothing was added to the second user; the first still signs in.
		ov, err := e.in.TwoStep.ListTwoStep(ctx, second)
		if err != nil || len(ov.Methods) != 0 {
			t.Fatalf("the second user's methods: %+v, %v", ov.Methods, err)
		}
		e.signInWithPasskey(t, key)
		// A fresh passkey still registers for the second user.
		e2 := pkEnv{in: e.in, email: "second@example.com"}
		e2.enrol(t, second, newSoftKey(t, true), "Theirs")
	})
}
