package account

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/history"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/sellerdata"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// Holds: when the owner undoes a sign-in email change with the revert code,
// what was added to the account since that change was started — second-step
// methods (authenticator apps, text-message phones, passkeys), a new set of
// backup codes, and deposit accounts the user added to any business — is
// put on hold in the same transaction. A held method is not confirmed for
// any rule (sign-in, step-up, protection count); held backup codes do not
// verify; a held deposit account receives no payouts, so the account in use
// before it stays (or is again) the payout account. The owner confirms or
// removes each hold; each decision commits with its audit event and its
// notice. Things changed before the email change was started are not held:
// the change review (Secure my account) shows those.

// Kinds of hold.
const (
	HoldTwoStepMethod = "two_step_method"
	HoldBackupCodes   = "backup_codes"
	HoldDeposit       = "deposit_account"
)

// Decisions on a hold.
const (
	HoldConfirm = "confirm"
	HoldRemove  = "remove"
)

var errNoSuchHold = sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such held item.")

var holdKindWords = map[string]string{
	twostep.KindTOTP:    "Authenticator app",
	twostep.KindSMS:     "Text-message phone",
	twostep.KindVoice:   "Voice-call phone",
	twostep.KindPasskey: "Passkey",
}

// holdAddedSince puts on hold what was added to the user's account at or
// after since, inside the revert's transaction. Enrolments never confirmed
// are deleted (nobody can finish them now). u is the user as the undone
// change left it (its email the one being undone); ownerEmail is the
// address that is the sign-in email again, who acts here.
func (s *Service) holdAddedSince(ctx context.Context, tx *store.Tx, u store.UserRecord, ownerEmail, changeID string, since time.Time, meta RequestMeta, now time.Time) ([]store.Hold, error) {
	var holds []store.Hold
	add := func(h store.Hold) error {
		h.ID, h.UserID, h.ChangeID, h.CreatedAt = NewID("hold"), u.ID, changeID, now
		holds = append(holds, h)
		return tx.PutHold(ctx, h)
	}
	ms, err := tx.ListMethods(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.Held || m.CreatedAt.Before(since) {
			continue
		}
		if !m.Confirmed {
			if err := tx.DeleteMethod(ctx, u.ID, m.ID); err != nil {
				return nil, err
			}
			continue
		}
		if err := tx.SetMethodHeld(ctx, u.ID, m.ID, true); err != nil {
			return nil, err
		}
		words := holdKindWords[m.Kind]
		if words == "" {
			words = "Two-step method"
		}
		if err := add(store.Hold{Kind: HoldTwoStepMethod, TargetID: m.ID, Summary: fmt.Sprintf("%s “%s”", words, m.Label), AddedAt: m.CreatedAt}); err != nil {
			return nil, err
		}
	}
	newCodes, err := tx.BackupCodesMadeSince(ctx, u.ID, since)
	if err != nil {
		return nil, err
	}
	if newCodes {
		if err := tx.SetBackupCodesHeld(ctx, u.ID, true); err != nil {
			return nil, err
		}
		if err := add(store.Hold{Kind: HoldBackupCodes, TargetID: u.ID, Summary: "A new set of backup codes", AddedAt: since}); err != nil {
			return nil, err
		}
	}
	accts, err := tx.DepositAccountsAddedBy(ctx, u.ID, since)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	if mems, err := tx.ListMemberships(ctx, u.ID); err == nil {
		for _, m := range mems {
			names[m.BusinessID] = m.BusinessName
		}
	} else {
		return nil, err
	}
	for _, a := range accts {
		if a.Held {
			continue
		}
		if err := tx.SetDepositAccountHeld(ctx, a.BusinessID, a.ID, true); err != nil {
			return nil, err
		}
		summary := fmt.Sprintf("Deposit account •••• %s (%s, %s)", a.Last4, a.Holder, a.Bank)
		if n := names[a.BusinessID]; n != "" {
			summary += " of " + n
		}
		if err := add(store.Hold{Kind: HoldDeposit, BusinessID: a.BusinessID, TargetID: a.ID, Summary: summary, AddedAt: a.CreatedAt}); err != nil {
			return nil, err
		}
		if err := audit.Append(ctx, tx, now, audit.Entry{BusinessID: a.BusinessID, SubjectID: u.ID, ActorEmail: ownerEmail, IP: meta.IP, UserAgent: meta.UserAgent,
			Action: "business.deposit_account_held", Category: sellerguard.CategoryBusiness, TargetType: "deposit_account", TargetID: a.ID,
			After: map[string]any{"deposit_account": "•••• " + a.Last4, "holder": a.Holder, "bank": a.Bank, "held": true, "reason": "sign-in email change undone"}}); err != nil {
			return nil, err
		}
		if err := sellerdata.TellPaymentChange(ctx, tx, now, s, a.BusinessID, "email.deposit_account_held",
			"Item", heldItem{kind: HoldDeposit, last4: a.Last4, holder: a.Holder, bank: a.Bank}, "Member", ownerEmail, "Email", u.Email); err != nil {
			return nil, err
		}
	}
	return holds, nil
}

