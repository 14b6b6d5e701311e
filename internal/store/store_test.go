package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/limiter"
	"github.com/sellerguard/sellerguard/internal/store"
)

// The storage contract: every test runs against SQLite and PostgreSQL.
func eachDB(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			db := openDB(t, dialect)
			if db.Dialect() != dialect {
				t.Fatalf("dialect = %s, want %s", db.Dialect(), dialect)
			}
			fn(t, db)
		})
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestMigrationsMatchAcrossDialects(t *testing.T) {
	a, err := store.Migrations(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	b, err := store.Migrations(store.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Version != b[i].Version || a[i].Name != b[i].Name {
			t.Errorf("migration %d: sqlite %s, postgres %s", i, a[i].Name, b[i].Name)
		}
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		want, _ := store.Migrations(db.Dialect())
		v, err := db.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v != want[len(want)-1].Version {
			t.Fatalf("version = %d, want %d", v, want[len(want)-1].Version)
		}
		got, err := db.Version(ctx)
		if err != nil || got != v {
			t.Fatalf("Version = %d, %v", got, err)
		}
	})
}

func newUser(id, email string) store.UserRecord {
	return store.UserRecord{
		User:      sellerguard.User{ID: id, Email: email, Status: sellerguard.UserActive, PasswordChangedAt: t0, CreatedAt: t0},
		EmailNorm: email, PasswordHash: "$argon2id$fake",
	}
}

func mustTx(t *testing.T, db *store.DB, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := db.WithTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func TestUsersAndBusinesses(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mustTx(t, db, func(tx *store.Tx) error {
			if err := tx.CreateUser(ctx, newUser("usr_1", "a@example.com")); err != nil {
				return err
			}
			if err := tx.CreateBusiness(ctx, sellerguard.Business{ID: "biz_1", Name: "Shop One", CreatedAt: t0}); err != nil {
				return err
			}
			return tx.CreateMembership(ctx, sellerguard.Membership{BusinessID: "biz_1", UserID: "usr_1", Role: sellerguard.RoleOwner, Status: sellerguard.MembershipActive, CreatedAt: t0})
		})
		u, err := db.FindUserByEmail(ctx, "a@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if u.ID != "usr_1" || !u.CreatedAt.Equal(t0) || u.PasswordHash != "$argon2id$fake" {
			t.Fatalf("found %+v", u)
		}
		if _, err := db.FindUserByEmail(ctx, "b@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown email: %v", err)
		}
		err = db.WithTx(ctx, func(tx *store.Tx) error { return tx.CreateUser(ctx, newUser("usr_2", "a@example.com")) })
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate email: %v", err)
		}
		ms, err := db.ListMemberships(ctx, "usr_1")
		if err != nil || len(ms) != 1 || ms[0].BusinessName != "Shop One" || ms[0].Role != sellerguard.RoleOwner {
			t.Fatalf("memberships = %+v, %v", ms, err)
		}
		// A business has exactly one owner.
		mustTx(t, db, func(tx *store.Tx) error { return tx.CreateUser(ctx, newUser("usr_2", "b@example.com")) })
		err = db.WithTx(ctx, func(tx *store.Tx) error {
			return tx.CreateMembership(ctx, sellerguard.Membership{BusinessID: "biz_1", UserID: "usr_2", Role: sellerguard.RoleOwner, Status: sellerguard.MembershipActive, CreatedAt: t0})
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second owner: %v", err)
		}
		// Re-hash keeps password_changed_at; a change moves it.
		mustTx(t, db, func(tx *store.Tx) error { return tx.UpdatePasswordHash(ctx, "usr_1", "h2", time.Time{}) })
		u, _ = db.FindUserByID(ctx, "usr_1")
		if u.PasswordHash != "h2" || !u.PasswordChangedAt.Equal(t0) {
			t.Fatalf("after re-hash: %+v", u)
		}
		later := t0.Add(time.Hour)
		mustTx(t, db, func(tx *store.Tx) error { return tx.UpdatePasswordHash(ctx, "usr_1", "h3", later) })
		u, _ = db.FindUserByID(ctx, "usr_1")
		if u.PasswordHash != "h3" || !u.PasswordChangedAt.Equal(later) {
			t.Fatalf("after change: %+v", u)
		}
	})
}

