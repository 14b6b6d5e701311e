package config

import (
	"fmt"
	"time"
)

func init() {
	extraSettings = append(extraSettings, func(c *Config, b *binder) {
		b.dur(&c.PayoutCoolingOff, "payout-cooling-off", "SELLERGUARD_PAYOUT_COOLING_OFF", 72*time.Hour, "a new deposit account receives payouts only after this long (1h–720h)")
		b.dur(&c.AccessReviewInterval, "access-review-interval", "SELLERGUARD_ACCESS_REVIEW_INTERVAL", 90*24*time.Hour, "a business with members gets an access review this often, unless it chose its own (720h–8760h)")
		b.dur(&c.AccessReviewReminder, "access-review-reminder", "SELLERGUARD_ACCESS_REVIEW_REMINDER", 7*24*time.Hour, "an open access review is brought up again this often (24h–720h)")
	})
}

func (c *Config) finishPayments() []error {
	if c.PayoutCoolingOff < time.Hour || c.PayoutCoolingOff > 720*time.Hour {
		return []error{fmt.Errorf("SELLERGUARD_PAYOUT_COOLING_OFF must be 1h–720h")}
	}
	if c.AccessReviewInterval < 720*time.Hour || c.AccessReviewInterval > 8760*time.Hour {
		return []error{fmt.Errorf("SELLERGUARD_ACCESS_REVIEW_INTERVAL must be 720h–8760h (30 to 365 days)")}
	}
	if c.AccessReviewReminder < 24*time.Hour || c.AccessReviewReminder > 720*time.Hour {
		return []error{fmt.Errorf("SELLERGUARD_ACCESS_REVIEW_REMINDER must be 24h–720h")}
	}
	return nil
}
