package changes

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/testenv"
)

// BenchmarkChangeReview30Days fills the audit log with N events across M
// businesses over 90 days (one busy business gets a tenth of them; half of
// all events are in user chains, as sign-ins are), then times the change
// review's query for the busy business over the last 30 days (first page
// of 50, with its 5 members' own chains), on SQLite and PostgreSQL, and
// reports p50 and p99. Defaults are small for CI; the size:
//
//	SELLERGUARD_BENCH_EVENTS=10000000 SELLERGUARD_BENCH_BUSINESSES=10000 \
//	  go test -run '^$' -bench ChangeReview30Days -benchtime 1x -timeout 3h ./internal/changes
//
// Rows are inserted directly (the hashes are not what is measured).
func BenchmarkChangeReview30Days(b *testing.B) {
	n := envInt("SELLERGUARD_BENCH_EVENTS", 20000)
	m := envInt("SELLERGUARD_BENCH_BUSINESSES", 200)
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		b.Run(dialect, func(b *testing.B) {
			ctx := context.Background()
			var url, driver, dsn string
			if dialect == store.Postgres {
				url = testenv.PostgresURL(b)
				driver, dsn = "pgx", url
			} else {
				path := b.TempDir() + "/bench.db"
				url, driver, dsn = "sqlite://"+path, "sqlite", path
			}
			db, err := store.Open(ctx, url)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = db.Close() }()
			if _, err := db.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			raw, err := sql.Open(driver, dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = raw.Close() }()
			now := time.Now().UTC()
			start := time.Now()
			members := fillAudit(b, raw, n, m, now)
			b.Logf("%s: %d events over %d businesses in %s", dialect, n, m, time.Since(start).Round(time.Second))
			acts, users := actionsOf()
			f := store.ChangeFilter{BusinessID: "biz_0", Actions: acts, MemberIDs: members, UserActions: users, Since: now.Add(-30 * 24 * time.Hour), Limit: 51}
			var times []time.Duration
			b.ResetTimer()
			for range b.N {
				for range 200 {
					t0 := time.Now()
					evs, err := db.ListChangeEvents(ctx, f)
					times = append(times, time.Since(t0))
					if err != nil || len(evs) == 0 {
						b.Fatalf("review: %d events, %v", len(evs), err)
					}
				}
			}
			b.StopTimer()
			slices.Sort(times)
			p := func(q float64) float64 { return float64(times[int(q*float64(len(times)-1))].Microseconds()) / 1000 }
			b.ReportMetric(p(0.5), "p50-ms")
			b.ReportMetric(p(0.99), "p99-ms")
		})
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// fillAudit inserts n events for m businesses (5 members each) and returns
// the busy business's members.
func fillAudit(b *testing.B, raw *sql.DB, n, m int, now time.Time) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	acts, users := actionsOf()
	bizActs := append(slices.Clone(acts), "business.access_review_started", "business.created")
	userActs := append(slices.Clone(users), "session.created", "session.ended", "session.reauthenticated", "session.created")
	seq := map[string]int64{}
	const batch = 500
	cols := 19
	var args []any
	var rows []string
	tx, err := raw.Begin()
	if err != nil {
		b.Fatal(err)
	}
	batches := 0
	flush := func() {
		if len(rows) == 0 {
			return
		}
		q := `INSERT INTO audit_events (id, chain, seq, business_id, subject_id, actor_id, actor_email, action, category, target_type, target_id, ip, user_agent, before_json, after_json, created_at, prev_hash, hash, session_id) VALUES ` + strings.Join(rows, ",")
		if _, err := tx.Exec(q, args...); err != nil {
			b.Fatal(err)
		}
		args, rows = args[:0], rows[:0]
		if batches++; batches%100 == 0 { // commit every 50,000 rows
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			if tx, err = raw.Begin(); err != nil {
				b.Fatal(err)
			}
		}
	}
	for i := range n {
		biz := rng.IntN(m)
		if rng.IntN(10) == 0 {
			biz = 0 // the busy business
		}
		user := fmt.Sprintf("usr_%d_%d", biz, rng.IntN(5))
		at := now.Add(-time.Duration(rng.Int64N(int64(90 * 24 * time.Hour))))
		var chain, bizID, action string
		if rng.IntN(2) == 0 {
			chain, bizID, action = "b:biz_"+strconv.Itoa(biz), "biz_"+strconv.Itoa(biz), bizActs[rng.IntN(len(bizActs))]
		} else {
			chain, action = "u:"+user, userActs[rng.IntN(len(userActs))]
		}
		seq[chain]++
		ph := make([]string, cols)
		for j := range ph {
			ph[j] = fmt.Sprintf("$%d", len(args)+j+1)
		}
		rows = append(rows, "("+strings.Join(ph, ",")+")")
		args = append(args, fmt.Sprintf("evt_%012d", i), chain, seq[chain], bizID, user, user, user+"@example.com", action, "business",
			"storefront", bizID, "192.0.2.1", "bench", `{"a":1}`, `{"a":2}`, at.UnixMicro(), "", "", "ses_"+user)
		if len(rows) == batch {
			flush()
		}
	}
	flush()
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if _, err := raw.Exec(`ANALYZE`); err != nil {
		b.Fatal(err)
	}
	var out []string
	for u := range 5 {
		out = append(out, fmt.Sprintf("usr_0_%d", u))
	}
	return out
}