func TestFailedTransactionWritesNothing(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		boom := errors.New("boom")
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.CreateUser(ctx, newUser("usr_1", "a@example.com")); err != nil {
				return err
			}
			if err := tx.EnqueueMessage(ctx, sellerguard.OutboxMessage{ID: "msg_1", Channel: "email", To: "a@example.com", CreatedAt: t0}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		if n, _ := db.CountUsers(ctx); n != 0 {
			t.Fatalf("%d users after rollback", n)
		}
		if n, _ := db.CountOutbox(ctx, sellerguard.OutboxPending); n != 0 {
			t.Fatalf("%d messages after rollback", n)
		}
	})
}

func TestSignups(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := store.PendingSignup{EmailNorm: "a@example.com", Email: "A@example.com", PasswordHash: "h", BusinessName: "B", CodeMAC: "m1", ExpiresAt: t0.Add(10 * time.Minute), CreatedAt: t0}
		mustTx(t, db, func(tx *store.Tx) error { return tx.PutSignup(ctx, p) })
		p.CodeMAC, p.Attempts = "m2", 0
		mustTx(t, db, func(tx *store.Tx) error { return tx.PutSignup(ctx, p) }) // a second sign-up replaces the first
		got, err := db.FindSignup(ctx, "a@example.com")
		if err != nil || got.CodeMAC != "m2" || got.Email != "A@example.com" || !got.ExpiresAt.Equal(p.ExpiresAt) {
			t.Fatalf("FindSignup = %+v, %v", got, err)
		}
		mustTx(t, db, func(tx *store.Tx) error { return tx.SetSignupAttempts(ctx, "a@example.com", 3) })
		got, _ = db.FindSignup(ctx, "a@example.com")
		if got.Attempts != 3 {
			t.Fatalf("attempts = %d", got.Attempts)
		}
		var n int64
		mustTx(t, db, func(tx *store.Tx) (err error) { n, err = tx.DeleteExpiredSignups(ctx, t0.Add(11*time.Minute)); return })
		if n != 1 {
			t.Fatalf("expired %d", n)
		}
		if _, err := db.FindSignup(ctx, "a@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after expiry: %v", err)
		}
	})
}

func TestSessions(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mustTx(t, db, func(tx *store.Tx) error { return tx.CreateUser(ctx, newUser("usr_1", "a@example.com")) })
		for i, id := range []string{"ses_a", "ses_b", "ses_c"} {
			s := sellerguard.Session{ID: id, UserID: "usr_1", CreatedAt: t0.Add(time.Duration(i) * time.Minute), LastSeenAt: t0, ExpiresAt: t0.Add(24 * time.Hour), IP: "127.0.0.1", UserAgent: "ua", AuthLevel: sellerguard.AuthFull, ReauthAt: t0}
			mustTx(t, db, func(tx *store.Tx) error { return tx.CreateSession(ctx, s, "hash-"+id) })
		}
		s, err := db.FindSessionByTokenHash(ctx, "hash-ses_b")
		if err != nil || s.ID != "ses_b" || !s.ExpiresAt.Equal(t0.Add(24*time.Hour)) {
			t.Fatalf("FindSessionByTokenHash = %+v, %v", s, err)
		}
		list, _ := db.ListSessions(ctx, "usr_1")
		if len(list) != 3 || list[0].ID != "ses_c" {
			t.Fatalf("list = %+v", list)
		}
		// Touch never moves last-seen backwards.
		mustTx(t, db, func(tx *store.Tx) error {
			return tx.TouchSessions(ctx, map[string]time.Time{"ses_a": t0.Add(time.Hour)})
		})
		mustTx(t, db, func(tx *store.Tx) error {
			return tx.TouchSessions(ctx, map[string]time.Time{"ses_a": t0.Add(time.Minute)})
		})
		s, _ = db.FindSession(ctx, "usr_1", "ses_a")
		if !s.LastSeenAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("last seen = %v", s.LastSeenAt)
		}
		if err := db.WithTx(ctx, func(tx *store.Tx) error { return tx.DeleteSession(ctx, "usr_other", "ses_a") }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleting another user's session: %v", err)
		}
		var ids []string
		mustTx(t, db, func(tx *store.Tx) (err error) { ids, err = tx.DeleteOtherSessions(ctx, "usr_1", "ses_a"); return })
		if len(ids) != 2 {
			t.Fatalf("revoked %v", ids)
		}
		list, _ = db.ListSessions(ctx, "usr_1")
		if len(list) != 1 || list[0].ID != "ses_a" {
			t.Fatalf("after revoke-others: %+v", list)
		}
		// Idle for longer than the idle timeout: removed.
		var n int64
		mustTx(t, db, func(tx *store.Tx) (err error) {
			n, err = tx.DeleteExpiredSessions(ctx, t0.Add(4*time.Hour), 2*time.Hour)
			return
		})
		if n != 1 {
			t.Fatalf("expired %d sessions", n)
		}
	})
}

