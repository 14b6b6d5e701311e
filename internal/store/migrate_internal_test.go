package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/testenv"
)

// A migration that fails half-way leaves nothing of itself behind: the
// statements before the failing one are rolled back with it, and the
// database stays at the version before it. Migrating again after the fix
// goes on from there.
func TestFailingMigrationRollsBackWhole(t *testing.T) {
	for _, dialect := range []string{SQLite, Postgres} {
		t.Run(dialect, func(t *testing.T) {
			url := "sqlite://" + t.TempDir() + "/m.db"
			if dialect == Postgres {
				url = testenv.PostgresURL(t)
			}
			ctx := context.Background()
			db, err := Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = db.Close() }()
			migs := []Migration{
				{Version: 1, Name: "0001_a.sql", SQL: "CREATE TABLE a (id TEXT PRIMARY KEY);"},
				{Version: 2, Name: "0002_b.sql", SQL: "CREATE TABLE b (id TEXT PRIMARY KEY); INSERT INTO a (id) VALUES ('x'); INSERT INTO no_such_table VALUES (1);"},
			}
			v, err := db.migrate(ctx, migs, 2)
			if err == nil || v != 1 || !strings.Contains(err.Error(), "migration 2") {
				t.Fatalf("migrate = %d, %v; want version 1 and an error naming migration 2", v, err)
			}
			if got, _ := db.Version(ctx); got != 1 {
				t.Fatalf("version after the failure = %d, want 1", got)
			}
			var n int
			if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM a`).Scan(&n); err != nil || n != 0 {
				t.Fatalf("rows of a = %d (%v): the failed migration's insert was kept", n, err)
			}
			if _, err := db.sql.ExecContext(ctx, `SELECT * FROM b`); err == nil {
				t.Fatal("table b exists: the failed migration's CREATE TABLE was kept")
			}
			migs[1].SQL = "CREATE TABLE b (id TEXT PRIMARY KEY);"
			if v, err := db.migrate(ctx, migs, 2); err != nil || v != 2 {
				t.Fatalf("after the fix: %d, %v", v, err)
			}
			// A binary that knows only migration 1 refuses this database,
			// naming both versions, and changes nothing.
			v, err = db.migrate(ctx, migs[:1], 1)
			var tooNew *SchemaTooNewError
			if !errors.As(err, &tooNew) || tooNew.Database != 2 || tooNew.Binary != 1 || v != 0 {
				t.Fatalf("older binary: %d, %v; want SchemaTooNewError{2, 1}", v, err)
			}
			if msg := err.Error(); !strings.Contains(msg, "version 2") || !strings.Contains(msg, "schema version 1") {
				t.Errorf("message does not name both versions: %s", msg)
			}
		})
	}
}
