package session

import (
	"sync"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/store"
)

func TestAreaUseRecorderBatchesByMinute(t *testing.T) {
	r := NewAreaUseRecorder()
	t0 := time.Date(2026, 6, 1, 10, 0, 5, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 1000 {
				r.Record("biz", "usr", sellerguard.AreaListings, sellerguard.LevelView, t0.Add(time.Duration(i*j)*time.Millisecond))
			}
		})
	}
	wg.Wait()
	r.Record("biz", "usr", sellerguard.AreaPayments, sellerguard.LevelNone, t0) // none is no use
	got := r.drain()
	k := store.AreaUseKey{BusinessID: "biz", UserID: "usr", Area: sellerguard.AreaListings}
	if len(got) != 1 || !got[k].ViewedAt.Equal(t0.Truncate(time.Minute)) || !got[k].EditedAt.IsZero() {
		t.Fatalf("drained %+v", got)
	}
	// The same minute again writes nothing; an edit, or the next minute, does.
	r.Record("biz", "usr", sellerguard.AreaListings, sellerguard.LevelView, t0.Add(10*time.Second))
	if got := r.drain(); len(got) != 0 {
		t.Fatalf("same minute re-recorded: %+v", got)
	}
	r.Record("biz", "usr", sellerguard.AreaListings, sellerguard.LevelEdit, t0.Add(10*time.Second))
	if got := r.drain(); !got[k].EditedAt.Equal(t0.Truncate(time.Minute)) {
		t.Fatalf("edit not recorded: %+v", got)
	}
	// A failed flush gives uses back, merged with newer ones.
	r.Record("biz", "usr", sellerguard.AreaListings, sellerguard.LevelView, t0.Add(2*time.Minute))
	failed := r.drain()
	r.Record("biz", "usr", sellerguard.AreaListings, sellerguard.LevelView, t0.Add(3*time.Minute))
	r.giveBack(failed)
	if got := r.drain(); !got[k].ViewedAt.Equal(t0.Add(3*time.Minute).Truncate(time.Minute)) || !got[k].EditedAt.Equal(t0.Truncate(time.Minute)) {
		t.Fatalf("after give-back: %+v", got)
	}
}

// BenchmarkRequireArea measures the permission check of every business
// request with and without area-use recording: compare the two in one run.
func BenchmarkRequireArea(b *testing.B) {
	p := &Principal{User: sellerguard.User{ID: "usr_1"}, Session: sellerguard.Session{AuthLevel: sellerguard.AuthFull},
		Memberships: []sellerguard.Membership{{BusinessID: "biz_1", Role: sellerguard.RoleMember, Status: sellerguard.MembershipActive,
			Permissions: sellerguard.Permissions{sellerguard.AreaListings: sellerguard.LevelEdit}}}}
	now := time.Now()
	for _, c := range []struct {
		name string
		uses *AreaUseRecorder
	}{{"bare", nil}, {"recorded", NewAreaUseRecorder()}} {
		b.Run(c.name, func(b *testing.B) {
			q := *p
			q.uses, q.now = c.uses, func() time.Time { return now }
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := q.RequireArea("biz_1", sellerguard.AreaListings, sellerguard.LevelView); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
