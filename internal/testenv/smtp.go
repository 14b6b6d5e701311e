package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SMTPOption configures StartSMTP.
type SMTPOption func(*smtpOptions)

type smtpOptions struct {
	startTLS    bool
	implicitTLS bool
	maxSize     int
}

// WithSTARTTLS makes the server offer STARTTLS with a fresh self-signed
// certificate for 127.0.0.1 and require it before MAIL (aiosmtpd
// --tlscert/--tlskey). Trust it with SMTPServer.RootCAs.
func WithSTARTTLS() SMTPOption { return func(o *smtpOptions) { o.startTLS = true } }

// WithImplicitTLS makes the server speak TLS from the first byte (SMTPS,
// aiosmtpd --smtpscert/--smtpskey) with a fresh self-signed certificate for
// 127.0.0.1. Trust it with SMTPServer.RootCAs.
func WithImplicitTLS() SMTPOption { return func(o *smtpOptions) { o.implicitTLS = true } }

// WithMaxSize limits the message size the server accepts (aiosmtpd -s);
// larger messages get a real "552 Error: Too much mail data" reply.
func WithMaxSize(bytes int) SMTPOption { return func(o *smtpOptions) { o.maxSize = bytes } }

// SMTPServer is a real SMTP server (aiosmtpd, run as a subprocess with the
// aiosmtpd.handlers.Mailbox handler) storing every received message in a
// Maildir. It is stopped in t.Cleanup.
//
// Stop and Start must be called from the goroutine running the test that
// called StartSMTP (they call t.Fatalf on failure).
type SMTPServer struct {
	// Addr is the host:port the server listens on (127.0.0.1, fixed for
	// the server's life, also across Stop/Start).
	Addr string
	// MailDir is the Maildir the server delivers into (new/, cur/, tmp/).
	// It survives Stop/Start.
	MailDir string
	// RootCAs trusts the server's self-signed certificate when it was
	// started WithSTARTTLS or WithImplicitTLS; nil otherwise. The
	// certificate is valid for the IP 127.0.0.1 and the name localhost.
	RootCAs *x509.CertPool

	t          testing.TB
	python     string
	pythonPath string   // directory holding the handler module
	args       []string // everything after the python binary
	implicit   bool     // the server speaks TLS from the first byte

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    *syncBuffer
}

var (
	pythonOnce  sync.Once
	pythonPath  string
	pythonTried []string
)

// aiosmtpdPython finds a python3 that can import aiosmtpd. Debian's
// python3-aiosmtpd installs for /usr/bin/python3, which is not always the
// python3 first in PATH (pyenv and virtualenvs shadow it), so that one is
// tried first.
func aiosmtpdPython() (string, []string) {
	pythonOnce.Do(func() {
		candidates := []string{"/usr/bin/python3"}
		if p, err := exec.LookPath("python3"); err == nil && p != "/usr/bin/python3" {
			candidates = append(candidates, p)
		}
		for _, c := range candidates {
			pythonTried = append(pythonTried, c)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err := exec.CommandContext(ctx, c, "-c", "import aiosmtpd.handlers").Run()
			cancel()
			if err == nil {
				pythonPath = c
				return
			}
		}
	})
	return pythonPath, pythonTried
}

