package session

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sellerguard/sellerguard/internal/store"
)

// RevokeChannel is the PostgreSQL NOTIFY channel that tells every instance a
// user's sessions or memberships changed.
const RevokeChannel = "sellerguard_revoke"

// SessionCache keeps recently checked sessions in memory so that the session
// check does not touch the database in the common case.
//
// Revocation: every change that ends a session or changes what it may do
// calls InvalidateUser after commit on this instance, and NotifyRevoked inside
// the transaction; on PostgreSQL that is a NOTIFY delivered to every instance
// at commit (ListenRevocations), so revocation is immediate everywhere. A
// generation counter stops a load that raced with an invalidation from
// caching stale data. As a safety net, entries are re-read after TTL, and when
// the LISTEN connection is down the cache is bypassed entirely.
type SessionCache struct {
	TTL        time.Duration
	MaxEntries int

	mu      sync.RWMutex
	entries map[string]*cacheEntry // by token hash
	byUser  map[string]map[string]struct{}
	gen     atomic.Uint64
	bypass  atomic.Bool
	dialect string
}

type cacheEntry struct {
	principal *Principal
	loadedAt  time.Time
	seen      atomic.Int64 // unix micro of last use
	dirty     atomic.Bool
}

func (e *cacheEntry) lastSeen() time.Time {
	return time.UnixMicro(e.seen.Load()).UTC()
}

func (e *cacheEntry) touch(now time.Time) {
	v := now.UnixMicro()
	// Only move forward, and only mark dirty when it moved by a second or
	// more, so the flush stays small.
	for {
		old := e.seen.Load()
		if v <= old {
			return
		}
		if e.seen.CompareAndSwap(old, v) {
			if v-old >= int64(time.Second/time.Microsecond) {
				e.dirty.Store(true)
			}
			return
		}
	}
}

// NewSessionCache returns a cache for a database of the given dialect.
func NewSessionCache(dialect string, ttl time.Duration, maxEntries int) *SessionCache {
	c := &SessionCache{TTL: ttl, MaxEntries: maxEntries, entries: map[string]*cacheEntry{}, byUser: map[string]map[string]struct{}{}, dialect: dialect}
	if dialect == store.Postgres {
		c.bypass.Store(true) // until the LISTEN connection is up
	}
	return c
}

func (c *SessionCache) generation() uint64 { return c.gen.Load() }

// get looks a token hash up; hash is a byte slice so that the lookup
// (string(hash) in a map index) allocates nothing.
func (c *SessionCache) get(hash []byte, now time.Time) (*cacheEntry, bool) {
	if c.bypass.Load() {
		return nil, false
	}
	c.mu.RLock()
	e, ok := c.entries[string(hash)]
	c.mu.RUnlock()
	if !ok || now.Sub(e.loadedAt) > c.TTL {
		return nil, false
	}
	return e, true
}

func (c *SessionCache) put(hash string, gen uint64, p *Principal, now time.Time) *cacheEntry {
	e := &cacheEntry{principal: p, loadedAt: now}
	e.seen.Store(p.Session.LastSeenAt.UnixMicro())
	if c.bypass.Load() {
		return e
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return e // an invalidation raced with this load: do not cache
	}
	if old, ok := c.entries[hash]; ok {
		// Keep the newer in-memory last-seen time.
		if o := old.seen.Load(); o > e.seen.Load() {
			e.seen.Store(o)
			e.dirty.Store(old.dirty.Load())
		}
	} else if len(c.entries) >= c.MaxEntries {
		c.evictSomeLocked()
	}
	c.entries[hash] = e
	u := c.byUser[p.User.ID]
	if u == nil {
		u = map[string]struct{}{}
		c.byUser[p.User.ID] = u
	}
	u[hash] = struct{}{}
	return e
}

// evictSomeLocked drops about a tenth of the entries (Go's map order is
// random enough for this); dirty last-seen times are lost, which only makes
// a session look idle a little earlier than it was.
func (c *SessionCache) evictSomeLocked() {
	n := len(c.entries)/10 + 1
	for h, e := range c.entries {
		if n == 0 {
			break
		}
		c.removeLocked(h, e)
		n--
	}
}

func (c *SessionCache) removeLocked(hash string, e *cacheEntry) {
	delete(c.entries, hash)
	if u := c.byUser[e.principal.User.ID]; u != nil {
		delete(u, hash)
		if len(u) == 0 {
			delete(c.byUser, e.principal.User.ID)
		}
	}
}

// InvalidateUser drops every cached session of a user.
func (c *SessionCache) InvalidateUser(userID string) {
	c.gen.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	for h := range c.byUser[userID] {
		if e, ok := c.entries[h]; ok {
			c.removeLocked(h, e)
		}
	}
	delete(c.byUser, userID)
}

// InvalidateAll empties the cache.
func (c *SessionCache) InvalidateAll() {
	c.gen.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = map[string]*cacheEntry{}
	c.byUser = map[string]map[string]struct{}{}
}

// Len returns the number of cached sessions.
func (c *SessionCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// lastSeenOf returns the in-memory last-seen times of a user's cached
// sessions, by session id (only that user's entries are looked at).
func (c *SessionCache) lastSeenOf(userID string) map[string]time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make(map[string]time.Time, len(c.byUser[userID]))
	for h := range c.byUser[userID] {
		if e, ok := c.entries[h]; ok {
			out[e.principal.Session.ID] = e.lastSeen()
		}
	}
	return out
}

func (c *SessionCache) drainSeen() map[string]time.Time {
	out := map[string]time.Time{}
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, e := range c.entries {
		if e.dirty.Swap(false) {
			out[e.principal.Session.ID] = e.lastSeen()
		}
	}
	return out
}

// NotifyRevoked tells every instance, at commit of tx, that userID's cached
// sessions are stale. On SQLite (one process) it does nothing.
func (c *SessionCache) NotifyRevoked(ctx context.Context, tx *store.Tx, userID string) error {
	if tx.Dialect() != store.Postgres {
		return nil
	}
	return tx.Notify(ctx, RevokeChannel, userID)
}

// ListenRevocations keeps a LISTEN connection to PostgreSQL (store.Listen)
// and invalidates users as other instances (and this one) revoke. While the
// connection is down the cache is bypassed. It returns when ctx ends.
func (c *SessionCache) ListenRevocations(ctx context.Context, url string, log *slog.Logger) {
	store.Listen(ctx, url, RevokeChannel, revocations{c}, log.With("listener", "session cache: checking sessions in the database until it is back"))
}

// revocations is the cache as the revocation channel's store.Listener.
type revocations struct{ c *SessionCache }

func (r revocations) Listening() {
	r.c.InvalidateAll()
	r.c.bypass.Store(false)
}

func (r revocations) Lost(error) {
	r.c.bypass.Store(true)
	r.c.InvalidateAll()
}

func (r revocations) Notified(userID string) { r.c.InvalidateUser(userID) }

// Revoke is the one call that revokes a user's cached sessions with a
// change: in the transaction it records the notice every instance hears at
// commit (PostgreSQL NOTIFY), and after the commit (store.Tx.AfterCommit)
// it clears this instance's entries. Nothing is cleared if the change rolls
// back.
func (c *SessionCache) Revoke(ctx context.Context, tx *store.Tx, userID string) error {
	if err := c.NotifyRevoked(ctx, tx, userID); err != nil {
		return err
	}
	tx.AfterCommit(func() { c.InvalidateUser(userID) })
	return nil
}
