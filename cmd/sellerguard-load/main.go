// Command sellerguard-load measures SellerGuard's two hot paths against
// their floors, each server in its own process, the load client in this
// one, on one machine and in the same run:
//
//   - the session check, GET /api/v1/session with a bearer token chosen
//     from many sessions (10,000 by default, uniformly or Zipf-distributed),
//     against a bare net/http handler returning a small JSON body (targets
//     at concurrency 64: at least 0.80 of the bare handler's throughput,
//     p99 at most 5 ms);
//   - sign-in, POST /api/v1/sessions (and, in a second figure, the TOTP
//     second step after it), against raw Argon2id with the server's
//     parameters on a pool of as many slots as the server's hashing pool
//     (target: at least 0.92 of its rate at concurrency = CPUs and 2×CPUs).
//
// SellerGuard is the `sellerguard` binary of this tree (go build into a
// temp dir, or --sellerguard-bin) started as `sellerguard serve`, its log
// (info level) to a file; the bare handler is this program again in a child
// role. Next to throughput and latency the harness reports the CPU time
// each server process spent per request (/proc/<pid>/stat). The sessions
// are made through the API on a first instance with cheap Argon2id
// parameters (the session check never hashes a password), which is then
// stopped; the measured instance starts on the same database with the
// default parameters, and the sign-in accounts are made on it.
//
//	go run ./cmd/sellerguard-load --rounds 3
//	go run ./cmd/sellerguard-load --database-url 'postgres://postgres@127.0.0.1:55432/postgres?sslmode=disable'
//	go run ./cmd/sellerguard-load --fail-on-target
//	go run ./cmd/sellerguard-load --cpuprofile cpu.out   # profile mode, see below
//
// Exit status: 0 when every request succeeded (targets are reported, and
// only fail the run with --fail-on-target), 1 on any failed request or
// error, 2 on a usage mistake.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	if code, ok := runChild(); ok {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Sign-in kinds.
const (
	signInPassword = "password"
	signInTOTP     = "totp"
)

// options are the harness's settings.
type options struct {
	Duration    time.Duration
	Warmup      time.Duration
	PrimeOver   time.Duration
	Rounds      int
	MaxRequests int
	JSON        bool
	CPUProfile  string
	Only        string
	Slices      int

	SessionConcurrency []int
	SignInConcurrency  []int
	Distributions      []string
	SignInKinds        []string
	Sessions           int
	SessionUsers       int
	ZipfS              float64
	TOTPUsers          int
	HashSlots          int

	SessionTargetConcurrency int
	SignInTargetConcurrency  []int
	SessionTarget            float64
	SessionP99Target         time.Duration
	SignInTarget             float64
	FailOnTarget             bool

	SellerGuardBin string
	SellerGuardURL string // an already running server: session check only
	Token          string
	SellerGuardPID int

	Server   serverOptions
	Memory   memoryOptions   // memory.go
	ScaleOut scaleOutOptions // scale-out mode (scaleout.go)
}

// serverOptions are the settings of the SellerGuard under test.
type serverOptions struct {
	DatabaseURL                             string // "" = SQLite in the temp data dir; postgres://: a fresh database is made beside it
	Argon2Memory, Argon2Time, Argon2Threads uint
	SeedArgon2Memory, SeedArgon2Time        uint
	LogLevel                                string
	LogPath                                 string // "" = a file in the temp dir
}

var errUsage = errors.New("usage")

