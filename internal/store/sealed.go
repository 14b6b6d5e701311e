package store

import (
	"context"
	"fmt"
	"time"
)

// SealedField is one column holding values sealed under the instance keys
// (internal/keys), with what opening one needs: the row's key, the
// associated data bound in, and the sealing purpose. Every sealed column is
// listed in SealedFields, so that key rotation re-seals all of them; a new
// sealed column must be added there.
type SealedField struct {
	Name    string // "table.column"
	table   string
	column  string
	rowKey  string // unique, orders the batches
	aad     string // SQL expression: the associated data
	purpose string // SQL expression: the sealing purpose
	where   string // extra condition ("" for none)
}

// SealedFields lists every sealed column, in the order key rotation walks
// them.
var SealedFields = []SealedField{
	{Name: "two_step_methods.secret_sealed", table: "two_step_methods", column: "secret_sealed", rowKey: "id", aad: "id",
		purpose: "CASE kind WHEN 'totp' THEN 'totp' ELSE 'phone' END", where: "kind IN ('totp', 'sms', 'voice')"},
	{Name: "users.phone_sealed", table: "users", column: "phone_sealed", rowKey: "id", aad: "id", purpose: "'phone'"},
	{Name: "signups.phone_sealed", table: "signups", column: "phone_sealed", rowKey: "email_norm", aad: "email_norm", purpose: "'phone'"},
	{Name: "contact_changes.new_value_sealed", table: "contact_changes", column: "new_value_sealed", rowKey: "id", aad: "user_id", purpose: "'contact'"},
	{Name: "contact_changes.old_value_sealed", table: "contact_changes", column: "old_value_sealed", rowKey: "id", aad: "user_id", purpose: "'contact'"},
	{Name: "deposit_accounts.number_sealed", table: "deposit_accounts", column: "number_sealed", rowKey: "id", aad: "id", purpose: "'deposit-account'"},
	{Name: "one_time_results.data_sealed", table: "one_time_results", column: "data_sealed", rowKey: "id", aad: "session_id || ':' || kind", purpose: "'one-time-result'"},
}

// FindSealedField returns the field of a name.
func FindSealedField(name string) (SealedField, bool) {
	for _, f := range SealedFields {
		if f.Name == name {
			return f, true
		}
	}
	return SealedField{}, false
}

// SealedValue is one stored sealed value.
type SealedValue struct {
	RowKey  string
	AAD     string
	Purpose string
	Sealed  string
}

func (f SealedField) cond() string {
	c := f.column + ` <> ''`
	if f.where != "" {
		c += ` AND ` + f.where
	}
	return c
}

