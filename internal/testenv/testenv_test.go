package testenv

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// recordingTB records Fatalf/Skipf instead of acting on the real test.
type recordingTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recordingTB) Skipf(format string, args ...any) {
	r.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// runRecorded runs f with a recordingTB on its own goroutine, as Fatalf
// and Skipf end the goroutine.
func runRecorded(t *testing.T, f func(tb testing.TB)) *recordingTB {
	r := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func TestMissingDependencyStrictFailsOtherwiseSkips(t *testing.T) {
	const name = "sellerguard-no-such-command-xyz"

	t.Setenv(StrictEnv, "1")
	r := runRecorded(t, func(tb testing.TB) { RequireCommand(tb, name) })
	if r.fatal == "" || r.skip != "" {
		t.Fatalf("strict: want Fatalf, got fatal=%q skip=%q", r.fatal, r.skip)
	}
	if !strings.Contains(r.fatal, name) || !strings.Contains(r.fatal, "install") {
		t.Errorf("strict message should name the command and how to install it: %q", r.fatal)
	}

	t.Setenv(StrictEnv, "")
	r = runRecorded(t, func(tb testing.TB) { RequireCommand(tb, name) })
	if r.skip == "" || r.fatal != "" {
		t.Fatalf("non-strict: want Skipf, got fatal=%q skip=%q", r.fatal, r.skip)
	}

	r = runRecorded(t, func(tb testing.TB) { RequireCommand(tb, "oathtool-but-missing") })
	if !strings.Contains(r.skip, "apt-get install") {
		t.Errorf("skip message should name an install command: %q", r.skip)
	}
	if got := InstallHint("dkimverify"); got != "apt-get install -y python3-dkim" {
		t.Errorf("InstallHint(dkimverify) = %q", got)
	}
}

func TestPostgresURLUnsetFollowsStrictRule(t *testing.T) {
	t.Setenv(PostgresURLEnv, "")
	t.Setenv(StrictEnv, "1")
	if r := runRecorded(t, func(tb testing.TB) { PostgresURL(tb) }); r.fatal == "" {
		t.Errorf("strict: want Fatalf, got skip=%q", r.skip)
	}
	t.Setenv(StrictEnv, "0")
	if r := runRecorded(t, func(tb testing.TB) { PostgresURL(tb) }); r.skip == "" || !strings.Contains(r.skip, PostgresURLEnv) {
		t.Errorf("non-strict: want Skipf naming %s, got fatal=%q skip=%q", PostgresURLEnv, r.fatal, r.skip)
	}
}

func TestRequireCommandFindsSh(t *testing.T) {
	p := RequireCommand(t, "sh")
	if !isExecutable(p) {
		t.Fatalf("RequireCommand(sh) = %q, not executable", p)
	}
}

func TestRequireOutsideTools(t *testing.T) {
	for _, name := range []string{"oathtool", "dkimverify"} {
		t.Run(name, func(t *testing.T) {
			p := RequireCommand(t, name)
			if !isExecutable(p) {
				t.Fatalf("RequireCommand(%s) = %q, not executable", name, p)
			}
		})
	}
}

func TestChromiumPath(t *testing.T) {
	p := ChromiumPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, p, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", p, err, out)
	}
	if !strings.Contains(strings.ToLower(string(out)), "chromium") {
		t.Errorf("%s --version printed %q", p, out)
	}
}

func TestPostgresURL(t *testing.T) {
	var first string
	t.Run("create", func(t *testing.T) {
		first = PostgresURL(t)
		second := PostgresURL(t)
		if first == second {
			t.Fatalf("two calls returned the same database %q", first)
		}
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		// An open connection must not keep the database from being dropped.
		t.Cleanup(func() { _ = conn.Close(context.Background()) })
		var db string
		if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
			t.Fatal(err)
		}
		cfg, err := pgx.ParseConfig(first)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(db, "sgtest_") || cfg.Database != db {
			t.Fatalf("connected to %q via %q", db, first)
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE t (id int PRIMARY KEY, s text); INSERT INTO t VALUES (1, 'ü')"); err != nil {
			t.Fatal(err)
		}
	})
	if t.Failed() || first == "" {
		return
	}
	// The subtest's cleanups have run: the database must be gone.
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, os.Getenv(PostgresURLEnv))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close(ctx) }()
	cfg, err := pgx.ParseConfig(first)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", cfg.Database).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("database %s still exists after the test's cleanup", cfg.Database)
	}
}

func sendTestMail(addr, to, subject, body string) error {
	msg := "From: sender@example.com\r\nTo: " + to + "\r\nSubject: " + subject + "\r\n\r\n" + body + "\r\n"
	return smtp.SendMail(addr, nil, "sender@example.com", []string{to}, []byte(msg))
}

