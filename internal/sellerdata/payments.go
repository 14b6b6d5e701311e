package sellerdata

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/store"
)

// PaymentInfo is what the payments area shows: no full account number ever.
type PaymentInfo struct {
	// Payouts is the account payouts go to now (nil: none yet).
	Payouts *store.DepositAccount
	// Pending is a newer account still in its cooling-off period.
	Pending *store.DepositAccount
	// Charge is the card fees are charged to (nil: none).
	Charge *store.ChargeMethod
	// Held lists accounts added since an undone sign-in email change: no
	// payout goes to them until the owner confirms them (holds.go).
	Held []store.DepositAccount
}

// PaymentInfo returns a business's deposit accounts (payments: view).
func (s *Service) PaymentInfo(ctx context.Context, p *Principal, businessID string) (PaymentInfo, error) {
	if err := p.RequireArea(businessID, sellerguard.AreaPayments, sellerguard.LevelView); err != nil {
		return PaymentInfo{}, err
	}
	info, err := s.payoutState(ctx, s.DB, businessID, s.now())
	if err != nil {
		return info, err
	}
	c, err := s.DB.GetChargeMethod(ctx, businessID)
	switch {
	case err == nil:
		info.Charge = &c
	case !errors.Is(err, store.ErrNotFound):
		return info, err
	}
	return info, nil
}

func (s *Service) payoutState(ctx context.Context, q interface {
	DepositAccounts(context.Context, string) ([]store.DepositAccount, error)
}, businessID string, now time.Time) (PaymentInfo, error) {
	list, err := q.DepositAccounts(ctx, businessID)
	if err != nil {
		return PaymentInfo{}, err
	}
	var info PaymentInfo
	for i := range list {
		a := &list[i]
		if a.Held {
			info.Held = append(info.Held, *a)
			continue
		}
		if now.Before(a.ActiveFrom) {
			if info.Pending == nil && info.Payouts == nil {
				info.Pending = a
			}
			continue
		}
		if info.Payouts == nil {
			info.Payouts = a
		}
	}
	return info, nil
}

// PayoutDestination is the account payouts use at a moment: the newest
// whose cooling-off has ended. A new account never receives payouts before.
func (s *Service) PayoutDestination(ctx context.Context, businessID string, at time.Time) (*store.DepositAccount, error) {
	info, err := s.payoutState(ctx, s.DB, businessID, at)
	return info.Payouts, err
}

// DepositAccountInput is a new deposit account.
type DepositAccountInput struct {
	Holder, Bank, Number string
}

func accountDigits(n string) (string, bool) {
	var b strings.Builder
	for _, r := range n {
		switch {
		case r >= '0' && r <= '9', r >= 'A' && r <= 'Z':
			b.WriteRune(r)
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r == ' ' || r == '-':
		default:
			return "", false
		}
	}
	d := b.String()
	return d, len(d) >= 6 && len(d) <= 34
}

