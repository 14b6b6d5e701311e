package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/changes"
	"github.com/sellerguard/sellerguard/internal/history"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/session"
)

// registerPages adds the change review's pages.
func (h *changesHandlers) registerPages(mux *recordingMux) {
	mux.Handle("GET /account/changes", h.s.pageBusiness(h.page))
	mux.Handle("POST /account/changes/undo", h.s.pageBusiness(h.pageUndo))
	mux.Handle("GET /account/secure", h.s.pageAuthed(h.securePage))
	mux.Handle("POST /account/secure", h.s.pageAuthed(h.secureSubmit))
}

type changeRow struct {
	changeJSON
	Title   string
	Changes []change
	// Sentence says the change in the reader's language (internal/history),
	// "" for an action it has no sentence of its own for (the stored
	// summary is shown then).
	Sentence string
}

type changesPage struct {
	*form
	Business   *sellerguard.Membership
	Businesses []sellerguard.Membership
	Filter     map[string]string
	Categories []string
	Titles     map[string]string
	Rows       []changeRow
	NextURL    string
	// Presets of the since filter.
	LastKnown, FirstNew string
	// Superseded: an undo that needs the caller's confirmation.
	Superseded string
	Next       string // where the forms return to
}

// loadChanges fills a changes page from a request's filters (GET query or
// POST form) for the chosen business.
func (h *changesHandlers) loadChanges(r *http.Request, p *session.Principal, q url.Values) (*changesPage, error) {
	pg := &changesPage{form: newForm(), Business: chosenBusiness(r, p), Businesses: p.Memberships, Filter: map[string]string{},
		Categories: changes.Categories, Titles: categoryTitles(r), Next: "/account/changes"}
	if pg.Business == nil {
		return nil, sellerguard.Errorf(sellerguard.ECodeNotFound, "You do not belong to any business yet.")
	}
	pts, err := h.svc.PointsOf(r.Context(), p)
	if err != nil {
		return nil, err
	}
	if !pts.LastKnown.IsZero() {
		pg.LastKnown = pts.LastKnown.UTC().Format(time.RFC3339)
	}
	if !pts.FirstNew.IsZero() {
		pg.FirstNew = pts.FirstNew.UTC().Format(time.RFC3339)
	}
	for _, k := range []string{"category", "since", "until", "actor", "session", "cursor"} {
		pg.Filter[k] = q.Get(k)
	}
	if q.Get("preset") == "last_known" && pg.LastKnown != "" {
		pg.Filter["since"] = pg.LastKnown
	}
	req := &http.Request{URL: &url.URL{RawQuery: url.Values{"category": {pg.Filter["category"]}, "since": {pg.Filter["since"]},
		"until": {pg.Filter["until"]}, "actor": {pg.Filter["actor"]}, "session": {pg.Filter["session"]}, "cursor": {pg.Filter["cursor"]}}.Encode()}}
	f, err := parseChangesFilter(req)
	if err == nil {
		var page changes.Page
		page, err = h.svc.List(r.Context(), p, pg.Business.BusinessID, f)
		for _, c := range page.Changes {
			j := toChangeJSON(c)
			row := changeRow{changeJSON: j, Title: tr(r, "changes.category."+c.Category), Changes: changesIn(langOf(r), rawJSON(j.Before), rawJSON(j.After))}
			if history.Says(c.Action) {
				e := history.Event{Action: c.Action, ActorID: c.Actor.ID, ActorEmail: c.Actor.Email, IP: c.Source.IP, UserAgent: c.Source.UserAgent, Before: c.Before, After: c.After, At: c.At}
				row.Sentence = history.Describe(langOf(r), e, p.User.ID).Title
			}
			pg.Rows = append(pg.Rows, row)
		}
		if page.Next != "" {
			v := url.Values{"business_id": {pg.Business.BusinessID}, "cursor": {page.Next}}
			for _, k := range []string{"category", "since", "until", "actor", "session"} {
				if pg.Filter[k] != "" {
					v.Set(k, pg.Filter[k])
				}
			}
			pg.NextURL = "/account/changes?" + v.Encode()
		}
	}
	if err != nil {
		general, fields, ok := formError(err)
		if !ok {
			return nil, err
		}
		pg.Message, pg.Errors = general, fields
	}
	return pg, nil
}

func (h *changesHandlers) page(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	pg, err := h.loadChanges(r, p, r.URL.Query())
	if err != nil {
		return err
	}
	if r.URL.Query().Get("done") != "" {
		pg.Notice = tr(r, "changes.notice.undone")
	}
	status := http.StatusOK
	if pg.Message != "" {
		status = http.StatusBadRequest
	}
	h.s.render(w, r, status, "changes", pg)
	return nil
}

// pageUndo undoes the changes ticked (or the one button pressed), newest
// first, each in its own transaction; it stops at the first refusal and
// says which changes were undone before it.
func (h *changesHandlers) pageUndo(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	ids := r.PostForm["change_id"]
	if one := r.PostForm.Get("one"); one != "" { // one row's own button
		ids = []string{one}
	}
	next := "/account/changes"
	if r.PostForm.Get("next") == "/account/secure" {
		next = "/account/secure"
	}
	biz := chosenBusiness(r, p)
	if biz == nil {
		return sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such business.")
	}
	if len(ids) == 0 || len(ids) > 100 {
		return sellerguard.Invalid(sellerguard.FieldError{Field: "change_id", Code: "required", Message: "Tick at least one change to undo (at most 100)."})
	}
	confirm := r.PostForm.Get("confirm") == "1"
	done := 0
	for _, id := range ids {
		_, err := h.svc.Undo(r.Context(), p, biz.BusinessID, id, confirm, h.s.meta(r))
		if err == nil {
			done++
			continue
		}
		if h.s.needsReauth(w, r, err, next) {
			return nil
		}
		pg, lerr := h.loadChanges(r, p, url.Values{})
		if lerr != nil {
			return lerr
		}
		general, _, ok := formError(err)
		if !ok {
			return err
		}
		pg.Message = general
		if done > 0 {
			pg.Message = tr(r, "changes.undid_first", "Count", done, "Problem", i18n.Default().Message(langOf(r), general))
		}
		if sellerguard.ErrorCode(err) == sellerguard.ECodeChangeSuperseded {
			pg.Superseded = id
		}
		h.s.renderRefusal(w, r, "changes", pg, err)
		return nil
	}
	http.Redirect(w, r, next+"?done=1&business_id="+url.QueryEscape(biz.BusinessID), http.StatusSeeOther)
	return nil
}

func rawJSON(m map[string]any) json.RawMessage {
	b, _ := json.Marshal(m) // decoded from JSON: always marshals
	return b
}

// categoryTitles names the change categories in the request's language
// (the messages "changes.category.<category>").
func categoryTitles(r *http.Request) map[string]string {
	out := make(map[string]string, len(changes.Categories))
	for _, c := range changes.Categories {
		out[c] = tr(r, "changes.category."+c)
	}
	return out
}
