package changes

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/notify"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

// Notification events of this package (in internal/notify's catalogue).
const (
	EventChangeUndone = notify.EventChangeUndone
)

func conflict(format string, args ...any) error {
	return sellerguard.Errorf(sellerguard.ECodeConflict, format, args...)
}

// Undo puts the object a change affected back to its `before` state (a
// recent sign-in and edit on the change's area), in one transaction with
// its own audit event pointing at the undone change and a notice to the
// business (and to the member whose settings it restores). A change that a
// later change touched answers change_superseded naming that change, unless
// confirm is set. It returns the undo as a change of the review.
func (s *Service) Undo(ctx context.Context, p *session.Principal, businessID, changeID string, confirm bool, meta session.RequestMeta) (Change, error) {
	if err := p.RequireArea(businessID, sellerguard.AreaAuditLog, sellerguard.LevelNone); err != nil {
		return Change{}, err
	}
	if err := s.Auth.RequireRecentAuth(p); err != nil {
		return Change{}, err
	}
	e, k, err := s.find(ctx, s.Store, businessID, changeID)
	if err != nil {
		return Change{}, err
	}
	if !(k.restore == restoreNotification && e.SubjectID == p.User.ID) {
		if err := p.RequireArea(businessID, areaOf(k.category), sellerguard.LevelEdit); err != nil {
			return Change{}, err
		}
	}
	if k.restore == restoreNone {
		return Change{}, conflict("This change cannot be undone here. %s", k.why)
	}
	now := s.Now().UTC().Truncate(time.Microsecond)
	var done store.AuditRecord
	err = s.Store.WithTx(ctx, func(tx *store.Tx) error {
		// Undos and the changes they undo take turns: the check for a later
		// change below must see every change committed before this undo.
		var lock error
		if businessID != "" {
			lock = tx.LockBusiness(ctx, businessID)
		} else {
			lock = tx.LockUser(ctx, p.User.ID)
		}
		if lock != nil {
			return lock
		}
		e, k, err := s.find(ctx, tx, businessID, changeID)
		if err != nil {
			return err
		}
		u := undoing{s: s, tx: tx, p: p, meta: meta, now: now, businessID: businessID, e: e, k: k}
		if err := u.checkSuperseded(ctx, confirm); err != nil {
			return err
		}
		if err := u.apply(ctx); err != nil {
			return err
		}
		done, err = tx.FindAuditEvent(ctx, u.eventID)
		return err
	})
	if err != nil {
		return Change{}, err
	}
	c, _ := s.view(p, businessID, done)
	us := userSession{user: done.ActorID, session: done.SessionID}
	c.Source = s.sessionSources(ctx, []userSession{us})[us]
	c.Source.IP, c.Source.UserAgent = done.IP, done.UserAgent
	return c, nil
}

// undoing is one undo in its transaction.
type undoing struct {
	s          *Service
	tx         *store.Tx
	p          *session.Principal
	meta       session.RequestMeta
	now        time.Time
	businessID string
	e          store.AuditRecord
	k          kind
	eventID    string
}

// parts are the events an undo restores: the listings of a bulk change,
// else the change itself.
func (u *undoing) parts(ctx context.Context) ([]store.AuditRecord, error) {
	if u.e.Action != "business.listings_bulk_changed" {
		return []store.AuditRecord{u.e}, nil
	}
	n, _ := decodeState(u.e.After)["count"].(float64)
	if n < 1 || n > 10000 {
		return nil, conflict("This bulk change does not say how many listings it changed.")
	}
	evs, err := u.tx.ChainEvents(ctx, u.e.Chain, u.e.Seq-int64(n), u.e.Seq-1)
	if err != nil {
		return nil, err
	}
	var out []store.AuditRecord
	for _, ev := range evs {
		if (ev.Action == "business.listing_changed" || ev.Action == "business.listing_created") && ev.CreatedAt.Equal(u.e.CreatedAt) && ev.ActorID == u.e.ActorID {
			out = append(out, ev)
		}
	}
	if len(out) != int(n) {
		return nil, conflict("The listings of this bulk change could not all be found in the log.")
	}
	return out, nil
}

