// Package history says in words what an audit event records: one sentence
// ("Lee changed the price of MUG-001 from US$12.50 to US$14.00"), and the
// fields that changed with their values written for people (money with its
// currency, conditions, permissions, yes and no) — in English or Simplified
// Chinese. It is the one formatter of the audit log page, the account
// page's recent security activity and the emails that tell of those events,
// so a seller reads the same words in each.
//
// It reads only what an event carries (and the name a caller knows for its
// target); it never sees HTTP or SQL. Caveats: an action without a sentence
// of its own gets a general one naming its kind of change ("history.other");
// field names without words of their own are shown with their underscores
// as spaces, and values of unknown shapes as JSON.
package history

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard/internal/i18n"
)

// Currency is the currency of every price SellerGuard keeps (listings
// store whole cents of it): the marketplace's one currency.
const Currency = "USD"

// Event is what the formatter reads of an audit event.
type Event struct {
	Action     string
	ActorID    string
	ActorEmail string
	TargetType string
	TargetID   string
	// TargetName names the target when the event does not (a member's
	// email the caller knows); "" when unknown.
	TargetName string
	IP         string
	UserAgent  string
	Before     map[string]any
	After      map[string]any
	At         time.Time
}

// Decode reads an event's before and after states from their JSON (as the
// audit log stores them); a state that is not an object reads as empty.
func Decode(before, after []byte) (b, a map[string]any) {
	_ = json.Unmarshal(before, &b) // not an object: nothing to show
	_ = json.Unmarshal(after, &a)
	return b, a
}

// Field is one changed field, for people.
type Field struct {
	Key    string // the field as stored ("price_cents")
	Name   string // its words ("price")
	Before string // "" when the field is new
	After  string // "" when the field was removed
}

// Description is an event in words.
type Description struct {
	Title  string
	Fields []Field
}

// Describe writes e for a reader of language l; viewerID is the reader's
// user id (their own actions read "You …").
func Describe(l i18n.Lang, e Event, viewerID string) Description {
	fields := Changed(l, e)
	return Description{Title: Sentence(l, e, viewerID, fields), Fields: fields}
}

// Text is an event's sentence as a value of a message (an email's): it is
// written in the recipient's language when the email is.
type Text struct {
	Event  Event
	Viewer string
}

// In implements i18n.Text.
func (t Text) In(l i18n.Lang) string { return Sentence(l, t.Event, t.Viewer, Changed(l, t.Event)) }

// hidden are fields that record how a change was made, not what changed:
// they are in the log (API, CSV) but not listed for people.
var hidden = map[string]bool{
	"undoes": true, "expires_at": true, "upgraded_params": true, "level": true, "trusted_browser": true,
	"new_device": true, "known_browser": true, "with_unlock_code": true, "session_replaced": true,
	"session": true, "current_session": true, "sessions": true, "changed_at": true, "must_change": true,
	"second_step": true, "remember_browser": true, "held": true, "id": true,
}

// quiet are actions whose sentence says everything: no field list.
var quiet = map[string]bool{
	"session.created": true, "session.ended": true, "session.revoked": true, "session.revoked_others": true,
	"session.reauthenticated": true, "session.signin_failed": true, "account.password_changed": true,
	"business.listings_bulk_changed": true,
}

