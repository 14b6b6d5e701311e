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
// registered path's work time has passed since it started (it rises at
// once with a slower request and decays by an eighth of the gap with each
// faster one), so both paths take about as long as the slower one. The
// zero Pace is ready to use.
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

// Observe records the work time of one request for a registered address.
func (p *Pace) Observe(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d >= p.avg {
		p.avg = d
	} else {
		p.avg -= (p.avg - d) / 8
	}
	p.avg = min(p.avg, maxPace)
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
