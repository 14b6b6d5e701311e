package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Hold is something added to an account since a sign-in email change that
// was undone (a second-step method, new backup codes, a deposit account),
// waiting for the owner to confirm or remove it.
type Hold struct {
	ID         string
	UserID     string
	BusinessID string // a deposit account's business; "" for the user's own
	Kind       string // "two_step_method", "backup_codes", "deposit_account"
	TargetID   string // the method's or account's id; the user's id for backup codes
	Summary    string // for people: "Authenticator app “Work phone”"
	ChangeID   string // the email change that was undone
	AddedAt    time.Time
	CreatedAt  time.Time
	DecidedAt  time.Time // zero while open
	Decision   string    // "", "confirmed", "removed"
}

const holdCols = `id, user_id, business_id, kind, target_id, summary, change_id, added_at, created_at, decided_at, decision`

func scanHold(row interface{ Scan(...any) error }) (Hold, error) {
	var h Hold
	var added, created, decided int64
	err := row.Scan(&h.ID, &h.UserID, &h.BusinessID, &h.Kind, &h.TargetID, &h.Summary, &h.ChangeID, &added, &created, &decided, &h.Decision)
	if errors.Is(err, sql.ErrNoRows) {
		return h, ErrNotFound
	}
	if err != nil {
		return h, fmt.Errorf("store: scan hold: %w", err)
	}
	h.AddedAt, h.CreatedAt = fromTS(added), fromTS(created)
	if decided != 0 {
		h.DecidedAt = fromTS(decided)
	}
	return h, nil
}

// PutHold stores a new hold.
func (s queries) PutHold(ctx context.Context, h Hold) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO recovery_holds (`+holdCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,0,'')`,
		h.ID, h.UserID, h.BusinessID, h.Kind, h.TargetID, h.Summary, h.ChangeID, ts(h.AddedAt), ts(h.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: put hold: %w", err)
	}
	return nil
}

// OpenHolds lists a user's undecided holds, oldest first.
func (s queries) OpenHolds(ctx context.Context, userID string) ([]Hold, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+holdCols+` FROM recovery_holds WHERE user_id = $1 AND decided_at = 0 ORDER BY added_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: open holds: %w", err)
	}
	defer rows.Close()
	out := []Hold{}
	for rows.Next() {
		h, err := scanHold(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// FindHold returns one of a user's holds (ErrNotFound for another user's).
func (s queries) FindHold(ctx context.Context, userID, id string) (Hold, error) {
	return scanHold(s.q.QueryRowContext(ctx, `SELECT `+holdCols+` FROM recovery_holds WHERE user_id = $1 AND id = $2`, userID, id))
}

// DecideHold records the decision on an open hold; ErrConflict when it was
// decided already (of two racing decisions only one wins).
func (s queries) DecideHold(ctx context.Context, id, decision string, at time.Time) error {
	res, err := s.q.ExecContext(ctx, `UPDATE recovery_holds SET decided_at = $1, decision = $2 WHERE id = $3 AND decided_at = 0`, ts(at), decision, id)
	if err != nil {
		return fmt.Errorf("store: decide hold: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	return nil
}

// SetMethodHeld puts a confirmed method on hold, or takes it off hold.
func (s queries) SetMethodHeld(ctx context.Context, userID, id string, held bool) error {
	res, err := s.q.ExecContext(ctx, `UPDATE two_step_methods SET held = $1 WHERE user_id = $2 AND id = $3 AND confirmed = 1`, boolInt(held), userID, id)
	if err != nil {
		return fmt.Errorf("store: hold method: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// BackupCodesMadeSince reports whether the user's current backup codes
// were made at or after since (a new set replaces the old one whole).
func (s queries) BackupCodesMadeSince(ctx context.Context, userID string, since time.Time) (bool, error) {
	var n int
	err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM backup_codes WHERE user_id = $1 AND held = 0 AND created_at >= $2`, userID, ts(since)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: backup codes since: %w", err)
	}
	return n > 0, nil
}

