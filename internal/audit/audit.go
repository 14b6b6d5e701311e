// Package audit writes and verifies SellerGuard's audit log: who did what,
// when, from where, with before and after, for every state change.
//
// The log is append-only and tamper-evident. Events are chained per business
// ("b:<id>") or, for events of a user outside any business (sign-in, sessions),
// per user ("u:<id>"): each event's hash covers its fields and the previous
// event's hash, and the chain's head row holds the newest sequence number and
// hash. Verify recomputes every chain, so altering or removing any stored row
// (including the newest one) is detected. Caveat: someone who can rewrite the
// whole database can also rebuild the chains; anchor heads outside the
// database (e.g. export them to a log store) to defend against that.
//
// Append runs inside the caller's transaction: an event commits with its
// change or not at all. Secrets never enter an event: Redact replaces the
// values of secret-looking keys before anything is stored.
package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/store"
)

// Entry is what a service records; Append fills in ids, chain and hashes.
type Entry struct {
	BusinessID string // "" for events of a user outside any business
	SubjectID  string // the user the event is about
	ActorID    string // who did it ("" for the system)
	ActorEmail string
	Action     string // e.g. "session.created"
	Category   string
	TargetType string
	TargetID   string
	IP         string
	UserAgent  string
	// SessionID is the session the change was made in; when empty, Append
	// takes the one the request's context carries (WithSession).
	SessionID string
	Before    map[string]any
	After     map[string]any
}

type sessionKey struct{}

// WithSession returns ctx carrying the id of the session a request runs in.
// The web layer sets it once per authenticated request, so every event a
// service appends while serving that request names its session without
// each service passing it along (request-scoped data, as context is for).
func WithSession(ctx context.Context, sessionID string) context.Context {
	return context.WithValue(ctx, sessionKey{}, sessionID)
}

// SessionFrom returns the session id WithSession put into ctx ("" if none).
func SessionFrom(ctx context.Context) string {
	id, _ := ctx.Value(sessionKey{}).(string)
	return id
}

// Redacted is what a secret's value becomes in the log.
const Redacted = "[redacted]"

var secretKeys = []string{"password", "secret", "token", "code", "hash", "key", "otp"}

// Redact returns a copy of m with the values of secret-looking keys replaced,
// recursively.
func Redact(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		lk := strings.ToLower(k)
		secret := false
		for _, s := range secretKeys {
			if strings.Contains(lk, s) {
				secret = true
				break
			}
		}
		switch {
		case secret:
			out[k] = Redacted
		default:
			if sub, ok := v.(map[string]any); ok {
				out[k] = Redact(sub)
			} else {
				out[k] = v
			}
		}
	}
	return out
}

