package audit

import (
	"context"
	"encoding/csv"
	"io"
	"strconv"
	"strings"

	"github.com/sellerguard/sellerguard/internal/store"
)

// CSVHeader is the header row of the audit log's CSV export (the page
// /account/audit.csv and `sellerguard audit export`).
var CSVHeader = []string{"created_at", "business_id", "actor_id", "actor_email", "action", "category", "target_type", "target_id", "ip", "user_agent", "before", "after", "chain", "seq", "hash"}

// CSVSafe defuses spreadsheet formula injection in a cell.
func CSVSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// CSVRecord is one event as a row of the export, in CSVHeader's order.
func CSVRecord(e store.AuditRecord) []string {
	return []string{
		e.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000Z07:00"), e.BusinessID, e.ActorID, CSVSafe(e.ActorEmail), e.Action, e.Category,
		e.TargetType, e.TargetID, CSVSafe(e.IP), CSVSafe(e.UserAgent), CSVSafe(e.Before), CSVSafe(e.After), e.Chain, strconv.FormatInt(e.Seq, 10), e.Hash,
	}
}

// ExportCSV writes the whole log (chain "") or one chain as CSV to w,
// ordered by chain and sequence, and returns the number of events written.
// It streams: each row is written as it is read, so memory stays the same
// whatever the size of the log (docs/benchmarks.md measures it).
func ExportCSV(ctx context.Context, db *store.DB, chain string, w io.Writer) (int64, error) {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return 0, err
	}
	var n int64
	write := func(e store.AuditRecord) error {
		n++
		return cw.Write(CSVRecord(e))
	}
	var err error
	if chain == "" {
		err = db.EachAuditEvent(ctx, write)
	} else {
		err = db.EachAuditEventOfChain(ctx, chain, write)
	}
	if err != nil {
		return n, err
	}
	cw.Flush()
	return n, cw.Error()
}