// SetBackupCodesHeld puts the user's backup codes on hold, or takes them off.
func (s queries) SetBackupCodesHeld(ctx context.Context, userID string, held bool) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE backup_codes SET held = $1 WHERE user_id = $2`, boolInt(held), userID); err != nil {
		return fmt.Errorf("store: hold backup codes: %w", err)
	}
	return nil
}

// DeleteHeldBackupCodes removes the user's backup codes that are on hold.
func (s queries) DeleteHeldBackupCodes(ctx context.Context, userID string) (int64, error) {
	res, err := s.q.ExecContext(ctx, `DELETE FROM backup_codes WHERE user_id = $1 AND held = 1`, userID)
	if err != nil {
		return 0, fmt.Errorf("store: delete held backup codes: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// DepositAccountsAddedBy lists the deposit accounts a user added at or
// after since, in every business, oldest first (held ones included).
func (s queries) DepositAccountsAddedBy(ctx context.Context, userID string, since time.Time) ([]DepositAccount, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+depositCols+` FROM deposit_accounts WHERE created_by = $1 AND created_at >= $2 ORDER BY created_at, id`, userID, ts(since))
	if err != nil {
		return nil, fmt.Errorf("store: deposit accounts added: %w", err)
	}
	defer rows.Close()
	return scanDepositAccounts(rows)
}

// FindDepositAccount returns one deposit account of a business.
func (s queries) FindDepositAccount(ctx context.Context, businessID, id string) (DepositAccount, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+depositCols+` FROM deposit_accounts WHERE business_id = $1 AND id = $2`, businessID, id)
	if err != nil {
		return DepositAccount{}, fmt.Errorf("store: deposit account: %w", err)
	}
	defer rows.Close()
	list, err := scanDepositAccounts(rows)
	if err != nil {
		return DepositAccount{}, err
	}
	if len(list) == 0 {
		return DepositAccount{}, ErrNotFound
	}
	return list[0], nil
}

// SetDepositAccountHeld puts a deposit account on hold, or takes it off.
func (s queries) SetDepositAccountHeld(ctx context.Context, businessID, id string, held bool) error {
	res, err := s.q.ExecContext(ctx, `UPDATE deposit_accounts SET held = $1 WHERE business_id = $2 AND id = $3`, boolInt(held), businessID, id)
	if err != nil {
		return fmt.Errorf("store: hold deposit account: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// EndEmailChangesSince stops the revert codes of a user's email changes
// done at or after since (an undone change takes the later ones with it:
// their codes went to addresses that were not the owner's), and supersedes
// pending changes of email and phone.
func (s queries) EndEmailChangesSince(ctx context.Context, userID string, since time.Time) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE contact_changes SET status = 'undone' WHERE user_id = $1 AND kind = 'email' AND status = 'done' AND done_at >= $2`, userID, ts(since)); err != nil {
		return fmt.Errorf("store: end email changes: %w", err)
	}
	if _, err := s.q.ExecContext(ctx, `UPDATE contact_changes SET status = 'superseded' WHERE user_id = $1 AND kind IN ('email', 'phone') AND status = 'pending'`, userID); err != nil {
		return fmt.Errorf("store: end email changes: %w", err)
	}
	return nil
}

// AddPreviousEmail records that the user's sign-in email was addr until at.
func (s queries) AddPreviousEmail(ctx context.Context, userID, addr, addrNorm string, at time.Time) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO previous_emails (user_id, email, email_norm, changed_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id, email_norm) DO UPDATE SET email = excluded.email, changed_at = excluded.changed_at`, userID, addr, addrNorm, ts(at))
	if err != nil {
		return fmt.Errorf("store: add previous email: %w", err)
	}
	return nil
}

// PreviousEmail is an address that was a user's sign-in email.
type PreviousEmail struct {
	Email     string
	EmailNorm string
	ChangedAt time.Time // when it stopped being the sign-in email
}

// PreviousEmailsSince lists a user's previous sign-in addresses that were
// changed away from after since, newest first.
func (s queries) PreviousEmailsSince(ctx context.Context, userID string, since time.Time) ([]PreviousEmail, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT email, email_norm, changed_at FROM previous_emails WHERE user_id = $1 AND changed_at > $2 ORDER BY changed_at DESC, email_norm`, userID, ts(since))
	if err != nil {
		return nil, fmt.Errorf("store: previous emails: %w", err)
	}
	defer rows.Close()
	var out []PreviousEmail
	for rows.Next() {
		var p PreviousEmail
		var at int64
		if err := rows.Scan(&p.Email, &p.EmailNorm, &at); err != nil {
			return nil, err
		}
		p.ChangedAt = fromTS(at)
		out = append(out, p)
	}
	return out, rows.Err()
}

// DeletePreviousEmailsSince forgets the previous addresses recorded at or
// after since, and the address that is the sign-in email again (an undone
// change: the addresses it brought were not the owner's).
func (s queries) DeletePreviousEmailsSince(ctx context.Context, userID, currentNorm string, since time.Time) error {
	if _, err := s.q.ExecContext(ctx, `DELETE FROM previous_emails WHERE user_id = $1 AND (changed_at >= $2 OR email_norm = $3)`, userID, ts(since), currentNorm); err != nil {
		return fmt.Errorf("store: delete previous emails: %w", err)
	}
	return nil
}
