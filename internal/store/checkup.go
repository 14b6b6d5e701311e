package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/checkup"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// The security checkup's storage (internal/checkup declares the interface).
var _ checkup.Store = (*DB)(nil)

// SecondStepProtection reads a user's confirmed second-step methods and
// backup codes left, as the two-step and checkup rules see them (phones
// told apart by MAC).
func (s queries) SecondStepProtection(ctx context.Context, userID string) ([]twostep.Method, int, error) {
	ms, err := s.ListMethods(ctx, userID)
	if err != nil {
		return nil, 0, err
	}
	var out []twostep.Method
	for _, m := range ms {
		if m.Confirmed {
			out = append(out, twostep.Method{ID: m.ID, Kind: m.Kind, Phone: m.Data})
		}
	}
	left, err := s.CountBackupCodesLeft(ctx, userID)
	return out, left, err
}

func placeholders(from, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = fmt.Sprintf("$%d", from+i)
	}
	return strings.Join(ps, ", ")
}

// CheckupAccountFacts gathers what the checkup knows of a user: methods,
// password, contact, phrase, email deliveries, SMS settings, and their
// security-relevant audit events since since.
func (db *DB) CheckupAccountFacts(ctx context.Context, userID string, since time.Time) (checkup.AccountFacts, error) {
	f := checkup.AccountFacts{UserID: userID, SMSOn: map[string]bool{}, Acks: map[string]time.Time{}}
	var changed, created, ec, pc int64
	var phone, phrase string
	err := db.q.QueryRowContext(ctx, `SELECT email, created_at, password_changed_at, must_change_password, phone_sealed, email_confirmed_at, phone_confirmed_at, phishing_phrase
		FROM users WHERE id = $1`, userID).Scan(&f.Email, &created, &changed, &f.MustChangePassword, &phone, &ec, &pc, &phrase)
	if errors.Is(err, sql.ErrNoRows) {
		return f, ErrNotFound
	}
	if err != nil {
		return f, fmt.Errorf("store: checkup user: %w", err)
	}
	f.CreatedAt, f.PasswordChangedAt, f.EmailConfirmedAt, f.PhoneConfirmedAt = fromTS(created), fromTS(changed), fromTS(ec), fromTS(pc)
	f.HasPhone, f.PhraseSet = phone != "", phrase != ""
	if f.Methods, f.BackupCodesLeft, err = db.SecondStepProtection(ctx, userID); err != nil {
		return f, err
	}
	// Failed emails after the newest delivered one.
	var lastSent int64
	if err := db.q.QueryRowContext(ctx, `SELECT COALESCE(MAX(created_at), 0) FROM outbox WHERE user_id = $1 AND channel = 'email' AND status = 'sent'`, userID).Scan(&lastSent); err != nil {
		return f, fmt.Errorf("store: checkup deliveries: %w", err)
	}
	if err := db.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE user_id = $1 AND channel = 'email' AND status = 'failed' AND created_at > $2`, userID, lastSent).Scan(&f.FailedEmails); err != nil {
		return f, fmt.Errorf("store: checkup deliveries: %w", err)
	}
	prefs, err := db.NotificationPrefs(ctx, userID)
	if err != nil {
		return f, err
	}
	for _, p := range prefs {
		if p.Channel == sellerguard.ChannelSMS && p.Enabled {
			f.SMSOn[p.Event] = true
		}
	}
	actions := checkup.EventActions()
	args := []any{userID, ts(since)}
	for _, a := range actions {
		args = append(args, a)
	}
	rows, err := db.q.QueryContext(ctx, `SELECT id, action, created_at, ip, user_agent, after_json FROM audit_events
		WHERE subject_id = $1 AND created_at >= $2 AND action IN (`+placeholders(3, len(actions))+`)
		ORDER BY created_at, id LIMIT 20000`, args...)
	if err != nil {
		return f, fmt.Errorf("store: checkup events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e checkup.AuditFact
		var at int64
		var after string
		if err := rows.Scan(&e.ID, &e.Action, &at, &e.IP, &e.UserAgent, &after); err != nil {
			return f, fmt.Errorf("store: checkup events: %w", err)
		}
		e.At = fromTS(at)
		if after != "" {
			_ = json.Unmarshal([]byte(after), &e.After) // a field the checkup cannot read counts as absent
		}
		f.Audit = append(f.Audit, e)
	}
	if err := rows.Err(); err != nil {
		return f, err
	}
	arows, err := db.q.QueryContext(ctx, `SELECT event_id, acked_at FROM checkup_acks WHERE user_id = $1`, userID)
	if err != nil {
		return f, fmt.Errorf("store: checkup acks: %w", err)
	}
	defer arows.Close()
	for arows.Next() {
		var id string
		var at int64
		if err := arows.Scan(&id, &at); err != nil {
			return f, fmt.Errorf("store: checkup acks: %w", err)
		}
		f.Acks[id] = fromTS(at)
	}
	return f, arows.Err()
}

// AckCheckupEvent stores "This was me" for one of the user's events whose
// action is among actions; the first acknowledgement's time stays.
func (db *DB) AckCheckupEvent(ctx context.Context, userID, eventID string, actions []string, at time.Time) (time.Time, bool, error) {
	var acked time.Time
	found := false
	err := db.WithTx(ctx, func(tx *Tx) error {
		args := []any{eventID, userID}
		for _, a := range actions {
			args = append(args, a)
		}
		var n int
		if err := tx.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE id = $1 AND subject_id = $2 AND action IN (`+placeholders(3, len(actions))+`)`, args...).Scan(&n); err != nil {
			return fmt.Errorf("store: ack event: %w", err)
		}
		if n == 0 {
			return nil
		}
		found = true
		if _, err := tx.q.ExecContext(ctx, `INSERT INTO checkup_acks (user_id, event_id, acked_at) VALUES ($1, $2, $3) ON CONFLICT (user_id, event_id) DO NOTHING`, userID, eventID, ts(at)); err != nil {
			return fmt.Errorf("store: ack event: %w", err)
		}
		var v int64
		if err := tx.q.QueryRowContext(ctx, `SELECT acked_at FROM checkup_acks WHERE user_id = $1 AND event_id = $2`, userID, eventID).Scan(&v); err != nil {
			return fmt.Errorf("store: ack event: %w", err)
		}
		acked = fromTS(v)
		return nil
	})
	return acked, found, err
}

