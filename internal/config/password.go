package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// PasswordSettings are the password-policy and breached-password settings
// (capability G2). The minimum length is Config.PasswordMinLength.
type PasswordSettings struct {
	MinScore      int           // lowest zxcvbn score accepted, 0–4 (0 = no strength check)
	History       int           // how many previous passwords may not be reused
	PlatformWords string        // comma-separated words no password may contain
	ReminderAge   time.Duration // remind a user to change a password this old

	// BreachIndex is the breached-password index built by "sellerguard
	// breach import"; empty means DATA_DIR/breached.idx, used if present.
	BreachIndex string
	// BreachAPIURL is a Pwned Passwords range API base URL; empty = off.
	// Unset, it is DefaultBreachAPIURL outside local mode (SMTP
	// configured) and off in local mode; "off" turns it off everywhere.
	BreachAPIURL string
	// BreachAPIFailOpen accepts passwords on the other checks when the
	// range API cannot answer (counted, logged, and the password checked
	// again at the next sign-in); false refuses them instead.
	BreachAPIFailOpen bool
	BreachAPITimeout  time.Duration
}

// DefaultBreachIndexName is the index file looked for in the data dir.
const DefaultBreachIndexName = "breached.idx"

// DefaultBreachAPIURL is the range API used outside local mode unless
// SELLERGUARD_BREACH_API_URL says otherwise.
const DefaultBreachAPIURL = "https://api.pwnedpasswords.com"

// BreachAPIOff is the SELLERGUARD_BREACH_API_URL value that turns the
// range API off, also outside local mode.
const BreachAPIOff = "off"

// finishBreachAPI applies the range API's default: on with SMTP configured
// (production), off in local mode, off everywhere when set to "off".
func (s *PasswordSettings) finishBreachAPI(localMode bool) {
	switch {
	case strings.EqualFold(strings.TrimSpace(s.BreachAPIURL), BreachAPIOff):
		s.BreachAPIURL = ""
	case s.BreachAPIURL == "" && !localMode:
		s.BreachAPIURL = DefaultBreachAPIURL
	}
}

func init() {
	extraSettings = append(extraSettings, func(c *Config, b *binder) {
		p := &c.Password
		b.int(&p.MinScore, "password-min-score", "SELLERGUARD_PASSWORD_MIN_SCORE", 3, "lowest password strength accepted, zxcvbn score 0-4 (0 = off)")
		b.int(&p.History, "password-history", "SELLERGUARD_PASSWORD_HISTORY", 5, "number of previous passwords a user may not reuse")
		b.str(&p.PlatformWords, "password-platform-words", "SELLERGUARD_PASSWORD_PLATFORM_WORDS", "sellerguard,seller,marketplace", "comma-separated words no password may contain")
		b.dur(&p.ReminderAge, "password-reminder-age", "SELLERGUARD_PASSWORD_REMINDER_AGE", 4320*time.Hour, "remind users to change a password older than this (0 = never)")
		b.str(&p.BreachIndex, "breach-index", "SELLERGUARD_BREACH_INDEX", "", "breached-password index from \"sellerguard breach import\" (default DATA_DIR/"+DefaultBreachIndexName+", used if present)")
		b.str(&p.BreachAPIURL, "breach-api-url", "SELLERGUARD_BREACH_API_URL", "", "Pwned Passwords range API base URL (default "+DefaultBreachAPIURL+" with SMTP configured, off in local mode; \"off\" = off)")
		b.boolean(&p.BreachAPIFailOpen, "breach-api-fail-open", "SELLERGUARD_BREACH_API_FAIL_OPEN", true, "accept passwords on the other checks when the range API cannot answer, and check them again at the next sign-in (false = refuse them)")
		b.dur(&p.BreachAPITimeout, "breach-api-timeout", "SELLERGUARD_BREACH_API_TIMEOUT", time.Second, "how long to wait for the range API (at most 10s)")
	})
}

// Validate checks the password settings. Config.Finish should call it.
func (s PasswordSettings) Validate() error {
	var errs []error
	if s.MinScore < 0 || s.MinScore > 4 {
		errs = append(errs, fmt.Errorf("password minimum score %d is not between 0 and 4", s.MinScore))
	}
	if s.History < 0 || s.History > 100 {
		errs = append(errs, fmt.Errorf("password history %d is not between 0 and 100", s.History))
	}
	if s.ReminderAge < 0 {
		errs = append(errs, errors.New("password reminder age must not be negative"))
	}
	if s.BreachAPIURL != "" {
		u, err := url.Parse(s.BreachAPIURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("breach API URL %q must be an absolute http or https URL", s.BreachAPIURL))
		}
	}
	if s.BreachAPITimeout <= 0 || s.BreachAPITimeout > 10*time.Second {
		errs = append(errs, errors.New("breach API timeout must be positive and at most 10s"))
	}
	return errors.Join(errs...)
}

// PlatformWordList returns the platform words, trimmed, without empties.
func (s PasswordSettings) PlatformWordList() []string {
	var out []string
	for _, w := range strings.Split(s.PlatformWords, ",") {
		if w = strings.TrimSpace(w); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// BreachIndexPath returns the breached-password index to use and whether
// it must exist: the configured one (which must), or DATA_DIR/breached.idx
// (used only if present).
func (c *Config) BreachIndexPath() (path string, required bool) {
	if c.Password.BreachIndex != "" {
		return c.Password.BreachIndex, true
	}
	return filepath.Join(c.DataDir, DefaultBreachIndexName), false
}

// BreachIndexToOpen returns the index path to open, or "" if none is
// configured and the default one does not exist.
func (c *Config) BreachIndexToOpen() string {
	p, required := c.BreachIndexPath()
	if required {
		return p
	}
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}