func parseArgs(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	ncpu := runtime.NumCPU()
	fs := flag.NewFlagSet("sellerguard-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.Duration, "duration", 5*time.Second, "length of each measurement window")
	fs.DurationVar(&o.Warmup, "warmup", time.Second, "warm-up before each measurement (same workers and connections, not counted)")
	fs.DurationVar(&o.PrimeOver, "prime-over", 30*time.Second, "spread the first check of every session over this time before measuring (the session cache's TTL, so that its re-reads are spread as in a running service; 0: all at once)")
	fs.IntVar(&o.Rounds, "rounds", 1, "times each baseline/SellerGuard pair is measured (order alternates); the summary takes the median")
	fs.IntVar(&o.MaxRequests, "max-requests", 2_000_000, "bound on requests (or hashes) in one warm-up or measurement window")
	fs.BoolVar(&o.JSON, "json", false, "print machine-readable results (JSON) instead of tables")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "profile mode: run SellerGuard inside this process (wired as serve wires it) under the session-check load only and write a CPU profile of it here (server goroutines labelled role=sellerguard); no comparison")
	fs.IntVar(&o.Slices, "slices", 1, "cut each window into this many slices that alternate between baseline and SellerGuard (ABBA…), so bursts of other work on a shared machine hit both alike; 1 = one window each")
	fs.StringVar(&o.Only, "only", "", "run only one comparison: session or signin; or memory (idle RSS, a sign-in flood's peak RSS and /healthz, see memory.go)")
	sessionC := fs.String("session-concurrency", "16,64", "concurrencies of the session-check comparison")
	signInC := fs.String("signin-concurrency", fmt.Sprintf("%d,%d", ncpu, 2*ncpu), "concurrencies of the sign-in comparison (default: CPUs and twice that)")
	dists := fs.String("distributions", "uniform,zipf", "how session checks spread over the tokens: uniform, zipf or both")
	kinds := fs.String("signin-kinds", "password,totp", "sign-ins measured: password (the password alone), totp (password, then the TOTP second step)")
	fs.IntVar(&o.Sessions, "sessions", 10_000, "distinct session tokens the session checks spread over")
	fs.IntVar(&o.SessionUsers, "session-users", 100, "accounts the session tokens belong to")
	fs.Float64Var(&o.ZipfS, "zipf-s", 1.1, "Zipf exponent s (> 1) of the zipf distribution")
	fs.IntVar(&o.TOTPUsers, "totp-users", 500, "accounts with TOTP for the totp sign-in (each gives 2–3 codes per 30 s: the server takes the steps either side of now and refuses a used one)")
	fs.IntVar(&o.HashSlots, "hash-slots", 0, "SellerGuard's hashing pool (SELLERGUARD_HASH_CONCURRENCY) and the raw Argon2id baseline's pool; 0 = CPUs")
	fs.IntVar(&o.SessionTargetConcurrency, "session-target-concurrency", 64, "concurrency at which the session-check targets are judged")
	signInTC := fs.String("signin-target-concurrency", fmt.Sprintf("%d,%d", ncpu, 2*ncpu), "concurrencies at which the sign-in target is judged")
	fs.Float64Var(&o.SessionTarget, "session-target", 0.80, "minimum SellerGuard/bare session-check throughput ratio")
	fs.DurationVar(&o.SessionP99Target, "session-p99-target", 5*time.Millisecond, "maximum SellerGuard session-check p99 latency at the target concurrency")
	fs.Float64Var(&o.SignInTarget, "signin-target", 0.92, "minimum password sign-ins per raw Argon2id hash ratio")
	fs.BoolVar(&o.FailOnTarget, "fail-on-target", false, "exit 1 when a target is missed")
	fs.StringVar(&o.SellerGuardBin, "sellerguard-bin", "", "the sellerguard binary to measure (default: go build ./cmd/sellerguard of this tree into a temp dir)")
	fs.StringVar(&o.SellerGuardURL, "sellerguard-url", "", "measure an already running SellerGuard's session check (with --token) instead of starting one; session comparison only")
	fs.StringVar(&o.Token, "token", "", "with --sellerguard-url: the session token to check")
	fs.IntVar(&o.SellerGuardPID, "sellerguard-pid", 0, "with --sellerguard-url: its process id, for its CPU time (0: not reported)")
	fs.StringVar(&o.Server.DatabaseURL, "database-url", "", "empty for SQLite in a fresh temp dir, or a postgres:// URL of a server where the harness may create (and afterwards drop) a fresh database")
	fs.UintVar(&o.Server.Argon2Memory, "argon2-memory", 19456, "measured server's Argon2id memory in KiB (SellerGuard default)")
	fs.UintVar(&o.Server.Argon2Time, "argon2-time", 2, "measured server's Argon2id passes (SellerGuard default)")
	fs.UintVar(&o.Server.Argon2Threads, "argon2-threads", 1, "measured server's Argon2id lanes (SellerGuard default)")
	fs.UintVar(&o.Server.SeedArgon2Memory, "seed-argon2-memory", 64, "Argon2id memory (KiB) of the seed instance that makes the session tokens (never measured)")
	fs.UintVar(&o.Server.SeedArgon2Time, "seed-argon2-time", 1, "Argon2id passes of the seed instance")
	fs.StringVar(&o.Server.LogLevel, "server-log-level", "info", "SellerGuard's log level (its default, info, logs one line per request)")
	fs.StringVar(&o.Server.LogPath, "server-log", "", "file SellerGuard's log (its standard error) goes to; empty for a file in the temp dir")
	registerMemoryFlags(fs, &o.Memory)
	registerScaleOutFlags(fs, &o.ScaleOut)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sellerguard-load: unexpected argument %q\n", fs.Arg(0))
		return nil, errUsage
	}
	var err error
	for _, l := range []struct {
		name string
		in   string
		out  *[]int
	}{{"--session-concurrency", *sessionC, &o.SessionConcurrency}, {"--signin-concurrency", *signInC, &o.SignInConcurrency}, {"--signin-target-concurrency", *signInTC, &o.SignInTargetConcurrency}} {
		if *l.out, err = parseConcurrency(l.in); err != nil {
			fmt.Fprintln(stderr, "sellerguard-load:", l.name+":", err)
			return nil, errUsage
		}
	}
	var bad []string
	if o.Distributions, err = parseWords(*dists, distUniform, distZipf); err != nil {
		bad = append(bad, "--distributions: "+err.Error())
	}
	if o.SignInKinds, err = parseWords(*kinds, signInPassword, signInTOTP); err != nil {
		bad = append(bad, "--signin-kinds: "+err.Error())
	}
	if o.HashSlots == 0 {
		o.HashSlots = ncpu
	}
	if o.Duration <= 0 {
		bad = append(bad, "--duration must be positive")
	}
	if o.PrimeOver < 0 {
		bad = append(bad, "--prime-over must not be negative")
	}
	if o.Warmup < 0 {
		bad = append(bad, "--warmup must not be negative")
	}
	if o.Slices < 1 || o.Slices > 1000 || (o.Duration > 0 && o.Duration/time.Duration(max(o.Slices, 1)) < 10*time.Millisecond) {
		bad = append(bad, "--slices must be between 1 and 1000 and leave slices of at least 10ms")
	}
	if o.Rounds < 1 {
		bad = append(bad, "--rounds must be at least 1")
	}
	if o.MaxRequests < 1 || o.MaxRequests > 100_000_000 {
		bad = append(bad, "--max-requests must be between 1 and 100000000")
	}
	if o.Only != "" && o.Only != testSession && o.Only != testSignIn && o.Only != testMemory {
		bad = append(bad, "--only must be session, signin or memory")
	}
	if err := o.Memory.check(); err != nil {
		bad = append(bad, err.Error())
	}
	if o.Sessions < 1 || o.Sessions > 1_000_000 || o.SessionUsers < 1 || o.SessionUsers > o.Sessions {
		bad = append(bad, "--sessions must be 1–1000000 and --session-users 1–sessions")
	}
	if o.ZipfS <= 1 {
		bad = append(bad, "--zipf-s must be greater than 1")
	}
	if o.TOTPUsers < 1 || o.HashSlots < 1 {
		bad = append(bad, "--totp-users and --hash-slots must be positive")
	}
	if o.SellerGuardURL != "" {
		if o.Token == "" {
			bad = append(bad, "--sellerguard-url needs --token")
		}
		if o.Only != testSession {
			bad = append(bad, "--sellerguard-url measures the session check only: add --only session")
		}
	}
	if o.Server.DatabaseURL != "" && !strings.HasPrefix(o.Server.DatabaseURL, "postgres://") && !strings.HasPrefix(o.Server.DatabaseURL, "postgresql://") {
		bad = append(bad, "--database-url must be a postgres:// URL (the default is SQLite in a temp dir)")
	}
	bad = append(bad, o.ScaleOut.validate(o)...)
	if len(bad) > 0 {
		fmt.Fprintln(stderr, "sellerguard-load:", strings.Join(bad, "; "))
		return nil, errUsage
	}
	return o, nil
}

