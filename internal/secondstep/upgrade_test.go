package secondstep_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/keys"
	"github.com/sellerguard/sellerguard/internal/sellerdata"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

// The upgrade test. For every earlier migration level L of each database, a
// database is built at level L (store.MigrateTo) holding the data of a
// working SellerGuard: users with a password only, with an authenticator
// app, with a passkey, a sealed deposit account, sessions, messages and
// audit chains, in every table and column that exists at L. It is taken
// from a live instance of this release, restricted to the schema of L:
// what a database of that release held. Then this release starts on it,
// migrating at start as in production, and every user signs in with every
// method that survives at L, the sealed values open with the instance key,
// no row is lost and the audit chains verify.
//
// The levels come from the embedded migrations, so a new migration is
// covered without touching this test.
func TestUpgradeFromEveryEarlierSchema(t *testing.T) {
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		src := buildUpgradeSource(t, dialect)
		src.tables = asOlderReleasesWroteThem(t, src.tables)
		migs, err := store.Migrations(dialect)
		if err != nil {
			t.Fatal(err)
		}
		if len(migs) < 2 {
			t.Fatalf("only %d migrations: nothing to upgrade from", len(migs))
		}
		for _, m := range migs[:len(migs)-1] {
			t.Run(fmt.Sprintf("from_%04d", m.Version), func(t *testing.T) {
				dbURL := apptest.DatabaseURL(t, dialect)
				db, err := store.Open(ctx, dbURL)
				if err != nil {
					t.Fatal(err)
				}
				if v, err := db.MigrateTo(ctx, m.Version); err != nil || v != m.Version {
					_ = db.Close()
					t.Fatalf("build the level-%d database: %d, %v", m.Version, v, err)
				}
				_ = db.Close()
				copied := copyRows(t, dialect, src.tables, dbURL)

				dataDir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dataDir, keys.FileName), src.key, 0o600); err != nil {
					t.Fatal(err)
				}
				in := apptest.StartEnv(t, map[string]string{
					"SELLERGUARD_ADDR": "127.0.0.1:0", "SELLERGUARD_DATA_DIR": dataDir, "SELLERGUARD_DATABASE_URL": dbURL,
					"SELLERGUARD_BASE_URL": pkBaseURL, "SELLERGUARD_ARGON2_MEMORY": "1024", "SELLERGUARD_ARGON2_TIME": "1",
					"SELLERGUARD_LOG_LEVEL": "warn", "SELLERGUARD_OUTBOX_POLL_INTERVAL": "50ms",
				})
				if in.Schema != migs[len(migs)-1].Version {
					t.Fatalf("started at schema %d, want %d", in.Schema, migs[len(migs)-1].Version)
				}
				raw := openRawDB(t, dialect, dbURL)
				for table, n := range copied {
					var got int
					if err := raw.QueryRow(`SELECT COUNT(*) FROM "` + table + `"`).Scan(&got); err != nil || got < n {
						t.Errorf("table %s: %d rows after the upgrade (%v), %d before", table, got, err, n)
					}
				}
				rep, err := audit.Verify(ctx, in.DB)
				if err != nil || rep.Events < int64(copied["audit_events"]) {
					t.Fatalf("audit verify after the upgrade: %+v %v (%d events copied)", rep, err, copied["audit_events"])
				}

				methods := copied["two_step_methods"] > 0
				// Password only.
				res, err := in.Session.SignIn(ctx, session.SignInInput{Email: src.password, Password: pkPW}, pkMeta)
				if err != nil || res.Session.AuthLevel != sellerguard.AuthFull {
					t.Errorf("%s (password) after the upgrade: %+v %v", src.password, res.Session, err)
				}
				// Authenticator app: its sealed secret opens and the code works.
				res, err = in.Session.SignIn(ctx, session.SignInInput{Email: src.totp, Password: pkPW}, pkMeta)
				if err != nil {
					t.Fatalf("%s after the upgrade: %v", src.totp, err)
				}
				token := res.Token
				if methods {
					if res.Session.AuthLevel != sellerguard.AuthPartial {
						t.Fatalf("%s signed in without the second step: %+v", src.totp, res.Session)
					}
					token = in.SecondStep(t, res.Token, src.totpSecret)
				} else if res.Session.AuthLevel != sellerguard.AuthFull {
					t.Errorf("%s at a level without two-step methods: %+v", src.totp, res.Session)
				}
				// The sealed deposit account opens with the instance key.
				if copied["deposit_accounts"] > 0 {
					p, err := in.Session.Authenticate(ctx, token)
					if err != nil {
						t.Fatal(err)
					}
					info, err := in.SellerData.PaymentInfo(ctx, p, src.totpBusiness)
					acct := info.Pending
					if acct == nil {
						acct = info.Payouts
					}
					if err != nil || acct == nil {
						t.Fatalf("payment info after the upgrade: %+v %v", info, err)
					}
					number, err := in.Session.Keys.Open("deposit-account", acct.NumberSealed, []byte(acct.ID))
					if err != nil || string(number) != src.depositNumber {
						t.Errorf("the sealed deposit account does not open after the upgrade: %q %v", number, err)
					}
				}
				// Passkey.
				e := pkEnv{in: in, email: src.passkey}
				if methods {
					if _, err := e.tryPasskey(t, func(o json.RawMessage) []byte { return src.key2.assert(t, o, assertion{}) }); err != nil {
						t.Errorf("%s (passkey) after the upgrade: %v", src.passkey, err)
					}
				} else if res, err := in.Session.SignIn(ctx, session.SignInInput{Email: src.passkey, Password: pkPW}, pkMeta); err != nil || res.Session.AuthLevel != sellerguard.AuthFull {
					t.Errorf("%s at a level without two-step methods: %+v %v", src.passkey, res.Session, err)
				}
				if _, err := audit.Verify(ctx, in.DB); err != nil {
					t.Errorf("audit verify after the sign-ins: %v", err)
				}
				in.Stop()
			})
		}
	})
}

