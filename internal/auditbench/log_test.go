package auditbench

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/testenv"
)

// smallSize is the baseline log of the O(1) and export comparisons.
var smallSize = benchSize{events: 10_000, businesses: 100}

// appendEvents appends n events in transactions of perTx and returns the
// time per event. kind "business" appends to the busy business's chain (a
// listing change), "signin" to its owner's chain (a sign-in: the one kind
// of event migration 0023's index holds).
func appendEvents(tb testing.TB, db *store.DB, kind string, n, perTx int) time.Duration {
	ctx := context.Background()
	at := seedEnd.Add(time.Hour)
	start := time.Now()
	for done := 0; done < n; done += perTx {
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			for i := range perTx {
				e := audit.Entry{SubjectID: "usr_0_0", ActorID: "usr_0_0", ActorEmail: "usr_0_0@example.com", IP: "192.0.2.9", UserAgent: userAgents[0]}
				switch kind {
				case "business":
					e.BusinessID, e.Action, e.Category, e.TargetType, e.TargetID = busyID, "business.listing_changed", "business", "listing", "lst_0_1"
					e.Before, e.After, e.SessionID = map[string]any{"price": i}, map[string]any{"price": i + 1}, "ses_bench"
				default:
					e.Action, e.Category, e.TargetType, e.TargetID = "session.created", "session", "session", fmt.Sprintf("ses_bench_%d_%d", done, i)
					e.After = map[string]any{"known_browser": true, "level": "full"}
				}
				if err := audit.Append(ctx, tx, at, e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	return time.Since(start) / time.Duration(n)
}

// copyOf makes a throwaway copy of a seeded database (SQLite: the file;
// PostgreSQL: CREATE DATABASE … TEMPLATE) and opens it.
func copyOf(tb testing.TB, s *seeded, dialect string) (*store.DB, string) {
	ctx := context.Background()
	var url string
	if dialect == store.SQLite {
		src := strings.TrimPrefix(s.URL, "sqlite://")
		dst := filepath.Join(tb.TempDir(), "copy.db")
		in, err := os.Open(src)
		if err != nil {
			tb.Fatal(err)
		}
		out, err := os.Create(dst)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			tb.Fatal(err)
		}
		_ = in.Close()
		if err := out.Close(); err != nil {
			tb.Fatal(err)
		}
		url = "sqlite://" + dst
	} else {
		admin := os.Getenv(testenv.PostgresURLEnv)
		srcName := s.URL[strings.LastIndex(s.URL, "/")+1 : strings.Index(s.URL, "?")]
		name := fmt.Sprintf("sgauditbench_copy_%d", time.Now().UnixNano())
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			tb.Fatal(err)
		}
		_ = s.DB.Close() // a template must have no other connection
		if _, err := conn.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE `+pgx.Identifier{srcName}.Sanitize()); err != nil {
			tb.Fatal(err)
		}
		_ = conn.Close(ctx)
		tb.Cleanup(func() {
			c, err := pgx.Connect(context.Background(), admin)
			if err == nil {
				_, _ = c.Exec(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
				_ = c.Close(context.Background())
			}
		})
		url = strings.Replace(s.URL, "/"+srcName+"?", "/"+name+"?", 1)
	}
	db, err := store.Open(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db, url
}

// execRaw runs one statement on the database at url, outside the store.
func execRaw(tb testing.TB, url, q string) {
	driver, dsn := "pgx", url
	if p, ok := strings.CutPrefix(url, "sqlite://"); ok {
		driver, dsn = "sqlite", p
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = raw.Close() }()
	if _, err := raw.Exec(q); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
}

// jsonHash is audit.Hash as it was computed before: json.Marshal of the
// canonical array.
func jsonHash(e store.AuditRecord) string {
	canon := []any{"sellerguard-audit-v1", e.ID, e.Chain, e.Seq, e.BusinessID, e.SubjectID, e.ActorID, e.ActorEmail,
		e.Action, e.Category, e.TargetType, e.TargetID, e.IP, e.UserAgent, e.Before, e.After, e.CreatedAt.UnixMicro(), e.PrevHash}
	if e.SessionID != "" {
		canon[0] = "sellerguard-audit-v2"
		canon = append(canon, e.SessionID)
	}
	j, err := json.Marshal(canon)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(j)
	return hex.EncodeToString(sum[:])
}

// BenchmarkAuditAppend measures audit.Append through db.WithTx, in the same
// run and alternating (five rounds, so a burst of other work on the
// machine lands on both sides):
//
//   - chain/…: the seeded log of the env size against a 10,000-event log
//     (append is O(1): no read of the chain, only its head row);
//   - index/…: a copy of the 10,000-event log with migration 0023's index
//     against one without it (its cost on writes).
//
// Each side appends to the busy business's chain (business) and its
// owner's chain (signin, the only events the index holds), one event per
// transaction (tx1, as a change commits) and 100 per transaction (tx100,
// which leaves out most of the commit and so shows the index work).
func BenchmarkAuditAppend(b *testing.B) {
	size := sizeFromEnv()
	const rounds, perRound = 5, 200
	for _, dialect := range dialects {
		b.Run(dialect, func(b *testing.B) {
			big := openSeeded(b, dialect, size)
			small := openSeeded(b, dialect, smallSize)
			withIdx, _ := copyOf(b, small, dialect)
			small = openSeeded(b, dialect, smallSize) // copyOf closed it (PostgreSQL)
			noIdx, noIdxURL := copyOf(b, small, dialect)
			small = openSeeded(b, dialect, smallSize)
			execRaw(b, noIdxURL, `DROP INDEX audit_session_start`)
			for _, kind := range []string{"business", "signin"} {
				for _, perTx := range []int{1, 100} {
					b.Run(fmt.Sprintf("%s/tx%d", kind, perTx), func(b *testing.B) {
						var tBig, tSmall, tWith, tWithout time.Duration
						for b.Loop() {
							for range rounds {
								tSmall += appendEvents(b, small.DB, kind, perRound, perTx)
								tBig += appendEvents(b, big.DB, kind, perRound, perTx)
								tWith += appendEvents(b, withIdx, kind, perRound, perTx)
								tWithout += appendEvents(b, noIdx, kind, perRound, perTx)
							}
						}
						us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(rounds) / 1000 / float64(b.N) }
						b.ReportMetric(us(tSmall), "us/append-10k")
						b.ReportMetric(us(tBig), "us/append-big")
						b.ReportMetric(float64(tBig)/float64(tSmall), "big/10k")
						b.ReportMetric(us(tWith), "us/append-with0023")
						b.ReportMetric(us(tWithout), "us/append-without0023")
						b.ReportMetric(float64(tWith)/float64(tWithout), "with/without")
						b.ReportMetric(0, "ns/op")
					})
				}
			}
			var headSmall, headBig int64
			if h, err := small.DB.AuditHeadOf(context.Background(), "b:"+busyID); err == nil {
				headSmall = h.Seq
			}
			if h, err := big.DB.AuditHeadOf(context.Background(), "b:"+busyID); err == nil {
				headBig = h.Seq
			}
			b.Logf("%s: busy chain length after the run: %d (10k log) vs %d (%s log)", dialect, headSmall, headBig, size)
		})
	}
}

// BenchmarkAuditVerify times `audit verify` (audit.Verify: every chain;
// audit.VerifyChain: the busy business's chain) on the seeded log and
// reports events/s, beside two baselines of the same run: the bare read of
// the same rows in the same order (the floor: no hashing) and the
// verification as it was before (reading ordered by chain and sequence,
// hashing with json.Marshal and checking, one after the other).
func BenchmarkAuditVerify(b *testing.B) {
	size := sizeFromEnv()
	for _, dialect := range dialects {
		b.Run(dialect, func(b *testing.B) {
			s := openSeeded(b, dialect, size)
			ctx := context.Background()
			for _, scope := range []string{"all", "business"} {
				chain := ""
				if scope == "business" {
					chain = "b:" + busyID
				}
				// read: the rows Verify reads, as it reads them (all: in
				// storage order); ordered: as the verification before
				// read them (by chain and sequence).
				read := func(fn func(store.AuditRecord) error) error {
					if chain == "" {
						return s.DB.EachAuditEventStored(ctx, fn)
					}
					return s.DB.EachAuditEventOfChain(ctx, chain, fn)
				}
				ordered := func(fn func(store.AuditRecord) error) error {
					if chain == "" {
						return s.DB.EachAuditEvent(ctx, fn)
					}
					return s.DB.EachAuditEventOfChain(ctx, chain, fn)
				}
				b.Run(scope, func(b *testing.B) {
					var n int64
					var tVerify, tRead, tOld, cpuVerify time.Duration
					for b.Loop() {
						c0 := cpuTime(b, s)
						t0 := time.Now()
						var rep audit.Report
						var err error
						if chain == "" {
							rep, err = audit.Verify(ctx, s.DB)
						} else {
							rep, err = audit.VerifyChain(ctx, s.DB, chain)
						}
						tVerify += time.Since(t0)
						cpuVerify += cpuTime(b, s) - c0
						if err != nil {
							b.Fatal(err)
						}
						n = rep.Events
						t0 = time.Now()
						var rows int64
						if err := read(func(store.AuditRecord) error { rows++; return nil }); err != nil || rows != n {
							b.Fatalf("read %d of %d: %v", rows, n, err)
						}
						tRead += time.Since(t0)
						if chain != "" || os.Getenv("SELLERGUARD_AUDITBENCH_OLD_ALL") != "" {
							t0 = time.Now()
							if old := verifySequentialJSON(b, ordered); old != n {
								b.Fatalf("old verify: %d of %d", old, n)
							}
							tOld += time.Since(t0)
						}
					}
					rate := func(d time.Duration) float64 { return float64(n) * float64(b.N) / d.Seconds() }
					b.ReportMetric(rate(tVerify), "events/s")
					b.ReportMetric(rate(cpuVerify), "events/cpu-s")
					b.ReportMetric(float64(cpuVerify)/float64(tVerify), "cpus-used")
					b.ReportMetric(rate(tRead), "read-events/s")
					if tOld > 0 {
						b.ReportMetric(rate(tOld), "old-events/s")
					}
					b.ReportMetric(float64(n), "events")
					b.ReportMetric(0, "ns/op")
				})
			}
		})
	}
}

// cpuTime is the CPU time used so far by this process and, on PostgreSQL,
// by the server processes serving the benchmark's database (read from
// /proc: the server runs on this machine). On a shared machine it says how
// much of the machine a measurement had: events per CPU-second does not
// depend on what else runs.
func cpuTime(tb testing.TB, s *seeded) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	total := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if !strings.HasPrefix(s.URL, "postgres") {
		return total
	}
	raw, err := sql.Open("pgx", s.URL)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = raw.Close() }()
	rows, err := raw.Query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			tb.Fatal(err)
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // ended meanwhile
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		var ut, st int64
		_, _ = fmt.Sscan(f[11], &ut)                          // utime, clock ticks (field 14)
		_, _ = fmt.Sscan(f[12], &st)                          // stime (field 15)
		total += time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ = 100 on Linux
	}
	return total
}

// verifySequentialJSON is the verification before this benchmark's work:
// each event read, hashed (json.Marshal of the canonical array) and its
// links checked, one after the other. It returns the events verified.
func verifySequentialJSON(tb testing.TB, each func(fn func(store.AuditRecord) error) error) int64 {
	var n, seq int64
	var cur, prev string
	err := each(func(e store.AuditRecord) error {
		if e.Chain != cur {
			cur, seq, prev = e.Chain, 0, ""
		}
		if e.Seq != seq+1 || e.PrevHash != prev || jsonHash(e) != e.Hash {
			return fmt.Errorf("event %s does not verify", e.ID)
		}
		seq, prev = e.Seq, e.Hash
		n++
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// BenchmarkAuditExportCSV runs `sellerguard audit export` (built from this
// tree) as its own process on the 10,000-event log and on the seeded log
// of the env size, and reports each one's peak RSS (peakRSS), rows/s and
// the RSS ratio: streaming means the ratio stays near 1 whatever the size.
func BenchmarkAuditExportCSV(b *testing.B) {
	size := sizeFromEnv()
	bin := filepath.Join(b.TempDir(), "sellerguard")
	build := exec.Command("go", "build", "-o", bin, "github.com/sellerguard/sellerguard/cmd/sellerguard")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	for _, dialect := range dialects {
		b.Run(dialect, func(b *testing.B) {
			small := openSeeded(b, dialect, smallSize)
			big := openSeeded(b, dialect, size)
			run := func(url string) (rssKB int64, rows int64, d time.Duration) {
				b.Helper()
				cmd := exec.Command(bin, "audit", "export")
				cmd.Env = append(os.Environ(), "SELLERGUARD_DATABASE_URL="+url, "SELLERGUARD_DATA_DIR="+b.TempDir())
				var stderr strings.Builder
				cmd.Stderr = &stderr
				out, err := cmd.StdoutPipe()
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				stop := make(chan struct{})
				peak := make(chan int64)
				go func() { peak <- peakRSS(cmd.Process.Pid, stop) }()
				if _, err := countLines(out); err != nil {
					b.Fatal(err)
				}
				close(stop)
				rssKB = <-peak
				if err := cmd.Wait(); err != nil {
					b.Fatalf("export: %v: %s", err, stderr.String())
				}
				if _, err := fmt.Sscanf(stderr.String(), "exported %d events", &rows); err != nil {
					b.Fatalf("export said %q", stderr.String())
				}
				if rssKB == 0 {
					b.Fatal("the export's RSS was never read")
				}
				return rssKB, rows, time.Since(t0)
			}
			var rssSmall, rssBig, rowsSmall, rowsBig int64
			var dBig time.Duration
			for b.Loop() {
				rssSmall, rowsSmall, _ = run(small.URL)
				var d time.Duration
				rssBig, rowsBig, d = run(big.URL)
				dBig += d
			}
			b.ReportMetric(float64(rssSmall)/1024, "MB-rss-small")
			b.ReportMetric(float64(rssBig)/1024, "MB-rss-big")
			b.ReportMetric(float64(rssBig)/float64(rssSmall), "rss-big/small")
			b.ReportMetric(float64(rowsBig)*float64(b.N)/dBig.Seconds(), "rows/s-big")
			b.ReportMetric(0, "ns/op")
			b.Logf("%s: exported %d rows (small) and %d rows (big)", dialect, rowsSmall, rowsBig)
		})
	}
}

// peakRSS reads a process's VmHWM (kB: the peak RSS of its memory since
// exec) every 2 ms until stop is closed or the process's memory is gone,
// and returns the last value read. (Not getrusage's ru_maxrss after wait:
// Go starts a child with vfork, so the child's ru_maxrss also counts this
// process's own peak from before the exec — 61 MB here whatever the child
// did.) The export writes its last rows just before it exits, while its
// standard output is still being read, so the last reading is at most one
// interval early.
func peakRSS(pid int, stop <-chan struct{}) int64 {
	var hwm int64
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return hwm
		}
		i := strings.Index(string(b), "VmHWM:")
		if i < 0 { // a zombie: its memory is gone
			return hwm
		}
		var kb int64
		if _, err := fmt.Sscanf(string(b[i+len("VmHWM:"):]), "%d", &kb); err == nil && kb > hwm {
			hwm = kb
		}
		select {
		case <-stop:
			return hwm
		case <-t.C:
		}
	}
}

func countLines(r io.Reader) (int64, error) {
	buf := make([]byte, 256<<10)
	var n int64
	for {
		k, err := r.Read(buf)
		for _, c := range buf[:k] {
			if c == '\n' {
				n++
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
