package config

import (
	"fmt"
	"time"
)

func init() {
	extraSettings = append(extraSettings, func(c *Config, b *binder) {
		b.dur(&c.PayoutCoolingOff, "payout-cooling-off", "SELLERGUARD_PAYOUT_COOLING_OFF", 72*time.Hour, "a new deposit account receives payouts only after this long (1h–720h)")
	})
}

func (c *Config) finishPayments() []error {
	if c.PayoutCoolingOff < time.Hour || c.PayoutCoolingOff > 720*time.Hour {
		return []error{fmt.Errorf("SELLERGUARD_PAYOUT_COOLING_OFF must be 1h–720h")}
	}
	return nil
}
