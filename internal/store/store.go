// Package store is SellerGuard's one storage layer, for SQLite (the embedded
// default) and PostgreSQL. Both dialects run the same SQL text: statements use
// $1-style placeholders, which modernc.org/sqlite binds by position too, and
// only the schema files differ (internal/store/migrations/<dialect>).
//
// Every change runs in DB.WithTx: the change, its audit event and its outbox
// messages commit together or not at all. Reads that need no consistency with
// a write run directly on DB. Times are stored as Unix microseconds in UTC.
//
// SQLite caveats: connections set WAL, foreign keys and a busy timeout in the
// DSN, and transactions begin IMMEDIATE, so concurrent writers queue instead
// of failing with "database is locked".
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/sellerguard/sellerguard"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned when a unique constraint refused a row.
var ErrConflict = errors.New("store: conflict")

//go:embed migrations
var migrationFS embed.FS

// Dialect names.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries holds every statement; DB and Tx both embed it, so a read can run
// on either.
type queries struct {
	q       querier
	dialect string // SQLite or Postgres: DB.Dialect, Tx.Dialect
}

// execJoined runs first and then then, both with all of args (each names
// the ones it uses by number), as one change. On PostgreSQL that is one
// statement, first in a WITH clause: one round trip instead of two.
func (s queries) execJoined(ctx context.Context, first, then string, args ...any) error {
	q, err := s.afterFirsts(ctx, []string{first}, then, args)
	if err != nil {
		return err
	}
	_, err = s.q.ExecContext(ctx, q, args...)
	return err
}

// afterFirsts makes then run after the changes firsts, all with args: on
// PostgreSQL it returns one statement, firsts in WITH clauses (they must
// not change a row twice, nor need to see each other's changes); SQLite,
// in process, runs firsts now and gets then back alone.
func (s queries) afterFirsts(ctx context.Context, firsts []string, then string, args []any) (string, error) {
	if s.dialect == Postgres {
		parts := make([]string, len(firsts))
		for i, f := range firsts {
			parts[i] = "first" + strconv.Itoa(i) + " AS (" + f + ")"
		}
		return "WITH " + strings.Join(parts, ", ") + " " + then, nil
	}
	for _, f := range firsts {
		if _, err := s.q.ExecContext(ctx, f, args...); err != nil {
			return "", err
		}
	}
	return then, nil
}

// DB is an open database.
type DB struct {
	queries
	sql *sql.DB
	url string
	// enqueued is called after a commit that enqueued messages (the outbox
	// worker's Wake); see SetEnqueued.
	enqueued atomic.Pointer[func()]
}

// Tx is a transaction handed to WithTx callbacks.
type Tx struct {
	queries
	db    *DB
	after []func() // run in order after a successful commit
	woke  bool     // the outbox wake-up is registered
	held  bool     // the caller wakes the outbox itself (HoldOutboxWake)
}

// AfterCommit registers f to run after the transaction commits (in the
// order registered, on the committing goroutine). Nothing runs when the
// transaction rolls back or WithTx retries it: a retried attempt registers
// its own. This is where a change's side effects outside the database go
// (clearing this instance's session cache, waking the outbox worker), so
// none of them can be forgotten after one of many transactions, and none
// runs for a change that did not happen.
func (tx *Tx) AfterCommit(f func()) { tx.after = append(tx.after, f) }

// SetEnqueued sets what runs after every commit that enqueued a message
// (internal/app: the outbox worker's Wake). nil: nothing.
func (db *DB) SetEnqueued(f func()) {
	if f == nil {
		db.enqueued.Store(nil)
		return
	}
	db.enqueued.Store(&f)
}

// HoldOutboxWake makes the messages this transaction enqueues wait for
// the caller's DB.WakeOutbox (or the worker's next poll) instead of waking
// the outbox worker at commit. For a request whose answer must take as
// long whether or not it sent an email (recovery.Pace): delivered at
// commit, the email would compete for the CPU with the request's own
// answer. Call it before enqueueing.
func (tx *Tx) HoldOutboxWake() { tx.held = true }

// WakeOutbox wakes the outbox worker (what SetEnqueued set), if any.
func (db *DB) WakeOutbox() {
	if f := db.enqueued.Load(); f != nil {
		(*f)()
	}
}

// wakeAfterCommit registers the outbox wake-up once per transaction.
func (tx *Tx) wakeAfterCommit() {
	if tx.woke || tx.held {
		return
	}
	if f := tx.db.enqueued.Load(); f != nil {
		tx.woke = true
		tx.AfterCommit(*f)
	}
}

