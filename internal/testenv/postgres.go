package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresURLEnv names the environment variable holding a PostgreSQL
// superuser URL, e.g.
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
// scripts/test.sh starts a throwaway cluster and sets it.
const PostgresURLEnv = "SELLERGUARD_TEST_POSTGRES_URL"

// PostgresURL creates a fresh, uniquely named database for this test on the
// server named by SELLERGUARD_TEST_POSTGRES_URL and returns a URL for it
// (same server, user and options; only the database differs). The database
// is dropped WITH (FORCE) in t.Cleanup, so open connections do not keep it
// alive.
//
// If the variable is unset the test fails (strict) or is skipped. If it is
// set but the server cannot be used, the test fails.
func PostgresURL(t testing.TB) string {
	t.Helper()
	adminURL := os.Getenv(PostgresURLEnv)
	if adminURL == "" {
		Missing(t, "%s is not set; run scripts/test.sh (it starts a throwaway PostgreSQL), "+
			"or install PostgreSQL (apt-get install -y postgresql) and set it to a superuser URL such as "+
			"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", PostgresURLEnv)
		return ""
	}
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("testenv: %s must be a postgres:// URL (got an unparsable or non-postgres value)", PostgresURLEnv)
	}

	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatalf("testenv: crypto/rand: %v", err)
	}
	name := "sgtest_" + hex.EncodeToString(rnd[:])
	ident := pgx.Identifier{name}.Sanitize()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("testenv: connect to %s (%s): %v", PostgresURLEnv, u.Redacted(), err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	// template0 avoids "source database is being accessed by other users"
	// when a test happens to hold a connection to template1.
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		t.Fatalf("testenv: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			t.Errorf("testenv: drop database %s: connect: %v", name, err)
			return
		}
		defer func() { _ = c.Close(context.Background()) }()
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
		}
	})

	db := *u
	db.Path = "/" + name
	db.RawPath = ""
	return db.String()
}
