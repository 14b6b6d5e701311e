// Package support is Seller Support: the cases sellers open (signed in or
// not), the platform's support agents who answer them, the identity checks
// agents record and the actions they take on a case's account.
//
// Who may do what:
//   - anyone may open a case. Signed out, the case names an account email
//     and a contact address; the answer is the same whether or not the
//     account exists (content, and timing through a recovery.Pace), the
//     contact gets the case reference, and the account's addresses on file
//     get a notice with a "this wasn't me" code, so a case an attacker opens
//     is seen by the owner, who can disown it (which also cancels every
//     pending action of the case). Signed in, the case is the user's and is
//     linked to their business. Opening is limited per source address and
//     per account email; descriptions and messages are bounded; nothing but
//     text is taken.
//   - a seller sees the cases they opened and the cases about their account,
//     with the messages agents wrote to them (never the internal notes), and
//     answers them. Every agent update is emailed without links.
//   - agents are platform staff, separate from seller accounts: they are
//     created by `sellerguard agents add` or by a supervisor in the console,
//     enrol once with a single-use code (choosing a password and receiving an
//     authenticator secret), and sign in with the password and a TOTP code,
//     never SMS. Agent sessions have their own cookie, end after IdleTimeout
//     without a request or AbsoluteTimeout in all, and end at once when the
//     agent is disabled. Any active agent works the queue (filter, assign to
//     themselves, reply, note, set states); supervisors also assign to
//     others, add and disable agents, and approve recovery actions.
//   - identity checks are done by SellerGuard, never by the agent reading a
//     secret: a code SellerGuard sends to the email or phone on file, a
//     backup code, the last four digits of a deposit account, a recent
//     listing SKU. The agent types what the seller says and sees only
//     "matches" or "does not match"; no route shows a stored value.
//   - account actions: end all sessions and lock sign-in take effect at
//     once (a locked account opens again only through the password reset by
//     emailed code). The recovery actions — require a password change,
//     remove a lost second-step method, change the sign-in email — need two
//     matching pieces of evidence of different kinds, the approval of a
//     supervisor who is not the requesting agent, and a waiting period
//     (RecoveryDelay) during which every address on file is told, with a
//     code that cancels them; a signed-in owner cancels from the case.
//   - every agent action is an audit event in the business's hash chain
//     (the user's chain when there is no business) with the agent as actor,
//     and a notice to the owner that cannot be switched off.
//
// Caveats: passkeys are not offered to agents yet (TOTP only). An agent
// never reads or sets a password and never sees a token, code, secret or
// full account number; after a recovery action the seller sets a new
// password through "Can't sign in?" (internal/recovery).
package support
