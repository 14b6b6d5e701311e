package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/sellerguard/sellerguard/internal/app"
	"github.com/sellerguard/sellerguard/internal/config"
)

// sellerGuard is a running in-process SellerGuard: only for --cpuprofile,
// where a Go CPU profile of the server's goroutines (label
// role=sellerguard) is wanted. The measured figures come from a separate
// process (proc.go).
type sellerGuard struct {
	App     *app.App
	URL     string
	DataDir string
	LogPath string
	logFile *os.File
	stop    context.CancelFunc
	done    chan error
}

// startSellerGuard wires and serves SellerGuard exactly as `sellerguard
// serve` does (config.Register, Finish, app.NewLogger, app.New, Serve), on a
// free loopback port, with a fresh data directory under tmp. The server's
// goroutines carry the CPU-profile label role=sellerguard.
func startSellerGuard(ctx context.Context, tmp string, o serverOptions, databaseURL string) (*sellerGuard, error) {
	dataDir := filepath.Join(tmp, "data")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	env := map[string]string{
		"SELLERGUARD_ADDR":         addr,
		"SELLERGUARD_BASE_URL":     "http://" + addr,
		"SELLERGUARD_DATA_DIR":     dataDir,
		"SELLERGUARD_DATABASE_URL": databaseURL,
		// Profile mode measures the session check only, which never
		// hashes a password: the seed parameters make the tokens fast.
		"SELLERGUARD_ARGON2_MEMORY":            strconv.FormatUint(uint64(o.SeedArgon2Memory), 10),
		"SELLERGUARD_ARGON2_TIME":              strconv.FormatUint(uint64(o.SeedArgon2Time), 10),
		"SELLERGUARD_LIMIT_SIGNUPS_PER_SOURCE": "10000",
		"SELLERGUARD_ARGON2_THREADS":           strconv.FormatUint(uint64(o.Argon2Threads), 10),
		"SELLERGUARD_LOG_LEVEL":                o.LogLevel,
		// /metrics is on its own listener, never the main one; a free
		// port, so a run never collides with a SellerGuard on 9090.
		"SELLERGUARD_METRICS_ADDR": "127.0.0.1:0",
		// Everything else (SMTP: none, so local mode; timeouts; hash pool)
		// keeps its default. The process environment is not consulted, so a
		// stray SELLERGUARD_* variable cannot change what is measured.
	}
	fs := flag.NewFlagSet("sellerguard", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, _, err := config.Register(fs, func(k string) string { return env[k] })
	if err == nil {
		err = fs.Parse(nil)
	}
	if err == nil {
		err = cfg.Finish()
	}
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("sellerguard settings: %w", err)
	}

	sg := &sellerGuard{URL: "http://" + addr, DataDir: dataDir, done: make(chan error, 1)}
	var logw io.Writer = io.Discard
	switch o.LogPath {
	case "discard":
		sg.LogPath = "discard"
	default:
		path := o.LogPath
		if path == "" {
			path = filepath.Join(tmp, "sellerguard.log")
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			_ = ln.Close()
			return nil, err
		}
		sg.logFile, sg.LogPath, logw = f, path, f
	}
	logger := app.NewLogger(cfg, logw)
	a, err := app.New(ctx, cfg, logger, "load")
	if err != nil {
		_ = ln.Close()
		sg.closeLog()
		return nil, err
	}
	sg.App = a
	sctx, cancel := context.WithCancel(context.Background())
	sg.stop = cancel
	go pprof.Do(sctx, pprof.Labels("role", "sellerguard"), func(sctx context.Context) {
		sg.done <- a.Serve(sctx, ln)
	})
	return sg, nil
}

func (sg *sellerGuard) closeLog() {
	if sg.logFile != nil {
		_ = sg.logFile.Close()
	}
}

// Stop shuts the server down and closes the database.
func (sg *sellerGuard) Stop() error {
	sg.stop()
	var err error
	select {
	case err = <-sg.done:
	case <-time.After(30 * time.Second):
		err = errors.New("sellerguard did not shut down within 30s")
	}
	_ = sg.App.Close()
	sg.closeLog()
	return err
}

// profileSession is --cpuprofile: SellerGuard in this process, the session
// tokens made through its API, then the session-check load alone (each
// distribution and concurrency in turn) under the CPU profiler. It prints
// what it measured, but no comparison: the client shares the process.
func profileSession(ctx context.Context, o *options, stdout, progress io.Writer) (err error) {
	tmp, err := os.MkdirTemp("", "sellerguard-load-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	dbURL := ""
	if o.Server.DatabaseURL != "" {
		var drop func() error
		if dbURL, drop, err = pgDatabase(ctx, o.Server.DatabaseURL); err != nil {
			return err
		}
		defer func() { _ = drop() }()
	}
	sg, err := startSellerGuard(ctx, tmp, o.Server, dbURL)
	if err != nil {
		return fmt.Errorf("start SellerGuard: %w", err)
	}
	defer func() {
		if serr := sg.Stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	tokens, err := seedTokens(ctx, sg.URL, o.SessionUsers, o.Sessions, 2*runtime.NumCPU())
	if err != nil {
		return fmt.Errorf("make the session tokens: %w", err)
	}
	authz := make([]string, len(tokens))
	for i, t := range tokens {
		authz[i] = "Bearer " + t
	}
	if err := primeSessions(ctx, target{URL: sg.URL}, authz, 64, o.PrimeOver, progress); err != nil {
		return err
	}
	f, err := os.Create(o.CPUProfile)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	fmt.Fprintf(stdout, "profile mode: SellerGuard in-process (%s), %d sessions of %d accounts, log level %s to %s; profile in %s\n",
		sg.App.DB.Dialect(), len(tokens), o.SessionUsers, sg.App.Config.LogLevel, sg.LogPath, o.CPUProfile)
	for _, dist := range o.Distributions {
		for _, c := range o.SessionConcurrency {
			client := newClient(c, 30*time.Second)
			test := testSession + "-" + dist
			m := measurement{concurrency: c, warmup: o.Warmup, duration: o.Duration, maxOps: o.MaxRequests, serverPID: inProcess,
				labels: labels("client", test, targetSellerGuard),
				newOp: func(i int) op {
					return sessionOp(ctx, client, sg.URL+"/api/v1/session", authz, tokenPicker(dist, len(authz), o.ZipfS, i))
				}}
			l := newLoad(m)
			l.slice(ctx, o.Duration)
			client.CloseIdleConnections()
			st := l.stats()
			fmt.Fprintf(stdout, "%-15s c=%-3d %9d requests (%d in warm-up)  %10.1f /s  p50 %s  p99 %s  process CPU %s/request  errors %d\n",
				test, c, st.Total, st.WarmupOps, st.Throughput, fmtDur(st.P50), fmtDur(st.P99), fmtDur(st.ServerCPUPerOp), st.Errors)
			if st.Errors > 0 {
				return fmt.Errorf("%d requests failed; first: %s", st.Errors, st.FirstError)
			}
		}
	}
	return ctx.Err()
}
