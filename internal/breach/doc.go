// Package breach answers "has this password appeared in a known data
// breach?" from Have I Been Pwned's Pwned Passwords data, offline or online.
//
// Offline: Import turns a Pwned Passwords SHA-1 file ("HASH:COUNT" lines)
// into a compact index, and Open maps it for queries that take well under
// a microsecond. The index keeps the first 64 bits of each hash: 16 bits
// select one of 65,536 buckets through a table of offsets, and each entry
// stores the next 48 bits (6 bytes per hash, about 5.6 GB for the ~900
// million hashes of the full set, ~140 MB for a 1 GB file). Since only 64
// bits are kept, a password not in the set is reported as breached with
// probability n/2^64 (5e-11 for n = 10^9): a false positive, never a false
// negative.
//
// Online: RangeClient asks the k-anonymity range API (GET /range/ABCDE),
// sending only the first five hex digits of the hash. Its failure mode is
// configurable: fail open (treat as not breached, log a warning) or fail
// closed (return ErrUnavailable, which the policy turns into a refusal).
//
// Caveats:
//
//   - HIBP hashes the password's UTF-8 bytes as typed. ContainsPassword and
//     the RangeClient check the raw bytes and, if different, the NFKC form
//     that SellerGuard hashes and stores.
//   - The index is read-only; to update it, import a newer file: the new
//     index replaces the old one atomically (temp file and rename), and a
//     process that has the old one open keeps using it until it reopens.
package breach
