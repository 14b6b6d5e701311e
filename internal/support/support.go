package support

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/keys"
	"github.com/sellerguard/sellerguard/internal/limiter"
	"github.com/sellerguard/sellerguard/internal/outbox"
	"github.com/sellerguard/sellerguard/internal/password"
	"github.com/sellerguard/sellerguard/internal/recovery"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

// Notification events of Seller Support (internal/notify's catalogue).
// All are security-critical: the email cannot be switched off.
const (
	// EventCaseOpened: a case was opened about the account.
	EventCaseOpened = "support.case_opened"
	// EventCaseUpdated: an agent answered a case, or changed its state.
	EventCaseUpdated = "support.case_updated"
	// EventAgentAction: an agent acted on the account, or a recovery
	// action was approved, cancelled or carried out.
	EventAgentAction = "support.agent_action"
)

// Case kinds and states.
const (
	KindCannotSignIn = "cannot_sign_in"
	KindCompromised  = "compromised"
	KindOther        = "other"

	StateOpen            = "open"
	StateWaitingOnSeller = "waiting_on_seller"
	StateWaitingOnAgent  = "waiting_on_agent"
	StateResolved        = "resolved"
)

// Kinds lists the case kinds; States the case states.
var (
	Kinds  = []string{KindCannotSignIn, KindCompromised, KindOther}
	States = []string{StateOpen, StateWaitingOnSeller, StateWaitingOnAgent, StateResolved}
)

// Bounds.
const (
	MaxDescriptionChars = 4000
	MaxMessageChars     = 4000
	MaxEmailLen         = session.MaxEmailLen
	// CasesPerSource and CasesPerAccount cap case opening per window.
	CasesPerSource  = 10
	CasesPerAccount = 3
	CaseWindow      = 24 * time.Hour
	// DefaultRecoveryDelay is SELLERGUARD_RECOVERY_DELAY's default.
	DefaultRecoveryDelay = 72 * time.Hour
)

// Service holds Seller Support's rules.
type Service struct {
	DB      *store.DB
	Keys    *keys.Keys
	Hasher  *password.Hasher
	Limiter *limiter.Limiter
	// Cache is the seller session cache: ending a seller's sessions clears it.
	Cache *session.SessionCache
	// Notify delivers event emails by the user's settings (internal/notify);
	// nil sends them straight to the outbox.
	Notify session.Notifier
	// SMSAvailable: texts to the phone on file can be sent.
	SMSAvailable  bool
	RecoveryDelay time.Duration
	// IdleTimeout and AbsoluteTimeout bound agent sessions (30 min, 8 h).
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	Now             func() time.Time
	Logger          *slog.Logger

	pace recovery.Pace
}

// Store lists what the rules need from the database; *store.Tx has it,
// so every change, its audit event and its messages share a transaction.
type Store interface {
	limiter.Store
	FindUserByEmail(ctx context.Context, emailNorm string) (store.UserRecord, error)
	FindUserByID(ctx context.Context, id string) (store.UserRecord, error)
	ListMemberships(ctx context.Context, userID string) ([]sellerguard.Membership, error)
	CreateSupportCase(ctx context.Context, c store.SupportCase) error
	FindSupportCase(ctx context.Context, id string) (store.SupportCase, error)
	ListSupportCases(ctx context.Context, f store.CaseFilter) ([]store.SupportCase, error)
	UpdateSupportCase(ctx context.Context, c store.SupportCase) error
	AddSupportMessage(ctx context.Context, m store.SupportMessage) error
	SupportMessages(ctx context.Context, caseID string, withInternal bool) ([]store.SupportMessage, error)
	CreateSupportAgent(ctx context.Context, a store.SupportAgent) error
	FindSupportAgent(ctx context.Context, id string) (store.SupportAgent, error)
	FindSupportAgentByEmail(ctx context.Context, emailNorm string) (store.SupportAgent, error)
	ListSupportAgents(ctx context.Context) ([]store.SupportAgent, error)
	UpdateSupportAgent(ctx context.Context, a store.SupportAgent) error
	UseAgentTOTPStep(ctx context.Context, agentID string, step int64) (bool, error)
	CreateAgentSession(ctx context.Context, a store.AgentSession) error
	FindAgentSession(ctx context.Context, tokenHash string) (store.AgentSession, error)
	TouchAgentSession(ctx context.Context, id string, at time.Time) error
	DeleteAgentSession(ctx context.Context, id string) error
	DeleteAgentSessions(ctx context.Context, agentID string) error
	PutSupportChallenge(ctx context.Context, c store.SupportChallenge) error
	SupportChallenge(ctx context.Context, caseID, kind string) (store.SupportChallenge, error)
	DeleteSupportChallenge(ctx context.Context, caseID, kind string) error
	CaseOfNotMeCode(ctx context.Context, mac string, now time.Time) (string, error)
	AddSupportEvidence(ctx context.Context, e store.SupportEvidence) error
	SupportEvidenceOf(ctx context.Context, caseID string) ([]store.SupportEvidence, error)
	PutSupportAction(ctx context.Context, a store.SupportAction) error
	FindSupportAction(ctx context.Context, id string) (store.SupportAction, error)
	SupportActionsOf(ctx context.Context, caseID string) ([]store.SupportAction, error)
	DueSupportActions(ctx context.Context, now time.Time, limit int) ([]store.SupportAction, error)
	SetUserStatus(ctx context.Context, userID, status string) error
}

