package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// ErrNotSQLite is returned by the SQLite-only backup methods on PostgreSQL,
// whose backups are pg_dump's job.
var ErrNotSQLite = errors.New("store: the database is PostgreSQL: back it up with pg_dump and restore it with pg_restore")

// SQLitePath returns the file of a sqlite:// database URL, or "" for any
// other URL.
func SQLitePath(rawURL string) string {
	if p, ok := strings.CutPrefix(rawURL, "sqlite://"); ok {
		return p
	}
	return ""
}

// SnapshotTo writes a consistent copy of the SQLite database to path with
// VACUUM INTO: one read transaction, so the copy is the database as of one
// moment, while other connections (a running server) keep reading and
// writing. path must not exist. The copy is a plain rollback-journal
// database file, compacted.
func (db *DB) SnapshotTo(ctx context.Context, path string) error {
	if db.dialect != SQLite {
		return ErrNotSQLite
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("store: %s already exists; a backup never overwrites a file", path)
	}
	if _, err := db.sql.ExecContext(ctx, `VACUUM INTO $1`, path); err != nil {
		return fmt.Errorf("store: snapshot: %w", err)
	}
	return nil
}

// OpenSnapshot opens a SQLite database file read-only (a backup, before or
// instead of restoring it): nothing is written to it, not even a journal.
func OpenSnapshot(ctx context.Context, path string) (*DB, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("store: %s is not a file", path)
	}
	sdb, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	sdb.SetMaxOpenConns(1)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sdb.PingContext(pctx); err != nil {
		_ = sdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return &DB{queries: queries{q: sdb, dialect: SQLite}, sql: sdb, url: "sqlite://" + path}, nil
}

// IntegrityCheck runs SQLite's PRAGMA integrity_check and foreign_key_check
// and reports any problem they find. On PostgreSQL it only pings.
func (db *DB) IntegrityCheck(ctx context.Context) error {
	if db.dialect != SQLite {
		return db.Ping(ctx)
	}
	rows, err := db.sql.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("store: integrity check: %w", err)
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return fmt.Errorf("store: integrity check: %w", err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: integrity check: %w", err)
	}
	fk, err := db.sql.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return fmt.Errorf("store: foreign key check: %w", err)
	}
	for fk.Next() {
		var table string
		var rowid sql.NullInt64
		var parent string
		var idx int
		if err := fk.Scan(&table, &rowid, &parent, &idx); err != nil {
			fk.Close()
			return fmt.Errorf("store: foreign key check: %w", err)
		}
		problems = append(problems, fmt.Sprintf("row %d of %s refers to a missing row of %s", rowid.Int64, table, parent))
	}
	fk.Close()
	if err := fk.Err(); err != nil {
		return fmt.Errorf("store: foreign key check: %w", err)
	}
	if len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], "…")
		}
		return fmt.Errorf("store: the database is damaged: %s", strings.Join(problems, "; "))
	}
	return nil
}
