package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/testenv"
)

// openDB opens and migrates a fresh database of the dialect (eachDB's,
// and benchmarks').
func openDB(tb testing.TB, dialect string) *store.DB {
	tb.Helper()
	url := "sqlite://" + tb.TempDir() + "/test.db"
	if dialect == store.Postgres {
		url = testenv.PostgresURL(tb)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return db
}

// makeSessions creates n sessions of one user, last seen at t0, and
// returns their ids.
func makeSessions(tb testing.TB, db *store.DB, n int) []string {
	tb.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateUser(ctx, newUser("usr_touch", "touch@example.com")); err != nil {
			return err
		}
		for i := range ids {
			ids[i] = fmt.Sprintf("ses_touch_%05d", i)
			s := sellerguard.Session{ID: ids[i], UserID: "usr_touch", CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(24 * time.Hour),
				IP: "127.0.0.1", UserAgent: "ua", AuthLevel: sellerguard.AuthFull, ReauthAt: t0}
			if err := tx.CreateSession(ctx, s, "hash-"+ids[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return ids
}

// A flush of thousands of last-seen times (more than one statement's
// worth) moves every session forward to its own time, never back, and
// ignores sessions that are gone.
func TestTouchSessionsLargeBatch(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ids := makeSessions(t, db, 1234)
		mustTx(t, db, func(tx *store.Tx) error {
			return tx.TouchSessions(ctx, map[string]time.Time{ids[1]: t0.Add(time.Hour)})
		})
		seen := map[string]time.Time{"ses_gone": t0.Add(time.Hour)}
		want := map[string]time.Time{}
		for i, id := range ids {
			seen[id] = t0.Add(time.Duration(i+1) * time.Second)
			want[id] = seen[id]
		}
		seen[ids[1]] = t0.Add(time.Minute) // behind the hour it has: kept
		want[ids[1]] = t0.Add(time.Hour)
		mustTx(t, db, func(tx *store.Tx) error { return tx.TouchSessions(ctx, seen) })
		list, err := db.ListSessions(ctx, "usr_touch")
		if err != nil || len(list) != len(ids) {
			t.Fatalf("ListSessions: %d sessions, %v", len(list), err)
		}
		for _, s := range list {
			if !s.LastSeenAt.Equal(want[s.ID]) {
				t.Fatalf("%s: last seen %v, want %v", s.ID, s.LastSeenAt, want[s.ID])
			}
		}
		if _, err := db.FindSession(ctx, "usr_touch", "ses_gone"); err == nil {
			t.Fatal("touching a session that does not exist created it")
		}
	})
}

// BenchmarkTouchSessions times one flush of 10,000 last-seen times (what
// a busy instance writes every 15 s), on each database:
//
//	go test -run '^$' -bench TouchSessions ./internal/store
func BenchmarkTouchSessions(b *testing.B) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		b.Run(dialect, func(b *testing.B) {
			db := openDB(b, dialect)
			ids := makeSessions(b, db, 10_000)
			ctx := context.Background()
			at := t0
			for b.Loop() {
				at = at.Add(time.Second)
				seen := make(map[string]time.Time, len(ids))
				for _, id := range ids {
					seen[id] = at
				}
				if err := db.WithTx(ctx, func(tx *store.Tx) error { return tx.TouchSessions(ctx, seen) }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
