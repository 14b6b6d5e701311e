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

// Storefront is a business's public storefront details.
type Storefront struct {
	BusinessID    string
	DisplayName   string
	Description   string
	LogoURL       string
	SupportEmail  string
	SupportPhone  string
	ReturnAddress string
	UpdatedAt     time.Time
	UpdatedBy     string
}

// GetStorefront returns a business's storefront (zero values when unset).
func (s queries) GetStorefront(ctx context.Context, businessID string) (Storefront, error) {
	f := Storefront{BusinessID: businessID}
	var at int64
	err := s.q.QueryRowContext(ctx, `SELECT display_name, description, logo_url, support_email, support_phone, return_address, updated_at, updated_by
		FROM storefronts WHERE business_id = $1`, businessID).Scan(&f.DisplayName, &f.Description, &f.LogoURL, &f.SupportEmail, &f.SupportPhone, &f.ReturnAddress, &at, &f.UpdatedBy)
	if ErrNoRows(err) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("store: storefront: %w", err)
	}
	f.UpdatedAt = fromTS(at)
	return f, nil
}

// PutStorefront stores a business's storefront.
func (s queries) PutStorefront(ctx context.Context, f Storefront) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO storefronts (business_id, display_name, description, logo_url, support_email, support_phone, return_address, updated_at, updated_by)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
		ON CONFLICT (business_id) DO UPDATE SET display_name = excluded.display_name, description = excluded.description, logo_url = excluded.logo_url,
			support_email = excluded.support_email, support_phone = excluded.support_phone, return_address = excluded.return_address,
			updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		f.BusinessID, f.DisplayName, f.Description, f.LogoURL, f.SupportEmail, f.SupportPhone, f.ReturnAddress, ts(f.UpdatedAt), f.UpdatedBy)
	if err != nil {
		return fmt.Errorf("store: put storefront: %w", err)
	}
	return nil
}
