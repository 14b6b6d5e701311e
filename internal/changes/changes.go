package changes

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

// Store is what the change review reads. internal/store implements it
// (*store.DB); undo writes inside Tx.
type Store interface {
	ListChangeEvents(ctx context.Context, f store.ChangeFilter) ([]store.AuditRecord, error)
	FindAuditEvent(ctx context.Context, id string) (store.AuditRecord, error)
	SessionStartEvents(ctx context.Context, sessionIDs []string) (map[string]store.AuditRecord, error)
	ListMembers(ctx context.Context, businessID string) ([]store.Member, error)
	ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditRecord, error)
	WithTx(ctx context.Context, fn func(tx *store.Tx) error) error
}

var _ Store = (*store.DB)(nil)

// Notifier sends a notification inside the change's transaction: to the
// business's owner and user managers (businessID set, userID "") or to one
// user (userID set).
type Notifier func(ctx context.Context, tx *store.Tx, now time.Time, businessID, userID string, m sellerguard.OutboxMessage) error

// Service holds the change review's rules.
type Service struct {
	Store Store
	Auth  *session.Service // recent sign-in rule, session cache revocation
	// Notify tells of undos (nil: nobody is told; tests only).
	Notify  Notifier
	BaseURL string
	Now     func() time.Time
}

// Filter selects changes of one business.
type Filter struct {
	Category  string // "" for all five
	ActorID   string
	SessionID string
	Since     time.Time
	Until     time.Time
	Cursor    string
	Limit     int
}

// MaxLimit caps one page.
const MaxLimit = 200

// Source says where a change came from.
type Source struct {
	IP        string
	UserAgent string
	SessionID string
	// SessionStartedAt is when the session signed in (zero: unknown).
	SessionStartedAt time.Time
	// NewSession: the change was made within an hour of the session's
	// sign-in. NewBrowser: that sign-in came from a browser the account
	// had not used before. Both false when unknown (KnownSession false).
	NewSession   bool
	NewBrowser   bool
	KnownSession bool
}

// Actor says who made a change.
type Actor struct {
	ID    string
	Email string
	Kind  string // "member", "agent" or "system"
}

// Undo says whether a change can be undone and, if not, why.
type Undo struct {
	Possible bool
	Reason   string
}

// Change is one entry of the review.
type Change struct {
	ID       string
	Category string
	Action   string
	At       time.Time
	Actor    Actor
	Source   Source
	Summary  string
	Before   map[string]any
	After    map[string]any
	Undo     Undo
	// Undoes is the change this one undid ("" when it is not an undo).
	Undoes string
	// SubjectID is the member a change of email preferences is about.
	SubjectID string
}

// Page is one page of changes, newest first.
type Page struct {
	Changes []Change
	Next    string // cursor of the next page ("" at the end)
}

var errBadCursor = sellerguard.Invalid(sellerguard.FieldError{Field: "cursor", Code: "invalid_cursor", Message: "This cursor is not one we gave out."})

func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10) + "|" + id))
}

func decodeCursor(c string) (time.Time, string, error) {
	if len(c) > 200 {
		return time.Time{}, "", errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", errBadCursor
	}
	ts, id, ok := strings.Cut(string(b), "|")
	us, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || !strings.HasPrefix(id, "evt_") || len(id) > 64 {
		return time.Time{}, "", errBadCursor
	}
	return time.UnixMicro(us).UTC(), id, nil
}

