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
// caching stale data. As a safety net, entries are re-read after TTL (each
// entry after a fixed fraction of TTL between 3/4 and 1, drawn from its token
// hash, so that sessions loaded together are not all re-read together: the
// bound stays TTL), and when the LISTEN connection is down the cache is
// bypassed entirely. Concurrent misses of one token share one load, and the
// user's part of a principal (user, memberships, two-step state, flags,
// failed sign-ins) is kept once per user for all their sessions.
type SessionCache struct {
	TTL        time.Duration
	MaxEntries int

	mu      sync.RWMutex
	entries map[string]*cacheEntry // by token hash
	byUser  map[string]map[string]struct{}
	gen     atomic.Uint64
	bypass  atomic.Bool
	dialect string

	users map[string]*userEntry // by user id: the part of a principal every session of the user shares

	loadMu  sync.Mutex
	loading map[string]*cacheLoad // by token hash: loads in flight
}

// A userEntry is a user's state as the session check needs it, shared by
// the entries of all their sessions: a session re-read after its TTL reads
// its own row only when the user's part is still fresh (one query instead
// of seven). InvalidateUser drops it with the sessions; it goes stale as a
// session entry does, and a session entry never outlives the user part it
// was built from.
type userEntry struct {
	p       Principal // User, Memberships, TwoStep, MustChangePassword, ReenrolTwoStep, Failed
	staleAt int64     // unix nano
}

type cacheEntry struct {
	principal *Principal
	loadedAt  time.Time
	staleAt   int64        // unix nano: re-read from here on (loadedAt + 3/4..1 × TTL)
	seen      atomic.Int64 // unix micro of last use
	stored    atomic.Int64 // unix micro of the last-seen time the database has (or a flush is writing)
	dirty     atomic.Bool
}

// A cacheLoad is one token's load from the database in flight; requests
// that miss the same token meanwhile wait for it instead of loading again.
type cacheLoad struct {
	gen  uint64
	done chan struct{}
	e    *cacheEntry
	err  error
}

// Granularities of the last-seen time: a use moves it only when it moved by
// seenStep or more (so that a hot session is not a write to one cache line
// per request), and it is flushed to the database when the database's copy
// is storeStep or more behind.
const (
	seenStep  = int64(10 * time.Millisecond / time.Microsecond)
	storeStep = int64(time.Second / time.Microsecond)
)

func (e *cacheEntry) lastSeen() time.Time {
	return time.UnixMicro(e.seen.Load()).UTC()
}

func (e *cacheEntry) touch(now time.Time) {
	v := now.UnixMicro()
	// Only move forward, and only by seenStep or more (the idle check
	// then sees a use up to 10 ms older than it was: stricter, never
	// looser); mark dirty when the database's copy is storeStep behind.
	for {
		old := e.seen.Load()
		if v-old < seenStep {
			return
		}
		if e.seen.CompareAndSwap(old, v) {
			if v-e.stored.Load() >= storeStep && !e.dirty.Load() {
				e.dirty.Store(true)
			}
			return
		}
	}
}

// NewSessionCache returns a cache for a database of the given dialect.
func NewSessionCache(dialect string, ttl time.Duration, maxEntries int) *SessionCache {
	c := &SessionCache{TTL: ttl, MaxEntries: maxEntries, entries: map[string]*cacheEntry{}, byUser: map[string]map[string]struct{}{}, dialect: dialect, loading: map[string]*cacheLoad{}, users: map[string]*userEntry{}}
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
	if !ok || now.UnixNano() > e.staleAt {
		return nil, false
	}
	return e, true
}

// staleAfter is how long the entry of a token hash (hex) stays fresh: TTL
// less up to a quarter of it, the same for the same token.
func (c *SessionCache) staleAfter(hash string) time.Duration {
	var h uint64
	for i := 0; i < len(hash) && i < 8; i++ {
		h = h<<8 | uint64(hash[i])
	}
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	q := c.TTL / 4
	if q <= 0 {
		return c.TTL
	}
	return c.TTL - time.Duration(h%uint64(q))
}

// beginLoad registers a load of hash at generation gen, or returns the
// load already in flight for it (at the same generation: one that began
// before an invalidation is not joined).
func (c *SessionCache) beginLoad(hash string, gen uint64) (l *cacheLoad, leader bool) {
	c.loadMu.Lock()
	defer c.loadMu.Unlock()
	if l, ok := c.loading[hash]; ok && l.gen == gen {
		return l, false
	}
	l = &cacheLoad{gen: gen, done: make(chan struct{})}
	c.loading[hash] = l
	return l, true
}

func (c *SessionCache) endLoad(hash string, l *cacheLoad, e *cacheEntry, err error) {
	l.e, l.err = e, err
	c.loadMu.Lock()
	if c.loading[hash] == l {
		delete(c.loading, hash)
	}
	c.loadMu.Unlock()
	close(l.done)
}

// getUser returns the fresh shared state of a user.
func (c *SessionCache) getUser(userID string, now time.Time) (*userEntry, bool) {
	if c.bypass.Load() {
		return nil, false
	}
	c.mu.RLock()
	u, ok := c.users[userID]
	c.mu.RUnlock()
	if !ok || now.UnixNano() > u.staleAt {
		return nil, false
	}
	return u, true
}

// putUser keeps a user's state read at generation gen (unless an
// invalidation came since) and returns it.
func (c *SessionCache) putUser(gen uint64, p Principal, now time.Time) *userEntry {
	u := &userEntry{p: p, staleAt: now.Add(c.staleAfter(p.User.ID)).UnixNano()}
	if c.bypass.Load() {
		return u
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return u
	}
	if _, ok := c.users[p.User.ID]; !ok && len(c.users) >= c.MaxEntries {
		for id := range c.users { // drop about a tenth
			if len(c.users) < c.MaxEntries*9/10 {
				break
			}
			delete(c.users, id)
		}
	}
	c.users[p.User.ID] = u
	return u
}

func (c *SessionCache) put(hash string, gen uint64, p *Principal, now time.Time, userStaleAt int64) *cacheEntry {
	e := &cacheEntry{principal: p, loadedAt: now, staleAt: min(now.Add(c.staleAfter(hash)).UnixNano(), userStaleAt)}
	e.seen.Store(p.Session.LastSeenAt.UnixMicro())
	e.stored.Store(p.Session.LastSeenAt.UnixMicro())
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
		if o := old.stored.Load(); o > e.stored.Load() {
			e.stored.Store(o)
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
	delete(c.users, userID)
}

// InvalidateAll empties the cache.
func (c *SessionCache) InvalidateAll() {
	c.gen.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = map[string]*cacheEntry{}
	c.byUser = map[string]map[string]struct{}{}
	c.users = map[string]*userEntry{}
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
			v := e.seen.Load()
			e.stored.Store(v)
			out[e.principal.Session.ID] = time.UnixMicro(v).UTC()
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
