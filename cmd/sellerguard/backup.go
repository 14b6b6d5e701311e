package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/config"
	"github.com/sellerguard/sellerguard/internal/keys"
	"github.com/sellerguard/sellerguard/internal/store"
)

// pgBackupHelp is what backup and restore say on PostgreSQL.
const pgBackupHelp = `the database is PostgreSQL: SellerGuard does not copy it itself. Use PostgreSQL's own tools
(see README, "Run in production"):
  back up:  pg_dump --format=custom --file=sellerguard.dump "$SELLERGUARD_DATABASE_URL"
  restore:  createdb NEWDB && pg_restore --no-owner --dbname=NEWDB sellerguard.dump
and keep a copy of DATA_DIR/secret.key (mode 0600) apart from the dump: without it sealed
data (phone numbers, authenticator secrets, payment details) cannot be opened`

// keyWarning is printed whenever a copy of the instance secret is written.
const keyWarning = `WARNING: %s is a copy of the instance secret (secret.key). With it, the backup's sealed data
(phone numbers, authenticator secrets, payment details) can be opened. Keep it apart from the
backup file (another place, other people), never in the same archive, and mode 0600.
`

// backupFlags parses the shared settings plus the command's own flags and
// its one FILE argument.
func backupFlags(name string, args []string, getenv func(string) string, stderr io.Writer, own func(fs *flag.FlagSet)) (*config.Config, string, error) {
	fs := flag.NewFlagSet("sellerguard "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: sellerguard %s [flags] FILE\n", name)
		fs.PrintDefaults()
	}
	cfg, _, envErr := config.Register(fs, getenv)
	own(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, "", err
		}
		return nil, "", errUsage
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return nil, "", errUsage
	}
	if err := finishConfig(cfg, envErr); err != nil {
		return nil, "", err
	}
	return cfg, fs.Arg(0), nil
}

// cmdBackup writes a consistent snapshot of the SQLite database to FILE
// while serve keeps running, a copy of the key file to FILE.key (0600), and
// then checks the snapshot: it opens, passes integrity_check, and its audit
// chains verify.
func cmdBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var keyOut string
	cfg, file, err := backupFlags("backup", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&keyOut, "key-out", "", "where to write the copy of the key file (default FILE.key)")
	})
	if err != nil {
		return err
	}
	if store.SQLitePath(cfg.DatabaseURL) == "" {
		return errors.New(pgBackupHelp)
	}
	if keyOut == "" {
		keyOut = file + ".key"
	}
	for _, p := range []string{file, keyOut} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s already exists; a backup never overwrites a file", p)
		}
	}
	keyPath := filepath.Join(cfg.DataDir, keys.FileName)
	if _, err := os.Stat(keyPath); err != nil {
		return fmt.Errorf("no key file at %s (the data directory of this database?): %w", keyPath, err)
	}
	if _, err := keys.LoadOrCreate(cfg.DataDir); err != nil { // exists: only checks mode and content
		return err
	}
	db, _, err := openDB(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	if err := db.SnapshotTo(ctx, file); err != nil {
		return err
	}
	if err := os.Chmod(file, 0o600); err != nil {
		return err
	}
	if err := copyKeyFile(keyPath, keyOut); err != nil {
		return err
	}
	fmt.Fprintf(stderr, keyWarning, keyOut)
	rep, err := verifySnapshot(ctx, file)
	if err != nil {
		return fmt.Errorf("the backup %s was written but does not verify: %w", file, err)
	}
	fmt.Fprintf(stdout, "backup written to %s (key file %s) and verified: schema version %d, integrity ok, %d audit events in %d chains verified\n",
		file, keyOut, rep.schema, rep.events, rep.chains)
	return nil
}

type snapshotReport struct {
	schema         int
	events, chains int64
}

// verifySnapshot opens a database file read-only and checks its integrity,
// its schema version and its audit chains.
func verifySnapshot(ctx context.Context, file string) (snapshotReport, error) {
	db, err := store.OpenSnapshot(ctx, file)
	if err != nil {
		return snapshotReport{}, err
	}
	defer func() { _ = db.Close() }()
	return verifyDB(ctx, db)
}

func verifyDB(ctx context.Context, db *store.DB) (snapshotReport, error) {
	if err := db.IntegrityCheck(ctx); err != nil {
		return snapshotReport{}, err
	}
	if err := db.CheckVersion(ctx); err != nil {
		return snapshotReport{}, err
	}
	v, err := db.Version(ctx)
	if err != nil {
		return snapshotReport{}, err
	}
	if v == 0 {
		return snapshotReport{}, errors.New("it holds no SellerGuard schema")
	}
	rep, err := audit.Verify(ctx, db)
	if err != nil {
		return snapshotReport{}, fmt.Errorf("audit verify: %w", err)
	}
	return snapshotReport{schema: v, events: rep.Events, chains: int64(rep.Chains)}, nil
}

// copyKeyFile copies the key file to a new file of mode 0600.
func copyKeyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return writeNewFile(to, b)
}

// writeNewFile creates path (which must not exist) with mode 0600 and
// syncs it to disk.
func writeNewFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return err
	}
	return f.Close()
}

// cmdRestore puts a backup into a new data directory: it refuses any data
// directory that already has a database or a key file (so a live database is
// never overwritten), checks the backup before copying it, and runs the audit
// verification on the restored database.
func cmdRestore(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var keyIn string
	cfg, file, err := backupFlags("restore", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&keyIn, "key", "", "the key file written with the backup (default FILE.key)")
	})
	if err != nil {
		return err
	}
	dbPath := store.SQLitePath(cfg.DatabaseURL)
	if dbPath == "" {
		return errors.New(pgBackupHelp)
	}
	if keyIn == "" {
		keyIn = file + ".key"
	}
	keyPath := filepath.Join(cfg.DataDir, keys.FileName)
	for _, p := range []string{dbPath, dbPath + "-wal", dbPath + "-journal", keyPath} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("refusing to restore over %s: it exists (a restore never overwrites a database or key); restore into a new data directory with --data-dir", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	key, err := os.ReadFile(keyIn)
	if err != nil {
		return fmt.Errorf("the key file of the backup: %w", err)
	}
	if _, err := verifySnapshot(ctx, file); err != nil {
		return fmt.Errorf("the backup %s does not verify, nothing restored: %w", file, err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o700); err != nil {
		return err
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if err := writeNewFile(dbPath, src); err != nil {
		return err
	}
	if err := writeNewFile(keyPath, key); err != nil {
		return err
	}
	if _, err := keys.LoadOrCreate(cfg.DataDir); err != nil {
		return fmt.Errorf("the restored key file: %w", err)
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	rep, err := verifyDB(ctx, db)
	if err != nil {
		return fmt.Errorf("the restored database at %s does not verify: %w", dbPath, err)
	}
	fmt.Fprintf(stdout, "restored %s into %s (key %s); schema version %d; audit verify ok: %d events in %d chains verified\n",
		file, dbPath, keyPath, rep.schema, rep.events, rep.chains)
	fmt.Fprintf(stdout, "start it with: sellerguard serve --data-dir %s\n", cfg.DataDir)
	return nil
}
