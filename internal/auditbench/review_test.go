package auditbench

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/changes"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

var dialects = []string{store.SQLite, store.Postgres}

// percentile returns the q-quantile of sorted durations, in milliseconds.
func percentile(sorted []time.Duration, q float64) float64 {
	return float64(sorted[int(q*float64(len(sorted)-1))].Microseconds()) / 1000
}

// ownerOf is the principal of the busy business's owner.
func ownerOf(s *seeded) *session.Principal {
	return &session.Principal{
		User:    sellerguard.User{ID: s.Members[0], Email: s.Members[0] + "@example.com"},
		Session: sellerguard.Session{UserID: s.Members[0], AuthLevel: sellerguard.AuthFull},
		Memberships: []sellerguard.Membership{{BusinessID: busyID, BusinessName: "Business 0", UserID: s.Members[0],
			Role: sellerguard.RoleOwner, Status: "active"}},
	}
}

// BenchmarkChangeReview30Days times the change review of the busiest
// business over its last 30 days, through changes.Service.List (the path
// of GET /api/v1/businesses/{id}/changes: members, the review's query,
// each change's session start), first page of 50, 200 times per b.N, and
// reports p50, p99 and the maximum (-benchtime 5x: 1,000 samples). Sub-benchmarks: every category, one rare category
// (payment_information) and the second page (cursor).
//
//	SELLERGUARD_AUDITBENCH_EVENTS=10000000 SELLERGUARD_AUDITBENCH_BUSINESSES=10000 \
//	  go test -run '^$' -bench ChangeReview30Days -benchtime 5x -timeout 3h ./internal/auditbench
func BenchmarkChangeReview30Days(b *testing.B) {
	size := sizeFromEnv()
	for _, dialect := range dialects {
		b.Run(dialect, func(b *testing.B) {
			s := openSeeded(b, dialect, size)
			svc := &changes.Service{Store: s.DB, Now: func() time.Time { return seedEnd }}
			p := ownerOf(s)
			ctx := context.Background()
			since := seedEnd.Add(-30 * 24 * time.Hour)
			first, err := svc.List(ctx, p, busyID, changes.Filter{Since: since})
			if err != nil || len(first.Changes) == 0 || first.Next == "" {
				b.Fatalf("review: %d changes, next %q, %v", len(first.Changes), first.Next, err)
			}
			for _, c := range []struct {
				name string
				f    changes.Filter
			}{
				{"all", changes.Filter{Since: since}},
				{"payment_information", changes.Filter{Since: since, Category: changes.PaymentInformation}},
				{"page2", changes.Filter{Since: since, Cursor: first.Next}},
			} {
				b.Run(c.name, func(b *testing.B) {
					var times []time.Duration
					for b.Loop() {
						for range 200 {
							t0 := time.Now()
							pg, err := svc.List(ctx, p, busyID, c.f)
							times = append(times, time.Since(t0))
							if err != nil || len(pg.Changes) == 0 {
								b.Fatalf("review: %d changes, %v", len(pg.Changes), err)
							}
						}
					}
					slices.Sort(times)
					b.ReportMetric(percentile(times, 0.5), "p50-ms")
					b.ReportMetric(percentile(times, 0.99), "p99-ms")
					b.ReportMetric(percentile(times, 1), "max-ms")
					b.ReportMetric(0, "ns/op")
				})
			}
		})
	}
}
