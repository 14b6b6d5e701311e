package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Names used in the report.
const (
	testSession    = "session" // followed by -uniform or -zipf in a test's name
	testSignIn     = "signin"
	testSignInTOTP = "signin-totp"

	targetBare        = "bare"
	targetArgon2      = "argon2"
	targetSellerGuard = "sellerguard"
)

type machineInfo struct {
	Commit       string `json:"commit"` // git rev-parse HEAD, +dirty when the tree has changes
	CPUModel     string `json:"cpu_model,omitempty"`
	NumCPU       int    `json:"num_cpu"`
	GOMAXPROCS   int    `json:"gomaxprocs"`
	GOOS         string `json:"goos"`
	GOARCH       string `json:"goarch"`
	GoVersion    string `json:"go_version"`
	LoadAvgStart string `json:"loadavg_start,omitempty"`
	LoadAvgEnd   string `json:"loadavg_end,omitempty"`
}

type settingsInfo struct {
	DurationSeconds float64 `json:"duration_seconds"`
	WarmupSeconds   float64 `json:"warmup_seconds"`
	Rounds          int     `json:"rounds"`
	Slices          int     `json:"slices"`
	MaxRequests     int     `json:"max_requests"`
	Database        string  `json:"database"`
	Argon2MemoryKiB uint32  `json:"argon2_memory_kib"`
	Argon2Time      uint32  `json:"argon2_time"`
	Argon2Threads   uint8   `json:"argon2_threads"`
	ServerLogLevel  string  `json:"server_log_level"`
	ServerLog       string  `json:"server_log"`
	HashConcurrency int     `json:"server_hash_concurrency"`
	Sessions        int     `json:"sessions"`
	SessionUsers    int     `json:"session_users"`
	ZipfS           float64 `json:"zipf_s"`
	TOTPUsers       int     `json:"totp_users"`
	SeedArgon2Mem   uint    `json:"seed_argon2_memory_kib"`
	SeedArgon2Time  uint    `json:"seed_argon2_time"`
}

type measurementJSON struct {
	Round         int     `json:"round"`
	Test          string  `json:"test"`
	Target        string  `json:"target"`
	Concurrency   int     `json:"concurrency"`
	Completed     int     `json:"completed"`
	Total         int     `json:"total"`
	Errors        int     `json:"errors"`
	FirstError    string  `json:"first_error,omitempty"`
	WindowSeconds float64 `json:"window_seconds"`
	Throughput    float64 `json:"throughput_per_second"`
	P50ms         float64 `json:"p50_ms"`
	P99ms         float64 `json:"p99_ms"`
	MaxMs         float64 `json:"max_ms"`
	CPUUtil       float64 `json:"cpu_util"`        // server + client CPU ÷ (wall × CPUs)
	ServerCPUUtil float64 `json:"server_cpu_util"` // the server process's part
	ClientCPUUtil float64 `json:"client_cpu_util"` // the load client's part
	ServerCPUus   float64 `json:"server_cpu_us_per_op"`
	ClientCPUus   float64 `json:"client_cpu_us_per_op"`
	WarmupOps     int     `json:"warmup_ops"`
}

type roundRatio struct {
	Round          int     `json:"round"`
	BaselineRPS    float64 `json:"baseline_per_second"`
	SellerGuardRPS float64 `json:"sellerguard_per_second"`
	Ratio          float64 `json:"ratio"`
	CPURatio       float64 `json:"cpu_ratio"` // baseline server CPU per op ÷ SellerGuard's
}

// comparison is one (test, concurrency) pair summarised over the rounds:
// every figure is the median of the rounds' values.
type comparison struct {
	Test           string       `json:"test"`
	Concurrency    int          `json:"concurrency"`
	Baseline       string       `json:"baseline"`
	Rounds         []roundRatio `json:"rounds"`
	MedianRatio    float64      `json:"median_ratio"`
	MedianCPURatio float64      `json:"median_cpu_ratio"` // of server CPU time per operation
	BaselineCPUus  float64      `json:"baseline_server_cpu_us_per_op"`
	SGCPUus        float64      `json:"sellerguard_server_cpu_us_per_op"`
	BaselineRPS    float64      `json:"baseline_per_second"`
	SellerGuardRPS float64      `json:"sellerguard_per_second"`
	BaselineP50ms  float64      `json:"baseline_p50_ms"`
	BaselineP99ms  float64      `json:"baseline_p99_ms"`
	SGP50ms        float64      `json:"sellerguard_p50_ms"`
	SGP99ms        float64      `json:"sellerguard_p99_ms"`
}

