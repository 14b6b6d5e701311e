package recovery

import (
	"context"
	"sync"
	"time"
)

// Pace evens out how long a recovery request takes, so its timing does not
// tell whether the address has an account: a request for a registered
// address does more work (an audit event, an email with the account's
// anti-phishing phrase and notification settings) than one for an unknown
// address. Every request waits until a slowly decaying maximum of the
// work times has passed since it started (it rises at once with a slower
// request of either path, and decays by an eighth of the gap with each
// faster request for a registered address), so both paths take about as
// long as the slower one. Usually that is the registered path; but when the
// machine is busy (a registered request's email being delivered while the
// next request runs, say) an unknown address's request can be the slower,
// and then it lifts the registered path up to it instead of standing out.
// On top of that, Finish never answers before MinAnswer has passed: far
// above either path's work time, it makes both answers take the same time
// however noisy the machine is, as long as the work fits in it; the
// decaying maximum only matters past it (an overloaded database). The zero
// Pace is ready to use.
//
// Caveat: past MinAnswer it evens out medians, not every single request; a
// flood that slows the database moves both paths alike.
type Pace struct {
	mu  sync.Mutex
	avg time.Duration
}

// maxPace caps the wait, so a stalled database cannot make every later
// request slow for long.
const maxPace = 2 * time.Second

// MinAnswer is the least time Finish takes from a request's start. Both
// paths' work takes 5–15 ms on a quiet machine and medians of 40–65 ms
// were seen with the whole test suite running on two cores, where a
// decaying maximum alone let the medians differ by a quarter (0.76 and
// 1.26). A quarter of a second is not noticed by someone who asked for a
// code by email.
const MinAnswer = 250 * time.Millisecond

// Observe records the work time of one request, for a registered address
// or not. Only a registered address's faster requests bring the pace down:
// an unknown address's requests do less work, and would otherwise pull it
// below the registered path's time.
func (p *Pace) Observe(d time.Duration, registered bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case d >= p.avg:
		p.avg = d
	case registered:
		p.avg -= (p.avg - d) / 8
	}
	p.avg = min(p.avg, maxPace)
}

// Finish ends one request that started at start, for a registered address
// or not: it waits until MinAnswer, or the pace as it stood before this
// request when that is longer, has passed since start, then records the
// request's work time (Observe). Both paths thus wait for the same pace.
// Observing first would let a registered request lower the pace for itself
// alone — by an eighth of the gap, which on a busy machine, with the pace
// lifted by a slow request, is a difference a median shows (seen: 9.8
// against 12.4 ms).
func (p *Pace) Finish(ctx context.Context, start time.Time, registered bool) {
	work := time.Since(start)
	p.wait(ctx, start, MinAnswer)
	p.Observe(work, registered)
}

// Wait returns once the registered path's time has passed since
// start (at once when it has, or when ctx ends).
func (p *Pace) Wait(ctx context.Context, start time.Time) { p.wait(ctx, start, 0) }

// wait is Wait for at least floor.
func (p *Pace) wait(ctx context.Context, start time.Time, floor time.Duration) {
	p.mu.Lock()
	target := start.Add(max(p.avg, floor))
	p.mu.Unlock()
	d := time.Until(target)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
