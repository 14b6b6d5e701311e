package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/testenv"
)

// TestScaleOutRuns runs the scale-out mode end to end with small counts on
// the test PostgreSQL: one and two `sellerguard serve` processes on one
// database, session checks and sign-ins spread round-robin, and sessions
// ended on one instance that the other must refuse. It checks that every
// instance served its share with no error and that every revocation
// reached the other instance (within the run's bound) — never speed.
func TestScaleOutRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts sellerguard")
	}
	admin := os.Getenv(testenv.PostgresURLEnv)
	if admin == "" {
		testenv.Missing(t, "%s is not set (the scale-out mode runs its instances on PostgreSQL)", testenv.PostgresURLEnv)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{
		"--json", "--scale-out=1,2", "--database-url=" + admin,
		"--duration=300ms", "--warmup=100ms", "--rounds=1", "--max-requests=200",
		"--scale-session-concurrency=4", "--scale-signin-concurrency=2", "--scale-signin-accounts=2",
		"--sessions=20", "--session-users=2", "--revocation-trials=3", "--revocation-timeout=10s",
		"--prime-over=200ms", "--argon2-memory=1024", "--argon2-time=1",
	}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit status %d\nstderr:\n%s", code, stderr.String())
	}
	var rep scaleReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if rep.Errors != 0 || rep.Machine.Commit == "" || rep.Machine.LoadAvgStart == "" {
		t.Errorf("report: errors %d, machine %+v; want none, the commit and the load average", rep.Errors, rep.Machine)
	}
	if len(rep.Runs) != 2 || rep.Runs[0].Instances != 1 || rep.Runs[1].Instances != 2 {
		t.Fatalf("runs = %+v, want 1 then 2 instances", rep.Runs)
	}
	for _, r := range rep.Runs {
		loads := []scaleLoadJSON{r.Session}
		if r.SignIn == nil {
			t.Errorf("%d instance(s): no sign-in figure", r.Instances)
		} else {
			loads = append(loads, *r.SignIn)
		}
		for _, l := range loads {
			if l.Errors != 0 || l.Throughput <= 0 || len(l.PerInstance) != r.Instances {
				t.Errorf("%d instance(s): %+v; want no errors, positive throughput, one share per instance", r.Instances, l)
			}
			for i, p := range l.PerInstance {
				if p.Ops <= 0 || p.Throughput <= 0 {
					t.Errorf("%d instance(s): instance %d served %+v; want a share of the load", r.Instances, i+1, p)
				}
			}
		}
		// With one instance the token is polled on the instance that
		// ended it; with two, on the other one: one sample per trial.
		if rv := r.Revocation; rv.Trials != 3 || rv.Samples != 3 || rv.TimedOut != 0 || rv.P50ms <= 0 {
			t.Errorf("%d instance(s): revocation %+v; want 3 trials, 3 samples, none timed out", r.Instances, rv)
		}
	}

	// The text form names the ratios to the one-instance baseline.
	var text bytes.Buffer
	if err := rep.writeText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "Ratios to 1 instance(s)") || !strings.Contains(text.String(), "errors: none") {
		t.Errorf("text report:\n%s", text.String())
	}
}

// TestScaleOutNeedsPostgres: the mode refuses to start without a
// PostgreSQL URL, and with a bad instance list, as a usage mistake.
func TestScaleOutNeedsPostgres(t *testing.T) {
	for _, args := range [][]string{
		{"--scale-out=1,2"},
		{"--scale-out=1,x", "--database-url=postgres://localhost/x"},
		{"--scale-out=1,40", "--database-url=postgres://localhost/x"},
		{"--scale-out=1", "--database-url=postgres://localhost/x", "--revocation-trials=-1"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit status %d, want 2 (usage)\n%s", args, code, stderr.String())
		}
	}
}