var _ Store = (*store.Tx)(nil)

func (s *Service) now() time.Time {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return now().UTC().Truncate(time.Microsecond)
}

func (s *Service) delay() time.Duration {
	if s.RecoveryDelay > 0 {
		return s.RecoveryDelay
	}
	return DefaultRecoveryDelay
}

var (
	// ErrNoSuchCase answers a case that does not exist and one the caller
	// may not see alike.
	ErrNoSuchCase = sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such case.")
	errNoSuchAct  = sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such action.")
	errNoAgent    = sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such agent.")
)

func rateLimited(retry time.Duration) error {
	return &sellerguard.Error{Code: sellerguard.ECodeRateLimited, Message: "Too many requests. Please wait and try again.", RetryAfter: retry}
}

func field(name, code, msg string) error {
	return sellerguard.Invalid(sellerguard.FieldError{Field: name, Code: code, Message: msg})
}

// cleanBody checks a description or message: required, at most max
// characters, valid UTF-8 text without control characters (but newlines
// and tabs).
func cleanBody(name, body string, max int) (string, error) {
	if !utf8.ValidString(body) {
		return "", field(name, "invalid", "Use plain text.")
	}
	body = strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n"))
	if body == "" {
		return "", field(name, "required", "Write a few words.")
	}
	if utf8.RuneCountInString(body) > max {
		return "", field(name, "too_long", fmt.Sprintf("Use at most %d characters.", max))
	}
	for _, r := range body {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return "", field(name, "invalid", "Use plain text, without control characters.")
		}
	}
	return body, nil
}

func validEmail(name, addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	at := strings.LastIndexByte(addr, '@')
	switch {
	case addr == "":
		return "", field(name, "required", "Enter an email address.")
	case len(addr) > MaxEmailLen || !utf8.ValidString(addr):
		return "", field(name, "invalid_email", "Enter a valid email address.")
	case at < 1 || at == len(addr)-1 || strings.ContainsAny(addr, " \t\r\n<>,;\"") || !strings.Contains(addr[at:], "."):
		return "", field(name, "invalid_email", "Enter a valid email address.")
	}
	return addr, nil
}

// crockford is Crockford's base-32 alphabet (no I, L, O, U).
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newRef returns a case reference such as "SC-7K2M-Q9XD" (40 random bits).
func newRef() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	out := []byte("SC-")
	for i, c := range b {
		if i == 4 {
			out = append(out, '-')
		}
		out = append(out, crockford[c&31])
	}
	return string(out), nil
}

// accountBusiness is the business whose chain an event about the user goes
// into: the first business the user owns, else the first they belong to.
func accountBusiness(ms []sellerguard.Membership) string {
	for _, m := range ms {
		if m.Role == sellerguard.RoleOwner {
			return m.BusinessID
		}
	}
	if len(ms) > 0 {
		return ms[0].BusinessID
	}
	return ""
}

