package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sellerguard/sellerguard"
)

// UserRecord is a user with its password hash, as stored.
type UserRecord struct {
	sellerguard.User
	EmailNorm    string
	PasswordHash string
}

const userCols = `id, email, email_norm, password_hash, password_changed_at, status, created_at, language, signup_language`

// scanUser scans userCols, then any further columns into more.
func scanUser(row interface{ Scan(...any) error }, more ...any) (UserRecord, error) {
	var u UserRecord
	var changed, created int64
	err := row.Scan(append([]any{&u.ID, &u.Email, &u.EmailNorm, &u.PasswordHash, &changed, &u.Status, &created, &u.Language, &u.SignupLanguage}, more...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return UserRecord{}, ErrNotFound
	}
	if err != nil {
		return UserRecord{}, fmt.Errorf("store: scan user: %w", err)
	}
	u.PasswordChangedAt, u.CreatedAt = fromTS(changed), fromTS(created)
	return u, nil
}

// FindUserByEmail finds a user by normalised email.
func (s queries) FindUserByEmail(ctx context.Context, emailNorm string) (UserRecord, error) {
	return scanUser(s.q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE email_norm = $1`, emailNorm))
}

// UserState is what all of a user's sessions share besides memberships
// and second-step methods (session.Principal): the user, a pending forced
// change of password ("" when none), whether an owner asked them to enrol
// two-step verification again, and their unused backup codes.
type UserState struct {
	UserRecord
	MustChangePassword string
	ReenrolTwoStep     bool
	BackupCodesLeft    int
}

// FindUserState reads a user's UserState in one query; ErrNotFound when
// there is no such user.
func (s queries) FindUserState(ctx context.Context, id string) (UserState, error) {
	var st UserState
	var reenrolAt int64
	var err error
	st.UserRecord, err = scanUser(s.q.QueryRowContext(ctx, `SELECT `+userCols+`, must_change_password, two_step_reenrol_at,
		(SELECT COUNT(*) FROM backup_codes b WHERE b.user_id = users.id AND b.used_at = 0 AND b.held = 0)
		FROM users WHERE id = $1`, id), &st.MustChangePassword, &reenrolAt, &st.BackupCodesLeft)
	st.ReenrolTwoStep = reenrolAt != 0
	return st, err
}

// FindUserByID finds a user by id.
func (s queries) FindUserByID(ctx context.Context, id string) (UserRecord, error) {
	return scanUser(s.q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
}

// CreateUser inserts a user; ErrConflict when the email is taken (the
// transaction stays usable: execUnique).
func (s queries) CreateUser(ctx context.Context, u UserRecord) error {
	_, err := s.execUnique(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		u.ID, u.Email, u.EmailNorm, u.PasswordHash, ts(u.PasswordChangedAt), u.Status, ts(u.CreatedAt), u.Language, orEnglish(u.SignupLanguage))
	if isUniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: create user: %w", err)
	}
	return nil
}

// UpdatePasswordHash replaces a user's hash. When changedAt is zero the
// password itself did not change (a re-hash with new parameters) and
// password_changed_at is kept.
func (s queries) UpdatePasswordHash(ctx context.Context, userID, hash string, changedAt time.Time) error {
	var err error
	if changedAt.IsZero() {
		_, err = s.q.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, hash, userID)
	} else {
		_, err = s.q.ExecContext(ctx, `UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3`, hash, ts(changedAt), userID)
	}
	if err != nil {
		return fmt.Errorf("store: update password: %w", err)
	}
	return nil
}

// orEnglish is the sign-up language of a user created without one.
func orEnglish(lang string) string {
	if lang == "" {
		return "en"
	}
	return lang
}

// SetLanguage saves the language a user chose ("" forgets the choice).
func (s queries) SetLanguage(ctx context.Context, userID, lang string) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE users SET language = $1 WHERE id = $2`, lang, userID); err != nil {
		return fmt.Errorf("store: set language: %w", err)
	}
	return nil
}

// LanguageOf returns the language to write to a user in: their choice, else
// the language they signed up in ("en" for an unknown user).
func (s queries) LanguageOf(ctx context.Context, userID string) (string, error) {
	var chosen, signup string
	err := s.q.QueryRowContext(ctx, `SELECT language, signup_language FROM users WHERE id = $1`, userID).Scan(&chosen, &signup)
	if errors.Is(err, sql.ErrNoRows) {
		return "en", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: language of user: %w", err)
	}
	if chosen != "" {
		return chosen, nil
	}
	return orEnglish(signup), nil
}

// CountUsers counts all users (for metrics and tests).
func (s queries) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// CreateBusiness inserts a business.
func (s queries) CreateBusiness(ctx context.Context, b sellerguard.Business) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO businesses (id, name, created_at) VALUES ($1, $2, $3)`, b.ID, b.Name, ts(b.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: create business: %w", err)
	}
	return nil
}

// FindBusiness finds a business by id.
func (s queries) FindBusiness(ctx context.Context, id string) (sellerguard.Business, error) {
	var b sellerguard.Business
	var created int64
	err := s.q.QueryRowContext(ctx, `SELECT id, name, created_at FROM businesses WHERE id = $1`, id).Scan(&b.ID, &b.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return b, ErrNotFound
	}
	if err != nil {
		return b, fmt.Errorf("store: find business: %w", err)
	}
	b.CreatedAt = fromTS(created)
	return b, nil
}

// CreateMembership links a user to a business.
func (s queries) CreateMembership(ctx context.Context, m sellerguard.Membership) error {
	perms, err := encodePermissions(m.Permissions)
	if err != nil {
		return err
	}
	since, err := encodeEditSince(editSince(nil, m.Permissions, m.CreatedAt))
	if err != nil {
		return err
	}
	_, err = s.q.ExecContext(ctx, `INSERT INTO memberships (business_id, user_id, role, status, created_at, permissions, edit_since) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		m.BusinessID, m.UserID, m.Role, m.Status, ts(m.CreatedAt), perms, since)
	if isUniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: create membership: %w", err)
	}
	return nil
}