// RecordCheckupStatus stores the status when it differs from the user's
// newest stored one. On PostgreSQL the user's row is locked first, so two
// readers at once store one change, not two.
func (db *DB) RecordCheckupStatus(ctx context.Context, userID string, c checkup.StatusChange) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		if tx.Dialect() == Postgres {
			if _, err := tx.q.ExecContext(ctx, `SELECT id FROM users WHERE id = $1 FOR UPDATE`, userID); err != nil {
				return fmt.Errorf("store: checkup status: %w", err)
			}
		}
		var last string
		err := tx.q.QueryRowContext(ctx, `SELECT status FROM checkup_status_history WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1`, userID).Scan(&last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: checkup status: %w", err)
		}
		if last == c.Status {
			return nil
		}
		_, err = tx.q.ExecContext(ctx, `INSERT INTO checkup_status_history (user_id, status, reasons, created_at) VALUES ($1, $2, $3, $4)`,
			userID, c.Status, strings.Join(c.Reasons, ","), ts(c.At))
		if err != nil {
			return fmt.Errorf("store: checkup status: %w", err)
		}
		return nil
	})
}

// CheckupStatusHistory lists a user's status changes, newest first.
func (db *DB) CheckupStatusHistory(ctx context.Context, userID string, limit int) ([]checkup.StatusChange, error) {
	rows, err := db.q.QueryContext(ctx, `SELECT status, reasons, created_at FROM checkup_status_history WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: checkup history: %w", err)
	}
	defer rows.Close()
	out := []checkup.StatusChange{}
	for rows.Next() {
		var c checkup.StatusChange
		var reasons string
		var at int64
		if err := rows.Scan(&c.Status, &reasons, &at); err != nil {
			return nil, fmt.Errorf("store: checkup history: %w", err)
		}
		c.Reasons = []string{}
		if reasons != "" {
			c.Reasons = strings.Split(reasons, ",")
		}
		c.At = fromTS(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// CheckupBusinessFacts gathers what the business checkup knows of a
// business: its rules, members (with methods, sign-ins and area use),
// pending invitations, reviews and deposit accounts.
func (db *DB) CheckupBusinessFacts(ctx context.Context, businessID string, now time.Time) (checkup.BusinessFacts, error) {
	f := checkup.BusinessFacts{BusinessID: businessID}
	var created int64
	var req2, strict, backup int
	err := db.q.QueryRowContext(ctx, `SELECT name, created_at, require_two_step, strict_passwords, require_backup_method, review_interval_days FROM businesses WHERE id = $1`, businessID).
		Scan(&f.Name, &created, &req2, &strict, &backup, &f.ReviewIntervalDays)
	if errors.Is(err, sql.ErrNoRows) {
		return f, ErrNotFound
	}
	if err != nil {
		return f, fmt.Errorf("store: checkup business: %w", err)
	}
	f.CreatedAt, f.RequireTwoStep, f.StrictPasswords, f.RequireBackupMethod = fromTS(created), req2 == 1, strict == 1, backup == 1
	var done int64
	if err := db.q.QueryRowContext(ctx, `SELECT COALESCE(MAX(completed_at), 0) FROM access_reviews WHERE business_id = $1 AND status = 'completed'`, businessID).Scan(&done); err != nil {
		return f, fmt.Errorf("store: checkup reviews: %w", err)
	}
	f.LastCompletedReview = fromTS(done)
	members, err := db.ListMembers(ctx, businessID)
	if err != nil {
		return f, err
	}
	signIns, err := db.LastSignIns(ctx, businessID)
	if err != nil {
		return f, err
	}
	uses, err := db.AreaUses(ctx, businessID)
	if err != nil {
		return f, err
	}
	for _, m := range members {
		mf := checkup.MemberFacts{UserID: m.UserID, Email: m.Email, Role: m.Role, Status: m.Status, JoinedAt: m.CreatedAt,
			LastSignInAt: signIns[m.UserID], Permissions: m.Permissions, EditSince: m.EditSince, EditedAt: map[string]time.Time{}}
		for area, u := range uses[m.UserID] {
			mf.EditedAt[area] = u.EditedAt
		}
		if mf.Methods, mf.BackupCodesLeft, err = db.SecondStepProtection(ctx, m.UserID); err != nil {
			return f, err
		}
		f.Members = append(f.Members, mf)
	}
	rows, err := db.q.QueryContext(ctx, `SELECT id, email, created_at FROM invitations WHERE business_id = $1 AND status = 'pending' ORDER BY created_at`, businessID)
	if err != nil {
		return f, fmt.Errorf("store: checkup invitations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var inv checkup.InvitationFacts
		var at int64
		if err := rows.Scan(&inv.ID, &inv.Email, &at); err != nil {
			return f, fmt.Errorf("store: checkup invitations: %w", err)
		}
		inv.CreatedAt = fromTS(at)
		f.Invitations = append(f.Invitations, inv)
	}
	if err := rows.Err(); err != nil {
		return f, err
	}
	accts, err := db.DepositAccounts(ctx, businessID)
	if err != nil {
		return f, err
	}
	for _, a := range accts {
		f.DepositAccounts = append(f.DepositAccounts, checkup.DepositFacts{ID: a.ID, Last4: a.Last4, CreatedAt: a.CreatedAt, ActiveFrom: a.ActiveFrom})
	}
	return f, nil
}

// SetBusinessBackupMethodRule sets the business rule "a backup method is
// required".
func (s queries) SetBusinessBackupMethodRule(ctx context.Context, businessID string, required bool) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE businesses SET require_backup_method = $1 WHERE id = $2`, boolInt(required), businessID); err != nil {
		return fmt.Errorf("store: business backup rule: %w", err)
	}
	return nil
}

// SetTwoStepReenrolment marks (or, with the zero time, clears) that a user
// must enrol two-step verification again before reaching business data.
func (s queries) SetTwoStepReenrolment(ctx context.Context, userID string, at time.Time) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE users SET two_step_reenrol_at = $1 WHERE id = $2`, ts(at), userID); err != nil {
		return fmt.Errorf("store: two-step re-enrolment: %w", err)
	}
	return nil
}

// DeleteAllMethods removes every second-step method and backup code of a
// user (an owner's demand that the member enrol again).
func (s queries) DeleteAllMethods(ctx context.Context, userID string) (int64, error) {
	res, err := s.q.ExecContext(ctx, `DELETE FROM two_step_methods WHERE user_id = $1`, userID)
	if err != nil {
		return 0, fmt.Errorf("store: delete methods: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := s.q.ExecContext(ctx, `DELETE FROM backup_codes WHERE user_id = $1`, userID); err != nil {
		return 0, fmt.Errorf("store: delete backup codes: %w", err)
	}
	return n, nil
}
