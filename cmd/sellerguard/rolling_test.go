package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/testenv"
)

// previousRelease builds the release an operator upgrades from: the newest
// earlier state of the repository whose migrations are a strict prefix of
// ours, byte for byte (migrations only go forward; a state whose migration
// files were later edited in place is passed over and logged, since no
// forward path leads from it). It needs the git history.
func previousRelease(t *testing.T) (bin, commit string) {
	t.Helper()
	git := testenv.RequireCommand(t, "git")
	current := map[string]string{} // path → git blob id
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		migs, err := store.Migrations(dialect)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range migs {
			current["internal/store/migrations/"+dialect+"/"+m.Name] = blobID([]byte(m.SQL))
		}
	}
	// main's first-parent history: the states main itself was in (a branch
	// merged into it may have numbered its migration before a lower
	// number landed on main; its own commits were never main).
	out, err := exec.Command(git, "-C", repoRoot, "log", "--first-parent", "--format=%H", "--", "internal/store/migrations").Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		testenv.Missing(t, "the rolling-upgrade test builds the previous release from the git history, which is not here (%v): run it in a full git clone", err)
		return "", ""
	}
	for _, changed := range strings.Fields(string(out)) {
		cand := changed + "^"
		tree, err := exec.Command(git, "-C", repoRoot, "ls-tree", "-r", cand, "--", "internal/store/migrations").Output()
		if err != nil {
			continue // the first commit has no parent
		}
		n, ok, why := 0, true, ""
		for _, line := range strings.Split(strings.TrimSpace(string(tree)), "\n") {
			meta, path, _ := strings.Cut(line, "\t")
			f := strings.Fields(meta)
			if !strings.HasSuffix(path, ".sql") || len(f) != 3 {
				continue
			}
			n++
			if id, found := current[path]; !found || id != f[2] {
				ok, why = false, path+" differs from ours (edited in place after that state, or removed)"
				break
			}
		}
		if ok && n > 0 && n < len(current) {
			commit = cand
			break
		}
		if !ok {
			t.Logf("not upgrading from %s: %s", cand, why)
		}
	}
	if commit == "" {
		t.Fatal("no earlier state of the repository has a schema this release can upgrade from")
	}
	src := t.TempDir()
	arch := exec.Command(git, "-C", repoRoot, "archive", "--format=tar", commit)
	var stderr bytes.Buffer
	arch.Stderr = &stderr
	stdout, err := arch.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := arch.Start(); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(stdout)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(src, filepath.FromSlash(h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := arch.Wait(); err != nil {
		t.Fatalf("git archive %s: %v %s", commit, err, stderr.String())
	}
	bin = filepath.Join(t.TempDir(), "sellerguard-previous")
	build := exec.Command("go", "build", "-o", bin, "./cmd/sellerguard")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the previous release (%s): %v\n%s", commit, err, b)
	}
	return bin, commit
}

