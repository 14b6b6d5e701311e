package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
)

const auditCols = `id, chain, seq, business_id, subject_id, actor_id, actor_email, action, category, target_type, target_id, ip, user_agent, before_json, after_json, created_at, prev_hash, hash, session_id`

// AuditRecord is an audit event with the user it concerns (SubjectID), as
// stored.
type AuditRecord struct {
	sellerguard.AuditEvent
	SubjectID string
}

func scanAudit(row interface{ Scan(...any) error }) (AuditRecord, error) {
	var e AuditRecord
	var created int64
	err := row.Scan(&e.ID, &e.Chain, &e.Seq, &e.BusinessID, &e.SubjectID, &e.ActorID, &e.ActorEmail, &e.Action, &e.Category,
		&e.TargetType, &e.TargetID, &e.IP, &e.UserAgent, &e.Before, &e.After, &created, &e.PrevHash, &e.Hash, &e.SessionID)
	if err != nil {
		return e, fmt.Errorf("store: scan audit: %w", err)
	}
	e.CreatedAt = fromTS(created)
	return e, nil
}

// AdvanceAuditHead moves the head of chain one step and returns the new
// sequence number and the hash of the previous event ("" for the first:
// a new chain's head is made at 1). One statement: in PostgreSQL the
// upsert locks the head row until commit, so writers of one chain queue
// while other chains proceed.
func (s queries) AdvanceAuditHead(ctx context.Context, chain string) (seq int64, prevHash string, err error) {
	err = s.q.QueryRowContext(ctx, `INSERT INTO audit_heads (chain, seq, hash) VALUES ($1, 1, '')
		ON CONFLICT (chain) DO UPDATE SET seq = audit_heads.seq + 1
		RETURNING seq, hash`, chain).Scan(&seq, &prevHash)
	if err != nil {
		return 0, "", fmt.Errorf("store: audit head: %w", err)
	}
	return seq, prevHash, nil
}

