// Package policy decides whether a password may be used (capability G2).
//
// Check returns every reason a password is refused, each with a stable
// code and a plain message that never repeats the password: its length in
// Unicode code points after NFKC normalisation; a hard byte cap checked
// before anything else; a shipped list of common passwords matched case-
// insensitively and through the usual decorations (capital first letter,
// trailing or leading digits, years and symbols, leetspeak); a breached-
// password checker (see package breach); public facts about the user
// (email, names, business and store names, phone numbers, a store's public
// email and address, platform words);
// and a zxcvbn strength estimate. Reuse of the last passwords is checked by
// the caller, which holds the hashes; it reports CodeReused.
//
// The package knows nothing of HTTP or storage.
//
// Caveats:
//
//   - Matching of common passwords through decorations is heuristic: only
//     "usual" decorations are stripped (at most four digits, or a counting
//     or repeated run of any length, and at most three symbols, at either
//     end), so "monkey93847261" is not "common"; it is left to the
//     strength estimate, which scores a decorated password by its core as
//     well when that core is made of words or keyboard patterns.
//   - The strength estimate (zxcvbn, whose cost grows with the square of
//     the length) scores a long password by its first two 32-character
//     chunks and takes the better one: it can underrate a long password,
//     never overrate it, and a 4 KiB password costs no more than a
//     64-character one. A password whose decorations are stripped is also
//     scored without them, and the lower score counts.
//   - Public facts of fewer than four characters are matched only as whole
//     words, so that a name like "Lee" does not refuse "sleepless".
package policy