// ListHolds returns the caller's undecided holds.
func (s *Service) ListHolds(ctx context.Context, p *Principal) ([]store.Hold, error) {
	if err := p.RequireFull(); err != nil {
		return nil, err
	}
	return s.DB.OpenHolds(ctx, p.User.ID)
}

// HoldNames names each hold in the reader's language, as the hold emails
// do: a two-step method by its kind and name, a deposit account by its last
// digits, holder and bank, backup codes as such; the summary stored with
// the hold when the item is gone.
func (s *Service) HoldNames(ctx context.Context, p *Principal, hs []store.Hold, l i18n.Lang) ([]string, error) {
	out := make([]string, len(hs))
	for i, h := range hs {
		item := heldItem{kind: h.Kind, summary: h.Summary}
		switch h.Kind {
		case HoldTwoStepMethod:
			m, err := s.DB.FindMethod(ctx, p.User.ID, h.TargetID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			item.method, item.label = m.Kind, m.Label
		case HoldDeposit:
			a, err := s.DB.FindDepositAccount(ctx, h.BusinessID, h.TargetID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			item.last4, item.holder, item.bank = a.Last4, a.Holder, a.Bank
		}
		name := item.In(l)
		if h.Kind == HoldDeposit {
			for _, m := range p.Memberships {
				if m.BusinessID == h.BusinessID && item.last4 != "" {
					name = i18n.Default().T(l, "secure.held.of_business", "Item", name, "Business", m.BusinessName)
				}
			}
		}
		if l == i18n.English && name != "" { // a list item starts with a capital
			r, n := utf8.DecodeRuneInString(name)
			name = string(unicode.ToUpper(r)) + name[n:]
		}
		out[i] = name
	}
	return out, nil
}

// CountHolds returns how many holds of the user wait for a decision.
func (s *Service) CountHolds(ctx context.Context, userID string) (int, error) {
	hs, err := s.DB.OpenHolds(ctx, userID)
	return len(hs), err
}

// DecideHold confirms a held item (it becomes usable: a method signs in, a
// deposit account receives payouts from the end of its cooling-off) or
// removes it. A recent sign-in is needed; a deposit account also needs
// payments: edit in its business. The decision, its audit event and its
// notice commit together.
func (s *Service) DecideHold(ctx context.Context, p *Principal, holdID, decision string, meta RequestMeta) (store.Hold, error) {
	if err := s.RequireRecentAuth(p); err != nil {
		return store.Hold{}, err
	}
	if decision != HoldConfirm && decision != HoldRemove {
		return store.Hold{}, sellerguard.Errorf(sellerguard.ECodeInvalidInput, "Confirm or remove the held item.")
	}
	if len(holdID) > 64 {
		return store.Hold{}, errNoSuchHold
	}
	now := s.now()
	var h store.Hold
	err := s.DB.WithUserTx(ctx, p.User.ID, func(tx *store.Tx) error {
		var err error
		h, err = tx.FindHold(ctx, p.User.ID, holdID)
		if errors.Is(err, store.ErrNotFound) {
			return errNoSuchHold
		}
		if err != nil {
			return err
		}
		if !h.DecidedAt.IsZero() {
			return sellerguard.Errorf(sellerguard.ECodeConflict, "This item was already %s.", pastTense(h.Decision))
		}
		if h.Kind == HoldDeposit {
			if err := p.RequireArea(h.BusinessID, sellerguard.AreaPayments, sellerguard.LevelEdit); err != nil {
				return err
			}
		}
		past := pastTense(decision)
		if err := tx.DecideHold(ctx, h.ID, past, now); errors.Is(err, store.ErrConflict) {
			return sellerguard.Errorf(sellerguard.ECodeConflict, "This item was already decided.")
		} else if err != nil {
			return err
		}
		h.DecidedAt, h.Decision = now, past
		item := heldItem{kind: h.Kind, summary: h.Summary} // the reader's words for it (found below)
		gone := sellerguard.Errorf(sellerguard.ECodeConflict, "This item no longer exists (it was removed another way). Remove it from the list.")
		switch h.Kind {
		case HoldTwoStepMethod:
			m, err := tx.FindMethod(ctx, p.User.ID, h.TargetID)
			switch {
			case errors.Is(err, store.ErrNotFound) && decision == HoldConfirm:
				return gone
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return err
			case decision == HoldConfirm:
				item.method, item.label = m.Kind, m.Label
				err = tx.SetMethodHeld(ctx, p.User.ID, m.ID, false)
			default:
				item.method, item.label = m.Kind, m.Label
				err = tx.DeleteMethod(ctx, p.User.ID, m.ID)
			}
			if err != nil {
				return err
			}
		case HoldBackupCodes:
			if decision == HoldConfirm {
				if err := tx.SetBackupCodesHeld(ctx, p.User.ID, false); err != nil {
					return err
				}
			} else if _, err := tx.DeleteHeldBackupCodes(ctx, p.User.ID); err != nil {
				return err
			}
		case HoldDeposit:
			a, err := tx.FindDepositAccount(ctx, h.BusinessID, h.TargetID)
			if err == nil {
				item.last4, item.holder, item.bank = a.Last4, a.Holder, a.Bank
			}
			switch {
			case errors.Is(err, store.ErrNotFound) && decision == HoldConfirm:
				return gone
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return err
			case decision == HoldConfirm:
				err = tx.SetDepositAccountHeld(ctx, h.BusinessID, h.TargetID, false)
			default:
				err = tx.DeleteDepositAccount(ctx, h.BusinessID, h.TargetID)
			}
			if err != nil {
				return err
			}
			if err := s.teamEvent(ctx, tx, now, p, meta, h.BusinessID, "business.deposit_account_hold_"+past, "deposit_account", h.TargetID,
				map[string]any{"held": true, "summary": h.Summary}, map[string]any{"held": false, "decision": past}); err != nil {
				return err
			}
			return sellerdata.TellPaymentChange(ctx, tx, now, s, h.BusinessID, "email.deposit_hold_"+past, "Actor", p.User.Email, "Item", item)
		default:
			return fmt.Errorf("auth: hold %s of unknown kind %q", h.ID, h.Kind)
		}
		if err := audit.Append(ctx, tx, now, audit.Entry{SubjectID: p.User.ID, ActorID: p.User.ID, ActorEmail: p.User.Email, IP: meta.IP, UserAgent: meta.UserAgent,
			Action: "two_step.hold_" + past, Category: sellerguard.CategoryAccount, TargetType: h.Kind, TargetID: h.TargetID,
			Before: map[string]any{"held": true, "summary": h.Summary}, After: map[string]any{"held": false, "decision": past}}); err != nil {
			return err
		}
		if err := s.Cache.Revoke(ctx, tx, p.User.ID); err != nil {
			return err
		}
		return s.sendEmail(ctx, tx, now, tmail(EventTwoStepChanged, p.User.Email, "email.two_step_hold_"+past,
			"Item", item, "When", now, "IP", meta.IP, "BaseURL", s.Config.BaseURL))
	})
	if err != nil {
		return store.Hold{}, err
	}
	return h, nil
}

func pastTense(decision string) string {
	switch decision {
	case HoldConfirm, "confirmed":
		return "confirmed"
	case HoldRemove, "removed":
		return "removed"
	}
	return "decided"
}

// heldItem names a held item in the reader's language (an i18n.Text of the
// hold notices): a two-step method by its kind and name, the backup codes,
// a deposit account by its last digits, holder and bank. An item whose
// record is gone keeps the hold's stored summary.
type heldItem struct {
	kind, summary       string
	method, label       string // HoldTwoStepMethod
	last4, holder, bank string // HoldDeposit
}

// In implements i18n.Text.
func (h heldItem) In(l i18n.Lang) string {
	c := i18n.Default()
	switch {
	case h.kind == HoldBackupCodes:
		return c.T(l, "email.hold_item.backup_codes")
	case h.kind == HoldTwoStepMethod && h.method != "":
		kind := c.T(l, "email.hold_item.method_other")
		if c.Has(i18n.English, "history.kind."+h.method) {
			kind = c.T(l, "history.kind."+h.method)
		}
		if h.label == "" || h.label == history.DefaultMethodLabel[h.method] {
			return kind // a default name only repeats the kind
		}
		return c.T(l, "email.hold_item.method", "Kind", kind, "Label", h.label)
	case h.kind == HoldDeposit && h.last4 != "":
		return c.T(l, "email.hold_item.deposit", "Last4", h.last4, "Holder", h.holder, "Bank", h.bank)
	}
	return h.summary
}
