package support

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

// QueueFilter selects the agents' queue.
type QueueFilter struct {
	Kind  string
	State string
	// MinAge shows only cases opened at least this long ago.
	MinAge time.Duration
}

// AgentCase is a case as agents see it: everything but secrets.
type AgentCase struct {
	ID              string    `json:"id"`
	Ref             string    `json:"reference"`
	Kind            string    `json:"kind"`
	State           string    `json:"state"`
	AccountEmail    string    `json:"account_email"`
	AccountFound    bool      `json:"account_found"`
	ContactEmail    string    `json:"contact_email"`
	SignedIn        bool      `json:"opened_signed_in"`
	BusinessID      string    `json:"business_id,omitempty"`
	AssignedAgentID string    `json:"assigned_agent_id,omitempty"`
	Disowned        bool      `json:"disowned_by_owner"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`

	Messages []AgentMessage `json:"messages,omitempty"`
	Evidence []Evidence     `json:"evidence,omitempty"`
	Actions  []Action       `json:"actions,omitempty"`
	// Methods are the account's second-step methods (kind and label only),
	// for "remove a lost second-step method".
	Methods []Method `json:"second_step_methods,omitempty"`
}

// AgentMessage is a message as agents see it.
type AgentMessage struct {
	ID         string    `json:"id"`
	AuthorKind string    `json:"author_kind"`
	AuthorID   string    `json:"author_id,omitempty"`
	Internal   bool      `json:"internal"`
	Body       string    `json:"body"`
	CreatedAt  time.Time `json:"created_at"`
}

// Method is a second-step method without its secret.
type Method struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Label string `json:"label"`
}

