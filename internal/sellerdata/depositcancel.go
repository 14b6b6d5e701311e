package sellerdata

import (
	"context"
	"errors"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/store"
)

// CancelDepositAccount removes a deposit account that is still in its
// cooling-off period, so it never receives a payout. Only the owner may,
// with a recent sign-in (a payment change like any other). An account whose
// cooling-off has ended already receives payouts: adding the right account
// replaces it. A held account (holds.go) is decided on Secure my account.
// The removal, its audit event (business.deposit_account_cancelled) and the
// notice to the owner and the user managers commit together.
func (s *Service) CancelDepositAccount(ctx context.Context, p *Principal, businessID, accountID string, meta RequestMeta) (PaymentInfo, error) {
	if err := p.RequireArea(businessID, sellerguard.AreaPayments, sellerguard.LevelView); err != nil {
		return PaymentInfo{}, err
	}
	if err := p.RequireOwner(businessID, "cancel a new deposit account"); err != nil {
		return PaymentInfo{}, err
	}
	if err := s.RequireRecentAuth(p); err != nil {
		return PaymentInfo{}, err
	}
	now := s.now()
	errNone := sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such deposit account.")
	err := s.DB.WithBusinessTx(ctx, businessID, func(tx *store.Tx) error {
		a, err := tx.FindDepositAccount(ctx, businessID, accountID)
		if errors.Is(err, store.ErrNotFound) {
			return errNone
		}
		if err != nil {
			return err
		}
		if a.Held {
			return sellerguard.Errorf(sellerguard.ECodeConflict, "This deposit account is on hold: keep or remove it on Secure my account.")
		}
		if !now.Before(a.ActiveFrom) {
			return sellerguard.Errorf(sellerguard.ECodeConflict, "This deposit account's cooling-off period has ended and it receives payouts: add the right account instead.")
		}
		if err := tx.DeleteDepositAccount(ctx, businessID, a.ID); errors.Is(err, store.ErrNotFound) {
			return errNone
		} else if err != nil {
			return err
		}
		after, err := s.payoutState(ctx, tx, businessID, now)
		if err != nil {
			return err
		}
		stays, staysText := map[string]any{"deposit_account": nil}, msgT{Key: "email.deposit_account_cancelled.no_account"}
		if after.Payouts != nil {
			stays = map[string]any{"deposit_account": "•••• " + after.Payouts.Last4, "holder": after.Payouts.Holder, "bank": after.Payouts.Bank}
			staysText = msgT{Key: "email.deposit_account_cancelled.stays", KV: []any{"Last4", after.Payouts.Last4}}
		}
		if err := s.teamEvent(ctx, tx, now, p, meta, businessID, "business.deposit_account_cancelled", "deposit_account", a.ID,
			map[string]any{"deposit_account": "•••• " + a.Last4, "holder": a.Holder, "bank": a.Bank, "payouts_from": a.ActiveFrom, "added_by": a.CreatedBy},
			map[string]any{"cancelled": true, "payouts_stay_with": stays}); err != nil {
			return err
		}
		return TellPaymentChange(ctx, tx, now, s, businessID, "email.deposit_account_cancelled",
			"Actor", p.User.Email, "Last4", a.Last4, "Holder", a.Holder, "Bank", a.Bank, "Stays", staysText)
	})
	if err != nil {
		return PaymentInfo{}, err
	}
	return s.PaymentInfo(ctx, p, businessID)
}
