// Package app wires SellerGuard together from a Config: database, keys,
// password hasher, session cache, services, outbox worker and HTTP server.
// cmd/sellerguard calls it to serve; tests call it to run the real thing
// in-process on a free port.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	netmail "net/mail"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/account"
	"github.com/sellerguard/sellerguard/internal/changes"
	"github.com/sellerguard/sellerguard/internal/config"
	"github.com/sellerguard/sellerguard/internal/dkim"
	"github.com/sellerguard/sellerguard/internal/keys"
	"github.com/sellerguard/sellerguard/internal/limiter"
	"github.com/sellerguard/sellerguard/internal/mail"
	"github.com/sellerguard/sellerguard/internal/mailcheck"
	"github.com/sellerguard/sellerguard/internal/notify"
	"github.com/sellerguard/sellerguard/internal/outbox"
	"github.com/sellerguard/sellerguard/internal/password"
	"github.com/sellerguard/sellerguard/internal/phishing"
	"github.com/sellerguard/sellerguard/internal/phishreport"
	"github.com/sellerguard/sellerguard/internal/secondstep"
	"github.com/sellerguard/sellerguard/internal/sellerdata"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/sms"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/support"
	"github.com/sellerguard/sellerguard/internal/team"
	"github.com/sellerguard/sellerguard/internal/web"
)

// App is a wired SellerGuard instance.
type App struct {
	Config *config.Config
	Logger *slog.Logger
	DB     *store.DB
	// The rule services, one per concern, on one shared session.Service.
	web.Services
	Worker  *outbox.Worker
	Server  *web.Server
	Schema  int
	Version string
	// Clock is the instance's one clock: the account rules, the outbox
	// worker, notification settings and the sent-mail ledger all read it.
	Clock *Clock
	// Metrics is the registry /metrics serves.
	Metrics *prometheus.Registry

	// Phishing is the report queue; ReportIntake its SMTP listener (nil
	// when SELLERGUARD_REPORT_SMTP_ADDR is empty).
	Phishing     *phishreport.Service
	ReportIntake *phishreport.Intake
	// Support is Seller Support: cases, agents, checks and actions.
	Support *support.Service

	closePolicy func()
	reportAddr  chan string   // the intake's address once listening ("" when off or failed)
	certs       *certReloader // nil without TLS
	metricsMu   sync.Mutex
	metricsLn   net.Listener
	reload      reloaders
}

// Clock is a clock that can be replaced while everything holds it (tests
// move time forward without sleeping); the zero Clock is the wall clock.
type Clock struct {
	now atomic.Pointer[func() time.Time]
}

// Now returns the current time of the clock.
func (c *Clock) Now() time.Time {
	if f := c.now.Load(); f != nil {
		return (*f)()
	}
	return time.Now()
}

// Set makes now the clock's source of time.
func (c *Clock) Set(now func() time.Time) { c.now.Store(&now) }

// NewLogger builds the process logger from the settings.
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// New opens and migrates the database and wires every part. Close releases
// the database.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger, version string) (*App, error) {
	k, err := keys.LoadOrCreate(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	schema, err := db.Migrate(ctx)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	a, err := wire(cfg, logger, version, k, db, schema)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := a.checkSealing(ctx); err != nil {
		_ = a.Close()
		return nil, err
	}
	// Start-up's garbage (parsed catalogues and templates, the list's
	// decoding, the migrations) back to the operating system now rather
	// than over the next minutes: the idle footprint is the live heap.
	debug.FreeOSMemory()
	return a, nil
}

// checkSealing warns when a key rotation used a key this instance's key
// file lacks, and forgets the full card numbers stored before schema 16.
func (a *App) checkSealing(ctx context.Context) error {
	latest, err := a.DB.LatestKeyVersion(ctx)
	if err != nil {
		return err
	}
	if have := a.Session.Keys.Versions(); latest > have[len(have)-1] {
		a.Logger.Error("a key rotation used a key version this instance's key file lacks: values sealed under it will not open here; copy the key file from the instance that ran \"sellerguard keys rotate\" (or run it again to finish a rotation that stopped)",
			"key_file", a.Session.Keys.Path(), "versions", have, "rotation_version", latest)
	}
	n, err := a.SellerData.ForgetCardNumbers(ctx)
	if err != nil {
		return fmt.Errorf("forget stored card numbers: %w", err)
	}
	if n > 0 {
		a.Logger.Info("full card numbers are no longer stored: replaced by fingerprints", "cards", n)
	}
	return nil
}

