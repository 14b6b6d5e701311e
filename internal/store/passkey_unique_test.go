package store_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/testenv"
)

// One passkey, one user: the database refuses a second method with a
// credential id already registered, to anyone.
func TestPasskeyCredentialIDIsUnique(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mustTx(t, db, func(tx *store.Tx) error {
			for _, u := range []store.UserRecord{newUser("usr_a", "a@example.com"), newUser("usr_b", "b@example.com")} {
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
			}
			return tx.CreateMethod(ctx, store.TwoStepMethod{ID: "tsm_a", UserID: "usr_a", Kind: "passkey", Label: "Key", Data: `{"id":"AAEC"}`, Confirmed: true, CreatedAt: t0, CredentialID: "AAEC"})
		})
		for _, user := range []string{"usr_a", "usr_b"} {
			err := db.WithTx(ctx, func(tx *store.Tx) error {
				return tx.CreateMethod(ctx, store.TwoStepMethod{ID: "tsm_" + user + "2", UserID: user, Kind: "passkey", Label: "Copy", Data: `{"id":"AAEC"}`, Confirmed: true, CreatedAt: t0, CredentialID: "AAEC"})
			})
			if !errors.Is(err, store.ErrConflict) {
				t.Errorf("%s registering a taken credential id: %v, want ErrConflict", user, err)
			}
		}
		if taken, err := db.PasskeyCredentialTaken(ctx, "AAEC"); err != nil || !taken {
			t.Errorf("PasskeyCredentialTaken = %v, %v", taken, err)
		}
		// Other kinds of method have no credential id: any number of them.
		mustTx(t, db, func(tx *store.Tx) error {
			for _, id := range []string{"tsm_t1", "tsm_t2"} {
				if err := tx.CreateMethod(ctx, store.TwoStepMethod{ID: id, UserID: "usr_b", Kind: "totp", Label: "App", Confirmed: true, CreatedAt: t0}); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// Migration 0015 on a database that already holds the same credential id
// for two users (and one user twice): the first registration keeps it, the
// later ones are set aside (not lost), and the unique index then holds.
func TestPasskeyMigrationSetsAsideDuplicates(t *testing.T) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			rawURL, driver, dsn := "sqlite://"+t.TempDir()+"/old.db", "sqlite", ""
			dsn = "file:" + strings.TrimPrefix(rawURL, "sqlite://") + "?_pragma=foreign_keys(1)"
			if dialect == store.Postgres {
				rawURL = testenv.PostgresURL(t)
				driver, dsn = "pgx", rawURL
			}
			raw, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = raw.Close() })
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := raw.ExecContext(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			// The schema as it was before 0015.
			migs, err := store.Migrations(dialect)
			if err != nil {
				t.Fatal(err)
			}
			exec(`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`)
			for _, m := range migs {
				if m.Version >= 15 {
					continue
				}
				exec(m.SQL)
				exec(`INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 1)`, m.Version)
			}
			db, err := store.Open(ctx, rawURL)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			// Users as the schema before 0015 has them (raw SQL: today's
			// CreateUser writes columns that later migrations add).
			for _, u := range []string{"usr_a", "usr_b", "usr_c"} {
				exec(`INSERT INTO users (id, email, email_norm, password_hash, password_changed_at, status, created_at) VALUES ($1, $2, $2, '$argon2id$fake', 1, 'active', 1)`,
					u, strings.TrimPrefix(u, "usr_")+"@example.com")
			}
			method := func(id, user, credential string, created int64) {
				exec(`INSERT INTO two_step_methods (id, user_id, kind, label, secret_sealed, data, confirmed, last_step, created_at, last_used_at)
					VALUES ($1, $2, 'passkey', 'Key', '', $3, 1, 0, $4, 0)`, id, user, `{"id":"`+credential+`","publicKey":"pQECAyYgASFYIA=="}`, created)
			}
			method("tsm_first", "usr_a", "c2FtZQ==", 100) // the first registration
			method("tsm_later", "usr_b", "c2FtZQ==", 200) // another user, later
			method("tsm_again", "usr_a", "c2FtZQ==", 300) // a racing second one
			method("tsm_other", "usr_c", "b3RoZXI=", 150) // unrelated
			exec(`INSERT INTO two_step_methods (id, user_id, kind, label, secret_sealed, data, confirmed, last_step, created_at, last_used_at)
				VALUES ('tsm_totp', 'usr_b', 'totp', 'App', 'sealed', '', 1, 0, 120, 0)`)

			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			kept := map[string]string{}
			for _, u := range []string{"usr_a", "usr_b", "usr_c"} {
				ms, err := db.ListMethods(ctx, u)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range ms {
					kept[m.ID] = m.CredentialID
				}
			}
			want := map[string]string{"tsm_first": "c2FtZQ==", "tsm_other": "b3RoZXI=", "tsm_totp": ""}
			if len(kept) != len(want) {
				t.Fatalf("methods after the migration: %v, want %v", kept, want)
			}
			for id, cred := range want {
				if got, ok := kept[id]; !ok || got != cred {
					t.Errorf("method %s: credential %q (kept %v), want %q", id, got, ok, cred)
				}
			}
			var aside []string
			rows, err := raw.QueryContext(ctx, `SELECT id FROM passkeys_set_aside ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				aside = append(aside, id)
			}
			rows.Close()
			if strings.Join(aside, ",") != "tsm_again,tsm_later" {
				t.Errorf("set aside: %v, want tsm_again and tsm_later", aside)
			}
			err = db.WithTx(ctx, func(tx *store.Tx) error {
				return tx.CreateMethod(ctx, store.TwoStepMethod{ID: "tsm_new", UserID: "usr_b", Kind: "passkey", Label: "Copy", Data: "{}", Confirmed: true, CreatedAt: t0, CredentialID: "c2FtZQ=="})
			})
			if !errors.Is(err, store.ErrConflict) {
				t.Errorf("after the migration, a taken credential id: %v, want ErrConflict", err)
			}
		})
	}
}