// upgradeSource is the data every level is built from.
type upgradeSource struct {
	tables                   map[string]tableRows
	key                      []byte
	password, totp, passkey  string
	totpSecret, totpBusiness string
	depositNumber            string
	key2                     *softKey
}

type tableRows struct {
	cols []string
	rows [][]any
}

// buildUpgradeSource runs this release, makes users of every kind and
// sealed data through the services, and reads every row of every table.
func buildUpgradeSource(t *testing.T, dialect string) upgradeSource {
	t.Helper()
	ctx := context.Background()
	e := startPasskeys(t, dialect, "password@example.com")
	in := e.in
	src := upgradeSource{password: e.email, totp: "totp@example.com", passkey: "passkey@example.com", depositNumber: "DE89370400440532013000"}

	_, src.totpBusiness = in.SignUp(t, src.totp, pkPW, "Totp Goods")
	token := in.SignIn(t, src.totp, pkPW)
	src.totpSecret = in.EnrollTOTP(t, token)
	p, err := in.Session.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.SellerData.SetDepositAccount(ctx, p, src.totpBusiness, sellerdata.DepositAccountInput{Holder: "Totp Goods Ltd", Bank: "Test Bank", Number: src.depositNumber}, pkMeta); err != nil {
		t.Fatalf("deposit account: %v", err)
	}

	in.SignUp(t, src.passkey, pkPW, "Passkey Goods")
	pe := pkEnv{in: in, email: src.passkey}
	pp := pe.principal(t, in.SignIn(t, src.passkey, pkPW))
	src.key2 = newSoftKey(t, true)
	pe.enrol(t, pp, src.key2, "Laptop")
	waitForMail(t, in, src.passkey, "A two-step verification method was added")

	key, err := os.ReadFile(filepath.Join(in.Config.DataDir, keys.FileName))
	if err != nil {
		t.Fatal(err)
	}
	src.key = key
	src.tables = readAllRows(t, dialect, in.Config.DatabaseURL)
	if n := len(src.tables["audit_events"].rows); n < 5 {
		t.Fatalf("the source holds only %d audit events", n)
	}
	in.Stop()
	return src
}