func wire(cfg *config.Config, logger *slog.Logger, version string, k *keys.Keys, db *store.DB, schema int) (*App, error) {
	var certs *certReloader
	if cfg.Network.TLS() {
		var err error
		if certs, err = newCertReloader(cfg.Network.TLSCertFile, cfg.Network.TLSKeyFile, logger.With("component", "tls")); err != nil {
			return nil, err
		}
	}
	params := password.Params{Memory: uint32(cfg.Argon2Memory), Time: uint32(cfg.Argon2Time), Threads: uint8(cfg.Argon2Threads), SaltLen: 16, KeyLen: 32}
	if err := params.Validate(); err != nil {
		return nil, fmt.Errorf("argon2 parameters: %w", err)
	}
	hasher := password.NewHasher(params, cfg.HashConcurrency, cfg.HashQueueTimeout)
	clock := &Clock{}
	cache := session.NewSessionCache(db.Dialect(), 30*time.Second, 100_000)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	var dkimSigner *reloadingSigner
	worker := &outbox.Worker{
		DB: db, Now: clock.Now, Poll: cfg.OutboxPollInterval, Lease: time.Minute, MaxAttempts: 12,
		Logger: logger.With("component", "outbox"),
	}
	if cfg.SMS.Enabled() {
		worker.SMS = &sms.Deliverer{Gateway: &sms.TwilioGateway{BaseURL: cfg.SMS.URL, AccountSID: cfg.SMS.AccountSID, AuthToken: cfg.SMS.AuthToken, From: cfg.SMS.From, Timeout: cfg.SMS.Timeout}}
	}
	if cfg.LocalMode() {
		worker.Email = outbox.LocalDeliverer{}
		if worker.SMS == nil {
			worker.SMS = outbox.LocalDeliverer{}
		}
	}
	// The DKIM signer signs outgoing mail (outside local mode) and checks
	// emails people paste into /mail/check.
	if cfg.DKIM.Enabled() {
		rs, err := newReloadingSigner(cfg.DKIM.KeyFile, cfg.DKIM.Domain, cfg.DKIM.Selector)
		if err != nil {
			return nil, fmt.Errorf("DKIM: %w", err)
		}
		dkimSigner = rs
	}
	if !cfg.LocalMode() {
		var signer mail.Signer // stays a nil interface when signing is off
		if dkimSigner != nil {
			signer = dkimSigner
		}
		sender, err := mail.NewSMTPSender(mail.SMTPConfig{URL: cfg.SMTPURL, From: cfg.MailFrom, Timeout: 30 * time.Second, Signer: signer})
		if err != nil {
			return nil, err
		}
		worker.Email = &outbox.EmailDeliverer{Sender: sender, Domain: MailDomain(cfg.MailFrom), Sent: func(ctx context.Context, m sellerguard.OutboxMessage, messageID string, raw []byte) {
			// The ledger of every email sent: "was this email really from us?"
			err := db.RecordSentEmail(ctx, store.LedgerEntry{MessageID: messageID, OutboxID: m.ID, Recipient: m.To, Subject: m.Subject, SentAt: clock.Now(), SHA256: dkim.Hash(raw)})
			if err != nil {
				logger.Error("sent-mail ledger", "err", err, "message_id", messageID)
			}
		}}
		worker.ScrubSent = true
	}
	deliveries := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sellerguard_outbox_deliveries_total", Help: "Outbox delivery attempts by channel and outcome."}, []string{"channel", "outcome"})
	reg.MustRegister(deliveries)
	worker.Delivered = func(ch, outcome string) { deliveries.WithLabelValues(ch, outcome).Inc() }

	lim := &limiter.Limiter{Config: limiter.Config{
		FreeFailures: cfg.Limits.FreeFailures, BaseDelay: time.Second, MaxDelay: cfg.Limits.MaxDelay,
		LockFailures: cfg.Limits.LockFailures, FailureMemory: cfg.Limits.FailureMemory,
		SourceLimit: cfg.Limits.SourceFailures, SourceWindow: cfg.Limits.SourceWindow, NotifyFailures: cfg.Limits.NotifyFailures,
	}}
	svc := &session.Service{
		DB: db, Hasher: hasher, Keys: k, Cache: cache, Now: clock.Now, Logger: logger,
		Limiter: lim, Limits: session.LimitConfig{SignupsPerSource: cfg.Limits.SignupsPerSource, SourceWindow: cfg.Limits.SourceWindow},
		SMS: session.SMSConfig{Available: worker.SMS != nil, PerNumberHour: 5, PerUserHour: 10, PerSourceHour: 20},
		TwoStep: session.TwoStepConfig{
			ReauthWindow: cfg.TwoStep.ReauthWindow, TrustedBrowserFor: cfg.TwoStep.TrustedBrowserFor,
			PartialSessionTTL: cfg.TwoStep.PartialSessionTimeout, MaxSecondStepErrors: 5,
		},
		Config: session.Config{
			IdleTimeout: cfg.SessionIdleTimeout, AbsoluteTimeout: cfg.SessionAbsoluteTimeout,
			PasswordMinLength: cfg.PasswordMinLength, BaseURL: cfg.BaseURL,
		},
	}
	db.SetEnqueued(worker.Wake) // every commit that enqueued a message wakes the worker (store.Tx.AfterCommit)
	services := web.Services{
		Session:    svc,
		Account:    &account.Service{Service: svc},
		TwoStep:    &secondstep.Service{Service: svc},
		Team:       &team.Service{Service: svc},
		SellerData: &sellerdata.Service{Service: svc, ListingsChanged: changes.ListingsDigest(cfg.BaseURL)},
	}
	secondstep.EnablePasskeys(services.TwoStep) // passkeys as a second step: ExtraSecondSteps["passkey"]
	notify.New(db, k, notify.Options{BaseURL: cfg.BaseURL, Now: clock.Now, Logger: logger.With("component", "notify")}).Attach(svc, worker)
	breachUnavailable := prometheus.NewCounter(prometheus.CounterOpts{Name: "sellerguard_breach_check_unavailable_total",
		Help: "Times the breached-password range API could not answer (timeout, error, bad answer)."})
	reg.MustRegister(breachUnavailable)
	pol, breached, closePolicy, err := NewPolicy(cfg, logger, breachUnavailable.Inc)
	if err != nil {
		return nil, err
	}
	svc.Policy, svc.Breached = pol, breached
	svc.Passwords = session.PasswordConfig{History: cfg.Password.History, ReminderAge: cfg.Password.ReminderAge}
	svc.ContactCheckAge = cfg.ContactCheckAge
	svc.PayoutCoolingOff = cfg.PayoutCoolingOff
	services.Team.Reviews = team.ReviewConfig{Interval: cfg.AccessReviewInterval, RemindEvery: cfg.AccessReviewReminder}
	svc.AreaUse = session.NewAreaUseRecorder()
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sellerguard_password_hashes_in_flight", Help: "Password hashes being computed."}, func() float64 { return float64(hasher.InFlight()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sellerguard_password_hashes_waiting", Help: "Password hashes waiting for a slot."}, func() float64 { return float64(hasher.Waiting()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sellerguard_session_cache_entries", Help: "Sessions held in the in-process cache."}, func() float64 { return float64(cache.Len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sellerguard_outbox_pending", Help: "Messages waiting for delivery."}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			n, _ := db.CountOutbox(ctx, sellerguard.OutboxPending)
			return float64(n)
		}),
	)
	var verifier mailcheck.Verifier // stays a nil interface when signing is off
	if dkimSigner != nil {
		verifier = dkimSigner
	}
	brand := phishing.Config{BrandDomains: cfg.Phishing.BrandDomainList(), BrandNames: []string{"SellerGuard"}}
	reports := &phishreport.Service{DB: db, Limiter: lim, Analysis: brand, Now: clock.Now, BaseURL: cfg.BaseURL,
		Logger: logger.With("component", "phishing")}
	if cfg.Phishing.ReportDNS {
		reports.Analysis.Resolver = net.DefaultResolver
	}
	sup := &support.Service{DB: db, Keys: k, Hasher: hasher, Limiter: lim, Cache: cache, Notify: svc.Notify, SMSAvailable: worker.SMS != nil,
		RecoveryDelay: cfg.RecoveryDelay, IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 8 * time.Hour, Now: clock.Now,
		Logger: logger.With("component", "support")}
	srv, err := web.New(services, db, logger, reg, web.Options{
		BaseURL: cfg.BaseURL, SecureCookies: cfg.SecureCookies(), LocalMode: cfg.LocalMode(),
		SessionLifetime: cfg.SessionAbsoluteTimeout, Version: version, SchemaVersion: schema,
		TrustedProxies: cfg.Limits.Trusted(),
		MailCheck:      &mailcheck.Checker{Ledger: db, Signer: verifier, Brand: brand},
		PhishReports:   reports, ReportAddress: cfg.Phishing.ReportAddress,
		Support: sup,
	})
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Logger: logger, DB: db, Services: services, Worker: worker, Server: srv, Phishing: reports, Support: sup, Schema: schema, Version: version, Clock: clock, Metrics: reg, closePolicy: closePolicy, certs: certs, reportAddr: make(chan string, 1)}
	if cfg.Phishing.ReportSMTPEnabled() {
		a.ReportIntake = &phishreport.Intake{Service: reports, Address: cfg.Phishing.ReportAddress, Domain: MailDomain(cfg.MailFrom), Logger: logger.With("component", "report-smtp")}
	}
	if dkimSigner != nil {
		a.OnReload("DKIM key "+cfg.DKIM.KeyFile, dkimSigner.load)
	}
	if certs != nil {
		a.OnReload("TLS certificate "+cfg.Network.TLSCertFile, certs.Reload)
	}
	return a, nil
}

