package web

import (
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/account"
	"github.com/sellerguard/sellerguard/internal/history"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

// describeEvent is an audit event in words for the reader viewerID in
// language l (internal/history); names gives members' emails by user id,
// for events whose target is a member.
func describeEvent(l i18n.Lang, e store.AuditRecord, viewerID string, names map[string]string) history.Description {
	return history.Describe(l, historyEvent(e, names), viewerID)
}

func historyEvent(e store.AuditRecord, names map[string]string) history.Event {
	b, a := history.Decode([]byte(e.Before), []byte(e.After))
	he := history.Event{Action: e.Action, ActorID: e.ActorID, ActorEmail: e.ActorEmail, TargetType: e.TargetType, TargetID: e.TargetID,
		IP: e.IP, UserAgent: e.UserAgent, Before: b, After: a, At: e.CreatedAt}
	if e.TargetType == "user" {
		he.TargetName = names[e.TargetID]
	}
	return he
}

// historyFields are the changed fields as the change lists of pages show
// them.
func historyFields(fs []history.Field) []change {
	out := make([]change, len(fs))
	for i, f := range fs {
		out[i] = change{Field: f.Name, Before: f.Before, After: f.After}
	}
	return out
}

// auditMembers fills the audit page's member picker with the members of
// the businesses the caller may read the log of (the one chosen, or all
// they own), and returns their emails by user id.
func (s *Server) auditMembers(r *http.Request, p *session.Principal, pg *auditPage) map[string]string {
	names := map[string]string{p.User.ID: p.User.Email}
	chosen := r.URL.Query().Get("business_id")
	for _, b := range pg.Businesses {
		if chosen != "" && b.ID != chosen {
			continue
		}
		ms, err := s.Team.ListMembers(r.Context(), p, b.ID)
		if err != nil {
			continue // not allowed to list them: the picker offers fewer names
		}
		for _, m := range ms {
			names[m.UserID] = m.Email
		}
	}
	for id, email := range names {
		pg.Members = append(pg.Members, auditMember{ID: id, Email: email})
	}
	sort.Slice(pg.Members, func(i, j int) bool { return pg.Members[i].Email < pg.Members[j].Email })
	return names
}

// activityRow is one line of the account page's recent security activity.
type activityRow struct {
	ID    string
	Title string
	At    time.Time
}

// recentSecurityActivity lists the caller's latest sign-ins, new browsers,
// password, contact and two-step changes (their own chain), newest first,
// in words (internal/history: the same sentences as the audit log and the
// emails).
func (s *Server) recentSecurityActivity(r *http.Request, p *session.Principal, n int) []activityRow {
	var events []store.AuditRecord
	for _, cat := range []string{sellerguard.CategorySession, sellerguard.CategoryAccount} {
		list, err := s.Account.ListAudit(r.Context(), p, account.AuditQuery{Category: cat, Limit: 100})
		if err != nil {
			s.Logger.Error("account: recent security activity", "err", err)
			return nil
		}
		for _, e := range list {
			if e.BusinessID == "" && history.SecurityActions[e.Action] {
				events = append(events, e)
			}
		}
	}
	sort.Slice(events, func(i, j int) bool { return events[i].CreatedAt.After(events[j].CreatedAt) })
	if len(events) > n {
		events = events[:n]
	}
	out := make([]activityRow, len(events))
	for i, e := range events {
		out[i] = activityRow{ID: e.ID, Title: describeEvent(langOf(r), e, p.User.ID, nil).Title, At: e.CreatedAt}
	}
	return out
}

// ttIn is the template function tt of language l: the message key, like t,
// with its time.Time values marked up as <time datetime> (atIn) inside the
// sentence, so static/localtime.js shows them in the reader's time zone
// and locale; without script they read as before (UTC, the zone named).
// The message and its other values are escaped; only the <time> elements
// are markup.
func ttIn(l i18n.Lang) func(key string, kv ...any) template.HTML {
	at := atIn(l)
	return func(key string, kv ...any) template.HTML {
		vals := make([]any, len(kv))
		copy(vals, kv)
		var marks []string
		for i := 1; i < len(vals); i += 2 {
			if t, ok := vals[i].(time.Time); ok {
				vals[i] = fmt.Sprintf("\ue000%d\ue001", len(marks))
				marks = append(marks, string(at(t)))
			}
		}
		s := template.HTMLEscapeString(i18n.Default().T(l, key, vals...))
		for i, m := range marks {
			s = strings.Replace(s, template.HTMLEscapeString(fmt.Sprintf("\ue000%d\ue001", i)), m, 1)
		}
		return template.HTML(s) // escaped above, but for the <time> elements atIn made
	}
}