func encodeState(m map[string]any) (string, error) {
	if m == nil {
		return "{}", nil
	}
	// Map keys are sorted, so the bytes are stable; HTML characters stay
	// readable (pages escape on output).
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(Redact(m)); err != nil {
		return "", fmt.Errorf("audit: encode state: %w", err)
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// ChainOf names the chain an event belongs to.
func ChainOf(businessID, subjectID string) string {
	if businessID != "" {
		return "b:" + businessID
	}
	return "u:" + subjectID
}

// Append records e in tx at time now.
func Append(ctx context.Context, tx *store.Tx, now time.Time, e Entry) error {
	_, err := AppendID(ctx, tx, now, e)
	return err
}

// AppendID is Append that also returns the new event's id (for events that
// others point at, such as an undo).
func AppendID(ctx context.Context, tx *store.Tx, now time.Time, e Entry) (string, error) {
	before, err := encodeState(e.Before)
	if err != nil {
		return "", err
	}
	after, err := encodeState(e.After)
	if err != nil {
		return "", err
	}
	if e.SessionID == "" {
		e.SessionID = SessionFrom(ctx)
	}
	chain := ChainOf(e.BusinessID, e.SubjectID)
	seq, prev, err := tx.AdvanceAuditHead(ctx, chain)
	if err != nil {
		return "", err
	}
	rec := store.AuditRecord{
		AuditEvent: sellerguard.AuditEvent{
			ID: NewEventID(), Chain: chain, Seq: seq, BusinessID: e.BusinessID,
			ActorID: e.ActorID, ActorEmail: e.ActorEmail, Action: e.Action, Category: e.Category,
			TargetType: e.TargetType, TargetID: e.TargetID, IP: e.IP, UserAgent: e.UserAgent, SessionID: e.SessionID,
			Before: before, After: after, CreatedAt: now.UTC().Truncate(time.Microsecond), PrevHash: prev,
		},
		SubjectID: e.SubjectID,
	}
	rec.Hash = Hash(rec)
	return rec.ID, tx.InsertAuditEvent(ctx, rec)
}

// NewEventID returns a random event id. Ids sort by nothing: order comes from
// (chain, seq) and created_at.
func NewEventID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return "evt_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// Hash computes an event's chained hash from every stored field but the hash
// itself. Events without a session keep the first canonical form (v1), so
// every chain written before sessions were noted still verifies; an event
// with a session uses v2, the same array with the session id at the end.
func Hash(e store.AuditRecord) string {
	canon := []any{
		"sellerguard-audit-v1", e.ID, e.Chain, e.Seq, e.BusinessID, e.SubjectID, e.ActorID, e.ActorEmail,
		e.Action, e.Category, e.TargetType, e.TargetID, e.IP, e.UserAgent, e.Before, e.After,
		e.CreatedAt.UnixMicro(), e.PrevHash,
	}
	if e.SessionID != "" {
		canon[0] = "sellerguard-audit-v2"
		canon = append(canon, e.SessionID)
	}
	b, err := json.Marshal(canon)
	if err != nil {
		panic(err) // strings and ints always marshal
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Problem describes the first place a chain does not verify.
type Problem struct {
	Chain   string
	Seq     int64
	EventID string
	Reason  string
}

func (p *Problem) Error() string {
	if p.EventID != "" {
		return fmt.Sprintf("audit chain %s broken at event %s (seq %d): %s", p.Chain, p.EventID, p.Seq, p.Reason)
	}
	return fmt.Sprintf("audit chain %s broken at seq %d: %s", p.Chain, p.Seq, p.Reason)
}

// Report summarises a verification.
type Report struct {
	Chains int
	Events int64
}

// Verify recomputes every chain. It returns a *Problem naming the first bad
// event when any stored row was altered, removed or inserted.
func Verify(ctx context.Context, db *store.DB) (Report, error) {
	heads, err := db.ListAuditHeads(ctx)
	if err != nil {
		return Report{}, err
	}
	headOf := make(map[string]store.AuditHead, len(heads))
	for _, h := range heads {
		headOf[h.Chain] = h
	}
	var rep Report
	var cur string
	var seq int64
	var prev string
	finish := func() error {
		if cur == "" {
			return nil
		}
		h, ok := headOf[cur]
		if !ok {
			return &Problem{Chain: cur, Seq: seq, Reason: "chain has no head row"}
		}
		delete(headOf, cur)
		if h.Seq != seq || h.Hash != prev {
			return &Problem{Chain: cur, Seq: seq + 1, Reason: fmt.Sprintf("head says seq %d but the chain ends at seq %d with another hash: events were removed or altered", h.Seq, seq)}
		}
		rep.Chains++
		return nil
	}
	err = db.EachAuditEvent(ctx, func(e store.AuditRecord) error {
		if e.Chain != cur {
			if err := finish(); err != nil {
				return err
			}
			cur, seq, prev = e.Chain, 0, ""
		}
		if e.Seq != seq+1 {
			return &Problem{Chain: e.Chain, Seq: seq + 1, EventID: e.ID, Reason: fmt.Sprintf("expected seq %d, found %d: an event was removed", seq+1, e.Seq)}
		}
		if e.PrevHash != prev {
			return &Problem{Chain: e.Chain, Seq: e.Seq, EventID: e.ID, Reason: "previous-hash link does not match the event before it"}
		}
		if Hash(e) != e.Hash {
			return &Problem{Chain: e.Chain, Seq: e.Seq, EventID: e.ID, Reason: "stored fields do not match the event's hash: the row was altered"}
		}
		seq, prev = e.Seq, e.Hash
		rep.Events++
		return nil
	})
	if err != nil {
		return rep, err
	}
	if err := finish(); err != nil {
		return rep, err
	}
	for chain, h := range headOf {
		if h.Seq != 0 {
			return rep, &Problem{Chain: chain, Seq: 1, Reason: fmt.Sprintf("head says seq %d but the chain has no events: they were removed", h.Seq)}
		}
	}
	return rep, nil
}
