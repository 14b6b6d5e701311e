package support

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/keys"
	"github.com/sellerguard/sellerguard/internal/outbox"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// Evidence kinds: what the seller proved, each checked by SellerGuard.
const (
	EvidenceEmailCode    = "email_code"
	EvidencePhoneCode    = "phone_code"
	EvidenceBackupCode   = "backup_code"
	EvidenceDepositLast4 = "deposit_last4"
	EvidenceListingSKU   = "listing_sku"
)

// EvidenceKinds lists the kinds of evidence.
var EvidenceKinds = []string{EvidenceEmailCode, EvidencePhoneCode, EvidenceBackupCode, EvidenceDepositLast4, EvidenceListingSKU}

// Action kinds and states.
const (
	ActionEndSessions           = "end_sessions"
	ActionLockSignIn            = "lock_sign_in"
	ActionRequirePasswordChange = "require_password_change"
	ActionRemoveSecondStep      = "remove_second_step"
	ActionChangeEmail           = "change_email"

	ActionPendingApproval = "pending_approval"
	ActionWaiting         = "waiting"
	ActionDone            = "done"
	ActionCancelled       = "cancelled"
	ActionFailed          = "failed"
)

// ActionKinds lists the action kinds; RecoveryActions the ones that need
// two pieces of evidence, a supervisor's approval and the waiting period.
var (
	ActionKinds     = []string{ActionEndSessions, ActionLockSignIn, ActionRequirePasswordChange, ActionRemoveSecondStep, ActionChangeEmail}
	RecoveryActions = []string{ActionRequirePasswordChange, ActionRemoveSecondStep, ActionChangeEmail}
)

// Bounds of the checks.
const (
	CheckCodeTTL       = 15 * time.Minute
	ChecksPerKindCase  = 5
	EvidenceNeeded     = 2
	maxEvidenceValue   = 64
	checkCodeMACPrefix = "support-check"
)

// Evidence is one recorded check, as agents see it.
type Evidence struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Matched   bool      `json:"matched"`
	AgentID   string    `json:"agent_id"`
	CreatedAt time.Time `json:"created_at"`
}

func evidenceOf(e store.SupportEvidence) Evidence {
	return Evidence{ID: e.ID, Kind: e.Kind, Matched: e.Matched, AgentID: e.AgentID, CreatedAt: e.CreatedAt}
}

// Action is an agent's action as agents see it.
type Action struct {
	ID          string    `json:"id"`
	CaseID      string    `json:"case_id"`
	Kind        string    `json:"kind"`
	State       string    `json:"state"`
	RequestedBy string    `json:"requested_by"`
	ApprovedBy  string    `json:"approved_by,omitempty"`
	EffectiveAt time.Time `json:"effective_at,omitzero"`
	CreatedAt   time.Time `json:"created_at"`
}

func actionOf(a store.SupportAction) Action {
	return Action{ID: a.ID, CaseID: a.CaseID, Kind: a.Kind, State: a.State, RequestedBy: a.RequestedBy, ApprovedBy: a.ApprovedBy, EffectiveAt: a.EffectiveAt, CreatedAt: a.CreatedAt}
}

var (
	errNoAccount = sellerguard.Errorf(sellerguard.ECodeConflict, "This case is about an email without a SellerGuard account: there is nothing to check or change.")
	errDisowned  = sellerguard.Errorf(sellerguard.ECodeConflict, "The account's owner said this case is not theirs: nothing on the account can be changed through it.")
)

func (s *Service) caseWithAccount(ctx context.Context, tx *store.Tx, id string) (store.SupportCase, store.UserRecord, error) {
	c, err := lockedCase(ctx, tx, id)
	if err != nil {
		return c, store.UserRecord{}, err
	}
	if c.AccountUserID == "" {
		return c, store.UserRecord{}, errNoAccount
	}
	if !c.DisownedAt.IsZero() {
		return c, store.UserRecord{}, errDisowned
	}
	u, err := tx.FindUserByID(ctx, c.AccountUserID)
	return c, u, err
}

