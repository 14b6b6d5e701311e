package audit_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/testenv"
)

func TestRedactHidesSecretsRecursively(t *testing.T) {
	in := map[string]any{
		"email": "a@example.com", "password": "hunter2", "new_password_hash": "$argon2id$...", "totp_secret": "JBSW",
		"code": "123456", "nested": map[string]any{"session_token": "sgs_x", "name": "Shop"},
	}
	out := audit.Redact(in)
	for _, k := range []string{"password", "new_password_hash", "totp_secret", "code"} {
		if out[k] != audit.Redacted {
			t.Errorf("%s = %v, want redacted", k, out[k])
		}
	}
	if out["email"] != "a@example.com" {
		t.Errorf("email was changed: %v", out["email"])
	}
	nested := out["nested"].(map[string]any)
	if nested["session_token"] != audit.Redacted || nested["name"] != "Shop" {
		t.Errorf("nested = %v", nested)
	}
	if in["password"] != "hunter2" {
		t.Error("Redact changed its input")
	}
}

type env struct {
	db  *store.DB
	raw *sql.DB
}

func eachDB(t *testing.T, fn func(t *testing.T, e env)) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			var url, driver, dsn string
			if dialect == store.Postgres {
				url = testenv.PostgresURL(t)
				driver, dsn = "pgx", url
			} else {
				path := t.TempDir() + "/a.db"
				url, driver, dsn = "sqlite://"+path, "sqlite", path
			}
			ctx := context.Background()
			db, err := store.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			raw, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = raw.Close() })
			fn(t, env{db: db, raw: raw})
		})
	}
}

