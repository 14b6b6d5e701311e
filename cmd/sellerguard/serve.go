package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	netmail "net/mail"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/auth"
	"github.com/sellerguard/sellerguard/internal/config"
	"github.com/sellerguard/sellerguard/internal/keys"
	"github.com/sellerguard/sellerguard/internal/mail"
	"github.com/sellerguard/sellerguard/internal/outbox"
	"github.com/sellerguard/sellerguard/internal/password"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/web"
)

// loadConfig parses the shared settings for a subcommand.
func loadConfig(name string, args []string, getenv func(string) string, stderr io.Writer) (*config.Config, error) {
	fs := flag.NewFlagSet("sellerguard "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, _, envErr := config.Register(fs, getenv)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sellerguard %s: unexpected argument %q\n", name, fs.Arg(0))
		return nil, errUsage
	}
	if envErr != nil {
		return nil, envErr
	}
	if err := cfg.Finish(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
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

// openDB opens and migrates the configured database.
func openDB(ctx context.Context, cfg *config.Config, migrate bool) (*store.DB, int, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, 0, err
	}
	if !migrate {
		return db, 0, nil
	}
	v, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, 0, err
	}
	return db, v, nil
}

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("migrate", args, getenv, stderr)
	if err != nil {
		return err
	}
	db, v, err := openDB(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintf(stdout, "database (%s) is at schema version %d\n", db.Dialect(), v)
	return nil
}

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	k, err := keys.LoadOrCreate(cfg.DataDir)
	if err != nil {
		return err
	}
	db, schema, err := openDB(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()

	params := password.Params{Memory: uint32(cfg.Argon2Memory), Time: uint32(cfg.Argon2Time), Threads: uint8(cfg.Argon2Threads), SaltLen: 16, KeyLen: 32}
	if err := params.Validate(); err != nil {
		return fmt.Errorf("argon2 parameters: %w", err)
	}
	hasher := password.NewHasher(params, cfg.HashConcurrency, cfg.HashQueueTimeout)
	cache := auth.NewSessionCache(db.Dialect(), 30*time.Second, 100_000)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	worker := &outbox.Worker{
		DB: db, Now: time.Now, Poll: cfg.OutboxPollInterval, Lease: time.Minute, MaxAttempts: 12,
		Logger: logger.With("component", "outbox"),
	}
	if cfg.LocalMode() {
		worker.Email, worker.SMS = outbox.LocalDeliverer{}, outbox.LocalDeliverer{}
	} else {
		sender, err := mail.NewSMTPSender(mail.SMTPConfig{URL: cfg.SMTPURL, From: cfg.MailFrom, Timeout: 30 * time.Second})
		if err != nil {
			return err
		}
		worker.Email = &outbox.EmailDeliverer{Sender: sender, Domain: mailDomain(cfg.MailFrom)}
		worker.ScrubSent = true
	}
	deliveries := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sellerguard_outbox_deliveries_total", Help: "Outbox delivery attempts by channel and outcome."}, []string{"channel", "outcome"})
	reg.MustRegister(deliveries)
	worker.Delivered = func(ch, outcome string) { deliveries.WithLabelValues(ch, outcome).Inc() }

	svc := &auth.Service{
		DB: db, Hasher: hasher, Keys: k, Cache: cache, Now: time.Now, Logger: logger,
		Config: auth.Config{
			IdleTimeout: cfg.SessionIdleTimeout, AbsoluteTimeout: cfg.SessionAbsoluteTimeout,
			PasswordMinLength: cfg.PasswordMinLength, BaseURL: cfg.BaseURL,
		},
		Enqueued: worker.Wake,
	}
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

	srv, err := web.New(svc, db, logger, reg, web.Options{
		BaseURL: cfg.BaseURL, SecureCookies: cfg.SecureCookies(), LocalMode: cfg.LocalMode(),
		SessionLifetime: cfg.SessionAbsoluteTimeout, Version: versionString(), SchemaVersion: schema,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	httpSrv := &http.Server{
		Handler: srv, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	bg, stopBG := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { worker.Run(bg) })
	if db.Dialect() == store.Postgres {
		wg.Go(func() { cache.ListenRevocations(bg, cfg.DatabaseURL, logger.With("component", "session-cache")) })
	}
	wg.Go(func() { housekeeping(bg, svc, logger) })

	mode := "local mode: messages stay in the local outbox at " + cfg.BaseURL + "/dev/outbox"
	if !cfg.LocalMode() {
		mode = "mail via " + redactURL(cfg.SMTPURL)
	}
	logger.Info("SellerGuard is listening", "url", "http://"+ln.Addr().String(), "base_url", cfg.BaseURL, "database", db.Dialect(), "schema", schema, "mode", mode, "version", versionString())
	fmt.Fprintf(stdout, "SellerGuard %s listening on http://%s (%s, %s)\n", versionString(), ln.Addr(), db.Dialect(), mode)

	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		logger.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		err = httpSrv.Shutdown(sctx)
		cancel()
	}
	stopBG()
	wg.Wait()
	fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if ferr := svc.FlushLastSeen(fctx); ferr != nil {
		logger.Warn("could not save last-seen times", "err", ferr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// housekeeping flushes last-seen times and removes ended sessions.
func housekeeping(ctx context.Context, svc *auth.Service, logger *slog.Logger) {
	flush := time.NewTicker(15 * time.Second)
	expire := time.NewTicker(time.Minute)
	defer flush.Stop()
	defer expire.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-flush.C:
			if err := svc.FlushLastSeen(ctx); err != nil && ctx.Err() == nil {
				logger.Warn("flush last-seen times", "err", err)
			}
		case <-expire.C:
			if err := svc.ExpireSessions(ctx); err != nil && ctx.Err() == nil {
				logger.Warn("expire sessions", "err", err)
			}
		}
	}
}

func mailDomain(from string) string {
	if a, err := netmail.ParseAddress(from); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
			return a.Address[i+1:]
		}
	}
	return "sellerguard.localhost"
}

// redactURL drops any password from a URL for logs.
func redactURL(raw string) string {
	if i := strings.Index(raw, "://"); i >= 0 {
		if j := strings.LastIndexByte(raw, '@'); j > i {
			return raw[:i+3] + "***@" + raw[j+1:]
		}
	}
	return raw
}