// parseWords parses a comma-separated list of the allowed words.
func parseWords(s string, allowed ...string) ([]string, error) {
	var out []string
	for w := range strings.SplitSeq(s, ",") {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		if !slices.Contains(allowed, w) {
			return nil, fmt.Errorf("unknown %q (want %s)", w, strings.Join(allowed, ", "))
		}
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

// run is the whole program, testable in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		return 2
	}
	if o.CPUProfile != "" {
		if err := profileSession(ctx, o, stdout, stderr); err != nil {
			fmt.Fprintln(stderr, "sellerguard-load:", err)
			return 1
		}
		return 0
	}
	if o.ScaleOut.Instances != nil {
		return runScaleOut(ctx, o, stdout, stderr)
	}
	if o.Only == testMemory {
		return memoryExit(ctx, o, stdout, stderr)
	}
	rep, err := harness(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "sellerguard-load:", err)
		return 1
	}
	if o.JSON {
		err = rep.writeJSON(stdout)
	} else {
		err = rep.writeText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "sellerguard-load:", err)
		return 1
	}
	if rep.Errors > 0 {
		fmt.Fprintf(stderr, "sellerguard-load: %d requests failed; first: %s\n", rep.Errors, rep.FirstError)
		return 1
	}
	if o.FailOnTarget && !rep.AllTargetsPass() {
		return 1
	}
	return 0
}

