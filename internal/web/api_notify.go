package web

import (
	"net/http"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/notify"
	"github.com/sellerguard/sellerguard/internal/session"
)

// Notification settings: the catalogue of events with the caller's settings
// per channel, changes to them, and the messages that could not be
// delivered. The rules (locked events, defaults, audit) live in
// internal/notify.

// registerNotify adds the API and the page of notification settings.
func (s *Server) registerNotify(mux *recordingMux) {
	h := &notifyHandlers{s: s, n: notify.New(s.DB, s.Session.Keys, notify.Options{
		BaseURL: s.Options.BaseURL, Logger: s.Logger,
		Now:          func() time.Time { return s.Session.Now() },
		SMSAvailable: func() bool { return s.Session.SMS.Available },
	})}
	mux.Handle("GET /api/v1/notifications", s.apiAuthed(h.apiList))
	mux.Handle("PUT /api/v1/notifications/{event}", s.apiAuthed(h.apiUpdate))
	mux.Handle("GET /api/v1/notifications/failed-deliveries", s.apiAuthed(h.apiFailed))
	mux.Handle("GET /account/notifications", s.pageAuthed(h.page))
	mux.Handle("POST /account/notifications", s.pageAuthed(h.pageSubmit))
}

type notifyHandlers struct {
	s *Server
	n *notify.Router
}

type notifyChannelJSON struct {
	Enabled bool `json:"enabled"`
	Default bool `json:"default"`
	Locked  bool `json:"locked"`
}

type notifyEventJSON struct {
	Event        string `json:"event"`
	Group        string `json:"group"`
	Title        string `json:"title"`
	Description  string `json:"description"`
	Critical     bool   `json:"critical"`
	BusinessWide bool   `json:"business_wide"`
	Channels     struct {
		Email notifyChannelJSON `json:"email"`
		SMS   notifyChannelJSON `json:"sms"`
	} `json:"channels"`
}

// toNotifyEventJSON describes an event in the caller's language (the
// event and group keys stay as they are).
func toNotifyEventJSON(lang i18n.Lang, st notify.Setting) notifyEventJSON {
	e := notifyEventJSON{Event: st.Event.Key, Group: st.Event.Group, Title: st.Event.TitleIn(lang), Description: st.Event.DescriptionIn(lang),
		Critical: st.Event.Critical, BusinessWide: st.Event.BusinessWide}
	e.Channels.Email = notifyChannelJSON(st.Email)
	e.Channels.SMS = notifyChannelJSON(st.SMS)
	return e
}

func (h *notifyHandlers) apiList(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	list, err := h.n.Settings(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	hasPhone, err := h.n.HasPhone(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	out := make([]notifyEventJSON, 0, len(list))
	for _, st := range list {
		out = append(out, toNotifyEventJSON(langOf(r), st))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"events": out, "sms_available": h.n.SMSAvailable(), "phone_on_file": hasPhone})
}

type notifyUpdateRequest struct {
	Email *bool `json:"email"`
	SMS   *bool `json:"sms"`
}

func (h *notifyHandlers) apiUpdate(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	key := r.PathValue("event")
	if _, ok := notify.Lookup(key); !ok {
		return notify.ErrNoSuchEvent
	}
	var req notifyUpdateRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Email == nil && req.SMS == nil {
		return sellerguard.Invalid(sellerguard.FieldError{Field: "email", Code: "required", Message: `Give "email", "sms" or both, as true or false.`})
	}
	if err := h.n.Update(r.Context(), p, h.s.meta(r), []notify.Change{{Event: key, Email: req.Email, SMS: req.SMS}}); err != nil {
		return err
	}
	st, err := h.n.Setting(r.Context(), p.User.ID, key)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toNotifyEventJSON(langOf(r), st))
}

type failedDeliveryJSON struct {
	Channel    string    `json:"channel"`
	To         string    `json:"to"`
	Subject    string    `json:"subject"`
	Event      string    `json:"event"`
	EventTitle string    `json:"event_title"`
	CreatedAt  time.Time `json:"created_at"`
}

func (h *notifyHandlers) apiFailed(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	list, err := h.n.FailedDeliveries(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	out := make([]failedDeliveryJSON, 0, len(list))
	for _, f := range list {
		out = append(out, failedDeliveryJSON{Channel: f.Channel, To: f.To, Subject: f.Subject, Event: f.Event, EventTitle: f.EventTitle, CreatedAt: f.At.UTC()})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"failed_deliveries": out, "days": int(notify.FailedWindow / (24 * time.Hour))})
}