// ReportSMTPAddr returns the address the SMTP intake listens on, once
// Serve has opened it ("" when the intake is off or could not start).
func (a *App) ReportSMTPAddr() string {
	select {
	case addr := <-a.reportAddr:
		a.reportAddr <- addr
		return addr
	case <-time.After(10 * time.Second):
		return ""
	}
}

// Close releases the database, the breached-password index and a metrics
// listener opened but never served.
func (a *App) Close() error {
	if a.closePolicy != nil {
		a.closePolicy()
	}
	a.metricsMu.Lock()
	if a.metricsLn != nil {
		_ = a.metricsLn.Close() // never served: nothing to lose
		a.metricsLn = nil
	}
	a.metricsMu.Unlock()
	return a.DB.Close()
}

// Serve runs the HTTP server on ln (with TLS when configured), the metrics
// listener and the background workers until ctx ends, then shuts down
// gracefully. It refuses to serve local mode on a listener the network can
// reach (see config.CheckLocalModeAddr).
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	cfg, logger := a.Config, a.Logger
	if err := cfg.CheckLocalModeAddr(ln.Addr().String()); err != nil {
		return err
	}
	if cfg.LocalMode() && !config.IsLoopbackAddr(ln.Addr().String()) {
		logger.Warn("LOCAL MODE ON THE NETWORK (SELLERGUARD_LOCAL_MODE_ON_NETWORK=true): no mail is sent, every code stays in the local outbox; for demos only, never in production",
			"addr", ln.Addr().String())
	}
	stopMetrics, err := a.serveMetrics()
	if err != nil {
		return err
	}
	defer stopMetrics()
	httpSrv := &http.Server{
		Handler: a.Server, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	var intakeLn net.Listener
	if a.ReportIntake != nil {
		l, err := net.Listen("tcp", cfg.Phishing.ReportSMTPAddr)
		if err != nil {
			a.reportAddr <- ""
			return fmt.Errorf("report SMTP listener: %w", err)
		}
		intakeLn = l
		a.reportAddr <- l.Addr().String()
		logger.Info("phishing reports by SMTP", "addr", l.Addr().String(), "address", cfg.Phishing.ReportAddress)
	} else {
		a.reportAddr <- ""
	}
	bg, stopBG := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	workerDone := make(chan struct{})
	go func() { defer close(workerDone); a.Worker.Run(bg) }()
	if intakeLn != nil {
		wg.Go(func() {
			if err := a.ReportIntake.Serve(intakeLn); err != nil {
				logger.Error("report SMTP listener", "err", err)
			}
		})
		wg.Go(func() {
			<-bg.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = a.ReportIntake.Shutdown(sctx) // closing down
		})
	}
	if a.DB.Dialect() == store.Postgres {
		wg.Go(func() {
			a.Session.Cache.ListenRevocations(bg, cfg.DatabaseURL, logger.With("component", "session-cache"))
		})
	}
	wg.Go(func() { a.housekeeping(bg) })

	errc := make(chan error, 1)
	if a.certs != nil {
		httpSrv.TLSConfig = a.certs.tlsConfig()
		go func() { errc <- httpSrv.ServeTLS(ln, "", "") }()
	} else {
		go func() { errc <- httpSrv.Serve(ln) }()
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
		// Graceful: stop accepting, let the requests in flight finish and
		// the outbox worker finish the delivery in hand, both within the
		// shutdown timeout. Messages still queued stay in the outbox for
		// the next start or another instance.
		logger.Info("shutting down", "timeout", cfg.ShutdownTimeout)
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		a.Worker.Drain()
		err = httpSrv.Shutdown(sctx)
		select {
		case <-workerDone:
		case <-sctx.Done():
			logger.Warn("the outbox delivery in hand did not finish within the shutdown timeout; it is retried after its lease")
		}
		cancel()
	}
	stopBG()
	<-workerDone
	wg.Wait()
	fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if ferr := a.Session.FlushLastSeen(fctx); ferr != nil {
		logger.Warn("could not save last-seen times", "err", ferr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// housekeeping flushes last-seen times and area use, re-reads the key file
// when it changed (a key added by "keys rotate"), removes ended sessions,
// and hourly sends reminders and runs access reviews.
func (a *App) housekeeping(ctx context.Context) {
	flush := time.NewTicker(15 * time.Second)
	expire := time.NewTicker(time.Minute)
	remind := time.NewTicker(time.Hour)
	defer flush.Stop()
	defer expire.Stop()
	defer remind.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-flush.C:
			if err := a.Session.FlushLastSeen(ctx); err != nil && ctx.Err() == nil {
				a.Logger.Warn("flush last-seen times", "err", err)
			}
			if err := a.Session.Keys.Reload(); err != nil { // learn a key added by "keys rotate"
				a.Logger.Error("reload the key file", "err", err)
			}
		case <-expire.C:
			if err := a.Session.ExpireSessions(ctx); err != nil && ctx.Err() == nil {
				a.Logger.Warn("expire sessions", "err", err)
			}
			if n, err := a.Support.RunDue(ctx); err != nil && ctx.Err() == nil {
				a.Logger.Warn("support recovery actions", "err", err)
			} else if n > 0 {
				a.Logger.Info("support recovery actions carried out", "count", n)
			}
		case <-remind.C:
			if _, err := a.Phishing.EraseExpired(ctx); err != nil && ctx.Err() == nil {
				a.Logger.Warn("erase reported messages", "err", err)
			}
			if _, err := a.Account.SendPasswordReminders(ctx); err != nil && ctx.Err() == nil {
				a.Logger.Warn("password reminders", "err", err)
			}
			if _, err := a.Account.AskContactConfirmations(ctx); err != nil && ctx.Err() == nil {
				a.Logger.Warn("contact confirmations", "err", err)
			}
			if run, err := a.Team.RunAccessReviews(ctx); err != nil && ctx.Err() == nil {
				a.Logger.Warn("access reviews", "err", err)
			} else if run.Opened+run.Reminded+run.Suspended > 0 {
				a.Logger.Info("access reviews", "opened", run.Opened, "reminded", run.Reminded, "suspended", run.Suspended)
			}
		}
	}
}

// Mode describes where messages go, for the start-up line.
func (a *App) Mode() string {
	if a.Config.LocalMode() {
		return "local mode: messages stay in the local outbox at " + a.Config.BaseURL + "/dev/outbox"
	}
	return "mail via " + RedactURL(a.Config.SMTPURL)
}

// MailDomain is the domain of a From address.
func MailDomain(from string) string {
	if a, err := netmail.ParseAddress(from); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
			return a.Address[i+1:]
		}
	}
	return "sellerguard.localhost"
}

// RedactURL drops any password from a URL for logs.
func RedactURL(raw string) string {
	if i := strings.Index(raw, "://"); i >= 0 {
		if j := strings.LastIndexByte(raw, '@'); j > i {
			return raw[:i+3] + "***@" + raw[j+1:]
		}
	}
	return raw
}
