package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Without axe-core the accessibility check fails under
// SELLERGUARD_TEST_STRICT=1 and is skipped otherwise, naming the install
// command; SELLERGUARD_AXE_JS points at another copy.
func TestAxePathMissingFollowsStrictRule(t *testing.T) {
	saved := axePaths
	t.Cleanup(func() { axePaths = saved })
	axePaths = []string{filepath.Join(t.TempDir(), "no-axe", "axe.min.js")}
	t.Setenv(AxeEnv, "")

	t.Setenv(StrictEnv, "1")
	r := runRecorded(t, func(tb testing.TB) { AxePath(tb) })
	if r.fatal == "" || r.skip != "" || !strings.Contains(r.fatal, "npm install -g axe-core") {
		t.Errorf("strict: want a failure naming the install command, got fatal=%q skip=%q", r.fatal, r.skip)
	}
	t.Setenv(StrictEnv, "")
	if r := runRecorded(t, func(tb testing.TB) { AxePath(tb) }); r.skip == "" || r.fatal != "" {
		t.Errorf("non-strict: want a skip, got fatal=%q skip=%q", r.fatal, r.skip)
	}

	own := filepath.Join(t.TempDir(), "axe.min.js")
	if err := os.WriteFile(own, []byte("window.axe = {};"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(AxeEnv, own)
	if p := AxePath(t); p != own {
		t.Errorf("AxePath with %s set = %q", AxeEnv, p)
	}
	t.Setenv(AxeEnv, own+".missing")
	if r := runRecorded(t, func(tb testing.TB) { AxePath(tb) }); r.fatal == "" {
		t.Errorf("a %s that names no file must fail, got skip=%q", AxeEnv, r.skip)
	}
}

// The installed axe-core is found (scripts/test.sh installs it).
func TestAxePathFindsAxe(t *testing.T) {
	p := AxePath(t)
	b, err := os.ReadFile(p)
	if err != nil || !strings.Contains(string(b[:min(len(b), 4096)]), "axe") {
		t.Fatalf("%s: %v", p, err)
	}
}
