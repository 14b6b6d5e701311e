package store

import (
	"context"
	"fmt"
	"time"
)

// DepositAccount is a bank account payouts go to, as stored.
type DepositAccount struct {
	ID           string
	BusinessID   string
	Holder       string
	Bank         string
	NumberSealed string
	Last4        string
	CreatedBy    string
	CreatedAt    time.Time
	ActiveFrom   time.Time // payouts use it from here on (after the cooling-off)
}

// AddDepositAccount stores a new deposit account.
func (s queries) AddDepositAccount(ctx context.Context, a DepositAccount) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO deposit_accounts (id, business_id, holder, bank, number_sealed, last4, created_by, created_at, active_from)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`, a.ID, a.BusinessID, a.Holder, a.Bank, a.NumberSealed, a.Last4, a.CreatedBy, ts(a.CreatedAt), ts(a.ActiveFrom))
	if err != nil {
		return fmt.Errorf("store: add deposit account: %w", err)
	}
	return nil
}

// DepositAccounts lists a business's deposit accounts, newest first.
func (s queries) DepositAccounts(ctx context.Context, businessID string) ([]DepositAccount, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT id, business_id, holder, bank, number_sealed, last4, created_by, created_at, active_from
		FROM deposit_accounts WHERE business_id = $1 ORDER BY created_at DESC, id DESC`, businessID)
	if err != nil {
		return nil, fmt.Errorf("store: deposit accounts: %w", err)
	}
	defer rows.Close()
	var out []DepositAccount
	for rows.Next() {
		var a DepositAccount
		var created, active int64
		if err := rows.Scan(&a.ID, &a.BusinessID, &a.Holder, &a.Bank, &a.NumberSealed, &a.Last4, &a.CreatedBy, &created, &active); err != nil {
			return nil, err
		}
		a.CreatedAt, a.ActiveFrom = fromTS(created), fromTS(active)
		out = append(out, a)
	}
	return out, rows.Err()
}