// SetDepositAccount adds a new deposit account (payments: edit and a recent
// sign-in). Payouts keep going to the previous account for the cooling-off
// period; the owner and the user managers are told at once.
func (s *Service) SetDepositAccount(ctx context.Context, p *Principal, businessID string, in DepositAccountInput, meta RequestMeta) (store.DepositAccount, error) {
	if err := p.RequireArea(businessID, sellerguard.AreaPayments, sellerguard.LevelEdit); err != nil {
		return store.DepositAccount{}, err
	}
	if err := p.RequireBackupMethodFor(businessID); err != nil { // session/principal.go
		return store.DepositAccount{}, err
	}
	if err := s.RequireRecentAuth(p); err != nil {
		return store.DepositAccount{}, err
	}
	var fields []sellerguard.FieldError
	holder, bank := cleanText(in.Holder), cleanText(in.Bank)
	if holder == "" || utf8.RuneCountInString(holder) > 120 {
		fields = append(fields, sellerguard.FieldError{Field: "holder", Code: "invalid", Message: "Enter the account holder's name (at most 120 characters)."})
	}
	if bank == "" || utf8.RuneCountInString(bank) > 120 {
		fields = append(fields, sellerguard.FieldError{Field: "bank", Code: "invalid", Message: "Enter the bank's name (at most 120 characters)."})
	}
	number, ok := accountDigits(in.Number)
	if !ok || len(in.Number) > 64 {
		fields = append(fields, sellerguard.FieldError{Field: "account_number", Code: "invalid", Message: "Enter the account number or IBAN: 6 to 34 letters and digits."})
	}
	if len(fields) > 0 {
		return store.DepositAccount{}, sellerguard.Invalid(fields...)
	}
	now := s.now()
	a := store.DepositAccount{ID: NewID("dep"), BusinessID: businessID, Holder: holder, Bank: bank, Last4: number[len(number)-4:],
		CreatedBy: p.User.ID, CreatedAt: now, ActiveFrom: now.Add(s.PayoutCoolingOff)}
	sealed, err := s.Keys.Seal("deposit-account", []byte(number), []byte(a.ID))
	if err != nil {
		return store.DepositAccount{}, err
	}
	a.NumberSealed = sealed
	err = s.DB.WithBusinessTx(ctx, businessID, func(tx *store.Tx) error {
		before, err := s.payoutState(ctx, tx, businessID, now)
		if err != nil {
			return err
		}
		if err := tx.AddDepositAccount(ctx, a); err != nil {
			return err
		}
		prev := map[string]any{"deposit_account": nil}
		if before.Payouts != nil {
			prev = map[string]any{"deposit_account": "•••• " + before.Payouts.Last4, "holder": before.Payouts.Holder, "bank": before.Payouts.Bank}
		}
		if err := s.teamEvent(ctx, tx, now, p, meta, businessID, "business.deposit_account_added", "deposit_account", a.ID, prev,
			map[string]any{"deposit_account": "•••• " + a.Last4, "holder": holder, "bank": bank, "payouts_from": a.ActiveFrom}); err != nil {
			return err
		}
		// A business's first account replaces nothing: the notice says so.
		until := msgT{Key: "email.deposit_account_added.until_first", KV: []any{"From", a.ActiveFrom}}
		if before.Payouts != nil {
			until = msgT{Key: "email.deposit_account_added.until_previous", KV: []any{"From", a.ActiveFrom}}
		}
		return TellPaymentChange(ctx, tx, now, s, businessID, "email.deposit_account_added",
			"Actor", p.User.Email, "Last4", a.Last4, "Holder", holder, "Bank", bank, "From", a.ActiveFrom, "Until", until)
	})
	if err != nil {
		return store.DepositAccount{}, err
	}
	return a, nil
}

// Storefront returns a business's storefront details (storefront: view).
func (s *Service) Storefront(ctx context.Context, p *Principal, businessID string) (store.Storefront, error) {
	if err := p.RequireArea(businessID, sellerguard.AreaStorefront, sellerguard.LevelView); err != nil {
		return store.Storefront{}, err
	}
	return s.DB.GetStorefront(ctx, businessID)
}