// ListMemberships lists a user's active memberships with business names,
// oldest first.
func (s queries) ListMemberships(ctx context.Context, userID string) ([]sellerguard.Membership, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT m.business_id, b.name, m.user_id, m.role, m.status, m.created_at, b.require_two_step, m.permissions, b.require_backup_method
		FROM memberships m JOIN businesses b ON b.id = m.business_id
		WHERE m.user_id = $1 AND m.status = 'active' ORDER BY m.created_at, m.business_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list memberships: %w", err)
	}
	defer rows.Close()
	out := []sellerguard.Membership{}
	for rows.Next() {
		var m sellerguard.Membership
		var created int64
		var req, backup int
		var perms string
		if err := rows.Scan(&m.BusinessID, &m.BusinessName, &m.UserID, &m.Role, &m.Status, &created, &req, &perms, &backup); err != nil {
			return nil, fmt.Errorf("store: scan membership: %w", err)
		}
		m.CreatedAt, m.RequireTwoStep, m.RequireBackupMethod = fromTS(created), req == 1, backup == 1
		if m.Permissions, err = decodePermissions(perms); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// PendingSignup is a sign-up waiting for its email code.
type PendingSignup struct {
	EmailNorm    string
	Email        string
	PasswordHash string
	BusinessName string
	PhoneSealed  string
	CodeMAC      string
	Attempts     int
	ExpiresAt    time.Time
	CreatedAt    time.Time
}

// PutSignup inserts or replaces the pending sign-up for an email.
func (s queries) PutSignup(ctx context.Context, p PendingSignup) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO signups (email_norm, email, password_hash, business_name, phone_sealed, code_mac, attempts, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (email_norm) DO UPDATE SET email = excluded.email, password_hash = excluded.password_hash,
			business_name = excluded.business_name, phone_sealed = excluded.phone_sealed, code_mac = excluded.code_mac,
			attempts = excluded.attempts, expires_at = excluded.expires_at, created_at = excluded.created_at`,
		p.EmailNorm, p.Email, p.PasswordHash, p.BusinessName, p.PhoneSealed, p.CodeMAC, p.Attempts, ts(p.ExpiresAt), ts(p.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: put signup: %w", err)
	}
	return nil
}

// FindSignup finds the pending sign-up for an email.
func (s queries) FindSignup(ctx context.Context, emailNorm string) (PendingSignup, error) {
	var p PendingSignup
	var exp, created int64
	err := s.q.QueryRowContext(ctx, `SELECT email_norm, email, password_hash, business_name, phone_sealed, code_mac, attempts, expires_at, created_at
		FROM signups WHERE email_norm = $1`, emailNorm).Scan(&p.EmailNorm, &p.Email, &p.PasswordHash, &p.BusinessName, &p.PhoneSealed, &p.CodeMAC, &p.Attempts, &exp, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("store: find signup: %w", err)
	}
	p.ExpiresAt, p.CreatedAt = fromTS(exp), fromTS(created)
	return p, nil
}

// SetSignupAttempts records the number of wrong codes entered.
func (s queries) SetSignupAttempts(ctx context.Context, emailNorm string, attempts int) error {
	_, err := s.q.ExecContext(ctx, `UPDATE signups SET attempts = $1 WHERE email_norm = $2`, attempts, emailNorm)
	if err != nil {
		return fmt.Errorf("store: signup attempts: %w", err)
	}
	return nil
}

// DeleteSignup removes a pending sign-up.
func (s queries) DeleteSignup(ctx context.Context, emailNorm string) error {
	_, err := s.q.ExecContext(ctx, `DELETE FROM signups WHERE email_norm = $1`, emailNorm)
	if err != nil {
		return fmt.Errorf("store: delete signup: %w", err)
	}
	return nil
}

// DeleteExpiredSignups removes pending sign-ups past their expiry.
func (s queries) DeleteExpiredSignups(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.q.ExecContext(ctx, `DELETE FROM signups WHERE expires_at < $1`, ts(now))
	if err != nil {
		return 0, fmt.Errorf("store: expire signups: %w", err)
	}
	return res.RowsAffected()
}

// CountOtherMembers counts the active members of a business other than userID.
func (s queries) CountOtherMembers(ctx context.Context, businessID, userID string) (int, error) {
	var n int
	err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM memberships WHERE business_id = $1 AND user_id <> $2 AND status = 'active'`, businessID, userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count members: %w", err)
	}
	return n, nil
}