func TestAuditHeadsAndListing(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i := range 5 {
			mustTx(t, db, func(tx *store.Tx) error {
				seq, prev, err := tx.AdvanceAuditHead(ctx, "b:biz_1")
				if err != nil {
					return err
				}
				if seq != int64(i+1) || (i == 0) != (prev == "") {
					return fmt.Errorf("event %d: seq %d prev %q", i, seq, prev)
				}
				cat := sellerguard.CategoryBusiness
				if i%2 == 0 {
					cat = sellerguard.CategorySession
				}
				return tx.InsertAuditEvent(ctx, store.AuditRecord{AuditEvent: sellerguard.AuditEvent{
					ID: fmt.Sprintf("evt_%d", i), Chain: "b:biz_1", Seq: seq, BusinessID: "biz_1", ActorID: "usr_1",
					Action: "x", Category: cat, Before: "{}", After: "{}", CreatedAt: t0.Add(time.Duration(i) * time.Minute),
					PrevHash: prev, Hash: fmt.Sprintf("h%d", i),
				}, SubjectID: "usr_1"})
			})
		}
		heads, err := db.ListAuditHeads(ctx)
		if err != nil || len(heads) != 1 || heads[0].Seq != 5 || heads[0].Hash != "h4" {
			t.Fatalf("heads = %+v, %v", heads, err)
		}
		page1, err := db.ListAudit(ctx, store.AuditFilter{BusinessIDs: []string{"biz_1"}, Limit: 2})
		if err != nil || len(page1) != 2 || page1[0].ID != "evt_4" || page1[1].ID != "evt_3" {
			t.Fatalf("page 1 = %+v, %v", page1, err)
		}
		last := page1[1]
		page2, _ := db.ListAudit(ctx, store.AuditFilter{BusinessIDs: []string{"biz_1"}, Limit: 2, BeforeTime: last.CreatedAt, BeforeID: last.ID})
		if len(page2) != 2 || page2[0].ID != "evt_2" {
			t.Fatalf("page 2 = %+v", page2)
		}
		sess, _ := db.ListAudit(ctx, store.AuditFilter{BusinessIDs: []string{"biz_1"}, Category: sellerguard.CategorySession})
		if len(sess) != 3 {
			t.Fatalf("category filter gave %d", len(sess))
		}
		window, _ := db.ListAudit(ctx, store.AuditFilter{BusinessIDs: []string{"biz_1"}, Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)})
		if len(window) != 2 {
			t.Fatalf("time window gave %d", len(window))
		}
		other, _ := db.ListAudit(ctx, store.AuditFilter{BusinessIDs: []string{"biz_2"}})
		if len(other) != 0 {
			t.Fatalf("another business sees %d events", len(other))
		}
		// A second writer of the same seq cannot fork the chain.
		err = db.WithTx(ctx, func(tx *store.Tx) error {
			return tx.InsertAuditEvent(ctx, store.AuditRecord{AuditEvent: sellerguard.AuditEvent{ID: "evt_dup", Chain: "b:biz_1", Seq: 5, Before: "{}", After: "{}", CreatedAt: t0}})
		})
		if err == nil {
			t.Fatal("a duplicate (chain, seq) was accepted")
		}
	})
}