// StartSMTP starts a real SMTP server on a free 127.0.0.1 port:
//
//	python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c sellerguard_rawmaildir.RawMaildir MAILDIR
//
// waits until it accepts TCP connections and registers t.Cleanup to stop
// it. Without python3-aiosmtpd the test fails (strict) or is skipped.
//
// RawMaildir (written next to the Maildir) is a small aiosmtpd handler
// that stores each message byte for byte as received (after SMTP
// dot-unstuffing), with three trace headers prepended, the way an MTA
// prepends Received: X-Peer, X-MailFrom (envelope sender) and X-RcptTo
// (envelope recipients, comma separated). aiosmtpd's own
// aiosmtpd.handlers.Mailbox is not used because it re-serializes messages
// through Python's email package (for example "Subject:\r\n =?..." becomes
// "Subject: \r\n =?...") and stores LF line endings, which breaks byte-exact
// checks such as DKIM with simple canonicalization.
func StartSMTP(t testing.TB, opts ...SMTPOption) *SMTPServer {
	t.Helper()
	var o smtpOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.startTLS && o.implicitTLS {
		t.Fatalf("testenv: StartSMTP: WithSTARTTLS and WithImplicitTLS are exclusive")
	}
	py, tried := aiosmtpdPython()
	if py == "" {
		Missing(t, "no python3 with the aiosmtpd module (tried %s); install it with: %s",
			strings.Join(tried, ", "), InstallHint("aiosmtpd"))
		return nil
	}

	dir := t.TempDir()
	s := &SMTPServer{t: t, python: py, MailDir: filepath.Join(dir, "Maildir"), implicit: o.implicitTLS}
	var extra []string
	if o.startTLS || o.implicitTLS {
		certFile, keyFile, pool := writeSelfSignedCert(t, dir)
		s.RootCAs = pool
		if o.startTLS {
			extra = append(extra, "--tlscert", certFile, "--tlskey", keyFile)
		} else {
			extra = append(extra, "--smtpscert", certFile, "--smtpskey", keyFile)
		}
	}
	if o.maxSize > 0 {
		extra = append(extra, "-s", strconv.Itoa(o.maxSize))
	}
	s.pythonPath = filepath.Join(dir, "py")
	if err := os.Mkdir(s.pythonPath, 0o755); err != nil {
		t.Fatalf("testenv: StartSMTP: %v", err)
	}
	if err := os.WriteFile(filepath.Join(s.pythonPath, "sellerguard_rawmaildir.py"), []byte(rawMaildirHandler), 0o644); err != nil {
		t.Fatalf("testenv: StartSMTP: %v", err)
	}
	t.Cleanup(s.Stop)

	// Picking a free port and handing it to the child is racy; retry on
	// "address already in use".
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("testenv: StartSMTP: find a free port: %v", err)
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s.args = append([]string{"-m", "aiosmtpd", "-n", "-l", s.Addr}, extra...)
		s.args = append(s.args, "-c", "sellerguard_rawmaildir.RawMaildir", s.MailDir)
		lastErr = s.start()
		if lastErr == nil {
			return s
		}
		if !strings.Contains(lastErr.Error(), "in use") {
			break
		}
	}
	t.Fatalf("testenv: StartSMTP: %v", lastErr)
	return nil
}

// Start starts the server again after Stop, on the same address and
// Maildir. It does nothing if the server is running.
func (s *SMTPServer) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("testenv: SMTPServer.Start: %v", err)
	}
}

// Stop stops the server (SIGTERM, then SIGKILL after 5s) and waits until
// it has exited, so new connections are refused. It does nothing if the
// server is not running. Received messages stay in MailDir.
func (s *SMTPServer) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd, s.exited = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

func (s *SMTPServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	cmd := exec.Command(s.python, s.args...)
	logBuf := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logBuf, logBuf
	pyPath := s.pythonPath
	if old := os.Getenv("PYTHONPATH"); old != "" {
		pyPath += string(os.PathListSeparator) + old
	}
	cmd.Env = append(os.Environ(), "PYTHONPATH="+pyPath, "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1")
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %v", s.python, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()

	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("aiosmtpd exited before accepting connections on %s: %s\ncommand: %s %s\noutput:\n%s",
				s.Addr, cmd.ProcessState, s.python, strings.Join(s.args, " "), logBuf.String())
		default:
		}
		err := s.greets()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("aiosmtpd did not accept connections on %s within 20s: %v\noutput:\n%s", s.Addr, err, logBuf.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
	s.cmd, s.exited, s.log = cmd, exited, logBuf
	return nil
}

// greets reports whether the server is serving: it connects, completes
// the TLS handshake in implicit-TLS mode, and reads the 220 greeting, then
// says QUIT. A bare TCP connect is not enough: a restarted aiosmtpd can
// accept connections on its socket before its event loop answers them.
func (s *SMTPServer) greets() error {
	c, err := net.DialTimeout("tcp", s.Addr, 250*time.Millisecond)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	if err := c.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	if s.implicit {
		tc := tls.Client(c, &tls.Config{RootCAs: s.RootCAs, ServerName: "127.0.0.1"})
		if err := tc.Handshake(); err != nil {
			return fmt.Errorf("TLS handshake: %w", err)
		}
		c = tc
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read greeting: %w", err)
	}
	if !strings.HasPrefix(line, "220") {
		return fmt.Errorf("greeting %q is not 220", strings.TrimSpace(line))
	}
	_, _ = io.WriteString(c, "QUIT\r\n")
	return nil
}

// Log returns what the server process printed so far (useful in failure
// messages).
func (s *SMTPServer) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log == nil {
		return ""
	}
	return s.log.String()
}