func (u *undoing) checkSuperseded(ctx context.Context, confirm bool) error {
	if confirm {
		return nil
	}
	targets := []store.AuditRecord{u.e}
	if u.e.Action == "business.listings_bulk_changed" {
		ps, err := u.parts(ctx)
		if err != nil {
			return err
		}
		targets = ps
	} else if u.e.Action == ActionBusinessUndone && u.e.TargetType == "listings" {
		// an undo of a bulk change: each listing it restored
		for id := range stateMap(decodeState(u.e.Before)["listings"]) {
			t := u.e
			t.TargetType, t.TargetID = "listing", id
			targets = append(targets, t)
		}
	}
	actions := allActions()
	for _, t := range targets {
		later, err := u.tx.NextChangeOf(ctx, t, actions)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		return &sellerguard.Error{Code: sellerguard.ECodeChangeSuperseded,
			Message: fmt.Sprintf("A later change (%s, %s by %s) touched the same thing. Review it, then confirm to undo this change anyway.",
				later.ID, later.CreatedAt.UTC().Format(time.RFC3339), later.ActorEmail),
			Fields: []sellerguard.FieldError{{Field: "superseded_by", Code: "superseded", Message: later.ID}}}
	}
	return nil
}

func stateMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	if m == nil {
		return map[string]any{}
	}
	return m
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func num(m map[string]any, k string) int64 { f, _ := m[k].(float64); return int64(f) }

func (u *undoing) apply(ctx context.Context) error {
	before := decodeState(u.e.Before)
	switch u.k.restore {
	case restoreStorefront:
		return u.storefront(ctx, before)
	case restoreListing:
		cur, restored, err := u.listing(ctx, u.e.TargetID, before)
		if err != nil {
			return err
		}
		return u.record(ctx, "listing", u.e.TargetID, cur, restored, msg{Key: "email.undo.listing"})
	case restoreBulk:
		return u.bulk(ctx, before)
	case restoreMember:
		return u.member(ctx, before)
	case restoreInvitation:
		return u.invitation(ctx)
	case restoreDeposit:
		return u.deposit(ctx, before)
	case restoreNotification:
		return u.notification(ctx, before)
	}
	return conflict("This change cannot be undone here.")
}

// record appends the undo's audit event to the business chain and tells
// the business.
func (u *undoing) record(ctx context.Context, targetType, targetID string, before, after map[string]any, subject msg) error {
	if after == nil {
		after = map[string]any{}
	}
	after["undoes"] = u.e.ID
	if err := u.appendWithID(ctx, audit.Entry{BusinessID: u.businessID, SubjectID: u.p.User.ID, ActorID: u.p.User.ID, ActorEmail: u.p.User.Email,
		IP: u.meta.IP, UserAgent: u.meta.UserAgent, Action: ActionBusinessUndone, Category: sellerguard.CategoryBusiness,
		TargetType: targetType, TargetID: targetID, Before: before, After: after}); err != nil {
		return err
	}
	return u.tell(ctx, "", subject,
		msg{Key: "email.undo.line", KV: []any{"Actor", u.p.User.Email, "Category", categoryTitle(u.k.category),
			"When", u.e.CreatedAt, "By", u.e.ActorEmail, "ID", u.e.ID}},
		msg{Key: "email.undo.review_shows"})
}

// msgKeyOf words a setting (true or false) by its message.
func msgKeyOf(v any) i18n.Key {
	return i18n.Key(fmt.Sprintf("email.undo.setting_%v", v))
}

// msg is a message of the files with its values, written in the reader's
// language (i18n.Values: a time.Time as a time, an i18n.Text in the
// reader's language).
type msg = i18n.Msg

// categoryTitle is a category, named in the reader's language.
func categoryTitle(category string) i18n.Key { return i18n.Key("email.category." + category) }

