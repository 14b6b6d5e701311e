package limiter_test

import (
	"context"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/limiter"
)

// memStore is an in-memory Store with the same semantics as the SQL one
// (the SQL one is tested against this contract in internal/store).
type memStore map[string]limiter.Counter

func (m memStore) IncrementCounter(_ context.Context, key string, now, windowStart, expiresAt time.Time, ip string) (limiter.Counter, error) {
	c, ok := m[key]
	if !ok || !now.Before(c.ExpiresAt) || c.FirstAt.Before(windowStart) {
		c = limiter.Counter{Key: key, FirstAt: now}
	}
	c.Count++
	c.LastAt, c.LastIP, c.ExpiresAt = now, ip, expiresAt
	m[key] = c
	return c, nil
}

func (m memStore) GetCounter(_ context.Context, key string, now time.Time) (limiter.Counter, error) {
	c, ok := m[key]
	if !ok || !now.Before(c.ExpiresAt) {
		return limiter.Counter{}, nil
	}
	return c, nil
}

func (m memStore) DeleteCounter(_ context.Context, key string) error { delete(m, key); return nil }

func (m memStore) GetCounters(ctx context.Context, now time.Time, keys ...string) (map[string]limiter.Counter, error) {
	out := map[string]limiter.Counter{}
	for _, k := range keys {
		if c, _ := m.GetCounter(ctx, k, now); c.Count > 0 {
			out[k] = c
		}
	}
	return out, nil
}

func (m memStore) RecordSuccess(ctx context.Context, clear, known, seen, ip string, now, expiresAt time.Time) (limiter.Counter, error) {
	delete(m, clear)
	if known != "" {
		_, _ = m.IncrementCounter(ctx, known, now, time.Time{}, expiresAt, "")
	}
	return m.IncrementCounter(ctx, seen, now, time.Time{}, expiresAt, ip)
}

var (
	_ limiter.Store         = memStore{}
	_ limiter.CounterReader = memStore{}
	_ limiter.SuccessStore  = memStore{}
)

func TestDelaysGrowAndCap(t *testing.T) {
	l := limiter.Limiter{Config: limiter.DefaultConfig()}
	want := map[int]time.Duration{0: 0, 3: 0, 4: time.Second, 5: 2 * time.Second, 6: 4 * time.Second, 13: 512 * time.Second, 14: 15 * time.Minute, 99: 15 * time.Minute}
	for n, d := range want {
		if got := l.Delay(n); got != d {
			t.Errorf("Delay(%d) = %v, want %v", n, got, d)
		}
	}
}

