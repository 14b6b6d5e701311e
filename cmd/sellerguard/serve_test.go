package main

import (
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Local mode (no SMTP: every code readable on /dev/outbox) refuses to
// listen where the network can reach it: `sellerguard serve` exits
// non-zero, naming the settings, before it creates anything.
func TestServeRefusesLocalModeOnTheNetwork(t *testing.T) {
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		dataDir := filepath.Join(t.TempDir(), "data")
		cmd := exec.Command(bin, "serve")
		cmd.Env = append(os.Environ(), "SELLERGUARD_ADDR="+addr, "SELLERGUARD_DATA_DIR="+dataDir, "SELLERGUARD_SMTP_URL=", "SELLERGUARD_METRICS_ADDR=off")
		done := make(chan struct{})
		var out []byte
		go func() { out, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("SELLERGUARD_ADDR=%s: serve started in local mode", addr)
		}
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("SELLERGUARD_ADDR=%s: %v, want exit status 1\n%s", addr, err, out)
		}
		for _, want := range []string{"SELLERGUARD_SMTP_URL", "SELLERGUARD_ADDR", "loopback"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("SELLERGUARD_ADDR=%s: the message does not name %s: %s", addr, want, out)
			}
		}
		if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
			t.Errorf("SELLERGUARD_ADDR=%s: the data directory was created (%v)", addr, err)
		}
	}
	// The same through run, with the flag instead of the variable.
	code, _, errOut := runCLI(t, map[string]string{"SELLERGUARD_DATA_DIR": t.TempDir()}, "serve", "--addr", "0.0.0.0:0")
	if code != 1 || !strings.Contains(errOut, "SELLERGUARD_SMTP_URL") {
		t.Fatalf("serve --addr 0.0.0.0:0: %d %q", code, errOut)
	}
}

// On loopback, local mode starts as before; /metrics is on the metrics
// listener, not the main one; an empty SELLERGUARD_METRICS_ADDR turns the
// metrics listener off.
func TestServeOnLoopbackWithMetricsListener(t *testing.T) {
	dataDir := t.TempDir()
	p := startProcess(t, []string{"SELLERGUARD_ADDR=127.0.0.1:0", "SELLERGUARD_METRICS_ADDR=127.0.0.1:0", "SELLERGUARD_DATA_DIR=" + dataDir,
		"SELLERGUARD_SMTP_URL=", "SELLERGUARD_ARGON2_MEMORY=1024", "SELLERGUARD_ARGON2_TIME=1", "SELLERGUARD_LOG_LEVEL=error"})
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(p.url + "/api/v1/dev/outbox"); code != 200 {
		t.Fatalf("local outbox on loopback: %d", code)
	}
	if code, body := get(p.url + "/metrics"); code != 404 || strings.Contains(body, "go_goroutines") {
		t.Fatalf("/metrics on the main listener: %d", code)
	}
	if p.metrics == "" {
		t.Fatalf("no metrics URL in the start line")
	}
	if code, body := get(p.metrics); code != 200 || !strings.Contains(body, "sellerguard_password_hashes_in_flight") {
		t.Fatalf("metrics listener: %d", code)
	}

	off := startProcess(t, []string{"SELLERGUARD_ADDR=127.0.0.1:0", "SELLERGUARD_METRICS_ADDR=", "SELLERGUARD_DATA_DIR=" + t.TempDir(),
		"SELLERGUARD_SMTP_URL=", "SELLERGUARD_ARGON2_MEMORY=1024", "SELLERGUARD_ARGON2_TIME=1", "SELLERGUARD_LOG_LEVEL=error"})
	if off.metrics != "" || !regexp.MustCompile(`metrics: off\)`).MatchString(off.firstLine) {
		t.Fatalf("SELLERGUARD_METRICS_ADDR empty: start line %q", off.firstLine)
	}
}
