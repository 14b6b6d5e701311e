package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/store"
)

// A database upgraded by a newer release (here: one more migration than
// this binary knows) is refused by serve, migrate and audit verify with a
// message naming both schema versions, and is left untouched.
func TestOlderBinaryRefusesNewerDatabase(t *testing.T) {
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		dataDir := t.TempDir()
		dbURL := apptest.DatabaseURL(t, dialect)
		env := map[string]string{"SELLERGUARD_DATA_DIR": dataDir, "SELLERGUARD_DATABASE_URL": dbURL, "SELLERGUARD_ADDR": "127.0.0.1:0"}
		if code, out, errOut := runCLI(t, env, "migrate"); code != 0 {
			t.Fatalf("migrate: %d %s %s", code, out, errOut)
		}
		migs, err := store.Migrations(dialect)
		if err != nil {
			t.Fatal(err)
		}
		known := migs[len(migs)-1].Version
		newer := known + 1
		raw := openRaw(t, dbURL)
		if _, err := raw.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)`, newer); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"serve"}, {"migrate"}, {"audit", "verify"}} {
			code, _, errOut := runCLI(t, env, args...)
			if code == 0 {
				t.Errorf("%s on a newer database: exit 0", args)
			}
			want := []string{fmt.Sprintf("version %d", newer), fmt.Sprintf("schema version %d", known), "newer"}
			for _, w := range want {
				if !strings.Contains(errOut, w) {
					t.Errorf("%s: the message does not say %q: %s", args, w, errOut)
				}
			}
		}
		db, err := store.Open(context.Background(), dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = db.Close() }()
		if v, _ := db.Version(context.Background()); v != newer {
			t.Errorf("version after the refusals = %d, want %d untouched", v, newer)
		}
	})
}
