// Command sellerguard-load measures SellerGuard's two hot paths against
// their floors, side by side in one process on one machine:
//
//   - the session check, GET /api/v1/session with a bearer token, against a
//     bare net/http handler returning a small JSON body (target: SellerGuard
//     throughput at least 0.50 of the bare handler's at concurrency 64);
//   - password sign-in, POST /api/v1/sessions, against raw Argon2id
//     (argon2.IDKey with the server's parameters) in as many goroutines
//     (target: sign-ins/s at least 0.85 of hashes/s at concurrency = CPUs).
//
// SellerGuard is wired with internal/app exactly as `sellerguard serve` does,
// on a fresh temp data dir (SQLite unless --database-url), in local mode, with
// the default Argon2id parameters; the test account is made through the API
// (sign-up, code from the dev outbox, verify, sign in). Each measurement has
// a warm-up, then a fixed window; baseline and SellerGuard alternate order
// each round, and the summary reports the median ratio over --rounds. On a
// shared machine, --slices N cuts each window into N parts that alternate
// between the two targets, so other work hits both alike.
//
//	go run ./cmd/sellerguard-load --rounds 3
//	go run ./cmd/sellerguard-load --rounds 3 --slices 5
//	go run ./cmd/sellerguard-load --only session --cpuprofile cpu.out
//	go tool pprof -top -tagfocus role=sellerguard cpu.out
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
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// options are the harness's settings.
type options struct {
	Duration    time.Duration
	Warmup      time.Duration
	Rounds      int
	MaxRequests int
	JSON        bool
	CPUProfile  string
	Only        string
	Slices      int

	SessionConcurrency       []int
	SignInConcurrency        []int
	SessionTargetConcurrency int
	SignInTargetConcurrency  int
	SessionTarget            float64
	SignInTarget             float64
	FailOnTarget             bool

	Server serverOptions
}

var errUsage = errors.New("usage")