// SetStorefront replaces a business's storefront details (storefront:
// edit), audited with before and after; the owner and user managers are
// told (they may switch that notice off).
func (s *Service) SetStorefront(ctx context.Context, p *Principal, businessID string, f store.Storefront, meta RequestMeta) (store.Storefront, error) {
	if err := p.RequireArea(businessID, sellerguard.AreaStorefront, sellerguard.LevelEdit); err != nil {
		return store.Storefront{}, err
	}
	var fields []sellerguard.FieldError
	check := func(field, v string, max int, required bool) string {
		v = cleanText(v)
		switch {
		case required && v == "":
			fields = append(fields, sellerguard.FieldError{Field: field, Code: "required", Message: "This field is required."})
		case utf8.RuneCountInString(v) > max:
			fields = append(fields, sellerguard.FieldError{Field: field, Code: "too_long", Message: fmt.Sprintf("Use at most %d characters.", max)})
		}
		return v
	}
	f.DisplayName = check("display_name", f.DisplayName, 120, true)
	f.Description = check("description", f.Description, 2000, false)
	f.LogoURL = check("logo_url", f.LogoURL, 500, false)
	if f.LogoURL != "" && !strings.HasPrefix(f.LogoURL, "https://") {
		fields = append(fields, sellerguard.FieldError{Field: "logo_url", Code: "invalid_url", Message: "Use an https:// address for the logo."})
	}
	f.SupportEmail = check("support_email", f.SupportEmail, 254, false)
	if f.SupportEmail != "" {
		if _, fe := validateEmail("support_email", f.SupportEmail); fe != nil {
			fields = append(fields, *fe)
		}
	}
	f.SupportPhone = check("support_phone", f.SupportPhone, 32, false)
	f.ReturnAddress = check("return_address", f.ReturnAddress, 500, false)
	if len(fields) > 0 {
		return store.Storefront{}, sellerguard.Invalid(fields...)
	}
	now := s.now()
	f.BusinessID, f.UpdatedAt, f.UpdatedBy = businessID, now, p.User.ID
	err := s.DB.WithBusinessTx(ctx, businessID, func(tx *store.Tx) error {
		before, err := tx.GetStorefront(ctx, businessID)
		if err != nil {
			return err
		}
		if err := tx.PutStorefront(ctx, f); err != nil {
			return err
		}
		state := func(x store.Storefront) map[string]any {
			return map[string]any{"display_name": x.DisplayName, "description": x.Description, "logo_url": x.LogoURL,
				"support_email": x.SupportEmail, "support_phone": x.SupportPhone, "return_address": x.ReturnAddress}
		}
		if err := s.teamEvent(ctx, tx, now, p, meta, businessID, "business.storefront_changed", "storefront", businessID, state(before), state(f)); err != nil {
			return err
		}
		return s.tellBusiness(ctx, tx, now, businessID, EventStorefrontChanged, "email.storefront_changed",
			"Actor", p.User.Email, "Name", strconv.Quote(f.DisplayName))
	})
	if err != nil {
		return store.Storefront{}, err
	}
	return f, nil
}

// ChargeMethodInput is a new card for a business's fees.
type ChargeMethodInput struct {
	Holder, Number    string
	ExpMonth, ExpYear int
}

// cardBrand names a card's network from its number.
func cardBrand(n string) string {
	prefix := func(lo, hi int, digits int) bool {
		if len(n) < digits {
			return false
		}
		v := 0
		for _, c := range n[:digits] {
			v = v*10 + int(c-'0')
		}
		return v >= lo && v <= hi
	}
	switch {
	case prefix(4, 4, 1):
		return "Visa"
	case prefix(51, 55, 2), prefix(2221, 2720, 4):
		return "Mastercard"
	case prefix(34, 34, 2), prefix(37, 37, 2):
		return "American Express"
	case prefix(6011, 6011, 4), prefix(65, 65, 2):
		return "Discover"
	}
	return "Card"
}

