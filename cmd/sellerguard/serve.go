package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/sellerguard/sellerguard/internal/app"
	"github.com/sellerguard/sellerguard/internal/argon2id"
	"github.com/sellerguard/sellerguard/internal/config"
	"github.com/sellerguard/sellerguard/internal/store"
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
	if err := finishConfig(cfg, envErr); err != nil {
		return nil, err
	}
	return cfg, nil
}

// finishConfig reports a bad environment variable, else checks the settings.
func finishConfig(cfg *config.Config, envErr error) error {
	if envErr != nil {
		return envErr
	}
	return cfg.Finish()
}

// openDB opens (and optionally migrates) the configured database.
func openDB(ctx context.Context, cfg *config.Config, migrate bool) (*store.DB, int, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, 0, err
	}
	if !migrate {
		if err := db.CheckVersion(ctx); err != nil {
			_ = db.Close()
			return nil, 0, err
		}
		return db, 0, nil
	}
	v, err := db.Migrate(ctx)
	if err != nil {
		_ = db.Close()
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
	defer func() { _ = db.Close() }()
	fmt.Fprintf(stdout, "database (%s) is at schema version %d\n", db.Dialect(), v)
	return nil
}

// memoryLimit is serve's default soft memory limit on the Go runtime's
// memory: 128 MiB for the heap and stacks (the live heap at rest is about
// 20 MiB, a warm session cache of 10,000 sessions adds about 30;
// connections, requests and the collector's headroom take the rest), plus
// the hashing pool's Argon2id blocks where they live on the Go heap. Where
// internal/argon2id maps them outside it (unix), they are not the
// runtime's to limit and not counted. With 64 MiB, a warm cache left the
// collector running on every sign-in: 143 ms of CPU per sign-in instead of
// 42 when each hash allocated its block; later, with the blocks kept but on
// the heap, 64 MiB cost the session check instead (63–82 µs of server CPU
// per check against 38–58 at 128), docs/benchmarks.md.
func memoryLimit(hashSlots int, argon2KiB uint) int64 {
	limit := int64(128 << 20)
	if !argon2id.OutsideHeap {
		limit += int64(hashSlots) * int64(argon2KiB) * 1024
	}
	return limit
}

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	// Local mode shows every code on /dev/outbox: refuse it on an address
	// the network can reach, before anything is created.
	if err := cfg.CheckLocalModeAddr(cfg.Addr); err != nil {
		return err
	}
	logger := app.NewLogger(cfg, stderr)
	if getenv("GOMEMLIMIT") == "" {
		// A soft limit on the Go runtime's memory, sized to the hashing
		// pool: each slot keeps one Argon2id block (m KiB), and a sign-in
		// flood's garbage otherwise grows until the heap doubles (seen:
		// 290 MB RSS with 2 slots of 19 MiB, when every hash allocated
		// its block). With the limit the collector runs sooner instead;
		// GOMEMLIMIT set by the operator wins.
		debug.SetMemoryLimit(memoryLimit(cfg.HashConcurrency, cfg.Argon2Memory))
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP) // caught from here on: never the default "terminate"
	defer signal.Stop(hup)
	a, err := app.New(ctx, cfg, logger, versionString())
	if err != nil {
		return err
	}
	defer func() { _ = a.Close() }()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				logger.Info("SIGHUP: reloading the DKIM key and certificates")
				_ = a.Reload() // each failure is logged and keeps the old one
			}
		}
	}()
	metricsAddr, err := a.ListenMetrics()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	url := a.Scheme() + "://" + ln.Addr().String()
	metrics := "off"
	if metricsAddr != "" {
		metrics = "http://" + metricsAddr + "/metrics"
	}
	logger.Info("SellerGuard is listening", "url", url, "base_url", cfg.BaseURL, "metrics", metrics, "database", a.DB.Dialect(), "schema", a.Schema, "mode", a.Mode(), "version", a.Version)
	fmt.Fprintf(stdout, "SellerGuard %s listening on %s (%s, %s; metrics: %s); open %s\n", a.Version, url, a.DB.Dialect(), a.Mode(), metrics, cfg.BaseURL)
	return a.Serve(ctx, ln)
}
