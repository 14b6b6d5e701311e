// Package mailcheck answers "is this email really from SellerGuard?" for a
// message a person pastes or uploads (POST /api/v1/mail/verify, the page
// /mail/check).
//
// The evidence is SellerGuard's own: the DKIM signature made with its own
// key (internal/dkim Signer.Verify, no DNS needed) and the sent-mail ledger
// (Message-ID, recipient, subject, time and SHA-256 of the exact bytes
// sent, recorded by the outbox worker). Verdicts:
//
//   - genuine: the ledger has the Message-ID, and the copy is what we sent:
//     the signature verifies with our key, or the bytes after any trace
//     header fields that mail servers put in front are exactly the ones
//     whose hash the ledger holds;
//   - altered: the ledger has the Message-ID but neither holds — the text,
//     a link or a signed header was changed — or a Reply-To or Sender
//     field, which our emails never have and the signature does not
//     cover, was added;
//   - not_from_us: the message claims to come from SellerGuard (From
//     domain, display name or a look-alike, phishing.ClaimsBrand) but has
//     no ledger entry or no valid signature;
//   - cannot_tell: anything else (it does not claim to be from us, and we
//     never sent it).
//
// What it reveals: to a caller who is not the recipient (anonymous, or
// signed in as someone else) the answer never names the recipient and
// never shows anything from the ledger: sent_at and subject are null, and
// the reasons say only "sent to someone else" to a signed-in caller. The
// signed-in recipient gets the ledger's time and subject, and whether the
// anti-phishing phrase in the email is their current one.
//
// Caveats: with DKIM signing off (no SELLERGUARD_DKIM_KEY_FILE) only a
// byte-exact copy is recognised, so a copy re-folded by a mail server may
// be called altered; in local mode nothing is ever sent, so nothing is
// genuine. A Message-ID is 128 random bits, so nobody can find ledger
// entries by guessing.
package mailcheck

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/dkim"
	"github.com/sellerguard/sellerguard/internal/phishing"
	"github.com/sellerguard/sellerguard/internal/store"
)

// Verdicts.
const (
	Genuine    = "genuine"
	Altered    = "altered"
	NotFromUs  = "not_from_us"
	CannotTell = "cannot_tell"
)

// MaxBytes is the largest message checked (1 MiB).
const MaxBytes = 1 << 20

// Reason codes of the answers (stable; the look-alike codes of
// phishing.ClaimsBrand come in addition).
const (
	CodeSignatureValid    = "signature_valid"
	CodeLedgerMatch       = "ledger_match"
	CodeExactCopy         = "exact_copy"
	CodeSentToYou         = "sent_to_you"
	CodeNotSentToYou      = "not_sent_to_you"
	CodePhraseCurrent     = "phrase_current"
	CodePhraseNotCurrent  = "phrase_not_current"
	CodePhraseNotSet      = "phrase_not_set"
	CodeContentChanged    = "content_changed"
	CodeHeaderAdded       = "header_added"
	CodeNoSignature       = "no_signature"
	CodeSignatureInvalid  = "signature_invalid"
	CodeNoLedgerEntry     = "no_ledger_entry"
	CodeClaimsSellerGuard = "claims_sellerguard"
	CodeNoClaim           = "does_not_claim_sellerguard"
)

// Reason is one finding with a stable code.
type Reason = phishing.Reason

// Result is the answer to a check.
type Result struct {
	Verdict string     `json:"verdict"`
	Reasons []Reason   `json:"reasons"`
	SentAt  *time.Time `json:"sent_at"`
	Subject *string    `json:"subject"`
}

// Caller is the signed-in person asking, or nil for an anonymous caller.
type Caller struct {
	UserID string
	Email  string
	Phrase string // their current anti-phishing phrase ("" when none)
}

// Ledger is what the checker reads from storage; *store.DB implements it.
type Ledger interface {
	FindSentEmail(ctx context.Context, messageID string) (store.LedgerEntry, error)
	SentEmailUserID(ctx context.Context, outboxID string) (string, error)
}

// Verifier checks that a message carries a valid signature of our own
// key; *dkim.Signer implements it.
type Verifier interface {
	Verify(raw []byte) error
}

var _ Verifier = (*dkim.Signer)(nil)

// Checker checks messages against SellerGuard's signature and ledger.
type Checker struct {
	Ledger Ledger
	// Signer checks SellerGuard's DKIM signature (dkim.Signer.Verify); nil
	// when mail is not signed.
	Signer Verifier
	// Brand says what counts as claiming to be SellerGuard.
	Brand phishing.Config
}

// ErrEmpty and friends are the refusals, each a 400 or 413 with a field.
var (
	errEmpty      = sellerguard.Invalid(sellerguard.FieldError{Field: "raw", Code: "required", Message: "Paste the whole email, with its headers (in your mail program: Show original, or View source)."})
	errTooLarge   = &sellerguard.Error{Code: sellerguard.ECodeTooLarge, Message: "The email is larger than 1 MiB; SellerGuard's emails are much smaller."}
	errNotMessage = sellerguard.Invalid(sellerguard.FieldError{Field: "raw", Code: "not_a_message", Message: "This is not a whole email: paste it with its headers (in your mail program: Show original, or View source)."})
)

