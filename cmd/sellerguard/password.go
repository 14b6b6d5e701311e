package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard/internal/app"
	"github.com/sellerguard/sellerguard/internal/argon2id"
	"github.com/sellerguard/sellerguard/internal/breach"
	"github.com/sellerguard/sellerguard/internal/config"
	"github.com/sellerguard/sellerguard/internal/password"
	"github.com/sellerguard/sellerguard/internal/policy"
)

const passwordUsage = `usage:
  sellerguard password check [--email E] [--phone P] [--name N] [--business B] [--store S] [--strict] [flags]
      reads one password per line on stdin and prints "ok" or "rejected: CODE..." for each;
      exit status 0 if all were accepted, 1 otherwise
  sellerguard password calibrate [--target 250ms] [--max-memory KiB] [flags]
      picks Argon2id parameters that take about the target time on this machine
`

const breachUsage = `usage:
  sellerguard breach import [--output PATH] [--progress] FILE
      builds the breached-password index from a Pwned Passwords SHA-1 file
      (HASH:COUNT lines; FILE "-" reads stdin); the index goes to
      --output, else $SELLERGUARD_BREACH_INDEX, else DATA_DIR/breached.idx
`

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// loadSubConfig parses the shared settings plus the flags that extra
// defines, and returns the positional arguments.
func loadSubConfig(name string, args []string, getenv func(string) string, stderr io.Writer, extra func(fs *flag.FlagSet)) (*config.Config, []string, error) {
	fs := flag.NewFlagSet("sellerguard "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, _, envErr := config.Register(fs, getenv)
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, err
		}
		return nil, nil, errUsage
	}
	if err := finishConfig(cfg, envErr); err != nil {
		return nil, nil, err
	}
	return cfg, fs.Args(), nil
}

// exitCode turns an error of a subcommand into an exit status.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintln(stderr, "sellerguard:", err)
	return 1
}

// cmdPassword runs "sellerguard password check|calibrate".
func cmdPassword(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, passwordUsage)
		return 2
	}
	switch args[0] {
	case "check":
		return passwordCheck(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "calibrate":
		return passwordCalibrate(ctx, args[1:], getenv, stdout, stderr)
	case "require-change":
		return passwordRequireChange(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, passwordUsage)
		return 0
	}
	fmt.Fprintf(stderr, "sellerguard password: unknown command %q\n%s", args[0], passwordUsage)
	return 2
}

// newPolicy builds the policy that serve uses (internal/app.NewPolicy).
func newPolicy(cfg *config.Config, logger *slog.Logger) (*policy.Policy, func(), error) {
	p, _, close, err := app.NewPolicy(cfg, logger, nil)
	return p, close, err
}

func passwordCheck(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	var pc policy.Context
	var names, businesses, stores listFlag
	var strict bool
	cfg, rest, err := loadSubConfig("password check", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&pc.Email, "email", "", "the user's email address")
		fs.StringVar(&pc.Phone, "phone", "", "the user's phone number")
		fs.Var(&names, "name", "the user's name (repeatable)")
		fs.Var(&businesses, "business", "a business name (repeatable)")
		fs.Var(&stores, "store", "a store name (repeatable)")
		fs.BoolVar(&strict, "strict", false, "apply a business's strict option (letters, digits and symbols)")
	})
	if err != nil {
		return exitCode(err, stderr)
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "sellerguard password check: unexpected argument %q (passwords are read from stdin)\n", rest[0])
		return 2
	}
	pc.Names, pc.BusinessNames, pc.StoreNames = names, businesses, stores
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	p, closeIndex, err := newPolicy(cfg, logger)
	if err != nil {
		return exitCode(err, stderr)
	}
	defer closeIndex()
	p = p.WithStrict(strict)

	br := bufio.NewReaderSize(stdin, 64<<10)
	w := bufio.NewWriter(stdout)
	defer func() { _ = w.Flush() }()
	allOK := true
	for {
		pw, eof, err := readPasswordLine(br)
		if err != nil {
			_ = w.Flush()
			return exitCode(err, stderr)
		}
		if eof {
			break
		}
		if rs := p.Check(ctx, pw, pc); rs != nil {
			allOK = false
			codes := make([]string, len(rs))
			for i, r := range rs {
				codes[i] = r.Code
			}
			fmt.Fprintf(w, "rejected: %s\n", strings.Join(codes, " "))
		} else {
			fmt.Fprintln(w, "ok")
		}
		if err := ctx.Err(); err != nil {
			_ = w.Flush()
			return exitCode(err, stderr)
		}
	}
	if err := w.Flush(); err != nil {
		return exitCode(err, stderr)
	}
	if !allOK {
		return 1
	}
	return 0
}

