package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PhishingReport is one report of suspected phishing (internal/phishreport).
type PhishingReport struct {
	ID             string
	Source         string // web, api, smtp
	Kind           string // message, link
	ReporterUserID string // "" when not signed in
	ReporterEmail  string // the account's email, or the SMTP envelope sender
	ReporterIP     string
	ReceivedAt     time.Time
	Verdict        string
	Score          int
	Reasons        string // JSON array of {code, message}
	Analysis       string // JSON of the whole analysis
	FromHeader     string
	Subject        string
	MessageID      string
	URL            string
	Note           string
	RawSHA256      string
	RawSize        int
	Raw            []byte // nil once erased (or for a link)
	RawExpiresAt   time.Time
}

const phishingCols = `id, source, kind, reporter_user_id, reporter_email, reporter_ip, received_at, verdict, score, reasons, analysis,
	from_header, subject, message_id, url, note, raw_sha256, raw_size, raw_expires_at`

// AddPhishingReport stores a report.
func (s queries) AddPhishingReport(ctx context.Context, r PhishingReport) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO phishing_reports (`+phishingCols+`, raw)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20)`,
		r.ID, r.Source, r.Kind, r.ReporterUserID, r.ReporterEmail, r.ReporterIP, ts(r.ReceivedAt), r.Verdict, r.Score, r.Reasons, r.Analysis,
		r.FromHeader, r.Subject, r.MessageID, r.URL, r.Note, r.RawSHA256, r.RawSize, ts(r.RawExpiresAt), r.Raw)
	if err != nil {
		return fmt.Errorf("store: add phishing report: %w", err)
	}
	return nil
}

func scanPhishingReport(row interface{ Scan(...any) error }) (PhishingReport, error) {
	var r PhishingReport
	var received, expires int64
	err := row.Scan(&r.ID, &r.Source, &r.Kind, &r.ReporterUserID, &r.ReporterEmail, &r.ReporterIP, &received, &r.Verdict, &r.Score, &r.Reasons, &r.Analysis,
		&r.FromHeader, &r.Subject, &r.MessageID, &r.URL, &r.Note, &r.RawSHA256, &r.RawSize, &expires)
	if err != nil {
		return r, err
	}
	r.ReceivedAt, r.RawExpiresAt = fromTS(received), fromTS(expires)
	return r, nil
}

// PhishingReportFilter selects reports, newest first.
type PhishingReportFilter struct {
	ReporterUserID string // "" = every reporter
	// BeforeTime and BeforeID continue a page after the last report shown.
	BeforeTime time.Time
	BeforeID   string
	Limit      int
}

// ListPhishingReports lists reports, newest first, without their raw
// messages.
func (s queries) ListPhishingReports(ctx context.Context, f PhishingReportFilter) ([]PhishingReport, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q := `SELECT ` + phishingCols + ` FROM phishing_reports WHERE ($1 = '' OR reporter_user_id = $1)`
	args := []any{f.ReporterUserID}
	if !f.BeforeTime.IsZero() {
		q += ` AND (received_at < $2 OR (received_at = $2 AND id < $3))`
		args = append(args, ts(f.BeforeTime), f.BeforeID)
	}
	q += fmt.Sprintf(` ORDER BY received_at DESC, id DESC LIMIT %d`, f.Limit)
	rows, err := s.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list phishing reports: %w", err)
	}
	defer rows.Close()
	var out []PhishingReport
	for rows.Next() {
		r, err := scanPhishingReport(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scan phishing report: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// GetPhishingReport returns one report with its raw message (nil once
// erased).
func (s queries) GetPhishingReport(ctx context.Context, id string) (PhishingReport, error) {
	row := s.q.QueryRowContext(ctx, `SELECT `+phishingCols+`, raw FROM phishing_reports WHERE id = $1`, id)
	var r PhishingReport
	var received, expires int64
	err := row.Scan(&r.ID, &r.Source, &r.Kind, &r.ReporterUserID, &r.ReporterEmail, &r.ReporterIP, &received, &r.Verdict, &r.Score, &r.Reasons, &r.Analysis,
		&r.FromHeader, &r.Subject, &r.MessageID, &r.URL, &r.Note, &r.RawSHA256, &r.RawSize, &expires, &r.Raw)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("store: get phishing report: %w", err)
	}
	r.ReceivedAt, r.RawExpiresAt = fromTS(received), fromTS(expires)
	return r, nil
}

// EraseExpiredReportMessages erases the raw messages of reports whose
// retention ended, keeping their hash and analysis. It returns how many.
func (s queries) EraseExpiredReportMessages(ctx context.Context, now time.Time) (int, error) {
	res, err := s.q.ExecContext(ctx, `UPDATE phishing_reports SET raw = NULL WHERE raw IS NOT NULL AND raw_expires_at <= $1`, ts(now))
	if err != nil {
		return 0, fmt.Errorf("store: erase report messages: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// SentEmailUserID returns the user an outbox message was about ("" when
// none or unknown): whom a ledger entry was sent to, even after the user
// changed their email address.
func (s queries) SentEmailUserID(ctx context.Context, outboxID string) (string, error) {
	var id string
	err := s.q.QueryRowContext(ctx, `SELECT user_id FROM outbox WHERE id = $1`, outboxID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: outbox user: %w", err)
	}
	return id, nil
}
