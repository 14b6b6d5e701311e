// Package dkim signs SellerGuard's outgoing email with DKIM (RFC 6376)
// through github.com/emersion/go-msgauth, creates signing keys with the DNS
// TXT record to publish for them, and hashes sent messages for the
// sent-mail ledger.
//
// A Signer implements mail.Signer: the SMTP sender renders a message once,
// passes the exact bytes to Sign and transmits exactly the signed bytes
// (the original with a DKIM-Signature header field prepended). Signatures
// use relaxed/relaxed canonicalization, SHA-256 and either RSA (2048 bits
// or more; rsa-sha256, understood by every verifier) or Ed25519
// (ed25519-sha256, RFC 8463). They cover From, To, Subject, Date,
// Message-ID, MIME-Version, Content-Type and Content-Transfer-Encoding,
// and From once more (over-signing), so a second From field added on the
// way breaks the signature.
//
// Key files are PEM: "PRIVATE KEY" (PKCS #8, RSA or Ed25519, what
// GenerateKey writes and `openssl genpkey` makes) or "RSA PRIVATE KEY"
// (PKCS #1). LoadSigner refuses a file that its group or others may read
// or write.
package dkim

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	msgdkim "github.com/emersion/go-msgauth/dkim"

	"github.com/sellerguard/sellerguard/internal/mail"
)

// Key algorithms accepted by GenerateKey.
const (
	AlgorithmRSA     = "rsa"
	AlgorithmEd25519 = "ed25519"
)

// MinRSABits is the smallest RSA key LoadSigner accepts (RFC 8301 asks
// signers for at least 1024 bits and recommends 2048; we require 2048).
const MinRSABits = 2048

// RSABits is the size of the RSA keys GenerateKey creates.
const RSABits = 2048

// SignedHeaders are the header fields every signature covers, in the
// order of the h= tag. From appears twice: the second instance is
// over-signing (RFC 6376 section 8.15), so a From field added later
// invalidates the signature. Fields a message lacks are skipped by the
// signer (and so over-sign their absence).
var SignedHeaders = []string{
	"From", "To", "Subject", "Date", "Message-ID",
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	"From",
}

// Signer signs messages for one domain and selector with one key. It is
// safe for concurrent use.
type Signer struct {
	domain   string
	selector string
	key      crypto.Signer
	alg      string // AlgorithmRSA or AlgorithmEd25519
	txt      string
}

var _ mail.Signer = (*Signer)(nil)

// LoadSigner reads a PEM private key (RSA of at least 2048 bits, or
// Ed25519) from keyFile and returns a Signer for domain and selector.
// It refuses a key file whose mode gives its group or others any access
// (mode&0o077 != 0): run chmod 600 on it.
func LoadSigner(keyFile, domain, selector string) (*Signer, error) {
	domain = normalizeDomain(domain)
	if err := CheckDomain(domain); err != nil {
		return nil, err
	}
	if err := CheckSelector(selector); err != nil {
		return nil, err
	}
	if keyFile == "" {
		return nil, errors.New("dkim: no key file given")
	}
	f, err := os.Open(keyFile)
	if err != nil {
		return nil, fmt.Errorf("dkim: key file: %w", err)
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("dkim: key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("dkim: key file %s is not a regular file", keyFile)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("dkim: key file %s has mode %#o: a private key must not be readable by group or others; run: chmod 600 %s", keyFile, perm, keyFile)
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("dkim: read key file %s: %w", keyFile, err)
	}
	key, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("dkim: key file %s: %w", keyFile, err)
	}
	return NewSigner(key, domain, selector)
}

// NewSigner returns a Signer for an already parsed key: an *rsa.PrivateKey
// of at least MinRSABits bits or an ed25519.PrivateKey.
func NewSigner(key crypto.Signer, domain, selector string) (*Signer, error) {
	domain = normalizeDomain(domain)
	if err := CheckDomain(domain); err != nil {
		return nil, err
	}
	if err := CheckSelector(selector); err != nil {
		return nil, err
	}
	s := &Signer{domain: domain, selector: selector, key: key}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if bits := k.N.BitLen(); bits < MinRSABits {
			return nil, fmt.Errorf("dkim: RSA key has %d bits; at least %d are required", bits, MinRSABits)
		}
		s.alg = AlgorithmRSA
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return nil, errors.New("dkim: invalid Ed25519 private key")
		}
		s.alg = AlgorithmEd25519
	case nil:
		return nil, errors.New("dkim: no key")
	default:
		return nil, fmt.Errorf("dkim: unsupported key type %T: DKIM keys are RSA or Ed25519", key)
	}
	txt, err := TXTRecord(key.Public())
	if err != nil {
		return nil, err
	}
	s.txt = txt
	return s, nil
}

