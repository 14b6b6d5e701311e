package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// auditPackedCols are the columns of auditCols, in that order, as they
// travel packed.
var auditPackedCols = strings.Split(strings.ReplaceAll(auditCols, " ", ""), ",")

// auditPacked selects every stored column of an event as ONE text: the
// columns' values (integers as their decimal text: the same CAST in both
// databases) joined by packedSep, each with every packedEsc byte in it
// doubled. The escaping makes the packing one-to-one, so a row decodes
// to exactly the values its columns hold (concat_ws leaves a NULL out,
// and a row with fewer than nineteen values does not decode). Reading one value instead of
// nineteen is what makes `audit verify` fast on SQLite: the driver's
// per-column work (three calls under the connection's lock and a string
// each) happens once per row. $1, $2 and $3 are packedArgs.
var auditPacked = func() string {
	parts := make([]string, 0, len(auditPackedCols))
	for _, c := range auditPackedCols {
		v := c
		if c == "seq" || c == "created_at" {
			v = "CAST(" + c + " AS TEXT)"
		}
		parts = append(parts, "replace("+v+", $1, $2)")
	}
	return "concat_ws($3, " + strings.Join(parts, ", ") + ")"
}()

// The packing's escape byte (US, unit separator: no real value holds it,
// so normally nothing is escaped) and field separator.
const (
	packedEsc = "\x1f"
	packedSep = packedEsc + ","
)

// packedArgs are auditPacked's parameters.
var packedArgs = []any{packedEsc, packedEsc + packedEsc, packedSep}

var errPacked = errors.New("store: audit event does not decode")

// decodePacked decodes a row of auditPacked into e. Its strings are
// slices of row (copies only where a value held the escape byte).
func decodePacked(row string, e *AuditRecord) error {
	var f [19]string
	if len(auditPackedCols) != len(f) {
		return errPacked
	}
	s := row
	for i := range f {
		end, escaped := -1, false
		for j := 0; j < len(s); j++ {
			if s[j] != packedEsc[0] {
				continue
			}
			if j+1 < len(s) && s[j+1] == packedEsc[0] {
				escaped = true
				j++
				continue
			}
			if j+1 < len(s) && s[j+1] == packedSep[1] {
				end = j
				break
			}
			return errPacked
		}
		switch {
		case end < 0 && i < len(f)-1:
			return errPacked
		case end < 0:
			f[i], s = s, ""
		default:
			f[i], s = s[:end], s[end+len(packedSep):]
		}
		if escaped {
			f[i] = strings.ReplaceAll(f[i], packedEsc+packedEsc, packedEsc)
		}
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
		s = queries{q: tx, dialect: Postgres}
	}
	q := `SELECT ` + auditPacked + ` FROM audit_events`
	args := slices.Clone(packedArgs)
	if len(ends) > 0 {
		ph := make([]string, len(ends))
		for i, c := range ends {
			args = append(args, c)
			ph[i] = "$" + strconv.Itoa(len(args))
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
