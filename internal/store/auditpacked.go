package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// auditPackedCols are the columns of auditCols, in that order, as they
// travel packed.
var auditPackedCols = strings.Split(strings.ReplaceAll(auditCols, " ", ""), ",")

// auditPacked selects every stored column of an event as ONE text: each
// column as its length in bytes plus 1,000,000,000 (ten digits for any
// length a database allows) followed by its bytes (integers as their
// decimal text: the same CAST in both databases). The lengths make the
// packing one-to-one, so a row decodes to exactly the values its columns
// hold; a NULL anywhere loses its length, which decodePacked refuses.
// Reading one value instead of nineteen is what makes `audit verify`
// fast on SQLite: the driver's per-column work (three calls under the
// connection's lock and a string each) happens once per row.
var auditPacked = func() string {
	parts := make([]string, 0, 2*len(auditPackedCols))
	for _, c := range auditPackedCols {
		v := c
		if c == "seq" || c == "created_at" {
			v = "CAST(" + c + " AS TEXT)"
		}
		parts = append(parts, "octet_length("+v+") + "+strconv.Itoa(packedLenBase), v)
	}
	return "concat(" + strings.Join(parts, ", ") + ")"
}()

// packedLenBase is added to each length so that every length has ten
// digits.
const packedLenBase = 1_000_000_000

var errPacked = errors.New("store: audit event does not decode")

// decodePacked decodes a row of auditPacked into e. Its strings are
// slices of row.
func decodePacked(row string, e *AuditRecord) error {
	var f [19]string
	if len(auditPackedCols) != len(f) {
		return errPacked
	}
	s := row
	for i := range f {
		if len(s) < 10 || s[0] != '1' {
			return errPacked
		}
		n := 0
		for _, c := range []byte(s[1:10]) {
			if c < '0' || c > '9' {
				return errPacked
			}
			n = n*10 + int(c-'0')
		}
		s = s[10:]
		if n > len(s) {
			return errPacked
		}
		f[i], s = s[:n], s[n:]
	}
	if s != "" {
		return errPacked
	}
	seq, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return fmt.Errorf("%w: seq %q", errPacked, f[2])
	}
	created, err := strconv.ParseInt(f[15], 10, 64)
	if err != nil {
		return fmt.Errorf("%w: created_at %q", errPacked, f[15])
	}
	*e = AuditRecord{SubjectID: f[4]}
	e.ID, e.Chain, e.Seq, e.BusinessID = f[0], f[1], seq, f[3]
	e.ActorID, e.ActorEmail, e.Action, e.Category = f[5], f[6], f[7], f[8]
	e.TargetType, e.TargetID, e.IP, e.UserAgent = f[9], f[10], f[11], f[12]
	e.Before, e.After, e.CreatedAt = f[13], f[14], fromTS(created)
	e.PrevHash, e.Hash, e.SessionID = f[16], f[17], f[18]
	return nil
}

// ChainEnd is the last character of a chain's name, as
// EachAuditEventByChainEnd selects chains by it: "" for an empty name.
func ChainEnd(chain string) string {
	if chain == "" {
		return ""
	}
	r, _ := utf8.DecodeLastRuneInString(chain)
	return string(r)
}

// EachAuditEventByChainEnd calls fn for every event whose chain's name
// ends in one of ends (except: in none of them; with no ends, every
// event), in the order the database keeps them (no ORDER BY: a
// sequential read), streaming. Calls with disjoint sets of ends read
// disjoint sets of chains, so they can run at once on separate
// connections, and a set with except = true next to the others' ends
// covers every chain that remains, whatever its name.
//
// Each event is read as one packed text (auditPacked); the record fn gets
// is reused for the next event, and its strings share one allocation per
// event: fn copies what it keeps (strings.Clone), or keeps a string alive
// with the whole row.
//
// On PostgreSQL the read runs in a transaction that turns parallel
// workers off for it: callers already read parts at once, and a Gather
// would interleave the workers' rows, cutting each chain into many pieces.
func (db *DB) EachAuditEventByChainEnd(ctx context.Context, ends []string, except bool, fn func(*AuditRecord) error) error {
	if len(ends) == 0 && !except {
		return nil
	}
	s := db.queries
	if db.dialect == Postgres {
		tx, err := db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return fmt.Errorf("store: audit scan: %w", err)
		}
		defer func() { _ = tx.Rollback() }() // read only: nothing to keep
		if _, err := tx.ExecContext(ctx, `SET LOCAL max_parallel_workers_per_gather = 0`); err != nil {
			return fmt.Errorf("store: audit scan: %w", err)
		}
		s = queries{q: tx}
	}
	q := `SELECT ` + auditPacked + ` FROM audit_events`
	args := make([]any, len(ends))
	if len(ends) > 0 {
		ph := make([]string, len(ends))
		for i, c := range ends {
			args[i] = c
			ph[i] = "$" + strconv.Itoa(i+1)
		}
		op := " IN ("
		if except {
			op = " NOT IN ("
		}
		q += ` WHERE substr(chain, length(chain), 1)` + op + strings.Join(ph, ", ") + ")"
	}
	rows, err := s.q.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: audit scan: %w", err)
	}
	defer rows.Close()
	var row string
	var e AuditRecord
	for rows.Next() {
		if err := rows.Scan(&row); err != nil {
			return fmt.Errorf("store: audit scan: %w", err)
		}
		if err := decodePacked(row, &e); err != nil {
			return err
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	return rows.Err()
}
