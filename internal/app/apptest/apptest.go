// Package apptest runs a real SellerGuard in-process for tests: the same
// wiring as `sellerguard serve` (internal/app), on a free loopback port, with
// a fresh data directory and a fresh database (SQLite, or PostgreSQL through
// testenv). Password hashing uses small Argon2id parameters so tests run fast
// under -race; everything else is as in production.
package apptest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/app"
	"github.com/sellerguard/sellerguard/internal/config"
	"github.com/sellerguard/sellerguard/internal/sms"
	"github.com/sellerguard/sellerguard/internal/testenv"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// Instance is a running SellerGuard.
type Instance struct {
	*app.App
	URL string
	// MetricsURL is the /metrics address on the metrics listener ("" when
	// SELLERGUARD_METRICS_ADDR is off).
	MetricsURL string
	Clock      *Clock
	Client     *http.Client
	t          testing.TB
	stop       context.CancelFunc
	done       chan error
}

// Option changes how a test instance starts.
type Option func(o *startOptions)

type startOptions struct {
	env map[string]string
	sms sms.Gateway
}

// Env sets one SELLERGUARD_* variable.
func Env(k, v string) Option { return func(o *startOptions) { o.env[k] = v } }

// SMSGateway delivers the instance's text messages through g (a
// *sms.FakeGateway in tests: the one fake, at the very edge) instead of the
// local outbox.
func SMSGateway(g sms.Gateway) Option { return func(o *startOptions) { o.sms = g } }

// Dialects runs fn once per database: "sqlite" always, "postgres" when the
// test environment has PostgreSQL (required under SELLERGUARD_TEST_STRICT=1).
func Dialects(t *testing.T, fn func(t *testing.T, dialect string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "sqlite") })
	t.Run("postgres", func(t *testing.T) { fn(t, "postgres") })
}

// DatabaseURL returns a fresh database URL of the dialect.
func DatabaseURL(t testing.TB, dialect string) string {
	if dialect == "postgres" {
		return testenv.PostgresURL(t)
	}
	return "sqlite://" + t.TempDir() + "/sellerguard.db"
}

// Start runs SellerGuard on a free port with the given database dialect.
func Start(t testing.TB, dialect string, opts ...Option) *Instance {
	t.Helper()
	env := map[string]string{
		"SELLERGUARD_ADDR":                 "127.0.0.1:0",
		"SELLERGUARD_METRICS_ADDR":         "127.0.0.1:0", // a free port: instances run side by side
		"SELLERGUARD_DATA_DIR":             t.TempDir(),
		"SELLERGUARD_ARGON2_MEMORY":        "1024",
		"SELLERGUARD_ARGON2_TIME":          "1",
		"SELLERGUARD_OUTBOX_POLL_INTERVAL": "50ms",
		"SELLERGUARD_LOG_LEVEL":            "warn",
		// Tests never reach the internet: the range API (on by default
		// with SMTP) is off unless a test points it at its own server.
		"SELLERGUARD_BREACH_API_URL": "off",
		// Tests make no DNS queries for the analysis of phishing reports.
		"SELLERGUARD_REPORT_DNS": "false",
	}
	if dialect != "" {
		env["SELLERGUARD_DATABASE_URL"] = DatabaseURL(t, dialect)
	}
	o := &startOptions{env: env}
	for _, opt := range opts {
		opt(o)
	}
	return start(t, o)
}

// StartEnv runs SellerGuard with exactly these settings (but for the
// metrics listener, which goes to a free loopback port unless
// SELLERGUARD_METRICS_ADDR is given, so instances never fight over 9090).
func StartEnv(t testing.TB, env map[string]string) *Instance {
	if _, ok := env["SELLERGUARD_METRICS_ADDR"]; !ok {
		env["SELLERGUARD_METRICS_ADDR"] = "127.0.0.1:0"
	}
	return start(t, &startOptions{env: env})
}