// List returns a business's changes in the five categories, newest first
// (audit_log: view).
func (s *Service) List(ctx context.Context, p *session.Principal, businessID string, f Filter) (Page, error) {
	if err := p.RequireArea(businessID, sellerguard.AreaAuditLog, sellerguard.LevelView); err != nil {
		return Page{}, err
	}
	var fields []sellerguard.FieldError
	if f.Category != "" {
		if _, ok := CategoryTitles[f.Category]; !ok {
			fields = append(fields, sellerguard.FieldError{Field: "category", Code: "invalid_category", Message: fmt.Sprintf("Use one of %s.", strings.Join(Categories, ", "))})
		}
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	if f.Limit < 1 || f.Limit > MaxLimit {
		fields = append(fields, sellerguard.FieldError{Field: "limit", Code: "out_of_range", Message: "Use a limit from 1 to 200."})
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		fields = append(fields, sellerguard.FieldError{Field: "until", Code: "out_of_range", Message: "until must be after since."})
	}
	if len(f.ActorID) > 64 {
		fields = append(fields, sellerguard.FieldError{Field: "actor", Code: "too_long", Message: "That is not a user id."})
	}
	if len(f.SessionID) > 64 {
		fields = append(fields, sellerguard.FieldError{Field: "session", Code: "too_long", Message: "That is not a session id."})
	}
	var q store.ChangeFilter
	if f.Cursor != "" {
		t, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return Page{}, err
		}
		q.BeforeTime, q.BeforeID = t, id
	}
	if len(fields) > 0 {
		return Page{}, sellerguard.Invalid(fields...)
	}
	var cats []string
	if f.Category != "" {
		cats = []string{f.Category}
	}
	q.BusinessID, q.ActorID, q.SessionID, q.Since, q.Until, q.Limit = businessID, f.ActorID, f.SessionID, f.Since, f.Until, f.Limit+1
	q.Actions, q.UserActions = actionsOf(cats...)
	if len(q.UserActions) > 0 {
		ms, err := s.Store.ListMembers(ctx, businessID)
		if err != nil {
			return Page{}, err
		}
		for _, m := range ms {
			q.MemberIDs = append(q.MemberIDs, m.UserID)
		}
	}
	evs, err := s.Store.ListChangeEvents(ctx, q)
	if err != nil {
		return Page{}, err
	}
	page := Page{Changes: []Change{}}
	if len(evs) > f.Limit {
		evs = evs[:f.Limit]
		last := evs[len(evs)-1]
		page.Next = encodeCursor(last.CreatedAt, last.ID)
	}
	var keys []userSession
	seen := map[userSession]bool{}
	for _, e := range evs {
		k := userSession{user: e.ActorID, session: e.SessionID}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	sources := s.sessionSources(ctx, keys)
	for _, e := range evs {
		c, ok := s.view(p, businessID, e)
		if !ok {
			continue // an undo event of a target this table does not know
		}
		if f.Category != "" && c.Category != f.Category {
			continue
		}
		src := sources[userSession{user: e.ActorID, session: e.SessionID}]
		c.Source.SessionID, c.Source.KnownSession, c.Source.SessionStartedAt, c.Source.NewBrowser = src.SessionID, src.KnownSession, src.SessionStartedAt, src.NewBrowser
		if src.KnownSession {
			c.Source.NewSession = e.CreatedAt.Sub(src.SessionStartedAt) < time.Hour
		}
		page.Changes = append(page.Changes, c)
	}
	return page, nil
}

// userSession is a session of a user, as a change names it.
type userSession struct{ user, session string }

// sessionSources finds, for each session of a page of changes, when it
// signed in and whether from a new browser: one query for all the
// sessions, and one more for those made by a second step, which point (by
// their own session id) at the partial session of the password step, whose
// event says whether the browser was known. A session whose start is not
// in the log, or belongs to another user, stays unknown.
func (s *Service) sessionSources(ctx context.Context, keys []userSession) map[userSession]Source {
	out := make(map[userSession]Source, len(keys))
	var ids []string
	for _, k := range keys {
		out[k] = Source{SessionID: k.session}
		if k.session != "" && k.user != "" {
			ids = append(ids, k.session)
		}
	}
	if len(ids) == 0 {
		return out
	}
	starts, err := s.Store.SessionStartEvents(ctx, ids)
	if err != nil {
		return out
	}
	var hops []string
	for _, ev := range starts {
		if _, ok := decodeState(ev.After)["known_browser"].(bool); !ok && ev.SessionID != "" {
			hops = append(hops, ev.SessionID)
		}
	}
	partial := map[string]store.AuditRecord{}
	if len(hops) > 0 {
		if partial, err = s.Store.SessionStartEvents(ctx, hops); err != nil {
			partial = map[string]store.AuditRecord{}
		}
	}
	for _, k := range keys {
		ev, ok := starts[k.session]
		if !ok || k.user == "" || ev.SubjectID != k.user {
			continue
		}
		src := Source{SessionID: k.session, KnownSession: true, SessionStartedAt: ev.CreatedAt}
		for range 2 {
			if kb, ok := decodeState(ev.After)["known_browser"].(bool); ok {
				src.NewBrowser = !kb
				break
			}
			if ev, ok = partial[ev.SessionID]; !ok || ev.SubjectID != k.user {
				break
			}
		}
		out[k] = src
	}
	return out
}

func decodeState(s string) map[string]any {
	out := map[string]any{}
	if s == "" {
		return out
	}
	_ = json.Unmarshal([]byte(s), &out) // stored by audit.Append: always an object
	return out
}

// view turns an event into a change as p sees it.
func (s *Service) view(p *session.Principal, businessID string, e store.AuditRecord) (Change, bool) {
	k, ok := kindOf(e.Action, e.TargetType)
	if !ok {
		return Change{}, false
	}
	before, after := decodeState(e.Before), decodeState(e.After)
	c := Change{ID: e.ID, Category: k.category, Action: e.Action, At: e.CreatedAt.UTC(), Before: before, After: after, SubjectID: e.SubjectID,
		Source: Source{IP: e.IP, UserAgent: e.UserAgent, SessionID: e.SessionID}}
	if u, ok := after["undoes"].(string); ok {
		c.Undoes = u
		delete(after, "undoes")
	}
	c.Actor = Actor{ID: e.ActorID, Email: e.ActorEmail, Kind: "member"}
	switch {
	case e.ActorID == "" || e.ActorID == "system":
		c.Actor.Kind = "system"
	case strings.HasPrefix(e.ActorID, "agt_"):
		c.Actor.Kind = "agent"
	}
	c.Summary = summarise(k, e.Action, before, after)
	c.Undo = s.undoable(p, businessID, k, e)
	return c, true
}

func (s *Service) undoable(p *session.Principal, businessID string, k kind, e store.AuditRecord) Undo {
	if k.restore == restoreNone {
		return Undo{Reason: k.why}
	}
	if e.Action == ActionBusinessUndone && k.restore == restoreMember {
		after := decodeState(e.After)
		if _, ok := after["permissions"]; !ok {
			return Undo{Reason: "The member was removed: joining needs their consent, so invite them again on the Team page."}
		}
	}
	if k.restore == restoreNotification && e.SubjectID == p.User.ID {
		return Undo{Possible: true}
	}
	if sellerguard.LevelRank(p.Level(businessID, areaOf(k.category))) < sellerguard.LevelRank(sellerguard.LevelEdit) {
		return Undo{Reason: "Undoing it needs edit on " + strings.ReplaceAll(areaOf(k.category), "_", " ") + "."}
	}
	return Undo{Possible: true}
}

// ErrNoSuchChange answers a change id that is not a change of the business.
var ErrNoSuchChange = sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such change.")

// memberOf reports whether userID is a member of the business.
func memberOf(ms []store.Member, userID string) bool {
	for _, m := range ms {
		if m.UserID == userID {
			return true
		}
	}
	return false
}

// find loads a change of the business: an event of its chain, or of a
// member's chain in email preferences.
func (s *Service) find(ctx context.Context, q interface {
	FindAuditEvent(context.Context, string) (store.AuditRecord, error)
	ListMembers(context.Context, string) ([]store.Member, error)
}, businessID, id string) (store.AuditRecord, kind, error) {
	if !strings.HasPrefix(id, "evt_") || len(id) > 64 {
		return store.AuditRecord{}, kind{}, ErrNoSuchChange
	}
	e, err := q.FindAuditEvent(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return e, kind{}, ErrNoSuchChange
	}
	if err != nil {
		return e, kind{}, err
	}
	k, ok := kindOf(e.Action, e.TargetType)
	if !ok {
		return e, k, ErrNoSuchChange
	}
	switch {
	case k.userChain:
		ms, err := q.ListMembers(ctx, businessID)
		if err != nil {
			return e, k, err
		}
		if e.BusinessID != "" || !memberOf(ms, e.SubjectID) {
			return e, k, ErrNoSuchChange
		}
	case e.BusinessID != businessID:
		return e, k, ErrNoSuchChange
	}
	return e, k, nil
}