func (s *Service) checkMAC(caseID, kind, code string) string {
	return s.Keys.MAC(checkCodeMACPrefix, caseID, kind, code)
}

// SendCheckCode sends a six-digit code to the email or the phone on file
// of the case's account (kind email_code or phone_code); the seller reads
// it to the agent, who records it as evidence. The agent never sees it.
func (s *Service) SendCheckCode(ctx context.Context, a Agent, id, kind string) error {
	if kind != EvidenceEmailCode && kind != EvidencePhoneCode {
		return field("kind", "invalid_kind", "Choose email_code or phone_code.")
	}
	now := s.now()
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		c, u, err := s.caseWithAccount(ctx, tx, id)
		if err != nil {
			return err
		}
		if retry, err := s.Limiter.Hit(ctx, tx, "support-send:"+c.ID, "", now, 10, 24*time.Hour); err != nil {
			return err
		} else if !retry.IsZero() {
			return rateLimited(retry.Sub(now))
		}
		n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
		if err != nil {
			return err
		}
		code := fmt.Sprintf("%06d", n.Int64())
		l := userLang(u)
		text := tr(l, "sms.support.check_code", "Ref", c.Ref, "Code", code)
		if kind == EvidencePhoneCode {
			if !s.SMSAvailable {
				return sellerguard.Errorf(sellerguard.ECodeConflict, "Texts cannot be sent from this SellerGuard.")
			}
			info, err := tx.UserContact(ctx, u.ID)
			if err != nil {
				return err
			}
			if info.PhoneSealed == "" {
				return sellerguard.Errorf(sellerguard.ECodeConflict, "The account has no mobile number on file.")
			}
			raw, err := s.Keys.Open("phone", info.PhoneSealed, []byte(u.ID))
			if err != nil {
				return err
			}
			if err := outbox.Enqueue(ctx, tx, now, sellerguard.OutboxMessage{Channel: sellerguard.ChannelSMS, To: string(raw), UserID: u.ID, Body: text}); err != nil {
				return err
			}
		} else {
			phrase, err := tx.PhishingPhraseOf(ctx, u.ID)
			if err != nil {
				return err
			}
			if err := outbox.Enqueue(ctx, tx, now, sellerguard.OutboxMessage{Channel: sellerguard.ChannelEmail, To: u.Email, UserID: u.ID,
				Subject: tr(l, "email.support.check_code.subject"), Body: outbox.PhraseHeader(phrase) + tr(l, "email.support.check_code.body", "Ref", c.Ref, "Code", code) +
					"\n\n" + tr(l, "email.support.safety_footer") + "\n"}); err != nil {
				return err
			}
		}
		if err := tx.PutSupportChallenge(ctx, store.SupportChallenge{CaseID: c.ID, Kind: kind, CodeMAC: s.checkMAC(c.ID, kind, code), ExpiresAt: now.Add(CheckCodeTTL)}); err != nil {
			return err
		}
		return agentAudit(ctx, tx, now, a, c, "support.check_code_sent", "user", u.ID, map[string]any{"kind": kind})
	})
	return err
}

