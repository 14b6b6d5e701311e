// Package checkup holds the rules of SellerGuard's security checkup: the
// marketplace guidance's five practices (two-step verification; strong,
// unique, regularly changed passwords; current sign-in email and mobile;
// an own, reviewed login for every user; notifications of important actions
// and awareness of phishing) as a live checklist for one person ("my
// checkup") and for one business ("business checkup").
//
// It imports no HTTP and no SQL driver. It declares the narrow Store it
// reads from (implemented by internal/store) and evaluates the facts it is
// given; everything here is a pure function of those facts and the clock,
// so every rule is tested without a server.
//
// # Who may see what
//
//   - My checkup: only the signed-in person, about themself. It never shows
//     a secret, a code or a full phone number; security events are the
//     person's own audit events of the last 28 days.
//   - Business checkup: the owner and the members who manage users
//     (user_permissions at edit). Anyone else who belongs to the business
//     is refused (403); someone who does not belong to it is told it does
//     not exist (404), like every business route.
//   - Actions on a member's security (end their sessions, require a new
//     password or a new two-step enrolment, send a reminder): the owner or a
//     user manager, never on the owner, never on themself, never on someone
//     holding more than the caller in any area (MayActOn). The first three
//     need a recent sign-in; all are audited and told to the member.
//
// # Items and the overall status
//
// Every item has a status: ok, warning or problem, a plain explanation and
// a fix (the page, and where there is one the API route, that fixes it).
// The overall status is the worst item, by these documented rules — no
// score, no weights:
//
//   - at_risk when any item is a problem. Problems are signs that someone
//     else may get in now: two-step verification off; the password was
//     found in the breached-password index when it was last checked; a
//     failed-sign-in burst from a network the person never signed in from,
//     not acknowledged with "This was me" and not followed by a password
//     change.
//   - needs_attention when any item is a warning: no backup for the second
//     step (a second independent method or backup codes left), text
//     messages as the only primary method, a password older than the
//     reminder age, an email not confirmed within the freshness period, no
//     confirmed mobile number, no anti-phishing phrase, a failed email
//     delivery since the last good one, a critical notification that reaches
//     no working address, or a sign-in from a new browser not yet
//     acknowledged.
//   - secure otherwise.
//
// Each change of a person's overall status is stored (Store.RecordStatus)
// when the checkup is read, so the history shows when it changed and why.
//
// The business checkup uses the same three item statuses and the same
// worst-item rule for its own overall status.
//
// Caveats: the checkup reads what SellerGuard knows. "Breached" is what the
// index said at the last sign-in with that password; a password leaked
// later is not known until the next sign-in. "New source" compares network
// addresses, which a careful attacker can share with the victim.
package checkup