func TestStartSMTPReceivesAndRestarts(t *testing.T) {
	s := StartSMTP(t)
	if fi, err := os.Stat(s.MailDir + "/new"); err != nil || !fi.IsDir() {
		t.Fatalf("Maildir not created at %s: %v", s.MailDir, err)
	}
	if err := sendTestMail(s.Addr, "alice@example.com", "first", "hello\r\n.leading dot"); err != nil {
		t.Fatalf("send: %v", err)
	}
	msgs := s.WaitMessages(t, 1, 10*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	m, err := mail.ReadMessage(strings.NewReader(string(msgs[0])))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, msgs[0])
	}
	if got := m.Header.Get("Subject"); got != "first" {
		t.Errorf("Subject = %q", got)
	}
	if got := m.Header.Get("X-RcptTo"); got != "alice@example.com" {
		t.Errorf("X-RcptTo = %q", got)
	}
	if !strings.Contains(string(msgs[0]), "\r\n\r\nhello\r\n.leading dot\r\n") {
		t.Errorf("body not as sent (CRLF, dot-unstuffed):\n%q", msgs[0])
	}

	s.Stop()
	s.Stop() // idempotent
	if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		_ = c.Close()
		t.Fatalf("stopped server still accepts connections on %s", s.Addr)
	}
	if err := sendTestMail(s.Addr, "bob@example.com", "lost", "x"); err == nil {
		t.Fatalf("send to a stopped server succeeded")
	}

	addr := s.Addr
	s.Start()
	if s.Addr != addr {
		t.Fatalf("address changed across restart: %s -> %s", addr, s.Addr)
	}
	if err := sendTestMail(s.Addr, "bob@example.com", "second", "again"); err != nil {
		t.Fatalf("send after restart: %v", err)
	}
	msgs = s.WaitMessages(t, 2, 10*time.Second)
	if len(msgs) != 2 {
		t.Fatalf("got %d messages, want 2", len(msgs))
	}
	for i, want := range []string{"first", "second"} {
		m, err := mail.ReadMessage(strings.NewReader(string(msgs[i])))
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Header.Get("Subject"); got != want {
			t.Errorf("message %d: Subject = %q, want %q (arrival order)", i, got, want)
		}
	}
}

func TestStartSMTPOrderManyMessages(t *testing.T) {
	s := StartSMTP(t)
	const n = 15
	for i := 0; i < n; i++ {
		if err := sendTestMail(s.Addr, "a@example.com", fmt.Sprintf("msg %02d", i), "x"); err != nil {
			t.Fatal(err)
		}
	}
	msgs := s.WaitMessages(t, n, 10*time.Second)
	for i, raw := range msgs {
		m, err := mail.ReadMessage(strings.NewReader(string(raw)))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := m.Header.Get("Subject"), fmt.Sprintf("msg %02d", i); got != want {
			t.Errorf("position %d: Subject %q, want %q", i, got, want)
		}
	}
}

func TestStartSMTPTwoServersIndependent(t *testing.T) {
	a, b := StartSMTP(t), StartSMTP(t)
	if a.Addr == b.Addr || a.MailDir == b.MailDir {
		t.Fatalf("servers share address or Maildir: %+v %+v", a, b)
	}
	if err := sendTestMail(a.Addr, "x@example.com", "to a", "x"); err != nil {
		t.Fatal(err)
	}
	a.WaitMessages(t, 1, 10*time.Second)
	if got := len(b.Messages(t)); got != 0 {
		t.Fatalf("server b has %d messages, want 0", got)
	}
}

func TestStartSMTPSTARTTLS(t *testing.T) {
	s := StartSMTP(t, WithSTARTTLS())
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("server does not offer STARTTLS")
	}
	// aiosmtpd requires STARTTLS before MAIL.
	if err := c.Mail("a@example.com"); err == nil {
		t.Fatal("MAIL before STARTTLS was accepted")
	}
	if err := c.StartTLS(&tls.Config{RootCAs: s.RootCAs, ServerName: "127.0.0.1"}); err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	sendOn(t, c)
	s.WaitMessages(t, 1, 10*time.Second)
}

func TestStartSMTPImplicitTLS(t *testing.T) {
	s := StartSMTP(t, WithImplicitTLS())
	conn, err := tls.Dial("tcp", s.Addr, &tls.Config{RootCAs: s.RootCAs, ServerName: "localhost"})
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	c, err := smtp.NewClient(conn, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	sendOn(t, c)
	s.WaitMessages(t, 1, 10*time.Second)
}

func sendOn(t *testing.T, c *smtp.Client) {
	t.Helper()
	if err := c.Mail("a@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("b@example.com"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("Subject: tls\r\n\r\nover tls\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

func TestStartSMTPMaxSize(t *testing.T) {
	s := StartSMTP(t, WithMaxSize(1000))
	err := sendTestMail(s.Addr, "a@example.com", "big", strings.Repeat("0123456789\r\n", 200))
	var tpErr *textproto.Error
	if !errors.As(err, &tpErr) || tpErr.Code != 552 {
		t.Fatalf("oversized message: err = %v, want a 552 reply", err)
	}
	if err := sendTestMail(s.Addr, "a@example.com", "small", "ok"); err != nil {
		t.Fatalf("small message: %v", err)
	}
	if got := len(s.WaitMessages(t, 1, 10*time.Second)); got != 1 {
		t.Fatalf("got %d messages, want 1", got)
	}
}