// RecordEvidence checks what the seller told the agent against what
// SellerGuard has on file and records only whether it matched. A backup
// code that matches is used up. At most ChecksPerKindCase checks of a kind
// per case.
func (s *Service) RecordEvidence(ctx context.Context, a Agent, id, kind, value string) (Evidence, error) {
	if !slices.Contains(EvidenceKinds, kind) {
		return Evidence{}, field("kind", "invalid_kind", "Choose email_code, phone_code, backup_code, deposit_last4 or listing_sku.")
	}
	value = strings.TrimSpace(value)
	switch {
	case value == "":
		return Evidence{}, field("value", "required", "Type what the seller told you.")
	case len(value) > maxEvidenceValue:
		return Evidence{}, field("value", "too_long", "This is longer than any value SellerGuard could check.")
	case kind == EvidenceDepositLast4 && (len(value) != 4 || strings.Trim(value, "0123456789") != ""):
		return Evidence{}, field("value", "invalid_format", "The last four digits of the deposit account are four digits.")
	case (kind == EvidenceEmailCode || kind == EvidencePhoneCode) && (len(value) != 6 || strings.Trim(value, "0123456789") != ""):
		return Evidence{}, field("value", "invalid_format", "The check code is six digits.")
	}
	now := s.now()
	var out Evidence
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		c, u, err := s.caseWithAccount(ctx, tx, id)
		if err != nil {
			return err
		}
		if retry, err := s.Limiter.Hit(ctx, tx, "support-evidence:"+c.ID+":"+kind, "", now, ChecksPerKindCase, 30*24*time.Hour); err != nil {
			return err
		} else if !retry.IsZero() {
			return &sellerguard.Error{Code: sellerguard.ECodeRateLimited, Message: "This kind of check was tried too often on this case.", RetryAfter: retry.Sub(now)}
		}
		matched, err := s.check(ctx, tx, c, u, kind, value, now)
		if err != nil {
			return err
		}
		e := store.SupportEvidence{ID: session.NewID("evd"), CaseID: c.ID, Kind: kind, Matched: matched, AgentID: a.ID, CreatedAt: now}
		if err := tx.AddSupportEvidence(ctx, e); err != nil {
			return err
		}
		out = evidenceOf(e)
		if err := agentAudit(ctx, tx, now, a, c, "support.evidence_recorded", "user", u.ID, map[string]any{"kind": kind, "matched": matched}); err != nil {
			return err
		}
		l := userLang(u)
		result := "support.result.not_matched"
		if matched {
			result = "support.result.matched"
		}
		return s.tellUserText(ctx, tx, now, u, EventAgentAction, l, tr(l, "email.support.evidence.subject"),
			tr(l, "email.support.evidence.body", "Ref", c.Ref, "What", tr(l, "support.evidence."+kind), "Result", tr(l, result)))
	})
	return out, err
}

