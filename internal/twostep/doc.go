// Package twostep holds the second-factor primitives of SellerGuard: TOTP
// (RFC 6238 over RFC 4226 HOTP, SHA-1, 6 digits, 30 s — what authenticator
// apps expect), single-use backup codes, and the rules of which methods make
// an account fully protected. It never sees HTTP or SQL.
//
// What it guards:
//   - TOTP secrets have 160 bits from crypto/rand; verification accepts the
//     current step and one step either side, compares in constant time, and
//     reports the matched step so that the caller can refuse any step at or
//     before the last one used (no replay, even within the window);
//   - backup codes carry 80 bits each, are shown once and stored only as
//     HMACs under the instance key (internal/keys);
//   - one authenticator app cannot be both primary and backup, and two phones
//     must differ (Protection).
package twostep
