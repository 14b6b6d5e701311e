package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/changes"
	"github.com/sellerguard/sellerguard/internal/notify"
	"github.com/sellerguard/sellerguard/internal/outbox"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

// The change review (issue 15): a business's changes in the five
// categories of the guidance, and their undo. The rules live in
// internal/changes.

type changesHandlers struct {
	s   *Server
	svc *changes.Service
}

// registerChanges adds the change review's API and pages.
func (s *Server) registerChanges(mux *recordingMux) {
	n := notify.New(s.DB, s.Session.Keys, notify.Options{
		BaseURL: s.Options.BaseURL, Logger: s.Logger,
		Now:          func() time.Time { return s.Session.Now() },
		SMSAvailable: func() bool { return s.Session.SMS.Available },
	})
	h := &changesHandlers{s: s, svc: &changes.Service{
		Store: s.DB, Auth: s.Session, BaseURL: s.Options.BaseURL,
		Now: func() time.Time { return s.Session.Now() },
		Notify: func(ctx context.Context, tx *store.Tx, now time.Time, businessID, userID string, m sellerguard.OutboxMessage) error {
			if userID == "" {
				return n.DeliverBusiness(ctx, tx, now, businessID, m)
			}
			c, err := tx.NotifyContactOf(ctx, userID)
			if err != nil {
				return err
			}
			m.To, m.UserID = c.Email, userID
			return n.Deliver(ctx, tx, now, m, outbox.PhraseHeader(c.Phrase))
		},
	}}
	mux.Handle("GET /api/v1/businesses/{business_id}/changes", s.apiBusiness(h.apiList))
	mux.Handle("POST /api/v1/businesses/{business_id}/changes/{change_id}/undo", s.apiBusiness(h.apiUndo))
	h.registerPages(mux)
	s.registerSecure(mux)
}

type changeActorJSON struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Kind  string `json:"kind"`
}

type changeSourceJSON struct {
	IP               string     `json:"ip"`
	UserAgent        string     `json:"user_agent"`
	SessionID        string     `json:"session_id"`
	SessionStartedAt *time.Time `json:"session_started_at"`
	NewSession       *bool      `json:"new_session"`
	NewBrowser       *bool      `json:"new_browser"`
}

type changeUndoJSON struct {
	Possible bool   `json:"possible"`
	Reason   string `json:"reason,omitempty"`
}

type changeJSON struct {
	ID       string           `json:"id"`
	Category string           `json:"category"`
	Action   string           `json:"action"`
	At       time.Time        `json:"at"`
	Actor    changeActorJSON  `json:"actor"`
	Source   changeSourceJSON `json:"source"`
	Summary  string           `json:"summary"`
	Before   map[string]any   `json:"before"`
	After    map[string]any   `json:"after"`
	Undo     changeUndoJSON   `json:"undo"`
	Undoes   *string          `json:"undoes"`
	Subject  *string          `json:"subject_user_id"`
}

func toChangeJSON(c changes.Change) changeJSON {
	out := changeJSON{ID: c.ID, Category: c.Category, Action: c.Action, At: c.At.UTC(), Summary: c.Summary, Before: c.Before, After: c.After,
		Actor:  changeActorJSON{ID: c.Actor.ID, Email: c.Actor.Email, Kind: c.Actor.Kind},
		Source: changeSourceJSON{IP: c.Source.IP, UserAgent: c.Source.UserAgent, SessionID: c.Source.SessionID},
		Undo:   changeUndoJSON{Possible: c.Undo.Possible, Reason: c.Undo.Reason}}
	if c.Source.KnownSession {
		at, ns, nb := c.Source.SessionStartedAt.UTC(), c.Source.NewSession, c.Source.NewBrowser
		out.Source.SessionStartedAt, out.Source.NewSession, out.Source.NewBrowser = &at, &ns, &nb
	}
	if c.Undoes != "" {
		u := c.Undoes
		out.Undoes = &u
	}
	if c.Category == changes.EmailPreferences && c.SubjectID != "" {
		sub := c.SubjectID
		out.Subject = &sub
	}
	return out
}

// parseChangesFilter reads the review's query parameters; every bad one is
// named in one invalid_input answer.
func parseChangesFilter(r *http.Request) (changes.Filter, error) {
	q := r.URL.Query()
	f := changes.Filter{Category: q.Get("category"), ActorID: q.Get("actor"), SessionID: q.Get("session"), Cursor: q.Get("cursor")}
	var fields []sellerguard.FieldError
	for _, name := range []string{"since", "until"} {
		raw := q.Get(name)
		if raw == "" {
			continue
		}
		t, err := parseTimeParam(raw)
		if err != nil || len(raw) > 40 {
			fields = append(fields, sellerguard.FieldError{Field: name, Code: "invalid_time", Message: "Use a date (2026-01-31) or an RFC 3339 time."})
			continue
		}
		if name == "since" {
			f.Since = t
		} else {
			f.Until = t
		}
	}
	if raw := q.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > changes.MaxLimit {
			fields = append(fields, sellerguard.FieldError{Field: "limit", Code: "out_of_range", Message: "Use a limit from 1 to 200."})
		} else {
			f.Limit = n
		}
	}
	if len(fields) > 0 {
		return f, sellerguard.Invalid(fields...)
	}
	return f, nil
}

func (h *changesHandlers) apiList(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	f, err := parseChangesFilter(r)
	if err != nil {
		return err
	}
	page, err := h.svc.List(r.Context(), p, r.PathValue("business_id"), f)
	if err != nil {
		return err
	}
	out := make([]changeJSON, 0, len(page.Changes))
	for _, c := range page.Changes {
		out = append(out, toChangeJSON(c))
	}
	resp := map[string]any{"changes": out, "next": nil}
	if page.Next != "" {
		resp["next"] = page.Next
	}
	return writeJSON(w, http.StatusOK, resp)
}

type undoRequest struct {
	Confirm bool `json:"confirm"`
}

func (h *changesHandlers) apiUndo(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req undoRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
	}
	c, err := h.svc.Undo(r.Context(), p, r.PathValue("business_id"), r.PathValue("change_id"), req.Confirm, h.s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"change": toChangeJSON(c)})
}

func (s *Server) registerSecure(mux *recordingMux) {
	mux.Handle("POST /api/v1/account/secure", s.apiFull(s.apiSecureAccount))
}
