package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	// The harness starts its bare baseline by running its own executable
	// again in a child role: under `go test` that is this test binary.
	if code, ok := runChild(); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestHarnessRuns keeps the harness from rotting: a short run — the
// sellerguard binary built and started as `sellerguard serve`, the bare
// server as a child process, a few sessions and TOTP accounts — must
// measure every pair with zero errors and positive throughput. It asserts
// nothing about speed (the machine running tests is shared and the race
// detector may be on).
func TestHarnessRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts sellerguard")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	// An account enrolled late in a 30-second step keeps one TOTP code
	// for the run (see totpPool): 150 accounts cover the warm-up and the
	// 40 requests of the window with room, 60 did not always.
	code := run(ctx, []string{
		"--json",
		"--duration=300ms", "--warmup=100ms", "--rounds=1", "--max-requests=40",
		"--session-concurrency=4", "--signin-concurrency=4",
		"--session-target-concurrency=4", "--signin-target-concurrency=4",
		"--sessions=40", "--session-users=4", "--totp-users=150", "--prime-over=400ms",
		"--argon2-memory=1024", "--argon2-time=1",
	}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit status %d\nstderr:\n%s", code, stderr.String())
	}
	var rep struct {
		Machine struct {
			Commit       string
			LoadAvgStart string `json:"loadavg_start"`
			LoadAvgEnd   string `json:"loadavg_end"`
		}
		Measurements []struct {
			Test, Target string
			Concurrency  int
			Completed    int
			Errors       int
			Throughput   float64 `json:"throughput_per_second"`
			P50ms        float64 `json:"p50_ms"`
		}
		Comparisons []struct {
			Test        string
			MedianRatio float64 `json:"median_ratio"`
		}
		Targets []struct {
			Test     string
			Measured bool
		}
		Errors   int
		Settings struct {
			Database        string
			Argon2MemoryKiB uint32 `json:"argon2_memory_kib"`
			Sessions        int
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if rep.Errors != 0 {
		t.Errorf("errors = %d", rep.Errors)
	}
	if !strings.Contains(stderr.String(), "first check of each of the 40 sessions (cache cold): spread over") {
		t.Errorf("progress does not say the first checks were spread:\n%s", stderr.String())
	}
	if rep.Settings.Database != "sqlite" || rep.Settings.Argon2MemoryKiB != 1024 || rep.Settings.Sessions != 40 {
		t.Errorf("settings = %+v, want sqlite, the Argon2id memory and the sessions from the flags", rep.Settings)
	}
	if rep.Machine.Commit == "" || (runtime.GOOS == "linux" && (rep.Machine.LoadAvgStart == "" || rep.Machine.LoadAvgEnd == "")) {
		t.Errorf("machine = %+v, want the commit and the load average at start and end", rep.Machine)
	}
	seen := map[string]bool{}
	for _, m := range rep.Measurements {
		seen[m.Test+"/"+m.Target] = true
		if m.Concurrency != 4 || m.Errors != 0 || m.Completed <= 0 || m.Throughput <= 0 || m.P50ms <= 0 {
			t.Errorf("measurement %+v: want concurrency 4, no errors, positive throughput and latency", m)
		}
	}
	for _, want := range []string{"session-uniform/bare", "session-uniform/sellerguard", "session-zipf/bare", "session-zipf/sellerguard",
		"signin/argon2", "signin/sellerguard", "signin-totp/argon2", "signin-totp/sellerguard"} {
		if !seen[want] {
			t.Errorf("no %s measurement; got %v", want, seen)
		}
	}
	if len(rep.Comparisons) != 4 {
		t.Errorf("comparisons = %+v, want 4", rep.Comparisons)
	}
	for _, c := range rep.Comparisons {
		if c.MedianRatio <= 0 {
			t.Errorf("comparison %s: ratio %v, want positive", c.Test, c.MedianRatio)
		}
	}
	if len(rep.Targets) != 5 {
		t.Errorf("targets = %+v, want 5 (ratio and p99 per distribution, sign-in)", rep.Targets)
	}
	for _, tg := range rep.Targets {
		if !tg.Measured {
			t.Errorf("target %+v not measured", tg)
		}
	}
}

// failingServer answers like GET /api/v1/session, except that one request
// in every failEvery answers 500 (0: never).
func failingServer(t *testing.T, failEvery int64) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failEvery > 0 && n.Add(1)%failEvery == 0 {
			http.Error(w, `{"code":"internal"}`, http.StatusInternalServerError)
			return
		}
		if failEvery == 0 {
			n.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"user":{"id":"usr_x"}}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestErrorsFailTheRun proves that the harness counts errors: against a
// server that answers one 500 in a thousand the run fails (exit status 1,
// the failure named), and against the same server without failures it
// passes. The windows end after a fixed number of requests
// (--max-requests), not after a time, so the server sees well over a
// thousand requests however slow the machine is.
func TestErrorsFailTheRun(t *testing.T) {
	args := func(url string) []string {
		return []string{"--only=session", "--sellerguard-url=" + url, "--token=sgs_test",
			"--distributions=uniform", "--session-concurrency=4", "--session-target-concurrency=4",
			"--warmup=0s", "--duration=2m", "--max-requests=2400"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	clean, cn := failingServer(t, 0)
	var stdout, stderr bytes.Buffer
	if code := run(ctx, args(clean.URL), &stdout, &stderr); code != 0 {
		t.Fatalf("clean server: exit status %d, want 0\nstderr:\n%s", code, stderr.String())
	}
	if cn.Load() < 2400 || !strings.Contains(stdout.String(), "errors: none") {
		t.Errorf("clean server: %d requests, output:\n%s", cn.Load(), stdout.String())
	}

	bad, bn := failingServer(t, 1000)
	stdout.Reset()
	stderr.Reset()
	code := run(ctx, args(bad.URL), &stdout, &stderr)
	if bn.Load() < 2000 {
		t.Fatalf("the failing server saw only %d requests", bn.Load())
	}
	if code != 1 {
		t.Errorf("server answering one 500 in 1000: exit status %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "requests failed") || !strings.Contains(stderr.String(), "status 500") {
		t.Errorf("stderr does not name the failures:\n%s", stderr.String())
	}
	if !strings.Contains(stdout.String(), "ERRORS: 2 requests failed") {
		t.Errorf("report does not count the 2 failures (requests 1000 and 2000):\n%s", stdout.String())
	}
}

func TestTextReport(t *testing.T) {
	var stderr bytes.Buffer
	o, err := parseArgs([]string{"--rounds=3"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	o.Distributions = []string{distUniform}
	o.SignInTargetConcurrency = []int{2}
	r := &report{opts: o, Settings: settingsInfo{Rounds: 3, Database: "sqlite"}}
	for round := 1; round <= 3; round++ {
		r.add(&stderr, round, "session-uniform", targetBare, 64, Stats{Completed: 1000, Throughput: 1000, P50: time.Millisecond, P99: 2 * time.Millisecond, Window: time.Second, ServerCPUPerOp: 20 * time.Microsecond})
		r.add(&stderr, round, "session-uniform", targetSellerGuard, 64, Stats{Completed: 700 + 50*round, Throughput: float64(700 + 50*round), P50: time.Millisecond, P99: 4 * time.Millisecond, Window: time.Second, ServerCPUPerOp: 25 * time.Microsecond})
	}
	r.finish()
	if len(r.Comparisons) != 1 || r.Comparisons[0].MedianRatio != 0.8 || r.Comparisons[0].MedianCPURatio != 0.8 {
		t.Fatalf("comparisons = %+v, want one with median ratio 0.8 and cpu ratio 0.8", r.Comparisons)
	}
	if len(r.Targets) != 3 || !r.Targets[0].Pass || !r.Targets[1].Pass || r.Targets[2].Measured || r.AllTargetsPass() {
		t.Fatalf("targets = %+v, want session ratio and p99 PASS and sign-in not measured", r.Targets)
	}
	var out bytes.Buffer
	if err := r.writeText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ratio", "0.800", "PASS", "not measured", "median p99 4.00ms, target <= 5.00ms"} {
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Errorf("text report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestPercentileAndConcurrency(t *testing.T) {
	v := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if got := percentile(v, 0.5); got != 5 {
		t.Errorf("p50 = %v, want 5", got)
	}
	if got := percentile(v, 0.99); got != 10 {
		t.Errorf("p99 = %v, want 10", got)
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("p50 of nothing = %v", got)
	}
	cs, err := parseConcurrency(" 16, 64,16")
	if err != nil || len(cs) != 2 || cs[0] != 16 || cs[1] != 64 {
		t.Errorf("parseConcurrency = %v, %v", cs, err)
	}
	for _, bad := range []string{"", "0", "x", "4,-1"} {
		if _, err := parseConcurrency(bad); err == nil {
			t.Errorf("parseConcurrency(%q) accepted", bad)
		}
	}
}

// TestPidCPU checks the reading of a process's CPU time from /proc: this
// process's own, after burning some CPU, is positive and grows.
func TestPidCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/<pid>/stat is Linux's")
	}
	c0 := pidCPU(os.Getpid())
	x := uint64(1)
	for start := time.Now(); time.Since(start) < 150*time.Millisecond; {
		for range 10000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	c1 := pidCPU(os.Getpid())
	if c1 <= c0 || c1 <= 0 || x == 0 {
		t.Errorf("pidCPU: %v then %v, want positive and growing", c0, c1)
	}
	if pidCPU(-5) != 0 {
		t.Error("pidCPU of no process is not 0")
	}
}

// TestMemoryModeRuns runs --only memory with a small flood and tiny
// Argon2id parameters: it reads the idle RSS, floods, probes /healthz and
// reports the three targets as measured, with no failed request. It
// judges nothing about the figures themselves.
func TestMemoryModeRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts sellerguard")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"--only=memory", "--json", "--idle-settle=200ms", "--flood-connections=20", "--flood-duration=1s",
		"--healthz-every=50ms", "--argon2-memory=1024", "--argon2-time=1"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit status %d\nstderr:\n%s", code, stderr.String())
	}
	var rep struct {
		Commit string
		Idle   struct {
			RSSKiB int64 `json:"rss_kib"`
		}
		Answers map[string]int64 `json:"answers_by_status"`
		Errors  int64
		Peak    int64 `json:"flood_peak_rss_kib"`
		Healthz struct{ Probes, Failures int }
		Targets []struct {
			Test     string
			Measured bool
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if rep.Commit == "" || rep.Idle.RSSKiB <= 0 || rep.Peak < rep.Idle.RSSKiB/2 || rep.Errors != 0 || rep.Answers["201"] == 0 || rep.Healthz.Probes == 0 || rep.Healthz.Failures != 0 {
		t.Errorf("report = %+v: want the commit, an idle RSS, a flood peak, sign-ins, /healthz probes and no failure", rep)
	}
	if len(rep.Targets) != 3 {
		t.Errorf("targets = %+v, want 3 (idle RSS, flood peak, /healthz)", rep.Targets)
	}
	for _, tg := range rep.Targets {
		if tg.Test != testMemory || !tg.Measured {
			t.Errorf("target %+v: want a measured memory target", tg)
		}
	}
}

// TestPrimeSpreadsChecks checks the first pass over the sessions: every
// token is checked exactly once, and with a spread the i-th of n is not
// sent before i/n of it has passed (so that the server's cache loads, and
// one TTL later its re-reads, are scattered as in a running service).
func TestPrimeSpreadsChecks(t *testing.T) {
	const n, over = 20, 400 * time.Millisecond
	var mu sync.Mutex
	seen := map[string][]time.Time{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("Authorization")] = append(seen[r.Header.Get("Authorization")], time.Now())
		mu.Unlock()
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	authz := make([]string, n)
	for i := range authz {
		authz[i] = fmt.Sprintf("Bearer tok%02d", i)
	}
	var progress bytes.Buffer
	t0 := time.Now()
	if err := primeSessions(context.Background(), target{URL: srv.URL}, authz, 4, over, &progress); err != nil {
		t.Fatal(err)
	}
	for i, a := range authz {
		at := seen[a]
		if len(at) != 1 {
			t.Fatalf("%s checked %d times, want once", a, len(at))
		}
		if earliest := t0.Add(over * time.Duration(i) / n); at[0].Before(earliest) {
			t.Errorf("%s checked %v after the start, before its turn (%v)", a, at[0].Sub(t0), earliest.Sub(t0))
		}
	}
	if !strings.Contains(progress.String(), "spread over") {
		t.Errorf("progress = %q, want it to say the checks were spread", progress.String())
	}

	// Without a spread every token is still checked once.
	clear(seen)
	if err := primeSessions(context.Background(), target{URL: srv.URL}, authz, 4, 0, io.Discard); err != nil {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Errorf("%d tokens checked, want %d", len(seen), n)
	}
	for a, at := range seen {
		if len(at) != 1 {
			t.Errorf("%s checked %d times, want once", a, len(at))
		}
	}
}
