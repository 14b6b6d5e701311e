package config

import (
	"strings"
	"testing"
	"time"
)

// The breached-password range API is on by default with SMTP configured
// (production) and off in local mode; "off" turns it off, a URL points it
// elsewhere; its timeout is short and bounded.
func TestBreachAPIDefaults(t *testing.T) {
	smtp := "smtp://127.0.0.1:25"
	for _, c := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"local mode", nil, ""},
		{"local mode, configured", map[string]string{"SELLERGUARD_BREACH_API_URL": "http://127.0.0.1:9/api"}, "http://127.0.0.1:9/api"},
		{"production", map[string]string{"SELLERGUARD_SMTP_URL": smtp}, DefaultBreachAPIURL},
		{"production, off", map[string]string{"SELLERGUARD_SMTP_URL": smtp, "SELLERGUARD_BREACH_API_URL": "off"}, ""},
		{"production, elsewhere", map[string]string{"SELLERGUARD_SMTP_URL": smtp, "SELLERGUARD_BREACH_API_URL": "https://pwned.internal"}, "https://pwned.internal"},
	} {
		cfg, err := load(t, c.env)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if cfg.Password.BreachAPIURL != c.want || !cfg.Password.BreachAPIFailOpen || cfg.Password.BreachAPITimeout != time.Second {
			t.Errorf("%s: url %q fail-open %v timeout %v; want %q, true, 1s", c.name, cfg.Password.BreachAPIURL, cfg.Password.BreachAPIFailOpen, cfg.Password.BreachAPITimeout, c.want)
		}
	}
	for _, bad := range []string{"0s", "11s", "-1s"} {
		if _, err := load(t, map[string]string{"SELLERGUARD_BREACH_API_TIMEOUT": bad}); err == nil || !strings.Contains(err.Error(), "breach API timeout") {
			t.Errorf("timeout %s: %v", bad, err)
		}
	}
}