// EnqueueMessage adds a message to the outbox, due at once, and wakes the
// outbox worker after the commit.
func (tx *Tx) EnqueueMessage(ctx context.Context, m sellerguard.OutboxMessage) error {
	if err := tx.queries.EnqueueMessage(ctx, m); err != nil {
		return err
	}
	tx.wakeAfterCommit()
	return nil
}

// EnqueueMessageOnce is queries.EnqueueMessageOnce that wakes the outbox
// worker after the commit when it added the message.
func (tx *Tx) EnqueueMessageOnce(ctx context.Context, m sellerguard.OutboxMessage) (bool, error) {
	added, err := tx.queries.EnqueueMessageOnce(ctx, m)
	if added {
		tx.wakeAfterCommit()
	}
	return added, err
}

// Open connects to rawURL: sqlite://PATH or postgres://…. It does not migrate.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	var (
		driver, dsn, dialect string
	)
	switch {
	case strings.HasPrefix(rawURL, "sqlite://"):
		path := strings.TrimPrefix(rawURL, "sqlite://")
		if path == "" {
			return nil, errors.New("store: sqlite URL has no path")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("store: create database dir: %w", err)
		}
		driver, dialect = "sqlite", SQLite
		dsn = "file:" + (&url.URL{Path: path}).EscapedPath() +
			"?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		driver, dsn, dialect = "pgx", rawURL, Postgres
	default:
		return nil, errors.New("store: database URL must start with sqlite:// or postgres://")
	}
	sdb, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if dialect == SQLite {
		sdb.SetMaxOpenConns(8)
		sdb.SetMaxIdleConns(8)
	} else {
		sdb.SetMaxOpenConns(32)
		sdb.SetMaxIdleConns(32)
		sdb.SetConnMaxIdleTime(5 * time.Minute)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sdb.PingContext(pctx); err != nil {
		_ = sdb.Close()
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	return &DB{queries: queries{q: sdb, dialect: dialect}, sql: sdb, url: rawURL}, nil
}

// Close closes the connection pool.
func (db *DB) Close() error { return db.sql.Close() }

// Dialect returns SQLite or Postgres.
func (db *DB) Dialect() string { return db.dialect }

// URL returns the URL the database was opened with.
func (db *DB) URL() string { return db.url }

// Ping checks the database answers (for /readyz).
func (db *DB) Ping(ctx context.Context) error { return db.sql.PingContext(ctx) }

// WithTx runs fn in a transaction and commits when fn returns nil. A
// serialization failure or deadlock (PostgreSQL) or a busy database (SQLite)
// is retried a few times with a fresh transaction.
func (db *DB) WithTx(ctx context.Context, fn func(tx *Tx) error) error {
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		err = db.tryTx(ctx, fn)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	return err
}

func (db *DB) tryTx(ctx context.Context, fn func(tx *Tx) error) error {
	stx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer func() { _ = stx.Rollback() }() // a no-op after Commit
	tx := &Tx{queries: queries{q: stx, dialect: db.dialect}, db: db}
	if err := fn(tx); err != nil {
		return err
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	for _, f := range tx.after {
		f()
	}
	return nil
}

// Dialect returns the dialect of the transaction's database.
func (tx *Tx) Dialect() string { return tx.db.dialect }

func retryable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40001" || pg.Code == "40P01"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// execUnique runs one statement that may break a unique constraint, for
// the methods whose callers go on in the same transaction after their
// ErrConflict (CreateUser, ChangeUserEmail, CreateSupportCase). On
// PostgreSQL a failed statement aborts its transaction: every statement
// after it fails and the COMMIT becomes a ROLLBACK ("commit unexpectedly
// resulted in rollback", answered 500), where SQLite goes on. So inside a
// PostgreSQL transaction the statement runs under a savepoint, and a
// unique violation rolls back to it, leaving the transaction usable. The
// error is returned as the driver gave it. Methods whose callers end the
// transaction on ErrConflict keep a plain statement (a savepoint costs two
// round trips, and a bulk of them PostgreSQL's subtransaction cache).
func (s queries) execUnique(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if _, inTx := s.q.(*sql.Tx); s.dialect != Postgres || !inTx {
		return s.q.ExecContext(ctx, query, args...)
	}
	if _, err := s.q.ExecContext(ctx, "SAVEPOINT unique_check"); err != nil {
		return nil, fmt.Errorf("store: savepoint: %w", err)
	}
	res, err := s.q.ExecContext(ctx, query, args...)
	if err != nil {
		if isUniqueViolation(err) {
			if _, rerr := s.q.ExecContext(ctx, "ROLLBACK TO SAVEPOINT unique_check"); rerr != nil {
				return nil, fmt.Errorf("store: rollback to savepoint: %w", rerr)
			}
		}
		return nil, err
	}
	if _, err := s.q.ExecContext(ctx, "RELEASE SAVEPOINT unique_check"); err != nil {
		return nil, fmt.Errorf("store: release savepoint: %w", err)
	}
	return res, nil
}

// IsBadText reports whether the database refused a text argument it cannot
// hold: PostgreSQL keeps no NUL character and no bytes that are not UTF-8
// (SQLSTATE 22021, and 22P05 for a character the server's encoding lacks).
// The web layer refuses such input before it gets here; this is the
// answer, invalid input, for any that gets through.
func IsBadText(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "22021" || pg.Code == "22P05")
}

// isUniqueViolation reports a unique or primary-key constraint failure, by
// driver error code (never by message text).
func isUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// SchemaTooNewError means the database was migrated by a newer release than
// this binary: its schema has changes this binary does not know, so it must
// not read or write it.
type SchemaTooNewError struct {
	Database int // the schema version of the database
	Binary   int // the newest schema version this binary knows
}

func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("the database schema is at version %d, newer than this sellerguard knows (schema version %d): a newer release upgraded it; run that release or a newer one (migrations only go forward)", e.Database, e.Binary)
}