// tr is a message of the catalogue (internal/i18n) in language l.
func tr(l i18n.Lang, key string, kv ...any) string { return i18n.Default().T(l, key, kv...) }

// userLang is the language to write to a user in.
func userLang(u store.UserRecord) i18n.Lang { return i18n.OrDefault(u.WritingLanguage()) }

// tellUserKey sends the notice key+".subject" / key+".body" in the user's
// language, with the placeholders kv.
func (s *Service) tellUserKey(ctx context.Context, tx *store.Tx, now time.Time, u store.UserRecord, event, key string, kv ...any) error {
	l := userLang(u)
	return s.tellUserText(ctx, tx, now, u, event, l, tr(l, key+".subject", kv...), tr(l, key+".body", kv...))
}

// tellUserText sends a security-critical notice to a user's email on file
// (with their anti-phishing phrase) and, where texts can be sent, a short
// text to their phone on file.
func (s *Service) tellUserText(ctx context.Context, tx *store.Tx, now time.Time, u store.UserRecord, event string, l i18n.Lang, subject, body string) error {
	phrase, err := tx.PhishingPhraseOf(ctx, u.ID)
	if err != nil {
		return err
	}
	m := sellerguard.OutboxMessage{Channel: sellerguard.ChannelEmail, To: u.Email, UserID: u.ID, Event: event, Subject: subject,
		Body: body + "\n\n" + tr(l, "email.support.safety_footer") + "\n"}
	if s.Notify != nil {
		if err := s.Notify(ctx, tx, now, m, outbox.PhraseHeader(phrase)); err != nil {
			return err
		}
	} else {
		m.Body = outbox.PhraseHeader(phrase) + m.Body
		if err := outbox.Enqueue(ctx, tx, now, m); err != nil {
			return err
		}
	}
	return s.textOnFile(ctx, tx, now, u.ID, tr(l, "email.support.sms", "Subject", subject))
}

// textOnFile sends a text to the user's phone on file, when there is one.
func (s *Service) textOnFile(ctx context.Context, tx *store.Tx, now time.Time, userID, text string) error {
	if !s.SMSAvailable {
		return nil
	}
	info, err := tx.UserContact(ctx, userID)
	if err != nil || info.PhoneSealed == "" {
		return err
	}
	raw, err := s.Keys.Open("phone", info.PhoneSealed, []byte(userID))
	if err != nil {
		return nil // an unreadable number cannot be texted; the email went out
	}
	return outbox.Enqueue(ctx, tx, now, sellerguard.OutboxMessage{Channel: sellerguard.ChannelSMS, To: string(raw), UserID: userID, Body: text})
}

// mailContact sends a plain email in language l to a contact address that
// may have no account (its account's phrase when it has one).
func (s *Service) mailContact(ctx context.Context, tx *store.Tx, now time.Time, to string, l i18n.Lang, subject, body string) error {
	userID, phrase, err := tx.FindUserIDAndPhrase(ctx, session.NormalizeEmail(to))
	if err != nil {
		return err
	}
	return outbox.Enqueue(ctx, tx, now, sellerguard.OutboxMessage{Channel: sellerguard.ChannelEmail, To: to, UserID: userID, Subject: subject,
		Body: outbox.PhraseHeader(phrase) + body + "\n\n" + tr(l, "email.support.safety_footer") + "\n"})
}

// agentAudit appends an agent's action to the business's chain of the
// case's account (the user's chain when there is no business).
func agentAudit(ctx context.Context, tx *store.Tx, now time.Time, a Agent, c store.SupportCase, action, targetType, targetID string, after map[string]any) error {
	if after == nil {
		after = map[string]any{}
	}
	after["case"] = c.Ref
	after["agent_role"] = a.Role
	subject := c.AccountUserID
	if subject == "" {
		subject = c.OpenedByUserID
	}
	if subject == "" && c.BusinessID == "" {
		return nil // a case about no account: nothing of a seller changed
	}
	return audit.Append(ctx, tx, now, audit.Entry{BusinessID: c.BusinessID, SubjectID: subject, ActorID: a.ID, ActorEmail: "agent:" + a.Email,
		Action: action, Category: sellerguard.CategorySupport, TargetType: targetType, TargetID: targetID, SessionID: a.SessionID, After: after})
}