func start(t testing.TB, o *startOptions) *Instance {
	env := o.env
	t.Helper()
	ln, err := net.Listen("tcp", env["SELLERGUARD_ADDR"])
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if _, ok := env["SELLERGUARD_BASE_URL"]; !ok {
		env["SELLERGUARD_BASE_URL"] = "http://" + addr
		if env["SELLERGUARD_TLS_CERT_FILE"] != "" {
			env["SELLERGUARD_BASE_URL"] = "https://" + addr
		}
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg, _, err := config.Register(fs, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx := context.Background()
	a, err := app.New(ctx, cfg, logger, "test")
	if err != nil {
		_ = ln.Close()
		t.Fatal(err)
	}
	metricsAddr, err := a.ListenMetrics()
	if err != nil {
		_ = a.Close()
		_ = ln.Close()
		t.Fatal(err)
	}
	clock := &Clock{}
	a.Clock.Set(clock.Now) // every service, the worker and the ledger: messages enqueued at a moved clock are due on it
	if o.sms != nil {
		a.Worker.SMS = &sms.Deliverer{Gateway: o.sms}
		a.Session.SMS.Available = true
	}
	sctx, cancel := context.WithCancel(ctx)
	in := &Instance{App: a, URL: a.Scheme() + "://" + addr, Clock: clock, Client: &http.Client{Timeout: 30 * time.Second, CheckRedirect: noRedirect}, t: t, stop: cancel, done: make(chan error, 1)}
	if metricsAddr != "" {
		in.MetricsURL = "http://" + metricsAddr + "/metrics"
	}
	if a.TLS() {
		// Trust the instance's own certificate (a test's self-signed one).
		pem, err := os.ReadFile(cfg.Network.TLSCertFile)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(pem)
		in.Client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	}
	go func() { in.done <- a.Serve(sctx, ln) }()
	t.Cleanup(in.Stop)
	return in
}

// Clock is the real time plus an offset a test can move forward, so expiry
// and idle timeouts are tested without sleeping.
type Clock struct {
	offset atomic.Int64
	frozen atomic.Int64 // Unix nanoseconds while frozen, 0 otherwise
}

// Now returns the shifted time (the frozen instant while frozen).
func (c *Clock) Now() time.Time {
	if f := c.frozen.Load(); f != 0 {
		return time.Unix(0, f).UTC()
	}
	return time.Now().Add(time.Duration(c.offset.Load()))
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	if c.frozen.Load() != 0 {
		c.frozen.Add(int64(d))
	}
	c.offset.Add(int64(d))
}

// Freeze stops the clock: until Thaw, time moves only by Advance, however
// slow the machine is (a test of a one-second delay must not depend on how
// long a request takes under load).
func (c *Clock) Freeze() { c.frozen.Store(c.Now().UnixNano()) }

// hold runs fn with the clock frozen (unless it is frozen already), so a
// code computed for "now" is checked against the same now however long the
// request takes.
func (c *Clock) hold(fn func()) {
	if c.frozen.Load() != 0 {
		fn()
		return
	}
	c.Freeze()
	defer c.Thaw()
	fn()
}

// Thaw lets the clock run again with the real time that passed while it was
// frozen: it never goes back, and it does not fall behind the wall clock
// (tests compute codes from the wall clock too).
func (c *Clock) Thaw() { c.frozen.Store(0) }

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Stop shuts the instance down (idempotent).
func (in *Instance) Stop() {
	if in.stop == nil {
		return
	}
	in.stop()
	in.stop = nil
	select {
	case err := <-in.done:
		if err != nil {
			in.t.Errorf("serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		in.t.Errorf("server did not shut down")
	}
	_ = in.App.Close()
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Response is a finished HTTP exchange.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map.
func (r Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, r.Body)
	}
	return m
}

// Do sends a request; body, when not nil and not []byte/string, is encoded
// as JSON. A token, when set, goes in the Authorization header.
func (in *Instance) Do(t testing.TB, method, path, token string, body any) Response {
	t.Helper()
	return in.DoWith(t, method, path, token, nil, body)
}

// DoWith is Do with extra request headers.
func (in *Instance) DoWith(t testing.TB, method, path, token string, headers map[string]string, body any) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	reqBody := readAll(rd)
	if rd != nil {
		rd = bytes.NewReader(reqBody)
	}
	req, err := http.NewRequest(method, in.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := in.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	checkContract(t, req, reqBody, resp.StatusCode, resp.Header, b)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Message is one entry of the local outbox.
type Message struct {
	To        string    `json:"to"`
	Channel   string    `json:"channel"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// Outbox reads the local outbox through the API.
func (in *Instance) Outbox(t testing.TB) []Message {
	t.Helper()
	r := in.Do(t, "GET", "/api/v1/dev/outbox", "", nil)
	if r.Status != 200 {
		t.Fatalf("dev outbox: %d %s", r.Status, r.Body)
	}
	var out struct{ Messages []Message }
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	return out.Messages
}

var codeRE = regexp.MustCompile(`code is: (\d{6})`)

// LastCode returns the newest six-digit code emailed to the address.
func (in *Instance) LastCode(t testing.TB, to string) string {
	t.Helper()
	msgs := in.Outbox(t)
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.EqualFold(msgs[i].To, to) {
			if m := codeRE.FindStringSubmatch(msgs[i].Body); m != nil {
				return m[1]
			}
		}
	}
	t.Fatalf("no code in the outbox for %s", to)
	return ""
}

// SignUp signs up and verifies a business, returning the user and business ids.
func (in *Instance) SignUp(t testing.TB, email, password, business string) (userID, businessID string) {
	t.Helper()
	r := in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": email, "password": password, "business_name": business})
	if r.Status != 202 {
		t.Fatalf("signup: %d %s", r.Status, r.Body)
	}
	r = in.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": email, "code": in.LastCode(t, email)})
	if r.Status != 201 {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	return m["user_id"].(string), m["business_id"].(string)
}

// SignIn signs in and returns the session token.
func (in *Instance) SignIn(t testing.TB, email, password string) string {
	t.Helper()
	r := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": email, "password": password})
	if r.Status != 201 {
		t.Fatalf("sign-in: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)["token"].(string)
}

// EnrollTOTP enrols an authenticator app for the session's user (confirmed
// with a code computed here, one step back) and returns its secret. The
// session stays fully signed in; business data opens up.
func (in *Instance) EnrollTOTP(t testing.TB, token string) string {
	t.Helper()
	r := in.Do(t, "POST", "/api/v1/two-step/totp", token, nil)
	if r.Status != 201 {
		t.Fatalf("start totp: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	secret, id := m["secret"].(string), m["method_id"].(string)
	var confirmed Response
	in.Clock.hold(func() {
		code, err := twostep.TOTPCode(secret, twostep.Step(in.Clock.Now())-1)
		if err != nil {
			t.Fatal(err)
		}
		confirmed = in.Do(t, "POST", "/api/v1/two-step/totp/"+id+"/confirm", token, map[string]string{"code": code})
	})
	if confirmed.Status != 200 {
		t.Fatalf("confirm totp: %d %s", confirmed.Status, confirmed.Body)
	}
	return secret
}

// SecondStep finishes a partial sign-in with the authenticator app.
func (in *Instance) SecondStep(t testing.TB, partial, secret string) string {
	t.Helper()
	var r Response
	in.Clock.hold(func() {
		code, err := twostep.TOTPCode(secret, twostep.Step(in.Clock.Now())+1)
		if err != nil {
			t.Fatal(err)
		}
		r = in.Do(t, "POST", "/api/v1/session/second-step", partial, map[string]string{"method": "totp", "code": code})
	})
	if r.Status != 200 {
		t.Fatalf("second step: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)["token"].(string)
}

// DrainOutbox delivers every message that is due and waits until none is
// pending, so a test counts what was sent without sleeping and guessing how
// long the worker needs. It fails the test if messages stay pending for 10 s
// (a retry in back-off stays pending: don't drain then).
func (in *Instance) DrainOutbox(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := in.Worker.RunOnce(ctx); err != nil {
			t.Fatalf("outbox: %v", err)
		}
		n, err := in.DB.CountOutbox(ctx, sellerguard.OutboxPending)
		if err != nil {
			t.Fatalf("outbox: %v", err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox: %d messages still pending after 10 s", n)
		}
		time.Sleep(10 * time.Millisecond) // a message the background worker holds
	}
}
