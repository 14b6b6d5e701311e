package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// explain returns SQLite's plan of q, one line per step.
func explain(t *testing.T, db *DB, q string, args []any) []string {
	t.Helper()
	rows, err := db.sql.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The change review's queries must not depend on statistics: SQLite has
// none unless ANALYZE ran (SellerGuard never runs it), and on its
// defaults an "action IN (…)" query walked a business's or every user
// chain's events newest first (audit_business_time), ≈ 90 ms a page at a
// million events. Each arm of the review must read one range of its index,
// and a session's start its own index. (PostgreSQL plans by statistics:
// internal/auditbench measures it at 10 million events.)
func TestChangeQueriesUseTheirIndexes(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite://"+t.TempDir()+"/plan.db")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	base := ChangeFilter{BusinessID: "biz_1", Actions: []string{"business.listing_changed", "business.storefront_changed", "business.member_joined"},
		MemberIDs: []string{"usr_1", "usr_2"}, UserActions: []string{"account.email_changed", "account.notifications_changed"},
		Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Limit: 51}
	withCursor, withActor, withSession, withUntil := base, base, base, base
	withCursor.BeforeTime, withCursor.BeforeID = base.Since.Add(time.Hour), "evt_x"
	withActor.ActorID = "usr_2"
	withSession.SessionID = "ses_1"
	withUntil.Until = base.Since.Add(24 * time.Hour)
	for name, f := range map[string]ChangeFilter{"window": base, "cursor": withCursor, "actor": withActor, "session": withSession, "until": withUntil} {
		t.Run(name, func(t *testing.T) {
			qs := changeEventsQueries(f)
			if len(qs) != 1 {
				t.Fatalf("%d queries for %d arms", len(qs), len(f.Actions)+len(f.MemberIDs)*len(f.UserActions))
			}
			plan := explain(t, db, qs[0].text, qs[0].args)
			all := strings.Join(plan, "\n")
			if n := strings.Count(all, "INDEX audit_business_action_time (business_id=? AND action=?"); n != len(f.Actions) {
				t.Errorf("%d arms on audit_business_action_time, want %d:\n%s", n, len(f.Actions), all)
			}
			if n := strings.Count(all, "INDEX audit_user_action_time (subject_id=? AND action=?"); n != len(f.MemberIDs)*len(f.UserActions) {
				t.Errorf("%d arms on audit_user_action_time, want %d:\n%s", n, len(f.MemberIDs)*len(f.UserActions), all)
			}
			for _, line := range plan {
				if strings.HasPrefix(line, "SCAN audit_events") || strings.Contains(line, "audit_business_time") || strings.Contains(line, "audit_subject_time") {
					t.Errorf("plan step %q walks events:\n%s", line, all)
				}
			}
		})
	}
	ph := make([]string, 3)
	args := make([]any, 3)
	for i := range ph {
		ph[i], args[i] = fmt.Sprintf("$%d", i+1), fmt.Sprintf("ses_%d", i)
	}
	if plan := strings.Join(explain(t, db, sessionStartsQuery(ph), args), "\n"); !strings.Contains(plan, "INDEX audit_session_start (target_id=?") {
		t.Errorf("session starts: %s", plan)
	}
}

// A business with more members than one query's arms (SQLite refuses a
// compound SELECT of more than 500) is read in several queries, and the
// page is the newest events of all of them, in order.
func TestChangeEventsAcrossSeveralQueries(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite://"+t.TempDir()+"/many.db")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var members []string
	for i := range 550 { // 551 arms: more than SQLite takes in one query
		m := fmt.Sprintf("usr_%03d", i)
		members = append(members, m)
		// Member i changed their notification settings at t0 + i minutes
		// (in chain order, the newest last: their arms fall in every query).
		_, err := db.sql.ExecContext(ctx, `INSERT INTO audit_events (`+auditCols+`) VALUES ($1,$2,1,'',$3,$3,'','account.notifications_changed','account','user',$3,'','','{}','{}',$4,'','','')`,
			fmt.Sprintf("evt_%03d", i), "u:"+m, m, t0.Add(time.Duration(i)*time.Minute).UnixMicro())
		if err != nil {
			t.Fatal(err)
		}
	}
	f := ChangeFilter{BusinessID: "biz_1", Actions: []string{"business.listing_changed"}, MemberIDs: members,
		UserActions: []string{"account.notifications_changed"}, Since: t0, Limit: 5}
	if n := len(changeEventsQueries(f)); n != (551+maxArms-1)/maxArms || n < 2 {
		t.Fatalf("%d queries for 551 arms of at most %d", n, maxArms)
	}
	evs, err := db.ListChangeEvents(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.ID)
	}
	if want := "evt_549 evt_548 evt_547 evt_546 evt_545"; strings.Join(got, " ") != want {
		t.Fatalf("page = %v, want %s", got, want)
	}
}
