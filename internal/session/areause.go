package session

import (
	"context"
	"sync"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/store"
)

// AreaUseRecorder keeps, in memory, when members last used each area of a
// business (viewed with any access, or edited), for access reviews. A use
// costs a map lookup under a read lock on the request path; the database
// sees at most one write per member, area and minute, in batches written by
// FlushLastSeen.
type AreaUseRecorder struct {
	mu      sync.RWMutex
	pending map[store.AreaUseKey]store.AreaUse
	written map[store.AreaUseKey]store.AreaUse // what is (being) written, to the minute
}

// NewAreaUseRecorder returns an empty recorder.
func NewAreaUseRecorder() *AreaUseRecorder {
	return &AreaUseRecorder{pending: map[store.AreaUseKey]store.AreaUse{}, written: map[store.AreaUseKey]store.AreaUse{}}
}

// Record notes a use of an area at a level (view or edit) at now.
func (r *AreaUseRecorder) Record(businessID, userID, area, level string, now time.Time) {
	if r == nil || level == sellerguard.LevelNone || level == "" {
		return
	}
	t := now.UTC().Truncate(time.Minute)
	edit := level == sellerguard.LevelEdit
	k := store.AreaUseKey{BusinessID: businessID, UserID: userID, Area: area}
	r.mu.RLock()
	w := r.written[k]
	r.mu.RUnlock()
	if !w.ViewedAt.Before(t) && (!edit || !w.EditedAt.Before(t)) {
		return // already recorded this minute
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	w = r.written[k]
	if t.After(w.ViewedAt) {
		w.ViewedAt = t
	}
	if edit && t.After(w.EditedAt) {
		w.EditedAt = t
	}
	r.written[k] = w
	r.pending[k] = w
}

// drain returns the uses recorded since the last drain.
func (r *AreaUseRecorder) drain() map[store.AreaUseKey]store.AreaUse {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.pending
	r.pending = map[store.AreaUseKey]store.AreaUse{}
	if len(r.written) > 100_000 { // bound memory; a forgotten entry only costs one more write
		r.written = map[store.AreaUseKey]store.AreaUse{}
	}
	return out
}

// giveBack returns uses a failed flush could not write.
func (r *AreaUseRecorder) giveBack(uses map[store.AreaUseKey]store.AreaUse) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, u := range uses {
		p := r.pending[k]
		if u.ViewedAt.After(p.ViewedAt) {
			p.ViewedAt = u.ViewedAt
		}
		if u.EditedAt.After(p.EditedAt) {
			p.EditedAt = u.EditedAt
		}
		r.pending[k] = p
	}
}

// flushAreaUse writes the batched area uses.
func (s *Service) flushAreaUse(ctx context.Context) error {
	uses := s.AreaUse.drain()
	if len(uses) == 0 {
		return nil
	}
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error { return tx.RecordAreaUse(ctx, uses) })
	if err != nil {
		s.AreaUse.giveBack(uses)
	}
	return err
}
