package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
)

// ChangeFilter selects audit events for the change review
// (internal/changes): a business's own events of some actions, plus the
// events of some actions in the user chains of its members.
type ChangeFilter struct {
	BusinessID   string
	Actions      []string // actions of the business chain
	MemberIDs    []string // users whose own-chain events count
	UserActions  []string // actions of those user chains
	ActorID      string
	SessionID    string
	Since, Until time.Time
	// Cursor: events strictly older than (BeforeTime, BeforeID).
	BeforeTime time.Time
	BeforeID   string
	Limit      int
}

// ListChangeEvents lists the events f selects, newest first.
//
// The query is one arm per action of the business chain and one per
// (member, action) of the user chains, each the newest limit events of one
// range of an index — audit_business_action_time (business_id, action,
// created_at, id) or audit_user_action_time (subject_id, action,
// created_at, id) of the user chains only — read from the index alone;
// the arms' union is cut to limit, and only those rows are read. So the
// work is bounded by (arms × limit) index entries whatever the size of
// the log, the business or the window, and no plan depends on statistics
// (SQLite has none unless ANALYZE ran). A single "action IN (…)" query
// instead let SQLite walk a business's or all user chains' events newest
// first (audit_business_time) filtering by action: ≈ 90 ms at 1 million
// events (docs/benchmarks.md, "Audit log at scale").
func (s queries) ListChangeEvents(ctx context.Context, f ChangeFilter) ([]AuditRecord, error) {
	if f.BusinessID == "" || len(f.Actions) == 0 {
		return nil, errors.New("store: change query without business or actions")
	}
	out := []AuditRecord{}
	queries := changeEventsQueries(f)
	for _, q := range queries {
		if err := func() error {
			rows, err := s.q.QueryContext(ctx, q.text, q.args...)
			if err != nil {
				return fmt.Errorf("store: list changes: %w", err)
			}
			defer rows.Close()
			for rows.Next() {
				e, err := scanAudit(rows)
				if err != nil {
					return err
				}
				out = append(out, e)
			}
			return rows.Err()
		}(); err != nil {
			return nil, err
		}
	}
	if len(queries) > 1 { // each query's newest; keep the newest of all
		sort.Slice(out, func(i, j int) bool {
			if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
				return out[i].CreatedAt.After(out[j].CreatedAt)
			}
			return out[i].ID > out[j].ID
		})
		out = out[:min(len(out), changeLimit(f))]
	}
	return out, nil
}

// maxArms bounds the arms of one query: SQLite refuses a compound SELECT
// of more than 500, and PostgreSQL's planning time grows with them. A
// business with more members than fit is read in several queries.
const maxArms = 200

type sqlQuery struct {
	text string
	args []any
}

func changeLimit(f ChangeFilter) int {
	if f.Limit <= 0 {
		return 50
	}
	return f.Limit
}

// changeEventsQueries builds ListChangeEvents' queries, one per maxArms
// arms (TestChangeQueriesUseTheirIndexes reads their plans).
func changeEventsQueries(f ChangeFilter) []sqlQuery {
	type armOf struct{ member, action string } // member "": the business's chain
	var arms []armOf
	for _, a := range f.Actions {
		arms = append(arms, armOf{action: a})
	}
	for _, m := range f.MemberIDs {
		for _, a := range f.UserActions {
			arms = append(arms, armOf{member: m, action: a})
		}
	}
	var out []sqlQuery
	for len(arms) > 0 {
		chunk := arms[:min(len(arms), maxArms)]
		arms = arms[len(chunk):]
		var args []any
		arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
		w := auditWindow(arg, f.ActorID, f.Since, f.Until, f.BeforeTime, f.BeforeID)
		if f.SessionID != "" {
			w = append(w, "session_id = "+arg(f.SessionID))
		}
		window := ""
		if len(w) > 0 {
			window = " AND " + strings.Join(w, " AND ")
		}
		lim := arg(changeLimit(f))
		bound := map[string]string{} // one placeholder per value
		bind := func(v string) string {
			if ph, ok := bound[v]; ok {
				return ph
			}
			ph := arg(v)
			bound[v] = ph
			return ph
		}
		biz := arg(f.BusinessID)
		parts := make([]string, len(chunk))
		for i, a := range chunk {
			where := "business_id = " + biz + " AND action = " + bind(a.action)
			if a.member != "" {
				where = "business_id = '' AND subject_id = " + bind(a.member) + " AND action = " + bind(a.action)
			}
			parts[i] = `SELECT created_at, id FROM (SELECT created_at, id FROM audit_events WHERE ` + where + window +
				` ORDER BY created_at DESC, id DESC LIMIT ` + lim + `) a` + strconv.Itoa(i)
		}
		out = append(out, sqlQuery{text: `SELECT ` + auditCols + ` FROM audit_events WHERE id IN (SELECT id FROM (` + strings.Join(parts, " UNION ALL ") +
			`) c ORDER BY created_at DESC, id DESC LIMIT ` + lim + `) ORDER BY created_at DESC, id DESC`, args: args})
	}
	return out
}

