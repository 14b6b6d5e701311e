package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// testMemory is the memory mode (--only memory, and part of a full run):
// the idle footprint of `sellerguard serve` after start-up, then a sign-in
// flood of many connections, with the server's peak RSS and /healthz's
// latency throughout.
const testMemory = "memory"

// memoryOptions are the memory mode's settings and targets.
type memoryOptions struct {
	Settle           time.Duration // wait after start-up before reading the idle RSS
	FloodConns       int
	FloodDuration    time.Duration
	FloodMaxRequests int
	HealthzEvery     time.Duration
	IdleTargetMB     float64
	FloodExtraMB     float64 // the flood peak's bound: hash slots × Argon2 memory + this
	HealthzTarget    time.Duration
}

// registerMemoryFlags adds the memory mode's flags to fs.
func registerMemoryFlags(fs *flag.FlagSet, m *memoryOptions) {
	fs.DurationVar(&m.Settle, "idle-settle", 3*time.Second, "memory mode: wait this long after start-up before reading the idle RSS")
	fs.IntVar(&m.FloodConns, "flood-connections", 1000, "memory mode: connections of the sign-in flood, each with one request in flight")
	fs.DurationVar(&m.FloodDuration, "flood-duration", 10*time.Second, "memory mode: length of the sign-in flood")
	fs.IntVar(&m.FloodMaxRequests, "flood-max-requests", 100_000, "memory mode: bound on the flood's requests")
	fs.DurationVar(&m.HealthzEvery, "healthz-every", 100*time.Millisecond, "memory mode: interval of the /healthz probe during the flood")
	fs.Float64Var(&m.IdleTargetMB, "idle-rss-target", 40, "memory mode: maximum idle RSS after start-up, MB (10^6 bytes)")
	fs.Float64Var(&m.FloodExtraMB, "flood-rss-extra", 60, "memory mode: the flood's peak RSS may be at most hash slots × Argon2 memory + this many MB")
	fs.DurationVar(&m.HealthzTarget, "healthz-target", time.Second, "memory mode: /healthz must answer within this during the flood")
}

func (m *memoryOptions) check() error {
	var bad []string
	if m.Settle < 0 || m.Settle > time.Minute {
		bad = append(bad, "--idle-settle must be 0–1m")
	}
	if m.FloodConns < 1 || m.FloodConns > 10_000 {
		bad = append(bad, "--flood-connections must be 1–10000")
	}
	if m.FloodDuration <= 0 || m.FloodDuration > 5*time.Minute {
		bad = append(bad, "--flood-duration must be positive and at most 5m")
	}
	if m.FloodMaxRequests < 1 || m.FloodMaxRequests > 10_000_000 {
		bad = append(bad, "--flood-max-requests must be 1–10000000")
	}
	if m.HealthzEvery < time.Millisecond {
		bad = append(bad, "--healthz-every must be at least 1ms")
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}

// memoryReport is what the memory mode measured.
type memoryReport struct {
	Commit        string         `json:"commit"`
	LoadStart     string         `json:"load_average_start"`
	LoadEnd       string         `json:"load_average_end"`
	Database      string         `json:"database"`
	Argon2KiB     uint           `json:"argon2_memory_kib"`
	HashSlots     int            `json:"hash_slots"`
	IdleRSS       memSample      `json:"idle"`
	FloodConns    int            `json:"flood_connections"`
	FloodDuration time.Duration  `json:"flood_duration_ns"`
	Answers       map[int]int64  `json:"answers_by_status"`
	Errors        int64          `json:"errors"`
	FirstError    string         `json:"first_error,omitempty"`
	PeakRSSKiB    int64          `json:"flood_peak_rss_kib"` // sampled during the flood
	HWMKiB        int64          `json:"vm_hwm_kib"`         // the kernel's peak RSS of the whole process life
	AfterRSS      memSample      `json:"after_flood"`
	Healthz       healthzSummary `json:"healthz"`
	Targets       []targetResult `json:"targets"`
}

// memSample is one reading of /proc/<pid>/status.
type memSample struct {
	RSSKiB  int64 `json:"rss_kib"`
	AnonKiB int64 `json:"anon_kib"`
	FileKiB int64 `json:"file_kib"`
}

type healthzSummary struct {
	Probes   int           `json:"probes"`
	Failures int           `json:"failures"`
	Max      time.Duration `json:"max_ns"`
	P99      time.Duration `json:"p99_ns"`
}

// readMem reads a process's resident memory from /proc/<pid>/status (kiB).
func readMem(pid int) (memSample, int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memSample{}, 0, err
	}
	defer func() { _ = f.Close() }()
	var s memSample
	var hwm int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			s.RSSKiB = n
		case "RssAnon":
			s.AnonKiB = n
		case "RssFile":
			s.FileKiB = n
		case "VmHWM":
			hwm = n
		}
	}
	if s.RSSKiB == 0 {
		return s, hwm, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
	}
	return s, hwm, sc.Err()
}