func openRawDB(t *testing.T, dialect, dbURL string) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", dbURL
	if dialect == store.SQLite {
		driver, dsn = "sqlite", "file:"+strings.TrimPrefix(dbURL, "sqlite://")+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// tablesAndColumns lists the tables of the current schema and their columns.
func tablesAndColumns(t *testing.T, dialect string, db *sql.DB) map[string][]string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'`
	cq := `SELECT name FROM pragma_table_info($1) ORDER BY cid`
	if dialect == store.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'`
		cq = `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`
	}
	out := map[string][]string{}
	for _, table := range queryStrings(t, db, q) {
		out[table] = queryStrings(t, db, cq, table)
	}
	return out
}

func queryStrings(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func readAllRows(t *testing.T, dialect, dbURL string) map[string]tableRows {
	t.Helper()
	db := openRawDB(t, dialect, dbURL)
	out := map[string]tableRows{}
	for table, cols := range tablesAndColumns(t, dialect, db) {
		rows, err := db.Query(`SELECT ` + quoteAll(cols) + ` FROM "` + table + `"`)
		if err != nil {
			t.Fatal(err)
		}
		tr := tableRows{cols: cols}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			tr.rows = append(tr.rows, vals)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		out[table] = tr
	}
	return out
}

// copyRows inserts the source rows into the database at dbURL: only the
// tables and columns its schema has (columns added later take their
// defaults, as in a real upgrade). It returns the rows copied per table.
// Foreign keys are checked by the upgrade's own migrations and the
// application, not during the copy (whose table order is arbitrary).
func copyRows(t *testing.T, dialect string, src map[string]tableRows, dbURL string) map[string]int {
	t.Helper()
	ctx := context.Background()
	db := openRawDB(t, dialect, dbURL)
	schema := tablesAndColumns(t, dialect, db)
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if dialect == store.Postgres {
		if _, err := conn.ExecContext(ctx, `SET session_replication_role = replica`); err != nil {
			t.Fatal(err)
		}
	} else if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		t.Fatal(err)
	}
	copied := map[string]int{}
	for table, cols := range schema {
		tr, ok := src[table]
		if !ok {
			t.Fatalf("table %s of an older schema is missing from the newest one: the upgrade test needs a fixture for it", table)
		}
		var idx []int
		var names []string
		for _, c := range cols {
			i := indexOf(tr.cols, c)
			if i < 0 {
				t.Fatalf("column %s.%s of an older schema is missing from the newest one: the upgrade test needs a fixture for it", table, c)
			}
			idx, names = append(idx, i), append(names, c)
		}
		ph := make([]string, len(names))
		for i := range ph {
			ph[i] = fmt.Sprintf("$%d", i+1)
		}
		stmt := `INSERT INTO "` + table + `" (` + quoteAll(names) + `) VALUES (` + strings.Join(ph, ", ") + `)`
		for _, row := range tr.rows {
			args := make([]any, len(idx))
			for i, j := range idx {
				args[i] = row[j]
			}
			if _, err := conn.ExecContext(ctx, stmt, args...); err != nil {
				t.Fatalf("copy into %s: %v", table, err)
			}
		}
		copied[table] = len(tr.rows)
	}
	if dialect == store.Postgres {
		if _, err := conn.ExecContext(ctx, `SET session_replication_role = origin`); err != nil {
			t.Fatal(err)
		}
	}
	return copied
}

func quoteAll(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = `"` + c + `"`
	}
	return strings.Join(q, ", ")
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
