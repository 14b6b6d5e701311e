package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func runPassword(t *testing.T, env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["SELLERGUARD_DATA_DIR"]; !ok {
		env["SELLERGUARD_DATA_DIR"] = t.TempDir()
	}
	var out, errb bytes.Buffer
	code = cmdPassword(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestPasswordCheck(t *testing.T) {
	in := "violet-otter-lantern-42\nPassword2024!\r\nshort\n" +
		"the quiet otter paints violet lanterns beside a frozen harbour\n" +
		strings.Repeat("x", 10<<20) + "\n" +
		"last-line-without-newline-Qz7!"
	code, out, errOut := runPassword(t, nil, in, "check")
	want := "ok\nrejected: common too_weak\nrejected: too_short common too_weak\nok\nrejected: too_long\nok\n"
	if code != 1 || out != want {
		t.Fatalf("check: exit %d\n%s\nwant\n%s\nstderr %s", code, out, want, errOut)
	}
	if code, out, _ := runPassword(t, nil, "violet-otter-lantern-42\n", "check"); code != 0 || out != "ok\n" {
		t.Fatalf("all accepted: exit %d %q", code, out)
	}
	if code, out, _ := runPassword(t, nil, "", "check"); code != 0 || out != "" {
		t.Fatalf("no input: exit %d %q", code, out)
	}
}

func TestPasswordCheckFacts(t *testing.T) {
	in := "Glacier+15551234567+fox\nHarbour-1234567-kite-9\nmarta.kowalska-lantern\nBlueHeronCrafts2024\nviolet-otter-lantern-42\n"
	code, out, _ := runPassword(t, nil, in, "check",
		"--email", "marta.kowalska@example.org", "--phone", "+1 555 123 4567", "--name", "Marta Kowalska", "--business", "Blue Heron Crafts")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 1 || len(lines) != 5 {
		t.Fatalf("exit %d, %q", code, out)
	}
	for i, want := range []string{"contains_phone", "contains_phone", "contains_email", "contains_business", "ok"} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d = %q, want %s", i+1, lines[i], want)
		}
	}
}

// SELLERGUARD_PASSWORD_MIN_LENGTH applies to check as it does to serve.
func TestPasswordCheckMinLengthSetting(t *testing.T) {
	in := "Vq7#kLm2xZ\n"
	if code, out, _ := runPassword(t, nil, in, "check"); code != 1 || out != "rejected: too_short\n" {
		t.Fatalf("default: exit %d %q", code, out)
	}
	env := map[string]string{"SELLERGUARD_PASSWORD_MIN_LENGTH": "8"}
	if code, out, _ := runPassword(t, env, in, "check"); code != 0 || out != "ok\n" {
		t.Fatalf("min 8: exit %d %q", code, out)
	}
	if code, out, _ := runPassword(t, nil, in, "check", "--password-min-length", "8"); code != 0 || out != "ok\n" {
		t.Fatalf("flag min 8: exit %d %q", code, out)
	}
	env = map[string]string{"SELLERGUARD_PASSWORD_MIN_LENGTH": "6"}
	if code, _, errOut := runPassword(t, env, in, "check"); code != 1 || !strings.Contains(errOut, "below the floor") {
		t.Fatalf("min 6: exit %d %q", code, errOut)
	}
	env = map[string]string{"SELLERGUARD_PASSWORD_PLATFORM_WORDS": "heron"}
	if code, out, _ := runPassword(t, env, "glassy-heron-teapot-77\nMySellerGuardRocks!42\n", "check"); code != 1 || out != "rejected: contains_platform_word\nok\n" {
		t.Fatalf("platform words: exit %d %q", code, out)
	}
	if code, out, _ := runPassword(t, nil, "correct horse battery staple\n", "check", "--strict"); code != 1 || out != "rejected: needs_variety\n" {
		t.Fatalf("strict: exit %d %q", code, out)
	}
}

func TestPasswordUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}, {"check", "extra"}, {"check", "--no-such-flag"}} {
		if code, _, _ := runPassword(t, nil, "", args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if code, out, _ := runPassword(t, nil, "", "help"); code != 0 || !strings.Contains(out, "password check") {
		t.Errorf("help: %d %q", code, out)
	}
}

func TestPasswordCalibrate(t *testing.T) {
	code, out, errOut := runPassword(t, nil, "", "calibrate", "--target", "20ms", "--max-memory", "4096")
	if code != 0 || !strings.Contains(out, "SELLERGUARD_ARGON2_MEMORY=4096") || !strings.Contains(out, "SELLERGUARD_ARGON2_TIME=") {
		t.Fatalf("calibrate: exit %d\n%s\n%s", code, out, errOut)
	}
}

func sha1Hex(s string) string {
	h := sha1.Sum([]byte(s))
	return strings.ToUpper(hex.EncodeToString(h[:]))
}

// breach import builds the index that password check then uses from the
// data dir; the range API, when configured, is asked as well.
func TestBreachImportAndCheck(t *testing.T) {
	dataDir := t.TempDir()
	src := filepath.Join(t.TempDir(), "pwned.txt")
	content := fmt.Sprintf("%s:12\r\n%s:3\r\nthis line is wrong\r\n", sha1Hex("violet-otter-lantern-42"), sha1Hex("some-other-pass"))
	if err := os.WriteFile(src, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SELLERGUARD_DATA_DIR": dataDir}
	var out, errb bytes.Buffer
	code := cmdBreach(context.Background(), []string{"import", src}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "indexed 2 hashes") || !strings.Contains(errb.String(), "line 3") {
		t.Fatalf("import: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "breach import: 100%") {
		t.Errorf("no plain progress line: %q", errb.String())
	}
	if _, err := os.Stat(filepath.Join(dataDir, "breached.idx")); err != nil {
		t.Fatal(err)
	}
	code, got, errOut := runPassword(t, env, "violet-otter-lantern-42\nviolet-otter-lantern-43\n", "check")
	if code != 1 || got != "rejected: breached\nok\n" {
		t.Fatalf("check with index: exit %d %q %s", code, got, errOut)
	}

	// A configured index that is missing is an error, not a silent skip.
	env2 := map[string]string{"SELLERGUARD_BREACH_INDEX": filepath.Join(dataDir, "nope.idx")}
	if code, _, errOut := runPassword(t, env2, "x\n", "check"); code != 1 || !strings.Contains(errOut, "breached-password index") {
		t.Fatalf("missing index: exit %d %q", code, errOut)
	}

	// Range API: fail open by default, fail closed when configured.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha1Hex("violet-otter-lantern-43")
		if strings.HasSuffix(r.URL.Path, "/"+h[:5]) {
			fmt.Fprintf(w, "%s:5\r\n", h[5:])
			return
		}
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer srv.Close()
	env3 := map[string]string{"SELLERGUARD_DATA_DIR": dataDir, "SELLERGUARD_BREACH_API_URL": srv.URL}
	code, got, errOut = runPassword(t, env3, "violet-otter-lantern-43\nviolet-otter-lantern-44\n", "check")
	if code != 1 || got != "rejected: breached\nok\n" || !strings.Contains(errOut, "fail open") {
		t.Fatalf("range API, fail open: exit %d %q %s", code, got, errOut)
	}
	env3["SELLERGUARD_BREACH_API_FAIL_OPEN"] = "false"
	code, got, _ = runPassword(t, env3, "violet-otter-lantern-44\n", "check")
	if code != 1 || got != "rejected: breach_check_unavailable\n" {
		t.Fatalf("range API, fail closed: exit %d %q", code, got)
	}
}

func TestBreachImportErrors(t *testing.T) {
	env := map[string]string{"SELLERGUARD_DATA_DIR": t.TempDir()}
	getenv := func(k string) string { return env[k] }
	var out, errb bytes.Buffer
	if code := cmdBreach(context.Background(), []string{"import"}, getenv, strings.NewReader(""), &out, &errb); code != 2 {
		t.Errorf("no file: %d", code)
	}
	if code := cmdBreach(context.Background(), []string{"import", "/no/such/file"}, getenv, strings.NewReader(""), &out, &errb); code != 1 {
		t.Errorf("missing file: %d", code)
	}
	garbage := strings.Repeat("garbage\n", 2000)
	errb.Reset()
	if code := cmdBreach(context.Background(), []string{"import", "-"}, getenv, strings.NewReader(garbage), &out, &errb); code != 1 || !strings.Contains(errb.String(), "too many malformed") {
		t.Errorf("garbage: %d %q", code, errb.String())
	}
}

func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	now := time.Unix(0, 0)
	p := newProgress(&b, true, func() time.Time { return now })
	now = now.Add(time.Second)
	p.update(50e6, 100e6)
	now = now.Add(time.Second)
	p.update(100e6, 100e6)
	p.done()
	s := b.String()
	if !strings.Contains(s, "\r\x1b[K[###############...............]  50%") || !strings.Contains(s, "50.0 MB/s") || !strings.Contains(s, "ETA 0:01") || !strings.HasSuffix(s, "\n") {
		t.Fatalf("bar: %q", s)
	}
}
