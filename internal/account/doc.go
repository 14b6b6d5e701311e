// Package account holds the rules of one person's account: sign-up with an
// emailed code (signup.go), contact details and their changes and periodic
// confirmation (contact.go), passwords, their rules and their age
// (passwords.go, passwordfacts.go), "forgot password" recovery
// (recovery.go), Secure my account (secure.go), the items put on hold after
// a contact change was reverted (holds.go), the anti-phishing phrase and the
// language.
//
// Who may do what: only the signed-in user changes their own account, with
// a full session and a recent sign-in (RequireRecentAuth) for every
// sensitive change; a business's password rules are the owner's
// (RequireOwner); a held deposit account is decided by a member with
// payments: edit. Sign-up and recovery need no session and answer the same
// whether or not an address is registered.
//
// What it guards: no account enumeration (a registered address gets a
// notice instead of a code), codes as HMACs, single use, few attempts; a
// changed email can be reverted from the old address for 30 days; a
// password change ends every other session (session.SessionCache.Revoke).
package account
