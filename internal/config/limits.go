package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// LimitSettings are the guess limits (internal/limiter). Their ranges are
// bounded: limiting can be tuned, never switched off.
type LimitSettings struct {
	FreeFailures     int
	MaxDelay         time.Duration
	LockFailures     int
	FailureMemory    time.Duration
	SourceFailures   int
	SourceWindow     time.Duration
	NotifyFailures   int
	SignupsPerSource int
	TrustedProxies   string
	trusted          []netip.Prefix
}

func init() {
	extraSettings = append(extraSettings, func(c *Config, b *binder) {
		l := &c.Limits
		b.int(&l.FreeFailures, "limit-free-failures", "SELLERGUARD_LIMIT_FREE_FAILURES", 3, "failed sign-ins of an account before delays start (1–20)")
		b.dur(&l.MaxDelay, "limit-max-delay", "SELLERGUARD_LIMIT_MAX_DELAY", 15*time.Minute, "longest delay between sign-in attempts of an account (1m–24h)")
		b.int(&l.LockFailures, "limit-lock-failures", "SELLERGUARD_LIMIT_LOCK_FAILURES", 100, "consecutive failures after which the account needs an unlock code (10–100)")
		b.dur(&l.FailureMemory, "limit-failure-memory", "SELLERGUARD_LIMIT_FAILURE_MEMORY", 24*time.Hour, "how long an account's failures are remembered (1h–720h)")
		b.int(&l.SourceFailures, "limit-source-failures", "SELLERGUARD_LIMIT_SOURCE_FAILURES", 50, "failed attempts from one address (IPv6: /64) per window before 429 (5–10000)")
		b.dur(&l.SourceWindow, "limit-source-window", "SELLERGUARD_LIMIT_SOURCE_WINDOW", 10*time.Minute, "window of the per-address limits (1m–24h)")
		b.int(&l.NotifyFailures, "limit-notify-failures", "SELLERGUARD_LIMIT_NOTIFY_FAILURES", 10, "consecutive failures that email the owner an alert with an unlock code")
		b.int(&l.SignupsPerSource, "limit-signups-per-source", "SELLERGUARD_LIMIT_SIGNUPS_PER_SOURCE", 50, "sign-ups and unlock-code requests from one address per window (5–10000)")
		b.str(&l.TrustedProxies, "trusted-proxies", "SELLERGUARD_TRUSTED_PROXIES", "", "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For is believed")
	})
}

func (l *LimitSettings) finish() []error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(l.FreeFailures >= 1 && l.FreeFailures <= 20, "SELLERGUARD_LIMIT_FREE_FAILURES must be 1–20")
	check(l.MaxDelay >= time.Minute && l.MaxDelay <= 24*time.Hour, "SELLERGUARD_LIMIT_MAX_DELAY must be 1m–24h")
	check(l.LockFailures >= 10 && l.LockFailures <= 100, "SELLERGUARD_LIMIT_LOCK_FAILURES must be 10–100 (NIST SP 800-63B allows at most 100)")
	check(l.FailureMemory >= time.Hour && l.FailureMemory <= 720*time.Hour, "SELLERGUARD_LIMIT_FAILURE_MEMORY must be 1h–720h")
	check(l.SourceFailures >= 5 && l.SourceFailures <= 10000, "SELLERGUARD_LIMIT_SOURCE_FAILURES must be 5–10000")
	check(l.SourceWindow >= time.Minute && l.SourceWindow <= 24*time.Hour, "SELLERGUARD_LIMIT_SOURCE_WINDOW must be 1m–24h")
	check(l.NotifyFailures > l.FreeFailures && l.NotifyFailures <= l.LockFailures, "SELLERGUARD_LIMIT_NOTIFY_FAILURES must be above the free failures and at most the lock failures")
	check(l.SignupsPerSource >= 5 && l.SignupsPerSource <= 10000, "SELLERGUARD_LIMIT_SIGNUPS_PER_SOURCE must be 5–10000")
	l.trusted = nil
	for _, p := range strings.Split(l.TrustedProxies, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			a, err := netip.ParseAddr(p)
			if err != nil {
				errs = append(errs, fmt.Errorf("SELLERGUARD_TRUSTED_PROXIES: %q is not an IP address or CIDR", p))
				continue
			}
			l.trusted = append(l.trusted, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		pf, err := netip.ParsePrefix(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("SELLERGUARD_TRUSTED_PROXIES: %q is not an IP address or CIDR", p))
			continue
		}
		l.trusted = append(l.trusted, pf.Masked())
	}
	return errs
}

// Trusted returns the parsed trusted proxy prefixes (after Finish).
func (l *LimitSettings) Trusted() []netip.Prefix { return l.trusted }
