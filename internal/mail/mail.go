// Package mail sends SellerGuard's outgoing email over real SMTP.
//
// NewSMTPSender takes an SMTP URL:
//
//	smtp://host[:port]           plain SMTP, STARTTLS when the server offers it (default port 25)
//	smtp+starttls://host[:port]  STARTTLS required (default port 587)
//	smtps://host[:port]          implicit TLS from the first byte (default port 465)
//
// with optional user:password@ for SMTP AUTH (PLAIN or LOGIN, only over TLS
// or to localhost). TLS certificates are always verified (against
// SMTPConfig.TLSConfig's roots, or the system roots); with smtp:// a server
// that offers STARTTLS with a bad certificate is an error, not a fallback
// to plain text.
//
// Send builds the message with github.com/wneessen/go-mail, writes it to
// bytes once, optionally signs those bytes (SMTPConfig.Signer, e.g. DKIM)
// and transmits exactly the resulting bytes, which it also returns for a
// sent-mail ledger. IsPermanent tells an outbox worker whether retrying a
// failed Send can help.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one outgoing email to one recipient.
type Message struct {
	To        string // recipient address, "user@example.com" or "Name <user@example.com>"
	Subject   string // must not contain CR or LF
	Text      string // text/plain body (required)
	HTML      string // optional text/html alternative
	MessageID string // optional; generated (random, crypto/rand, @ the From domain) when empty
}

// Sender sends messages. It returns the Message-ID header value (with
// angle brackets, e.g. "<...@example.com>") and raw, the exact RFC 5322
// bytes transmitted (after signing).
type Sender interface {
	Send(ctx context.Context, m Message) (messageID string, raw []byte, err error)
}

// Signer signs a complete RFC 5322 message (CRLF line endings) and returns
// the bytes to send, e.g. raw with a DKIM-Signature header prepended.
type Signer interface {
	Sign(raw []byte) ([]byte, error)
}

// SMTPConfig configures an SMTPSender.
type SMTPConfig struct {
	// URL of the SMTP server, see the package documentation.
	URL string
	// From is the sender address, "no-reply@example.com" or
	// "SellerGuard <no-reply@example.com>"; also the envelope sender and
	// the domain of generated Message-IDs. ASCII only.
	From string
	// Timeout bounds connecting (including TLS, EHLO and AUTH) and each
	// later step of the SMTP transaction; 0 means 30s. The ctx passed to
	// Send can cut the whole session shorter.
	Timeout time.Duration
	// Signer, if set, signs each message before it is sent (nil = unsigned).
	Signer Signer
	// TLSConfig, if set, is used for STARTTLS and implicit TLS (for example
	// to trust a private CA). ServerName defaults to the URL's host.
	TLSConfig *tls.Config
}

// DefaultTimeout is used when SMTPConfig.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// ErrInvalidMessage is wrapped by Send errors caused by the Message itself
// (bad recipient address, CR/LF in the subject, ...). Such errors are
// permanent.
var ErrInvalidMessage = errors.New("invalid message")

type tlsMode int

const (
	tlsOpportunistic tlsMode = iota // smtp://
	tlsStartTLS                     // smtp+starttls://
	tlsImplicit                     // smtps://
)

// SMTPSender sends mail through one SMTP server, one connection per
// message. It is safe for concurrent use.
type SMTPSender struct {
	host      string
	port      int
	mode      tlsMode
	user      string
	pass      string
	hasAuth   bool
	from      *netmail.Address
	domain    string
	timeout   time.Duration
	signer    Signer
	tlsConfig *tls.Config
	redacted  string // URL without password, for error messages
}

var _ Sender = (*SMTPSender)(nil)

