// Package limiter limits every guess SellerGuard accepts: passwords,
// verification and unlock codes, sign-ups, and (later) two-step codes and SMS
// sends. Its state lives in the database behind a narrow Store, so every
// instance behind a load balancer shares it, and counters expire on their own.
//
// What it guards, and how it keeps the real owner in:
//
//   - Per account (keyed by the normalised email, so case and Unicode
//     variants count together, and unknown emails build up exactly the same
//     state as known ones): after FreeFailures consecutive failures each
//     further attempt must wait a growing delay (1 s, 2 s, 4 s … capped at
//     MaxDelay); at LockFailures consecutive failures the account needs an
//     unlock code. A success clears the failures.
//   - A browser that has signed in to the account before has its own counter,
//     so an attacker hammering the account from elsewhere never slows the
//     owner's own browser (NIST SP 800-63B §5.2.2).
//   - Per source (an IPv4 address, or an IPv6 /64): failures across all
//     accounts within a window; past SourceLimit the source gets 429 with
//     Retry-After, without affecting other sources.
//
// Caveat: a window counter allows bursts of up to twice the limit across a
// window boundary; the limits are set with that in mind.
package limiter

import (
	"context"
	"net/netip"
	"time"
)

// Counter is one stored counter.
type Counter struct {
	Key          string
	Count        int
	FirstAt      time.Time // start of the current window (or first failure)
	LastAt       time.Time
	LastIP       string
	ExpiresAt    time.Time
	BlockedUntil time.Time
}

// Store is what the limiter needs from the database. *store.Tx implements
// it, so counters change in the same transaction as whatever they guard.
type Store interface {
	// IncrementCounter adds one to key and returns the counter after the
	// change. When the stored window started before windowStart, the count
	// restarts at 1 with FirstAt = now. The row expires at expiresAt.
	IncrementCounter(ctx context.Context, key string, now, windowStart, expiresAt time.Time, ip string) (Counter, error)
	// GetCounter returns the counter, or a zero Counter when there is none
	// or it expired.
	GetCounter(ctx context.Context, key string, now time.Time) (Counter, error)
	// DeleteCounter removes key (no error when absent).
	DeleteCounter(ctx context.Context, key string) error
}

// Config holds the limits.
type Config struct {
	FreeFailures   int           // consecutive failures without delay (default 3)
	BaseDelay      time.Duration // first delay (default 1 s)
	MaxDelay       time.Duration // cap of the delay (default 15 min)
	LockFailures   int           // consecutive failures before the unlock code is needed (default 100)
	FailureMemory  time.Duration // how long account failures are remembered (default 24 h)
	SourceLimit    int           // failures per source per window before 429 (default 50)
	SourceWindow   time.Duration // the source window (default 10 min)
	NotifyFailures int           // consecutive failures that notify the owner (default 10)
}

// DefaultConfig returns the safe defaults.
func DefaultConfig() Config {
	return Config{FreeFailures: 3, BaseDelay: time.Second, MaxDelay: 15 * time.Minute, LockFailures: 100,
		FailureMemory: 24 * time.Hour, SourceLimit: 50, SourceWindow: 10 * time.Minute, NotifyFailures: 10}
}

// Limiter applies Config to counters in a Store.
type Limiter struct {
	Config Config
}

// AccountState is what the limiter says about an account right now.
type AccountState struct {
	Failures int
	RetryAt  time.Time // zero when an attempt is allowed now
	Locked   bool      // needs an unlock code
}

// Allowed reports whether an attempt may be checked now.
func (s AccountState) Allowed(now time.Time) bool {
	return !s.Locked && (s.RetryAt.IsZero() || !now.Before(s.RetryAt))
}

// Delay returns the wait required after n consecutive failures.
func (l *Limiter) Delay(n int) time.Duration {
	over := n - l.Config.FreeFailures
	if over <= 0 {
		return 0
	}
	d := l.Config.BaseDelay
	for i := 1; i < over && d < l.Config.MaxDelay; i++ {
		d *= 2
	}
	return min(d, l.Config.MaxDelay)
}

func (l *Limiter) stateOf(c Counter) AccountState {
	st := AccountState{Failures: c.Count}
	if c.Count == 0 {
		return st
	}
	if c.Count >= l.Config.LockFailures {
		st.Locked = true
	}
	if d := l.Delay(c.Count); d > 0 {
		st.RetryAt = c.LastAt.Add(d)
	}
	return st
}

// AccountKey is the counter of an account as seen from anywhere but a
// browser that signed in to it before; with a device it is that browser's own
// counter.
func AccountKey(emailNorm, device string) string {
	if device != "" {
		return "acct:" + emailNorm + "|dev:" + device
	}
	return "acct:" + emailNorm
}

// KnownDeviceKey marks a browser that signed in to the account.
func KnownDeviceKey(emailNorm, device string) string {
	return "known:" + emailNorm + "|dev:" + device
}

// Account returns the state of an account's counter.
func (l *Limiter) Account(ctx context.Context, s Store, key string, now time.Time) (AccountState, error) {
	c, err := s.GetCounter(ctx, key, now)
	if err != nil {
		return AccountState{}, err
	}
	return l.stateOf(c), nil
}