// maildirName matches Python's Maildir file names:
// SECONDS.MMICROSECONDSPpidQcounter.hostname[:2,flags]
var maildirName = regexp.MustCompile(`^(\d+)\.M(\d+)P(\d+)Q(\d+)\.`)

type maildirEntry struct {
	path              string
	sec, usec, q, pid int64
}

// Messages returns the raw RFC 5322 messages received so far, oldest
// first, read from MailDir's new/ and cur/: exactly the bytes the client
// sent (CRLF line endings), preceded by the trace headers described at
// StartSMTP.
func (s *SMTPServer) Messages(t testing.TB) [][]byte {
	t.Helper()
	msgs, err := s.readMessages()
	if err != nil {
		t.Fatalf("testenv: SMTPServer.Messages: %v", err)
	}
	return msgs
}

// WaitMessages waits until at least n messages have arrived and returns
// all messages received so far (oldest first). It fails the test if fewer
// than n arrive within timeout.
func (s *SMTPServer) WaitMessages(t testing.TB, n int, timeout time.Duration) [][]byte {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs, err := s.readMessages()
		if err != nil {
			t.Fatalf("testenv: SMTPServer.WaitMessages: %v", err)
		}
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: SMTPServer.WaitMessages: got %d messages, want at least %d within %v\nserver output:\n%s",
				len(msgs), n, timeout, s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *SMTPServer) readMessages() ([][]byte, error) {
	var entries []maildirEntry
	for _, sub := range []string{"new", "cur"} {
		dir := filepath.Join(s.MailDir, sub)
		des, err := os.ReadDir(dir)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, de := range des {
			if de.IsDir() || strings.HasPrefix(de.Name(), ".") {
				continue
			}
			e := maildirEntry{path: filepath.Join(dir, de.Name())}
			if m := maildirName.FindStringSubmatch(de.Name()); m != nil {
				e.sec, _ = strconv.ParseInt(m[1], 10, 64)
				e.usec, _ = strconv.ParseInt(m[2], 10, 64)
				e.pid, _ = strconv.ParseInt(m[3], 10, 64)
				e.q, _ = strconv.ParseInt(m[4], 10, 64)
			} else if fi, err := de.Info(); err == nil {
				e.sec, e.usec = fi.ModTime().Unix(), int64(fi.ModTime().Nanosecond()/1000)
			}
			entries = append(entries, e)
		}
	}
	sort.Slice(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		switch {
		case a.sec != b.sec:
			return a.sec < b.sec
		case a.usec != b.usec:
			return a.usec < b.usec
		case a.pid != b.pid:
			return a.pid < b.pid
		case a.q != b.q:
			return a.q < b.q
		}
		return a.path < b.path
	})
	msgs := make([][]byte, 0, len(entries))
	for _, e := range entries {
		b, err := os.ReadFile(e.path)
		if os.IsNotExist(err) { // moved from new/ to cur/ meanwhile
			return s.readMessages()
		}
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, b)
	}
	return msgs, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// writeSelfSignedCert writes a self-signed ECDSA certificate for 127.0.0.1
// and localhost into dir and returns the file names and a pool trusting it.
func writeSelfSignedCert(t testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("testenv: generate key: %v", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatalf("testenv: serial: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "sellerguard test SMTP server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("testenv: create certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("testenv: parse certificate: %v", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("testenv: marshal key: %v", err)
	}
	certFile, keyFile = filepath.Join(dir, "smtp-cert.pem"), filepath.Join(dir, "smtp-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a child
// process's stdout and stderr copiers and readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// rawMaildirHandler is the aiosmtpd handler module StartSMTP runs.
const rawMaildirHandler = `"""aiosmtpd handler for SellerGuard tests (written by internal/testenv).

Stores every message byte for byte as received into a Maildir, with the
envelope prepended as X-Peer, X-MailFrom and X-RcptTo trace headers.
"""
import mailbox


class RawMaildir:
    def __init__(self, mail_dir):
        self.mailbox = mailbox.Maildir(mail_dir, create=True)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("RawMaildir needs exactly one argument: the Maildir path")
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content
        if content is None:
            content = envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        trace = "X-Peer: %s\r\nX-MailFrom: %s\r\nX-RcptTo: %s\r\n" % (
            session.peer[0] if session.peer else "",
            envelope.mail_from,
            ", ".join(envelope.rcpt_tos),
        )
        self.mailbox.add(trace.encode("utf-8", "surrogateescape") + bytes(content))
        return "250 OK"
`
