// Package session holds sign-in, sessions and their revocation, and the
// shared base every account rule package builds on.
//
// Sign-in and sessions: SignIn (password, guess limits per account, known
// browser and source, breached-password check), the partial session of a
// two-step sign-in, Authenticate (the hot path: an in-process SessionCache
// keyed by token hash, nothing written on the read path), the step-up that
// replaces a session (stepup.go), sign-out and ending sessions, unlock codes,
// idempotency keys and the record of area use.
//
// Principal (sessions.go, principal.go) is the caller behind a valid session
// and carries the pure permission checks every rule starts with:
// RequireArea (member of the business with at least that level in the area;
// outsiders get 404), RequireOwner (owner only; members 403, outsiders 404),
// RequireFull (no partial session), RequireBusinessAccess and
// NeedsEnrollment (a business's two-step requirement),
// RequireNoPendingPasswordChange, RequireBackupMethodFor; and on the Service,
// RequireRecentAuth (a sign-in within the re-authentication window).
//
// Revocation: SessionCache.Revoke is the one call a change makes in its
// transaction: it records the notice every instance hears at commit
// (PostgreSQL NOTIFY, heard through store.Listen) and clears this
// instance's entries after the commit (store.Tx.AfterCommit).
//
// The shared base (service.go, shared.go, business.go, messages.go,
// limits.go): Service holds the store, keys, hasher, cache, limiter, clock
// and notifier; the emails from the message files; the business notices
// (tellBusiness: the owner and the members who manage users,
// sellerguard.Membership.ManagesUsers); the source limits. The concern
// packages — account, secondstep, team, sellerdata — embed *Service.
//
// What it guards:
//   - no account enumeration: sign-in fails with one error, after the same
//     Argon2id work, for an unknown email and a wrong password;
//   - no secret in the clear: session tokens are stored as SHA-256, codes
//     as HMACs under the instance key;
//   - a revoked session answers 401 on every instance at once;
//   - every state change commits with its audit event and its messages.
//
// It never sees HTTP or an SQL driver: handlers pass a RequestMeta and get
// back domain values or a *sellerguard.Error.
package session