// AccountFailure records a failed attempt and returns the new state.
func (l *Limiter) AccountFailure(ctx context.Context, s Store, key, ip string, now time.Time) (AccountState, error) {
	// Consecutive failures: the window never restarts while failures keep
	// coming; the row expires FailureMemory after the last one.
	c, err := s.IncrementCounter(ctx, key, now, time.Time{}, now.Add(l.Config.FailureMemory), ip)
	if err != nil {
		return AccountState{}, err
	}
	return l.stateOf(c), nil
}

// CounterReader reads several counters in one read.
type CounterReader interface {
	// GetCounters returns the live (unexpired) counters among keys, by key.
	GetCounters(ctx context.Context, now time.Time, keys ...string) (map[string]Counter, error)
}

// SignInGate is what a password sign-in knows before it hashes: whether
// its source may try now, whether the browser signed in to the account
// before, which account counter the attempt counts on (the browser's own
// when it did), and that counter's state.
type SignInGate struct {
	SourceRetry time.Time // when the source may try again; zero: now
	Known       bool
	Key         string
	Account     AccountState
}

// Gate reads a sign-in's SignInGate in one read: the source's counter
// (srcKey, SourceKey), the browser's mark (KnownDeviceKey) and both account
// counters the attempt could count on.
func (l *Limiter) Gate(ctx context.Context, s CounterReader, srcKey, emailNorm, device string, now time.Time) (SignInGate, error) {
	anywhere := AccountKey(emailNorm, "")
	keys := []string{srcKey, anywhere}
	var mark, own string // the browser's mark and its own account counter
	if device != "" {
		mark, own = KnownDeviceKey(emailNorm, device), AccountKey(emailNorm, device)
		keys = append(keys, mark, own)
	}
	cs, err := s.GetCounters(ctx, now, keys...)
	if err != nil {
		return SignInGate{}, err
	}
	g := SignInGate{SourceRetry: l.sourceRetry(cs[srcKey], now), Key: anywhere}
	if device != "" && cs[mark].Count > 0 {
		g.Known, g.Key = true, own
	}
	g.Account = l.stateOf(cs[g.Key])
	return g, nil
}

// SuccessStore records a successful sign-in's counters.
type SuccessStore interface {
	// RecordSuccess deletes clear, counts known (unless "") and seen, both
	// expiring at expiresAt, as IncrementCounter counts with no window, and
	// returns seen after the change: one change.
	RecordSuccess(ctx context.Context, clear, known, seen, ip string, now, expiresAt time.Time) (Counter, error)
}

// AccountSuccess clears the counter used for the attempt (usedKey), and
// remembers the browser (device, unless "") for knownFor from now. It also
// counts the caller's seenKey (a mark of the network and browser the
// sign-in came from, kept as long) in the same change and returns it.
// (The known browser's counter counts its sign-ins; only whether it is
// there is read.)
func (l *Limiter) AccountSuccess(ctx context.Context, s SuccessStore, emailNorm, device, usedKey, seenKey, ip string, now time.Time, knownFor time.Duration) (Counter, error) {
	known := ""
	if device != "" {
		known = KnownDeviceKey(emailNorm, device)
	}
	return s.RecordSuccess(ctx, usedKey, known, seenKey, ip, now, now.Add(knownFor))
}

// SourceKey names the counter of a client address: IPv4 as is, IPv6 by its
// /64, so rotating addresses inside one allocation does not help.
func SourceKey(kind, ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "src:" + kind + ":" + ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "src:" + kind + ":" + p.String()
	}
	return "src:" + kind + ":" + a.String()
}

// Source returns when a source may try again (zero when it may now).
func (l *Limiter) Source(ctx context.Context, s Store, key string, now time.Time) (time.Time, error) {
	c, err := s.GetCounter(ctx, key, now)
	if err != nil {
		return time.Time{}, err
	}
	return l.sourceRetry(c, now), nil
}

func (l *Limiter) sourceRetry(c Counter, now time.Time) time.Time {
	end := c.FirstAt.Add(l.Config.SourceWindow)
	if c.Count >= l.Config.SourceLimit && now.Before(end) {
		return end
	}
	return time.Time{}
}

// SourceFailure counts one failure against a source and returns when it may
// try again (zero when it may now).
func (l *Limiter) SourceFailure(ctx context.Context, s Store, key, ip string, now time.Time) (time.Time, error) {
	return l.Hit(ctx, s, key, ip, now, l.Config.SourceLimit, l.Config.SourceWindow)
}

// Hit counts one event against key in a fixed window and returns when
// events are allowed again: zero while this event is within the first limit
// of its window. Callers that must refuse before doing any work check Over
// first, then count with Hit.
func (l *Limiter) Hit(ctx context.Context, s Store, key, ip string, now time.Time, limit int, window time.Duration) (time.Time, error) {
	c, err := s.IncrementCounter(ctx, key, now, now.Add(-window), now.Add(window), ip)
	if err != nil {
		return time.Time{}, err
	}
	if c.Count > limit {
		return c.FirstAt.Add(window), nil
	}
	return time.Time{}, nil
}

// Over reports when key, counted with Hit, allows events again (zero: now).
func (l *Limiter) Over(ctx context.Context, s Store, key string, now time.Time, limit int, window time.Duration) (time.Time, error) {
	c, err := s.GetCounter(ctx, key, now)
	if err != nil {
		return time.Time{}, err
	}
	if end := c.FirstAt.Add(window); c.Count >= limit && now.Before(end) {
		return end, nil
	}
	return time.Time{}, nil
}