func agentCase(c store.SupportCase) AgentCase {
	return AgentCase{ID: c.ID, Ref: c.Ref, Kind: c.Kind, State: c.State, AccountEmail: c.AccountEmail, AccountFound: c.AccountUserID != "",
		ContactEmail: c.ContactEmail, SignedIn: c.OpenedByUserID != "", BusinessID: c.BusinessID, AssignedAgentID: c.AssignedAgentID,
		Disowned: !c.DisownedAt.IsZero(), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// Queue lists cases for agents, oldest first.
func (s *Service) Queue(ctx context.Context, a Agent, f QueueFilter) ([]AgentCase, error) {
	var errs []sellerguard.FieldError
	if f.Kind != "" && !slices.Contains(Kinds, f.Kind) {
		errs = append(errs, sellerguard.FieldError{Field: "kind", Code: "invalid_kind", Message: "Choose cannot_sign_in, compromised or other."})
	}
	if f.State != "" && !slices.Contains(States, f.State) {
		errs = append(errs, sellerguard.FieldError{Field: "state", Code: "invalid_state", Message: "Choose open, waiting_on_seller, waiting_on_agent or resolved."})
	}
	if f.MinAge < 0 || f.MinAge > 365*24*time.Hour {
		errs = append(errs, sellerguard.FieldError{Field: "min_age", Code: "invalid_age", Message: "Give an age between 0 and 8760h."})
	}
	if len(errs) > 0 {
		return nil, sellerguard.Invalid(errs...)
	}
	cf := store.CaseFilter{Kind: f.Kind, State: f.State, Limit: 200}
	if f.MinAge > 0 {
		cf.CreatedBefore = s.now().Add(-f.MinAge)
	}
	cs, err := s.DB.ListSupportCases(ctx, cf)
	if err != nil {
		return nil, err
	}
	out := make([]AgentCase, 0, len(cs))
	for _, c := range cs {
		out = append(out, agentCase(c))
	}
	return out, nil
}

func findCase(ctx context.Context, q interface {
	FindSupportCase(context.Context, string) (store.SupportCase, error)
}, id string) (store.SupportCase, error) {
	if !wellFormedID("case", id) {
		return store.SupportCase{}, ErrNoSuchCase
	}
	c, err := q.FindSupportCase(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return c, ErrNoSuchCase
	}
	return c, err
}

// lockedCase is findCase for a change: the case's row is locked first
// (store.Tx.LockSupportCase), so the changes of one case take turns and
// each decides on what the one before committed (a state set twice, an
// action approved twice or after the owner disowned the case).
func lockedCase(ctx context.Context, tx *store.Tx, id string) (store.SupportCase, error) {
	if !wellFormedID("case", id) {
		return store.SupportCase{}, ErrNoSuchCase
	}
	if err := tx.LockSupportCase(ctx, id); err != nil {
		return store.SupportCase{}, err
	}
	return findCase(ctx, tx, id)
}

// lockedAction reads an action with its case locked (lockedCase).
func lockedAction(ctx context.Context, tx *store.Tx, id string) (store.SupportAction, error) {
	act, err := tx.FindSupportAction(ctx, id)
	if err != nil {
		return act, err
	}
	if err := tx.LockSupportCase(ctx, act.CaseID); err != nil {
		return act, err
	}
	return tx.FindSupportAction(ctx, id)
}

// CaseForAgent returns a case with its messages and notes, the evidence
// recorded (matched or not, never a value) and its actions.
func (s *Service) CaseForAgent(ctx context.Context, a Agent, id string) (AgentCase, error) {
	c, err := findCase(ctx, s.DB, id)
	if err != nil {
		return AgentCase{}, err
	}
	out := agentCase(c)
	ms, err := s.DB.SupportMessages(ctx, c.ID, true)
	if err != nil {
		return out, err
	}
	for _, m := range ms {
		out.Messages = append(out.Messages, AgentMessage{ID: m.ID, AuthorKind: m.AuthorKind, AuthorID: m.AuthorID, Internal: m.Internal, Body: m.Body, CreatedAt: m.CreatedAt})
	}
	ev, err := s.DB.SupportEvidenceOf(ctx, c.ID)
	if err != nil {
		return out, err
	}
	for _, e := range ev {
		out.Evidence = append(out.Evidence, evidenceOf(e))
	}
	acts, err := s.DB.SupportActionsOf(ctx, c.ID)
	if err != nil {
		return out, err
	}
	for _, x := range acts {
		out.Actions = append(out.Actions, actionOf(x))
	}
	if c.AccountUserID != "" {
		methods, err := s.DB.ListMethods(ctx, c.AccountUserID)
		if err != nil {
			return out, err
		}
		for _, m := range methods {
			if m.Confirmed {
				out.Methods = append(out.Methods, Method{ID: m.ID, Kind: m.Kind, Label: m.Label})
			}
		}
	}
	return out, nil
}

// Assign assigns a case: any agent to themselves (or unassigns their own
// or an unassigned case), a supervisor to any active agent ("" unassigns).
func (s *Service) Assign(ctx context.Context, a Agent, id, agentID string) error {
	now := s.now()
	return s.DB.WithTx(ctx, func(tx *store.Tx) error {
		c, err := findCase(ctx, tx, id)
		if err != nil {
			return err
		}
		mine := agentID == a.ID || agentID == "" && (c.AssignedAgentID == "" || c.AssignedAgentID == a.ID)
		if !mine && !a.Supervisor() {
			return sellerguard.Errorf(sellerguard.ECodeForbidden, "Only a supervisor can assign a case to someone else, or take it from them.")
		}
		if agentID != "" {
			if !wellFormedID("agt", agentID) {
				return field("agent_id", "unknown_agent", "There is no active agent with this id.")
			}
			to, err := tx.FindSupportAgent(ctx, agentID)
			if errors.Is(err, store.ErrNotFound) || err == nil && to.Status != AgentActive {
				return field("agent_id", "unknown_agent", "There is no active agent with this id.")
			}
			if err != nil {
				return err
			}
		}
		c.AssignedAgentID, c.UpdatedAt = agentID, now
		if err := tx.UpdateSupportCase(ctx, c); err != nil {
			return err
		}
		return agentAudit(ctx, tx, now, a, c, "support.case_assigned", "support_case", c.ID, map[string]any{"assigned_to": agentID})
	})
}

// AgentReply adds an agent's message to a case: a reply to the seller
// (emailed, without links; the case waits on the seller) or an internal
// note (internal: only agents see it, nobody is told).
func (s *Service) AgentReply(ctx context.Context, a Agent, id, body string, internal bool) error {
	body, err := cleanBody("body", body, MaxMessageChars)
	if err != nil {
		return err
	}
	now := s.now()
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		c, err := findCase(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := tx.AddSupportMessage(ctx, store.SupportMessage{ID: session.NewID("msg"), CaseID: c.ID, AuthorKind: "agent", AuthorID: a.ID, Internal: internal, Body: body, CreatedAt: now}); err != nil {
			return err
		}
		if internal {
			c.UpdatedAt = now
			return tx.UpdateSupportCase(ctx, c)
		}
		c.State, c.UpdatedAt = StateWaitingOnSeller, now
		if err := tx.UpdateSupportCase(ctx, c); err != nil {
			return err
		}
		if err := agentAudit(ctx, tx, now, a, c, "support.case_replied", "support_case", c.ID, nil); err != nil {
			return err
		}
		return s.tellCaseUpdate(ctx, tx, now, c, "email.support.reply", "Ref", c.Ref, "Body", indent(body))
	})
	return err
}

func indent(body string) string {
	out := make([]byte, 0, len(body)+64)
	out = append(out, "    "...)
	for i := 0; i < len(body); i++ {
		out = append(out, body[i])
		if body[i] == '\n' {
			out = append(out, "    "...)
		}
	}
	return string(out)
}

// tellCaseUpdate tells the case's seller of an update (the catalogue's
// key+".subject" and key+".body"), without links: the signed-in opener in
// their language by their settings (a critical event), a signed-out
// contact by a plain email in the case's language.
func (s *Service) tellCaseUpdate(ctx context.Context, tx *store.Tx, now time.Time, c store.SupportCase, key string, kv ...any) error {
	if c.OpenedByUserID != "" {
		u, err := tx.FindUserByID(ctx, c.OpenedByUserID)
		if err != nil {
			return err
		}
		l := userLang(u)
		return s.tellUserText(ctx, tx, now, u, EventCaseUpdated, l, tr(l, key+".subject", kv...),
			tr(l, key+".body", kv...)+"\n\n"+tr(l, "email.support.footer_support"))
	}
	l := i18n.OrDefault(c.Language)
	return s.mailContact(ctx, tx, now, c.ContactEmail, l, tr(l, key+".subject", kv...),
		tr(l, key+".body", kv...)+"\n\n"+tr(l, "email.support.footer_contact", "Ref", c.Ref))
}

// SetState moves a case to a state; the seller is told when it is resolved.
func (s *Service) SetState(ctx context.Context, a Agent, id, state string) error {
	if !slices.Contains(States, state) {
		return field("state", "invalid_state", "Choose open, waiting_on_seller, waiting_on_agent or resolved.")
	}
	now := s.now()
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		c, err := lockedCase(ctx, tx, id)
		if err != nil {
			return err
		}
		if c.State == state {
			return nil
		}
		before := c.State
		c.State, c.UpdatedAt = state, now
		if err := tx.UpdateSupportCase(ctx, c); err != nil {
			return err
		}
		if err := agentAudit(ctx, tx, now, a, c, "support.case_state_changed", "support_case", c.ID, map[string]any{"from": before, "to": state}); err != nil {
			return err
		}
		if state != StateResolved {
			return nil
		}
		return s.tellCaseUpdate(ctx, tx, now, c, "email.support.resolved", "Ref", c.Ref)
	})
	return err
}