func (s *Service) check(ctx context.Context, tx *store.Tx, c store.SupportCase, u store.UserRecord, kind, value string, now time.Time) (bool, error) {
	switch kind {
	case EvidenceEmailCode, EvidencePhoneCode:
		ch, err := tx.SupportChallenge(ctx, c.ID, kind)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if !now.Before(ch.ExpiresAt) || !keys.EqualMAC(ch.CodeMAC, s.checkMAC(c.ID, kind, value)) {
			return false, nil
		}
		return true, tx.DeleteSupportChallenge(ctx, c.ID, kind)
	case EvidenceBackupCode:
		err := tx.UseBackupCode(ctx, u.ID, s.Keys.MAC("backup-code", u.ID, twostep.NormalizeBackupCode(value)), now)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	ms, err := tx.ListMemberships(ctx, u.ID)
	if err != nil {
		return false, err
	}
	matched := false
	for _, m := range ms {
		if m.Role != sellerguard.RoleOwner {
			continue
		}
		if kind == EvidenceDepositLast4 {
			accts, err := tx.DepositAccounts(ctx, m.BusinessID)
			if err != nil {
				return false, err
			}
			for _, a := range accts {
				if subtle.ConstantTimeCompare([]byte(a.Last4), []byte(value)) == 1 {
					matched = true
				}
			}
			continue
		}
		ls, err := tx.ListListings(ctx, m.BusinessID, 500)
		if err != nil {
			return false, err
		}
		want := strings.ToUpper(value)
		for _, l := range ls {
			if subtle.ConstantTimeCompare([]byte(strings.ToUpper(l.SKU)), []byte(want)) == 1 {
				matched = true
			}
		}
	}
	return matched, nil
}

// ActionInput is an agent's request for an action on a case's account.
type ActionInput struct {
	Kind     string
	MethodID string // remove_second_step
	NewEmail string // change_email
}

// RequestAction takes an action on the case's account. Ending sessions and
// locking sign-in happen at once; a recovery action waits for a
// supervisor's approval (and then the waiting period), and needs two
// matching pieces of evidence of different kinds.
func (s *Service) RequestAction(ctx context.Context, a Agent, id string, in ActionInput) (Action, error) {
	if !slices.Contains(ActionKinds, in.Kind) {
		return Action{}, field("kind", "invalid_kind", "Choose end_sessions, lock_sign_in, require_password_change, remove_second_step or change_email.")
	}
	param := ""
	switch in.Kind {
	case ActionRemoveSecondStep:
		if in.MethodID == "" || len(in.MethodID) > 64 {
			return Action{}, field("method_id", "required", "Choose the second-step method to remove (its id from the case).")
		}
		param = in.MethodID
	case ActionChangeEmail:
		addr, err := validEmail("new_email", in.NewEmail)
		if err != nil {
			return Action{}, err
		}
		param = addr
	}
	if (in.Kind != ActionRemoveSecondStep && in.MethodID != "") || (in.Kind != ActionChangeEmail && in.NewEmail != "") {
		return Action{}, field("kind", "unexpected_parameter", "method_id goes only with remove_second_step, new_email only with change_email.")
	}
	now := s.now()
	var out store.SupportAction
	var userID string
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		c, u, err := s.caseWithAccount(ctx, tx, id)
		if err != nil {
			return err
		}
		userID = u.ID
		out = store.SupportAction{ID: session.NewID("act"), CaseID: c.ID, UserID: u.ID, Kind: in.Kind, Param: param, RequestedBy: a.ID, CreatedAt: now, UpdatedAt: now}
		if !slices.Contains(RecoveryActions, in.Kind) {
			out.State = ActionDone
			if err := tx.PutSupportAction(ctx, out); err != nil {
				return err
			}
			return s.immediate(ctx, tx, a, c, u, out, now)
		}
		if err := checkRecoveryParam(ctx, tx, u, in.Kind, param); err != nil {
			return err
		}
		if err := s.enoughEvidence(ctx, tx, c.ID); err != nil {
			return err
		}
		out.State = ActionPendingApproval
		if err := tx.PutSupportAction(ctx, out); err != nil {
			return err
		}
		if err := agentAudit(ctx, tx, now, a, c, "support.recovery_action_requested", "user", u.ID, map[string]any{"action": out.ID, "kind": in.Kind}); err != nil {
			return err
		}
		code, err := s.newNotMeCode(ctx, tx, c.ID, "not_me:"+out.ID, now)
		if err != nil {
			return err
		}
		return s.tellUserKey(ctx, tx, now, u, EventAgentAction, "email.support.requested",
			"Action", tr(userLang(u), "support.action."+in.Kind), "Ref", c.Ref, "Delay", s.delay().String(), "Code", code)
	})
	if err != nil {
		return Action{}, err
	}
	if out.State == ActionDone {
		s.Cache.InvalidateUser(userID)
	}
	return actionOf(out), nil
}

