package support

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/limiter"
	"github.com/sellerguard/sellerguard/internal/recovery"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

// OpenInput is a new case. Signed in, AccountEmail and ContactEmail are
// the user's own and must be left empty.
type OpenInput struct {
	Kind         string
	AccountEmail string
	ContactEmail string
	Description  string
	// Lang is the language of the page or API call that opened the case
	// (emails to a contact without an account are written in it).
	Lang i18n.Lang
}

// Case is a case as its seller sees it.
type Case struct {
	ID        string    `json:"id"`
	Ref       string    `json:"reference"`
	Kind      string    `json:"kind"`
	State     string    `json:"state"`
	Disowned  bool      `json:"disowned"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// AboutYou: the case was opened by someone else (signed out) about
	// this seller's account.
	AboutYou bool      `json:"about_your_account"`
	Messages []Message `json:"messages,omitempty"`
}

// Message is one message of a case as a seller sees it.
type Message struct {
	ID        string    `json:"id"`
	From      string    `json:"from"` // "you", "seller_support" or "sellerguard"
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

func sellerCase(c store.SupportCase, userID string) Case {
	return Case{ID: c.ID, Ref: c.Ref, Kind: c.Kind, State: c.State, Disowned: !c.DisownedAt.IsZero(), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		AboutYou: c.OpenedByUserID != userID}
}

func checkKind(kind string) error {
	if !slices.Contains(Kinds, kind) {
		return field("kind", "invalid_kind", "Choose cannot_sign_in, compromised or other.")
	}
	return nil
}

func (s *Service) limitOpen(ctx context.Context, tx *store.Tx, ip, accountNorm string, now time.Time) error {
	if retry, err := s.Limiter.Hit(ctx, tx, limiter.SourceKey("support-case", ip), ip, now, CasesPerSource, CaseWindow); err != nil {
		return err
	} else if !retry.IsZero() {
		return rateLimited(retry.Sub(now))
	}
	if retry, err := s.Limiter.Hit(ctx, tx, "support-account:"+accountNorm, ip, now, CasesPerAccount, CaseWindow); err != nil {
		return err
	} else if !retry.IsZero() {
		return rateLimited(retry.Sub(now))
	}
	return nil
}

func (s *Service) checkOpenLimits(ctx context.Context, ip, accountNorm string, now time.Time) error {
	if retry, err := s.Limiter.Over(ctx, s.DB, limiter.SourceKey("support-case", ip), now, CasesPerSource, CaseWindow); err != nil {
		return err
	} else if !retry.IsZero() {
		return rateLimited(retry.Sub(now))
	}
	if retry, err := s.Limiter.Over(ctx, s.DB, "support-account:"+accountNorm, now, CasesPerAccount, CaseWindow); err != nil {
		return err
	} else if !retry.IsZero() {
		return rateLimited(retry.Sub(now))
	}
	return nil
}

// OpenSignedOut opens a case without signing in. It answers the same,
// after about the same time, whether or not the account exists: the
// contact address always gets the case reference; the account's addresses
// on file (when there is an account) get a notice with a code that
// disowns the case.
func (s *Service) OpenSignedOut(ctx context.Context, in OpenInput, meta session.RequestMeta) error {
	var errs []sellerguard.FieldError
	collect := func(err error) {
		var e *sellerguard.Error
		if errors.As(err, &e) {
			errs = append(errs, e.Fields...)
		}
	}
	collect(checkKind(in.Kind))
	account, err := validEmail("account_email", in.AccountEmail)
	collect(err)
	contact, err := validEmail("contact_email", in.ContactEmail)
	collect(err)
	desc, err := cleanBody("description", in.Description, MaxDescriptionChars)
	collect(err)
	if len(errs) > 0 {
		return sellerguard.Invalid(errs...)
	}
	now := s.now()
	accountNorm := session.NormalizeEmail(account)
	if err := s.checkOpenLimits(ctx, meta.IP, accountNorm, now); err != nil {
		return err
	}
	start := time.Now()
	known := false
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		tx.HoldOutboxWake() // the emails wait for the pace: WakeOutbox below
		if err := s.limitOpen(ctx, tx, meta.IP, accountNorm, now); err != nil {
			return err
		}
		u, err := tx.FindUserByEmail(ctx, accountNorm)
		known = err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		c := store.SupportCase{ID: session.NewID("case"), Kind: in.Kind, State: StateOpen, AccountUserID: u.ID, AccountEmail: account,
			ContactEmail: contact, SourceIP: meta.IP, Language: string(i18n.OrDefault(string(in.Lang))), CreatedAt: now, UpdatedAt: now}
		if known {
			ms, err := tx.ListMemberships(ctx, u.ID)
			if err != nil {
				return err
			}
			c.BusinessID = accountBusiness(ms)
		}
		if err := s.createCase(ctx, tx, &c, desc); err != nil {
			return err
		}
		l := i18n.OrDefault(string(in.Lang))
		if err := s.mailContact(ctx, tx, now, contact, l, tr(l, "email.support.case_ref.subject", "Ref", c.Ref), tr(l, "email.support.case_ref.body", "Ref", c.Ref)); err != nil {
			return err
		}
		if !known {
			return nil
		}
		code, err := s.newNotMeCode(ctx, tx, c.ID, "not_me", now)
		if err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, now, audit.Entry{BusinessID: c.BusinessID, SubjectID: u.ID, IP: meta.IP, UserAgent: truncate(meta.UserAgent, 256),
			Action: "support.case_opened", Category: sellerguard.CategorySupport, TargetType: "support_case", TargetID: c.ID,
			After: map[string]any{"case": c.Ref, "kind": c.Kind, "signed_in": false, "contact_is_account_email": session.NormalizeEmail(contact) == accountNorm}}); err != nil {
			return err
		}
		return s.tellUserKey(ctx, tx, now, u, EventCaseOpened, "email.support.opened_about",
			"When", now.Format(time.RFC1123), "IP", meta.IP, "Ref", c.Ref, "Code", code)
	})
	if err != nil {
		return err
	}
	s.pace.Finish(ctx, start, known)
	s.DB.WakeOutbox() // both paths: which one enqueued is not to be seen
	return nil
}

// OpenSignedIn opens a case as the signed-in user, linked to their business.
func (s *Service) OpenSignedIn(ctx context.Context, p *session.Principal, in OpenInput, meta session.RequestMeta) (Case, error) {
	var errs []sellerguard.FieldError
	for _, err := range []error{checkKind(in.Kind), func() error {
		if in.AccountEmail != "" || in.ContactEmail != "" {
			return field("account_email", "not_signed_out", "Signed in, the case is about your own account: leave account_email and contact_email out.")
		}
		return nil
	}()} {
		var e *sellerguard.Error
		if errors.As(err, &e) {
			errs = append(errs, e.Fields...)
		}
	}
	desc, err := cleanBody("description", in.Description, MaxDescriptionChars)
	var e *sellerguard.Error
	if errors.As(err, &e) {
		errs = append(errs, e.Fields...)
	}
	if len(errs) > 0 {
		return Case{}, sellerguard.Invalid(errs...)
	}
	now := s.now()
	norm := session.NormalizeEmail(p.User.Email)
	if err := s.checkOpenLimits(ctx, meta.IP, norm, now); err != nil {
		return Case{}, err
	}
	c := store.SupportCase{ID: session.NewID("case"), Kind: in.Kind, State: StateOpen, AccountUserID: p.User.ID, BusinessID: accountBusiness(p.Memberships),
		OpenedByUserID: p.User.ID, AccountEmail: p.User.Email, ContactEmail: p.User.Email, SourceIP: meta.IP, Language: p.User.WritingLanguage(), CreatedAt: now, UpdatedAt: now}
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		if err := s.limitOpen(ctx, tx, meta.IP, norm, now); err != nil {
			return err
		}
		if err := s.createCase(ctx, tx, &c, desc); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, now, audit.Entry{BusinessID: c.BusinessID, SubjectID: p.User.ID, ActorID: p.User.ID, ActorEmail: p.User.Email,
			IP: meta.IP, UserAgent: truncate(meta.UserAgent, 256), Action: "support.case_opened", Category: sellerguard.CategorySupport,
			TargetType: "support_case", TargetID: c.ID, After: map[string]any{"case": c.Ref, "kind": c.Kind, "signed_in": true}}); err != nil {
			return err
		}
		u, err := tx.FindUserByID(ctx, p.User.ID)
		if err != nil {
			return err
		}
		return s.tellUserKey(ctx, tx, now, u, EventCaseOpened, "email.support.opened_own", "Ref", c.Ref)
	})
	if err != nil {
		return Case{}, err
	}
	return sellerCase(c, p.User.ID), nil
}

func (s *Service) createCase(ctx context.Context, tx *store.Tx, c *store.SupportCase, desc string) error {
	for range 5 {
		ref, err := newRef()
		if err != nil {
			return err
		}
		c.Ref = ref
		err = tx.CreateSupportCase(ctx, *c)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		return tx.AddSupportMessage(ctx, store.SupportMessage{ID: session.NewID("msg"), CaseID: c.ID, AuthorKind: "seller", AuthorID: c.OpenedByUserID, Body: desc, CreatedAt: c.CreatedAt})
	}
	return errors.New("support: no free case reference")
}

// newNotMeCode makes an 80-bit "this wasn't me" code for a case and keeps
// its MAC under kind ("not_me", or "not_me:<action>" for an action notice).
func (s *Service) newNotMeCode(ctx context.Context, tx *store.Tx, caseID, kind string, now time.Time) (string, error) {
	code, err := recovery.NewRevertCode()
	if err != nil {
		return "", err
	}
	err = tx.PutSupportChallenge(ctx, store.SupportChallenge{CaseID: caseID, Kind: kind, CodeMAC: s.notMeMAC(code), ExpiresAt: now.Add(90 * 24 * time.Hour)})
	return code, err
}

func (s *Service) notMeMAC(code string) string {
	return s.Keys.MAC("support-not-me", recovery.NormalizeRevertCode(code))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// MyCases lists the cases the user opened or that are about their account.
func (s *Service) MyCases(ctx context.Context, p *session.Principal) ([]Case, error) {
	cs, err := s.DB.ListSupportCases(ctx, store.CaseFilter{SellerID: p.User.ID, Limit: 200})
	if err != nil {
		return nil, err
	}
	out := make([]Case, 0, len(cs))
	for _, c := range cs {
		out = append(out, sellerCase(c, p.User.ID))
	}
	return out, nil
}

func wellFormedID(prefix, id string) bool {
	return strings.HasPrefix(id, prefix+"_") && len(id) <= 64
}

func (s *Service) sellersCase(ctx context.Context, q interface {
	FindSupportCase(context.Context, string) (store.SupportCase, error)
}, p *session.Principal, id string) (store.SupportCase, error) {
	if !wellFormedID("case", id) {
		return store.SupportCase{}, ErrNoSuchCase
	}
	c, err := q.FindSupportCase(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && c.OpenedByUserID != p.User.ID && c.AccountUserID != p.User.ID {
		return c, ErrNoSuchCase
	}
	return c, err
}

// MyCase returns one of the user's cases with its messages (never the
// agents' internal notes).
func (s *Service) MyCase(ctx context.Context, p *session.Principal, id string) (Case, error) {
	c, err := s.sellersCase(ctx, s.DB, p, id)
	if err != nil {
		return Case{}, err
	}
	ms, err := s.DB.SupportMessages(ctx, c.ID, false)
	if err != nil {
		return Case{}, err
	}
	out := sellerCase(c, p.User.ID)
	out.Messages = []Message{}
	for _, m := range ms {
		from := "you"
		switch {
		case m.AuthorKind == "agent":
			from = "seller_support"
		case m.AuthorKind == "system":
			from = "sellerguard"
		case m.AuthorID != p.User.ID:
			from = "case_opener"
		}
		out.Messages = append(out.Messages, Message{ID: m.ID, From: from, Body: m.Body, CreatedAt: m.CreatedAt})
	}
	return out, nil
}

// Reply adds the seller's message to a case: it goes back to the agents
// (waiting_on_agent), and a resolved case opens again.
func (s *Service) Reply(ctx context.Context, p *session.Principal, id, body string, meta session.RequestMeta) error {
	body, err := cleanBody("body", body, MaxMessageChars)
	if err != nil {
		return err
	}
	now := s.now()
	if retry, err := s.Limiter.Over(ctx, s.DB, "support-reply:"+p.User.ID, now, 60, time.Hour); err != nil {
		return err
	} else if !retry.IsZero() {
		return rateLimited(retry.Sub(now))
	}
	return s.DB.WithTx(ctx, func(tx *store.Tx) error {
		c, err := s.sellersCase(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if _, err := s.Limiter.Hit(ctx, tx, "support-reply:"+p.User.ID, meta.IP, now, 60, time.Hour); err != nil {
			return err
		}
		if err := tx.AddSupportMessage(ctx, store.SupportMessage{ID: session.NewID("msg"), CaseID: c.ID, AuthorKind: "seller", AuthorID: p.User.ID, Body: body, CreatedAt: now}); err != nil {
			return err
		}
		c.State, c.UpdatedAt = StateWaitingOnAgent, now
		return tx.UpdateSupportCase(ctx, c)
	})
}

// DisownSignedIn is the signed-in owner's "this wasn't me" on a case about
// their account.
func (s *Service) DisownSignedIn(ctx context.Context, p *session.Principal, id string, meta session.RequestMeta) error {
	now := s.now()
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		c, err := s.sellersCase(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if c.AccountUserID != p.User.ID {
			return ErrNoSuchCase
		}
		return s.disown(ctx, tx, c, p.User.ID, "signed in", meta, now)
	})
	return err
}

var errNotMeCode = sellerguard.Errorf(sellerguard.ECodeInvalidCode, "That code is not valid. Check the newest notice from SellerGuard about the case.")

// NotMe is "this wasn't me" with the code from a notice, signed out.
func (s *Service) NotMe(ctx context.Context, code string, meta session.RequestMeta) error {
	n := recovery.NormalizeRevertCode(code)
	if len(n) != 16 {
		return field("code", "invalid_code_format", "The code is the 16 letters and digits from the notice, such as 7K2M-Q9XD-4HTB-W3NE.")
	}
	now := s.now()
	key := limiter.SourceKey("support-not-me", meta.IP)
	if retry, err := s.Limiter.Source(ctx, s.DB, key, now); err != nil {
		return err
	} else if !retry.IsZero() {
		return rateLimited(retry.Sub(now))
	}
	found := false
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		id, err := tx.CaseOfNotMeCode(ctx, s.notMeMAC(n), now)
		if errors.Is(err, store.ErrNotFound) {
			_, err := s.Limiter.SourceFailure(ctx, tx, key, meta.IP, now)
			return err
		}
		if err != nil {
			return err
		}
		found = true
		c, err := tx.FindSupportCase(ctx, id)
		if err != nil {
			return err
		}
		return s.disown(ctx, tx, c, c.AccountUserID, "code from the notice", meta, now)
	})
	if err != nil {
		return err
	}
	if !found {
		return errNotMeCode
	}
	return nil
}

// disown records the owner's "this wasn't me": every pending or waiting
// action of the case is cancelled, the agents see it in the case, and the
// owner is told.
func (s *Service) disown(ctx context.Context, tx *store.Tx, c store.SupportCase, userID, how string, meta session.RequestMeta, now time.Time) error {
	// Read again with the case locked: an approval or a request that
	// committed meanwhile is cancelled with the rest, and one that waited
	// for the lock finds the case disowned.
	c, err := lockedCase(ctx, tx, c.ID)
	if err != nil {
		return err
	}
	acts, err := tx.SupportActionsOf(ctx, c.ID)
	if err != nil {
		return err
	}
	cancelled := 0
	for _, a := range acts {
		if a.State == ActionPendingApproval || a.State == ActionWaiting {
			a.State, a.UpdatedAt = ActionCancelled, now
			if err := tx.PutSupportAction(ctx, a); err != nil {
				return err
			}
			cancelled++
		}
	}
	first := c.DisownedAt.IsZero()
	if first {
		c.DisownedAt = now
	}
	c.UpdatedAt = now
	if c.State == StateResolved {
		c.State = StateWaitingOnAgent
	}
	if err := tx.UpdateSupportCase(ctx, c); err != nil {
		return err
	}
	if err := tx.AddSupportMessage(ctx, store.SupportMessage{ID: session.NewID("msg"), CaseID: c.ID, AuthorKind: "system", Internal: false,
		Body: fmt.Sprintf("The account's owner said this case was not opened by them (%s). %d pending action(s) were cancelled.", how, cancelled), CreatedAt: now}); err != nil {
		return err
	}
	if userID == "" {
		return nil
	}
	u, err := tx.FindUserByID(ctx, userID)
	if err != nil {
		return err
	}
	if err := audit.Append(ctx, tx, now, audit.Entry{BusinessID: c.BusinessID, SubjectID: u.ID, ActorID: u.ID, ActorEmail: u.Email, IP: meta.IP,
		UserAgent: truncate(meta.UserAgent, 256), Action: "support.case_disowned", Category: sellerguard.CategorySupport, TargetType: "support_case", TargetID: c.ID,
		After: map[string]any{"case": c.Ref, "by": how, "actions_cancelled": cancelled}}); err != nil {
		return err
	}
	return s.tellUserKey(ctx, tx, now, u, EventAgentAction, "email.support.disowned", "Ref", c.Ref, "Cancelled", cancelled)
}
