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
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// SessionKey is the context key of the acting session's id. WithSession
// sets it; a context of the web layer may also answer it itself (the
// request's own context, without a context.WithValue per request). Its
// value is a string.
type SessionKey struct{}

// WithSession returns ctx carrying the id of the session a request runs in.
// The web layer sets it once per authenticated request, so every event a
// service appends while serving that request names its session without
// each service passing it along (request-scoped data, as context is for).
func WithSession(ctx context.Context, sessionID string) context.Context {
	return context.WithValue(ctx, SessionKey{}, sessionID)
}

// SessionFrom returns the session id WithSession put into ctx ("" if none).
func SessionFrom(ctx context.Context) string {
	id, _ := ctx.Value(SessionKey{}).(string)
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
//
// The canonical form is json.Marshal of that array; appendCanonical writes
// the same bytes without reflection (TestCanonicalMatchesJSON and
// FuzzCanonicalMatchesJSON hold it to json.Marshal), since `audit verify`
// hashes every stored event.
func Hash(e store.AuditRecord) string {
	var buf [1024]byte
	sum := sha256.Sum256(appendCanonical(buf[:0], &e))
	return hex.EncodeToString(sum[:])
}

// appendCanonical appends the canonical form of e to b.
func appendCanonical(b []byte, e *store.AuditRecord) []byte {
	tag := "sellerguard-audit-v1"
	if e.SessionID != "" {
		tag = "sellerguard-audit-v2"
	}
	b = append(b, '[')
	for _, s := range [...]string{tag, e.ID, e.Chain} {
		b = appendJSONString(b, s)
		b = append(b, ',')
	}
	b = strconv.AppendInt(b, e.Seq, 10)
	for _, s := range [...]string{e.BusinessID, e.SubjectID, e.ActorID, e.ActorEmail, e.Action, e.Category, e.TargetType, e.TargetID,
		e.IP, e.UserAgent, e.Before, e.After} {
		b = append(b, ',')
		b = appendJSONString(b, s)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, e.CreatedAt.UnixMicro(), 10)
	b = append(b, ',')
	b = appendJSONString(b, e.PrevHash)
	if e.SessionID != "" {
		b = append(b, ',')
		b = appendJSONString(b, e.SessionID)
	}
	return append(b, ']')
}

// appendJSONString appends s as json.Marshal encodes it. Printable ASCII
// but '<', '>' and '&' (which json.Marshal escapes as \u003c…) is copied,
// with '"' and '\\' escaped by a backslash, as json.Marshal does; a string
// with any other byte is left to json.Marshal itself. Safe stretches are
// appended whole: `audit verify` runs this on every field of every event.
func appendJSONString(b []byte, s string) []byte {
	start := len(b)
	b = append(b, '"')
	last := 0
	for i := 0; i < len(s); i++ {
		switch jsonClass[s[i]] {
		case jsonPlain:
		case jsonBackslash:
			b = append(b, s[last:i]...)
			b = append(b, '\\', s[i])
			last = i + 1
		default:
			j, err := json.Marshal(s)
			if err != nil {
				panic(err) // a string always marshals
			}
			return append(b[:start], j...)
		}
	}
	b = append(b, s[last:]...)
	return append(b, '"')
}

// How appendJSONString treats each byte.
const (
	jsonOther     = iota // left to json.Marshal
	jsonPlain            // copied
	jsonBackslash        // copied after a backslash
)

var jsonClass = func() (t [256]uint8) {
	for c := 0x20; c <= 0x7e; c++ {
		t[c] = jsonPlain
	}
	for _, c := range []byte{'<', '>', '&'} {
		t[c] = jsonOther
	}
	t['"'], t['\\'] = jsonBackslash, jsonBackslash
	return t
}()

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

// ErrNoChain is VerifyChain's answer for a chain with neither events nor
// a head.
var ErrNoChain = errors.New("audit: no such chain")

// Verify recomputes every chain. It returns a *Problem naming the first bad
// event found when any stored row was altered, removed or inserted.
//
// Chains are independent, so it splits them into one part per CPU (by the
// last character of their names, balanced by the heads' lengths) and
// checks the parts at once, each on its own connection and goroutine:
// every event read, its hash recomputed and compared, and its link to the
// event before it checked — as strong as one pass over the whole log.
// Each part reads its events in the order the database keeps them (one
// sequential read, no sort, no index lookup per row). For each chain it
// keeps only the ends of the runs of events that arrived in sequence order
// — one run normally, two when PostgreSQL's synchronised scan starts the
// read in the middle of the table — and joins the runs at the end, so its
// memory grows with the number of chains, not of events. A chain that
// arrives in more than 64 pieces is verified again on its own, in order
// (VerifyChain).
func Verify(ctx context.Context, db *store.DB) (Report, error) {
	heads, err := db.ListAuditHeads(ctx)
	if err != nil {
		return Report{}, err
	}
	return verifyParallel(ctx, db, heads, verifyWorkers())
}

// VerifyChain recomputes one chain, such as a business's
// (ChainOf(businessID, "")): its events in sequence order and its head,
// nothing else. A chain with neither answers ErrNoChain.
//
// A long chain is read in two parts per CPU, each a range of sequence
// numbers read in order on its own connection and checked on its own
// goroutine; the parts' runs are joined as Verify joins a chain's runs
// (verifyChainInParts). Otherwise it is read in one pass.
func VerifyChain(ctx context.Context, db *store.DB, chain string) (Report, error) {
	var heads []store.AuditHead
	h, err := db.AuditHeadOf(ctx, chain)
	switch {
	case err == nil:
		heads = append(heads, h)
	case !errors.Is(err, store.ErrNotFound):
		return Report{}, err
	}
	if len(heads) == 1 {
		if rep, done, err := verifyChainInParts(ctx, db, heads[0], chainParts(heads[0].Seq, verifyWorkers())); done {
			return rep, err
		}
	}
	c := newChainChecker(heads)
	c.ordered = true
	if err := verify(c, func(fn func(store.AuditRecord) error) error { return db.EachAuditEventOfChain(ctx, chain, fn) }); err != nil {
		return c.rep, err
	}
	rep, err := c.end(nil)
	if err == nil && rep.Chains == 0 && len(heads) == 0 {
		return rep, ErrNoChain
	}
	return rep, err
}

// verifyBatch is how many events travel together between the reader, the
// hashing workers and the chain checker.
const verifyBatch = 512

type eventBatch struct {
	events []store.AuditRecord
	hashOK []bool
	done   chan struct{} // closed when hashOK is filled
}

// verify feeds the events each streams to c. Reading, hashing and
// checking the links run at once: the caller's goroutine reads, one worker
// per CPU hashes batches of events, and one goroutine walks the batches in
// order — so a verification runs at the rate of the slowest of the three,
// not of their sum.
func verify(c *chainChecker, each func(fn func(store.AuditRecord) error) error) error {
	workers := max(1, runtime.GOMAXPROCS(0))
	work := make(chan *eventBatch, 2*workers)
	ordered := make(chan *eventBatch, 2*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for b := range work {
				for i := range b.events {
					b.hashOK[i] = Hash(b.events[i]) == b.events[i].Hash
				}
				close(b.done)
			}
		})
	}
	var failed atomic.Bool
	var checkErr error
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		for b := range ordered {
			<-b.done
			if checkErr != nil {
				continue // drain
			}
			for i := range b.events {
				if err := c.event(&b.events[i], b.hashOK[i]); err != nil {
					checkErr = err
					failed.Store(true)
					break
				}
			}
		}
	}()
	errStopped := errors.New("stopped")
	newBatch := func() *eventBatch {
		return &eventBatch{events: make([]store.AuditRecord, 0, verifyBatch), hashOK: make([]bool, verifyBatch), done: make(chan struct{})}
	}
	cur := newBatch()
	send := func() {
		work <- cur
		ordered <- cur
		cur = newBatch()
	}
	readErr := each(func(e store.AuditRecord) error {
		if failed.Load() {
			return errStopped
		}
		cur.events = append(cur.events, e)
		if len(cur.events) == verifyBatch {
			send()
		}
		return nil
	})
	if len(cur.events) > 0 {
		send()
	}
	close(work)
	close(ordered)
	wg.Wait()
	<-checked
	if checkErr != nil {
		return checkErr
	}
	return readErr
}