// maxTraceFields bounds how many header fields in front of the sent bytes
// are tried when looking for an exact copy.
const maxTraceFields = 64

// Check checks raw, as the caller has it. It refuses (400/413) only input
// that is empty, over MaxBytes or not a message at all.
func (c *Checker) Check(ctx context.Context, raw []byte, caller *Caller) (*Result, error) {
	if len(raw) > MaxBytes {
		return nil, errTooLarge
	}
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return nil, errEmpty
	}
	norm := toCRLF(raw)
	msg, err := mail.ReadMessage(bytes.NewReader(norm))
	if err != nil || len(msg.Header) == 0 {
		return nil, errNotMessage
	}
	res := &Result{Reasons: []Reason{}}

	var entry store.LedgerEntry
	found := false
	if id := messageID(msg.Header.Get("Message-Id")); id != "" {
		entry, err = c.Ledger.FindSentEmail(ctx, id)
		switch {
		case err == nil:
			found = true
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	sigErr := dkim.ErrNoSignature
	if c.Signer != nil {
		sigErr = c.Signer.Verify(norm)
	}
	exact := found && (exactCopy(raw, entry.SHA256) || exactCopy(norm, entry.SHA256))

	// Header fields we never send, which neither the signature nor the
	// exact-copy check (fields in front are taken for trace fields) covers:
	// a Reply-To or Sender added to our email redirects replies.
	var added []string
	if found {
		for _, f := range []string{"Reply-To", "Sender"} {
			if _, ok := msg.Header[f]; ok {
				added = append(added, f)
			}
		}
	}

	switch {
	case found && (sigErr == nil || exact) && len(added) == 0:
		res.Verdict = Genuine
		if sigErr == nil {
			res.add(CodeSignatureValid, "It carries SellerGuard's valid signature (DKIM): we signed it, and nothing signed was changed since.")
		}
		res.add(CodeLedgerMatch, "It is in our record of every email we sent.")
		if exact {
			res.add(CodeExactCopy, "It is byte for byte the email we sent.")
		}
		if caller != nil {
			if err := c.recipientReasons(ctx, res, entry, msg, caller); err != nil {
				return nil, err
			}
		}
	case found && len(added) > 0:
		res.Verdict = Altered
		res.add(CodeHeaderAdded, fmt.Sprintf("Someone added a %s field, which our emails never have: replies would go to someone else. Do not reply to it, and report it.", strings.Join(added, " and a ")))
		if caller != nil && c.isRecipient(ctx, entry, caller) {
			res.SentAt, res.Subject = &entry.SentAt, &entry.Subject
		}
	case found:
		res.Verdict = Altered
		res.add(CodeContentChanged, "We sent an email with this identifier, but this copy is not what we sent: its text, a link or a header was changed. Do not click anything in it, and report it.")
		if caller != nil && c.isRecipient(ctx, entry, caller) {
			res.SentAt, res.Subject = &entry.SentAt, &entry.Subject
		}
	default:
		claims, why := phishing.ClaimsBrand(msg.Header.Get("From"), c.Brand)
		if !claims && sigErr == nil {
			claims = true // signed with our key: it speaks for us
		}
		if !claims {
			res.Verdict = CannotTell
			res.add(CodeNoClaim, "It does not claim to come from SellerGuard, and we have no record of sending it, so we cannot tell who sent it. If it asks for anything sensitive, report it.")
			break
		}
		res.Verdict = NotFromUs
		res.add(CodeClaimsSellerGuard, "It claims to come from SellerGuard.")
		res.Reasons = append(res.Reasons, why...)
		switch {
		case sigErr == nil:
		case errors.Is(sigErr, dkim.ErrNoSignature):
			res.add(CodeNoSignature, "It has no SellerGuard signature (DKIM), which every email we send carries.")
		default:
			res.add(CodeSignatureInvalid, "Its SellerGuard signature (DKIM) does not verify.")
		}
		res.add(CodeNoLedgerEntry, "We have no record of sending it. Do not click anything in it, and report it.")
	}
	return res, nil
}

func (r *Result) add(code, msg string) {
	r.Reasons = append(r.Reasons, Reason{Code: code, Message: msg})
}

// isRecipient tells whether the ledger entry was sent to the caller: to
// their account (even at an address they have changed since) or to their
// current address.
func (c *Checker) isRecipient(ctx context.Context, e store.LedgerEntry, caller *Caller) bool {
	if uid, err := c.Ledger.SentEmailUserID(ctx, e.OutboxID); err == nil && uid != "" {
		return uid == caller.UserID
	}
	return strings.EqualFold(addrOf(e.Recipient), addrOf(caller.Email))
}

func (c *Checker) recipientReasons(ctx context.Context, res *Result, e store.LedgerEntry, msg *mail.Message, caller *Caller) error {
	if !c.isRecipient(ctx, e, caller) {
		res.add(CodeNotSentToYou, "It was sent to someone else, not to you. If it was forwarded to you, ask the person who forwarded it.")
		return nil
	}
	res.add(CodeSentToYou, "It was sent to you.")
	res.SentAt, res.Subject = &e.SentAt, &e.Subject
	phrase, has := phraseIn(msg)
	switch {
	case !has:
		res.add(CodePhraseNotSet, "It was sent before you chose an anti-phishing phrase.")
	case caller.Phrase != "" && subtle.ConstantTimeCompare([]byte(phrase), []byte(caller.Phrase)) == 1:
		res.add(CodePhraseCurrent, "It shows your current anti-phishing phrase.")
	default:
		res.add(CodePhraseNotCurrent, "The anti-phishing phrase in it is not your current one: it was sent before you changed your phrase.")
	}
	return nil
}

func addrOf(s string) string {
	if a, err := mail.ParseAddress(s); err == nil {
		return a.Address
	}
	return strings.TrimSpace(s)
}

// messageID normalises a Message-ID field value to "<id>", or "" when it
// is empty or absurd.
func messageID(v string) string {
	id := strings.Trim(strings.TrimSpace(v), "<>")
	if id == "" || len(id) > 900 || strings.ContainsAny(id, " \t<>") {
		return ""
	}
	return "<" + id + ">"
}

// toCRLF returns raw with every bare LF (and bare CR) made a CRLF, as a
// pasted or saved copy often has lost them.
func toCRLF(raw []byte) []byte {
	if !bytes.ContainsAny(raw, "\r\n") {
		return raw
	}
	out := make([]byte, 0, len(raw)+len(raw)/32)
	for i := 0; i < len(raw); i++ {
		switch b := raw[i]; b {
		case '\r':
			out = append(out, '\r', '\n')
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
		case '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, b)
		}
	}
	return out
}

// exactCopy tells whether raw, or raw without some header fields in front
// (trace fields a receiving server adds, such as Received or
// Return-Path), hashes to the ledger's SHA-256 of the bytes sent.
func exactCopy(raw []byte, want string) bool {
	wantSum, err := hex.DecodeString(want)
	if err != nil || len(wantSum) != sha256.Size {
		return false
	}
	tries := 0
	for pos := 0; pos < len(raw) && tries < maxTraceFields; tries++ {
		sum := sha256.Sum256(raw[pos:])
		if subtle.ConstantTimeCompare(sum[:], wantSum) == 1 {
			return true
		}
		if raw[pos] == '\r' || raw[pos] == '\n' {
			return false // no header at all
		}
		// The next header field: after the next line end not followed by
		// folding white space; stop at the end of the header.
		next := -1
		for i := pos; i+1 < len(raw); i++ {
			if raw[i] != '\n' {
				continue
			}
			if raw[i+1] == '\r' || raw[i+1] == '\n' {
				return false // the blank line: the body starts
			}
			if raw[i+1] != ' ' && raw[i+1] != '\t' {
				next = i + 1
				break
			}
		}
		if next < 0 {
			return false
		}
		pos = next
	}
	return false
}

var phraseRE = regexp.MustCompile(`Your anti-phishing phrase: \x{00ab}([^\r\n]{1,256}?)\x{00bb}`)

// phraseIn finds the anti-phishing phrase in the text of one of our own
// emails (a text/plain part, quoted-printable or base64). It is called only
// for messages found genuine, so the structure is ours; it is bounded all
// the same.
func phraseIn(msg *mail.Message) (string, bool) {
	text := textOf(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0)
	if m := phraseRE.FindStringSubmatch(text); m != nil {
		return m[1], true
	}
	return "", false
}

func textOf(contentType, cte string, body io.Reader, depth int) string {
	mt, params, err := mime.ParseMediaType(contentType)
	if contentType == "" {
		mt, err = "text/plain", nil
	}
	if err != nil || depth > 3 {
		return ""
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for range 10 {
			p, err := mr.NextRawPart()
			if err != nil {
				return ""
			}
			if t := textOf(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1); t != "" {
				return t
			}
		}
		return ""
	}
	if mt != "text/plain" {
		return ""
	}
	r := phishing.TransferDecoder(cte, io.LimitReader(body, MaxBytes))
	b, err := io.ReadAll(io.LimitReader(r, MaxBytes))
	if err != nil && len(b) == 0 {
		return ""
	}
	return string(b)
}

// String describes a result for logs and the CLI.
func (r *Result) String() string {
	codes := make([]string, len(r.Reasons))
	for i, x := range r.Reasons {
		codes[i] = x.Code
	}
	return fmt.Sprintf("%s (%s)", r.Verdict, strings.Join(codes, ", "))
}
