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

var _ limiter.Store = memStore{}

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
	// Another browser that signed in before has its own, clean counter.
	if st, _ := l.Account(ctx, s, limiter.AccountKey("a@example.com", "dev1"), now); !st.Allowed(now) {
		t.Fatal("the known browser is throttled by failures from elsewhere")
	}
	if err := l.AccountSuccess(ctx, s, "a@example.com", "dev1", key, now, 90*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if st, _ := l.Account(ctx, s, key, now); st.Failures != 0 || !st.Allowed(now) {
		t.Fatalf("after success: %+v", st)
	}
	if known, _ := l.IsKnownDevice(ctx, s, "a@example.com", "dev1", now); !known {
		t.Fatal("the browser is not remembered")
	}
	if known, _ := l.IsKnownDevice(ctx, s, "a@example.com", "dev2", now); known {
		t.Fatal("an unknown browser is remembered")
	}
	// Each success remembers the browser for the whole period again.
	later := now.Add(30 * 24 * time.Hour)
	if err := l.AccountSuccess(ctx, s, "a@example.com", "dev1", key, later, 90*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if known, _ := l.IsKnownDevice(ctx, s, "a@example.com", "dev1", now.Add(100*24*time.Hour)); !known {
		t.Fatal("a second sign-in did not renew the browser's memory")
	}
	if known, _ := l.IsKnownDevice(ctx, s, "a@example.com", "dev1", later.Add(90*24*time.Hour)); known {
		t.Fatal("the browser is remembered past the period")
	}
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