// Changed lists the fields of e that changed, sorted by their stored name:
// with both states, the fields whose values differ; with one state, its
// fields.
func Changed(l i18n.Lang, e Event) []Field {
	if quiet[e.Action] {
		return nil
	}
	keys := map[string]bool{}
	for k := range e.Before {
		keys[k] = true
	}
	for k := range e.After {
		keys[k] = true
	}
	both := e.Before != nil && e.After != nil
	var out []Field
	for k := range keys {
		if hidden[k] {
			continue
		}
		bv, inB := e.Before[k]
		av, inA := e.After[k]
		if both && inB && inA && sameValue(bv, av) {
			continue
		}
		f := Field{Key: k, Name: FieldName(l, k)}
		if inB {
			f.Before = Value(l, k, bv)
		}
		if inA {
			f.After = Value(l, k, av)
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func sameValue(a, b any) bool {
	ja, _ := json.Marshal(a) // decoded JSON values: always marshal
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// FieldName is a stored field's words ("history.field.<name>").
func FieldName(l i18n.Lang, key string) string {
	c := i18n.Default()
	if c.Has(i18n.English, "history.field."+key) {
		return c.T(l, "history.field."+key)
	}
	return strings.ReplaceAll(key, "_", " ")
}

// Money writes whole cents of Currency for a reader of language l
// ("US$14.00", "14.00 美元").
func Money(l i18n.Lang, cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return i18n.Default().T(l, "history.money."+Currency, "Amount", fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100))
}

// Value writes a stored value of field key for people: prices with their
// currency, conditions, areas and levels, yes and no, lists, "none".
func Value(l i18n.Lang, key string, v any) string {
	c := i18n.Default()
	switch x := v.(type) {
	case nil:
		return c.T(l, "common.none")
	case bool:
		if x {
			return c.T(l, "common.yes")
		}
		return c.T(l, "common.no")
	case float64:
		if key == "price_cents" {
			return Money(l, int64(x))
		}
		return fmt.Sprint(x)
	case int64:
		if key == "price_cents" {
			return Money(l, x)
		}
		return fmt.Sprint(x)
	case int:
		if key == "price_cents" {
			return Money(l, int64(x))
		}
		return fmt.Sprint(x)
	case string:
		if key == "condition" && c.Has(i18n.English, "business.condition."+x) {
			return c.T(l, "business.condition."+x)
		}
		if key == "decision" && c.Has(i18n.English, "history.decision."+x) {
			return c.T(l, "history.decision."+x)
		}
		if key == "phone" && x == "none" {
			return c.T(l, "common.none")
		}
		if key == "kind" && c.Has(i18n.English, "history.kind."+x) {
			return c.T(l, "history.kind."+x)
		}
		return x
	case map[string]any:
		if key == "permissions" {
			return permissions(l, x)
		}
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = Value(l, key, e)
		}
		return strings.Join(parts, c.T(l, "common.list_separator"))
	}
	b, _ := json.Marshal(v) // decoded JSON values: always marshal
	return string(b)
}

// permissions writes areas and levels ("payments: view, listings: edit").
func permissions(l i18n.Lang, p map[string]any) string {
	c := i18n.Default()
	areas := make([]string, 0, len(p))
	for a := range p {
		areas = append(areas, a)
	}
	sort.Strings(areas)
	var parts []string
	for _, a := range areas {
		lv := fmt.Sprint(p[a])
		if lv == "none" || lv == "" {
			continue
		}
		area, level := a, lv
		if c.Has(i18n.English, "email.area."+a) {
			area = c.T(l, "email.area."+a)
		}
		if c.Has(i18n.English, "email.level."+lv) {
			level = c.T(l, "email.level."+lv)
		}
		parts = append(parts, c.T(l, "history.area_level", "Area", area, "Level", level))
	}
	if len(parts) == 0 {
		return c.T(l, "email.level.none")
	}
	return strings.Join(parts, c.T(l, "common.list_separator"))
}

// Who names the actor of e for the reader: "You" for their own actions,
// SellerGuard for the system's.
func Who(l i18n.Lang, e Event, viewerID string) string {
	c := i18n.Default()
	switch {
	case viewerID != "" && e.ActorID == viewerID:
		return c.T(l, "history.you")
	case e.ActorEmail == "":
		return c.T(l, "history.system")
	}
	return e.ActorEmail
}

// str is a string value of a state ("" when missing).
func str(m map[string]any, k string) string {
	if v, ok := m[k].(string); ok {
		return v
	}
	return ""
}

// Sentence is e's title: one sentence in language l.
func Sentence(l i18n.Lang, e Event, viewerID string, fields []Field) string {
	c := i18n.Default()
	kv := []any{"Who", Who(l, e, viewerID)}
	key := "history." + e.Action
	target := e.TargetName
	for _, m := range []map[string]any{e.After, e.Before} {
		if target == "" {
			target = str(m, "email")
		}
	}
	switch e.Action {
	case "business.listing_created", "business.listing_changed":
		sku := str(e.After, "sku")
		if sku == "" {
			sku = str(e.Before, "sku")
		}
		kv = append(kv, "SKU", sku, "Title", str(e.After, "title"))
		if e.Action == "business.listing_changed" {
			switch len(fields) {
			case 0:
				key += ".none"
			case 1:
				key += ".one"
				kv = append(kv, "Field", fields[0].Name, "Before", fields[0].Before, "After", fields[0].After)
			default:
				key += ".many"
				kv = append(kv, "Fields", names(l, fields))
			}
		}
	case "business.listings_bulk_changed":
		kv = append(kv, "Count", e.After["count"])
	case "business.storefront_changed":
		kv = append(kv, "Fields", names(l, fields))
	case "session.created":
		if b, _ := e.After["new_device"].(bool); b {
			key += ".new"
		}
		kv = append(kv, "Browser", Browser(l, e.UserAgent), "IP", e.IP)
	case "session.signin_failed", "session.reauthenticated":
		kv = append(kv, "Browser", Browser(l, e.UserAgent), "IP", e.IP)
	case "account.email_changed", "account.email_change_started", "account.email_change_reverted":
		kv = append(kv, "Old", str(e.Before, "email"), "New", str(e.After, "email"))
	case "account.phone_changed":
		kv = append(kv, "Old", Value(l, "phone", e.Before["phone"]), "New", Value(l, "phone", e.After["phone"]))
	case "two_step.method_added", "two_step.method_removed":
		m := e.After
		if e.Action == "two_step.method_removed" && e.Before != nil {
			m = e.Before
		}
		// A method keeps the name its owner gave it; the default names
		// ("Authenticator app", "Passkey") only repeat the kind.
		label := str(m, "label")
		if label == "" || label == DefaultMethodLabel[str(m, "kind")] {
			label = ""
		} else {
			label = " “" + label + "”"
		}
		kv = append(kv, "Kind", Value(l, "kind", str(m, "kind")), "Label", label)
	case "business.deposit_account_added", "business.deposit_account_held":
		kv = append(kv, "Account", str(e.After, "deposit_account"))
	}
	kv = append(kv, "Target", target)
	// The reader's own security events read as what happened to their
	// account ("The password of your account was changed"): the same
	// words in the emails that tell of them, where "you" may be someone
	// else.
	if own := "history.own." + strings.TrimPrefix(key, "history."); viewerID != "" && e.ActorID == viewerID && c.Has(i18n.English, own) {
		return c.T(l, own, kv...)
	}
	if !c.Has(i18n.English, key) {
		what := c.T(l, "history.target."+e.TargetType)
		if !c.Has(i18n.English, "history.target."+e.TargetType) {
			what = c.T(l, "history.target.other")
		}
		return c.T(l, "history.other", "Who", kv[1], "What", what)
	}
	return c.T(l, key, kv...)
}

// DefaultMethodLabel is the name a two-step method gets when its owner
// gives none (internal/secondstep), by kind.
var DefaultMethodLabel = map[string]string{"totp": "Authenticator app", "passkey": "Passkey"}

// Says reports whether the formatter has a sentence of its own for an
// action (not the "… changed a record" fallback).
func Says(action string) bool {
	c := i18n.Default()
	for _, k := range []string{"history." + action, "history." + action + ".one"} {
		if c.Has(i18n.English, k) {
			return true
		}
	}
	return false
}

// names lists the fields' words ("title, price").
func names(l i18n.Lang, fields []Field) string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.Name
	}
	return strings.Join(out, i18n.Default().T(l, "common.list_separator"))
}