// NewSMTPSender checks cfg and returns a sender. It does not connect.
func NewSMTPSender(cfg SMTPConfig) (*SMTPSender, error) {
	if strings.TrimSpace(cfg.URL) == "" {
		return nil, errors.New("mail: SMTP URL is empty")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		// url.Error would repeat the URL, password included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("mail: invalid SMTP URL: %v", err)
	}
	s := &SMTPSender{redacted: u.Redacted(), signer: cfg.Signer}
	var defaultPort int
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		s.mode, defaultPort = tlsOpportunistic, 25
	case "smtp+starttls":
		s.mode, defaultPort = tlsStartTLS, 587
	case "smtps":
		s.mode, defaultPort = tlsImplicit, 465
	case "":
		return nil, fmt.Errorf("mail: SMTP URL %q has no scheme; use smtp://, smtp+starttls:// or smtps://", s.redacted)
	default:
		return nil, fmt.Errorf("mail: SMTP URL scheme %q is not supported; use smtp://, smtp+starttls:// or smtps://", u.Scheme)
	}
	if u.Opaque != "" {
		return nil, fmt.Errorf("mail: SMTP URL %q must have the form scheme://host:port", s.redacted)
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, fmt.Errorf("mail: SMTP URL %q has no host", s.redacted)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("mail: SMTP URL %q must not have a path", s.redacted)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("mail: SMTP URL %q must not have a query or fragment", s.redacted)
	}
	s.port = defaultPort
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("mail: SMTP URL %q has an invalid port", s.redacted)
		}
		s.port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, fmt.Errorf("mail: SMTP URL %q has an empty port", s.redacted)
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
		if s.user == "" {
			return nil, fmt.Errorf("mail: SMTP URL %q has credentials without a user name", s.redacted)
		}
		s.hasAuth = true
	}

	if strings.TrimSpace(cfg.From) == "" {
		return nil, errors.New("mail: From address is empty")
	}
	from, err := netmail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail: From %q is not a valid address: %v", cfg.From, err)
	}
	at := strings.LastIndexByte(from.Address, '@')
	if at <= 0 || at == len(from.Address)-1 {
		return nil, fmt.Errorf("mail: From %q is not a valid address: no domain", cfg.From)
	}
	if !isASCII(from.Address) {
		return nil, fmt.Errorf("mail: From %q must be an ASCII address", cfg.From)
	}
	s.from = from
	s.domain = strings.ToLower(from.Address[at+1:])

	s.timeout = cfg.Timeout
	if s.timeout < 0 {
		return nil, fmt.Errorf("mail: negative timeout %v", cfg.Timeout)
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if cfg.TLSConfig != nil {
		s.tlsConfig = cfg.TLSConfig.Clone()
	} else {
		s.tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if s.tlsConfig.ServerName == "" {
		s.tlsConfig.ServerName = s.host
	}
	return s, nil
}

// SendError is the error returned by SMTPSender.Send.
type SendError struct {
	// Stage is where sending failed: "message", "sign", "connect",
	// "MAIL FROM", "RCPT TO", "DATA" or "end of DATA".
	Stage string
	// Code is the SMTP reply code when the server answered with an
	// error, 0 otherwise.
	Code int
	// Permanent reports whether retrying cannot help; see IsPermanent.
	Permanent bool
	Err       error
}

func (e *SendError) Error() string {
	kind := "temporary"
	if e.Permanent {
		kind = "permanent"
	}
	return fmt.Sprintf("mail: send failed (%s, %s): %v", e.Stage, kind, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// IsPermanent reports whether err from Send means retrying the same message
// cannot succeed: the message is invalid, or the server answered a 5xx reply
// to MAIL FROM, RCPT TO or DATA (bad recipient, message too large, rejected
// content). Connection and TLS failures, timeouts, 4xx replies, signing
// failures and 5xx replies during connection setup (greeting, EHLO,
// STARTTLS, AUTH — configuration problems, not problems of this message)
// are not permanent.
func IsPermanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Permanent
}

// Send sends m. It returns the Message-ID header value (with angle
// brackets) and the exact bytes sent.
func (s *SMTPSender) Send(ctx context.Context, m Message) (string, []byte, error) {
	raw, msgID, err := s.build(m)
	if err != nil {
		return "", nil, &SendError{Stage: "message", Permanent: true, Err: err}
	}
	if s.signer != nil {
		signed, err := s.signer.Sign(raw)
		if err != nil {
			return "", nil, &SendError{Stage: "sign", Err: err}
		}
		raw = signed
	}
	rcpt, _ := netmail.ParseAddress(m.To) // validated by build
	if err := s.transmit(ctx, rcpt.Address, raw); err != nil {
		return "", nil, err
	}
	return msgID, raw, nil
}

// build renders m to RFC 5322 bytes.
func (s *SMTPSender) build(m Message) (raw []byte, msgID string, err error) {
	if strings.TrimSpace(m.To) == "" {
		return nil, "", fmt.Errorf("%w: no recipient", ErrInvalidMessage)
	}
	to, err := netmail.ParseAddress(m.To)
	if err != nil {
		return nil, "", fmt.Errorf("%w: recipient %q: %v", ErrInvalidMessage, m.To, err)
	}
	if !strings.Contains(to.Address, "@") {
		return nil, "", fmt.Errorf("%w: recipient %q has no domain", ErrInvalidMessage, m.To)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, "", fmt.Errorf("%w: subject contains CR or LF", ErrInvalidMessage)
	}
	if m.Text == "" {
		return nil, "", fmt.Errorf("%w: empty text body", ErrInvalidMessage)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(m.MessageID, "<"), ">")
	if m.MessageID == "" {
		id, err = s.newMessageID()
		if err != nil {
			return nil, "", err
		}
	} else if !validMessageID(id) {
		return nil, "", fmt.Errorf("%w: Message-ID %q is not of the form left@right", ErrInvalidMessage, m.MessageID)
	}

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	msg.ToMailAddress(to)
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(id)
	msg.SetDate()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		return nil, "", fmt.Errorf("render message: %w", err)
	}
	return buf.Bytes(), "<" + id + ">", nil
}

func (s *SMTPSender) newMessageID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate Message-ID: %w", err)
	}
	return hex.EncodeToString(b[:]) + "@" + s.domain, nil
}