// run is a stretch of a chain's events that arrived one after the other
// in sequence order, each linked to the one before it.
type run struct {
	firstSeq  int64
	firstPrev string // the first event's link to the event before it
	firstID   string
	lastSeq   int64
	lastHash  [2 * sha256.Size]byte // hex
}

// maxRuns bounds the runs kept for one chain; a chain stored in more
// pieces is verified again on its own.
const maxRuns = 64

// chainState is what the checker keeps of one chain: its runs (one when
// its events arrive in order; two when the read started in the middle of
// the table, as PostgreSQL's synchronised scans do).
type chainState struct {
	runs   []run
	events int64
	// recheck: the chain came in more than maxRuns pieces; it is verified
	// again on its own.
	recheck bool
}

// chainChecker follows every chain through a stream of events.
type chainChecker struct {
	heads  []store.AuditHead
	chains map[string]*chainState
	rep    Report
	// ordered: the stream is in (chain, seq) order, so an event out of
	// order is a problem at once (VerifyChain).
	ordered bool
}

func newChainChecker(heads []store.AuditHead) *chainChecker {
	return &chainChecker{heads: heads, chains: make(map[string]*chainState, len(heads))}
}

// event checks e, whose own hash was recomputed (hashOK: it matched).
// An event that follows the end of one of its chain's runs must link to
// it; any other starts a new run, and end checks that the runs join up.
func (c *chainChecker) event(e *store.AuditRecord, hashOK bool) error {
	st := c.chains[e.Chain]
	if st == nil {
		st = &chainState{}
		// The event's strings may share one buffer with the whole row
		// (store.EachAuditEventByChainEnd): keep copies, not the row.
		c.chains[strings.Clone(e.Chain)] = st
	}
	if st.recheck {
		return nil
	}
	var r *run
	for i := range st.runs {
		if st.runs[i].lastSeq+1 == e.Seq {
			r = &st.runs[i]
			break
		}
	}
	switch {
	case r == nil && c.ordered && !(len(st.runs) == 0 && e.Seq == 1):
		last := int64(0)
		if len(st.runs) > 0 {
			last = st.runs[0].lastSeq
		}
		return &Problem{Chain: e.Chain, Seq: last + 1, EventID: e.ID, Reason: fmt.Sprintf("expected seq %d, found %d: an event was removed", last+1, e.Seq)}
	case r == nil && len(st.runs) == maxRuns:
		st.recheck = true
		c.rep.Events -= st.events
		st.runs = nil
		return nil
	case r != nil && e.PrevHash != string(r.lastHash[:]):
		return &Problem{Chain: e.Chain, Seq: e.Seq, EventID: e.ID, Reason: "previous-hash link does not match the event before it"}
	}
	if !hashOK {
		return &Problem{Chain: e.Chain, Seq: e.Seq, EventID: e.ID, Reason: "stored fields do not match the event's hash: the row was altered"}
	}
	if r == nil {
		st.runs = append(st.runs, run{firstSeq: e.Seq, firstPrev: strings.Clone(e.PrevHash), firstID: strings.Clone(e.ID), lastSeq: e.Seq})
		r = &st.runs[len(st.runs)-1]
	} else {
		r.lastSeq = e.Seq
	}
	// A hash that matched is hex of SHA-256: exactly len(r.lastHash).
	copy(r.lastHash[:], e.Hash)
	st.events++
	c.rep.Events++
	return nil
}

