package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// buildBinary compiles sellerguard once per test binary run.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "sellerguard-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "sellerguard")
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is not in PATH: %v", err)
	}
	// Static, as released (CGO_ENABLED=0): the container test packages
	// this same binary.
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// process is a real `sellerguard serve` child process.
type process struct {
	cmd       *exec.Cmd
	url       string
	metrics   string // the metrics listener's URL ("" when off)
	firstLine string
	logs      *lockedBuffer
}

// lockedBuffer is the process's stderr, safe to read while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// client returns an HTTP client for the process.
func (p *process) client() *http.Client { return &http.Client{Timeout: 20 * time.Second} }

// waitLog waits until the process's log has a line containing s.
func (p *process) waitLog(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(p.logs.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log within 20 s:\n%s", s, p.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func startProcess(t *testing.T, env []string) *process {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	return startBinary(t, bin, env)
}

// startBinary runs `bin serve` (this release's binary, or an older one).
func startBinary(t *testing.T, bin string, env []string) *process {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	// The metrics listener on a free port unless env says otherwise (the
	// last of duplicate variables wins): processes run side by side.
	cmd.Env = append(append(os.Environ(), "SELLERGUARD_METRICS_ADDR=127.0.0.1:0"), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("server did not start: %v\n%s", err, logs)
	}
	m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("unexpected first line %q", line)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	pr := &process{cmd: cmd, url: m[1], logs: logs, firstLine: strings.TrimSpace(line)}
	if mm := regexp.MustCompile(`metrics: (http://\S+/metrics)`).FindStringSubmatch(line); mm != nil {
		pr.metrics = mm[1]
	}
	return pr
}

func postJSON(client *http.Client, url string, body any) (int, []byte, error) {
	b, _ := json.Marshal(body)
	resp, err := client.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	return resp.StatusCode, rb, err
}

var codeRE = regexp.MustCompile(`code is: (\d{6})`)

func codeFor(client *http.Client, base, email string) (string, error) {
	resp, err := client.Get(base + "/api/v1/dev/outbox")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Messages []struct{ To, Body string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", err
	}
	for i := len(out.Messages) - 1; i >= 0; i-- {
		if out.Messages[i].To == email {
			if m := codeRE.FindStringSubmatch(out.Messages[i].Body); m != nil {
				return m[1], nil
			}
		}
	}
	return "", fmt.Errorf("no code for %s", email)
}

// TestKillDuringSignupBurstLosesNothing kills the server with SIGKILL in the
// middle of a burst of sign-ups. After a restart, every sign-up that was
// answered 201 exists and can sign in, and the audit chain verifies.
func TestKillDuringSignupBurstLosesNothing(t *testing.T) {
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		dataDir := t.TempDir()
		env := []string{
			"SELLERGUARD_ADDR=127.0.0.1:0", "SELLERGUARD_METRICS_ADDR=127.0.0.1:0", "SELLERGUARD_DATA_DIR=" + dataDir,
			"SELLERGUARD_DATABASE_URL=" + apptest.DatabaseURL(t, dialect),
			"SELLERGUARD_ARGON2_MEMORY=1024", "SELLERGUARD_ARGON2_TIME=1", "SELLERGUARD_LOG_LEVEL=error",
		}
		p := startProcess(t, env)
		client := &http.Client{Timeout: 10 * time.Second}
		var (
			mu        sync.Mutex
			confirmed []string
			stop      atomic.Bool
			wg        sync.WaitGroup
		)
		for w := range 6 {
			wg.Go(func() {
				for i := 0; !stop.Load() && i < 200; i++ {
					email := fmt.Sprintf("w%d-%d@example.com", w, i)
					st, _, err := postJSON(client, p.url+"/api/v1/signup", map[string]string{"email": email, "password": "correct horse battery staple", "business_name": "Burst"})
					if err != nil || st != 202 {
						return // the server is gone
					}
					code, err := codeFor(client, p.url, email)
					if err != nil {
						return
					}
					st, _, err = postJSON(client, p.url+"/api/v1/signup/verify", map[string]string{"email": email, "code": code})
					if err == nil && st == 201 {
						mu.Lock()
						confirmed = append(confirmed, email)
						mu.Unlock()
					}
				}
			})
		}
		// Let the burst run, then kill without warning.
		deadline := time.Now().Add(20 * time.Second)
		for {
			mu.Lock()
			n := len(confirmed)
			mu.Unlock()
			if n >= 15 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		stop.Store(true)
		wg.Wait()
		_ = p.cmd.Wait() // killed
		if len(confirmed) < 15 {
			t.Fatalf("only %d sign-ups confirmed before the kill:\n%s", len(confirmed), p.logs)
		}

		p2 := startProcess(t, env)
		for _, email := range confirmed {
			st, body, err := postJSON(client, p2.url+"/api/v1/sessions", map[string]string{"email": email, "password": "correct horse battery staple"})
			if err != nil || st != 201 {
				t.Errorf("%s was confirmed with 201 before the crash but cannot sign in: %d %s %v", email, st, body, err)
			}
		}
		_ = p2.cmd.Process.Signal(syscall.SIGTERM)
		_ = p2.cmd.Wait()

		verifyEnv := map[string]string{}
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			verifyEnv[k] = v
		}
		code, out, errOut := runCLI(t, verifyEnv, "audit", "verify")
		if code != 0 {
			t.Fatalf("audit verify after the crash: %d %s %s", code, out, errOut)
		}
		t.Logf("%d sign-ups confirmed before SIGKILL; all present after restart; %s", len(confirmed), strings.TrimSpace(out))
	})
}
