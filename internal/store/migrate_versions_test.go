package store_test

import (
	"testing"

	"github.com/sellerguard/sellerguard/internal/store"
)

// Every migration has a number of its own: the migrator records versions,
// so a second file with a number already applied would be skipped silently
// (its tables never made).
func TestMigrationNumbersAreUnique(t *testing.T) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		migs, err := store.Migrations(dialect)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]string{}
		for _, m := range migs {
			if prev, dup := seen[m.Version]; dup {
				t.Errorf("%s: %s and %s share migration number %d", dialect, prev, m.Name, m.Version)
			}
			seen[m.Version] = m.Name
		}
	}
}
