package config

import (
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, env map[string]string, args ...string) (*Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c, _, err := Register(fs, func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return c, c.Finish()
}

func TestDefaultsNeedNothing(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./sellerguard-data" || c.DatabaseURL != "sqlite://sellerguard-data/sellerguard.db" || !c.LocalMode() || c.LogFormat != "text" || c.SecureCookies() {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestFlagBeatsEnvironmentBeatsDefault(t *testing.T) {
	c, err := load(t, map[string]string{"SELLERGUARD_ADDR": "127.0.0.1:9000", "SELLERGUARD_SESSION_IDLE_TIMEOUT": "5m", "SELLERGUARD_SMTP_URL": "smtp://127.0.0.1:25"}, "--addr", "127.0.0.1:9100")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9100" || c.SessionIdleTimeout != 5*time.Minute || c.LocalMode() || c.LogFormat != "json" {
		t.Fatalf("config = %+v", c)
	}
}

func TestBadSettingsAreRefusedClearly(t *testing.T) {
	for env, want := range map[string]string{
		"SELLERGUARD_SESSION_IDLE_TIMEOUT": "not a duration",
		"SELLERGUARD_ARGON2_MEMORY":        "whole number",
		"SELLERGUARD_PASSWORD_MIN_LENGTH":  "floor of 8",
		"SELLERGUARD_DATABASE_URL":         "sqlite:// or postgres://",
		"SELLERGUARD_BASE_URL":             "absolute http or https URL",
		"SELLERGUARD_LOG_FORMAT":           "text or json",
	} {
		bad := map[string]string{
			"SELLERGUARD_SESSION_IDLE_TIMEOUT": "soon", "SELLERGUARD_ARGON2_MEMORY": "lots", "SELLERGUARD_PASSWORD_MIN_LENGTH": "6",
			"SELLERGUARD_DATABASE_URL": "mysql://x", "SELLERGUARD_BASE_URL": "ftp://x", "SELLERGUARD_LOG_FORMAT": "xml",
		}[env]
		_, err := load(t, map[string]string{env: bad})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%q: err = %v, want it to mention %q", env, bad, err, want)
		}
	}
}

// The README's configuration table lists every setting.
func TestREADMEDocumentsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, settings, _ := Register(flag.NewFlagSet("t", flag.ContinueOnError), func(string) string { return "" })
	for _, s := range settings {
		if !strings.Contains(string(readme), "| `"+s.Env+"` | `"+s.Flag+"` |") {
			t.Errorf("README lacks a row for %s / %s", s.Env, s.Flag)
		}
	}
}

func TestLimitsCannotBeSwitchedOff(t *testing.T) {
	for env, bad := range map[string]string{
		"SELLERGUARD_LIMIT_LOCK_FAILURES":      "1000",
		"SELLERGUARD_LIMIT_FREE_FAILURES":      "100000",
		"SELLERGUARD_LIMIT_SOURCE_FAILURES":    "999999999",
		"SELLERGUARD_LIMIT_MAX_DELAY":          "1s",
		"SELLERGUARD_LIMIT_SOURCE_WINDOW":      "1s",
		"SELLERGUARD_LIMIT_SIGNUPS_PER_SOURCE": "0",
		"SELLERGUARD_TRUSTED_PROXIES":          "10.0.0.0/8, not-an-ip",
	} {
		if _, err := load(t, map[string]string{env: bad}); err == nil || !strings.Contains(err.Error(), env) {
			t.Errorf("%s=%s: err = %v", env, bad, err)
		}
	}
	c, err := load(t, map[string]string{"SELLERGUARD_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7 ,2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Limits.Trusted(); len(got) != 3 || got[1].String() != "192.0.2.7/32" {
		t.Fatalf("trusted = %v", got)
	}
}