// Migrate applies every embedded migration of the dialect not yet applied and
// returns the schema version reached. A database at a version newer than the
// binary knows is refused with a *SchemaTooNewError and left untouched.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	migs, err := Migrations(db.dialect)
	if err != nil {
		return 0, err
	}
	return db.migrate(ctx, migs, migs[len(migs)-1].Version)
}

// MigrateTo applies the embedded migrations up to and including version
// target, no further (upgrade tests build databases at older levels with it).
func (db *DB) MigrateTo(ctx context.Context, target int) (int, error) {
	migs, err := Migrations(db.dialect)
	if err != nil {
		return 0, err
	}
	return db.migrate(ctx, migs, target)
}

// migrate applies migs up to target. Migrations only go forward: each runs
// in its own transaction together with its schema_migrations row, so a
// failing one leaves the database at the version before it.
func (db *DB) migrate(ctx context.Context, migs []Migration, target int) (int, error) {
	if _, err := db.sql.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("store: migrations table: %w", err)
	}
	if err := db.checkVersion(ctx, migs); err != nil {
		return 0, err
	}
	version := 0
	for _, m := range migs {
		if m.Version > target {
			break
		}
		err := db.WithTx(ctx, func(tx *Tx) error {
			if db.dialect == Postgres { // one migrator at a time across instances
				if _, err := tx.q.ExecContext(ctx, `SELECT pg_advisory_xact_lock(727274)`); err != nil {
					return err
				}
			}
			var n int
			if err := tx.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.q.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %d: %w", m.Version, err)
			}
			_, err := tx.q.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, m.Version, ts(time.Now()))
			return err
		})
		if err != nil {
			return version, fmt.Errorf("store: migrate: %w", err)
		}
		version = m.Version
	}
	return version, nil
}

// CheckVersion refuses (with a *SchemaTooNewError) a database migrated by a
// newer release than this binary, for commands that read without migrating.
func (db *DB) CheckVersion(ctx context.Context) error {
	migs, err := Migrations(db.dialect)
	if err != nil {
		return err
	}
	return db.checkVersion(ctx, migs)
}

func (db *DB) checkVersion(ctx context.Context, migs []Migration) error {
	v, err := db.Version(ctx)
	if err != nil {
		return err
	}
	if known := migs[len(migs)-1].Version; v > known {
		return &SchemaTooNewError{Database: v, Binary: known}
	}
	return nil
}

// Version returns the highest applied migration (0 for an empty database).
func (db *DB) Version(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := db.sql.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, nil //nolint:nilerr // no migrations table yet means version 0
	}
	return int(v.Int64), nil
}

// Migration is one numbered schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations lists the embedded migrations of a dialect in order.
func Migrations(dialect string) ([]Migration, error) {
	dir := "migrations/" + dialect
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("store: no migrations for %q", dialect)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("store: migration file %q is not NNNN_name.sql", name)
		}
		b, err := migrationFS.ReadFile(dir + "/" + name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("store: no migrations for %q", dialect)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// ts converts a time to stored Unix microseconds; the zero time stores 0.
func ts(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromTS reverses ts.
func fromTS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// Notify sends a PostgreSQL notification, delivered to listeners when tx
// commits (and never if it rolls back).
func (tx *Tx) Notify(ctx context.Context, channel, payload string) error {
	if tx.db.dialect != Postgres {
		return nil
	}
	if _, err := tx.q.ExecContext(ctx, `SELECT pg_notify($1, $2)`, channel, payload); err != nil {
		return fmt.Errorf("store: notify: %w", err)
	}
	return nil
}
