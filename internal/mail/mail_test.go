package mail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/testenv"
)

const waitTime = 10 * time.Second

func TestNewSMTPSenderRejects(t *testing.T) {
	const from = "SellerGuard <no-reply@example.com>"
	cases := []struct {
		name, url, from, want string
	}{
		{"empty URL", "", from, "empty"},
		{"http scheme", "http://mail.example.com:25", from, "not supported"},
		{"no scheme", "mail.example.com:25", from, "not supported"},
		{"no scheme, no port", "mail.example.com", from, "no scheme"},
		{"missing host", "smtp://:25", from, "no host"},
		{"missing host 2", "smtp://", from, "no host"},
		{"port zero", "smtp://mail.example.com:0", from, "invalid port"},
		{"port too big", "smtp://mail.example.com:70000", from, "invalid port"},
		{"port not numeric", "smtp://mail.example.com:smtp", from, "invalid SMTP URL"},
		{"empty port", "smtp://mail.example.com:", from, "empty port"},
		{"path", "smtp://mail.example.com:25/x", from, "path"},
		{"query", "smtp://mail.example.com:25?tls=no", from, "query"},
		{"password only", "smtp://:secret@mail.example.com:25", from, "without a user name"},
		{"empty From", "smtp://mail.example.com:25", "", "From address is empty"},
		{"bad From", "smtp://mail.example.com:25", "not an address", "not a valid address"},
		{"From without domain", "smtp://mail.example.com:25", "Name <local>", "not a valid address"},
		{"From with CRLF", "smtp://mail.example.com:25", "a@example.com\r\nBcc: x@evil.example", "not a valid address"},
		{"non-ASCII From", "smtp://mail.example.com:25", "ü@exämple.com", "ASCII"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := NewSMTPSender(SMTPConfig{URL: c.url, From: c.from})
			if err == nil {
				t.Fatalf("NewSMTPSender(%q, %q) = %+v, want error", c.url, c.from, s)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
	if _, err := NewSMTPSender(SMTPConfig{URL: "smtp://a:b@x:25", From: from, Timeout: -time.Second}); err == nil {
		t.Error("negative timeout accepted")
	}
}

func TestNewSMTPSenderErrorsHidePassword(t *testing.T) {
	for _, u := range []string{
		"smtp://user:s3cretpw@mail.example.com:25/path",
		"smtp://user:s3cretpw@mail example.com:25",
		"ftp://user:s3cretpw@mail.example.com:25",
		"smtp://user:s3cretpw@mail.example.com:99999",
	} {
		_, err := NewSMTPSender(SMTPConfig{URL: u, From: "a@example.com"})
		if err == nil {
			t.Fatalf("%q accepted", u)
		}
		if strings.Contains(err.Error(), "s3cretpw") {
			t.Errorf("error for %q leaks the password: %v", u, err)
		}
	}
}

func TestNewSMTPSenderAccepts(t *testing.T) {
	cases := []struct {
		url      string
		host     string
		port     int
		mode     tlsMode
		user     string
		pass     string
		hasAuth  bool
		redacted string
	}{
		{url: "smtp://mail.example.com", host: "mail.example.com", port: 25, mode: tlsOpportunistic},
		{url: "smtp://127.0.0.1:2525", host: "127.0.0.1", port: 2525, mode: tlsOpportunistic},
		{url: "SMTP://mail.example.com:25/", host: "mail.example.com", port: 25, mode: tlsOpportunistic},
		{url: "smtp+starttls://mail.example.com", host: "mail.example.com", port: 587, mode: tlsStartTLS},
		{url: "smtps://[::1]:4650", host: "::1", port: 4650, mode: tlsImplicit},
		{url: "smtps://mail.example.com", host: "mail.example.com", port: 465, mode: tlsImplicit},
		{url: "smtp+starttls://u%40x:p%3Aw%2F@mail.example.com:587", host: "mail.example.com", port: 587,
			mode: tlsStartTLS, user: "u@x", pass: "p:w/", hasAuth: true},
	}
	for _, c := range cases {
		s, err := NewSMTPSender(SMTPConfig{URL: c.url, From: "SellerGuard <No-Reply@Example.COM>"})
		if err != nil {
			t.Errorf("NewSMTPSender(%q): %v", c.url, err)
			continue
		}
		if s.host != c.host || s.port != c.port || s.mode != c.mode || s.user != c.user || s.pass != c.pass || s.hasAuth != c.hasAuth {
			t.Errorf("%q: got host=%q port=%d mode=%d user=%q pass=%q auth=%v", c.url, s.host, s.port, s.mode, s.user, s.pass, s.hasAuth)
		}
		if s.domain != "example.com" || s.timeout != DefaultTimeout || s.tlsConfig.ServerName != c.host {
			t.Errorf("%q: domain=%q timeout=%v servername=%q", c.url, s.domain, s.timeout, s.tlsConfig.ServerName)
		}
		if c.hasAuth && strings.Contains(s.redacted, c.pass) {
			t.Errorf("redacted URL %q contains the password", s.redacted)
		}
	}
}

// newSender returns a sender for the test server.
func newSender(t *testing.T, url string, mod func(*SMTPConfig)) *SMTPSender {
	t.Helper()
	cfg := SMTPConfig{URL: url, From: "SellerGuard <no-reply@sellerguard.example>", Timeout: 10 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	s, err := NewSMTPSender(cfg)
	if err != nil {
		t.Fatalf("NewSMTPSender: %v", err)
	}
	return s
}

// stripTrace removes the X-Peer, X-MailFrom and X-RcptTo headers the test
// server adds, giving back the bytes the client sent.
func stripTrace(t *testing.T, received []byte) []byte {
	t.Helper()
	i := bytes.Index(received, []byte("\r\n\r\n"))
	if i < 0 {
		t.Fatalf("no header/body separator in\n%s", received)
	}
	var out bytes.Buffer
	for _, line := range strings.SplitAfter(string(received[:i+2]), "\r\n") {
		if strings.HasPrefix(line, "X-Peer:") || strings.HasPrefix(line, "X-MailFrom:") || strings.HasPrefix(line, "X-RcptTo:") {
			continue
		}
		out.WriteString(line)
	}
	out.Write(received[i+2:])
	return out.Bytes()
}

func parse(t *testing.T, raw []byte) *netmail.Message {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, raw)
	}
	return m
}

func decodePart(t *testing.T, r io.Reader, cte string) string {
	t.Helper()
	if strings.EqualFold(cte, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

func TestSendDeliversTextAndHTML(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newSender(t, "smtp://"+srv.Addr, nil)
	m := Message{
		To:      "Alice Müller <alice@example.com>",
		Subject: "Sicherheitswarnung – neues Gerät angemeldet",
		Text: "Hallo Alice,\n\nein neues Gerät hat sich angemeldet.\n.Zeile mit Punkt am Anfang\n" +
			strings.Repeat("lange Zeile ", 20) + "\n",
		HTML: "<p>Hallo Alice,</p>\n<p>ein <b>neues Gerät</b> hat sich angemeldet.</p>\n",
	}
	id, raw, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := srv.WaitMessages(t, 1, waitTime)
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}

	// raw is exactly what went over the wire.
	if got := stripTrace(t, msgs[0]); !bytes.Equal(got, raw) {
		t.Errorf("received bytes differ from returned raw\nreceived:\n%s\nraw:\n%s", got, raw)
	}

	got := parse(t, msgs[0])
	if g := got.Header.Get("Message-Id"); g != id {
		t.Errorf("Message-ID header %q != returned id %q", g, id)
	}
	if !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@sellerguard.example>") {
		t.Errorf("generated id %q not <random@sellerguard.example>", id)
	}
	to, err := got.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != "alice@example.com" || to[0].Name != "Alice Müller" {
		t.Errorf("To = %v (%v)", to, err)
	}
	from, err := got.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Address != "no-reply@sellerguard.example" {
		t.Errorf("From = %v (%v)", from, err)
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(got.Header.Get("Subject"))
	if err != nil || subj != m.Subject {
		t.Errorf("Subject = %q (%v), want %q", subj, err, m.Subject)
	}
	if got.Header.Get("Bcc") != "" || got.Header.Get("Cc") != "" {
		t.Errorf("unexpected Cc/Bcc header")
	}
	if d, err := got.Header.Date(); err != nil || time.Since(d) > time.Hour || time.Until(d) > time.Hour {
		t.Errorf("Date = %v (%v)", d, err)
	}
	if r := got.Header.Get("X-RcptTo"); r != "alice@example.com" {
		t.Errorf("envelope recipients = %q", r)
	}
	if r := got.Header.Get("X-MailFrom"); r != "no-reply@sellerguard.example" {
		t.Errorf("envelope sender = %q", r)
	}

	mediaType, params, err := mime.ParseMediaType(got.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", got.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(got.Body, params["boundary"])
	bodies := map[string]string{}
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, cparams, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if !strings.EqualFold(cparams["charset"], "utf-8") {
			t.Errorf("part %s charset = %q", ct, cparams["charset"])
		}
		bodies[ct] = decodePart(t, p, p.Header.Get("Content-Transfer-Encoding"))
	}
	if bodies["text/plain"] != m.Text {
		t.Errorf("text/plain part = %q, want %q", bodies["text/plain"], m.Text)
	}
	if bodies["text/html"] != m.HTML {
		t.Errorf("text/html part = %q, want %q", bodies["text/html"], m.HTML)
	}
}

func TestSendTextOnly(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newSender(t, "smtp://"+srv.Addr, nil)
	_, _, err := s.Send(context.Background(), Message{To: "bob@example.com", Subject: "Code", Text: "Your code is 123456.\n"})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := parse(t, srv.WaitMessages(t, 1, waitTime)[0])
	mediaType, _, _ := mime.ParseMediaType(got.Header.Get("Content-Type"))
	if mediaType != "text/plain" {
		t.Fatalf("Content-Type = %q, want text/plain", got.Header.Get("Content-Type"))
	}
	if body := decodePart(t, got.Body, got.Header.Get("Content-Transfer-Encoding")); body != "Your code is 123456.\n" {
		t.Errorf("body = %q", body)
	}
	if got.Header.Get("Subject") != "Code" {
		t.Errorf("Subject = %q", got.Header.Get("Subject"))
	}
	if ua := got.Header.Get("User-Agent") + got.Header.Get("X-Mailer"); ua != "" {
		t.Errorf("mailer advertised: %q", ua)
	}
}

func TestSendMessageID(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newSender(t, "smtp://"+srv.Addr, nil)
	ctx := context.Background()

	for i, given := range []string{"ledger-42@sellerguard.example", "<ledger-43@sellerguard.example>"} {
		id, _, err := s.Send(ctx, Message{To: "a@example.com", Subject: "x", Text: "x", MessageID: given})
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		want := "<" + strings.Trim(given, "<>") + ">"
		if id != want {
			t.Errorf("returned id %q, want %q", id, want)
		}
		got := parse(t, srv.WaitMessages(t, i+1, waitTime)[i])
		if h := got.Header.Get("Message-Id"); h != want {
			t.Errorf("Message-ID header %q, want %q", h, want)
		}
	}

	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		id, _, err := s.Send(ctx, Message{To: "a@example.com", Subject: "x", Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if seen[id] || len(id) < 32 {
			t.Errorf("generated id %q repeated or too short", id)
		}
		seen[id] = true
	}

	for _, bad := range []string{"no-at-sign", "a@b@c", "has space@x", "a@b>\r\nBcc: x@evil.example", "@x", "x@"} {
		_, _, err := s.Send(ctx, Message{To: "a@example.com", Subject: "x", Text: "x", MessageID: bad})
		if !errors.Is(err, ErrInvalidMessage) || !IsPermanent(err) {
			t.Errorf("MessageID %q: err = %v, want permanent ErrInvalidMessage", bad, err)
		}
	}
	if n := len(srv.Messages(t)); n != 5 {
		t.Errorf("server got %d messages, want 5", n)
	}
}

func TestSendHeaderInjection(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newSender(t, "smtp://"+srv.Addr, nil)
	ctx := context.Background()
	for _, m := range []Message{
		{To: "victim@example.com", Subject: "Hello\r\nBcc: x@evil.example", Text: "x"},
		{To: "victim@example.com", Subject: "Hello\nBcc: x@evil.example", Text: "x"},
		{To: "victim@example.com", Subject: "Hello\rBcc: x@evil.example", Text: "x"},
		{To: "victim@example.com\r\nBcc: x@evil.example", Subject: "Hello", Text: "x"},
		{To: "victim@example.com, x@evil.example", Subject: "Hello", Text: "x"},
	} {
		_, _, err := s.Send(ctx, m)
		if err == nil {
			t.Fatalf("Send(%q) succeeded", m)
		}
		if !errors.Is(err, ErrInvalidMessage) || !IsPermanent(err) {
			t.Errorf("Send(%q): err = %v, want permanent ErrInvalidMessage", m, err)
		}
	}
	if _, _, err := s.Send(ctx, Message{To: "victim@example.com", Subject: "Hello Bcc: x@evil.example", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	msgs := srv.WaitMessages(t, 1, waitTime)
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages, want 1", len(msgs))
	}
	got := parse(t, msgs[0])
	if _, ok := got.Header["Bcc"]; ok {
		t.Errorf("message has a Bcc header:\n%s", msgs[0])
	}
	if r := got.Header.Get("X-RcptTo"); r != "victim@example.com" {
		t.Errorf("envelope recipients = %q", r)
	}
	if bytes.Contains(bytes.ToLower(msgs[0]), []byte("evil.example")) && got.Header.Get("Subject") != "Hello Bcc: x@evil.example" {
		t.Errorf("unexpected evil.example in\n%s", msgs[0])
	}
}

func TestSendInvalidMessages(t *testing.T) {
	s := newSender(t, "smtp://127.0.0.1:1", nil) // never contacted
	for _, m := range []Message{
		{To: "", Subject: "x", Text: "x"},
		{To: "not an address", Subject: "x", Text: "x"},
		{To: "local-only", Subject: "x", Text: "x"},
		{To: "a@example.com", Subject: "x", Text: ""},
	} {
		_, _, err := s.Send(context.Background(), m)
		var se *SendError
		if !errors.Is(err, ErrInvalidMessage) || !IsPermanent(err) || !errors.As(err, &se) || se.Stage != "message" {
			t.Errorf("Send(%+v): err = %v, want permanent ErrInvalidMessage at stage message", m, err)
		}
	}
}

func TestSendStoppedServerIsTemporary(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newSender(t, "smtp://"+srv.Addr, nil)
	srv.Stop()
	_, _, err := s.Send(context.Background(), Message{To: "a@example.com", Subject: "x", Text: "x"})
	if err == nil {
		t.Fatal("Send to a stopped server succeeded")
	}
	if IsPermanent(err) {
		t.Errorf("connection failure classified permanent: %v", err)
	}
	var se *SendError
	if !errors.As(err, &se) || se.Stage != "connect" || se.Code != 0 {
		t.Errorf("err = %#v, want stage connect, no code", err)
	}

	// The retry an outbox worker would make succeeds once the server is back.
	srv.Start()
	if _, _, err := s.Send(context.Background(), Message{To: "a@example.com", Subject: "retry", Text: "x"}); err != nil {
		t.Fatalf("Send after restart: %v", err)
	}
	if got := parse(t, srv.WaitMessages(t, 1, waitTime)[0]); got.Header.Get("Subject") != "retry" {
		t.Errorf("Subject = %q", got.Header.Get("Subject"))
	}
}

func TestSendCanceledContext(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newSender(t, "smtp://"+srv.Addr, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := s.Send(ctx, Message{To: "a@example.com", Subject: "x", Text: "x"})
	if !errors.Is(err, context.Canceled) || IsPermanent(err) {
		t.Fatalf("err = %v, want non-permanent context.Canceled", err)
	}
	// The server stores a message before it answers 250: anything it
	// accepted is visible now, no need to wait.
	if n := len(srv.Messages(t)); n != 0 {
		t.Fatalf("server got %d messages, want 0", n)
	}
}

func TestSendRejectedBySizeIsPermanent(t *testing.T) {
	srv := testenv.StartSMTP(t, testenv.WithMaxSize(4000))
	s := newSender(t, "smtp://"+srv.Addr, nil)
	_, _, err := s.Send(context.Background(), Message{To: "a@example.com", Subject: "big", Text: strings.Repeat("0123456789abcdef\n", 1000)})
	if err == nil {
		t.Fatal("oversized message accepted")
	}
	var se *SendError
	if !IsPermanent(err) || !errors.As(err, &se) || se.Code != 552 {
		t.Fatalf("err = %v, want permanent with code 552", err)
	}
	if _, _, err := s.Send(context.Background(), Message{To: "a@example.com", Subject: "small", Text: "ok"}); err != nil {
		t.Fatalf("small message after a rejected one: %v", err)
	}
	srv.WaitMessages(t, 1, waitTime)
}

// prefixSigner prepends a header carrying the SHA-256 of the message.
type prefixSigner struct {
	mu    sync.Mutex
	calls int
	fail  bool
}

func (p *prefixSigner) Sign(raw []byte) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.fail {
		return nil, errors.New("signing key unavailable")
	}
	sum := sha256.Sum256(raw)
	return append([]byte("X-Test-Signature: "+hex.EncodeToString(sum[:])+"\r\n"), raw...), nil
}

func TestSendSigner(t *testing.T) {
	srv := testenv.StartSMTP(t)
	signer := &prefixSigner{}
	s := newSender(t, "smtp://"+srv.Addr, func(c *SMTPConfig) { c.Signer = signer })
	_, raw, err := s.Send(context.Background(), Message{To: "a@example.com", Subject: "signed", Text: "body\n"})
	if err != nil {
		t.Fatal(err)
	}
	if signer.calls != 1 || !bytes.HasPrefix(raw, []byte("X-Test-Signature: ")) {
		t.Fatalf("raw is not the signed message (calls=%d):\n%s", signer.calls, raw)
	}
	unsigned := raw[bytes.Index(raw, []byte("\r\n"))+2:]
	sum := sha256.Sum256(unsigned)
	got := parse(t, srv.WaitMessages(t, 1, waitTime)[0])
	if h := got.Header.Get("X-Test-Signature"); h != hex.EncodeToString(sum[:]) {
		t.Errorf("received signature %q does not match the signed bytes", h)
	}
	if rec := stripTrace(t, srv.Messages(t)[0]); !bytes.Equal(rec, raw) {
		t.Errorf("received bytes differ from signed raw\nreceived:\n%s\nraw:\n%s", rec, raw)
	}

	signer.fail = true
	_, _, err = s.Send(context.Background(), Message{To: "a@example.com", Subject: "unsigned", Text: "x"})
	var se *SendError
	if err == nil || IsPermanent(err) || !errors.As(err, &se) || se.Stage != "sign" {
		t.Fatalf("signer failure: err = %v, want non-permanent at stage sign", err)
	}
	// The server stores a message before it answers 250: anything it
	// accepted is visible now, no need to wait.
	if n := len(srv.Messages(t)); n != 1 {
		t.Errorf("server got %d messages, want 1 (nothing sent when signing fails)", n)
	}
}

func TestSendSTARTTLS(t *testing.T) {
	srv := testenv.StartSMTP(t, testenv.WithSTARTTLS())
	trust := func(c *SMTPConfig) { c.TLSConfig = &tls.Config{RootCAs: srv.RootCAs} }
	// The server refuses MAIL before STARTTLS, so delivery proves TLS.
	for i, u := range []string{"smtp+starttls://" + srv.Addr, "smtp://" + srv.Addr} {
		s := newSender(t, u, trust)
		if _, _, err := s.Send(context.Background(), Message{To: "a@example.com", Subject: u, Text: "x"}); err != nil {
			t.Fatalf("Send via %s: %v", u, err)
		}
		srv.WaitMessages(t, i+1, waitTime)
	}

	// An untrusted certificate is a (non-permanent) failure, not a
	// fallback to plain text.
	s := newSender(t, "smtp+starttls://"+srv.Addr, nil)
	_, _, err := s.Send(context.Background(), Message{To: "a@example.com", Subject: "x", Text: "x"})
	if err == nil || IsPermanent(err) {
		t.Fatalf("untrusted certificate: err = %v, want non-permanent error", err)
	}
}

func TestSendMandatorySTARTTLSNotOffered(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newSender(t, "smtp+starttls://"+srv.Addr, nil)
	_, _, err := s.Send(context.Background(), Message{To: "a@example.com", Subject: "x", Text: "x"})
	if err == nil || IsPermanent(err) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("err = %v, want non-permanent STARTTLS error", err)
	}
	// The server stores a message before it answers 250: anything it
	// accepted is visible now, no need to wait.
	if n := len(srv.Messages(t)); n != 0 {
		t.Fatalf("message sent in plain text despite smtp+starttls://")
	}
}

func TestSendImplicitTLS(t *testing.T) {
	srv := testenv.StartSMTP(t, testenv.WithImplicitTLS())
	s := newSender(t, "smtps://"+srv.Addr, func(c *SMTPConfig) { c.TLSConfig = &tls.Config{RootCAs: srv.RootCAs} })
	id, _, err := s.Send(context.Background(), Message{To: "a@example.com", Subject: "smtps", Text: "x"})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := parse(t, srv.WaitMessages(t, 1, waitTime)[0]); got.Header.Get("Message-Id") != id {
		t.Errorf("Message-ID mismatch")
	}

	// Plain SMTP against a TLS port fails without hanging for the timeout.
	plain := newSender(t, "smtp://"+srv.Addr, func(c *SMTPConfig) { c.Timeout = 500 * time.Millisecond })
	if _, _, err := plain.Send(context.Background(), Message{To: "a@example.com", Subject: "x", Text: "x"}); err == nil || IsPermanent(err) {
		t.Fatalf("plain SMTP to an SMTPS port: err = %v", err)
	}
}

func TestSendAuthUnsupportedIsTemporary(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newSender(t, "smtp://user:s3cretpw@"+srv.Addr, nil)
	_, _, err := s.Send(context.Background(), Message{To: "a@example.com", Subject: "x", Text: "x"})
	if err == nil || IsPermanent(err) || !strings.Contains(err.Error(), "AUTH") {
		t.Fatalf("err = %v, want non-permanent AUTH error", err)
	}
	if strings.Contains(err.Error(), "s3cretpw") {
		t.Errorf("error leaks the password: %v", err)
	}
}

func TestSendConcurrent(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newSender(t, "smtp://"+srv.Addr, nil)
	const n = 8
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, _, err := s.Send(context.Background(), Message{To: fmt.Sprintf("u%d@example.com", i), Subject: fmt.Sprint(i), Text: "x"})
			ids[i] = id
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	msgs := srv.WaitMessages(t, n, waitTime)
	got := map[string]bool{}
	for _, raw := range msgs {
		got[parse(t, raw).Header.Get("Message-Id")] = true
	}
	for _, id := range ids {
		if !got[id] {
			t.Errorf("message %s not received", id)
		}
	}
}
