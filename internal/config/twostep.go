package config

import (
	"fmt"
	"time"
)

// TwoStepSettings tune two-step verification.
type TwoStepSettings struct {
	ReauthWindow          time.Duration
	TrustedBrowserFor     time.Duration
	PartialSessionTimeout time.Duration
}

func init() {
	extraSettings = append(extraSettings, func(c *Config, b *binder) {
		t := &c.TwoStep
		b.dur(&t.ReauthWindow, "reauth-window", "SELLERGUARD_REAUTH_WINDOW", 10*time.Minute, "sensitive changes need a sign-in or re-authentication this recent (1m–1h)")
		b.dur(&t.TrustedBrowserFor, "trusted-browser-lifetime", "SELLERGUARD_TRUSTED_BROWSER_LIFETIME", 30*24*time.Hour, `"don't ask again on this browser" lasts this long (at most 2160h = 90 days)`)
		b.dur(&t.PartialSessionTimeout, "second-step-timeout", "SELLERGUARD_SECOND_STEP_TIMEOUT", 10*time.Minute, "time to finish the second step after the password (1m–30m)")
	})
}

func (t *TwoStepSettings) finish() []error {
	var errs []error
	if t.ReauthWindow < time.Minute || t.ReauthWindow > time.Hour {
		errs = append(errs, fmt.Errorf("SELLERGUARD_REAUTH_WINDOW must be 1m–1h"))
	}
	if t.TrustedBrowserFor < time.Hour || t.TrustedBrowserFor > 90*24*time.Hour {
		errs = append(errs, fmt.Errorf("SELLERGUARD_TRUSTED_BROWSER_LIFETIME must be 1h–2160h (90 days)"))
	}
	if t.PartialSessionTimeout < time.Minute || t.PartialSessionTimeout > 30*time.Minute {
		errs = append(errs, fmt.Errorf("SELLERGUARD_SECOND_STEP_TIMEOUT must be 1m–30m"))
	}
	return errs
}