func record(t *testing.T, db *store.DB, n int, business, subject string) {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	for i := range n {
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			return audit.Append(ctx, tx, now.Add(time.Duration(i)*time.Second), audit.Entry{
				BusinessID: business, SubjectID: subject, ActorID: subject, ActorEmail: "owner@example.com",
				Action: "listing.updated", Category: "business", TargetType: "listing", TargetID: "lst_1",
				IP: "192.0.2.1", UserAgent: "test", Before: map[string]any{"price": i}, After: map[string]any{"price": i + 1, "api_key": "secret!"},
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func eventID(t *testing.T, raw *sql.DB, chain string, seq int) string {
	t.Helper()
	var id string
	if err := raw.QueryRow(`SELECT id FROM audit_events WHERE chain = $1 AND seq = $2`, chain, seq).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestVerifyAcceptsAnIntactLog(t *testing.T) {
	eachDB(t, func(t *testing.T, e env) {
		record(t, e.db, 5, "biz_1", "usr_1")
		record(t, e.db, 3, "", "usr_2")
		rep, err := audit.Verify(context.Background(), e.db)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Events != 8 || rep.Chains != 2 {
			t.Fatalf("report = %+v", rep)
		}
		var after string
		if err := e.raw.QueryRow(`SELECT after_json FROM audit_events WHERE seq = 1 AND chain = 'b:biz_1'`).Scan(&after); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(after, "secret!") || !strings.Contains(after, audit.Redacted) {
			t.Fatalf("stored after = %s: the secret was not redacted", after)
		}
	})
}

func TestVerifyDetectsTampering(t *testing.T) {
	cases := []struct {
		name   string
		tamper string
		seq    int // the event that must be named (0: named by chain only)
	}{
		{"altered field", `UPDATE audit_events SET actor_email = 'attacker@example.com' WHERE chain = 'b:biz_1' AND seq = 3`, 3},
		{"altered after", `UPDATE audit_events SET after_json = '{"price":999}' WHERE chain = 'b:biz_1' AND seq = 2`, 2},
		{"removed middle", `DELETE FROM audit_events WHERE chain = 'b:biz_1' AND seq = 3`, 4},
		{"removed newest", `DELETE FROM audit_events WHERE chain = 'b:biz_1' AND seq = 5`, 0},
		{"removed all", `DELETE FROM audit_events WHERE chain = 'b:biz_1'`, 0},
		{"rehashed row", `UPDATE audit_events SET hash = 'ffff' WHERE chain = 'b:biz_1' AND seq = 4`, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachDB(t, func(t *testing.T, e env) {
				record(t, e.db, 5, "biz_1", "usr_1")
				want := ""
				if c.seq > 0 {
					want = eventID(t, e.raw, "b:biz_1", c.seq)
				}
				if _, err := e.raw.Exec(c.tamper); err != nil {
					t.Fatal(err)
				}
				_, err := audit.Verify(context.Background(), e.db)
				_, chainErr := audit.VerifyChain(context.Background(), e.db, "b:biz_1")
				for _, err := range []error{err, chainErr} {
					var p *audit.Problem
					if !errors.As(err, &p) {
						t.Fatalf("Verify = %v, want a Problem", err)
					}
					if p.Chain != "b:biz_1" {
						t.Fatalf("problem names chain %q", p.Chain)
					}
					if want != "" && p.EventID != want {
						t.Fatalf("problem names event %q (seq %d), want %q: %v", p.EventID, p.Seq, want, p)
					}
				}
			})
		})
	}
}

// recordInOneTx appends n events to each of chains' businesses in one
// transaction, interleaved, as a busy instance does.
func recordInOneTx(t *testing.T, db *store.DB, n int, businesses ...string) {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		for i := range n {
			for _, b := range businesses {
				if err := audit.Append(ctx, tx, now.Add(time.Duration(i)*time.Millisecond), audit.Entry{
					BusinessID: b, SubjectID: "usr_1", ActorID: "usr_1", Action: "business.listing_changed", Category: "business",
					TargetType: "listing", TargetID: "lst_1", Before: map[string]any{"price": i}, After: map[string]any{"price": i + 1},
				}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Verify reads, hashes and checks in batches of 512 events: a log of
// several batches verifies, and a tampered event deep in a later batch is
// named, by Verify and by VerifyChain of its chain; VerifyChain of another
// chain does not look at it.
func TestVerifyManyBatchesAndOneChain(t *testing.T) {
	eachDB(t, func(t *testing.T, e env) {
		ctx := context.Background()
		recordInOneTx(t, e.db, 700, "biz_1", "biz_2")
		rep, err := audit.Verify(ctx, e.db)
		if err != nil || rep.Events != 1400 || rep.Chains != 2 {
			t.Fatalf("Verify = %+v, %v", rep, err)
		}
		rep, err = audit.VerifyChain(ctx, e.db, audit.ChainOf("biz_2", ""))
		if err != nil || rep.Events != 700 || rep.Chains != 1 {
			t.Fatalf("VerifyChain = %+v, %v", rep, err)
		}
		if _, err := audit.VerifyChain(ctx, e.db, audit.ChainOf("biz_404", "")); !errors.Is(err, audit.ErrNoChain) {
			t.Fatalf("VerifyChain of no chain = %v, want ErrNoChain", err)
		}
		want := eventID(t, e.raw, "b:biz_2", 650)
		if _, err := e.raw.Exec(`UPDATE audit_events SET target_id = 'lst_2' WHERE id = $1`, want); err != nil {
			t.Fatal(err)
		}
		for name, verify := range map[string]func() (audit.Report, error){
			"Verify":      func() (audit.Report, error) { return audit.Verify(ctx, e.db) },
			"VerifyChain": func() (audit.Report, error) { return audit.VerifyChain(ctx, e.db, "b:biz_2") },
		} {
			var p *audit.Problem
			if _, err := verify(); !errors.As(err, &p) || p.EventID != want {
				t.Fatalf("%s after tampering = %v, want a Problem naming %s", name, err, want)
			}
		}
		if rep, err := audit.VerifyChain(ctx, e.db, "b:biz_1"); err != nil || rep.Events != 700 {
			t.Fatalf("VerifyChain of the untouched chain = %+v, %v", rep, err)
		}
	})
}

// Verify reads events in storage order; a chain whose events are stored
// out of sequence order (here: one event deleted and stored again, so it
// comes last) is verified again on its own and passes, counted once —
// and a real gap in such a chain is still named.
func TestVerifyChainStoredOutOfOrder(t *testing.T) {
	eachDB(t, func(t *testing.T, e env) {
		ctx := context.Background()
		record(t, e.db, 5, "biz_1", "usr_1")
		record(t, e.db, 3, "", "usr_2")
		moveLast := func(where string, args ...any) {
			t.Helper()
			tx, err := e.raw.Begin()
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback() }()
			for _, q := range []string{
				`CREATE TEMPORARY TABLE moved AS SELECT * FROM audit_events WHERE ` + where,
				`DELETE FROM audit_events WHERE ` + where,
				`INSERT INTO audit_events SELECT * FROM moved ORDER BY chain, seq`,
			} {
				a := args
				if !strings.Contains(q, "$1") {
					a = nil
				}
				if _, err := tx.Exec(q, a...); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := tx.Exec(`DROP TABLE moved`); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		moveLast(`id = $1`, eventID(t, e.raw, "b:biz_1", 2))
		rep, err := audit.Verify(ctx, e.db)
		if err != nil || rep.Events != 8 || rep.Chains != 2 {
			t.Fatalf("Verify of a chain stored out of order = %+v, %v", rep, err)
		}
		// A chain in more pieces than Verify follows (every other event
		// stored after the rest: 70 runs) is verified again on its own.
		recordInOneTx(t, e.db, 140, "biz_2")
		moveLast(`chain = 'b:biz_2' AND seq % 2 = 0`)
		rep, err = audit.Verify(ctx, e.db)
		if err != nil || rep.Events != 148 || rep.Chains != 3 {
			t.Fatalf("Verify of a chain stored in 70 pieces = %+v, %v", rep, err)
		}
		altered := eventID(t, e.raw, "b:biz_2", 77)
		if _, err := e.raw.Exec(`UPDATE audit_events SET ip = '203.0.113.9' WHERE id = $1`, altered); err != nil {
			t.Fatal(err)
		}
		var p *audit.Problem
		if _, err := audit.Verify(ctx, e.db); !errors.As(err, &p) || p.EventID != altered {
			t.Fatalf("Verify with an altered event in a chain in pieces = %v, want a Problem naming %s", err, altered)
		}
		if _, err := e.raw.Exec(`UPDATE audit_events SET ip = '' WHERE id = $1`, altered); err != nil {
			t.Fatal(err)
		}
		want := eventID(t, e.raw, "b:biz_1", 4)
		if _, err := e.raw.Exec(`DELETE FROM audit_events WHERE chain = 'b:biz_1' AND seq = 3`); err != nil {
			t.Fatal(err)
		}
		if _, err := audit.Verify(ctx, e.db); !errors.As(err, &p) || p.EventID != want {
			t.Fatalf("Verify with a gap in a chain stored out of order = %v, want a Problem naming %s", err, want)
		}
	})
}
