package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// childRoleEnv makes this program (or its test binary) a child process of
// the harness instead of the harness: "bare" serves the bare baseline.
const childRoleEnv = "SELLERGUARD_LOAD_CHILD"

// bareAddrEnv is the address the bare child listens on.
const bareAddrEnv = "SELLERGUARD_LOAD_BARE_ADDR"

// bareListening starts the line the bare child writes once it listens.
const bareListening = "bare server listening on "

// runChild runs the child role named by childRoleEnv, if any, and reports
// whether it did (the caller then exits with code).
func runChild() (code int, isChild bool) {
	switch os.Getenv(childRoleEnv) {
	case "":
		return 0, false
	case "bare":
		if err := serveBare(os.Getenv(bareAddrEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "sellerguard-load bare server:", err)
			return 1, true
		}
		return 0, true
	default:
		fmt.Fprintf(os.Stderr, "sellerguard-load: unknown %s=%q\n", childRoleEnv, os.Getenv(childRoleEnv))
		return 2, true
	}
}

// bareJSON is the body of the bare handler: about the size of a small API
// answer, but no work behind it.
var bareJSON = []byte(`{"status":"ok","user":{"id":"usr_bare","email":"bare@example.com"}}` + "\n")

// serveBare is the baseline: a bare net/http handler returning a small JSON
// body, alone in its process, until SIGTERM.
func serveBare(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, bareListening+ln.Addr().String())
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(bareJSON) // the client went away
		}),
		ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	select {
	case err := <-done:
		return err
	case <-sig:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

// proc is a server running as its own process.
type proc struct {
	Name    string
	URL     string
	PID     int
	LogPath string
	cmd     *exec.Cmd
	log     *os.File
	exited  chan struct{}
	waitErr error
}

// startProc starts bin with args and env, its standard output and error
// going to logPath, and waits until its log holds listening (the line the
// child writes once it has bound its address) and healthURL answers 200.
// The address was free a moment before (freeAddr), but another process
// may bind it first; then the child exits, and without the first check a
// server of that other process could answer for it.
func startProc(ctx context.Context, name, bin string, args, env []string, baseURL, healthURL, listening, logPath string) (*proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{Name: name, URL: baseURL, PID: cmd.Process.Pid, LogPath: logPath, cmd: cmd, log: f, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	c := newClient(1, 2*time.Second)
	defer c.CloseIdleConnections()
	for deadline := time.Now().Add(90 * time.Second); ; {
		select {
		case <-p.exited:
			_ = f.Close()
			return nil, fmt.Errorf("%s exited at start (%v); its output:\n%s", name, p.waitErr, tail(logPath, 2000))
		default:
		}
		if logHas(logPath, listening) {
			req, _ := http.NewRequestWithContext(ctx, "GET", healthURL, nil)
			if resp, err := c.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return p, nil
				}
			}
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			_ = p.Stop()
			return nil, fmt.Errorf("%s did not log %q and answer %s within 90s; its output:\n%s", name, listening, healthURL, tail(logPath, 2000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logHas reports whether the file at path holds s.
func logHas(path, s string) bool {
	b, err := os.ReadFile(path)
	return err == nil && bytes.Contains(b, []byte(s))
}

// startRetrying runs start up to three times while the child it started
// exited because its address was taken meanwhile (freeAddr's race).
func startRetrying(start func() (*proc, error)) (*proc, error) {
	for i := 0; ; i++ {
		p, err := start()
		if err == nil || i == 2 || !strings.Contains(err.Error(), "address already in use") {
			return p, err
		}
	}
}

// Stop ends the process with SIGTERM (SIGKILL after 30 s) and reports an
// exit other than a clean one.
func (p *proc) Stop() error {
	defer func() { _ = p.log.Close() }()
	select {
	case <-p.exited:
		return fmt.Errorf("%s had already exited: %v", p.Name, p.waitErr)
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%s did not stop within 30s of SIGTERM; killed", p.Name)
	}
	if p.waitErr != nil {
		return fmt.Errorf("%s: %v; its output ends:\n%s", p.Name, p.waitErr, tail(p.LogPath, 1000))
	}
	return nil
}

// Alive reports whether the process is still running.
func (p *proc) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// freeAddr returns a loopback address with a port free at the time of the
// call (a server started right after takes it).
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// childEnv is this process's environment without any SELLERGUARD_*
// variable (so a stray one cannot change what is measured), plus extra.
func childEnv(extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SELLERGUARD_") {
			env = append(env, kv)
		}
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

// startBareProc starts the bare baseline as its own process: this program
// (or test binary) again, in the "bare" child role.
func startBareProc(ctx context.Context, tmp string) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return startRetrying(func() (*proc, error) {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		env := childEnv(map[string]string{childRoleEnv: "bare", bareAddrEnv: addr})
		return startProc(ctx, "bare server", self, nil, env, "http://"+addr, "http://"+addr+"/", bareListening+addr+"\n", filepath.Join(tmp, "bare.log"))
	})
}

// sgSettings are the SELLERGUARD_* settings of one SellerGuard process.
type sgSettings struct {
	DataDir, DatabaseURL                    string
	Argon2Memory, Argon2Time, Argon2Threads uint
	HashSlots                               int
	LogLevel                                string
}

// startSellerGuardProc runs `sellerguard serve` as its own process, with
// its log (standard error, as in production) going to logPath.
func startSellerGuardProc(ctx context.Context, bin, logPath string, s sgSettings) (*proc, error) {
	return startRetrying(func() (*proc, error) { return startSellerGuardAt(ctx, bin, logPath, s) })
}

func startSellerGuardAt(ctx context.Context, bin, logPath string, s sgSettings) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	env := childEnv(map[string]string{
		"SELLERGUARD_ADDR":             addr,
		"SELLERGUARD_BASE_URL":         "http://" + addr,
		"SELLERGUARD_DATA_DIR":         s.DataDir,
		"SELLERGUARD_DATABASE_URL":     s.DatabaseURL,
		"SELLERGUARD_ARGON2_MEMORY":    strconv.FormatUint(uint64(s.Argon2Memory), 10),
		"SELLERGUARD_ARGON2_TIME":      strconv.FormatUint(uint64(s.Argon2Time), 10),
		"SELLERGUARD_ARGON2_THREADS":   strconv.FormatUint(uint64(s.Argon2Threads), 10),
		"SELLERGUARD_HASH_CONCURRENCY": strconv.Itoa(s.HashSlots),
		"SELLERGUARD_LOG_LEVEL":        s.LogLevel,
		// The harness signs up its test accounts from one address.
		"SELLERGUARD_LIMIT_SIGNUPS_PER_SOURCE": "10000",
		// Metrics on their own listener, as in production; a free port.
		"SELLERGUARD_METRICS_ADDR": "127.0.0.1:0",
	})
	// serve logs `msg="SellerGuard is listening" url=http://<the bound address> …`.
	return startProc(ctx, "sellerguard serve", bin, []string{"serve"}, env, "http://"+addr, "http://"+addr+"/healthz", "url=http://"+addr+" ", logPath)
}

// buildSellerGuard builds cmd/sellerguard of the module the harness runs in
// into dir, as `go build` would for a release without ldflags.
func buildSellerGuard(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "sellerguard")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/sellerguard/sellerguard/cmd/sellerguard")
	b, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/sellerguard (run the harness inside the repository, or pass --sellerguard-bin): %v\n%s", err, b)
	}
	return out, nil
}

// gitCommit is the commit measured: `git rev-parse HEAD`, with +dirty when
// the working tree has changes.
func gitCommit(ctx context.Context) string {
	b, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown (not a git checkout)"
	}
	rev := strings.TrimSpace(string(b))
	st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output()
	if err != nil {
		return rev + "+unknown"
	}
	if len(strings.TrimSpace(string(st))) > 0 {
		rev += "+dirty"
	}
	return rev
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times (100 on
// every Linux architecture Go supports).
const clockTicks = 100

// pidCPU is the CPU time (user + system, all threads) process pid has used
// so far, from /proc/<pid>/stat; 0 when it cannot be read.
func pidCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: split after its ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64) // field 14: utime
	st, err2 := strconv.ParseInt(f[12], 10, 64) // field 15: stime
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(ut+st) * time.Second / clockTicks
}

// pgDatabase creates a fresh database next to the one adminURL names, for
// one run, and returns its URL and a function that drops it.
func pgDatabase(ctx context.Context, adminURL string) (string, func() error, error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", nil, err
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	name := "sellerguard_load_" + hex.EncodeToString(rnd[:])
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("connect to %s: %w", u.Redacted(), err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil { // name: fixed prefix and hex
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u.Path = "/" + name
	drop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			return err
		}
		defer func() { _ = c.Close(context.Background()) }()
		_, err = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		return err
	}
	return u.String(), drop, nil
}

var errPoolExhausted = errors.New("TOTP account pool exhausted: every account used its codes of this 30-second step (raise --totp-users)")
