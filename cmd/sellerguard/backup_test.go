package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// signupBurst runs workers that sign up and verify businesses against a
// server until stopped, and keeps the emails the server acknowledged (201).
type signupBurst struct {
	mu        sync.Mutex
	confirmed []string
	failures  []string
	stop      atomic.Bool
	wg        sync.WaitGroup
}

func startSignupBurst(client *http.Client, base, prefix string, workers, perWorker int) *signupBurst {
	b := &signupBurst{}
	for w := range workers {
		b.wg.Go(func() {
			for i := 0; !b.stop.Load() && i < perWorker; i++ {
				email := fmt.Sprintf("%s%d-%d@example.com", prefix, w, i)
				st, body, err := postJSON(client, base+"/api/v1/signup", map[string]string{"email": email, "password": "correct horse battery staple", "business_name": "Burst"})
				if err != nil || st != 202 {
					b.fail(fmt.Sprintf("signup %s: %d %s %v", email, st, body, err))
					return
				}
				code, err := codeFor(client, base, email)
				if err != nil {
					b.fail(fmt.Sprintf("code for %s: %v", email, err))
					return
				}
				st, body, err = postJSON(client, base+"/api/v1/signup/verify", map[string]string{"email": email, "code": code})
				if err != nil || st != 201 {
					b.fail(fmt.Sprintf("verify %s: %d %s %v", email, st, body, err))
					return
				}
				b.mu.Lock()
				b.confirmed = append(b.confirmed, email)
				b.mu.Unlock()
			}
		})
	}
	return b
}

func (b *signupBurst) fail(s string) {
	b.mu.Lock()
	b.failures = append(b.failures, s)
	b.mu.Unlock()
}

// snapshot returns the sign-ups acknowledged so far.
func (b *signupBurst) snapshot() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.confirmed...)
}

