// Package team holds the rules of a business's people: members and their
// permissions (team.go), invitations, access reviews (reviews.go), the
// transfer of ownership (ownership.go), and the actions an owner or user
// manager takes on a member from the security checkup (checkup.go).
//
// Who may do what:
//   - invite, change or remove a member, decide an access review: a member
//     with user_permissions: edit (Invite, UpdateMember, RemoveMember,
//     DecideReview — the first lines of each), never granting more than
//     they hold themselves, and with a recent sign-in;
//   - offer ownership, set review and backup-method rules: the owner only;
//   - who is a user manager is one rule, sellerguard.Membership.ManagesUsers
//     (the owner, or an active member with user_permissions: edit; a
//     suspended member manages nobody), used by the business notices, the
//     pages and the reviews.
//
// What it guards: a change to someone's access reaches their sessions on
// their next request (session.SessionCache.Revoke), the member and the
// business's user managers are told, and the scheduled review jobs write
// only what they saw (conditional updates; Interleave is the test seam).
package team
