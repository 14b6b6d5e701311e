// Package changes answers the one question that matters after an account
// takeover — what did they change, and how do I put it back? — for the five
// things the marketplace's guidance says an intruder goes for: email
// preferences, payment information, user permissions, storefront details,
// and listings with their condition notes.
//
// One record, two views: the change review reads the same hash-chained
// events as the audit log (internal/audit). The table `kinds` maps each
// audited action to its category, how to summarise it and whether and how
// it can be undone; nothing else keeps a second copy of history. Members'
// own changes (notification settings, sign-in email and phone, the
// anti-phishing phrase) live in their user chains and are read from there
// for every member of the business.
//
// Who may see and undo what:
//   - reading a business's changes needs audit_log: view
//     (Principal.RequireArea; a business the caller does not belong to is
//     not found, exactly like one that does not exist);
//   - undoing a change needs a recent sign-in and edit on the change's area:
//     payments for payment information, storefront, listings, and user
//     permissions for members, invitations and members' notification
//     settings (a member may also undo their own settings);
//   - an undo restores the object to the change's `before` state in one
//     transaction with its own audit event ("business.change_undone" or, in
//     a user chain, "account.change_undone", pointing at the undone change
//     with "undoes") and its notifications (a critical notice that cannot
//     be switched off);
//   - a change that a later change touched answers change_superseded naming
//     the later change, unless the caller confirms; an undo can be undone.
//
// Caveats: a deposit account change is undone by removing the new account
// (payouts go back to the account used before, without a new cooling-off,
// since it was already trusted); the sealed number of the removed account
// is gone, so that undo cannot itself be undone. Charge cards, sign-in
// email and phone changes, ownership and the business's sign-in rules are
// shown but not undone here: each says where to change it back.
package changes
