// Package recovery holds the rules of "Can't sign in?": how a seller who
// forgot their password proves that they still read the email on file and
// gets to set a new one, without opening a door for an attacker.
//
// What it guards:
//   - no account enumeration: a request for an address without an account
//     does the same work (a code is made and stored, counters move) as one
//     for a registered address; only the code is never sent and can never
//     verify. Callers answer every request alike;
//   - a code is six digits from crypto/rand, sent only to the email on file,
//     valid CodeTTL, single use, stored as a keyed MAC (internal/keys), and
//     guessing-limited by the shared limiter (internal/limiter): after
//     MaxWrongCodes wrong codes for an address within GuessWindow, no code
//     of that address works until the window has passed (a new code does not
//     reset the count, so requesting codes does not buy guesses);
//   - a verified code becomes a recovery token: 32 random bytes, stored as
//     SHA-256, valid TokenTTL, usable once and only to set a new password.
//     A token never signs anyone in: the next sign-in still asks for the
//     password and the second step (DESIGN invariant 11).
//
// What it does not do: it never sees HTTP or SQL. Its storage is the narrow
// Store below (implemented by internal/store), and the account side of a
// reset (password policy, sessions, trusted browsers, audit, notices) stays
// with internal/account, which calls these rules inside its transactions.
package recovery

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard/internal/keys"
	"github.com/sellerguard/sellerguard/internal/limiter"
)

// The rules' fixed limits.
const (
	CodeTTL       = 15 * time.Minute
	TokenTTL      = 15 * time.Minute
	MaxWrongCodes = 10
	GuessWindow   = time.Hour
	// CodesPerHour caps the codes made for one address: past it a request
	// gets the same answer but no new code (and no email).
	CodesPerHour = 5
	tokenPrefix  = "sgr_"
)

// Code is one address's current recovery code.
type Code struct {
	EmailNorm string
	UserID    string // "" for an address without an account: it never verifies
	CodeMAC   string
	ExpiresAt time.Time
	CreatedAt time.Time
}

// Token is a verified recovery, waiting for its new password.
type Token struct {
	Hash      string
	UserID    string
	ExpiresAt time.Time
	CreatedAt time.Time
	// Purpose is PurposeReset (an emailed code) or PurposeRevert (an undone
	// sign-in email change: the owner goes on to Secure my account).
	Purpose string
}

// What a recovery token was made for.
const (
	PurposeReset  = "reset"
	PurposeRevert = "revert"
)

// Store is what the rules need from the database; *store.Tx implements it,
// so codes, tokens and counters change in the caller's transaction.
type Store interface {
	limiter.Store
	// PutRecoveryCode stores c, replacing the address's previous code, and
	// removes codes and tokens that expired before c.CreatedAt.
	PutRecoveryCode(ctx context.Context, c Code) error
	// RecoveryCode returns the address's code (found false when none).
	RecoveryCode(ctx context.Context, emailNorm string) (c Code, found bool, err error)
	// DeleteRecoveryCode removes the address's code; deleted is false when
	// there was none (another request used it first).
	DeleteRecoveryCode(ctx context.Context, emailNorm string) (deleted bool, err error)
	// PutRecoveryToken stores t, replacing every other token of its user.
	PutRecoveryToken(ctx context.Context, t Token) error
	// RecoveryToken returns the token with this hash (found false when none).
	RecoveryToken(ctx context.Context, hash string) (t Token, found bool, err error)
	// TakeRecoveryToken deletes the token with this hash and returns it
	// (found false when none: of two requests only one takes it).
	TakeRecoveryToken(ctx context.Context, hash string) (t Token, found bool, err error)
	// DeleteRecoveryTokens removes every token of a user.
	DeleteRecoveryTokens(ctx context.Context, userID string) error
}

// Rules applies the recovery rules; Keys makes the MACs, Limiter counts
// the guesses.
type Rules struct {
	Keys    *keys.Keys
	Limiter *limiter.Limiter
}

func guessKey(emailNorm string) string { return "recovery-guess:" + emailNorm }
func sendKey(emailNorm string) string  { return "recovery-send:" + emailNorm }

func (r *Rules) codeMAC(emailNorm, code string) string {
	return r.Keys.MAC("recovery-code", emailNorm, code)
}

// WellFormedCode reports whether code looks like a recovery code (six
// digits), so a caller can answer a typo with a field error.
func WellFormedCode(code string) bool {
	return len(code) == 6 && strings.Trim(code, "0123456789") == ""
}

// WellFormedToken reports whether token looks like a recovery token.
func WellFormedToken(token string) bool {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) != len(tokenPrefix)+43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token[len(tokenPrefix):])
	return err == nil
}

// HashToken is how a token is stored.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Issue makes a new code for an address (userID "" when it has no
// account: the same work, but the code can never verify) and returns it;
// code is "" when the address had CodesPerHour codes already (nothing is
// sent then). ip is recorded on the counter.
func (r *Rules) Issue(ctx context.Context, st Store, emailNorm, userID, ip string, now time.Time) (code string, err error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	code = fmt.Sprintf("%06d", n.Int64())
	retry, err := r.Limiter.Hit(ctx, st, sendKey(emailNorm), ip, now, CodesPerHour, time.Hour)
	if err != nil {
		return "", err
	}
	if !retry.IsZero() {
		return "", nil
	}
	err = st.PutRecoveryCode(ctx, Code{EmailNorm: emailNorm, UserID: userID, CodeMAC: r.codeMAC(emailNorm, code), ExpiresAt: now.Add(CodeTTL), CreatedAt: now})
	if err != nil {
		return "", err
	}
	return code, nil
}