// harness starts the servers, makes the sessions and accounts, and runs
// every measurement.
func harness(ctx context.Context, o *options, progress io.Writer) (_ *report, err error) {
	rep := newReport(o, gitCommit(ctx))
	tmp, err := os.MkdirTemp("", "sellerguard-load-*")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	stop := func(p *proc) {
		if serr := p.Stop(); serr != nil && err == nil {
			err = fmt.Errorf("stopping %s: %w", p.Name, serr)
		}
	}

	bareProc, err := startBareProc(ctx, tmp)
	if err != nil {
		return nil, fmt.Errorf("start the bare server: %w", err)
	}
	defer stop(bareProc)
	bare := target{URL: bareProc.URL, PID: bareProc.PID}

	var sg target
	var tokens []string
	var pw account
	var pool *totpPool
	wantSession, wantSignIn := o.Only != testSignIn, o.Only != testSession
	workers := 2 * runtime.NumCPU()
	if o.SellerGuardURL != "" {
		sg = target{URL: strings.TrimSuffix(o.SellerGuardURL, "/"), PID: o.SellerGuardPID}
		tokens = []string{o.Token}
		rep.Settings.Database, rep.Settings.Sessions, rep.Settings.SessionUsers = "external", 1, 1
	} else {
		bin := o.SellerGuardBin
		if bin == "" {
			fmt.Fprintln(progress, "building ./cmd/sellerguard …")
			if bin, err = buildSellerGuard(ctx, tmp); err != nil {
				return nil, err
			}
		}
		set := sgSettings{DataDir: filepath.Join(tmp, "data"), Argon2Threads: o.Server.Argon2Threads, HashSlots: o.HashSlots, LogLevel: o.Server.LogLevel}
		rep.Settings.Database = "sqlite"
		if o.Server.DatabaseURL != "" {
			var drop func() error
			if set.DatabaseURL, drop, err = pgDatabase(ctx, o.Server.DatabaseURL); err != nil {
				return nil, err
			}
			defer func() {
				if derr := drop(); derr != nil {
					fmt.Fprintln(progress, "sellerguard-load: dropping the run's database:", derr)
				}
			}()
			rep.Settings.Database = "postgres"
		}
		if wantSession {
			// The seed instance: the same binary and database, with cheap
			// Argon2id parameters so 10,000 sign-ins take seconds. The
			// session check never hashes a password, and this instance is
			// stopped before anything is measured.
			seed := set
			seed.Argon2Memory, seed.Argon2Time = o.Server.SeedArgon2Memory, o.Server.SeedArgon2Time
			p, err := startSellerGuardProc(ctx, bin, filepath.Join(tmp, "seed.log"), seed)
			if err != nil {
				return nil, fmt.Errorf("start the seed instance: %w", err)
			}
			t0 := time.Now()
			tokens, err = seedTokens(ctx, p.URL, o.SessionUsers, o.Sessions, workers)
			if serr := p.Stop(); err == nil && serr != nil {
				err = serr
			}
			if err != nil {
				return nil, fmt.Errorf("make the session tokens: %w", err)
			}
			fmt.Fprintf(progress, "made %d sessions of %d accounts in %s (seed instance, Argon2id m=%d KiB t=%d)\n", len(tokens), o.SessionUsers, time.Since(t0).Round(time.Millisecond), seed.Argon2Memory, seed.Argon2Time)
		}
		set.Argon2Memory, set.Argon2Time = o.Server.Argon2Memory, o.Server.Argon2Time
		logPath := o.Server.LogPath
		if logPath == "" {
			logPath = filepath.Join(tmp, "sellerguard.log")
		}
		p, err := startSellerGuardProc(ctx, bin, logPath, set)
		if err != nil {
			return nil, fmt.Errorf("start SellerGuard: %w", err)
		}
		defer stop(p)
		sg = target{URL: p.URL, PID: p.PID}
		rep.Settings.ServerLog = logPath
		if wantSignIn {
			t0 := time.Now()
			accts, err := createAccounts(ctx, sg.URL, "signin", 1, 1)
			if err != nil {
				return nil, fmt.Errorf("make the sign-in account: %w", err)
			}
			pw = accts[0]
			if slices.Contains(o.SignInKinds, signInTOTP) {
				ta, err := createTOTPAccounts(ctx, sg.URL, o.TOTPUsers, workers)
				if err != nil {
					return nil, fmt.Errorf("make the TOTP accounts: %w", err)
				}
				pool = &totpPool{accts: ta}
			}
			fmt.Fprintf(progress, "made the sign-in accounts in %s\n", time.Since(t0).Round(time.Millisecond))
		}
	}
	authz := make([]string, len(tokens))
	for i, t := range tokens {
		authz[i] = "Bearer " + t
	}
	p := argon2Params{Memory: uint32(o.Server.Argon2Memory), Time: uint32(o.Server.Argon2Time), Threads: uint8(o.Server.Argon2Threads)}

	if wantSession {
		if err := primeSessions(ctx, sg, authz, 64, o.PrimeOver, progress); err != nil {
			return nil, err
		}
	}
	for round := 1; round <= o.Rounds; round++ {
		if wantSession {
			for _, dist := range o.Distributions {
				for _, c := range o.SessionConcurrency {
					if err := sessionPair(ctx, o, rep, round, c, dist, bare, sg, authz, progress); err != nil {
						return nil, err
					}
				}
			}
		}
		if wantSignIn {
			for _, kind := range o.SignInKinds {
				for _, c := range o.SignInConcurrency {
					if err := signInPair(ctx, o, rep, round, c, kind, sg, pw, pool, p, progress); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	rep.finish()
	return rep, nil
}

// order returns the pair in the order of this round: baseline first in odd
// rounds, SellerGuard first in even ones.
func order(round int, baseline, sellerguard string) []string {
	if round%2 == 0 {
		return []string{sellerguard, baseline}
	}
	return []string{baseline, sellerguard}
}

func labels(role, test, target string) pprof.LabelSet {
	return pprof.Labels("role", role, "test", test, "target", target)
}
