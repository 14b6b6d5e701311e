package main

// Scale-out mode (issue 19 item 6): 1, 2 and 4 SellerGuard instances, each
// its own `sellerguard serve` process, on one PostgreSQL database; the load
// client spreads its connections round-robin over them (connection i goes
// to instance i mod n) and reports session checks/s and sign-ins/s in total
// and per instance, and the revocation delay across instances: a session
// ended on instance A, its token polled on the others until they answer
// 401. One instance runs in the same run as the baseline of every ratio.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// scaleOutOptions are the settings of the scale-out mode; the window,
// warm-up, rounds, sessions, hashing pool, Argon2id and database settings
// are the harness's own.
type scaleOutOptions struct {
	Instances          []int // nil: the mode is off
	SessionConcurrency int
	SignInConcurrency  int
	SignInAccounts     int
	RevocationTrials   int
	RevocationTimeout  time.Duration

	instances string // the flag as given
}

// registerScaleOutFlags adds the scale-out mode's flags to fs.
func registerScaleOutFlags(fs *flag.FlagSet, so *scaleOutOptions) {
	fs.StringVar(&so.instances, "scale-out", "", "scale-out mode: run these numbers of SellerGuard instances (e.g. 1,2,4; the first is the baseline of the ratios) on the PostgreSQL of --database-url, connections spread round-robin over them")
	fs.IntVar(&so.SessionConcurrency, "scale-session-concurrency", 64, "scale-out mode: connections checking sessions, over all instances together")
	fs.IntVar(&so.SignInConcurrency, "scale-signin-concurrency", 2*runtime.NumCPU(), "scale-out mode: connections signing in, over all instances together")
	fs.IntVar(&so.SignInAccounts, "scale-signin-accounts", 8, "scale-out mode: accounts the sign-ins spread over")
	fs.IntVar(&so.RevocationTrials, "revocation-trials", 20, "scale-out mode: sessions ended per instance count to measure the revocation delay")
	fs.DurationVar(&so.RevocationTimeout, "revocation-timeout", 5*time.Second, "scale-out mode: longest wait for another instance to refuse an ended session (longer fails the run)")
}

// validate parses the instance list and checks the mode's settings;
// it returns the problems found.
func (so *scaleOutOptions) validate(o *options) []string {
	if so.instances == "" {
		return nil
	}
	var bad []string
	n, err := parseConcurrency(so.instances)
	if err != nil || slices.ContainsFunc(n, func(k int) bool { return k > 16 }) {
		bad = append(bad, "--scale-out must list instance counts between 1 and 16")
	}
	so.Instances = n
	if o.Server.DatabaseURL == "" {
		bad = append(bad, "--scale-out needs --database-url (instances share one PostgreSQL)")
	}
	if o.SellerGuardURL != "" || o.CPUProfile != "" {
		bad = append(bad, "--scale-out starts its own instances: no --sellerguard-url or --cpuprofile")
	}
	if so.SessionConcurrency < 1 || so.SignInConcurrency < 0 || so.SignInAccounts < 1 || so.RevocationTrials < 0 || so.RevocationTrials > 10_000 || so.RevocationTimeout <= 0 {
		bad = append(bad, "--scale-session-concurrency and --scale-signin-accounts must be positive, --scale-signin-concurrency ≥ 0, --revocation-trials 0–10000, --revocation-timeout positive")
	}
	return bad
}

// scaleInstanceJSON is one instance's share of a measurement.
type scaleInstanceJSON struct {
	Ops        int64   `json:"ops"`
	Throughput float64 `json:"throughput_per_second"`
	ServerCPUs float64 `json:"server_cpu_us_per_op"`
}

// scaleLoadJSON is one load (session checks or sign-ins) on n instances.
type scaleLoadJSON struct {
	Concurrency int                 `json:"concurrency"`
	Throughput  float64             `json:"throughput_per_second"`
	PerInstance []scaleInstanceJSON `json:"per_instance"`
	P50ms       float64             `json:"p50_ms"`
	P99ms       float64             `json:"p99_ms"`
	ServerCPUus float64             `json:"server_cpu_us_per_op"` // all instances together
	ClientCPUus float64             `json:"client_cpu_us_per_op"`
	CPUUtil     float64             `json:"cpu_util"` // instances + client, of all CPUs
	Errors      int                 `json:"errors"`
	FirstError  string              `json:"first_error,omitempty"`
}