// InsertAuditEvent stores a chained event and makes it the chain's head.
func (s queries) InsertAuditEvent(ctx context.Context, e AuditRecord) error {
	err := s.execJoined(ctx,
		`INSERT INTO audit_events (`+auditCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)`,
		`UPDATE audit_heads SET hash = $18 WHERE chain = $2 AND seq = $3`,
		e.ID, e.Chain, e.Seq, e.BusinessID, e.SubjectID, e.ActorID, e.ActorEmail, e.Action, e.Category, e.TargetType, e.TargetID,
		e.IP, e.UserAgent, e.Before, e.After, ts(e.CreatedAt), e.PrevHash, e.Hash, e.SessionID)
	if err != nil {
		return fmt.Errorf("store: insert audit: %w", err)
	}
	return nil
}

// AuditFilter selects events for the audit log views. BusinessIDs and
// SubjectID are OR-ed: events of those businesses, plus events about that user
// that belong to no business.
type AuditFilter struct {
	BusinessIDs []string
	SubjectID   string
	Category    string
	ActorID     string
	Since       time.Time
	Until       time.Time
	// Cursor: return events strictly older than (BeforeTime, BeforeID).
	BeforeTime time.Time
	BeforeID   string
	Limit      int
}

// ListAudit lists events newest first.
func (s queries) ListAudit(ctx context.Context, f AuditFilter) ([]AuditRecord, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	var scope []string
	if len(f.BusinessIDs) > 0 {
		ph := make([]string, len(f.BusinessIDs))
		for i, b := range f.BusinessIDs {
			ph[i] = arg(b)
		}
		scope = append(scope, "business_id IN ("+strings.Join(ph, ",")+")")
	}
	if f.SubjectID != "" {
		scope = append(scope, "(business_id = '' AND subject_id = "+arg(f.SubjectID)+")")
	}
	if len(scope) == 0 {
		return nil, errors.New("store: audit query without scope")
	}
	where = append(where, "("+strings.Join(scope, " OR ")+")")
	if f.Category != "" {
		where = append(where, "category = "+arg(f.Category))
	}
	where = append(where, auditWindow(arg, f.ActorID, f.Since, f.Until, f.BeforeTime, f.BeforeID)...)
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	q := `SELECT ` + auditCols + ` FROM audit_events WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY created_at DESC, id DESC LIMIT ` + arg(limit)
	rows, err := s.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	defer rows.Close()
	out := []AuditRecord{}
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// AuditHead is the stored head of one chain.
type AuditHead struct {
	Chain string
	Seq   int64
	Hash  string
}

// ListAuditHeads lists every chain head, ordered by chain.
func (s queries) ListAuditHeads(ctx context.Context) ([]AuditHead, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT chain, seq, hash FROM audit_heads ORDER BY chain`)
	if err != nil {
		return nil, fmt.Errorf("store: audit heads: %w", err)
	}
	defer rows.Close()
	var out []AuditHead
	for rows.Next() {
		var h AuditHead
		if err := rows.Scan(&h.Chain, &h.Seq, &h.Hash); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// AuditHeadOf returns the head of one chain (ErrNotFound when the chain
// has none).
func (s queries) AuditHeadOf(ctx context.Context, chain string) (AuditHead, error) {
	h := AuditHead{Chain: chain}
	err := s.q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_heads WHERE chain = $1`, chain).Scan(&h.Seq, &h.Hash)
	if ErrNoRows(err) {
		return h, ErrNotFound
	}
	if err != nil {
		return h, fmt.Errorf("store: audit head: %w", err)
	}
	return h, nil
}

// EachAuditEvent calls fn for every event ordered by chain and sequence,
// streaming (rows are read as fn consumes them: memory stays constant).
func (s queries) EachAuditEvent(ctx context.Context, fn func(AuditRecord) error) error {
	return s.eachAudit(ctx, fn, `SELECT `+auditCols+` FROM audit_events ORDER BY chain, seq`)
}

// EachAuditEventStored calls fn for every event in the order the database
// keeps them (no ORDER BY: a sequential read of the table, with no index
// lookup per row and no sort), streaming, column by column. audit.Verify
// reads the same rows packed and by parts (EachAuditEventByChainEnd); this
// is the plain read its benchmark compares with.
func (s queries) EachAuditEventStored(ctx context.Context, fn func(AuditRecord) error) error {
	return s.eachAudit(ctx, fn, `SELECT `+auditCols+` FROM audit_events`)
}

// EachAuditEventOfChain calls fn for every event of one chain in sequence
// order (the unique index on (chain, seq)), streaming.
func (s queries) EachAuditEventOfChain(ctx context.Context, chain string, fn func(AuditRecord) error) error {
	return s.eachAudit(ctx, fn, `SELECT `+auditCols+` FROM audit_events WHERE chain = $1 ORDER BY seq`, chain)
}

// EachAuditEventOfChainRange calls fn for the events of one chain whose
// sequence numbers lie in [from, to], in sequence order (the same unique
// index), streaming: audit.VerifyChain reads a long chain in such parts
// at once.
func (s queries) EachAuditEventOfChainRange(ctx context.Context, chain string, from, to int64, fn func(AuditRecord) error) error {
	return s.eachAudit(ctx, fn, `SELECT `+auditCols+` FROM audit_events WHERE chain = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq`, chain, from, to)
}

func (s queries) eachAudit(ctx context.Context, fn func(AuditRecord) error, q string, args ...any) error {
	rows, err := s.q.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: audit scan: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ErrNoRows reports whether err means "no row" (for callers of raw scans).
func ErrNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) || errors.Is(err, ErrNotFound) }

// auditWindow is the part of a query both views of the audit log share
// (the log and the change review): an actor, a time window and the keyset
// cursor of a newest-first list. arg binds a value and names its
// placeholder.
func auditWindow(arg func(any) string, actorID string, since, until, beforeTime time.Time, beforeID string) []string {
	var w []string
	if actorID != "" {
		w = append(w, "actor_id = "+arg(actorID))
	}
	if !since.IsZero() {
		w = append(w, "created_at >= "+arg(ts(since)))
	}
	if !until.IsZero() {
		w = append(w, "created_at < "+arg(ts(until)))
	}
	if !beforeTime.IsZero() {
		// "created_at <= t" says the same as the OR for the index: a range
		// bound both planners use, so a later page starts at the cursor
		// instead of reading the newer events again.
		t := arg(ts(beforeTime))
		w = append(w, "created_at <= "+t, "(created_at < "+t+" OR (created_at = "+t+" AND id < "+arg(beforeID)+"))")
	}
	return w
}