// FindAuditEvent returns one event by id.
func (s queries) FindAuditEvent(ctx context.Context, id string) (AuditRecord, error) {
	e, err := scanAudit(s.q.QueryRowContext(ctx, `SELECT `+auditCols+` FROM audit_events WHERE id = $1`, id))
	if ErrNoRows(err) {
		return e, ErrNotFound
	}
	return e, err
}

// NextChangeOf returns the first event after e in e's chain that has one of
// actions and the same target (ErrNotFound when there is none): the change
// that superseded e.
func (s queries) NextChangeOf(ctx context.Context, e AuditRecord, actions []string) (AuditRecord, error) {
	if len(actions) == 0 {
		return AuditRecord{}, ErrNotFound
	}
	args := []any{e.Chain, e.Seq, e.TargetType, e.TargetID}
	ph := make([]string, len(actions))
	for i, a := range actions {
		args = append(args, a)
		ph[i] = fmt.Sprintf("$%d", len(args))
	}
	r, err := scanAudit(s.q.QueryRowContext(ctx, `SELECT `+auditCols+` FROM audit_events
		WHERE chain = $1 AND seq > $2 AND target_type = $3 AND target_id = $4 AND action IN (`+strings.Join(ph, ",")+`)
		ORDER BY seq LIMIT 1`, args...))
	if ErrNoRows(err) {
		return r, ErrNotFound
	}
	return r, err
}

func sessionStartsQuery(placeholders []string) string {
	return `SELECT ` + auditCols + ` FROM audit_events
		WHERE business_id = '' AND action = 'session.created' AND target_id IN (` + strings.Join(placeholders, ",") + `)`
}

// SessionStartEvents returns the "session.created" events of the given
// sessions, by session id (a session older than the log has none). One
// query per 500 ids, on the partial index audit_session_start.
func (s queries) SessionStartEvents(ctx context.Context, sessionIDs []string) (map[string]AuditRecord, error) {
	out := make(map[string]AuditRecord, len(sessionIDs))
	for len(sessionIDs) > 0 {
		n := min(len(sessionIDs), 500)
		args := make([]any, n)
		ph := make([]string, n)
		for i, id := range sessionIDs[:n] {
			args[i], ph[i] = id, fmt.Sprintf("$%d", i+1)
		}
		sessionIDs = sessionIDs[n:]
		rows, err := s.q.QueryContext(ctx, sessionStartsQuery(ph), args...)
		if err != nil {
			return nil, fmt.Errorf("store: session starts: %w", err)
		}
		for rows.Next() {
			e, err := scanAudit(rows)
			if err != nil {
				_ = rows.Close()
				return nil, err
			}
			if old, ok := out[e.TargetID]; !ok || e.CreatedAt.After(old.CreatedAt) {
				out[e.TargetID] = e
			}
		}
		err = rows.Err()
		_ = rows.Close()
		if err != nil {
			return nil, fmt.Errorf("store: session starts: %w", err)
		}
	}
	return out, nil
}

// ChainEvents returns the events of a chain with from <= seq <= to, in order.
func (s queries) ChainEvents(ctx context.Context, chain string, from, to int64) ([]AuditRecord, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+auditCols+` FROM audit_events WHERE chain = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq`, chain, from, to)
	if err != nil {
		return nil, fmt.Errorf("store: chain events: %w", err)
	}
	defer rows.Close()
	var out []AuditRecord
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// DeleteDepositAccount removes one deposit account of a business
// (ErrNotFound when there is no such account).
func (s queries) DeleteDepositAccount(ctx context.Context, businessID, id string) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM deposit_accounts WHERE business_id = $1 AND id = $2`, businessID, id)
	if err != nil {
		return fmt.Errorf("store: delete deposit account: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteListing removes one listing of a business (ErrNotFound when there
// is no such listing).
func (s queries) DeleteListing(ctx context.Context, businessID, id string) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM listings WHERE business_id = $1 AND id = $2`, businessID, id)
	if err != nil {
		return fmt.Errorf("store: delete listing: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// UpsertDigestMessage adds line to the pending message m.ID (inserting
// marker-ended m if there is none yet): the line goes in before marker. It
// reports false when a message with this id exists but is no longer pending
// (already claimed or sent), so the caller can send the line on its own.
// m is due at due.
func (s queries) UpsertDigestMessage(ctx context.Context, m sellerguard.OutboxMessage, due time.Time, marker, line string) (bool, error) {
	res, err := s.q.ExecContext(ctx, `INSERT INTO outbox (`+outboxCols+`, lease_until) VALUES ($1,$2,$3,$4,$5,$6,0,$7,$8,0,'',$9,$10,$11,0)
		ON CONFLICT (id) DO UPDATE SET body = REPLACE(outbox.body, $12, $13) WHERE outbox.status = $6`,
		m.ID, m.Channel, m.To, m.Subject, m.Body, sellerguard.OutboxPending, ts(due), ts(m.CreatedAt), m.MessageID, m.UserID, m.Event,
		marker, line+marker)
	if err != nil {
		return false, fmt.Errorf("store: digest message: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: digest message: %w", err)
	}
	return n == 1, nil
}