// waitFor waits until n sign-ups are acknowledged.
func (b *signupBurst) waitFor(t *testing.T, n int, logs fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for len(b.snapshot()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d sign-ups acknowledged in 60 s (failures %v):\n%s", len(b.snapshot()), b.failures, logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (b *signupBurst) finish() []string {
	b.stop.Store(true)
	b.wg.Wait()
	return b.snapshot()
}

// TestBackupDuringSignupBurstRestores takes a backup with `sellerguard
// backup` while a real server process is busy with sign-ups, restores it
// with `sellerguard restore` into a new data directory, and serves it: every
// sign-up acknowledged before the backup began is there and signs in, and
// the audit chains verify.
func TestBackupDuringSignupBurstRestores(t *testing.T) {
	dataDir := t.TempDir()
	env := []string{
		"SELLERGUARD_ADDR=127.0.0.1:0", "SELLERGUARD_DATA_DIR=" + dataDir,
		"SELLERGUARD_ARGON2_MEMORY=1024", "SELLERGUARD_ARGON2_TIME=1", "SELLERGUARD_LOG_LEVEL=error",
		"SELLERGUARD_LIMIT_SIGNUPS_PER_SOURCE=10000",
	}
	p := startProcess(t, env)
	client := &http.Client{Timeout: 20 * time.Second}
	burst := startSignupBurst(client, p.url, "b", 6, 100)
	burst.waitFor(t, 20, p.logs)

	backup := filepath.Join(t.TempDir(), "sellerguard-backup.db")
	before := burst.snapshot() // acknowledged before the backup began
	began := time.Now()
	code, out, errOut := runCLI(t, map[string]string{"SELLERGUARD_DATA_DIR": dataDir}, "backup", backup)
	took := time.Since(began)
	if code != 0 {
		t.Fatalf("backup: exit %d\n%s\n%s", code, out, errOut)
	}
	during := len(burst.snapshot()) - len(before)
	burst.waitFor(t, len(before)+during+5, p.logs) // the server kept serving after the backup
	all := burst.finish()
	if len(burst.failures) > 0 {
		t.Fatalf("requests failed during the backup: %v", burst.failures)
	}
	if !strings.Contains(out, "verified") || !strings.Contains(out, "integrity ok") {
		t.Errorf("backup did not report its verification: %s", out)
	}
	if !strings.Contains(errOut, "WARNING") || !strings.Contains(errOut, backup+".key") {
		t.Errorf("backup did not warn about the key file: %q", errOut)
	}
	for _, f := range []string{backup, backup + ".key"} {
		st, err := os.Stat(f)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v, want 0600", f, err, st.Mode().Perm())
		}
	}
	key, _ := os.ReadFile(filepath.Join(dataDir, "secret.key"))
	if got, _ := os.ReadFile(backup + ".key"); string(got) != string(key) {
		t.Error("the key file copy differs from secret.key")
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()

	// A restore never overwrites a database: not the original one, not a
	// restored one.
	orig, _ := os.ReadFile(filepath.Join(dataDir, "sellerguard.db"))
	if code, _, errOut := runCLI(t, map[string]string{"SELLERGUARD_DATA_DIR": dataDir}, "restore", backup); code != 1 || !strings.Contains(errOut, "refusing to restore over") {
		t.Fatalf("restore over the live data directory: exit %d %s", code, errOut)
	}
	if now, _ := os.ReadFile(filepath.Join(dataDir, "sellerguard.db")); string(now) != string(orig) {
		t.Fatal("the refused restore changed the original database")
	}

	// A backup altered after it was written is refused, and nothing is
	// restored from it.
	tampered := filepath.Join(t.TempDir(), "tampered.db")
	b, _ := os.ReadFile(backup)
	if err := os.WriteFile(tampered, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tampered+".key", key, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openRaw(t, "sqlite://"+tampered).Exec(`UPDATE audit_events SET ip = '203.0.113.66' WHERE id = (SELECT MIN(id) FROM audit_events)`); err != nil {
		t.Fatal(err)
	}
	badDir := filepath.Join(t.TempDir(), "from-tampered")
	if code, _, errOut := runCLI(t, map[string]string{"SELLERGUARD_DATA_DIR": badDir}, "restore", tampered); code != 1 || !strings.Contains(errOut, "does not verify") {
		t.Fatalf("restore of a tampered backup: exit %d %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(badDir, "sellerguard.db")); err == nil {
		t.Fatal("a database was restored from the tampered backup")
	}

	newDir := filepath.Join(t.TempDir(), "restored")
	code, out, errOut = runCLI(t, map[string]string{"SELLERGUARD_DATA_DIR": newDir}, "restore", backup)
	if code != 0 || !strings.Contains(out, "audit verify ok") {
		t.Fatalf("restore: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, map[string]string{"SELLERGUARD_DATA_DIR": newDir}, "restore", backup); code != 1 || !strings.Contains(errOut, "refusing to restore over") {
		t.Fatalf("restore twice into one directory: exit %d %s", code, errOut)
	}

	restoredEnv := append(append([]string(nil), env...), "SELLERGUARD_DATA_DIR="+newDir)
	p2 := startProcess(t, restoredEnv)
	present := 0
	for _, email := range all {
		st, body, err := postJSON(client, p2.url+"/api/v1/sessions", map[string]string{"email": email, "password": "correct horse battery staple"})
		if err == nil && st == 201 {
			present++
			continue
		}
		if contains(before, email) {
			t.Errorf("%s was acknowledged before the backup began but cannot sign in after the restore: %d %s %v", email, st, body, err)
		}
	}
	_ = p2.cmd.Process.Signal(syscall.SIGTERM)
	_ = p2.cmd.Wait()
	code, vout, verr := runCLI(t, map[string]string{"SELLERGUARD_DATA_DIR": newDir}, "audit", "verify")
	if code != 0 {
		t.Fatalf("audit verify of the restored database after sign-ins: %d %s %s", code, vout, verr)
	}
	t.Logf("backup took %v while serving; %d sign-ups acknowledged before it began, %d during it, %d in all; %d of them in the restored copy, all of the first %d sign in; %s",
		took.Round(time.Millisecond), len(before), during, len(all), present, len(before), strings.TrimSpace(vout))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// On PostgreSQL, backup and restore say to use pg_dump and pg_restore, and
// do nothing else.
func TestBackupOnPostgresPointsToPgDump(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"SELLERGUARD_DATA_DIR": dir, "SELLERGUARD_DATABASE_URL": "postgres://sellerguard@127.0.0.1:1/sellerguard"}
	for _, cmd := range []string{"backup", "restore"} {
		code, _, errOut := runCLI(t, env, cmd, filepath.Join(dir, "x.db"))
		if code != 1 || !strings.Contains(errOut, "pg_dump") || !strings.Contains(errOut, "pg_restore") {
			t.Errorf("%s on PostgreSQL: exit %d %q", cmd, code, errOut)
		}
		if _, err := os.Stat(filepath.Join(dir, "x.db")); err == nil {
			t.Errorf("%s on PostgreSQL wrote a file", cmd)
		}
	}
	if code, _, errOut := runCLI(t, env, "backup"); code != 2 || !strings.Contains(errOut, "usage: sellerguard backup") {
		t.Errorf("backup without FILE: exit %d %q", code, errOut)
	}
}