func TestAuditChainsAdvanceConcurrently(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for w := range 4 {
			wg.Go(func() {
				for range 10 {
					errs <- db.WithTx(ctx, func(tx *store.Tx) error {
						seq, prev, err := tx.AdvanceAuditHead(ctx, "b:shared")
						if err != nil {
							return err
						}
						return tx.InsertAuditEvent(ctx, store.AuditRecord{AuditEvent: sellerguard.AuditEvent{
							ID: fmt.Sprintf("evt_%d_%d", w, seq), Chain: "b:shared", Seq: seq, BusinessID: "shared",
							Before: "{}", After: "{}", CreatedAt: t0, PrevHash: prev, Hash: fmt.Sprintf("h%d", seq),
						}})
					})
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var seqs []int64
		if err := db.EachAuditEvent(ctx, func(e store.AuditRecord) error { seqs = append(seqs, e.Seq); return nil }); err != nil {
			t.Fatal(err)
		}
		for i, s := range seqs {
			if s != int64(i+1) {
				t.Fatalf("sequence has a gap or fork at %d: %v", i, seqs)
			}
		}
		if len(seqs) != 40 {
			t.Fatalf("%d events", len(seqs))
		}
	})
}

func TestOutboxClaimsAreExclusiveAndLeased(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i := range 30 {
			mustTx(t, db, func(tx *store.Tx) error {
				return tx.EnqueueMessage(ctx, sellerguard.OutboxMessage{ID: fmt.Sprintf("msg_%02d", i), Channel: "email", To: "a@example.com", Subject: "s", Body: "code 123456", CreatedAt: t0})
			})
		}
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				for {
					msgs, err := db.ClaimDueMessages(ctx, t0, time.Minute, 4)
					if err != nil {
						t.Error(err)
						return
					}
					if len(msgs) == 0 {
						return
					}
					mu.Lock()
					for _, m := range msgs {
						seen[m.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != 30 {
			t.Fatalf("claimed %d distinct messages", len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("%s claimed %d times", id, n)
			}
		}
		// Within the lease nothing is due; after it, everything is (a dead worker's claims return).
		if msgs, _ := db.ClaimDueMessages(ctx, t0.Add(30*time.Second), time.Minute, 100); len(msgs) != 0 {
			t.Fatalf("%d messages re-claimed inside the lease", len(msgs))
		}
		again, _ := db.ClaimDueMessages(ctx, t0.Add(2*time.Minute), time.Minute, 100)
		if len(again) != 30 || again[0].Attempts != 2 {
			t.Fatalf("after the lease: %d messages, attempts %d", len(again), again[0].Attempts)
		}
		if err := db.MarkMessageSent(ctx, "msg_00", t0, "<id@x>", true); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkMessageRetry(ctx, "msg_01", t0.Add(time.Hour), "451 try later"); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkMessageFailed(ctx, "msg_02", "550 no such user"); err != nil {
			t.Fatal(err)
		}
		list, _ := db.ListOutbox(ctx, 100)
		byID := map[string]sellerguard.OutboxMessage{}
		for _, m := range list {
			byID[m.ID] = m
		}
		if m := byID["msg_00"]; m.Status != sellerguard.OutboxSent || m.Body != "" || m.MessageID != "<id@x>" {
			t.Fatalf("sent message: %+v (body must be scrubbed)", m)
		}
		if m := byID["msg_01"]; m.Status != sellerguard.OutboxPending || m.LastError != "451 try later" || !m.NextAttemptAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("retried message: %+v", m)
		}
		if m := byID["msg_02"]; m.Status != sellerguard.OutboxFailed {
			t.Fatalf("failed message: %+v", m)
		}
		if msgs, _ := db.ClaimDueMessages(ctx, t0.Add(59*time.Minute), time.Minute, 100); containsID(msgs, "msg_01") {
			t.Fatal("a message was retried before its time")
		}
	})
}

func containsID(msgs []sellerguard.OutboxMessage, id string) bool {
	for _, m := range msgs {
		if m.ID == id {
			return true
		}
	}
	return false
}

func TestLimitCounters(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 10 {
					if err := db.WithTx(ctx, func(tx *store.Tx) error {
						_, err := tx.IncrementCounter(ctx, "acct:a_b@example.com", t0, time.Time{}, t0.Add(time.Hour), "192.0.2.1")
						return err
					}); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		c, err := db.GetCounter(ctx, "acct:a_b@example.com", t0)
		if err != nil || c.Count != 40 || !c.FirstAt.Equal(t0) || c.LastIP != "192.0.2.1" {
			t.Fatalf("after 40 concurrent increments: %+v, %v", c, err)
		}
		// A window start after first_at restarts the count.
		var got int
		mustTx(t, db, func(tx *store.Tx) error {
			c, err := tx.IncrementCounter(ctx, "acct:a_b@example.com", t0.Add(time.Minute), t0.Add(time.Second), t0.Add(time.Hour), "192.0.2.2")
			got = c.Count
			return err
		})
		if got != 1 {
			t.Fatalf("window restart: count %d", got)
		}
		// Expired counters read as zero and restart.
		if c, _ := db.GetCounter(ctx, "acct:a_b@example.com", t0.Add(2*time.Hour)); c.Count != 0 {
			t.Fatalf("expired counter reads %d", c.Count)
		}
		mustTx(t, db, func(tx *store.Tx) error {
			c, err := tx.IncrementCounter(ctx, "acct:a_b@example.com", t0.Add(2*time.Hour), time.Time{}, t0.Add(3*time.Hour), "")
			got = c.Count
			return err
		})
		if got != 1 {
			t.Fatalf("increment after expiry: %d", got)
		}
		// Prefixes match literally: "_" is not a wildcard.
		mustTx(t, db, func(tx *store.Tx) error {
			_, err := tx.IncrementCounter(ctx, "acct:aXb@example.com", t0.Add(2*time.Hour), time.Time{}, t0.Add(3*time.Hour), "")
			return err
		})
		list, _ := db.ListCounters(ctx, "acct:a_b@", t0.Add(2*time.Hour), 10)
		if len(list) != 1 {
			t.Fatalf("prefix list = %+v", list)
		}
		var n int64
		mustTx(t, db, func(tx *store.Tx) (err error) { n, err = tx.DeleteCountersWithPrefix(ctx, "acct:a_b@"); return })
		if n != 1 {
			t.Fatalf("deleted %d", n)
		}
		if c, _ := db.GetCounter(ctx, "acct:aXb@example.com", t0.Add(2*time.Hour)); c.Count != 1 {
			t.Fatal("a LIKE wildcard deleted another account's counter")
		}
		// Unlock codes.
		mustTx(t, db, func(tx *store.Tx) error {
			return tx.PutUnlockCode(ctx, store.UnlockCode{EmailNorm: "a@example.com", CodeMAC: "m", ExpiresAt: t0.Add(time.Hour), CreatedAt: t0})
		})
		mustTx(t, db, func(tx *store.Tx) error { return tx.CountUnlockAttempt(ctx, "a@example.com") })
		u, err := db.FindUnlockCode(ctx, "a@example.com", t0)
		if err != nil || u.Attempts != 1 || u.CodeMAC != "m" {
			t.Fatalf("unlock code %+v %v", u, err)
		}
		if _, err := db.FindUnlockCode(ctx, "a@example.com", t0.Add(2*time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired unlock code: %v", err)
		}
	})
}

// FindUserForSignIn reads in one query the user (as FindUserByEmail reads
// it), the pending forced change, what BusinessPasswordRules reads (the
// shortest maximum password age of the user's active memberships) and
// whether the user has any second-step method.
func TestFindUserForSignIn(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		check := func(wantChange string, wantAge int, wantMethods bool) {
			t.Helper()
			var su store.SignInUser
			mustTx(t, db, func(tx *store.Tx) (err error) {
				su, err = tx.FindUserForSignIn(ctx, "a@example.com")
				return err
			})
			u, err := db.FindUserByEmail(ctx, "a@example.com")
			if err != nil {
				t.Fatal(err)
			}
			oldAge, _, err := db.BusinessPasswordRules(ctx, "usr_1")
			if err != nil {
				t.Fatal(err)
			}
			if su.UserRecord != u {
				t.Fatalf("user = %+v, want %+v", su.UserRecord, u)
			}
			if su.MustChangePassword != wantChange || su.MaxPasswordAgeDays != wantAge || su.MaxPasswordAgeDays != oldAge || su.HasTwoStepMethods != wantMethods {
				t.Fatalf("sign-in user = %q, %d, %v (BusinessPasswordRules: %d); want %q, %d, %v",
					su.MustChangePassword, su.MaxPasswordAgeDays, su.HasTwoStepMethods, oldAge, wantChange, wantAge, wantMethods)
			}
		}
		mustTx(t, db, func(tx *store.Tx) error { return tx.CreateUser(ctx, newUser("usr_1", "a@example.com")) })
		mustTx(t, db, func(tx *store.Tx) error { return tx.CreateUser(ctx, newUser("usr_2", "b@example.com")) })
		check("", 0, false) // no business at all
		for i, age := range []int{0, 90, 30, 7} {
			biz := fmt.Sprintf("biz_%d", i)
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.CreateBusiness(ctx, sellerguard.Business{ID: biz, Name: biz, CreatedAt: t0}); err != nil {
					return err
				}
				if err := tx.SetBusinessPasswordRules(ctx, biz, age, false); err != nil {
					return err
				}
				return tx.CreateMembership(ctx, sellerguard.Membership{BusinessID: biz, UserID: "usr_1", Role: sellerguard.RoleMember, Status: sellerguard.MembershipActive, CreatedAt: t0})
			})
		}
		check("", 7, false)
		// A suspended membership's rules do not apply.
		mustTx(t, db, func(tx *store.Tx) error {
			return tx.SetMembershipStatus(ctx, "biz_3", "usr_1", sellerguard.MembershipSuspended)
		})
		check("", 30, false)
		mustTx(t, db, func(tx *store.Tx) error { return tx.SetMustChangePassword(ctx, "usr_1", "expired") })
		check("expired", 30, false)
		// Another user's method is not theirs; an unconfirmed one of their
		// own counts (the sign-in reads them all and judges).
		mustTx(t, db, func(tx *store.Tx) error {
			return tx.CreateMethod(ctx, store.TwoStepMethod{ID: "tsm_b", UserID: "usr_2", Kind: "totp", Label: "App", Confirmed: true, CreatedAt: t0})
		})
		check("expired", 30, false)
		mustTx(t, db, func(tx *store.Tx) error {
			return tx.CreateMethod(ctx, store.TwoStepMethod{ID: "tsm_a", UserID: "usr_1", Kind: "totp", Label: "App", CreatedAt: t0})
		})
		check("expired", 30, true)
		if _, err := db.FindUserForSignIn(ctx, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown email: %v, want ErrNotFound", err)
		}
	})
}