func mb(kib int64) float64 { return float64(kib) * 1024 / 1e6 }

// memoryExit runs the memory mode and returns the exit status.
func memoryExit(ctx context.Context, o *options, stdout, stderr io.Writer) int {
	code, err := runMemory(ctx, o, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "sellerguard-load: memory:", err)
		return 1
	}
	return code
}

// runMemory is the memory mode: start `sellerguard serve` (SQLite, or a
// fresh PostgreSQL database with --database-url), read its RSS after
// start-up, make one account, flood POST /api/v1/sessions from
// FloodConns connections for FloodDuration (right password: every request
// wants a hash) while sampling the server's RSS and probing /healthz, then
// judge the three targets. Answers 201, 429 and 503 are what a flood may
// get (a sign-in, the source's or account's limit, no hashing slot within
// the queue timeout); anything else is an error.
func runMemory(ctx context.Context, o *options, stdout, progress io.Writer) (int, error) {
	m := o.Memory
	rep := &memoryReport{Commit: gitCommit(ctx), LoadStart: loadAvg(), Database: "sqlite", Argon2KiB: o.Server.Argon2Memory, HashSlots: o.HashSlots,
		FloodConns: m.FloodConns, FloodDuration: m.FloodDuration, Answers: map[int]int64{}}
	tmp, err := os.MkdirTemp("", "sellerguard-memory-*")
	if err != nil {
		return 1, err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	bin := o.SellerGuardBin
	if bin == "" {
		fmt.Fprintln(progress, "building ./cmd/sellerguard …")
		if bin, err = buildSellerGuard(ctx, tmp); err != nil {
			return 1, err
		}
	}
	set := sgSettings{DataDir: filepath.Join(tmp, "data"), Argon2Memory: o.Server.Argon2Memory, Argon2Time: o.Server.Argon2Time,
		Argon2Threads: o.Server.Argon2Threads, HashSlots: o.HashSlots, LogLevel: o.Server.LogLevel}
	if o.Server.DatabaseURL != "" {
		var drop func() error
		if set.DatabaseURL, drop, err = pgDatabase(ctx, o.Server.DatabaseURL); err != nil {
			return 1, err
		}
		defer func() {
			if derr := drop(); derr != nil {
				fmt.Fprintln(progress, "sellerguard-load: dropping the run's database:", derr)
			}
		}()
		rep.Database = "postgres"
	}
	p, err := startSellerGuardProc(ctx, bin, filepath.Join(tmp, "sellerguard.log"), set)
	if err != nil {
		return 1, fmt.Errorf("start SellerGuard: %w", err)
	}
	defer func() {
		if serr := p.Stop(); serr != nil {
			fmt.Fprintln(progress, "sellerguard-load: stopping SellerGuard:", serr)
		}
	}()
	select {
	case <-ctx.Done():
		return 1, ctx.Err()
	case <-time.After(m.Settle):
	}
	if rep.IdleRSS, _, err = readMem(p.PID); err != nil {
		return 1, err
	}
	fmt.Fprintf(progress, "idle RSS %.1f MB (%s after start-up)\n", mb(rep.IdleRSS.RSSKiB), m.Settle)

	accts, err := createAccounts(ctx, p.URL, "flood", 1, 1)
	if err != nil {
		return 1, fmt.Errorf("make the flood's account: %w", err)
	}
	body, err := json.Marshal(map[string]string{"email": accts[0].Email, "password": accts[0].Password})
	if err != nil {
		return 1, err
	}
	if err := flood(ctx, p.URL, p.PID, body, m, rep); err != nil {
		return 1, err
	}
	rep.AfterRSS, rep.HWMKiB, _ = readMem(p.PID)
	rep.LoadEnd = loadAvg()

	bound := float64(o.HashSlots)*float64(o.Server.Argon2Memory)*1024/1e6 + m.FloodExtraMB
	rep.Targets = []targetResult{
		{Name: fmt.Sprintf("idle RSS of sellerguard serve after start-up (%s), MB", rep.Database), Test: testMemory, Kind: "max_mb", Measured: true,
			Value: mb(rep.IdleRSS.RSSKiB), Threshold: m.IdleTargetMB, Pass: mb(rep.IdleRSS.RSSKiB) <= m.IdleTargetMB},
		{Name: fmt.Sprintf("peak RSS under a %d-connection sign-in flood vs %d hash slots × %d KiB + %.0f MB, MB", m.FloodConns, o.HashSlots, o.Server.Argon2Memory, m.FloodExtraMB), Test: testMemory, Kind: "max_mb", Measured: true,
			Value: mb(rep.PeakRSSKiB), Threshold: bound, Pass: rep.PeakRSSKiB > 0 && mb(rep.PeakRSSKiB) <= bound},
		{Name: "slowest /healthz during the flood (every probe answered 200), ms", Test: testMemory, Kind: "max_ms", Measured: true,
			Value: ms(rep.Healthz.Max), Threshold: ms(m.HealthzTarget), Pass: rep.Healthz.Failures == 0 && rep.Healthz.Probes > 0 && rep.Healthz.Max < m.HealthzTarget},
	}
	if o.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return 1, err
		}
	} else {
		rep.writeText(stdout, m)
	}
	switch {
	case rep.Errors > 0:
		fmt.Fprintf(progress, "sellerguard-load: %d flood requests failed; first: %s\n", rep.Errors, rep.FirstError)
		return 1, nil
	case o.FailOnTarget && slices.ContainsFunc(rep.Targets, func(t targetResult) bool { return !t.Pass }):
		return 1, nil
	}
	return 0, nil
}

