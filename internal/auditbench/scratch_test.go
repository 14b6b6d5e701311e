package auditbench

import (
	"context"
	"database/sql"
	"strings"
	"testing"
)

func TestScratchPlan(t *testing.T) {
	s := openSeeded(t, "sqlite", sizeFromEnv())
	raw, err := sql.Open("sqlite", strings.TrimPrefix(s.URL, "sqlite://"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`EXPLAIN QUERY PLAN SELECT * FROM audit_events WHERE business_id = '' AND action = 'session.created' AND target_id IN ('a','b','c')`,
		`EXPLAIN QUERY PLAN SELECT created_at, id FROM audit_events WHERE business_id = '' AND subject_id = 'x' AND action = 'account.email_changed' AND created_at >= 5 ORDER BY created_at DESC, id DESC LIMIT 51`,
		`EXPLAIN QUERY PLAN SELECT created_at, id FROM audit_events WHERE business_id = 'biz_0' AND action = 'business.listing_changed' AND created_at >= 5 AND created_at <= 9 AND (created_at < 9 OR (created_at = 9 AND id < 'x')) ORDER BY created_at DESC, id DESC LIMIT 51`,
	} {
		rows, err := raw.QueryContext(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a, b, c int
			var d string
			_ = rows.Scan(&a, &b, &c, &d)
			t.Log(d)
		}
		rows.Close()
	}
}