// readPasswordLine reads one line without its LF or CRLF. A line longer
// than password.MaxBytes is cut to MaxBytes+1 bytes (enough for the policy
// to refuse it as too long) and the rest is skipped without being kept.
func readPasswordLine(br *bufio.Reader) (pw string, eof bool, err error) {
	const keep = password.MaxBytes + 2 // the longest acceptable line with its CRLF
	var buf []byte
	truncated := false
	for {
		chunk, err := br.ReadSlice('\n')
		if room := keep - len(buf); len(chunk) > room {
			buf = append(buf, chunk[:room]...)
			truncated = true
		} else {
			buf = append(buf, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, err
		}
		if err != nil && len(buf) == 0 {
			return "", true, nil
		}
		if !truncated {
			buf = bytes.TrimSuffix(buf, []byte("\n"))
			buf = bytes.TrimSuffix(buf, []byte("\r"))
		}
		return string(buf), false, nil
	}
}

func passwordCalibrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var target time.Duration
	var maxMemory uint
	cfg, rest, err := loadSubConfig("password calibrate", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.DurationVar(&target, "target", 250*time.Millisecond, "time one hash should take")
		fs.UintVar(&maxMemory, "max-memory", 256<<10, "most memory in KiB one hash may use")
	})
	if err != nil {
		return exitCode(err, stderr)
	}
	if len(rest) > 0 || target <= 0 {
		fmt.Fprint(stderr, passwordUsage)
		return 2
	}
	threads := uint32(cfg.Argon2Threads)
	maxMem := uint32(max(maxMemory, 8*uint(threads)))
	p := calibrateArgon2(ctx, target, maxMem, threads)
	if err := ctx.Err(); err != nil {
		return exitCode(err, stderr)
	}
	conc := cfg.HashConcurrency
	if conc <= 0 {
		conc = runtime.GOMAXPROCS(0)
	}
	fmt.Fprintf(stdout, "Argon2id for a target of %v on this machine (%d CPUs): memory %d KiB, time %d, threads %d takes %v per hash (median of 3).\n",
		target, runtime.NumCPU(), p.memory, p.time, p.threads, p.took.Round(time.Millisecond))
	if p.took > target {
		fmt.Fprintf(stdout, "This is slower than the target: the parameters are at the floor (OWASP: 19456 KiB, 2 passes, or --max-memory).\n")
	}
	fmt.Fprintf(stdout, "SELLERGUARD_ARGON2_MEMORY=%d\nSELLERGUARD_ARGON2_TIME=%d\nSELLERGUARD_ARGON2_THREADS=%d\n", p.memory, p.time, p.threads)
	perSec := float64(conc) / p.took.Seconds()
	fmt.Fprintf(stdout, "With %d hashes at once (SELLERGUARD_HASH_CONCURRENCY) hashing needs up to %d MiB and verifies about %.0f passwords a second.\n",
		conc, uint64(conc)*uint64(p.memory)/1024, perSec)
	return 0
}

type argon2Choice struct {
	memory, time uint32
	threads      uint8
	took         time.Duration
}

// calibrateArgon2 follows RFC 9106 §4: as much memory as allowed while
// under half the target, then as many passes as fit the target. It starts
// at OWASP's floor (19456 KiB, 2 passes) unless maxMemory is lower.
func calibrateArgon2(ctx context.Context, target time.Duration, maxMemory, threads uint32) argon2Choice {
	threads = min(max(threads, 1), 255)
	// Measured as serve hashes: in working memory kept between hashes
	// (internal/password), the first of the three paying its allocation.
	var mem argon2id.Memory
	defer mem.Release()
	measure := func(m, t uint32) time.Duration {
		var ds []time.Duration
		for range 3 {
			start := time.Now()
			mem.IDKey([]byte("calibrate"), []byte("sellerguard-salt"), t, m, uint8(threads), 32)
			ds = append(ds, time.Since(start))
		}
		slices.Sort(ds)
		return ds[1]
	}
	m := min(uint32(19456), maxMemory)
	t := uint32(2)
	d := measure(m, t)
	for d < target/2 && m*2 <= maxMemory && ctx.Err() == nil {
		m *= 2
		d = measure(m, t)
	}
	for d < target && t < 64 && ctx.Err() == nil {
		// Time grows linearly with passes.
		next := uint32(float64(t) * float64(target) / float64(d))
		if next <= t {
			break
		}
		next = min(next, 64)
		nd := measure(m, next)
		if nd > target && next > t+1 {
			next--
			nd = measure(m, next)
		}
		if nd > target {
			break
		}
		t, d = next, nd
	}
	return argon2Choice{memory: m, time: t, threads: uint8(threads), took: d}
}

// cmdBreach runs "sellerguard breach import".
func cmdBreach(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, breachUsage)
		return 2
	}
	switch args[0] {
	case "import":
		return breachImport(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, breachUsage)
		return 0
	}
	fmt.Fprintf(stderr, "sellerguard breach: unknown command %q\n%s", args[0], breachUsage)
	return 2
}

