package secondstep_test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/store"
)

// asOlderReleasesWroteThem returns the source rows with the audit events
// as a release before migration 0019 wrote them: no session id (a column
// that older schemas lack, so copying would drop it), each chain's hashes
// recomputed in the v1 form and the heads moved along. Without this, every
// event this release made in a session would look altered after the copy.
func asOlderReleasesWroteThem(t *testing.T, tables map[string]tableRows) map[string]tableRows {
	t.Helper()
	ev, ok := tables["audit_events"]
	if !ok {
		return tables
	}
	col := map[string]int{}
	for i, c := range ev.cols {
		col[c] = i
	}
	if _, has := col["session_id"]; !has {
		return tables
	}
	s := func(row []any, c string) string {
		switch v := row[col[c]].(type) {
		case string:
			return v
		case []byte:
			return string(v)
		case nil:
			return ""
		default:
			return fmt.Sprint(v)
		}
	}
	n := func(row []any, c string) int64 {
		switch v := row[col[c]].(type) {
		case int64:
			return v
		case int32:
			return int64(v)
		case int:
			return int64(v)
		case float64:
			return int64(v)
		}
		t.Fatalf("audit_events.%s is a %T", c, row[col[c]])
		return 0
	}
	rows := make([][]any, len(ev.rows))
	for i, r := range ev.rows {
		rows[i] = append([]any(nil), r...)
	}
	sort.Slice(rows, func(i, j int) bool {
		if a, b := s(rows[i], "chain"), s(rows[j], "chain"); a != b {
			return a < b
		}
		return n(rows[i], "seq") < n(rows[j], "seq")
	})
	heads := map[string]string{}
	prev, chain := "", ""
	for _, r := range rows {
		if s(r, "chain") != chain {
			chain, prev = s(r, "chain"), ""
		}
		rec := store.AuditRecord{AuditEvent: sellerguard.AuditEvent{ID: s(r, "id"), Chain: chain, Seq: n(r, "seq"), BusinessID: s(r, "business_id"),
			ActorID: s(r, "actor_id"), ActorEmail: s(r, "actor_email"), Action: s(r, "action"), Category: s(r, "category"),
			TargetType: s(r, "target_type"), TargetID: s(r, "target_id"), IP: s(r, "ip"), UserAgent: s(r, "user_agent"),
			Before: s(r, "before_json"), After: s(r, "after_json"), CreatedAt: time.UnixMicro(n(r, "created_at")).UTC(), PrevHash: prev},
			SubjectID: s(r, "subject_id")}
		h := audit.Hash(rec)
		r[col["session_id"]], r[col["prev_hash"]], r[col["hash"]] = "", prev, h
		prev, heads[chain] = h, h
	}
	out := make(map[string]tableRows, len(tables))
	for k, v := range tables {
		out[k] = v
	}
	out["audit_events"] = tableRows{cols: ev.cols, rows: rows}
	if hd, ok := tables["audit_heads"]; ok {
		ci, hi := -1, -1
		for i, c := range hd.cols {
			switch c {
			case "chain":
				ci = i
			case "hash":
				hi = i
			}
		}
		var hrows [][]any
		for _, r := range hd.rows {
			r = append([]any(nil), r...)
			if h, ok := heads[fmt.Sprint(r[ci])]; ok {
				r[hi] = h
			}
			hrows = append(hrows, r)
		}
		out["audit_heads"] = tableRows{cols: hd.cols, rows: hrows}
	}
	return out
}
