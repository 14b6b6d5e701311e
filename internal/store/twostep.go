package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// TwoStepMethod is an enrolled (or enrolling) second-step method as stored.
// SecretSealed holds what must stay secret (a TOTP secret, a phone number),
// sealed under the instance key; Data holds public data (a passkey's
// credential).
type TwoStepMethod struct {
	ID           string
	UserID       string
	Kind         string
	Label        string
	SecretSealed string
	Data         string
	Confirmed    bool
	LastStep     int64
	CreatedAt    time.Time
	LastUsedAt   time.Time
	// CredentialID is a passkey's credential id (standard base64, as in
	// Data), unique across all users; "" for the other kinds.
	CredentialID string
	// Held: added since a sign-in email change that was undone; it waits
	// for the owner's decision (internal/account/holds.go) and is not
	// Confirmed until then, so nothing signs in or steps up with it.
	Held bool
}

const methodCols = `id, user_id, kind, label, secret_sealed, data, confirmed, last_step, created_at, last_used_at, credential_id, held`

func scanMethod(row interface{ Scan(...any) error }) (TwoStepMethod, error) {
	var m TwoStepMethod
	var confirmed, held int
	var created, used int64
	err := row.Scan(&m.ID, &m.UserID, &m.Kind, &m.Label, &m.SecretSealed, &m.Data, &confirmed, &m.LastStep, &created, &used, &m.CredentialID, &held)
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("store: scan method: %w", err)
	}
	m.Held = held == 1
	m.Confirmed, m.CreatedAt, m.LastUsedAt = confirmed == 1 && !m.Held, fromTS(created), fromTS(used)
	return m, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateMethod stores a method; ErrConflict when its passkey credential id
// is registered already (to anyone).
func (s queries) CreateMethod(ctx context.Context, m TwoStepMethod) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO two_step_methods (`+methodCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`,
		m.ID, m.UserID, m.Kind, m.Label, m.SecretSealed, m.Data, boolInt(m.Confirmed || m.Held), m.LastStep, ts(m.CreatedAt), ts(m.LastUsedAt), m.CredentialID, boolInt(m.Held))
	if isUniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: create method: %w", err)
	}
	return nil
}