// join checks that a chain's runs make one chain from seq 1 and returns
// its last sequence number and hash.
func (st *chainState) join(chain string) (int64, string, error) {
	sort.Slice(st.runs, func(i, j int) bool { return st.runs[i].firstSeq < st.runs[j].firstSeq })
	seq, hash := int64(0), ""
	for _, r := range st.runs {
		if r.firstSeq != seq+1 {
			return 0, "", &Problem{Chain: chain, Seq: seq + 1, EventID: r.firstID, Reason: fmt.Sprintf("expected seq %d, found %d: an event was removed", seq+1, r.firstSeq)}
		}
		if r.firstPrev != hash {
			return 0, "", &Problem{Chain: chain, Seq: r.firstSeq, EventID: r.firstID, Reason: "previous-hash link does not match the event before it"}
		}
		seq, hash = r.lastSeq, string(r.lastHash[:])
	}
	return seq, hash, nil
}

// end joins each chain's runs and checks its end against its head
// (rechecking on its own, through recheck, each chain that came in too
// many pieces) and that no head is left without events. Chains are taken in name order, so the problem
// named is the same from run to run.
func (c *chainChecker) end(recheck func(chain string) (Report, error)) (Report, error) {
	names := make([]string, 0, len(c.chains))
	for name := range c.chains {
		names = append(names, name)
	}
	sort.Strings(names)
	headOf := make(map[string]store.AuditHead, len(c.heads))
	for _, h := range c.heads {
		headOf[h.Chain] = h
	}
	for _, name := range names {
		st := c.chains[name]
		if st.recheck {
			r, err := recheck(name)
			c.rep.Events += r.Events
			if err != nil {
				return c.rep, err
			}
			c.rep.Chains++
			delete(headOf, name)
			continue
		}
		seq, hash, err := st.join(name)
		if err != nil {
			return c.rep, err
		}
		h, ok := headOf[name]
		if !ok {
			return c.rep, &Problem{Chain: name, Seq: seq, Reason: "chain has no head row"}
		}
		delete(headOf, name)
		if h.Seq != seq || h.Hash != hash {
			return c.rep, &Problem{Chain: name, Seq: seq + 1, Reason: fmt.Sprintf("head says seq %d but the chain ends at seq %d with another hash: events were removed or altered", h.Seq, seq)}
		}
		c.rep.Chains++
	}
	for _, h := range c.heads {
		if _, left := headOf[h.Chain]; left && h.Seq != 0 {
			return c.rep, &Problem{Chain: h.Chain, Seq: 1, Reason: fmt.Sprintf("head says seq %d but the chain has no events: they were removed", h.Seq)}
		}
	}
	return c.rep, nil
}
