package store

import (
	"context"
	"database/sql"
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
	// Held: added since a sign-in email change that was undone; no payout
	// goes to it until the owner confirms it (internal/account/holds.go).
	Held bool
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
	rows, err := s.q.QueryContext(ctx, `SELECT `+depositCols+` FROM deposit_accounts WHERE business_id = $1 ORDER BY created_at DESC, id DESC`, businessID)
	if err != nil {
		return nil, fmt.Errorf("store: deposit accounts: %w", err)
	}
	defer rows.Close()
	return scanDepositAccounts(rows)
}

const depositCols = `id, business_id, holder, bank, number_sealed, last4, created_by, created_at, active_from, held`

func scanDepositAccounts(rows *sql.Rows) ([]DepositAccount, error) {
	var out []DepositAccount
	for rows.Next() {
		var a DepositAccount
		var created, active, held int64
		if err := rows.Scan(&a.ID, &a.BusinessID, &a.Holder, &a.Bank, &a.NumberSealed, &a.Last4, &a.CreatedBy, &created, &active, &held); err != nil {
			return nil, err
		}
		a.CreatedAt, a.ActiveFrom, a.Held = fromTS(created), fromTS(active), held == 1
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

// Listing is one product listing of a business.
type Listing struct {
	ID            string
	BusinessID    string
	SKU           string
	Title         string
	PriceCents    int64
	Quantity      int64
	Condition     string
	ConditionNote string
	UpdatedAt     time.Time
}

const listingCols = `id, business_id, sku, title, price_cents, quantity, condition, condition_note, updated_at`

func scanListing(row interface{ Scan(...any) error }) (Listing, error) {
	var l Listing
	var at int64
	err := row.Scan(&l.ID, &l.BusinessID, &l.SKU, &l.Title, &l.PriceCents, &l.Quantity, &l.Condition, &l.ConditionNote, &at)
	if ErrNoRows(err) {
		return l, ErrNotFound
	}
	if err != nil {
		return l, fmt.Errorf("store: scan listing: %w", err)
	}
	l.UpdatedAt = fromTS(at)
	return l, nil
}

// PutListing inserts or updates a listing; ErrConflict when the SKU is taken.
func (s queries) PutListing(ctx context.Context, l Listing) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO listings (`+listingCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
		ON CONFLICT (id) DO UPDATE SET sku = excluded.sku, title = excluded.title, price_cents = excluded.price_cents, quantity = excluded.quantity,
			condition = excluded.condition, condition_note = excluded.condition_note, updated_at = excluded.updated_at`,
		l.ID, l.BusinessID, l.SKU, l.Title, l.PriceCents, l.Quantity, l.Condition, l.ConditionNote, ts(l.UpdatedAt))
	if isUniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: put listing: %w", err)
	}
	return nil
}

// FindListing returns one listing of a business.
func (s queries) FindListing(ctx context.Context, businessID, id string) (Listing, error) {
	return scanListing(s.q.QueryRowContext(ctx, `SELECT `+listingCols+` FROM listings WHERE business_id = $1 AND id = $2`, businessID, id))
}

// ListListings lists a business's listings by SKU.
func (s queries) ListListings(ctx context.Context, businessID string, limit int) ([]Listing, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+listingCols+` FROM listings WHERE business_id = $1 ORDER BY sku LIMIT $2`, businessID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list listings: %w", err)
	}
	defer rows.Close()
	out := []Listing{}
	for rows.Next() {
		l, err := scanListing(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}