// flood runs the sign-in flood with the RSS sampler and the /healthz probe
// beside it.
func flood(ctx context.Context, baseURL string, pid int, body []byte, m memoryOptions, rep *memoryReport) error {
	ctx, cancel := context.WithTimeout(ctx, m.FloodDuration)
	defer cancel()
	var wg sync.WaitGroup
	// The RSS sampler.
	var peak atomic.Int64
	wg.Go(func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if s, _, err := readMem(pid); err == nil && s.RSSKiB > peak.Load() {
				peak.Store(s.RSSKiB)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	// The /healthz probe: its own connection, as a load balancer's.
	var lat []time.Duration
	failures := 0
	wg.Go(func() {
		c := newClient(1, 5*time.Second)
		defer c.CloseIdleConnections()
		for ctx.Err() == nil {
			t0 := time.Now()
			req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), "GET", baseURL+"/healthz", nil)
			if err != nil {
				failures++
				return
			}
			resp, err := c.Do(req)
			d := time.Since(t0)
			if err != nil {
				failures++
			} else {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failures++
				}
			}
			lat = append(lat, d)
			select {
			case <-ctx.Done():
			case <-time.After(m.HealthzEvery):
			}
		}
	})
	// The flood: FloodConns workers, each one request at a time on its own
	// connection, until the window or the request bound ends.
	client := newClient(m.FloodConns, m.FloodDuration+30*time.Second)
	defer client.CloseIdleConnections()
	var sent atomic.Int64
	var mu sync.Mutex
	for range m.FloodConns {
		wg.Go(func() {
			for ctx.Err() == nil && sent.Add(1) <= int64(m.FloodMaxRequests) {
				// The request outlives the window's end (an answer in
				// flight is read, not cut off and counted as an error).
				req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), "POST", baseURL+"/api/v1/sessions", bytes.NewReader(body))
				if err == nil {
					req.Header.Set("Content-Type", "application/json")
					var resp *http.Response
					if resp, err = client.Do(req); err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						_ = resp.Body.Close()
						mu.Lock()
						rep.Answers[resp.StatusCode]++
						mu.Unlock()
						switch resp.StatusCode {
						case http.StatusCreated, http.StatusTooManyRequests, http.StatusServiceUnavailable:
						default:
							err = fmt.Errorf("POST /api/v1/sessions: status %d (want 201, 429 or 503)", resp.StatusCode)
						}
					}
				}
				if err != nil {
					mu.Lock()
					if rep.Errors++; rep.FirstError == "" {
						rep.FirstError = err.Error()
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	rep.PeakRSSKiB = peak.Load()
	slices.Sort(lat)
	rep.Healthz = healthzSummary{Probes: len(lat), Failures: failures, P99: percentile(lat, 0.99)}
	if len(lat) > 0 {
		rep.Healthz.Max = lat[len(lat)-1]
	}
	return nil
}

func (r *memoryReport) writeText(w io.Writer, m memoryOptions) {
	fmt.Fprintf(w, "SellerGuard memory at commit %s\n", r.Commit)
	fmt.Fprintf(w, "load average (1, 5, 15 min) %s at start, %s at end\n", r.LoadStart, r.LoadEnd)
	fmt.Fprintf(w, "`sellerguard serve` in its own process, %s, Argon2id m=%d KiB, %d hashing slots; MB = 10^6 bytes\n", r.Database, r.Argon2KiB, r.HashSlots)
	fmt.Fprintf(w, "idle RSS %s after start-up: %.1f MB (anonymous %.1f MB, file-backed %.1f MB: the binary's pages)\n", m.Settle, mb(r.IdleRSS.RSSKiB), mb(r.IdleRSS.AnonKiB), mb(r.IdleRSS.FileKiB))
	codes := make([]int, 0, len(r.Answers))
	for c := range r.Answers {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var parts []string
	var total int64
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d: %d", c, r.Answers[c]))
		total += r.Answers[c]
	}
	fmt.Fprintf(w, "sign-in flood: %d connections for %s: %d answers (%s), %d errors\n", r.FloodConns, r.FloodDuration, total, strings.Join(parts, ", "), r.Errors)
	fmt.Fprintf(w, "flood peak RSS %.1f MB (sampled every 20 ms; the process's VmHWM %.1f MB); RSS after the flood %.1f MB\n", mb(r.PeakRSSKiB), mb(r.HWMKiB), mb(r.AfterRSS.RSSKiB))
	fmt.Fprintf(w, "/healthz during the flood: %d probes, %d failed, p99 %s, max %s\n", r.Healthz.Probes, r.Healthz.Failures, fmtDur(r.Healthz.P99), fmtDur(r.Healthz.Max))
	for _, t := range r.Targets {
		fmt.Fprintf(w, "TARGET %s: %.1f, target <= %.1f: %s\n", t.Name, t.Value, t.Threshold, passFail(t.Pass))
	}
	if r.Errors > 0 {
		fmt.Fprintf(w, "errors: %d, first: %s\n", r.Errors, r.FirstError)
	} else {
		fmt.Fprintln(w, "errors: none")
	}
}
