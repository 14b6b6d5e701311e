package config

import (
	"fmt"
	"time"
)

func init() {
	extraSettings = append(extraSettings, func(c *Config, b *binder) {
		b.dur(&c.RecoveryDelay, "recovery-delay", "SELLERGUARD_RECOVERY_DELAY", 72*time.Hour, "a Seller Support recovery action approved by a supervisor waits this long, while every address on file is told and the owner can cancel (24h–720h)")
	})
}

func (c *Config) finishSupport() []error {
	if c.RecoveryDelay < 24*time.Hour || c.RecoveryDelay > 720*time.Hour {
		return []error{fmt.Errorf("SELLERGUARD_RECOVERY_DELAY must be 24h–720h")}
	}
	return nil
}
