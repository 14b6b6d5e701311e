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
// The zero Pace is ready to use.
//
// Caveat: it evens out medians, not every single request; a flood that
// slows the database moves both paths alike.
type Pace struct {
	mu  sync.Mutex
	avg time.Duration
}

// maxPace caps the wait, so a stalled database cannot make every later
// request slow for long.
const maxPace = 2 * time.Second

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
// or not: it waits until the pace as it stood before this request has
// passed since start, then records the request's work time (Observe). Both
// paths thus wait for the same pace. Observing first would let a
// registered request lower the pace for itself alone — by an eighth of the
// gap, which on a busy machine, with the pace lifted by a slow request, is
// a difference a median shows (seen: 9.8 against 12.4 ms).
func (p *Pace) Finish(ctx context.Context, start time.Time, registered bool) {
	work := time.Since(start)
	p.Wait(ctx, start)
	p.Observe(work, registered)
}

// Wait returns once the registered path's time has passed since
// start (at once when it has, or when ctx ends).
func (p *Pace) Wait(ctx context.Context, start time.Time) {
	p.mu.Lock()
	target := start.Add(p.avg)
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