// luhnValid checks a card number's check digit.
func luhnValid(n string) bool {
	sum := 0
	for i := 0; i < len(n); i++ {
		d := int(n[len(n)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// SetChargeMethod replaces the card a business's fees are charged to
// (payments: edit and a recent sign-in). The full number is not kept: only
// the brand, last four digits, expiry and a keyed fingerprint (an HMAC under
// an instance subkey: the same card gives the same fingerprint, and the
// fingerprint does not give the card) are stored. The owner and user
// managers are told at once.
func (s *Service) SetChargeMethod(ctx context.Context, p *Principal, businessID string, in ChargeMethodInput, meta RequestMeta) (store.ChargeMethod, error) {
	if err := p.RequireArea(businessID, sellerguard.AreaPayments, sellerguard.LevelEdit); err != nil {
		return store.ChargeMethod{}, err
	}
	if err := p.RequireBackupMethodFor(businessID); err != nil { // session/principal.go
		return store.ChargeMethod{}, err
	}
	if err := s.RequireRecentAuth(p); err != nil {
		return store.ChargeMethod{}, err
	}
	now := s.now()
	var fields []sellerguard.FieldError
	holder := cleanText(in.Holder)
	if holder == "" || utf8.RuneCountInString(holder) > 120 {
		fields = append(fields, sellerguard.FieldError{Field: "holder", Code: "invalid", Message: "Enter the name on the card (at most 120 characters)."})
	}
	var digits strings.Builder
	for _, r := range in.Number {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == ' ' || r == '-':
		default:
			digits.Reset()
			digits.WriteString("x")
		}
		if digits.Len() > 19 || len(in.Number) > 40 {
			break
		}
	}
	number := digits.String()
	switch {
	case len(number) < 12 || len(number) > 19 || strings.Trim(number, "0123456789") != "":
		fields = append(fields, sellerguard.FieldError{Field: "card_number", Code: "invalid", Message: "Enter the card number: 12 to 19 digits, as printed on the card."})
	case !luhnValid(number):
		// The right length, but a digit is wrong or two are swapped: the
		// number's last digit checks the others.
		fields = append(fields, sellerguard.FieldError{Field: "card_number", Code: "check_digit", Message: "This card number is not valid: a digit may be mistyped. Check it against the card."})
	}
	switch {
	case in.ExpMonth < 1 || in.ExpMonth > 12:
		fields = append(fields, sellerguard.FieldError{Field: "exp_month", Code: "invalid", Message: "Enter the expiry month, 1 to 12."})
	case in.ExpYear < now.Year() || in.ExpYear > now.Year()+20:
		fields = append(fields, sellerguard.FieldError{Field: "exp_year", Code: "invalid", Message: fmt.Sprintf("Enter the expiry year, %d to %d.", now.Year(), now.Year()+20)})
	case in.ExpYear == now.Year() && in.ExpMonth < int(now.Month()):
		fields = append(fields, sellerguard.FieldError{Field: "exp_month", Code: "expired", Message: "This card has expired."})
	}
	if len(fields) > 0 {
		return store.ChargeMethod{}, sellerguard.Invalid(fields...)
	}
	c := store.ChargeMethod{BusinessID: businessID, Holder: holder, Brand: cardBrand(number), Last4: number[len(number)-4:],
		ExpMonth: in.ExpMonth, ExpYear: in.ExpYear, Fingerprint: s.cardFingerprint(number), UpdatedBy: p.User.ID, UpdatedAt: now}
	describe := func(x store.ChargeMethod) map[string]any {
		return map[string]any{"card": fmt.Sprintf("%s •••• %s", x.Brand, x.Last4), "holder": x.Holder, "expires": fmt.Sprintf("%02d/%d", x.ExpMonth, x.ExpYear)}
	}
	err := s.DB.WithBusinessTx(ctx, businessID, func(tx *store.Tx) error {
		before := map[string]any{"card": nil}
		if old, err := tx.GetChargeMethod(ctx, businessID); err == nil {
			before = describe(old)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.PutChargeMethod(ctx, c); err != nil {
			return err
		}
		if err := s.teamEvent(ctx, tx, now, p, meta, businessID, "business.charge_method_changed", "charge_method", businessID, before, describe(c)); err != nil {
			return err
		}
		return TellPaymentChange(ctx, tx, now, s, businessID, "email.charge_card_changed",
			"Actor", p.User.Email, "Brand", c.Brand, "Last4", c.Last4, "Expires", fmt.Sprintf("%02d/%d", c.ExpMonth, c.ExpYear))
	})
	if err != nil {
		return store.ChargeMethod{}, err
	}
	return c, nil
}

// cardFingerprint is the keyed fingerprint of a card number.
func (s *Service) cardFingerprint(number string) string {
	return s.Keys.MAC("card-fingerprint", number)
}

// ForgetCardNumbers replaces the full card numbers sealed before
// SellerGuard stopped keeping them with their fingerprints (a number that
// no longer opens is dropped without one). The service runs it at start;
// it returns how many it forgot.
func (s *Service) ForgetCardNumbers(ctx context.Context) (int, error) {
	n := 0
	for {
		list, err := s.DB.StoredCardNumbers(ctx, 100)
		if err != nil || len(list) == 0 {
			return n, err
		}
		for _, c := range list {
			fp := ""
			if raw, err := s.Keys.Open("charge-card", c.Sealed, []byte(c.BusinessID)); err == nil {
				fp = s.cardFingerprint(string(raw))
				clear(raw)
			}
			if err := s.DB.ForgetCardNumber(ctx, c.BusinessID, c.Sealed, fp); err != nil {
				return n, err
			}
			n++
		}
	}
}
