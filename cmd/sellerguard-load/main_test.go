package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"
)

// TestHarnessRuns keeps the harness from rotting: a short in-process run
// must measure every pair with zero errors and positive throughput. It
// asserts nothing about speed (the machine running tests is shared and the
// race detector may be on). The window is long enough (1 s a slice) for a
// race-built sign-in on a loaded machine to finish inside it.
func TestHarnessRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{
		"--json",
		"--duration=2s", "--warmup=100ms", "--rounds=1", "--slices=2", "--max-requests=100000",
		"--session-concurrency=4", "--signin-concurrency=4",
		"--session-target-concurrency=4", "--signin-target-concurrency=4",
		"--argon2-memory=1024", "--argon2-time=1",
		"--server-log=discard",
	}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit status %d\nstderr:\n%s", code, stderr.String())
	}
	var rep struct {
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
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if rep.Errors != 0 {
		t.Errorf("errors = %d", rep.Errors)
	}
	if rep.Settings.Database != "sqlite" || rep.Settings.Argon2MemoryKiB != 1024 {
		t.Errorf("settings = %+v, want sqlite and the Argon2id memory from the flag", rep.Settings)
	}
	seen := map[string]bool{}
	for _, m := range rep.Measurements {
		seen[m.Test+"/"+m.Target] = true
		if m.Concurrency != 4 || m.Errors != 0 || m.Completed <= 0 || m.Throughput <= 0 || m.P50ms <= 0 {
			t.Errorf("measurement %+v: want concurrency 4, no errors, positive throughput and latency", m)
		}
	}
	for _, want := range []string{"session/bare", "session/sellerguard", "signin/argon2", "signin/sellerguard"} {
		if !seen[want] {
			t.Errorf("no %s measurement; got %v", want, seen)
		}
	}
	if len(rep.Comparisons) != 2 {
		t.Errorf("comparisons = %+v, want session and signin", rep.Comparisons)
	}
	for _, c := range rep.Comparisons {
		if c.MedianRatio <= 0 {
			t.Errorf("comparison %s: ratio %v, want positive", c.Test, c.MedianRatio)
		}
	}
	if len(rep.Targets) != 2 || !rep.Targets[0].Measured || !rep.Targets[1].Measured {
		t.Errorf("targets = %+v, want both measured", rep.Targets)
	}
}

func TestTextReport(t *testing.T) {
	var stderr bytes.Buffer
	o, err := parseArgs([]string{"--rounds=3"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	r := &report{opts: o, Settings: settingsInfo{Rounds: 3, Database: "sqlite"}}
	for round := 1; round <= 3; round++ {
		r.add(&stderr, round, testSession, targetBare, 64, Stats{Completed: 1000, Throughput: 1000, P50: time.Millisecond, P99: 2 * time.Millisecond, Window: time.Second})
		r.add(&stderr, round, testSession, targetSellerGuard, 64, Stats{Completed: 400 + 100*round, Throughput: float64(400 + 100*round), P50: time.Millisecond, Window: time.Second})
	}
	r.finish()
	if len(r.Comparisons) != 1 || r.Comparisons[0].MedianRatio != 0.6 {
		t.Fatalf("comparisons = %+v, want one with median ratio 0.6", r.Comparisons)
	}
	if len(r.Targets) != 2 || !r.Targets[0].Pass || r.Targets[1].Measured {
		t.Fatalf("targets = %+v, want session PASS and sign-in not measured", r.Targets)
	}
	var out bytes.Buffer
	if err := r.writeText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ratio", "0.600", "PASS", "not measured"} {
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
