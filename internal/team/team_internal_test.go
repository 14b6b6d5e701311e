package team

import (
	"slices"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/store"
)

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
