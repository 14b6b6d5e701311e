// Package testenv holds helpers for tests that need real outside programs:
// a PostgreSQL server, an SMTP server (aiosmtpd), Chromium and command-line
// tools such as oathtool and dkimverify.
//
// The rule for a missing dependency depends on SELLERGUARD_TEST_STRICT:
//
//   - SELLERGUARD_TEST_STRICT=1 (set by scripts/test.sh): a missing
//     dependency FAILS the test (t.Fatalf). The full suite must never pass
//     by silently skipping the tests that matter.
//   - otherwise: the test is skipped (t.Skipf) with a message naming the
//     command that installs the dependency, so a plain `go test ./...` on a
//     developer machine still works.
//
// A dependency that is present but broken (for example a configured
// PostgreSQL URL that refuses connections, or an SMTP server that does not
// start) always fails the test.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// StrictEnv is the environment variable that turns missing dependencies
// into test failures when set to "1".
const StrictEnv = "SELLERGUARD_TEST_STRICT"

// Strict reports whether SELLERGUARD_TEST_STRICT=1 is set.
func Strict() bool { return os.Getenv(StrictEnv) == "1" }

// installHint names the Debian command that provides each outside program.
var installHint = map[string]string{
	"chromium":        "apt-get install -y chromium",
	"oathtool":        "apt-get install -y oathtool",
	"dkimverify":      "apt-get install -y python3-dkim",
	"dkimsign":        "apt-get install -y python3-dkim",
	"python3":         "apt-get install -y python3",
	"aiosmtpd":        "apt-get install -y python3-aiosmtpd",
	"psql":            "apt-get install -y postgresql-client",
	"pg_isready":      "apt-get install -y postgresql-client",
	"openssl":         "apt-get install -y openssl",
	"podman":          "apt-get install -y podman",
	"systemd-analyze": "apt-get install -y systemd",
	"axe-core":        "npm install -g axe-core@4.14.1",
}

// InstallHint returns the install command for the named program, or a
// generic hint when it is not known.
func InstallHint(name string) string {
	if h, ok := installHint[name]; ok {
		return h
	}
	return fmt.Sprintf("install %q (e.g. apt-get install -y %s)", name, name)
}

// Missing reports a missing dependency following the package rule: it
// calls t.Fatalf when SELLERGUARD_TEST_STRICT=1 and t.Skipf otherwise.
// The message should say what is missing and how to install it.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Strict() {
		t.Fatalf("testenv: missing dependency: %s (%s=1, so this is a failure, not a skip)", msg, StrictEnv)
		return
	}
	t.Skipf("testenv: missing dependency: %s (skipping; scripts/test.sh installs everything and sets %s=1)", msg, StrictEnv)
}

// RequireCommand returns the absolute path of the named program from PATH.
// If it is not found, the test fails (strict) or is skipped, with a message
// naming the install command.
func RequireCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "command %q not found in PATH; install it with: %s", name, InstallHint(name))
		return ""
	}
	return p
}

// ChromiumPath returns the path of the Chromium browser: /usr/bin/chromium
// if it exists, else "chromium" from PATH. If neither exists, the test fails
// (strict) or is skipped.
//
// As root on this kind of machine Chromium needs --no-sandbox, and on the
// closed network it should be started with --headless --disable-gpu
// --disable-background-networking --disable-component-update
// --disable-sync --no-first-run and a fresh --user-data-dir (see
// DESIGN.md section 7).
func ChromiumPath(t testing.TB) string {
	t.Helper()
	const debianPath = "/usr/bin/chromium"
	if isExecutable(debianPath) {
		return debianPath
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	Missing(t, "Chromium not found at %s or in PATH; install it with: %s", debianPath, InstallHint("chromium"))
	return ""
}

// AxeEnv names the file of axe-core's axe.min.js, when it is not at one of
// the fixed paths AxePath looks at.
const AxeEnv = "SELLERGUARD_AXE_JS"

// axePaths are where `npm install -g axe-core` (scripts/test.sh) puts the
// script: npm's global root on Debian's Node.js (/usr) and on a Node.js
// installed under /usr/local.
var axePaths = []string{"/usr/lib/node_modules/axe-core/axe.min.js", "/usr/local/lib/node_modules/axe-core/axe.min.js"}

// AxePath returns the path of axe-core's axe.min.js, the accessibility
// engine the browser tests inject into pages: $SELLERGUARD_AXE_JS if set
// (it must exist), else the first of the fixed paths that exists. If there
// is none, the test fails (strict) or is skipped.
func AxePath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(AxeEnv); p != "" {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() {
			t.Fatalf("testenv: %s=%s: not a file (%v)", AxeEnv, p, err)
		}
		return p
	}
	for _, p := range axePaths {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	Missing(t, "axe-core not found at %v (or $%s); install it with: %s", axePaths, AxeEnv, InstallHint("axe-core"))
	return ""
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}