func TestAccountFailuresThrottleThenLockAndSuccessClears(t *testing.T) {
	ctx := context.Background()
	l := limiter.Limiter{Config: limiter.DefaultConfig()}
	s := memStore{}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	key := limiter.AccountKey("a@example.com", "")
	var st limiter.AccountState
	for i := 1; i <= 3; i++ {
		st, _ = l.AccountFailure(ctx, s, key, "192.0.2.1", now)
		if !st.Allowed(now) {
			t.Fatalf("failure %d already throttles", i)
		}
	}
	st, _ = l.AccountFailure(ctx, s, key, "192.0.2.1", now)
	if st.Allowed(now) || !st.Allowed(now.Add(time.Second)) {
		t.Fatalf("4th failure: %+v", st)
	}
	for i := 5; i < 100; i++ {
		now = now.Add(l.Delay(i - 1))
		st, _ = l.AccountFailure(ctx, s, key, "192.0.2.1", now)
	}
	if st.Locked {
		t.Fatal("locked before 100 failures")
	}
	st, _ = l.AccountFailure(ctx, s, key, "192.0.2.1", now.Add(15*time.Minute))
	if !st.Locked || st.Allowed(now.Add(24*time.Hour-time.Second)) {
		t.Fatalf("after 100 failures: %+v", st)
	}
	// A browser that never signed in counts on the account's counter.
	src := limiter.SourceKey("signin", "192.0.2.1")
	gate := func(device string, at time.Time) limiter.SignInGate {
		t.Helper()
		g, err := l.Gate(ctx, s, src, "a@example.com", device, at)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	if g := gate("dev1", now); g.Known || g.Key != key || !g.Account.Locked || !g.SourceRetry.IsZero() {
		t.Fatalf("gate of an unknown browser: %+v", g)
	}
	seen, err := l.AccountSuccess(ctx, s, "a@example.com", "dev1", key, "seen:a", "192.0.2.1", now, 90*24*time.Hour)
	if err != nil || seen.Count != 1 || seen.LastIP != "192.0.2.1" {
		t.Fatalf("success: seen %+v, %v", seen, err)
	}
	if st, _ := l.Account(ctx, s, key, now); st.Failures != 0 || !st.Allowed(now) {
		t.Fatalf("after success: %+v", st)
	}
	// The browser is remembered and has its own, clean counter.
	if g := gate("dev1", now); !g.Known || g.Key != limiter.AccountKey("a@example.com", "dev1") || !g.Account.Allowed(now) {
		t.Fatalf("gate of the known browser: %+v", g)
	}
	if g := gate("dev2", now); g.Known || g.Key != key {
		t.Fatalf("an unknown browser is remembered: %+v", g)
	}
	if g := gate("", now); g.Known || g.Key != key {
		t.Fatalf("no browser at all: %+v", g)
	}
	// Each success remembers the browser for the whole period again.
	later := now.Add(30 * 24 * time.Hour)
	if seen, err := l.AccountSuccess(ctx, s, "a@example.com", "dev1", key, "seen:a", "192.0.2.1", later, 90*24*time.Hour); err != nil || seen.Count != 2 {
		t.Fatalf("second success: seen %+v, %v", seen, err)
	}
	if !gate("dev1", now.Add(100*24*time.Hour)).Known {
		t.Fatal("a second sign-in did not renew the browser's memory")
	}
	if gate("dev1", later.Add(90*24*time.Hour)).Known {
		t.Fatal("the browser is remembered past the period")
	}
	// Failures from elsewhere do not reach the known browser's counter.
	for range 5 {
		_, _ = l.AccountFailure(ctx, s, key, "192.0.2.1", later)
	}
	if g := gate("dev1", later); !g.Known || !g.Account.Allowed(later) {
		t.Fatalf("the known browser is throttled by failures from elsewhere: %+v", g)
	}
	if g := gate("dev9", later); g.Account.Allowed(later) {
		t.Fatalf("five failures do not throttle an unknown browser: %+v", g)
	}
	_, _ = l.AccountSuccess(ctx, s, "a@example.com", "dev1", key, "seen:a", "192.0.2.1", later, 90*24*time.Hour)
	// Failures are forgotten after FailureMemory.
	st, _ = l.AccountFailure(ctx, s, key, "192.0.2.1", now)
	if st, _ := l.Account(ctx, s, key, now.Add(25*time.Hour)); st.Failures != 0 {
		t.Fatalf("failures remembered for ever: %+v", st)
	}
}

func TestSourceWindow(t *testing.T) {
	ctx := context.Background()
	l := limiter.Limiter{Config: limiter.DefaultConfig()}
	s := memStore{}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	key := limiter.SourceKey("signin", "198.51.100.7")
	for i := range 50 {
		if r, _ := l.Source(ctx, s, key, now); !r.IsZero() {
			t.Fatalf("refused after %d failures", i)
		}
		if r, _ := l.SourceFailure(ctx, s, key, "198.51.100.7", now); !r.IsZero() {
			t.Fatalf("failure %d is over the limit", i+1)
		}
	}
	if retry, _ := l.Source(ctx, s, key, now); !retry.Equal(now.Add(10 * time.Minute)) {
		t.Fatalf("after 50 failures retry = %v", retry)
	}
	if g, _ := l.Gate(ctx, s, key, "anyone@example.com", "dev1", now); !g.SourceRetry.Equal(now.Add(10 * time.Minute)) {
		t.Fatalf("a sign-in's gate after 50 failures of its source: %+v", g)
	}
	if retry, _ := l.SourceFailure(ctx, s, key, "198.51.100.7", now); !retry.Equal(now.Add(10 * time.Minute)) {
		t.Fatalf("the 51st failure is within the limit: %v", retry)
	}
	if r, _ := l.Source(ctx, s, limiter.SourceKey("signin", "198.51.100.8"), now); !r.IsZero() {
		t.Fatal("another source is limited")
	}
	if r, _ := l.Source(ctx, s, key, now.Add(10*time.Minute)); !r.IsZero() {
		t.Fatal("the window never ends")
	}
	if r, _ := l.SourceFailure(ctx, s, key, "198.51.100.7", now.Add(11*time.Minute)); !r.IsZero() {
		t.Fatal("a new window starts limited")
	}
}

func TestSourceKeyGroupsIPv6By64(t *testing.T) {
	a := limiter.SourceKey("signin", "2001:db8:1:2:aaaa::1")
	b := limiter.SourceKey("signin", "2001:db8:1:2:ffff::9")
	c := limiter.SourceKey("signin", "2001:db8:1:3::1")
	if a != b || a == c {
		t.Fatalf("keys %q %q %q", a, b, c)
	}
	if limiter.SourceKey("signin", "::ffff:192.0.2.1") != limiter.SourceKey("signin", "192.0.2.1") {
		t.Fatal("an IPv4-mapped address is a different source")
	}
}