// ParsePrivateKey decodes the first PEM block of data: "PRIVATE KEY"
// (PKCS #8, RSA or Ed25519) or "RSA PRIVATE KEY" (PKCS #1). It does not
// check the key size; NewSigner does.
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM private key found")
	}
	if _, ok := block.Headers["Proc-Type"]; ok {
		return nil, errors.New("the private key is encrypted; DKIM signing needs an unencrypted key (protect it with file permissions)")
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse PKCS #8 private key: %w", err)
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case ed25519.PrivateKey:
			return k, nil
		default:
			return nil, fmt.Errorf("unsupported key type %T: DKIM keys are RSA or Ed25519", k)
		}
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse PKCS #1 RSA private key: %w", err)
		}
		return k, nil
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("the private key is encrypted; DKIM signing needs an unencrypted key (protect it with file permissions)")
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key (want \"PRIVATE KEY\" or \"RSA PRIVATE KEY\")", block.Type)
	}
}

// Domain returns the signing domain (the d= tag), lower case.
func (s *Signer) Domain() string { return s.domain }

// Selector returns the selector (the s= tag).
func (s *Signer) Selector() string { return s.selector }

// Algorithm returns AlgorithmRSA or AlgorithmEd25519.
func (s *Signer) Algorithm() string { return s.alg }

// RecordName returns the DNS name of the key record,
// "<selector>._domainkey.<domain>." (fully qualified).
func (s *Signer) RecordName() string { return RecordName(s.selector, s.domain) }

// TXTRecord returns the value of the DNS TXT record for this signer's
// public key, "v=DKIM1; k=rsa; p=...".
func (s *Signer) TXTRecord() string { return s.txt }

// Sign implements mail.Signer: it returns raw with a DKIM-Signature header
// field prepended. raw must be a complete message with CRLF line endings
// (a bare LF would be rewritten on the wire, so the bytes sent would not
// be the bytes signed and hashed).
func (s *Signer) Sign(raw []byte) ([]byte, error) {
	if err := checkCRLF(raw); err != nil {
		return nil, err
	}
	if !bytes.Contains(raw, []byte("\r\n\r\n")) {
		return nil, errors.New("dkim: message has no header/body separator")
	}
	var out bytes.Buffer
	out.Grow(len(raw) + 1024)
	opts := &msgdkim.SignOptions{
		Domain:                 s.domain,
		Selector:               s.selector,
		Signer:                 s.key,
		Hash:                   crypto.SHA256,
		HeaderCanonicalization: msgdkim.CanonicalizationRelaxed,
		BodyCanonicalization:   msgdkim.CanonicalizationRelaxed,
		HeaderKeys:             SignedHeaders,
	}
	if err := msgdkim.Sign(&out, bytes.NewReader(raw), opts); err != nil {
		return nil, fmt.Errorf("dkim: sign: %w", err)
	}
	return out.Bytes(), nil
}

// ErrNoSignature is returned by Verify when raw carries no DKIM signature
// of this signer's domain and selector.
var ErrNoSignature = errors.New("dkim: no signature by this domain and selector")

// Verify checks that raw (a message as received, with any trace header
// fields added in transit) carries a valid DKIM signature made by this
// signer's key for its domain and selector. It needs no DNS: the public
// key is this signer's own. It is the answer to "was this email really
// sent by us?" for a message whose exact bytes are no longer those in the
// sent-mail ledger (trace headers, re-folding by relays).
func (s *Signer) Verify(raw []byte) error {
	name := s.selector + "._domainkey." + s.domain
	lookup := func(domain string) ([]string, error) {
		if strings.EqualFold(strings.TrimSuffix(domain, "."), name) {
			return []string{s.txt}, nil
		}
		return nil, fmt.Errorf("no key for %s", domain)
	}
	verifs, err := msgdkim.VerifyWithOptions(bytes.NewReader(raw), &msgdkim.VerifyOptions{LookupTXT: lookup, MaxVerifications: 10})
	if err != nil && !errors.Is(err, msgdkim.ErrTooManySignatures) {
		return fmt.Errorf("dkim: verify: %w", err)
	}
	var firstErr error
	for _, v := range verifs {
		if !strings.EqualFold(v.Domain, s.domain) {
			continue
		}
		if v.Err == nil {
			return nil
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("dkim: signature of %s does not verify: %w", v.Domain, v.Err)
		}
	}
	if firstErr != nil {
		return firstErr
	}
	return ErrNoSignature
}

