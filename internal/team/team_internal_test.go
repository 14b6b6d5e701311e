package auth

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/store"
)

func TestCardChecks(t *testing.T) {
	for _, c := range []struct {
		number, brand string
		valid         bool
	}{
		{"4242424242424242", "Visa", true},
		{"4242424242424241", "Visa", false},
		{"5555555555554444", "Mastercard", true},
		{"2223003122003222", "Mastercard", true},
		{"378282246310005", "American Express", true},
		{"6011111111111117", "Discover", true},
		{"3530111333300000", "Card", true},
		{"0000000000000000", "Card", true}, // passes Luhn; refused by nobody here, as a bank would
	} {
		if got := luhnValid(c.number); got != c.valid {
			t.Errorf("luhn(%s) = %v", c.number, got)
		}
		if got := cardBrand(c.number); got != c.brand {
			t.Errorf("brand(%s) = %s, want %s", c.number, got, c.brand)
		}
	}
}

func TestReviewFlags(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	joined := now.Add(-200 * day)
	perms := sellerguard.Permissions{sellerguard.AreaPayments: sellerguard.LevelEdit, sellerguard.AreaListings: sellerguard.LevelEdit, sellerguard.AreaStorefront: sellerguard.LevelView}
	for _, c := range []struct {
		name       string
		lastSignIn time.Time
		uses       map[string]store.AreaUse
		flags      []string
		unused     []string
	}{
		{"active everywhere", now.Add(-time.Hour), map[string]store.AreaUse{
			sellerguard.AreaPayments: {EditedAt: now.Add(-10 * day)}, sellerguard.AreaListings: {EditedAt: now.Add(-89 * day)}}, nil, nil},
		{"29 days idle", now.Add(-29 * day), map[string]store.AreaUse{
			sellerguard.AreaPayments: {EditedAt: now.Add(-10 * day)}, sellerguard.AreaListings: {EditedAt: now.Add(-10 * day)}}, nil, nil},
		{"30 days idle", now.Add(-30 * day), map[string]store.AreaUse{
			sellerguard.AreaPayments: {EditedAt: now.Add(-31 * day)}, sellerguard.AreaListings: {EditedAt: now.Add(-31 * day)}}, []string{FlagNoSignIn30}, nil},
		{"60 days idle", now.Add(-61 * day), map[string]store.AreaUse{
			sellerguard.AreaPayments: {EditedAt: now.Add(-61 * day)}, sellerguard.AreaListings: {EditedAt: now.Add(-61 * day)}}, []string{FlagNoSignIn60}, nil},
		{"viewed but never edited payments", now.Add(-time.Hour), map[string]store.AreaUse{
			sellerguard.AreaPayments: {ViewedAt: now.Add(-time.Hour)}, sellerguard.AreaListings: {EditedAt: now.Add(-time.Hour)}},
			[]string{FlagEditUnused}, []string{sellerguard.AreaPayments}},
		{"never signed in since joining", time.Time{}, nil, []string{FlagNoSignIn90, FlagEditUnused}, []string{sellerguard.AreaPayments, sellerguard.AreaListings}},
	} {
		flags, unused := reviewFlags(now, joined, c.lastSignIn, perms, nil, c.uses)
		if !slices.Equal(flags, c.flags) || !slices.Equal(unused, c.unused) {
			t.Errorf("%s: flags %v unused %v, want %v %v", c.name, flags, unused, c.flags, c.unused)
		}
	}
	// A member who joined last week is not flagged for edit rights they
	// have had no time to use.
	if flags, _ := reviewFlags(now, now.Add(-7*day), now.Add(-7*day), perms, nil, nil); len(flags) != 0 {
		t.Errorf("new member flagged: %v", flags)
	}
	// An old member given edit in payments last week is not flagged for
	// it; listings, edit since joining 200 days ago, is.
	since := map[string]time.Time{sellerguard.AreaPayments: now.Add(-7 * day), sellerguard.AreaListings: joined}
	if _, unused := reviewFlags(now, joined, now, perms, since, nil); !slices.Equal(unused, []string{sellerguard.AreaListings}) {
		t.Errorf("unused edit areas %v, want listings only", unused)
	}
}

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