// eventTitle is a notification event's title, quoted, in the reader's
// language.
type eventTitle notify.Event

// In implements i18n.Text.
func (e eventTitle) In(l i18n.Lang) string { return strconv.Quote(notify.Event(e).TitleIn(l)) }

// undoNotice is the notice of an undo, in each recipient's language
// (sellerguard.Texts).
type undoNotice struct {
	subject msg
	lines   []msg
	baseURL string
}

// Render implements sellerguard.Texts.
func (n undoNotice) Render(lang string) (subject, body string) {
	l := i18n.OrDefault(lang)
	lines := make([]string, len(n.lines))
	for i, m := range n.lines {
		lines[i] = m.In(l)
	}
	c := i18n.Default()
	body = c.T(l, "email.undo.body", "Lines", strings.Join(lines, "\n"), "BaseURL", n.baseURL)
	return n.subject.In(l), body + "\n\n" + c.T(l, "email.footer") + "\n"
}

// appendWithID appends e and remembers its id.
func (u *undoing) appendWithID(ctx context.Context, e audit.Entry) error {
	id, err := audit.AppendID(ctx, u.tx, u.now, e)
	u.eventID = id
	return err
}

func (u *undoing) tell(ctx context.Context, userID string, subject msg, lines ...msg) error {
	if u.s.Notify == nil {
		return nil
	}
	m := sellerguard.OutboxMessage{Event: EventChangeUndone, Texts: undoNotice{subject: subject, lines: lines, baseURL: u.s.BaseURL}}
	m.Subject, m.Body = m.Texts.Render(string(i18n.English))
	if userID != "" {
		m.Event = notify.EventNotificationsChanged
	}
	return u.s.Notify(ctx, u.tx, u.now, u.businessID, userID, m)
}

func storefrontState(f store.Storefront) map[string]any {
	return map[string]any{"display_name": f.DisplayName, "description": f.Description, "logo_url": f.LogoURL,
		"support_email": f.SupportEmail, "support_phone": f.SupportPhone, "return_address": f.ReturnAddress}
}

func (u *undoing) storefront(ctx context.Context, state map[string]any) error {
	cur, err := u.tx.GetStorefront(ctx, u.businessID)
	if err != nil {
		return err
	}
	f := store.Storefront{BusinessID: u.businessID, DisplayName: str(state, "display_name"), Description: str(state, "description"),
		LogoURL: str(state, "logo_url"), SupportEmail: str(state, "support_email"), SupportPhone: str(state, "support_phone"),
		ReturnAddress: str(state, "return_address"), UpdatedAt: u.now, UpdatedBy: u.p.User.ID}
	if err := u.tx.PutStorefront(ctx, f); err != nil {
		return err
	}
	return u.record(ctx, "storefront", u.businessID, storefrontState(cur), storefrontState(f), msg{Key: "email.undo.storefront"})
}

func listingState(l store.Listing) map[string]any {
	return map[string]any{"sku": l.SKU, "title": l.Title, "price_cents": l.PriceCents, "quantity": l.Quantity, "condition": l.Condition, "condition_note": l.ConditionNote}
}

// listing restores one listing to state (empty: the listing did not exist,
// so it is removed) and returns its state before and after.
func (u *undoing) listing(ctx context.Context, id string, state map[string]any) (before, after map[string]any, err error) {
	cur, err := u.tx.FindListing(ctx, u.businessID, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		before = map[string]any{}
	case err != nil:
		return nil, nil, err
	default:
		before = listingState(cur)
	}
	if len(state) == 0 {
		if len(before) > 0 {
			if err := u.tx.DeleteListing(ctx, u.businessID, id); err != nil {
				return nil, nil, err
			}
		}
		return before, map[string]any{}, nil
	}
	l := store.Listing{ID: id, BusinessID: u.businessID, SKU: str(state, "sku"), Title: str(state, "title"), PriceCents: num(state, "price_cents"),
		Quantity: num(state, "quantity"), Condition: str(state, "condition"), ConditionNote: str(state, "condition_note"), UpdatedAt: u.now}
	if err := u.tx.PutListing(ctx, l); errors.Is(err, store.ErrConflict) {
		return nil, nil, conflict("Another listing now has the SKU %q: change that listing first.", l.SKU)
	} else if err != nil {
		return nil, nil, err
	}
	return before, listingState(l), nil
}