func breachImport(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	var output string
	var forceBar bool
	cfg, rest, err := loadSubConfig("breach import", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&output, "output", "", "where to write the index (default: the configured breach index)")
		fs.BoolVar(&forceBar, "progress", false, "show a progress bar even when stderr is not a terminal")
	})
	if err != nil {
		return exitCode(err, stderr)
	}
	if len(rest) != 1 {
		fmt.Fprint(stderr, breachUsage)
		return 2
	}
	if output == "" {
		output, _ = cfg.BreachIndexPath()
	}
	var in io.Reader = stdin
	if rest[0] != "-" {
		f, err := os.Open(rest[0])
		if err != nil {
			return exitCode(err, stderr)
		}
		defer func() { _ = f.Close() }()
		in = f
	}
	if err := os.MkdirAll(filepath.Dir(output), 0o700); err != nil {
		return exitCode(err, stderr)
	}
	pr := newProgress(stderr, forceBar || isTerminal(stderr), time.Now)
	st, err := breach.Import(ctx, in, output, pr.update)
	pr.done()
	for _, e := range st.Errors {
		fmt.Fprintf(stderr, "sellerguard breach import: skipped %v\n", e)
	}
	if more := st.Malformed - int64(len(st.Errors)); more > 0 {
		fmt.Fprintf(stderr, "sellerguard breach import: skipped %d more malformed lines\n", more)
	}
	if err != nil {
		return exitCode(err, stderr)
	}
	fmt.Fprintf(stdout, "indexed %d hashes (%d duplicates, %d malformed lines skipped) from %s in %v: %s (%s)\n",
		st.Hashes, st.Duplicates, st.Malformed, formatBytes(st.Bytes), st.Elapsed.Round(time.Millisecond), output, formatBytes(st.IndexBytes))
	return 0
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress shows an import's progress on w: as a single line redrawn in
// place (bar), or as a plain line every 10% or 10 s for logs.
type progress struct {
	w        io.Writer
	bar      bool
	now      func() time.Time
	start    time.Time
	last     time.Time
	lastPct  int
	drawn    bool
	lastDone int64
	total    int64
}

func newProgress(w io.Writer, bar bool, now func() time.Time) *progress {
	t := now()
	return &progress{w: w, bar: bar, now: now, start: t, last: t, lastPct: -1}
}

func (p *progress) update(done, total int64) {
	p.lastDone, p.total = done, total
	t := p.now()
	elapsed := t.Sub(p.start)
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	pct := -1
	if total > 0 {
		pct = int(min(100*done/total, 100))
	}
	if p.bar {
		if t.Sub(p.last) < 100*time.Millisecond && done != total {
			return
		}
		p.last = t
		const width = 30
		line := ""
		if pct >= 0 {
			fill := width * pct / 100
			eta := "--:--"
			if rate > 0 {
				eta = formatETA(time.Duration(float64(total-done) / rate * float64(time.Second)))
			}
			line = fmt.Sprintf("[%s%s] %3d%%  %s of %s  %6.1f MB/s  ETA %s", strings.Repeat("#", fill), strings.Repeat(".", width-fill), pct, formatBytes(done), formatBytes(total), rate/1e6, eta)
		} else {
			line = fmt.Sprintf("%s  %6.1f MB/s", formatBytes(done), rate/1e6)
		}
		fmt.Fprintf(p.w, "\r\x1b[K%s", line)
		p.drawn = true
		return
	}
	if pct >= 0 && pct/10 == p.lastPct/10 && t.Sub(p.last) < 10*time.Second {
		return
	}
	if pct < 0 && t.Sub(p.last) < 10*time.Second {
		return
	}
	p.last, p.lastPct = t, pct
	if pct >= 0 {
		fmt.Fprintf(p.w, "breach import: %d%% (%s of %s, %.1f MB/s)\n", pct, formatBytes(done), formatBytes(total), rate/1e6)
	} else {
		fmt.Fprintf(p.w, "breach import: %s read (%.1f MB/s)\n", formatBytes(done), rate/1e6)
	}
}

// done ends the bar's line.
func (p *progress) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

func formatETA(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

func formatBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// passwordRequireChange is support's flag: the user must change their
// password at the next sign-in, before anything else (audited).
func passwordRequireChange(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var account string
	cfg, rest, err := loadSubConfig("password require-change", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&account, "account", "", "email of the account")
	})
	if err != nil {
		return exitCode(err, stderr)
	}
	if account == "" || len(rest) > 0 {
		fmt.Fprintln(stderr, "usage: sellerguard password require-change --account EMAIL")
		return 2
	}
	a, err := app.New(ctx, cfg, app.NewLogger(cfg, stderr), versionString())
	if err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 1
	}
	defer func() { _ = a.Close() }()
	actor := cliActor()
	if err := a.Account.RequirePasswordChange(ctx, account, actor); err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s must change their password at the next sign-in (audited; they were told by email)\n", account)
	return 0
}
