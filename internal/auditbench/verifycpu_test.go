package auditbench

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/store"
)

// ownCPU is this process's CPU time so far.
func ownCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAuditVerifyCPU splits `audit verify`'s cost on the seeded log
// into this process's CPU (reading through the driver, hashing, checking)
// and, on PostgreSQL, its server's, per event, next to the bare reads it
// is made of: the nineteen columns in storage order (the read the
// verification before issue 19's second pass used) and the packed text
// of each event (what Verify reads now), each on one connection. CPU per
// event is what a loaded machine does not change much; events/s on a
// quiet machine is CPUs used / CPU per event.
func BenchmarkAuditVerifyCPU(b *testing.B) {
	size := sizeFromEnv()
	for _, dialect := range dialects {
		b.Run(dialect, func(b *testing.B) {
			s := openSeeded(b, dialect, size)
			ctx := context.Background()
			for _, c := range []struct {
				name string
				run  func() (int64, error)
			}{
				{"verify", func() (int64, error) { rep, err := audit.Verify(ctx, s.DB); return rep.Events, err }},
				{"read-columns", func() (int64, error) {
					var n int64
					err := s.DB.EachAuditEventStored(ctx, func(store.AuditRecord) error { n++; return nil })
					return n, err
				}},
				{"read-packed", func() (int64, error) {
					var n int64
					err := s.DB.EachAuditEventByChainEnd(ctx, nil, true, func(*store.AuditRecord) error { n++; return nil })
					return n, err
				}},
			} {
				b.Run(c.name, func(b *testing.B) {
					var n int64
					var wall, own, all time.Duration
					for b.Loop() {
						a0, o0, t0 := cpuTime(b, s), ownCPU(b), time.Now()
						k, err := c.run()
						if err != nil {
							b.Fatal(err)
						}
						wall += time.Since(t0)
						own += ownCPU(b) - o0
						all += cpuTime(b, s) - a0
						n += k
					}
					perEvent := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) / float64(n) }
					b.ReportMetric(float64(n)/wall.Seconds(), "events/s")
					b.ReportMetric(float64(n)/all.Seconds(), "events/cpu-s")
					b.ReportMetric(perEvent(own), "client-µs/event")
					b.ReportMetric(perEvent(all-own), "server-µs/event")
					b.ReportMetric(float64(all)/float64(wall), "cpus-used")
					b.ReportMetric(float64(n)/float64(b.N), "events")
					b.ReportMetric(0, "ns/op")
				})
			}
		})
	}
}