// Outcome is what Verify found.
type Outcome struct {
	// UserID is the account whose code was right (set also for a wrong
	// code of a registered address, so the owner can be told).
	UserID string
	// Token is the new recovery token ("" unless the code was right).
	Token string
	// Wrongs counts the wrong codes of the address in the current window,
	// this one included (0 when the code was right).
	Wrongs int
	// Blocked: the address had MaxWrongCodes wrong codes already; the code
	// was not even compared.
	Blocked bool
}

// OK reports whether the code was right.
func (o Outcome) OK() bool { return o.Token != "" }

// Verify checks a code for an address. A right code is used up and turns
// into a recovery token; a wrong one counts against the address (and the
// address's code is deleted at MaxWrongCodes).
func (r *Rules) Verify(ctx context.Context, st Store, emailNorm, code, ip string, now time.Time) (Outcome, error) {
	c, found, err := st.RecoveryCode(ctx, emailNorm)
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{UserID: c.UserID}
	if retry, err := r.Limiter.Over(ctx, st, guessKey(emailNorm), now, MaxWrongCodes, GuessWindow); err != nil {
		return out, err
	} else if !retry.IsZero() {
		out.Blocked, out.Wrongs = true, MaxWrongCodes
		_, err := st.DeleteRecoveryCode(ctx, emailNorm)
		return out, err
	}
	mac := r.codeMAC(emailNorm, code)
	if !found || c.UserID == "" || !now.Before(c.ExpiresAt) || !keys.EqualMAC(c.CodeMAC, mac) {
		if _, err := r.Limiter.Hit(ctx, st, guessKey(emailNorm), ip, now, MaxWrongCodes, GuessWindow); err != nil {
			return out, err
		}
		cnt, err := st.GetCounter(ctx, guessKey(emailNorm), now)
		if err != nil {
			return out, err
		}
		out.Wrongs = cnt.Count
		if cnt.Count >= MaxWrongCodes {
			_, err := st.DeleteRecoveryCode(ctx, emailNorm)
			return out, err
		}
		return out, nil
	}
	if deleted, err := st.DeleteRecoveryCode(ctx, emailNorm); err != nil || !deleted {
		return out, err // !deleted: a concurrent request used it; no token
	}
	if err := st.DeleteCounter(ctx, guessKey(emailNorm)); err != nil {
		return out, err
	}
	token, err := r.IssueToken(ctx, st, c.UserID, PurposeReset, now)
	if err != nil {
		return out, err
	}
	out.Token = token
	return out, nil
}

// IssueToken makes a recovery token for a user whose control of the account
// was proven another way (the revert code of an email change: PurposeRevert).
func (r *Rules) IssueToken(ctx context.Context, st Store, userID, purpose string, now time.Time) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	if err := st.PutRecoveryToken(ctx, Token{Hash: HashToken(token), UserID: userID, ExpiresAt: now.Add(TokenTTL), CreatedAt: now, Purpose: purpose}); err != nil {
		return "", err
	}
	return token, nil
}

// Peek returns the user a live token belongs to without using it up (so a
// password the policy refuses can be tried again); ok is false for an
// unknown, used or expired token.
func (r *Rules) Peek(ctx context.Context, st Store, token string, now time.Time) (t Token, ok bool, err error) {
	if !WellFormedToken(token) {
		return Token{}, false, nil
	}
	t, found, err := st.RecoveryToken(ctx, HashToken(token))
	if err != nil || !found || !now.Before(t.ExpiresAt) {
		return Token{}, false, err
	}
	return t, true, nil
}

// Redeem uses a token up: it returns its user and deletes every recovery
// token of that user. ok is false for an unknown, used or expired token.
func (r *Rules) Redeem(ctx context.Context, st Store, token string, now time.Time) (userID string, ok bool, err error) {
	if !WellFormedToken(token) {
		return "", false, nil
	}
	t, found, err := st.TakeRecoveryToken(ctx, HashToken(token))
	if err != nil || !found || !now.Before(t.ExpiresAt) {
		return "", false, err
	}
	return t.UserID, true, st.DeleteRecoveryTokens(ctx, t.UserID)
}

// RevertCodeBits is the strength of the code that undoes a sign-in email
// change: enough that it needs no attempt limit, so nobody can burn the
// owner's code by guessing wrong.
const RevertCodeBits = 80

// crockford is Crockford's base-32 alphabet (no I, L, O, U).
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewRevertCode returns an 80-bit revert code from crypto/rand, as 16
// base-32 characters in groups of four ("7K2M-Q9XD-…").
func NewRevertCode() (string, error) {
	b := make([]byte, RevertCodeBits/8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	var out []byte
	var acc uint64
	bits := 0
	for _, c := range b {
		acc = acc<<8 | uint64(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			if len(out) > 0 && (len(out)+1)%5 == 0 {
				out = append(out, '-')
			}
			out = append(out, crockford[(acc>>bits)&31])
		}
	}
	return string(out), nil
}

// NormalizeRevertCode is the form a typed revert code is compared in:
// separators and spaces dropped, upper case, and the letters people confuse
// with digits read as those digits (O→0, I/L→1). Over-long input gives "".
func NormalizeRevertCode(code string) string {
	if len(code) > 64 {
		return ""
	}
	out := make([]byte, 0, 16)
	for _, r := range strings.ToUpper(code) {
		switch {
		case r == '-' || r == ' ':
		case r == 'O':
			out = append(out, '0')
		case r == 'I' || r == 'L':
			out = append(out, '1')
		case r < 128 && strings.IndexByte(crockford, byte(r)) >= 0:
			out = append(out, byte(r))
		default:
			return ""
		}
	}
	return string(out)
}
