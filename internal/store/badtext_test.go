package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sellerguard/sellerguard/internal/store"
)

// A key with a NUL character or bytes that are not UTF-8 is refused by
// PostgreSQL with an error IsBadText recognises (the web layer answers it
// 400 invalid input, not 500); SQLite compares it and finds nothing.
func TestIsBadText(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		for _, key := range []string{"a\x00b@example.com", "\xff\xfe@example.com", "caf\xc3"} {
			_, err := db.FindUserByEmail(context.Background(), key)
			switch db.Dialect() {
			case store.Postgres:
				if !store.IsBadText(err) {
					t.Errorf("%q: err = %v, want one IsBadText recognises", key, err)
				}
			default:
				if !errors.Is(err, store.ErrNotFound) || store.IsBadText(err) {
					t.Errorf("%q: err = %v, want not found", key, err)
				}
			}
		}
		if _, err := db.FindUserByEmail(context.Background(), "nobody@example.com"); store.IsBadText(err) || !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a clean key: err = %v, want not found", err)
		}
	})
}