func checkRecoveryParam(ctx context.Context, tx *store.Tx, u store.UserRecord, kind, param string) error {
	switch kind {
	case ActionRemoveSecondStep:
		if _, err := tx.FindMethod(ctx, u.ID, param); errors.Is(err, store.ErrNotFound) {
			return field("method_id", "unknown_method", "The account has no second-step method with this id.")
		} else if err != nil {
			return err
		}
	case ActionChangeEmail:
		if _, err := tx.FindUserByEmail(ctx, session.NormalizeEmail(param)); err == nil {
			return field("new_email", "email_taken", "Another account uses this email.")
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

var errEvidence = sellerguard.Errorf(sellerguard.ECodeForbidden, "A recovery action needs two matching pieces of evidence of different kinds on the case.")

func (s *Service) enoughEvidence(ctx context.Context, tx *store.Tx, caseID string) error {
	ev, err := tx.SupportEvidenceOf(ctx, caseID)
	if err != nil {
		return err
	}
	kinds := map[string]bool{}
	for _, e := range ev {
		if e.Matched {
			kinds[e.Kind] = true
		}
	}
	if len(kinds) < EvidenceNeeded {
		return errEvidence
	}
	return nil
}

// endSessions ends every session of the user, on every instance.
func (s *Service) endSessions(ctx context.Context, tx *store.Tx, userID string) (int, error) {
	ids, err := tx.DeleteOtherSessions(ctx, userID, "")
	if err != nil {
		return 0, err
	}
	if s.Cache != nil {
		if err := s.Cache.NotifyRevoked(ctx, tx, userID); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

func (s *Service) immediate(ctx context.Context, tx *store.Tx, a Agent, c store.SupportCase, u store.UserRecord, act store.SupportAction, now time.Time) error {
	n, err := s.endSessions(ctx, tx, u.ID)
	if err != nil {
		return err
	}
	body := "email.support.ended.body"
	if act.Kind == ActionLockSignIn {
		if err := tx.SetUserStatus(ctx, u.ID, sellerguard.UserLocked); err != nil {
			return err
		}
		body = "email.support.locked.body"
	}
	if err := agentAudit(ctx, tx, now, a, c, "support."+act.Kind, "user", u.ID, map[string]any{"action": act.ID, "sessions_ended": n}); err != nil {
		return err
	}
	l := userLang(u)
	return s.tellUserText(ctx, tx, now, u, EventAgentAction, l, tr(l, "email.support.acted.subject"), tr(l, body, "Sessions", n, "Ref", c.Ref))
}

// ApproveAction is the supervisor's approval of a recovery action another
// agent requested: the waiting period starts and every address on file is
// told, with a code that cancels it.
func (s *Service) ApproveAction(ctx context.Context, sup Agent, actionID string) (Action, error) {
	if !sup.Supervisor() {
		return Action{}, errSupervisorOnly
	}
	if !wellFormedID("act", actionID) {
		return Action{}, errNoSuchAct
	}
	now := s.now()
	var out store.SupportAction
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		act, err := lockedAction(ctx, tx, actionID)
		if errors.Is(err, store.ErrNotFound) {
			return errNoSuchAct
		}
		if err != nil {
			return err
		}
		if act.RequestedBy == sup.ID {
			return sellerguard.Errorf(sellerguard.ECodeForbidden, "A second agent must approve: you asked for this action yourself.")
		}
		if act.State != ActionPendingApproval {
			return sellerguard.Errorf(sellerguard.ECodeConflict, "This action is not waiting for approval (it is %s).", act.State)
		}
		c, u, err := s.caseWithAccount(ctx, tx, act.CaseID)
		if err != nil {
			return err
		}
		if err := s.enoughEvidence(ctx, tx, c.ID); err != nil {
			return err
		}
		act.State, act.ApprovedBy, act.EffectiveAt, act.UpdatedAt = ActionWaiting, sup.ID, now.Add(s.delay()), now
		if err := tx.PutSupportAction(ctx, act); err != nil {
			return err
		}
		out = act
		if err := agentAudit(ctx, tx, now, sup, c, "support.recovery_action_approved", "user", u.ID,
			map[string]any{"action": act.ID, "kind": act.Kind, "requested_by": act.RequestedBy, "effective_at": act.EffectiveAt}); err != nil {
			return err
		}
		code, err := s.newNotMeCode(ctx, tx, c.ID, "not_me:"+act.ID, now)
		if err != nil {
			return err
		}
		return s.tellUserKey(ctx, tx, now, u, EventAgentAction, "email.support.approved",
			"Action", tr(userLang(u), "support.action."+act.Kind), "Ref", c.Ref, "When", act.EffectiveAt.Format(time.RFC1123), "Code", code)
	})
	if err != nil {
		return Action{}, err
	}
	return actionOf(out), nil
}

// RunDue carries out the recovery actions whose waiting period is over
// (unless the owner cancelled them) and returns how many it carried out.
func (s *Service) RunDue(ctx context.Context) (int, error) {
	now := s.now()
	due, err := s.DB.DueSupportActions(ctx, now, 50)
	if err != nil {
		return 0, err
	}
	done := 0
	for _, d := range due {
		ran := false
		err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
			act, err := lockedAction(ctx, tx, d.ID) // another instance may run this too
			if err != nil {
				return err
			}
			if act.State != ActionWaiting || now.Before(act.EffectiveAt) {
				return nil // cancelled or carried out meanwhile
			}
			c, err := tx.FindSupportCase(ctx, act.CaseID)
			if err != nil {
				return err
			}
			u, err := tx.FindUserByID(ctx, act.UserID)
			if err != nil {
				return err
			}
			reqRec, err := tx.FindSupportAgent(ctx, act.RequestedBy)
			if err != nil {
				return err
			}
			ran = true
			return s.carryOut(ctx, tx, agentOf(reqRec), c, u, act, now)
		})
		if err != nil {
			return done, err
		}
		if ran {
			done++
			s.Cache.InvalidateUser(d.UserID)
		}
	}
	return done, nil
}

func (s *Service) carryOut(ctx context.Context, tx *store.Tx, a Agent, c store.SupportCase, u store.UserRecord, act store.SupportAction, now time.Time) error {
	act.UpdatedAt = now
	if !c.DisownedAt.IsZero() {
		act.State = ActionCancelled
		return tx.PutSupportAction(ctx, act)
	}
	after := map[string]any{"action": act.ID, "approved_by": act.ApprovedBy}
	switch act.Kind {
	case ActionRequirePasswordChange:
		if err := tx.SetMustChangePassword(ctx, u.ID, session.MustChangeSupport); err != nil {
			return err
		}
	case ActionRemoveSecondStep:
		m, err := tx.FindMethod(ctx, u.ID, act.Param)
		if errors.Is(err, store.ErrNotFound) {
			act.State = ActionFailed
			return tx.PutSupportAction(ctx, act)
		}
		if err != nil {
			return err
		}
		if err := tx.DeleteMethod(ctx, u.ID, m.ID); err != nil {
			return err
		}
		after["method_kind"] = m.Kind
	case ActionChangeEmail:
		err := tx.ChangeUserEmail(ctx, u.ID, act.Param, session.NormalizeEmail(act.Param), now)
		if errors.Is(err, store.ErrConflict) {
			act.State = ActionFailed
			return tx.PutSupportAction(ctx, act)
		}
		if err != nil {
			return err
		}
		after["email_changed"] = true
	}
	n, err := s.endSessions(ctx, tx, u.ID)
	if err != nil {
		return err
	}
	after["sessions_ended"] = n
	act.State = ActionDone
	if err := tx.PutSupportAction(ctx, act); err != nil {
		return err
	}
	if err := agentAudit(ctx, tx, now, a, c, "support."+act.Kind, "user", u.ID, after); err != nil {
		return err
	}
	kv := []any{"Ref", c.Ref, "Sessions", n}
	l := userLang(u)
	if err := s.tellUserText(ctx, tx, now, u, EventAgentAction, l, tr(l, "email.support.done.subject"),
		tr(l, "email.support.done.body", append(kv, "Action", tr(l, "support.action."+act.Kind))...)); err != nil {
		return err
	}
	if act.Kind == ActionChangeEmail {
		nu := u
		nu.Email = act.Param // the old address was told above, the new one here
		return s.tellUserText(ctx, tx, now, nu, EventAgentAction, l, tr(l, "email.support.done_new_address.subject"),
			tr(l, "email.support.done.body", append(kv, "Action", tr(l, "support.action."+act.Kind))...))
	}
	return nil
}