func (u *undoing) bulk(ctx context.Context, state map[string]any) error {
	restore := map[string]map[string]any{}
	if u.e.Action == "business.listings_bulk_changed" {
		ps, err := u.parts(ctx)
		if err != nil {
			return err
		}
		for _, p := range ps {
			restore[p.TargetID] = decodeState(p.Before)
		}
	} else {
		for id, st := range stateMap(state["listings"]) {
			restore[id] = stateMap(st)
		}
	}
	ids := make([]string, 0, len(restore))
	for id := range restore {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	befores, afters := map[string]any{}, map[string]any{}
	for _, id := range ids {
		b, a, err := u.listing(ctx, id, restore[id])
		if err != nil {
			return err
		}
		befores[id], afters[id] = b, a
	}
	return u.record(ctx, "listings", "", map[string]any{"listings": befores}, map[string]any{"listings": afters},
		msg{Key: "email.undo.listings", KV: []any{"N", len(ids)}})
}

func (u *undoing) member(ctx context.Context, state map[string]any) error {
	userID := u.e.TargetID
	m, err := u.tx.FindMember(ctx, u.businessID, userID)
	if errors.Is(err, store.ErrNotFound) {
		return conflict("That person is no longer a member of the business.")
	}
	if err != nil {
		return err
	}
	if m.Role == sellerguard.RoleOwner {
		return conflict("The owner's access cannot be changed.")
	}
	if userID == u.p.User.ID {
		return sellerguard.Errorf(sellerguard.ECodeForbidden, "You cannot change your own access.")
	}
	for _, a := range sellerguard.Areas {
		if sellerguard.LevelRank(m.Permissions[a]) > sellerguard.LevelRank(u.p.Level(u.businessID, a)) {
			return sellerguard.Errorf(sellerguard.ECodeForbidden, "You cannot change the access of someone with more access than you.")
		}
	}
	cur := map[string]any{"permissions": m.Permissions.Full()}
	raw, has := state["permissions"]
	if !has { // the member was not there before: remove them
		if err := u.tx.DeleteMembership(ctx, u.businessID, userID); err != nil {
			return err
		}
		left, err := u.tx.CountMemberships(ctx, userID)
		if err != nil {
			return err
		}
		ended := 0
		if left == 0 {
			ids, err := u.tx.DeleteOtherSessions(ctx, userID, "")
			if err != nil {
				return err
			}
			ended = len(ids)
		}
		if err := u.s.Auth.Cache.Revoke(ctx, u.tx, userID); err != nil {
			return err
		}
		return u.record(ctx, "user", userID, cur, map[string]any{"member": false, "email": m.Email, "sessions_ended": ended},
			msg{Key: "email.undo.member_joined"})
	}
	perms := sellerguard.Permissions{}
	for a, l := range stateMap(raw) {
		lv, _ := l.(string)
		if sellerguard.LevelRank(lv) > sellerguard.LevelRank(u.p.Level(u.businessID, a)) {
			return sellerguard.Errorf(sellerguard.ECodeForbidden, "You cannot give access to %s that you do not have yourself.", strings.ReplaceAll(a, "_", " "))
		}
		if lv != sellerguard.LevelNone && lv != "" {
			perms[a] = lv
		}
	}
	if err := u.tx.SetMemberPermissions(ctx, u.businessID, userID, perms, u.now); err != nil {
		return err
	}
	if err := u.s.Auth.Cache.Revoke(ctx, u.tx, userID); err != nil {
		return err
	}
	return u.record(ctx, "user", userID, cur, map[string]any{"permissions": perms.Full()}, msg{Key: "email.undo.permissions"})
}

func (u *undoing) invitation(ctx context.Context) error {
	inv, err := u.tx.FindInvitation(ctx, u.e.TargetID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && inv.BusinessID != u.businessID) {
		return conflict("The invitation is gone.")
	}
	if err != nil {
		return err
	}
	if inv.Status == "accepted" {
		return conflict("The invitation was accepted: undo the member's joining instead.")
	}
	if inv.Status != "pending" || !u.now.Before(inv.ExpiresAt) {
		return conflict("The invitation is no longer pending.")
	}
	inv.Status, inv.DecidedAt = "withdrawn", u.now
	if err := u.tx.PutInvitation(ctx, inv); err != nil {
		return err
	}
	return u.record(ctx, "invitation", inv.ID, map[string]any{"email": inv.Email, "status": "pending"}, map[string]any{"email": inv.Email, "status": "withdrawn"},
		msg{Key: "email.undo.invitation"})
}

func (u *undoing) deposit(ctx context.Context, before map[string]any) error {
	after := decodeState(u.e.After)
	if err := u.tx.DeleteDepositAccount(ctx, u.businessID, u.e.TargetID); errors.Is(err, store.ErrNotFound) {
		return conflict("That deposit account was already removed.")
	} else if err != nil {
		return err
	}
	restored := map[string]any{"deposit_account": before["deposit_account"], "holder": before["holder"], "bank": before["bank"], "removed": after["deposit_account"]}
	return u.record(ctx, "deposit_account", u.e.TargetID, map[string]any{"deposit_account": after["deposit_account"], "holder": after["holder"], "bank": after["bank"]},
		restored, msg{Key: "email.undo.deposit"})
}

func (u *undoing) notification(ctx context.Context, state map[string]any) error {
	userID := u.e.SubjectID
	key := str(state, "event")
	ev, ok := notify.Lookup(key)
	if !ok {
		return conflict("That notification no longer exists.")
	}
	prefs, err := u.tx.NotificationPrefs(ctx, userID)
	if err != nil {
		return err
	}
	cur := map[string]any{"event": key}
	for _, ch := range notify.Channels {
		cur[ch] = ev.Default(ch)
		for _, p := range prefs {
			if p.Event == key && p.Channel == ch && !ev.Locked(ch) {
				cur[ch] = p.Enabled
			}
		}
	}
	restored := map[string]any{"event": key}
	for _, ch := range notify.Channels {
		v, ok := state[ch].(bool)
		if !ok || ev.Locked(ch) {
			restored[ch] = cur[ch]
			continue
		}
		restored[ch] = v
		if v == ev.Default(ch) {
			err = u.tx.DeleteNotificationPref(ctx, userID, key, ch)
		} else {
			err = u.tx.PutNotificationPref(ctx, store.NotificationPref{UserID: userID, Event: key, Channel: ch, Enabled: v})
		}
		if err != nil {
			return err
		}
	}
	restored["undoes"] = u.e.ID
	if err := u.appendWithID(ctx, audit.Entry{SubjectID: userID, ActorID: u.p.User.ID, ActorEmail: u.p.User.Email,
		IP: u.meta.IP, UserAgent: u.meta.UserAgent, Action: ActionAccountUndone, Category: sellerguard.CategoryAccount,
		TargetType: "notification", TargetID: key, Before: cur, After: restored}); err != nil {
		return err
	}
	line := msg{Key: "email.undo.notification_line", KV: []any{"Actor", u.p.User.Email, "Title", eventTitle(ev),
		"Email", msgKeyOf(restored[notify.Email]), "SMS", msgKeyOf(restored[notify.SMS]), "ID", u.e.ID}}
	if err := u.tell(ctx, userID, msg{Key: "email.undo.notification_yours"}, line); err != nil {
		return err
	}
	return u.tell(ctx, "", msg{Key: "email.undo.notification_member"}, line)
}
