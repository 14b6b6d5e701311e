package web

import (
	"net/http"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/account"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

// "Secure my account" (issue 15): the API performs step 2 (a new password
// that ends every other session, forgets trusted browsers and makes new
// backup codes) atomically; the page walks through every step.

type secureRequest struct {
	NewPassword string `json:"new_password"`
}

type securedJSON struct {
	PasswordChangedAt        time.Time `json:"password_changed_at"`
	OtherSessionsEnded       int       `json:"other_sessions_ended"`
	TrustedBrowsersForgotten int64     `json:"trusted_browsers_forgotten"`
	BackupCodes              []string  `json:"backup_codes"`
	// Token and Session replace the caller's: the old token ended with the
	// password change.
	Token   string      `json:"token"`
	Session sessionJSON `json:"session"`
}

func (s *Server) apiSecureAccount(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req secureRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	res, err := s.Account.SecureAccount(r.Context(), p, req.NewPassword, s.meta(r))
	if err != nil {
		return err
	}
	s.replaceSessionCookie(w, r, res.StepUp)
	return writeJSON(w, http.StatusOK, securedJSON{PasswordChangedAt: res.PasswordChangedAt.UTC(), OtherSessionsEnded: res.OtherSessionsEnded,
		TrustedBrowsersForgotten: res.TrustedBrowsersForgotten, BackupCodes: res.BackupCodes,
		Token: res.Token, Session: toSessionJSON(res.Session, res.Session.ID)})
}

type securePage struct {
	*changesPage
	Recent      bool
	Secured     *account.Secured
	Methods     []store.TwoStepMethod
	Contact     account.ContactOverview
	SuggestedAt string
	// ReportPhishing is the path of the phishing report page ("" while
	// SellerGuard has none).
	ReportPhishing string
	// Holds are the items added since an undone email change, waiting for
	// the owner's decision (api_holds.go).
	Holds []store.Hold
	// HoldNames name the Holds in the reader's language, one each.
	HoldNames []string
}

func (h *changesHandlers) loadSecure(r *http.Request, p *session.Principal) (*securePage, error) {
	q := r.URL.Query()
	pg := &securePage{Recent: h.s.Session.RequireRecentAuth(p) == nil, ReportPhishing: reportPhishingPath}
	pts, err := h.svc.PointsOf(r.Context(), p)
	if err != nil {
		return nil, err
	}
	since := pts.FirstNew
	if since.IsZero() {
		since = h.s.Session.Now().Add(-30 * 24 * time.Hour)
	}
	pg.SuggestedAt = since.UTC().Format(time.RFC3339)
	filter := q
	if filter.Get("since") == "" {
		filter = cloneValues(q)
		filter.Set("since", pg.SuggestedAt)
	}
	if len(p.Memberships) > 0 {
		cp, err := h.loadChanges(r, p, filter)
		if err != nil {
			return nil, err
		}
		cp.Next = "/account/secure"
		pg.changesPage = cp
	} else {
		pg.changesPage = &changesPage{form: newForm(), Next: "/account/secure"}
	}
	ts, err := h.s.TwoStep.ListTwoStep(r.Context(), p)
	if err != nil {
		return nil, err
	}
	pg.Methods = ts.Methods
	if pg.Contact, err = h.s.Account.Contact(r.Context(), p); err != nil {
		return nil, err
	}
	if pg.Holds, err = h.s.Account.ListHolds(r.Context(), p); err != nil {
		return nil, err
	}
	if pg.HoldNames, err = h.s.Account.HoldNames(r.Context(), p, pg.Holds, langOf(r)); err != nil {
		return nil, err
	}
	return pg, nil
}

func cloneValues(v map[string][]string) map[string][]string {
	out := make(map[string][]string, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func (h *changesHandlers) securePage(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	pg, err := h.loadSecure(r, p)
	if err != nil {
		return err
	}
	switch q := r.URL.Query(); {
	case q.Get("done") != "":
		pg.Notice = tr(r, "secure.notice.undone")
	case q.Get("held") == account.HoldConfirm:
		pg.Notice = tr(r, "secure.notice.kept")
	case q.Get("held") == account.HoldRemove:
		pg.Notice = tr(r, "secure.notice.removed")
	}
	h.s.render(w, r, http.StatusOK, "secure", pg)
	return nil
}

// secureSubmit is step 2: the new password and everything that goes with it.
func (h *changesHandlers) secureSubmit(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	res, err := h.s.Account.SecureAccount(r.Context(), p, r.PostForm.Get("new_password"), h.s.meta(r))
	if h.s.needsReauth(w, r, err, "/account/secure") {
		return nil
	}
	if err == nil {
		h.s.replaceSessionCookie(w, r, res.StepUp)
		p.Session = res.Session // the page below is the new session's
	}
	pg, lerr := h.loadSecure(r, p)
	if lerr != nil {
		return lerr
	}
	if err != nil {
		general, fields, ok := formError(err)
		if !ok {
			return err
		}
		pg.Message, pg.Errors = general, fields
		if pol, is := err.(*sellerguard.Error); is && pol.Code == sellerguard.ECodePasswordPolicy {
			for _, f := range pol.Fields {
				pg.Reasons = append(pg.Reasons, f.Message)
			}
		}
		h.s.renderRefusal(w, r, "secure", pg, err)
		return nil
	}
	pg.Secured = &res
	h.s.render(w, r, http.StatusOK, "secure", pg)
	return nil
}

// reportPhishingPath is the phishing report page (page_phishing).
const reportPhishingPath = "/report-phishing"
