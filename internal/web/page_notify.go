package web

import (
	"net/http"

	"github.com/sellerguard/sellerguard/internal/notify"
	"github.com/sellerguard/sellerguard/internal/session"
)

type notifyGroup struct {
	Key, Title string // the group and its English title
	Rows       []notify.Setting
}

type notifyPage struct {
	*form
	Groups       []notifyGroup
	SMSAvailable bool
	HasPhone     bool
	Failed       []notify.FailedDelivery
	FailedDays   int
}

func (h *notifyHandlers) newPage(r *http.Request, p *session.Principal) (*notifyPage, error) {
	list, err := h.n.Settings(r.Context(), p.User.ID)
	if err != nil {
		return nil, err
	}
	hasPhone, err := h.n.HasPhone(r.Context(), p.User.ID)
	if err != nil {
		return nil, err
	}
	failed, err := h.n.FailedDeliveries(r.Context(), p.User.ID)
	if err != nil {
		return nil, err
	}
	pg := &notifyPage{form: newForm(), SMSAvailable: h.n.SMSAvailable(), HasPhone: hasPhone, Failed: failed, FailedDays: int(notify.FailedWindow.Hours() / 24)}
	for _, st := range list {
		title := notify.GroupTitles[st.Event.Group]
		if n := len(pg.Groups); n == 0 || pg.Groups[n-1].Title != title {
			pg.Groups = append(pg.Groups, notifyGroup{Key: st.Event.Group, Title: title})
		}
		g := &pg.Groups[len(pg.Groups)-1]
		g.Rows = append(g.Rows, st)
	}
	return pg, nil
}

func (h *notifyHandlers) page(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	pg, err := h.newPage(r, p)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("saved") == "1" {
		pg.Notice = tr(r, "notifications.notice.saved")
	}
	h.s.render(w, r, http.StatusOK, "notifications", pg)
	return nil
}

// pageSubmit saves the whole table at once. The form names the events it
// shows ("event") and has a checkbox per event and channel
// ("email:<event>", "sms:<event>"); an unticked box is not sent. Locked
// channels are shown ticked and disabled, so they are never sent: they are
// left out of the change, and a forged form cannot switch them off.
func (h *notifyHandlers) pageSubmit(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	seen := map[string]bool{}
	var changes []notify.Change
	for _, key := range r.PostForm["event"] {
		ev, ok := notify.Lookup(key)
		if !ok || seen[key] {
			continue // an event no longer in the catalogue, or twice
		}
		seen[key] = true
		c := notify.Change{Event: key}
		for _, ch := range notify.Channels {
			if ev.Locked(ch) {
				continue
			}
			on := r.PostForm.Get(ch+":"+key) != ""
			if ch == notify.SMS {
				c.SMS = &on
			} else {
				c.Email = &on
			}
		}
		changes = append(changes, c)
	}
	if err := h.n.Update(r.Context(), p, h.s.meta(r), changes); err != nil {
		general, fields, ok := formError(err)
		if !ok {
			return err
		}
		pg, perr := h.newPage(r, p)
		if perr != nil {
			return perr
		}
		pg.Message = general
		for _, m := range fields {
			pg.Message = m // the page has one form: show the field's problem on top
		}
		h.s.renderRefusal(w, r, "notifications", pg, err)
		return nil
	}
	http.Redirect(w, r, "/account/notifications?saved=1", http.StatusSeeOther)
	return nil
}
