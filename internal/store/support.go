package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Seller Support's storage (internal/support holds the rules).

// SupportCase is a support case as stored.
type SupportCase struct {
	ID              string
	Ref             string
	Kind            string
	State           string
	AccountUserID   string // "" when the account email has no account
	BusinessID      string // the account's business ("" when none)
	OpenedByUserID  string // the signed-in opener ("" when opened signed out)
	AccountEmail    string
	ContactEmail    string
	AssignedAgentID string
	SourceIP        string
	Language        string    // the language the case was opened in (for a contact without an account)
	DisownedAt      time.Time // the account's owner said "this wasn't me"
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// SupportMessage is one message of a case: from the seller, from an agent
// (Internal: a note only agents see), or from SellerGuard itself.
type SupportMessage struct {
	ID         string
	CaseID     string
	AuthorKind string
	AuthorID   string
	Internal   bool
	Body       string
	CreatedAt  time.Time
}

// SupportAgent is a platform support agent.
type SupportAgent struct {
	ID             string
	Email          string
	EmailNorm      string
	Role           string
	Status         string
	PasswordHash   string
	TOTPSealed     string
	TOTPLastStep   int64
	EnrolCodeMAC   string
	EnrolExpiresAt time.Time
	CreatedBy      string
	CreatedAt      time.Time
}

// AgentSession is a signed-in agent's session.
type AgentSession struct {
	ID         string
	TokenHash  string
	AgentID    string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// SupportChallenge is a code SellerGuard sent for a case (to the email or
// phone on file, or the owner's "this wasn't me" code), kept as a MAC.
type SupportChallenge struct {
	CaseID    string
	Kind      string
	CodeMAC   string
	Attempts  int
	ExpiresAt time.Time
}

// SupportEvidence is one identity check an agent recorded: only whether it
// matched.
type SupportEvidence struct {
	ID        string
	CaseID    string
	Kind      string
	Matched   bool
	AgentID   string
	CreatedAt time.Time
}

// SupportAction is an agent's action on a case's account.
type SupportAction struct {
	ID          string
	CaseID      string
	UserID      string
	Kind        string
	Param       string
	State       string
	RequestedBy string
	ApprovedBy  string
	EffectiveAt time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// CaseFilter selects cases: for the agents' queue (Kind, State,
// CreatedBefore) or for one seller (SellerID: cases they opened or that
// are about their account).
type CaseFilter struct {
	Kind          string
	State         string
	CreatedBefore time.Time
	SellerID      string
	Limit         int
}

const caseCols = `id, ref, kind, state, account_user_id, business_id, opened_by_user_id, account_email, contact_email, assigned_agent_id, source_ip, language, disowned_at, created_at, updated_at`

func scanCase(row interface{ Scan(...any) error }) (SupportCase, error) {
	var c SupportCase
	var disowned, created, updated int64
	err := row.Scan(&c.ID, &c.Ref, &c.Kind, &c.State, &c.AccountUserID, &c.BusinessID, &c.OpenedByUserID, &c.AccountEmail, &c.ContactEmail,
		&c.AssignedAgentID, &c.SourceIP, &c.Language, &disowned, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: scan support case: %w", err)
	}
	c.DisownedAt, c.CreatedAt, c.UpdatedAt = fromTS(disowned), fromTS(created), fromTS(updated)
	return c, nil
}

// CreateSupportCase stores a new case; ErrConflict when its reference is
// taken (the transaction stays usable: execUnique).
func (s queries) CreateSupportCase(ctx context.Context, c SupportCase) error {
	_, err := s.execUnique(ctx, `INSERT INTO support_cases (`+caseCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)`,
		c.ID, c.Ref, c.Kind, c.State, c.AccountUserID, c.BusinessID, c.OpenedByUserID, c.AccountEmail, c.ContactEmail,
		c.AssignedAgentID, c.SourceIP, c.Language, ts(c.DisownedAt), ts(c.CreatedAt), ts(c.UpdatedAt))
	if isUniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: create support case: %w", err)
	}
	return nil
}

// FindSupportCase returns a case by id.
func (s queries) FindSupportCase(ctx context.Context, id string) (SupportCase, error) {
	return scanCase(s.q.QueryRowContext(ctx, `SELECT `+caseCols+` FROM support_cases WHERE id = $1`, id))
}

// ListSupportCases lists cases, oldest first for the queue and newest
// first for a seller.
func (s queries) ListSupportCases(ctx context.Context, f CaseFilter) ([]SupportCase, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	order := "created_at, id"
	if f.SellerID != "" {
		args = append(args, f.SellerID)
		where = append(where, fmt.Sprintf("(opened_by_user_id = $%d OR account_user_id = $%d)", len(args), len(args)))
		order = "created_at DESC, id DESC"
	}
	if f.Kind != "" {
		add("kind = ?", f.Kind)
	}
	if f.State != "" {
		add("state = ?", f.State)
	}
	if !f.CreatedBefore.IsZero() {
		add("created_at < ?", ts(f.CreatedBefore))
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 500
	}
	q := `SELECT ` + caseCols + ` FROM support_cases`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(` ORDER BY %s LIMIT $%d`, order, len(args))
	rows, err := s.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list support cases: %w", err)
	}
	defer rows.Close()
	out := []SupportCase{}
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// UpdateSupportCase writes a case's state, assignment and disowning.
func (s queries) UpdateSupportCase(ctx context.Context, c SupportCase) error {
	_, err := s.q.ExecContext(ctx, `UPDATE support_cases SET state = $1, assigned_agent_id = $2, disowned_at = $3, updated_at = $4 WHERE id = $5`,
		c.State, c.AssignedAgentID, ts(c.DisownedAt), ts(c.UpdatedAt), c.ID)
	if err != nil {
		return fmt.Errorf("store: update support case: %w", err)
	}
	return nil
}

// AddSupportMessage stores a message of a case.
func (s queries) AddSupportMessage(ctx context.Context, m SupportMessage) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO support_messages (id, case_id, author_kind, author_id, internal, body, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		m.ID, m.CaseID, m.AuthorKind, m.AuthorID, boolInt(m.Internal), m.Body, ts(m.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: add support message: %w", err)
	}
	return nil
}

// SupportMessages lists a case's messages, oldest first; withInternal
// includes the agents' internal notes.
func (s queries) SupportMessages(ctx context.Context, caseID string, withInternal bool) ([]SupportMessage, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT id, case_id, author_kind, author_id, internal, body, created_at FROM support_messages
		WHERE case_id = $1 AND (internal = 0 OR $2 = 1) ORDER BY created_at, id`, caseID, boolInt(withInternal))
	if err != nil {
		return nil, fmt.Errorf("store: support messages: %w", err)
	}
	defer rows.Close()
	out := []SupportMessage{}
	for rows.Next() {
		var m SupportMessage
		var internal int
		var at int64
		if err := rows.Scan(&m.ID, &m.CaseID, &m.AuthorKind, &m.AuthorID, &internal, &m.Body, &at); err != nil {
			return nil, fmt.Errorf("store: scan support message: %w", err)
		}
		m.Internal, m.CreatedAt = internal == 1, fromTS(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

const agentCols = `id, email, email_norm, role, status, password_hash, totp_sealed, totp_last_step, enrol_code_mac, enrol_expires_at, created_by, created_at`

func scanAgent(row interface{ Scan(...any) error }) (SupportAgent, error) {
	var a SupportAgent
	var enrolExp, created int64
	err := row.Scan(&a.ID, &a.Email, &a.EmailNorm, &a.Role, &a.Status, &a.PasswordHash, &a.TOTPSealed, &a.TOTPLastStep, &a.EnrolCodeMAC, &enrolExp, &a.CreatedBy, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, fmt.Errorf("store: scan agent: %w", err)
	}
	a.EnrolExpiresAt, a.CreatedAt = fromTS(enrolExp), fromTS(created)
	return a, nil
}

// CreateSupportAgent stores a new agent; ErrConflict when the email is taken.
func (s queries) CreateSupportAgent(ctx context.Context, a SupportAgent) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO support_agents (`+agentCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`,
		a.ID, a.Email, a.EmailNorm, a.Role, a.Status, a.PasswordHash, a.TOTPSealed, a.TOTPLastStep, a.EnrolCodeMAC, ts(a.EnrolExpiresAt), a.CreatedBy, ts(a.CreatedAt))
	if isUniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: create agent: %w", err)
	}
	return nil
}

// FindSupportAgent returns an agent by id.
func (s queries) FindSupportAgent(ctx context.Context, id string) (SupportAgent, error) {
	return scanAgent(s.q.QueryRowContext(ctx, `SELECT `+agentCols+` FROM support_agents WHERE id = $1`, id))
}

// FindSupportAgentByEmail returns an agent by normalised email.
func (s queries) FindSupportAgentByEmail(ctx context.Context, emailNorm string) (SupportAgent, error) {
	return scanAgent(s.q.QueryRowContext(ctx, `SELECT `+agentCols+` FROM support_agents WHERE email_norm = $1`, emailNorm))
}

// ListSupportAgents lists every agent by email.
func (s queries) ListSupportAgents(ctx context.Context) ([]SupportAgent, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+agentCols+` FROM support_agents ORDER BY email_norm`)
	if err != nil {
		return nil, fmt.Errorf("store: list agents: %w", err)
	}
	defer rows.Close()
	out := []SupportAgent{}
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// UpdateSupportAgent writes an agent's status, credentials and enrolment.
func (s queries) UpdateSupportAgent(ctx context.Context, a SupportAgent) error {
	_, err := s.q.ExecContext(ctx, `UPDATE support_agents SET role = $1, status = $2, password_hash = $3, totp_sealed = $4, totp_last_step = $5,
		enrol_code_mac = $6, enrol_expires_at = $7 WHERE id = $8`,
		a.Role, a.Status, a.PasswordHash, a.TOTPSealed, a.TOTPLastStep, a.EnrolCodeMAC, ts(a.EnrolExpiresAt), a.ID)
	if err != nil {
		return fmt.Errorf("store: update agent: %w", err)
	}
	return nil
}

// UseAgentTOTPStep records a used TOTP step; false when the step (or a
// later one) was used already (a replayed code).
func (s queries) UseAgentTOTPStep(ctx context.Context, agentID string, step int64) (bool, error) {
	res, err := s.q.ExecContext(ctx, `UPDATE support_agents SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`, step, agentID)
	if err != nil {
		return false, fmt.Errorf("store: use agent totp step: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// CreateAgentSession stores an agent session.
func (s queries) CreateAgentSession(ctx context.Context, a AgentSession) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO support_agent_sessions (id, token_hash, agent_id, created_at, last_seen_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6)`,
		a.ID, a.TokenHash, a.AgentID, ts(a.CreatedAt), ts(a.LastSeenAt), ts(a.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: create agent session: %w", err)
	}
	return nil
}

// FindAgentSession returns the agent session with this token hash.
func (s queries) FindAgentSession(ctx context.Context, tokenHash string) (AgentSession, error) {
	a := AgentSession{TokenHash: tokenHash}
	var created, seen, exp int64
	err := s.q.QueryRowContext(ctx, `SELECT id, agent_id, created_at, last_seen_at, expires_at FROM support_agent_sessions WHERE token_hash = $1`, tokenHash).
		Scan(&a.ID, &a.AgentID, &created, &seen, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, fmt.Errorf("store: agent session: %w", err)
	}
	a.CreatedAt, a.LastSeenAt, a.ExpiresAt = fromTS(created), fromTS(seen), fromTS(exp)
	return a, nil
}

// TouchAgentSession records an agent session's last request.
func (s queries) TouchAgentSession(ctx context.Context, id string, at time.Time) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE support_agent_sessions SET last_seen_at = $1 WHERE id = $2`, ts(at), id); err != nil {
		return fmt.Errorf("store: touch agent session: %w", err)
	}
	return nil
}

// DeleteAgentSession ends one agent session.
func (s queries) DeleteAgentSession(ctx context.Context, id string) error {
	if _, err := s.q.ExecContext(ctx, `DELETE FROM support_agent_sessions WHERE id = $1`, id); err != nil {
		return fmt.Errorf("store: delete agent session: %w", err)
	}
	return nil
}

// DeleteAgentSessions ends every session of an agent.
func (s queries) DeleteAgentSessions(ctx context.Context, agentID string) error {
	if _, err := s.q.ExecContext(ctx, `DELETE FROM support_agent_sessions WHERE agent_id = $1`, agentID); err != nil {
		return fmt.Errorf("store: delete agent sessions: %w", err)
	}
	return nil
}

// PutSupportChallenge stores a case's code of a kind, replacing the old one.
func (s queries) PutSupportChallenge(ctx context.Context, c SupportChallenge) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO support_challenges (case_id, kind, code_mac, attempts, expires_at) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (case_id, kind) DO UPDATE SET code_mac = excluded.code_mac, attempts = excluded.attempts, expires_at = excluded.expires_at`,
		c.CaseID, c.Kind, c.CodeMAC, c.Attempts, ts(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: put support challenge: %w", err)
	}
	return nil
}

// SupportChallenge returns a case's code of a kind.
func (s queries) SupportChallenge(ctx context.Context, caseID, kind string) (SupportChallenge, error) {
	c := SupportChallenge{CaseID: caseID, Kind: kind}
	var exp int64
	err := s.q.QueryRowContext(ctx, `SELECT code_mac, attempts, expires_at FROM support_challenges WHERE case_id = $1 AND kind = $2`, caseID, kind).
		Scan(&c.CodeMAC, &c.Attempts, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: support challenge: %w", err)
	}
	c.ExpiresAt = fromTS(exp)
	return c, nil
}

// DeleteSupportChallenge removes a case's code of a kind.
func (s queries) DeleteSupportChallenge(ctx context.Context, caseID, kind string) error {
	if _, err := s.q.ExecContext(ctx, `DELETE FROM support_challenges WHERE case_id = $1 AND kind = $2`, caseID, kind); err != nil {
		return fmt.Errorf("store: delete support challenge: %w", err)
	}
	return nil
}

// CaseOfNotMeCode returns the case whose "this wasn't me" code has this MAC.
func (s queries) CaseOfNotMeCode(ctx context.Context, mac string, now time.Time) (string, error) {
	var id string
	err := s.q.QueryRowContext(ctx, `SELECT case_id FROM support_challenges WHERE (kind = 'not_me' OR kind LIKE 'not_me:%') AND code_mac = $1 AND expires_at > $2`, mac, ts(now)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: not-me code: %w", err)
	}
	return id, nil
}

// AddSupportEvidence stores one identity check.
func (s queries) AddSupportEvidence(ctx context.Context, e SupportEvidence) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO support_evidence (id, case_id, kind, matched, agent_id, created_at) VALUES ($1,$2,$3,$4,$5,$6)`,
		e.ID, e.CaseID, e.Kind, boolInt(e.Matched), e.AgentID, ts(e.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: add support evidence: %w", err)
	}
	return nil
}

// SupportEvidenceOf lists a case's identity checks, oldest first.
func (s queries) SupportEvidenceOf(ctx context.Context, caseID string) ([]SupportEvidence, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT id, case_id, kind, matched, agent_id, created_at FROM support_evidence WHERE case_id = $1 ORDER BY created_at, id`, caseID)
	if err != nil {
		return nil, fmt.Errorf("store: support evidence: %w", err)
	}
	defer rows.Close()
	out := []SupportEvidence{}
	for rows.Next() {
		var e SupportEvidence
		var matched int
		var at int64
		if err := rows.Scan(&e.ID, &e.CaseID, &e.Kind, &matched, &e.AgentID, &at); err != nil {
			return nil, fmt.Errorf("store: scan support evidence: %w", err)
		}
		e.Matched, e.CreatedAt = matched == 1, fromTS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

const actionCols = `id, case_id, user_id, kind, param, state, requested_by, approved_by, effective_at, created_at, updated_at`

func scanAction(row interface{ Scan(...any) error }) (SupportAction, error) {
	var a SupportAction
	var eff, created, updated int64
	err := row.Scan(&a.ID, &a.CaseID, &a.UserID, &a.Kind, &a.Param, &a.State, &a.RequestedBy, &a.ApprovedBy, &eff, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, fmt.Errorf("store: scan support action: %w", err)
	}
	a.EffectiveAt, a.CreatedAt, a.UpdatedAt = fromTS(eff), fromTS(created), fromTS(updated)
	return a, nil
}

// PutSupportAction inserts or updates an action.
func (s queries) PutSupportAction(ctx context.Context, a SupportAction) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO support_actions (`+actionCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)
		ON CONFLICT (id) DO UPDATE SET state = excluded.state, approved_by = excluded.approved_by, effective_at = excluded.effective_at, updated_at = excluded.updated_at`,
		a.ID, a.CaseID, a.UserID, a.Kind, a.Param, a.State, a.RequestedBy, a.ApprovedBy, ts(a.EffectiveAt), ts(a.CreatedAt), ts(a.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: put support action: %w", err)
	}
	return nil
}

// FindSupportAction returns an action by id.
func (s queries) FindSupportAction(ctx context.Context, id string) (SupportAction, error) {
	return scanAction(s.q.QueryRowContext(ctx, `SELECT `+actionCols+` FROM support_actions WHERE id = $1`, id))
}

// SupportActionsOf lists a case's actions, oldest first.
func (s queries) SupportActionsOf(ctx context.Context, caseID string) ([]SupportAction, error) {
	return s.listActions(ctx, `SELECT `+actionCols+` FROM support_actions WHERE case_id = $1 ORDER BY created_at, id`, caseID)
}

// DueSupportActions lists the waiting actions whose waiting period is over.
func (s queries) DueSupportActions(ctx context.Context, now time.Time, limit int) ([]SupportAction, error) {
	return s.listActions(ctx, `SELECT `+actionCols+` FROM support_actions WHERE state = 'waiting' AND effective_at <= $1 ORDER BY effective_at, id LIMIT $2`, ts(now), limit)
}

func (s queries) listActions(ctx context.Context, q string, args ...any) ([]SupportAction, error) {
	rows, err := s.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: support actions: %w", err)
	}
	defer rows.Close()
	out := []SupportAction{}
	for rows.Next() {
		a, err := scanAction(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// SetUserStatus sets a user's status (sellerguard.UserActive or UserLocked).
func (s queries) SetUserStatus(ctx context.Context, userID, status string) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE users SET status = $1 WHERE id = $2`, status, userID); err != nil {
		return fmt.Errorf("store: set user status: %w", err)
	}
	return nil
}