// RecordSuccess keeps the limiter's contract for a successful sign-in
// (internal/limiter's memStore is its model): the attempt's failures go,
// the browser's and the network's counters count one more with the new
// expiry, the seen counter comes back; other counters are left alone.
// GetCounters reads the live ones among several keys.
func TestRecordSuccessAndGetCounters(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fail := "acct:a@example.com"
		other := "acct:b@example.com"
		known := "known:a@example.com|dev:d1"
		seen := "seen:a@example.com|net|ua"
		mustTx(t, db, func(tx *store.Tx) error {
			for _, k := range []string{fail, fail, other} {
				if _, err := tx.IncrementCounter(ctx, k, t0, time.Time{}, t0.Add(time.Hour), "192.0.2.9"); err != nil {
					return err
				}
			}
			return nil
		})
		record := func(at time.Time, known string) limiter.Counter {
			t.Helper()
			var c limiter.Counter
			mustTx(t, db, func(tx *store.Tx) (err error) {
				c, err = tx.RecordSuccess(ctx, fail, known, seen, "192.0.2.1", at, at.Add(90*24*time.Hour))
				return err
			})
			return c
		}
		c := record(t0.Add(time.Minute), known)
		if c.Key != seen || c.Count != 1 || c.LastIP != "192.0.2.1" || !c.ExpiresAt.Equal(t0.Add(time.Minute+90*24*time.Hour)) {
			t.Fatalf("first success: seen = %+v", c)
		}
		got, err := db.GetCounters(ctx, t0.Add(time.Minute), fail, other, known, seen, "acct:nobody@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := got[fail]; ok || got[other].Count != 1 || got[known].Count != 1 || got[known].LastIP != "" || got[seen].Count != 1 || len(got) != 3 {
			t.Fatalf("after the first success: %+v", got)
		}
		// A second success counts both marks again and renews their expiry.
		later := t0.Add(30 * 24 * time.Hour)
		if c := record(later, known); c.Count != 2 || !c.ExpiresAt.Equal(later.Add(90*24*time.Hour)) {
			t.Fatalf("second success: seen = %+v", c)
		}
		got, _ = db.GetCounters(ctx, t0.Add(100*24*time.Hour), known, seen)
		if got[known].Count != 2 || got[seen].Count != 2 {
			t.Fatalf("the second success did not renew both marks: %+v", got)
		}
		// Past their expiry they are gone from GetCounters; a success
		// without a browser counts only the network's mark.
		if got, _ := db.GetCounters(ctx, later.Add(90*24*time.Hour), known, seen); len(got) != 0 {
			t.Fatalf("expired counters read: %+v", got)
		}
		if c := record(later.Add(90*24*time.Hour), ""); c.Count != 1 {
			t.Fatalf("seen after its expiry counts %d, want a fresh 1", c.Count)
		}
		if c, _ := db.GetCounter(ctx, known, later.Add(90*24*time.Hour)); c.Count != 0 {
			t.Fatalf("a success without a browser counted the browser's mark: %+v", c)
		}
		if got, err := db.GetCounters(ctx, t0); err != nil || len(got) != 0 {
			t.Fatalf("no keys: %v %v", got, err)
		}
	})
}