// SealedBatch returns up to limit non-empty values of f from rows whose key
// sorts after after, in key order.
func (s queries) SealedBatch(ctx context.Context, f SealedField, after string, limit int) ([]SealedValue, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+f.rowKey+`, `+f.aad+`, `+f.purpose+`, `+f.column+` FROM `+f.table+
		` WHERE `+f.cond()+` AND `+f.rowKey+` > $1 ORDER BY `+f.rowKey+` LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: sealed batch %s: %w", f.Name, err)
	}
	defer rows.Close()
	var out []SealedValue
	for rows.Next() {
		var v SealedValue
		if err := rows.Scan(&v.RowKey, &v.AAD, &v.Purpose, &v.Sealed); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ReplaceSealed swaps one sealed value for another, only if the row still
// holds old (a value changed meanwhile is left alone). It reports whether
// the row was changed.
func (s queries) ReplaceSealed(ctx context.Context, f SealedField, rowKey, old, updated string) (bool, error) {
	res, err := s.q.ExecContext(ctx, `UPDATE `+f.table+` SET `+f.column+` = $1 WHERE `+f.rowKey+` = $2 AND `+f.column+` = $3`, updated, rowKey, old)
	if err != nil {
		return false, fmt.Errorf("store: replace sealed %s: %w", f.Name, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// CountSealedNotUnder counts the non-empty values of every sealed field not
// sealed under the key version (prefix "v<version>.").
func (s queries) CountSealedNotUnder(ctx context.Context, version int) (map[string]int64, error) {
	out := map[string]int64{}
	prefix := fmt.Sprintf("v%d.%%", version)
	for _, f := range SealedFields {
		var n int64
		if err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+f.table+` WHERE `+f.cond()+` AND `+f.column+` NOT LIKE $1`, prefix).Scan(&n); err != nil {
			return nil, fmt.Errorf("store: count sealed %s: %w", f.Name, err)
		}
		out[f.Name] = n
	}
	return out, nil
}

// Key rotation statuses.
const (
	RotationRunning = "running"
	RotationDone    = "done"
)

// KeyRotation is one rotation to a new key version and its progress.
type KeyRotation struct {
	Version    int
	Status     string
	Field      string // the sealed field being worked through; "" when done
	AfterKey   string // the last row key of Field re-sealed
	Passes     int    // full passes over every field so far
	Resealed   int64
	StartedBy  string
	StartedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time
}

const rotationCols = `version, status, field, after_key, passes, resealed, started_by, started_at, updated_at, finished_at`

func scanRotation(row interface{ Scan(...any) error }) (KeyRotation, error) {
	var r KeyRotation
	var started, updated, finished int64
	err := row.Scan(&r.Version, &r.Status, &r.Field, &r.AfterKey, &r.Passes, &r.Resealed, &r.StartedBy, &started, &updated, &finished)
	if ErrNoRows(err) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("store: key rotation: %w", err)
	}
	r.StartedAt, r.UpdatedAt, r.FinishedAt = fromTS(started), fromTS(updated), fromTS(finished)
	return r, nil
}

// RunningKeyRotation returns the rotation in progress; ErrNotFound if none.
func (s queries) RunningKeyRotation(ctx context.Context) (KeyRotation, error) {
	return scanRotation(s.q.QueryRowContext(ctx, `SELECT `+rotationCols+` FROM key_rotations WHERE status = $1`, RotationRunning))
}

// KeyRotations lists every rotation, newest first.
func (s queries) KeyRotations(ctx context.Context) ([]KeyRotation, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+rotationCols+` FROM key_rotations ORDER BY version DESC`)
	if err != nil {
		return nil, fmt.Errorf("store: key rotations: %w", err)
	}
	defer rows.Close()
	var out []KeyRotation
	for rows.Next() {
		r, err := scanRotation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CreateKeyRotation records a new rotation; ErrConflict when another one
// runs or the version was used.
func (s queries) CreateKeyRotation(ctx context.Context, r KeyRotation) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO key_rotations (`+rotationCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
		r.Version, r.Status, r.Field, r.AfterKey, r.Passes, r.Resealed, r.StartedBy, ts(r.StartedAt), ts(r.UpdatedAt), ts(r.FinishedAt))
	if isUniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: create key rotation: %w", err)
	}
	return nil
}

// SaveKeyRotation writes a rotation's progress and status.
func (s queries) SaveKeyRotation(ctx context.Context, r KeyRotation) error {
	_, err := s.q.ExecContext(ctx, `UPDATE key_rotations SET status = $1, field = $2, after_key = $3, passes = $4, resealed = $5, updated_at = $6, finished_at = $7
		WHERE version = $8`, r.Status, r.Field, r.AfterKey, r.Passes, r.Resealed, ts(r.UpdatedAt), ts(r.FinishedAt), r.Version)
	if err != nil {
		return fmt.Errorf("store: save key rotation: %w", err)
	}
	return nil
}

// LatestKeyVersion returns the highest key version any rotation used (0
// when there was none).
func (s queries) LatestKeyVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM key_rotations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: latest key version: %w", err)
	}
	return v, nil
}

// StoredCardNumber is a full card number sealed before SellerGuard stopped
// keeping them (schema 16).
type StoredCardNumber struct {
	BusinessID string
	Sealed     string
}

// StoredCardNumbers returns up to limit charge methods that still hold a
// sealed full card number.
func (s queries) StoredCardNumbers(ctx context.Context, limit int) ([]StoredCardNumber, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT business_id, number_sealed FROM charge_methods WHERE number_sealed <> '' ORDER BY business_id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: stored card numbers: %w", err)
	}
	defer rows.Close()
	var out []StoredCardNumber
	for rows.Next() {
		var c StoredCardNumber
		if err := rows.Scan(&c.BusinessID, &c.Sealed); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ForgetCardNumber empties a charge method's sealed full number, keeping
// its fingerprint instead ("" when the number could not be opened).
func (s queries) ForgetCardNumber(ctx context.Context, businessID, sealed, fingerprint string) error {
	_, err := s.q.ExecContext(ctx, `UPDATE charge_methods SET number_sealed = '', fingerprint = $1 WHERE business_id = $2 AND number_sealed = $3`, fingerprint, businessID, sealed)
	if err != nil {
		return fmt.Errorf("store: forget card number: %w", err)
	}
	return nil
}