type targetResult struct {
	Name        string  `json:"name"`
	Test        string  `json:"test"`
	Concurrency int     `json:"concurrency"`
	Kind        string  `json:"kind"`      // "ratio" (at least) or "p99_ms" (at most)
	Threshold   float64 `json:"threshold"` // ratio, or milliseconds
	Measured    bool    `json:"measured"`
	Value       float64 `json:"value"` // the median ratio, or SellerGuard's median p99 in ms
	Pass        bool    `json:"pass"`
}

type report struct {
	Machine      machineInfo       `json:"machine"`
	Settings     settingsInfo      `json:"settings"`
	Measurements []measurementJSON `json:"measurements"`
	Comparisons  []comparison      `json:"comparisons"`
	Targets      []targetResult    `json:"targets"`
	Errors       int               `json:"errors"`
	FirstError   string            `json:"first_error,omitempty"`

	opts *options
}

func newReport(o *options, commit string) *report {
	return &report{
		opts: o,
		Machine: machineInfo{
			Commit:   commit,
			CPUModel: cpuModel(), NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
			GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, GoVersion: runtime.Version(), LoadAvgStart: loadAvg(),
		},
		Settings: settingsInfo{
			DurationSeconds: o.Duration.Seconds(), WarmupSeconds: o.Warmup.Seconds(), Rounds: o.Rounds, Slices: o.Slices, MaxRequests: o.MaxRequests,
			Argon2MemoryKiB: uint32(o.Server.Argon2Memory), Argon2Time: uint32(o.Server.Argon2Time), Argon2Threads: uint8(o.Server.Argon2Threads),
			ServerLogLevel: o.Server.LogLevel, HashConcurrency: o.HashSlots,
			Sessions: o.Sessions, SessionUsers: o.SessionUsers, ZipfS: o.ZipfS, TOTPUsers: o.TOTPUsers,
			SeedArgon2Mem: o.Server.SeedArgon2Memory, SeedArgon2Time: o.Server.SeedArgon2Time,
		},
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// add records a measurement and prints a progress line.
func (r *report) add(progress io.Writer, round int, test, target string, c int, s Stats) {
	m := measurementJSON{
		Round: round, Test: test, Target: target, Concurrency: c,
		Completed: s.Completed, Total: s.Total, Errors: s.Errors, FirstError: s.FirstError,
		WindowSeconds: s.Window.Seconds(), Throughput: s.Throughput,
		P50ms: ms(s.P50), P99ms: ms(s.P99), MaxMs: ms(s.Max), CPUUtil: s.CPUUtil, ServerCPUUtil: s.ServerCPUUtil, ClientCPUUtil: s.ClientCPUUtil,
		ServerCPUus: us(s.ServerCPUPerOp), ClientCPUus: us(s.ClientCPUPerOp), WarmupOps: s.WarmupOps,
	}
	r.Measurements = append(r.Measurements, m)
	r.Errors += s.Errors
	if r.FirstError == "" {
		r.FirstError = s.FirstError
	}
	errs := ""
	if s.Errors > 0 {
		errs = fmt.Sprintf("  %d ERRORS, first: %s", s.Errors, s.FirstError)
	}
	fmt.Fprintf(progress, "round %d/%d  %-15s %-11s c=%-3d %10.1f /s  p50 %-9s p99 %-9s cpu %3.0f%% (server %3.0f%%, %s/op)  load %s%s\n",
		round, r.opts.Rounds, test, target, c, s.Throughput, fmtDur(s.P50), fmtDur(s.P99), 100*s.CPUUtil, 100*s.ServerCPUUtil, fmtDur(s.ServerCPUPerOp), loadAvg(), errs)
}

// finish builds the comparisons and judges the targets.
func (r *report) finish() {
	r.Machine.LoadAvgEnd = loadAvg()
	type key struct {
		test string
		c    int
	}
	var keys []key
	byKey := map[key]map[string][]measurementJSON{}
	for _, m := range r.Measurements {
		k := key{m.Test, m.Concurrency}
		if byKey[k] == nil {
			keys = append(keys, k)
			byKey[k] = map[string][]measurementJSON{}
		}
		byKey[k][m.Target] = append(byKey[k][m.Target], m)
	}
	for _, k := range keys {
		baseline := targetBare
		if strings.HasPrefix(k.test, testSignIn) {
			baseline = targetArgon2
		}
		bs, ss := byKey[k][baseline], byKey[k][targetSellerGuard]
		cmp := comparison{Test: k.test, Concurrency: k.c, Baseline: baseline}
		var ratios, cpuRatios []float64
		for i := 0; i < len(bs) && i < len(ss); i++ {
			rr := roundRatio{Round: bs[i].Round, BaselineRPS: bs[i].Throughput, SellerGuardRPS: ss[i].Throughput}
			if rr.BaselineRPS > 0 {
				rr.Ratio = rr.SellerGuardRPS / rr.BaselineRPS
			}
			if ss[i].ServerCPUus > 0 {
				rr.CPURatio = bs[i].ServerCPUus / ss[i].ServerCPUus
			}
			cmp.Rounds = append(cmp.Rounds, rr)
			ratios = append(ratios, rr.Ratio)
			cpuRatios = append(cpuRatios, rr.CPURatio)
		}
		field := func(ms []measurementJSON, f func(measurementJSON) float64) float64 {
			v := make([]float64, len(ms))
			for i, m := range ms {
				v[i] = f(m)
			}
			return median(v)
		}
		cmp.MedianRatio = median(ratios)
		cmp.MedianCPURatio = median(cpuRatios)
		cmp.BaselineRPS = field(bs, func(m measurementJSON) float64 { return m.Throughput })
		cmp.SellerGuardRPS = field(ss, func(m measurementJSON) float64 { return m.Throughput })
		cmp.BaselineP50ms = field(bs, func(m measurementJSON) float64 { return m.P50ms })
		cmp.BaselineP99ms = field(bs, func(m measurementJSON) float64 { return m.P99ms })
		cmp.SGP50ms = field(ss, func(m measurementJSON) float64 { return m.P50ms })
		cmp.SGP99ms = field(ss, func(m measurementJSON) float64 { return m.P99ms })
		cmp.BaselineCPUus = field(bs, func(m measurementJSON) float64 { return m.ServerCPUus })
		cmp.SGCPUus = field(ss, func(m measurementJSON) float64 { return m.ServerCPUus })
		r.Comparisons = append(r.Comparisons, cmp)
	}

	o := r.opts
	if o.Only != testSignIn {
		for _, d := range o.Distributions {
			test := testSession + "-" + d
			name := "session check (GET /api/v1/session, " + d + " over the tokens) vs bare net/http"
			r.Targets = append(r.Targets, r.judge(name, test, o.SessionTargetConcurrency, "ratio", o.SessionTarget))
			r.Targets = append(r.Targets, r.judge("session check p99 ("+d+")", test, o.SessionTargetConcurrency, "p99_ms", ms(o.SessionP99Target)))
		}
	}
	if o.Only != testSession && slices.Contains(o.SignInKinds, signInPassword) {
		for _, c := range o.SignInTargetConcurrency {
			r.Targets = append(r.Targets, r.judge("password sign-in (POST /api/v1/sessions) vs raw Argon2id on the same pool", testSignIn, c, "ratio", o.SignInTarget))
		}
	}
}

func (r *report) judge(name, test string, c int, kind string, threshold float64) targetResult {
	t := targetResult{Name: name, Test: test, Concurrency: c, Kind: kind, Threshold: threshold}
	for _, cmp := range r.Comparisons {
		if cmp.Test == test && cmp.Concurrency == c && len(cmp.Rounds) > 0 {
			t.Measured = true
			if kind == "p99_ms" {
				t.Value = cmp.SGP99ms
				t.Pass = t.Value <= threshold
			} else {
				t.Value = cmp.MedianRatio
				t.Pass = t.Value >= threshold
			}
		}
	}
	return t
}

// AllTargetsPass reports whether every judged target passed (an unmeasured
// target counts as a miss).
func (r *report) AllTargetsPass() bool {
	for _, t := range r.Targets {
		if !t.Pass {
			return false
		}
	}
	return true
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *report) writeText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	m, s := r.Machine, r.Settings
	model := m.CPUModel
	if model == "" {
		model = "unknown CPU"
	}
	fmt.Fprintf(bw, "SellerGuard load harness at commit %s\n%d CPUs (%s), GOMAXPROCS %d, %s %s/%s\nload average (1, 5, 15 min) %s at start, %s at end\n",
		m.Commit, m.NumCPU, model, m.GOMAXPROCS, m.GoVersion, m.GOOS, m.GOARCH, orDash(m.LoadAvgStart), orDash(m.LoadAvgEnd))
	fmt.Fprintf(bw, "SellerGuard: `sellerguard serve` in its own process, %s, Argon2id m=%d KiB t=%d p=%d, %d hashing slots (the raw Argon2id baseline: the same), log level %s to %s\n",
		s.Database, s.Argon2MemoryKiB, s.Argon2Time, s.Argon2Threads, s.HashConcurrency, s.ServerLogLevel, orDash(s.ServerLog))
	fmt.Fprintf(bw, "bare baseline: its own process; load client: this process\nsession checks over %d tokens of %d accounts (uniform, or Zipf s=%.2f); TOTP sign-ins over %d accounts\n",
		s.Sessions, s.SessionUsers, s.ZipfS, s.TOTPUsers)
	fmt.Fprintf(bw, "window %s per measurement in %d slice(s), warm-up %s, %d round(s), order alternating\n\n",
		time.Duration(s.DurationSeconds*float64(time.Second)), s.Slices, time.Duration(s.WarmupSeconds*float64(time.Second)), s.Rounds)

	fmt.Fprintln(bw, "Measurements (ops/s = operations finished inside the window / window; cpu = (server + client) CPU time / (wall time × CPUs), srv = the server process's part;\nsrv/op, cli/op = CPU time per operation of the server process and of the load client; for argon2 the hashing runs in this process):")
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\ttest\ttarget\tconc\tops\tops/s\tp50\tp99\tcpu\tsrv\tsrv/op\tcli/op\terrors\t")
	for _, x := range r.Measurements {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%.1f\t%s\t%s\t%.0f%%\t%.0f%%\t%s\t%s\t%d\t\n", x.Round, x.Test, x.Target, x.Concurrency, x.Completed, x.Throughput,
			fmtDur(msDur(x.P50ms)), fmtDur(msDur(x.P99ms)), 100*x.CPUUtil, 100*x.ServerCPUUtil, fmtDur(usDur(x.ServerCPUus)), fmtDur(usDur(x.ClientCPUus)), x.Errors)
	}
	_ = tw.Flush()

	fmt.Fprintf(bw, "\nSummary (median of %d round(s); ratio = SellerGuard ops/s / baseline ops/s, the judged figure; cpu ratio = baseline server CPU per op / SellerGuard's):\n", s.Rounds)
	tw = tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "test\tconc\tbaseline\tbaseline/s\tSellerGuard/s\tratio\tper round\tcpu ratio\tbase srv/op\tSG srv/op\tbase p50\tbase p99\tSG p50\tSG p99\t")
	for _, c := range r.Comparisons {
		var per []string
		for _, rr := range c.Rounds {
			per = append(per, fmt.Sprintf("%.3f", rr.Ratio))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.1f\t%.1f\t%.3f\t%s\t%.3f\t%s\t%s\t%s\t%s\t%s\t%s\t\n", c.Test, c.Concurrency, c.Baseline,
			c.BaselineRPS, c.SellerGuardRPS, c.MedianRatio, strings.Join(per, " "), c.MedianCPURatio, fmtDur(usDur(c.BaselineCPUus)), fmtDur(usDur(c.SGCPUus)),
			fmtDur(msDur(c.BaselineP50ms)), fmtDur(msDur(c.BaselineP99ms)), fmtDur(msDur(c.SGP50ms)), fmtDur(msDur(c.SGP99ms)))
	}
	_ = tw.Flush()
	fmt.Fprintln(bw)
	for _, t := range r.Targets {
		if !t.Measured {
			fmt.Fprintf(bw, "TARGET %s at concurrency %d: not measured (add %d to the concurrency list) FAIL\n", t.Name, t.Concurrency, t.Concurrency)
			continue
		}
		if t.Kind == "p99_ms" {
			fmt.Fprintf(bw, "TARGET %s at concurrency %d: median p99 %s, target <= %s: %s\n", t.Name, t.Concurrency, fmtDur(msDur(t.Value)), fmtDur(msDur(t.Threshold)), passFail(t.Pass))
			continue
		}
		fmt.Fprintf(bw, "TARGET %s at concurrency %d: median ratio %.3f, target >= %.2f: %s\n", t.Name, t.Concurrency, t.Value, t.Threshold, passFail(t.Pass))
	}
	if r.Errors > 0 {
		fmt.Fprintf(bw, "ERRORS: %d requests failed; first: %s\n", r.Errors, r.FirstError)
	} else {
		fmt.Fprintln(bw, "errors: none")
	}
	return bw.Flush()
}

func usDur(v float64) time.Duration { return time.Duration(v * float64(time.Microsecond)) }

func msDur(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < 10*time.Microsecond:
		return fmt.Sprintf("%.1fµs", float64(d)/float64(time.Microsecond))
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cpuModel reads the CPU model name on Linux (best effort).
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// loadAvg is the 1-, 5- and 15-minute load average on Linux (best effort):
// other work on a shared machine shows here.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