// GenerateKey creates a DKIM signing key: alg is AlgorithmRSA (2048 bits;
// also chosen for "") or AlgorithmEd25519. It returns the key as PEM
// (PKCS #8, "PRIVATE KEY") and the value of the DNS TXT record to
// publish, "v=DKIM1; k=rsa; p=<base64 SubjectPublicKeyInfo>" or
// "v=DKIM1; k=ed25519; p=<base64 raw 32-byte key>".
func GenerateKey(alg string) (pemBytes []byte, txtRecord string, err error) {
	var key crypto.Signer
	switch strings.ToLower(alg) {
	case "", AlgorithmRSA:
		key, err = rsa.GenerateKey(rand.Reader, RSABits)
	case AlgorithmEd25519:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, "", fmt.Errorf("dkim: unknown key algorithm %q (want %s or %s)", alg, AlgorithmRSA, AlgorithmEd25519)
	}
	if err != nil {
		return nil, "", fmt.Errorf("dkim: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, "", fmt.Errorf("dkim: encode key: %w", err)
	}
	txt, err := TXTRecord(key.Public())
	if err != nil {
		return nil, "", err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), txt, nil
}

// TXTRecord returns the DKIM key record value for a public key
// (*rsa.PublicKey or ed25519.PublicKey).
func TXTRecord(pub crypto.PublicKey) (string, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(p)
		if err != nil {
			return "", fmt.Errorf("dkim: encode public key: %w", err)
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), nil
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(p), nil
	default:
		return "", fmt.Errorf("dkim: unsupported public key type %T", pub)
	}
}

// RecordName returns "<selector>._domainkey.<domain>." for a key record.
func RecordName(selector, domain string) string {
	return selector + "._domainkey." + normalizeDomain(domain) + "."
}

// ZoneLine returns the key record as a DNS zone file line,
//
//	<selector>._domainkey.<domain>. IN TXT "v=DKIM1; k=rsa; p=..." "..."
//
// with the value split into character-strings of at most 255 bytes, as a
// TXT record needs (an RSA-2048 key record is about 410 bytes). Resolvers
// and verifiers concatenate the strings.
func ZoneLine(selector, domain, txt string) string {
	var b strings.Builder
	b.WriteString(RecordName(selector, domain))
	b.WriteString(" IN TXT")
	for _, part := range SplitTXT(txt) {
		b.WriteString(` "`)
		b.WriteString(part)
		b.WriteString(`"`)
	}
	return b.String()
}

// SplitTXT splits a TXT record value into character-strings of at most
// 255 bytes, escaping `"` and `\` as zone files need (a DKIM record
// contains neither).
func SplitTXT(txt string) []string {
	var parts []string
	for len(txt) > 255 {
		parts = append(parts, escapeTXT(txt[:255]))
		txt = txt[255:]
	}
	return append(parts, escapeTXT(txt))
}

func escapeTXT(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// Hash returns the lower-case hex SHA-256 of raw: for the sent-mail
// ledger, the hash of the exact (signed) bytes that were transmitted.
func Hash(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// CheckDomain reports whether domain can be a DKIM signing domain: a DNS
// host name of letters, digits and hyphens (labels of 1–63 characters not
// starting or ending with a hyphen, at most 253 characters), with an
// optional trailing dot.
func CheckDomain(domain string) error {
	d := strings.TrimSuffix(domain, ".")
	if d == "" {
		return errors.New("dkim: signing domain is empty")
	}
	if len(d) > 253 {
		return fmt.Errorf("dkim: signing domain %q is longer than 253 characters", domain)
	}
	for _, label := range strings.Split(d, ".") {
		if !isLDHLabel(label) {
			return fmt.Errorf("dkim: signing domain %q is not a host name (label %q: letters, digits and inner hyphens, 1–63 characters)", domain, label)
		}
	}
	return nil
}

// CheckSelector reports whether selector is a single DNS label of
// letters, digits and inner hyphens, 1–63 characters.
func CheckSelector(selector string) error {
	if !isLDHLabel(selector) {
		return fmt.Errorf("dkim: selector %q is not a DNS label (letters, digits and inner hyphens, 1–63 characters)", selector)
	}
	return nil
}

func isLDHLabel(l string) bool {
	if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func normalizeDomain(d string) string {
	return strings.ToLower(strings.TrimSuffix(d, "."))
}

// checkCRLF rejects a bare CR or LF.
func checkCRLF(raw []byte) error {
	for i, c := range raw {
		switch c {
		case '\n':
			if i == 0 || raw[i-1] != '\r' {
				return errors.New("dkim: message has a bare LF; lines must end in CRLF")
			}
		case '\r':
			if i+1 == len(raw) || raw[i+1] != '\n' {
				return errors.New("dkim: message has a bare CR; lines must end in CRLF")
			}
		}
	}
	return nil
}