// ListMemberIDs lists the user ids of a business's active members.
func (s queries) ListMemberIDs(ctx context.Context, businessID string) ([]string, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT user_id FROM memberships WHERE business_id = $1 AND status = 'active' ORDER BY user_id`, businessID)
	if err != nil {
		return nil, fmt.Errorf("store: list members: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// PhishingPhraseFor returns the anti-phishing phrase of the account, or of
// the pending sign-up, with this normalised email ("" when none).
func (s queries) PhishingPhraseFor(ctx context.Context, emailNorm string) (string, error) {
	var p string
	err := s.q.QueryRowContext(ctx, `SELECT phishing_phrase FROM users WHERE email_norm = $1`, emailNorm).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		err = s.q.QueryRowContext(ctx, `SELECT phishing_phrase FROM signups WHERE email_norm = $1`, emailNorm).Scan(&p)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: phishing phrase: %w", err)
	}
	return p, nil
}

// SetPhishingPhrase sets a user's anti-phishing phrase.
func (s queries) SetPhishingPhrase(ctx context.Context, userID, phrase string) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE users SET phishing_phrase = $1 WHERE id = $2`, phrase, userID); err != nil {
		return fmt.Errorf("store: set phishing phrase: %w", err)
	}
	return nil
}

// SetSignupPhishingPhrase records the phrase chosen at sign-up.
func (s queries) SetSignupPhishingPhrase(ctx context.Context, emailNorm, phrase string) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE signups SET phishing_phrase = $1 WHERE email_norm = $2`, phrase, emailNorm); err != nil {
		return fmt.Errorf("store: set signup phrase: %w", err)
	}
	return nil
}

// LedgerEntry is one email as sent.
type LedgerEntry struct {
	MessageID string
	OutboxID  string
	Recipient string
	Subject   string
	SentAt    time.Time
	SHA256    string
}

// RecordSentEmail adds an email to the ledger (idempotent per Message-ID).
func (s queries) RecordSentEmail(ctx context.Context, e LedgerEntry) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO email_ledger (message_id, outbox_id, recipient, subject, sent_at, sha256) VALUES ($1,$2,$3,$4,$5,$6)
		ON CONFLICT (message_id) DO UPDATE SET sent_at = excluded.sent_at, sha256 = excluded.sha256`,
		e.MessageID, e.OutboxID, e.Recipient, e.Subject, ts(e.SentAt), e.SHA256)
	if err != nil {
		return fmt.Errorf("store: ledger: %w", err)
	}
	return nil
}

// FindSentEmail looks an email up in the ledger by Message-ID.
func (s queries) FindSentEmail(ctx context.Context, messageID string) (LedgerEntry, error) {
	var e LedgerEntry
	var at int64
	err := s.q.QueryRowContext(ctx, `SELECT message_id, outbox_id, recipient, subject, sent_at, sha256 FROM email_ledger WHERE message_id = $1`, messageID).
		Scan(&e.MessageID, &e.OutboxID, &e.Recipient, &e.Subject, &at, &e.SHA256)
	if errors.Is(err, sql.ErrNoRows) {
		return e, ErrNotFound
	}
	if err != nil {
		return e, fmt.Errorf("store: ledger: %w", err)
	}
	e.SentAt = fromTS(at)
	return e, nil
}

// FindUserIDAndPhrase returns the id and anti-phishing phrase of the account
// with this normalised email, or ("", the pending sign-up's phrase or "").
func (s queries) FindUserIDAndPhrase(ctx context.Context, emailNorm string) (userID, phrase string, err error) {
	err = s.q.QueryRowContext(ctx, `SELECT id, phishing_phrase FROM users WHERE email_norm = $1`, emailNorm).Scan(&userID, &phrase)
	if errors.Is(err, sql.ErrNoRows) {
		phrase, err = s.PhishingPhraseFor(ctx, emailNorm)
		return "", phrase, err
	}
	if err != nil {
		return "", "", fmt.Errorf("store: user and phrase: %w", err)
	}
	return userID, phrase, nil
}
