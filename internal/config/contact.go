package config

import (
	"fmt"
	"time"
)

// Bounds of SELLERGUARD_CONTACT_CHECK_AGE: asking more often than monthly
// nags, less often than every two years lets a lost address linger.
const (
	MinContactCheckAge = 30 * 24 * time.Hour
	MaxContactCheckAge = 2 * 365 * 24 * time.Hour
)

func init() {
	extraSettings = append(extraSettings, func(c *Config, b *binder) {
		b.dur(&c.ContactCheckAge, "contact-check-age", "SELLERGUARD_CONTACT_CHECK_AGE", 180*24*time.Hour,
			"ask \"is this still yours?\" about a sign-in email or mobile number last confirmed longer ago than this (720h–17520h, 30 days to 2 years)")
	})
}

func (c *Config) finishContact() []error {
	if c.ContactCheckAge < MinContactCheckAge || c.ContactCheckAge > MaxContactCheckAge {
		return []error{fmt.Errorf("SELLERGUARD_CONTACT_CHECK_AGE must be 720h–17520h (30 days to 2 years), not %s", c.ContactCheckAge)}
	}
	return nil
}
