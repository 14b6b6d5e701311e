package web

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/checkup"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/team"
)

func (s *Server) registerCheckupPages(mux *recordingMux, h *checkupHandlers) {
	mux.Handle("GET /account/checkup", s.pageAuthed(h.page))
	mux.Handle("POST /account/checkup/events/{event_id}/ack", s.pageAuthed(h.pageAck))
	mux.Handle("GET /account/business/checkup", s.pageBusiness(h.pageBusiness))
	mux.Handle("POST /account/business/checkup", s.pageBusiness(h.pageBusinessSubmit))
}

// checkupPage is the person's checkup page.
type checkupPage struct {
	Report      checkup.Report
	StatusLabel string
	History     []checkup.StatusChange
	Secure      []checkup.Fix
	Chart       chart
	Notice      string
	BackupAsked bool // a business asks this person for a backup method
}

func (h *checkupHandlers) page(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	rep, hist, err := h.c.Account(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	pg := &checkupPage{Report: rep, StatusLabel: tr(r, "common.status."+rep.Status), History: hist, Secure: secureActions,
		Chart: newChart(rep.Activity), BackupAsked: p.NeedsBackupMethod()}
	if r.URL.Query().Get("done") == "ack" {
		pg.Notice = tr(r, "checkup.notice.acked")
	}
	h.s.render(w, r, http.StatusOK, "checkup", pg)
	return nil
}

func (h *checkupHandlers) pageAck(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	if _, err := h.c.Acknowledge(r.Context(), p.User.ID, r.PathValue("event_id")); err != nil {
		return err
	}
	http.Redirect(w, r, "/account/checkup?done=ack#events", http.StatusSeeOther)
	return nil
}

// businessCheckupPage is a business's checkup page.
type businessCheckupPage struct {
	Report      checkup.BusinessReport
	StatusLabel string
	Businesses  []sellerguard.Membership
	Actions     []memberActionButton
	Notice      string
	Error       string
}

type memberActionButton struct {
	Action, Label string
	Danger        bool
}

// memberActions are the owner's actions on a member, in button order, with
// the suffix of their messages: "checkup.action.<suffix>" on the button and
// "checkup.notice.<suffix>" once done.
var memberActions = []struct {
	Action, Key string
	Danger      bool
}{
	{team.MemberRemind, "remind", false},
	{team.MemberEndSessions, "end_sessions", true},
	{team.MemberRequirePasswordChange, "require_password", true},
	{team.MemberRequireTwoStepReenrol, "require_two_step", true},
}

// memberActionDone maps an action to its message suffix.
var memberActionDone = func() map[string]string {
	m := map[string]string{}
	for _, a := range memberActions {
		m[a.Action] = a.Key
	}
	return m
}()

func memberActionButtons(r *http.Request) []memberActionButton {
	out := make([]memberActionButton, len(memberActions))
	for i, a := range memberActions {
		out[i] = memberActionButton{Action: a.Action, Label: tr(r, "checkup.action."+a.Key), Danger: a.Danger}
	}
	return out
}

func (h *checkupHandlers) loadBusiness(r *http.Request, p *session.Principal) (*businessCheckupPage, error) {
	b := chosenBusiness(r, p)
	if b == nil {
		return nil, sellerguard.Errorf(sellerguard.ECodeNotFound, "You do not belong to any business yet.")
	}
	rep, err := h.c.Business(r.Context(), p, b.BusinessID)
	if err != nil {
		return nil, err
	}
	return &businessCheckupPage{Report: rep, StatusLabel: tr(r, "common.status."+rep.Status), Businesses: p.Memberships, Actions: memberActionButtons(r)}, nil
}

func (h *checkupHandlers) pageBusiness(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	pg, err := h.loadBusiness(r, p)
	if err != nil {
		return err
	}
	if k, ok := memberActionDone[r.URL.Query().Get("done")]; ok {
		pg.Notice = tr(r, "checkup.notice."+k)
	}
	h.s.render(w, r, http.StatusOK, "business_checkup", pg)
	return nil
}

func (h *checkupHandlers) pageBusinessSubmit(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	biz, action := r.PostForm.Get("business_id"), r.PostForm.Get("action")
	if _, ok := memberActionDone[action]; !ok {
		return sellerguard.Invalid(sellerguard.FieldError{Field: "action", Code: "invalid_action", Message: "Choose one of the actions offered."})
	}
	_, err := h.s.Team.ActOnMember(r.Context(), p, biz, r.PostForm.Get("user_id"), action, h.s.meta(r))
	if isReauth(err) {
		http.Redirect(w, r, "/account/reauth?next="+url.QueryEscape("/account/business/checkup"), http.StatusSeeOther)
		return nil
	}
	if err != nil {
		code := sellerguard.ErrorCode(err)
		if code != sellerguard.ECodeForbidden && code != sellerguard.ECodeInvalidInput {
			return err
		}
		pg, lerr := h.loadBusiness(r, p)
		if lerr != nil {
			return lerr
		}
		pg.Error = sellerguard.ErrorMessage(err)
		h.s.render(w, r, statusOf(code), "business_checkup", pg)
		return nil
	}
	http.Redirect(w, r, "/account/business/checkup?business_id="+url.QueryEscape(biz)+"&done="+url.QueryEscape(action), http.StatusSeeOther)
	return nil
}

// chart is the sign-in activity as an inline SVG drawn on the server: two
// bars a day (finished sign-ins, wrong passwords) and a mark under the
// days with a sign-in from a new browser. Only presentation attributes
// are used (no style attribute, no script), so the CSP needs no exception.
type chart struct {
	Width, Height int
	Bars          []chartBar
	Labels        []chartLabel
	Max           int
	Days          []checkup.Day
	Succeeded     int
	Failed        int
	NewBrowsers   int
	BaseY         int
}

type chartBar struct {
	Date                   string
	OKX, FailX, W          string
	OKY, OKH, FailY, FailH string
	Succeeded, Failed, New int
	MarkPoints             string
}

type chartLabel struct {
	X, Text string
}

func f1(v float64) string { return fmt.Sprintf("%.1f", v) }

func newChart(days []checkup.Day) chart {
	const (
		left, top, plotH, slot = 36.0, 16.0, 150.0, 19.0
	)
	c := chart{Width: int(left + slot*float64(len(days)) + 8), Height: 220, Days: days, BaseY: int(top + plotH)}
	for _, d := range days {
		c.Max = max(c.Max, d.Succeeded, d.Failed)
		c.Succeeded += d.Succeeded
		c.Failed += d.Failed
		c.NewBrowsers += d.NewBrowsers
	}
	scale := plotH / float64(max(c.Max, 1))
	base := top + plotH
	for i, d := range days {
		x := left + slot*float64(i)
		okH, failH := float64(d.Succeeded)*scale, float64(d.Failed)*scale
		b := chartBar{Date: d.Date, Succeeded: d.Succeeded, Failed: d.Failed, New: d.NewBrowsers, W: f1(8),
			OKX: f1(x + 1.5), OKY: f1(base - okH), OKH: f1(okH), FailX: f1(x + 9.5), FailY: f1(base - failH), FailH: f1(failH)}
		if d.NewBrowsers > 0 {
			mx := x + slot/2
			b.MarkPoints = fmt.Sprintf("%s,%s %s,%s %s,%s", f1(mx), f1(base+4), f1(mx-5), f1(base+13), f1(mx+5), f1(base+13))
		}
		c.Bars = append(c.Bars, b)
		if (len(days)-1-i)%7 == 0 { // weekly, ending today
			c.Labels = append(c.Labels, chartLabel{X: f1(x + slot/2), Text: d.Date[5:]})
		}
	}
	return c
}