// scaleRunJSON is one instance count in one round.
type scaleRunJSON struct {
	Round      int            `json:"round"`
	Instances  int            `json:"instances"`
	Session    scaleLoadJSON  `json:"session"`
	SignIn     *scaleLoadJSON `json:"signin,omitempty"`
	Revocation revocationJSON `json:"revocation"`
	LoadAvg    string         `json:"loadavg"`
}

// revocationJSON is the delay from the answer to DELETE /api/v1/session on
// one instance until another instance answers the token with 401 (with one
// instance: the same one), over every trial and every other instance.
type revocationJSON struct {
	Trials   int     `json:"trials"`
	Samples  int     `json:"samples"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
	TimedOut int     `json:"timed_out"`
}

type scaleReport struct {
	Machine  machineInfo    `json:"machine"`
	Settings map[string]any `json:"settings"`
	Baseline int            `json:"baseline_instances"` // the instance count the ratios divide by
	Runs     []scaleRunJSON `json:"runs"`
	Errors   int            `json:"errors"`
	First    string         `json:"first_error,omitempty"`
}

// runScaleOut is the scale-out mode, in place of run's harness.
func runScaleOut(ctx context.Context, o *options, stdout, stderr io.Writer) int {
	rep, err := scaleOut(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "sellerguard-load:", err)
		return 1
	}
	if o.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.writeText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "sellerguard-load:", err)
		return 1
	}
	if rep.Errors > 0 {
		fmt.Fprintf(stderr, "sellerguard-load: %d requests failed; first: %s\n", rep.Errors, rep.First)
		return 1
	}
	return 0
}

func scaleOut(ctx context.Context, o *options, progress io.Writer) (_ *scaleReport, err error) {
	so := &o.ScaleOut
	rep := &scaleReport{
		Baseline: so.Instances[0],
		Machine:  newReport(o, gitCommit(ctx)).Machine,
		Settings: map[string]any{
			"instances": so.Instances, "session_concurrency": so.SessionConcurrency, "signin_concurrency": so.SignInConcurrency,
			"sessions": o.Sessions, "session_users": o.SessionUsers, "window_seconds": o.Duration.Seconds(), "warmup_seconds": o.Warmup.Seconds(),
			"rounds": o.Rounds, "hash_slots_per_instance": o.HashSlots, "argon2_memory_kib": o.Server.Argon2Memory, "argon2_time": o.Server.Argon2Time,
			"revocation_trials": so.RevocationTrials, "revocation_timeout_seconds": so.RevocationTimeout.Seconds(), "server_log_level": o.Server.LogLevel,
			"database": "postgres",
		},
	}
	tmp, err := os.MkdirTemp("", "sellerguard-scale-*")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	bin := o.SellerGuardBin
	if bin == "" {
		fmt.Fprintln(progress, "building ./cmd/sellerguard …")
		if bin, err = buildSellerGuard(ctx, tmp); err != nil {
			return nil, err
		}
	}
	// One data directory for all: the instances share the key file, as
	// instances of one deployment do.
	set := sgSettings{DataDir: filepath.Join(tmp, "data"), Argon2Threads: o.Server.Argon2Threads, HashSlots: o.HashSlots, LogLevel: o.Server.LogLevel}
	var drop func() error
	if set.DatabaseURL, drop, err = pgDatabase(ctx, o.Server.DatabaseURL); err != nil {
		return nil, err
	}
	defer func() {
		if derr := drop(); derr != nil {
			fmt.Fprintln(progress, "sellerguard-load: dropping the run's database:", derr)
		}
	}()

	// The seed instance makes the sessions (cheap Argon2id: the session
	// check never hashes a password), the load's and one per revocation
	// trial, then stops.
	workers := 2 * runtime.NumCPU()
	trials := so.RevocationTrials * len(so.Instances) * o.Rounds
	seed := set
	seed.Argon2Memory, seed.Argon2Time = o.Server.SeedArgon2Memory, o.Server.SeedArgon2Time
	sp, err := startSellerGuardProc(ctx, bin, filepath.Join(tmp, "seed.log"), seed)
	if err != nil {
		return nil, fmt.Errorf("start the seed instance: %w", err)
	}
	t0 := time.Now()
	tokens, err := seedTokens(ctx, sp.URL, o.SessionUsers, o.Sessions+trials, workers)
	if serr := sp.Stop(); err == nil && serr != nil {
		err = serr
	}
	if err != nil {
		return nil, fmt.Errorf("make the session tokens: %w", err)
	}
	fmt.Fprintf(progress, "made %d sessions in %s (seed instance)\n", len(tokens), time.Since(t0).Round(time.Millisecond))
	authz := make([]string, o.Sessions)
	for i, t := range tokens[:o.Sessions] {
		authz[i] = "Bearer " + t
	}
	revTokens := tokens[o.Sessions:]

	set.Argon2Memory, set.Argon2Time = o.Server.Argon2Memory, o.Server.Argon2Time
	var signInBodies [][]byte
	for round := 1; round <= o.Rounds; round++ {
		counts := slices.Clone(so.Instances)
		if round%2 == 0 {
			slices.Reverse(counts)
		}
		for _, n := range counts {
			run, err := scaleRun(ctx, o, bin, set, tmp, round, n, authz, &revTokens, &signInBodies, progress)
			if run != nil {
				rep.Runs = append(rep.Runs, *run)
				for _, l := range []*scaleLoadJSON{&run.Session, run.SignIn} {
					if l != nil && l.Errors > 0 {
						rep.Errors += l.Errors
						if rep.First == "" {
							rep.First = l.FirstError
						}
					}
				}
			}
			if err != nil {
				return nil, err
			}
		}
	}
	rep.Machine.LoadAvgEnd = loadAvg()
	return rep, nil
}

// scaleRun starts n instances, measures them and stops them.
func scaleRun(ctx context.Context, o *options, bin string, set sgSettings, tmp string, round, n int, authz []string, revTokens *[]string, signInBodies *[][]byte, progress io.Writer) (_ *scaleRunJSON, err error) {
	so := &o.ScaleOut
	procs := make([]*proc, 0, n)
	defer func() {
		for _, p := range procs {
			if serr := p.Stop(); serr != nil && err == nil {
				err = fmt.Errorf("stopping %s: %w", p.Name, serr)
			}
		}
	}()
	for i := range n {
		p, err := startSellerGuardProc(ctx, bin, filepath.Join(tmp, fmt.Sprintf("sellerguard-r%d-n%d-%d.log", round, n, i)), set)
		if err != nil {
			return nil, fmt.Errorf("start instance %d of %d: %w", i+1, n, err)
		}
		p.Name = fmt.Sprintf("instance %d of %d", i+1, n)
		procs = append(procs, p)
	}
	urls := make([]string, n)
	pids := make([]int, n)
	for i, p := range procs {
		urls[i], pids[i] = p.URL, p.PID
	}
	if *signInBodies == nil && so.SignInConcurrency > 0 {
		// Made on a measured instance, so the hashes have the measured
		// parameters (a sign-in would otherwise re-hash them).
		accts, err := createAccounts(ctx, urls[0], "scale", so.SignInAccounts, 2*runtime.NumCPU())
		if err != nil {
			return nil, fmt.Errorf("make the sign-in accounts: %w", err)
		}
		for _, a := range accts {
			b, err := json.Marshal(map[string]string{"email": a.Email, "password": a.Password})
			if err != nil {
				return nil, err
			}
			*signInBodies = append(*signInBodies, b)
		}
	}
	// Every instance checks every token once first, the instances at the
	// same time, each spread over --prime-over: the steady state, where
	// each instance's cache holds the active sessions and re-reads them at
	// scattered moments.
	err = parallel(ctx, n, n, func(i int) error {
		if err := primeSessions(ctx, target{URL: urls[i], PID: pids[i]}, authz, 64, o.PrimeOver, io.Discard); err != nil {
			return fmt.Errorf("instance %d: %w", i+1, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	run := &scaleRunJSON{Round: round, Instances: n}
	sessionClients := make([]*http.Client, n)
	for i := range n {
		sessionClients[i] = newClient(so.SessionConcurrency/n+1, 30*time.Second)
		defer sessionClients[i].CloseIdleConnections()
	}
	run.Session = spreadLoad(ctx, o, so.SessionConcurrency, pids, labels("client", "scale-session", fmt.Sprint(n)), func(worker, inst int) op {
		return sessionOp(ctx, sessionClients[inst], urls[inst]+"/api/v1/session", authz, tokenPicker(distUniform, len(authz), o.ZipfS, worker+round*1000))
	})
	fmt.Fprintf(progress, "round %d  %d instance(s)  session checks c=%d: %.0f /s (%s/op server CPU)  load %s\n", round, n, so.SessionConcurrency, run.Session.Throughput, fmtDur(usDur(run.Session.ServerCPUus)), loadAvg())
	if so.SignInConcurrency > 0 {
		signInClients := make([]*http.Client, n)
		for i := range n {
			signInClients[i] = newClient(so.SignInConcurrency/n+1, 2*time.Minute)
			defer signInClients[i].CloseIdleConnections()
		}
		bodies := *signInBodies
		l := spreadLoad(ctx, o, so.SignInConcurrency, pids, labels("client", "scale-signin", fmt.Sprint(n)), func(worker, inst int) op {
			return postOp(ctx, signInClients[inst], urls[inst]+"/api/v1/sessions", "", bodies[worker%len(bodies)], http.StatusCreated, nil)
		})
		run.SignIn = &l
		fmt.Fprintf(progress, "round %d  %d instance(s)  sign-ins c=%d: %.1f /s  load %s\n", round, n, so.SignInConcurrency, l.Throughput, loadAvg())
	}
	take := min(so.RevocationTrials, len(*revTokens))
	rv, err := revocationDelay(ctx, urls, (*revTokens)[:take], so.RevocationTimeout)
	*revTokens = (*revTokens)[take:]
	run.Revocation = rv
	run.LoadAvg = loadAvg()
	if err != nil {
		return run, err
	}
	fmt.Fprintf(progress, "round %d  %d instance(s)  revocation: p50 %s p99 %s over %d samples\n", round, n, fmtDur(msDur(rv.P50ms)), fmtDur(msDur(rv.P99ms)), rv.Samples)
	return run, nil
}

// spreadLoad runs a closed-loop load of c connections, connection i on
// instance i mod len(pids), for the harness's warm-up and window, and
// splits the outcome by instance (each instance's share of the operations
// finished during the window, and its server CPU per operation).
func spreadLoad(ctx context.Context, o *options, c int, pids []int, lbl pprof.LabelSet, newOp func(worker, inst int) op) scaleLoadJSON {
	n := len(pids)
	counts := make([]atomic.Int64, n)
	l := newLoad(measurement{
		concurrency: c, warmup: o.Warmup, duration: o.Duration, maxOps: o.MaxRequests, labels: lbl,
		newOp: func(i int) op {
			inst := i % n
			inner := newOp(i, inst)
			return func() error {
				err := inner()
				if err == nil {
					counts[inst].Add(1)
				}
				return err
			}
		},
	})
	l.warm(ctx)
	ops0 := make([]int64, n)
	cpu0 := make([]time.Duration, n)
	for i := range n {
		ops0[i], cpu0[i] = counts[i].Load(), pidCPU(pids[i])
	}
	t0 := time.Now()
	l.slice(ctx, o.Duration)
	wall := time.Since(t0)
	s := l.stats()
	out := scaleLoadJSON{Concurrency: c, Throughput: s.Throughput, P50ms: ms(s.P50), P99ms: ms(s.P99), ClientCPUus: us(s.ClientCPUPerOp), Errors: s.Errors, FirstError: s.FirstError}
	var allOps int64
	var allCPU time.Duration
	ops := make([]int64, n)
	cpus := make([]time.Duration, n)
	for i := range n {
		ops[i], cpus[i] = counts[i].Load()-ops0[i], pidCPU(pids[i])-cpu0[i]
		allOps += ops[i]
		allCPU += cpus[i]
	}
	for i := range n {
		pi := scaleInstanceJSON{Ops: ops[i]}
		if allOps > 0 {
			pi.Throughput = s.Throughput * float64(ops[i]) / float64(allOps)
		}
		if ops[i] > 0 {
			pi.ServerCPUs = us(cpus[i] / time.Duration(ops[i]))
		}
		out.PerInstance = append(out.PerInstance, pi)
	}
	if allOps > 0 {
		out.ServerCPUus = us(allCPU / time.Duration(allOps))
	}
	if wall > 0 {
		out.CPUUtil = (allCPU + s.ClientCPUPerOp*time.Duration(s.Total)).Seconds() / (wall.Seconds() * float64(runtime.NumCPU()))
	}
	return out
}

// revocationDelay ends each token's session on one instance (in turn) and
// measures, on every other instance (with one instance: on that one), the
// time from DELETE /api/v1/session's answer until a check of the token
// answers 401: the time the 401 arrived, so an upper bound that includes
// one check's latency. Before each trial every instance has checked the
// token (200), so each holds it in its cache: the case revocation must
// reach. A token still accepted after timeout is an error.
func revocationDelay(ctx context.Context, urls []string, tokens []string, timeout time.Duration) (revocationJSON, error) {
	out := revocationJSON{Trials: len(tokens)}
	c := newClient(2*len(urls), 10*time.Second)
	defer c.CloseIdleConnections()
	check := func(url, token string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", url+"/api/v1/session", nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		_ = resp.Body.Close()
		return resp.StatusCode, nil
	}
	var delays []time.Duration
	var failures []string
	for k, tok := range tokens {
		a := k % len(urls)
		for i, u := range urls {
			if st, err := check(u, tok); err != nil || st != http.StatusOK {
				return out, fmt.Errorf("revocation trial %d: instance %d answers %d (%v) before the session ends, want 200", k, i+1, st, err)
			}
		}
		req, err := http.NewRequestWithContext(ctx, "DELETE", urls[a]+"/api/v1/session", nil)
		if err != nil {
			return out, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(req)
		if err != nil {
			return out, fmt.Errorf("revocation trial %d: sign-out: %w", k, err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return out, fmt.Errorf("revocation trial %d: sign-out on instance %d: status %d, want 204", k, a+1, resp.StatusCode)
		}
		ended := time.Now()
		others := make([]int, 0, len(urls))
		for i := range urls {
			if i != a || len(urls) == 1 {
				others = append(others, i)
			}
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, i := range others {
			wg.Go(func() {
				for {
					st, err := check(urls[i], tok)
					now := time.Now()
					mu.Lock()
					switch {
					case err == nil && st == http.StatusUnauthorized:
						delays = append(delays, now.Sub(ended))
					case err != nil || st != http.StatusOK:
						failures = append(failures, fmt.Sprintf("trial %d, instance %d: status %d (%v), want 401 or 200", k, i+1, st, err))
					case now.Sub(ended) > timeout:
						out.TimedOut++
						failures = append(failures, fmt.Sprintf("trial %d: instance %d still accepts the ended session after %s", k, i+1, timeout))
					default:
						mu.Unlock()
						continue
					}
					mu.Unlock()
					return
				}
			})
		}
		wg.Wait()
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
	}
	slices.Sort(delays)
	out.Samples = len(delays)
	out.P50ms, out.P99ms = ms(percentile(delays, 0.50)), ms(percentile(delays, 0.99))
	if len(delays) > 0 {
		out.MaxMs = ms(delays[len(delays)-1])
	}
	if len(failures) > 0 {
		return out, errors.New("revocation: " + strings.Join(failures[:min(5, len(failures))], "; "))
	}
	return out, nil
}

// writeText prints the runs and, for each instance count, the ratios to
// the first count listed (one instance, normally) of the same round.
func (r *scaleReport) writeText(w io.Writer) error {
	fmt.Fprintf(w, "SellerGuard scale-out at commit %s\n", r.Machine.Commit)
	fmt.Fprintf(w, "%d CPUs (%s), %s %s/%s\n", r.Machine.NumCPU, r.Machine.CPUModel, r.Machine.GoVersion, r.Machine.GOOS, r.Machine.GOARCH)
	fmt.Fprintf(w, "load average (1, 5, 15 min) %s at start, %s at end\n", r.Machine.LoadAvgStart, r.Machine.LoadAvgEnd)
	fmt.Fprintf(w, "instances: `sellerguard serve` processes on one PostgreSQL database, the load client's connections round-robin over them (connection i → instance i mod n)\n")
	fmt.Fprintf(w, "settings: %v\n\n", r.Settings)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\tinst\tchecks/s\tper instance\tsrv/op\tp50\tp99\tsign-ins/s\tper instance\trevoke p50\trevoke p99\trevoke max\tsamples\tcpu\tload\t")
	for _, run := range r.Runs {
		si, sip := "-", "-"
		if run.SignIn != nil {
			si, sip = fmt.Sprintf("%.1f", run.SignIn.Throughput), perInstance(run.SignIn.PerInstance, "%.1f")
		}
		fmt.Fprintf(tw, "%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%.0f%%\t%s\t\n", run.Round, run.Instances,
			run.Session.Throughput, perInstance(run.Session.PerInstance, "%.0f"), fmtDur(usDur(run.Session.ServerCPUus)),
			fmtDur(msDur(run.Session.P50ms)), fmtDur(msDur(run.Session.P99ms)), si, sip,
			fmtDur(msDur(run.Revocation.P50ms)), fmtDur(msDur(run.Revocation.P99ms)), fmtDur(msDur(run.Revocation.MaxMs)), run.Revocation.Samples,
			100*run.Session.CPUUtil, run.LoadAvg)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	base := map[int]scaleRunJSON{}
	for _, run := range r.Runs {
		if run.Instances == r.firstCount() {
			base[run.Round] = run
		}
	}
	fmt.Fprintf(w, "\nRatios to %d instance(s) of the same round (checks/s total, per instance, server CPU per check; sign-ins/s total):\n", r.firstCount())
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\tinst\tchecks/s ratio\tper-instance ratio\tsrv/op ratio\tsign-ins/s ratio\t")
	for _, run := range r.Runs {
		b, ok := base[run.Round]
		if !ok || b.Session.Throughput == 0 {
			continue
		}
		sr := "-"
		if run.SignIn != nil && b.SignIn != nil && b.SignIn.Throughput > 0 {
			sr = fmt.Sprintf("%.2f", run.SignIn.Throughput/b.SignIn.Throughput)
		}
		cpu := "-"
		if b.Session.ServerCPUus > 0 {
			cpu = fmt.Sprintf("%.2f", run.Session.ServerCPUus/b.Session.ServerCPUus)
		}
		per := run.Session.Throughput / float64(run.Instances) / (b.Session.Throughput / float64(b.Instances))
		fmt.Fprintf(tw, "%d\t%d\t%.2f\t%.2f\t%s\t%s\t\n", run.Round, run.Instances, run.Session.Throughput/b.Session.Throughput, per, cpu, sr)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Errors > 0 {
		_, err := fmt.Fprintf(w, "errors: %d, first: %s\n", r.Errors, r.First)
		return err
	}
	_, err := fmt.Fprintln(w, "errors: none")
	return err
}

func (r *scaleReport) firstCount() int { return max(r.Baseline, 1) }

func perInstance(p []scaleInstanceJSON, format string) string {
	parts := make([]string, len(p))
	for i, x := range p {
		parts[i] = fmt.Sprintf(format, x.Throughput)
	}
	return strings.Join(parts, "/")
}