// validMessageID accepts a msg-id without its angle brackets: a dot-atom
// style left@right of printable ASCII without specials or spaces.
func validMessageID(id string) bool {
	at := strings.IndexByte(id, '@')
	if at <= 0 || at == len(id)-1 || strings.Count(id, "@") != 1 || len(id) > 900 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>[]:;\,"`, c) >= 0 {
			return false
		}
	}
	return true
}

// transmit runs one SMTP session delivering raw to rcpt. go-mail handles
// EHLO, STARTTLS and AUTH; the transaction is driven here so that exactly
// raw is sent.
func (s *SMTPSender) transmit(ctx context.Context, rcpt string, raw []byte) error {
	if err := ctx.Err(); err != nil {
		return &SendError{Stage: "connect", Err: err}
	}
	// Conns dialled for this session are closed when ctx is cancelled, so
	// cancellation interrupts a session blocked on the network.
	var conns []net.Conn
	stop := func() bool { return false }
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{}
		c, err := d.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		conns = append(conns, c)
		stop()
		stop = context.AfterFunc(ctx, func() { _ = c.Close() })
		if s.mode != tlsImplicit {
			return c, nil
		}
		tc := tls.Client(c, s.tlsConfig)
		if err := tc.HandshakeContext(dctx); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		return tc, nil
	}
	defer func() {
		stop()
		for _, c := range conns {
			_ = c.Close()
		}
	}()

	policy := gomail.TLSOpportunistic
	switch s.mode {
	case tlsStartTLS:
		policy = gomail.TLSMandatory
	case tlsImplicit:
		policy = gomail.NoTLS // TLS is done by dial
	}
	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(s.timeout),
		gomail.WithTLSPolicy(policy),
		gomail.WithTLSConfig(s.tlsConfig),
		gomail.WithDialContextFunc(dial),
	}
	if s.hasAuth {
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.user), gomail.WithPassword(s.pass))
	}
	// A fresh go-mail client per message: it keeps per-session state.
	client, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return &SendError{Stage: "connect", Err: err}
	}
	sc, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			err = fmt.Errorf("%w (%v)", cerr, err)
		}
		se := &SendError{Stage: "connect", Err: fmt.Errorf("%s: %w", s.redacted, err)}
		var tpe *textproto.Error
		if errors.As(err, &tpe) {
			se.Code = tpe.Code // e.g. a 5xx greeting or AUTH reply; still not permanent
		}
		return se
	}

	fail := func(stage string, err error) error {
		se := &SendError{Stage: stage, Err: err}
		var tpe *textproto.Error
		if errors.As(err, &tpe) {
			se.Code = tpe.Code
			se.Permanent = tpe.Code >= 500 && tpe.Code <= 599
		}
		if cerr := ctx.Err(); cerr != nil {
			se.Err = fmt.Errorf("%w (%v)", cerr, err)
		}
		_ = sc.Close()
		return se
	}
	step := func() { _ = sc.UpdateDeadline(s.timeout) }
	step()
	if err := sc.Mail((&netmail.Address{Address: s.from.Address}).String()); err != nil {
		return fail("MAIL FROM", err)
	}
	step()
	if err := sc.Rcpt((&netmail.Address{Address: rcpt}).String()); err != nil {
		return fail("RCPT TO", err)
	}
	step()
	w, err := sc.Data()
	if err != nil {
		return fail("DATA", err)
	}
	step()
	if _, err := w.Write(raw); err != nil {
		return fail("DATA", err)
	}
	step()
	if err := w.Close(); err != nil {
		return fail("end of DATA", err)
	}
	// The server has accepted the message: a failing QUIT must not turn
	// this into an error (a retry would send it twice).
	step()
	_ = sc.Quit()
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