// blobID is git's object id of a file's content.
func blobID(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// trafficLoad keeps a server busy with what its users do: sign up, verify,
// sign in, check the session. Any answer other than the expected one, or a
// failed connection, is a failed request.
type trafficLoad struct {
	mu       sync.Mutex
	acked    []string
	failures []string
	stop     atomic.Bool
	wg       sync.WaitGroup
}

func startTraffic(base, prefix string, workers int) *trafficLoad {
	l := &trafficLoad{}
	client := &http.Client{Timeout: 20 * time.Second}
	for w := range workers {
		l.wg.Go(func() {
			for i := 0; !l.stop.Load() && i < 500; i++ {
				email := fmt.Sprintf("%s%d-%d@example.com", prefix, w, i)
				if err := l.one(client, base, email); err != nil {
					l.mu.Lock()
					l.failures = append(l.failures, err.Error())
					l.mu.Unlock()
					return
				}
				l.mu.Lock()
				l.acked = append(l.acked, email)
				l.mu.Unlock()
			}
		})
	}
	return l
}

func (l *trafficLoad) one(client *http.Client, base, email string) error {
	const pw = "correct horse battery staple"
	st, body, err := postJSON(client, base+"/api/v1/signup", map[string]string{"email": email, "password": pw, "business_name": "Rolling"})
	if err != nil || st != 202 {
		return fmt.Errorf("signup %s: %d %s %v", email, st, body, err)
	}
	code, err := codeFor(client, base, email)
	if err != nil {
		return err
	}
	if st, body, err = postJSON(client, base+"/api/v1/signup/verify", map[string]string{"email": email, "code": code}); err != nil || st != 201 {
		return fmt.Errorf("verify %s: %d %s %v", email, st, body, err)
	}
	st, body, err = postJSON(client, base+"/api/v1/sessions", map[string]string{"email": email, "password": pw})
	if err != nil || st != 201 {
		return fmt.Errorf("sign in %s: %d %s %v", email, st, body, err)
	}
	tok := between(string(body), `"token":"`, `"`)
	req, _ := http.NewRequest("GET", base+"/api/v1/session", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("session %s: %v", email, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("session %s: %d", email, resp.StatusCode)
	}
	return nil
}

func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}

func (l *trafficLoad) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// waitMore waits until n more users went through, or a request failed.
func (l *trafficLoad) waitMore(t *testing.T, n int, logs ...fmt.Stringer) {
	t.Helper()
	want := l.count() + n
	deadline := time.Now().Add(60 * time.Second)
	for l.count() < want {
		l.mu.Lock()
		f := append([]string(nil), l.failures...)
		l.mu.Unlock()
		if len(f) > 0 {
			t.Fatalf("a request failed: %v\n%s", f, logs)
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d users went through in 60 s", l.count(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (l *trafficLoad) finish() (acked, failures []string) {
	l.stop.Store(true)
	l.wg.Wait()
	return l.acked, l.failures
}

// TestRollingUpgradeOnPostgres follows README "Upgrade" for several
// instances on one PostgreSQL database, with the previous release really
// running: while the old instance serves, the new release's `sellerguard
// migrate` upgrades the schema; then a new instance starts, the old one is
// taken out and stopped with SIGTERM. No request fails at any step, and
// every user made on the way signs in at the end.
func TestRollingUpgradeOnPostgres(t *testing.T) {
	t.Parallel()
	oldBin, oldCommit := previousRelease(t)
	newBin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	dbURL := testenv.PostgresURL(t)
	dataDir := t.TempDir()
	env := []string{
		"SELLERGUARD_ADDR=127.0.0.1:0", "SELLERGUARD_DATA_DIR=" + dataDir, "SELLERGUARD_DATABASE_URL=" + dbURL,
		"SELLERGUARD_ARGON2_MEMORY=1024", "SELLERGUARD_ARGON2_TIME=1", "SELLERGUARD_LOG_LEVEL=warn",
		"SELLERGUARD_LIMIT_SIGNUPS_PER_SOURCE=10000", "SELLERGUARD_LIMIT_SOURCE_FAILURES=10000",
	}
	migs, _ := store.Migrations(store.Postgres)
	newest := migs[len(migs)-1].Version

	// The previous release serves.
	a := startBinary(t, oldBin, env)
	raw := openRaw(t, dbURL)
	var before int
	if err := raw.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&before); err != nil || before >= newest {
		t.Fatalf("the previous release (%s) left schema %d (%v), want below %d", oldCommit, before, err, newest)
	}
	la := startTraffic(a.url, "a", 3)
	la.waitMore(t, 5)

	// Step 1: the new release migrates while the old one serves.
	mig := exec.Command(newBin, "migrate")
	mig.Env = append(os.Environ(), env...)
	began := time.Now()
	out, err := mig.CombinedOutput()
	took := time.Since(began)
	if err != nil || !strings.Contains(string(out), fmt.Sprintf("schema version %d", newest)) {
		t.Fatalf("migrate: %v %s", err, out)
	}
	la.waitMore(t, 5) // the old release keeps working on the newer schema

	// Step 2: start the new release, take the old one out, stop it.
	b := startProcess(t, env)
	lb := startTraffic(b.url, "b", 3)
	lb.waitMore(t, 5, b.logs, a.logs)
	ackedA, failA := la.finish()
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := a.cmd.Wait(); err != nil {
		t.Errorf("the previous release did not stop cleanly: %v\n%s", err, a.logs)
	}
	lb.waitMore(t, 3)
	ackedB, failB := lb.finish()
	if len(failA)+len(failB) > 0 {
		t.Fatalf("failed requests: on the previous release %v; on the new one %v\n%s\n%s", failA, failB, a.logs, b.logs)
	}
	client := &http.Client{Timeout: 20 * time.Second}
	for _, email := range append(ackedA, ackedB...) {
		if st, body, err := postJSON(client, b.url+"/api/v1/sessions", map[string]string{"email": email, "password": "correct horse battery staple"}); err != nil || st != 201 {
			t.Errorf("%s cannot sign in after the upgrade: %d %s %v", email, st, body, err)
		}
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	_ = b.cmd.Wait()
	verify := exec.Command(newBin, "audit", "verify")
	verify.Env = append(os.Environ(), env...)
	if out, err := verify.CombinedOutput(); err != nil {
		t.Fatalf("audit verify: %v %s", err, out)
	}
	t.Logf("previous release %s (schema %d) → schema %d: migrate took %v while serving; %d users through the old instance, %d through the new; no failed request",
		oldCommit, before, newest, took.Round(time.Millisecond), len(ackedA), len(ackedB))
}

// preReleaseEdits are migrations changed in place after a later one existed,
// before SellerGuard had any release. Nothing may be added here: a change to
// the schema goes in a new migration.
var preReleaseEdits = map[string]string{
	"0012_reviews.sql": "c69b616 added the one-open-review index and d44ceee memberships.edit_since after 0013 existed",
}

// Migrations only go forward: once a later migration exists, a migration
// file never changes again, since databases already past it would never get
// the change (the rolling-upgrade test above found exactly that). "Exists"
// means on main's first-parent line: branches work in parallel and merge in
// (with --no-ff), so a branch's migration 0018 may have been written before
// 0017 reached main; what counts is the state main was in when 0018 joined.
func TestMigrationsAreNeverEditedOnceFollowed(t *testing.T) {
	t.Parallel()
	git := testenv.RequireCommand(t, "git")
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		migs, err := store.Migrations(dialect)
		if err != nil {
			t.Fatal(err)
		}
		dir := "internal/store/migrations/" + dialect + "/"
		for k := 0; k+1 < len(migs); k++ {
			out, err := exec.Command(git, "-C", repoRoot, "log", "--first-parent", "--format=%H", "--diff-filter=A", "-1", "--", dir+migs[k+1].Name).Output()
			if err != nil {
				testenv.Missing(t, "this test reads the git history, which is not here: %v", err)
				return
			}
			added := strings.TrimSpace(string(out))
			if added == "" {
				continue // the next migration is not committed yet
			}
			tree, err := exec.Command(git, "-C", repoRoot, "ls-tree", added, "--", dir+migs[k].Name).Output()
			f := strings.Fields(string(tree))
			if err != nil || len(f) < 3 {
				t.Errorf("%s%s is not in %s, which added %s", dir, migs[k].Name, added, migs[k+1].Name)
				continue
			}
			if f[2] == blobID([]byte(migs[k].SQL)) {
				continue
			}
			if why, ok := preReleaseEdits[migs[k].Name]; ok {
				t.Logf("known pre-release edit of %s%s: %s", dir, migs[k].Name, why)
				continue
			}
			t.Errorf("%s%s was changed after %s existed (added in %s): databases already past it never get the change; put it in a new migration instead", dir, migs[k].Name, migs[k+1].Name, added[:12])
		}
	}
}