// PasskeyCredentialTaken reports whether a passkey with this credential id
// (standard base64) is registered, to anyone.
func (s queries) PasskeyCredentialTaken(ctx context.Context, credentialID string) (bool, error) {
	var n int
	if err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM two_step_methods WHERE credential_id = $1`, credentialID).Scan(&n); err != nil {
		return false, fmt.Errorf("store: passkey credential: %w", err)
	}
	return n > 0, nil
}

// ListMethods lists a user's methods, oldest first.
func (s queries) ListMethods(ctx context.Context, userID string) ([]TwoStepMethod, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+methodCols+` FROM two_step_methods WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list methods: %w", err)
	}
	defer rows.Close()
	out := []TwoStepMethod{}
	for rows.Next() {
		m, err := scanMethod(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// FindMethod finds one of a user's methods.
func (s queries) FindMethod(ctx context.Context, userID, id string) (TwoStepMethod, error) {
	return scanMethod(s.q.QueryRowContext(ctx, `SELECT `+methodCols+` FROM two_step_methods WHERE user_id = $1 AND id = $2`, userID, id))
}

// ConfirmMethod marks an enrolling method confirmed and records the step
// (or counter) its confirmation used.
func (s queries) ConfirmMethod(ctx context.Context, userID, id string, step int64, at time.Time) error {
	res, err := s.q.ExecContext(ctx, `UPDATE two_step_methods SET confirmed = 1, last_step = $1, last_used_at = $2 WHERE user_id = $3 AND id = $4 AND confirmed = 0`, step, ts(at), userID, id)
	if err != nil {
		return fmt.Errorf("store: confirm method: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// UseMethodStep records that a method was used at step, only if step is
// after the last one used: a compare-and-set, so two requests racing with
// the same code cannot both win. ErrConflict when the step was used.
func (s queries) UseMethodStep(ctx context.Context, id string, step int64, at time.Time) error {
	res, err := s.q.ExecContext(ctx, `UPDATE two_step_methods SET last_step = $1, last_used_at = $2 WHERE id = $3 AND last_step < $1`, step, ts(at), id)
	if err != nil {
		return fmt.Errorf("store: use method: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	return nil
}

// UpdateMethodData replaces a method's public data (a passkey's sign count).
func (s queries) UpdateMethodData(ctx context.Context, id, data string, at time.Time) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE two_step_methods SET data = $1, last_used_at = $2 WHERE id = $3`, data, ts(at), id); err != nil {
		return fmt.Errorf("store: update method: %w", err)
	}
	return nil
}

// DeleteMethod removes one of a user's methods.
func (s queries) DeleteMethod(ctx context.Context, userID, id string) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM two_step_methods WHERE user_id = $1 AND id = $2`, userID, id)
	if err != nil {
		return fmt.Errorf("store: delete method: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteUnconfirmedMethods drops enrolments never confirmed before cutoff.
func (s queries) DeleteUnconfirmedMethods(ctx context.Context, cutoff time.Time) error {
	if _, err := s.q.ExecContext(ctx, `DELETE FROM two_step_methods WHERE confirmed = 0 AND created_at < $1`, ts(cutoff)); err != nil {
		return fmt.Errorf("store: expire enrolments: %w", err)
	}
	return nil
}

// ReplaceBackupCodes stores a new set of backup code MACs, invalidating the
// old set.
func (s queries) ReplaceBackupCodes(ctx context.Context, userID string, macs []string, at time.Time) error {
	if _, err := s.q.ExecContext(ctx, `DELETE FROM backup_codes WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("store: replace backup codes: %w", err)
	}
	for _, m := range macs {
		if _, err := s.q.ExecContext(ctx, `INSERT INTO backup_codes (user_id, code_mac, used_at, created_at) VALUES ($1, $2, 0, $3)`, userID, m, ts(at)); err != nil {
			return fmt.Errorf("store: replace backup codes: %w", err)
		}
	}
	return nil
}

// UseBackupCode marks an unused code used; ErrNotFound when there is no
// such unused code.
func (s queries) UseBackupCode(ctx context.Context, userID, mac string, at time.Time) error {
	res, err := s.q.ExecContext(ctx, `UPDATE backup_codes SET used_at = $1 WHERE user_id = $2 AND code_mac = $3 AND used_at = 0 AND held = 0`, ts(at), userID, mac)
	if err != nil {
		return fmt.Errorf("store: use backup code: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// CountBackupCodesLeft counts a user's unused backup codes.
func (s queries) CountBackupCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM backup_codes WHERE user_id = $1 AND used_at = 0 AND held = 0`, userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count backup codes: %w", err)
	}
	return n, nil
}

// Challenge is a code or ceremony in progress (an SMS code for a sign-in,
// a passkey ceremony's session data).
type Challenge struct {
	ID        string
	SessionID string
	UserID    string
	Kind      string
	MethodID  string
	CodeMAC   string
	Data      string
	Attempts  int
	Sends     int
	ExpiresAt time.Time
	CreatedAt time.Time
}

const challengeCols = `id, session_id, user_id, kind, method_id, code_mac, data, attempts, sends, expires_at, created_at`

// PutChallenge stores a challenge, replacing one with the same id.
func (s queries) PutChallenge(ctx context.Context, c Challenge) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO challenges (`+challengeCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)
		ON CONFLICT (id) DO UPDATE SET method_id = excluded.method_id, code_mac = excluded.code_mac, data = excluded.data,
			attempts = excluded.attempts, sends = excluded.sends, expires_at = excluded.expires_at`,
		c.ID, c.SessionID, c.UserID, c.Kind, c.MethodID, c.CodeMAC, c.Data, c.Attempts, c.Sends, ts(c.ExpiresAt), ts(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: put challenge: %w", err)
	}
	return nil
}

// FindChallenge returns a live challenge by id.
func (s queries) FindChallenge(ctx context.Context, id string, now time.Time) (Challenge, error) {
	var c Challenge
	var exp, created int64
	err := s.q.QueryRowContext(ctx, `SELECT `+challengeCols+` FROM challenges WHERE id = $1 AND expires_at > $2`, id, ts(now)).
		Scan(&c.ID, &c.SessionID, &c.UserID, &c.Kind, &c.MethodID, &c.CodeMAC, &c.Data, &c.Attempts, &c.Sends, &exp, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: find challenge: %w", err)
	}
	c.ExpiresAt, c.CreatedAt = fromTS(exp), fromTS(created)
	return c, nil
}

// DeleteChallenge removes a challenge.
func (s queries) DeleteChallenge(ctx context.Context, id string) error {
	if _, err := s.q.ExecContext(ctx, `DELETE FROM challenges WHERE id = $1`, id); err != nil {
		return fmt.Errorf("store: delete challenge: %w", err)
	}
	return nil
}

// DeleteExpiredChallenges removes challenges past their expiry.
func (s queries) DeleteExpiredChallenges(ctx context.Context, now time.Time) error {
	if _, err := s.q.ExecContext(ctx, `DELETE FROM challenges WHERE expires_at <= $1`, ts(now)); err != nil {
		return fmt.Errorf("store: expire challenges: %w", err)
	}
	return nil
}

// TrustedBrowser is a browser that may skip the second step until ExpiresAt.
type TrustedBrowser struct {
	ID         string
	UserID     string
	DeviceHash string
	IP         string
	UserAgent  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// PutTrustedBrowser trusts a browser (replacing an older trust of it).
func (s queries) PutTrustedBrowser(ctx context.Context, b TrustedBrowser) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO trusted_browsers (id, user_id, device_hash, ip, user_agent, created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7)
		ON CONFLICT (user_id, device_hash) DO UPDATE SET id = excluded.id, ip = excluded.ip, user_agent = excluded.user_agent, created_at = excluded.created_at, expires_at = excluded.expires_at`,
		b.ID, b.UserID, b.DeviceHash, b.IP, b.UserAgent, ts(b.CreatedAt), ts(b.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: trust browser: %w", err)
	}
	return nil
}

// IsTrustedBrowser reports whether the device is trusted by the user now.
func (s queries) IsTrustedBrowser(ctx context.Context, userID, deviceHash string, now time.Time) (bool, error) {
	var n int
	err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM trusted_browsers WHERE user_id = $1 AND device_hash = $2 AND expires_at > $3`, userID, deviceHash, ts(now)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: trusted browser: %w", err)
	}
	return n > 0, nil
}

// ListTrustedBrowsers lists a user's live trusted browsers, newest first.
func (s queries) ListTrustedBrowsers(ctx context.Context, userID string, now time.Time) ([]TrustedBrowser, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT id, user_id, device_hash, ip, user_agent, created_at, expires_at FROM trusted_browsers
		WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC, id`, userID, ts(now))
	if err != nil {
		return nil, fmt.Errorf("store: list trusted browsers: %w", err)
	}
	defer rows.Close()
	out := []TrustedBrowser{}
	for rows.Next() {
		var b TrustedBrowser
		var created, exp int64
		if err := rows.Scan(&b.ID, &b.UserID, &b.DeviceHash, &b.IP, &b.UserAgent, &created, &exp); err != nil {
			return nil, err
		}
		b.CreatedAt, b.ExpiresAt = fromTS(created), fromTS(exp)
		out = append(out, b)
	}
	return out, rows.Err()
}

// DeleteTrustedBrowser removes one; ErrNotFound when the user has no such.
func (s queries) DeleteTrustedBrowser(ctx context.Context, userID, id string) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM trusted_browsers WHERE user_id = $1 AND id = $2`, userID, id)
	if err != nil {
		return fmt.Errorf("store: delete trusted browser: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteAllTrustedBrowsers removes every trusted browser of a user and
// returns how many.
func (s queries) DeleteAllTrustedBrowsers(ctx context.Context, userID string) (int64, error) {
	res, err := s.q.ExecContext(ctx, `DELETE FROM trusted_browsers WHERE user_id = $1`, userID)
	if err != nil {
		return 0, fmt.Errorf("store: delete trusted browsers: %w", err)
	}
	return res.RowsAffected()
}

// CountSecondStepFailure adds one wrong code to a partial session and
// returns the new count.
func (s queries) CountSecondStepFailure(ctx context.Context, sessionID string) (int, error) {
	var n int
	err := s.q.QueryRowContext(ctx, `UPDATE sessions SET second_step_failures = second_step_failures + 1 WHERE id = $1 RETURNING second_step_failures`, sessionID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: second step failure: %w", err)
	}
	return n, nil
}

// SetReauth records a fresh re-authentication of a session.
func (s queries) SetReauth(ctx context.Context, sessionID string, at time.Time) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE sessions SET reauth_at = $1 WHERE id = $2`, ts(at), sessionID); err != nil {
		return fmt.Errorf("store: reauth: %w", err)
	}
	return nil
}

// SetBusinessTwoStep sets whether a business requires two-step verification.
func (s queries) SetBusinessTwoStep(ctx context.Context, businessID string, required bool) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE businesses SET require_two_step = $1 WHERE id = $2`, boolInt(required), businessID); err != nil {
		return fmt.Errorf("store: business two-step: %w", err)
	}
	return nil
}