// Browser names the browser and system of a user-agent string in a few
// words ("Chrome on Linux"); programs keep their own name.
func Browser(l i18n.Lang, ua string) string {
	if ua == "" {
		return i18n.Default().T(l, "common.ua_unknown")
	}
	browser := ""
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"HeadlessChrome/", "Headless Chrome"},
		{"Chrome/", "Chrome"}, {"Safari/", "Safari"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	if browser == "" {
		name, _, _ := strings.Cut(ua, " ")
		if len(name) > 40 {
			name = name[:40]
		}
		return name
	}
	system := ""
	for _, s := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, s.token) {
			system = s.name
			break
		}
	}
	if system == "" {
		return browser
	}
	return i18n.Default().T(l, "common.ua_on", "Browser", browser, "System", system)
}

// SecurityActions are the events of a user's own chain that the account
// page's recent security activity lists: sign-ins, password and contact
// changes, two-step methods.
var SecurityActions = map[string]bool{
	"session.created": true, "session.signin_failed": true, "account.password_changed": true, "account.password_reset": true,
	"account.email_changed": true, "account.email_change_reverted": true, "account.phone_changed": true,
	"account.phishing_phrase_changed": true, "two_step.method_added": true, "two_step.method_removed": true,
	"two_step.backup_codes_regenerated": true, "session.revoked_others": true,
}
