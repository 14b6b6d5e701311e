package phishreport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/phishing"
)

// DefaultMaxMessageBytes is the largest message the SMTP intake accepts:
// a 1 MiB reported message attached in base64 (a third larger) with the
// reporter's own text around it. SIZE advertises it, and DATA past it is
// refused with 552.
const DefaultMaxMessageBytes = 1<<20*3/2 + 64<<10

// DefaultMaxConnections bounds the SMTP connections served at once.
const DefaultMaxConnections = 32

// Intake is the SMTP listener for the report address
// (SELLERGUARD_REPORT_SMTP_ADDR and SELLERGUARD_REPORT_ADDRESS). It accepts
// mail for that one address only (RCPT to any other is refused: no relay),
// takes the reported message from a message/rfc822 attachment (forward as
// attachment) or, failing that, the whole message (inline forward), and
// puts it in the queue like every other report. It speaks plain SMTP
// without AUTH or TLS: run it behind the MX of the report address's
// domain, or on a private network.
type Intake struct {
	Service *Service
	// Address is the report address, e.g. stop-spoofing@example.com.
	Address string
	// Domain is the host name in the greeting.
	Domain          string
	MaxMessageBytes int64
	MaxConnections  int
	Timeout         time.Duration
	Logger          *slog.Logger

	mu     sync.Mutex
	server *smtp.Server
}

// Serve accepts connections on ln until Shutdown.
func (in *Intake) Serve(ln net.Listener) error {
	srv := smtp.NewServer(in)
	srv.Domain = in.Domain
	if srv.Domain == "" {
		srv.Domain = "localhost"
	}
	srv.MaxMessageBytes = in.MaxMessageBytes
	if srv.MaxMessageBytes <= 0 {
		srv.MaxMessageBytes = DefaultMaxMessageBytes
	}
	srv.MaxRecipients = 10
	srv.ReadTimeout, srv.WriteTimeout = in.Timeout, in.Timeout
	if in.Timeout <= 0 {
		srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	}
	srv.ErrorLog = slogLogger{in.logger()}
	max := in.MaxConnections
	if max <= 0 {
		max = DefaultMaxConnections
	}
	in.mu.Lock()
	in.server = srv
	in.mu.Unlock()
	err := srv.Serve(&limitListener{Listener: ln, sem: make(chan struct{}, max)})
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting and waits (until ctx ends) for open sessions.
func (in *Intake) Shutdown(ctx context.Context) error {
	in.mu.Lock()
	srv := in.server
	in.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	if err != nil {
		return srv.Close()
	}
	return nil
}

func (in *Intake) logger() *slog.Logger {
	if in.Logger != nil {
		return in.Logger
	}
	return slog.Default()
}

// NewSession implements smtp.Backend: a source over its report limit is
// turned away at once.
func (in *Intake) NewSession(c *smtp.Conn) (smtp.Session, error) {
	ip := ""
	if a, ok := c.Conn().RemoteAddr().(*net.TCPAddr); ok {
		ip = a.IP.String()
	}
	s := in.Service
	now := s.now()
	retry, err := s.Limiter.Over(context.Background(), s.DB, sourceKey(ip), now, s.perSource(), s.window())
	if err != nil {
		return nil, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Please try again later"}
	}
	if !retry.IsZero() {
		return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many reports from your address; please try again later"}
	}
	return &session{in: in, ip: ip}, nil
}

type session struct {
	in       *Intake
	ip       string
	from     string
	accepted bool
}

func (s *session) Reset()        { s.from, s.accepted = "", false }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = strings.TrimSpace(from)
	return nil
}

var errRelay = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Relaying denied: this server accepts mail only for the report address"}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !strings.EqualFold(strings.TrimSpace(to), s.in.Address) {
		return errRelay
	}
	s.accepted = true
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return se // 552: over MaxMessageBytes
		}
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Could not read the message"}
	}
	if !s.accepted {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "No valid recipients"}
	}
	reported := ReportedMessage(raw)
	reporter := s.from
	if reporter == "" {
		if m, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
			if a, err := mail.ParseAddress(m.Header.Get("From")); err == nil {
				reporter = a.Address
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := s.in.Service.Submit(ctx, Submission{Source: SourceSMTP, Raw: reported, ReporterEmail: reporter, IP: s.ip})
	if err != nil {
		var e *sellerguard.Error
		if errors.As(err, &e) {
			switch {
			case e.Code == sellerguard.ECodeRateLimited:
				return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many reports from your address; please try again later"}
			case e.Code == sellerguard.ECodeTooLarge:
				return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "The reported message is larger than 1 MiB"}
			case e.Code == sellerguard.ECodeInvalidInput:
				return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "The reported message could not be analysed: " + strings.TrimSuffix(e.Message, ".")}
			}
		}
		s.in.logger().Error("phishing report by SMTP", "err", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Please try again later"}
	}
	s.in.logger().Info("phishing report received", "id", rep.ID, "source", SourceSMTP, "verdict", rep.Verdict, "ip", s.ip)
	return nil
}

// ReportedMessage returns the message a report carries: the first
// message/rfc822 part (a forward as attachment, also an attached .eml), or
// the whole message when there is none (an inline forward). The walk is
// bounded (depth 5, 100 parts).
func ReportedMessage(raw []byte) []byte {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return raw
	}
	parts := 0
	if inner := findRFC822(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), "", m.Body, 0, &parts); inner != nil {
		return inner
	}
	return raw
}

func findRFC822(contentType, cte, disposition string, body io.Reader, depth int, parts *int) []byte {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || depth > 5 {
		return nil
	}
	_, dparams, _ := mime.ParseMediaType(disposition)
	name := strings.ToLower(dparams["filename"] + params["name"])
	switch {
	case mt == "message/rfc822" || (depth > 0 && strings.HasSuffix(name, ".eml")):
		b, err := io.ReadAll(decode(cte, io.LimitReader(body, DefaultMaxMessageBytes)))
		if err != nil || len(bytes.TrimSpace(b)) == 0 {
			return nil
		}
		return b
	case strings.HasPrefix(mt, "multipart/") && params["boundary"] != "":
		mr := multipart.NewReader(body, params["boundary"])
		for *parts < 100 {
			p, err := mr.NextRawPart()
			if err != nil {
				return nil
			}
			*parts++
			if b := findRFC822(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p.Header.Get("Content-Disposition"), p, depth+1, parts); b != nil {
				return b
			}
		}
	}
	return nil
}

func decode(cte string, r io.Reader) io.Reader { return phishing.TransferDecoder(cte, r) }

// limitListener serves at most cap(sem) connections at once; the rest
// wait in the kernel's accept queue.
type limitListener struct {
	net.Listener
	sem chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// slogLogger is go-smtp's Logger on slog.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Printf(format string, v ...any) {
	s.l.Warn("smtp intake", "detail", strings.TrimSpace(fmt.Sprintf(format, v...)))
}
func (s slogLogger) Println(v ...any) {
	s.l.Warn("smtp intake", "detail", strings.TrimSpace(fmt.Sprint(v...)))
}