func parseArgs(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	ncpu := runtime.NumCPU()
	fs := flag.NewFlagSet("sellerguard-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.Duration, "duration", 5*time.Second, "length of each measurement window")
	fs.DurationVar(&o.Warmup, "warmup", time.Second, "warm-up before each measurement (same workers and connections, not counted)")
	fs.IntVar(&o.Rounds, "rounds", 1, "times each baseline/SellerGuard pair is measured (order alternates); the summary takes the median")
	fs.IntVar(&o.MaxRequests, "max-requests", 2_000_000, "bound on requests (or hashes) in one measurement window")
	fs.BoolVar(&o.JSON, "json", false, "print machine-readable results (JSON) instead of tables")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the whole process (servers and load generator) to this file; goroutines are labelled role=sellerguard|bare|client|argon2")
	fs.IntVar(&o.Slices, "slices", 1, "cut each window into this many slices that alternate between baseline and SellerGuard (ABBA…), so bursts of other work on a shared machine hit both alike; 1 = one window each")
	fs.StringVar(&o.Only, "only", "", "run only one comparison: session or signin")
	sessionC := fs.String("session-concurrency", "16,64", "concurrencies of the session-check comparison")
	signInC := fs.String("signin-concurrency", fmt.Sprintf("%d,%d", ncpu, 2*ncpu), "concurrencies of the sign-in comparison (default: CPUs and twice that)")
	fs.IntVar(&o.SessionTargetConcurrency, "session-target-concurrency", 64, "concurrency at which the session-check target is judged")
	fs.IntVar(&o.SignInTargetConcurrency, "signin-target-concurrency", ncpu, "concurrency at which the sign-in target is judged")
	fs.Float64Var(&o.SessionTarget, "session-target", 0.50, "minimum SellerGuard/bare session-check throughput ratio")
	fs.Float64Var(&o.SignInTarget, "signin-target", 0.85, "minimum sign-ins per raw Argon2id hash ratio")
	fs.BoolVar(&o.FailOnTarget, "fail-on-target", false, "exit 1 when a target is missed")
	fs.StringVar(&o.Server.DatabaseURL, "database-url", "", "SellerGuard database: empty for SQLite in a fresh temp dir, or a postgres:// URL (its database must be disposable)")
	fs.UintVar(&o.Server.Argon2Memory, "argon2-memory", 19456, "server Argon2id memory in KiB (SellerGuard default)")
	fs.UintVar(&o.Server.Argon2Time, "argon2-time", 2, "server Argon2id passes (SellerGuard default)")
	fs.UintVar(&o.Server.Argon2Threads, "argon2-threads", 1, "server Argon2id lanes (SellerGuard default)")
	fs.StringVar(&o.Server.LogLevel, "server-log-level", "info", "SellerGuard's log level (its default, info, logs one line per request)")
	fs.StringVar(&o.Server.LogPath, "server-log", "", `where SellerGuard's log goes: a file path, "discard" (formatted, then dropped), or empty for a file in the temp dir`)
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
	if o.SessionConcurrency, err = parseConcurrency(*sessionC); err != nil {
		fmt.Fprintln(stderr, "sellerguard-load: --session-concurrency:", err)
		return nil, errUsage
	}
	if o.SignInConcurrency, err = parseConcurrency(*signInC); err != nil {
		fmt.Fprintln(stderr, "sellerguard-load: --signin-concurrency:", err)
		return nil, errUsage
	}
	var bad []string
	if o.Duration <= 0 {
		bad = append(bad, "--duration must be positive")
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
	if o.Only != "" && o.Only != "session" && o.Only != "signin" {
		bad = append(bad, "--only must be session or signin")
	}
	if o.Server.DatabaseURL != "" && !strings.HasPrefix(o.Server.DatabaseURL, "postgres://") && !strings.HasPrefix(o.Server.DatabaseURL, "postgresql://") && !strings.HasPrefix(o.Server.DatabaseURL, "sqlite://") {
		bad = append(bad, "--database-url must be a postgres:// or sqlite:// URL")
	}
	if len(bad) > 0 {
		fmt.Fprintln(stderr, "sellerguard-load:", strings.Join(bad, "; "))
		return nil, errUsage
	}
	return o, nil
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

// harness starts both servers, makes the test user and runs every
// measurement.
func harness(ctx context.Context, o *options, progress io.Writer) (*report, error) {
	tmp, err := os.MkdirTemp("", "sellerguard-load-*")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(tmp) }()

	sg, err := startSellerGuard(ctx, tmp, o.Server)
	if err != nil {
		return nil, fmt.Errorf("start SellerGuard: %w", err)
	}
	defer func() {
		if err := sg.Stop(); err != nil {
			fmt.Fprintln(progress, "sellerguard-load: stopping SellerGuard:", err)
		}
	}()
	bare, err := startBare()
	if err != nil {
		return nil, fmt.Errorf("start bare server: %w", err)
	}
	defer bare.Stop()

	user, err := createUser(ctx, sg.URL)
	if err != nil {
		return nil, fmt.Errorf("create the test user through the API: %w", err)
	}
	params := sg.App.Auth.Hasher.Params()
	rep := newReport(o, sg, params)

	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return nil, err
		}
		defer func() { _ = f.Close() }()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}

	for round := 1; round <= o.Rounds; round++ {
		if o.Only != "signin" {
			for _, c := range o.SessionConcurrency {
				if err := sessionPair(ctx, o, rep, round, c, bare.URL, sg.URL, user.Token, progress); err != nil {
					return nil, err
				}
			}
		}
		if o.Only != "session" {
			for _, c := range o.SignInConcurrency {
				if err := signInPair(ctx, o, rep, round, c, sg.URL, user, params, progress); err != nil {
					return nil, err
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

func sessionPair(ctx context.Context, o *options, rep *report, round, c int, bareURL, sgURL, token string, progress io.Writer) error {
	var ms []measurement
	names := order(round, targetBare, targetSellerGuard)
	for _, target := range names {
		url := sgURL + "/api/v1/session"
		if target == targetBare {
			url = bareURL + "/api/v1/session"
		}
		client := newClient(c, 30*time.Second)
		defer client.CloseIdleConnections()
		ms = append(ms, measurement{
			concurrency: c, warmup: o.Warmup, duration: o.Duration, maxOps: o.MaxRequests,
			labels: pprof.Labels("role", "client", "test", testSession, "target", target),
			newOp: func(int) op {
				// The same request to both: the bare handler ignores the token.
				return httpOp(ctx, client, "GET", url, token, nil, 200)
			},
		})
	}
	s0, s1 := measurePair(ctx, ms[0], ms[1], o.Slices)
	rep.add(progress, round, testSession, names[0], c, s0)
	rep.add(progress, round, testSession, names[1], c, s1)
	return ctx.Err()
}
