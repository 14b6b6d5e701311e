// Package secondstep holds the rules of two-step verification: the second
// step of a sign-in (CompleteSecondStep), re-authentication (Reauthenticate,
// ReauthenticateWithPasskey), and the methods a user keeps — authenticator
// apps (TOTP), SMS and voice codes (sms.go), passkeys (passkeys.go), backup
// codes and trusted browsers — plus a business's two-step requirement.
//
// Each kind of second step is a CodeVerifier (one small strategy per kind:
// TOTP and backup codes here, SMS and passkeys registered in
// ExtraSecondSteps), tried by verifyCode.
//
// Who may do what: only the user adds, removes or lists their own methods,
// with a full session and a recent sign-in; only a business's owner turns
// its two-step requirement on or off (RequireOwner).
//
// What it guards: a TOTP code works once (compare-and-set of the last
// step), wrong codes are counted per sign-in attempt, SMS codes are bound
// to the session, passkey challenges are single-use and bound to the
// session and the ceremony, one passkey belongs to one user, and a
// successful step-up replaces the session (session.StepUp).
//
// The name: internal/twostep is the pure primitives (TOTP, backup codes,
// Protection) that session's Principal already imports; the rules need the
// store and session, so they live here, and twostep stays free of them.
package secondstep