// FindUserState reads in one query the user (as FindUserByID reads it),
// the forced change, the re-enrolment flag and the backup codes left (as
// CountBackupCodesLeft counts them).
func TestFindUserState(t *testing.T) {
	eachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		check := func(want store.UserState) {
			t.Helper()
			got, err := db.FindUserState(ctx, "usr_1")
			if err != nil {
				t.Fatal(err)
			}
			u, _ := db.FindUserByID(ctx, "usr_1")
			left, _ := db.CountBackupCodesLeft(ctx, "usr_1")
			if got != want || got.UserRecord != u || got.BackupCodesLeft != left {
				t.Fatalf("state = %+v\nwant %+v (FindUserByID: %+v, CountBackupCodesLeft: %d)", got, want, u, left)
			}
		}
		mustTx(t, db, func(tx *store.Tx) error {
			if err := tx.CreateUser(ctx, newUser("usr_1", "a@example.com")); err != nil {
				return err
			}
			return tx.CreateUser(ctx, newUser("usr_2", "b@example.com"))
		})
		u, err := db.FindUserByID(ctx, "usr_1")
		if err != nil {
			t.Fatal(err)
		}
		check(store.UserState{UserRecord: u})
		mustTx(t, db, func(tx *store.Tx) error {
			if err := tx.ReplaceBackupCodes(ctx, "usr_1", []string{"m1", "m2", "m3"}, t0); err != nil {
				return err
			}
			if err := tx.ReplaceBackupCodes(ctx, "usr_2", []string{"m4"}, t0); err != nil { // another user's
				return err
			}
			if err := tx.UseBackupCode(ctx, "usr_1", "m2", t0.Add(time.Minute)); err != nil {
				return err
			}
			if err := tx.SetMustChangePassword(ctx, "usr_1", "breached"); err != nil {
				return err
			}
			return tx.SetTwoStepReenrolment(ctx, "usr_1", t0)
		})
		check(store.UserState{UserRecord: u, MustChangePassword: "breached", ReenrolTwoStep: true, BackupCodesLeft: 2})
		mustTx(t, db, func(tx *store.Tx) error { return tx.SetTwoStepReenrolment(ctx, "usr_1", time.Time{}) })
		check(store.UserState{UserRecord: u, MustChangePassword: "breached", BackupCodesLeft: 2})
		if _, err := db.FindUserState(ctx, "usr_nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown user: %v", err)
		}
	})
}
