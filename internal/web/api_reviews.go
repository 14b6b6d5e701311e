package web

import (
	"net/http"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/sellerdata"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/team"
)

func (s *Server) registerReviews(mux *recordingMux) {
	mux.Handle("PUT /api/v1/businesses/{business_id}/payments/charge-method", s.apiBusiness(s.idempotent(s.apiSetChargeMethod)))
	mux.Handle("GET /api/v1/businesses/{business_id}/access-reviews", s.apiBusiness(s.apiListReviews))
	mux.Handle("POST /api/v1/businesses/{business_id}/access-reviews", s.apiBusiness(s.idempotent(s.apiStartReview)))
	mux.Handle("GET /api/v1/businesses/{business_id}/access-reviews/{review_id}", s.apiBusiness(s.apiReview))
	mux.Handle("POST /api/v1/businesses/{business_id}/access-reviews/{review_id}/decisions", s.apiBusiness(s.idempotent(s.apiDecideReview)))
	mux.Handle("GET /api/v1/businesses/{business_id}/access-review-settings", s.apiBusiness(s.apiReviewSettings))
	mux.Handle("PUT /api/v1/businesses/{business_id}/access-review-settings", s.apiBusiness(s.apiSetReviewSettings))
	mux.Handle("GET /api/v1/businesses/{business_id}/ownership-transfer", s.apiBusiness(s.apiOwnershipTransfer))
	mux.Handle("POST /api/v1/businesses/{business_id}/ownership-transfer", s.apiBusiness(s.idempotent(s.apiOfferOwnership)))
	mux.Handle("DELETE /api/v1/businesses/{business_id}/ownership-transfer", s.apiBusiness(s.apiCancelOwnershipTransfer))
	mux.Handle("POST /api/v1/businesses/{business_id}/ownership-transfer/accept", s.apiBusiness(s.apiAcceptOwnership))
}

type chargeMethodJSON struct {
	Holder    string    `json:"holder"`
	Brand     string    `json:"brand"`
	Last4     string    `json:"last4"`
	ExpMonth  int       `json:"exp_month"`
	ExpYear   int       `json:"exp_year"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toChargeJSON(c *store.ChargeMethod) *chargeMethodJSON {
	if c == nil {
		return nil
	}
	return &chargeMethodJSON{Holder: c.Holder, Brand: c.Brand, Last4: c.Last4, ExpMonth: c.ExpMonth, ExpYear: c.ExpYear, UpdatedAt: c.UpdatedAt.UTC()}
}

type chargeMethodRequest struct {
	Holder     string `json:"holder"`
	CardNumber string `json:"card_number"`
	ExpMonth   int    `json:"exp_month"`
	ExpYear    int    `json:"exp_year"`
}

func (s *Server) apiSetChargeMethod(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req chargeMethodRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	c, err := s.SellerData.SetChargeMethod(r.Context(), p, r.PathValue("business_id"),
		sellerdata.ChargeMethodInput{Holder: req.Holder, Number: req.CardNumber, ExpMonth: req.ExpMonth, ExpYear: req.ExpYear}, s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"charge_method": toChargeJSON(&c)})
}

type reviewSummaryJSON struct {
	ID          string     `json:"id"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	Reminders   int        `json:"reminders"`
	CompletedAt *time.Time `json:"completed_at"`
}

func toReviewSummary(r store.AccessReview) reviewSummaryJSON {
	return reviewSummaryJSON{ID: r.ID, Status: r.Status, CreatedAt: r.CreatedAt.UTC(), Reminders: r.Reminders, CompletedAt: timePtr(r.CompletedAt)}
}

type areaActivityJSON struct {
	Level        string     `json:"level"`
	LastViewedAt *time.Time `json:"last_viewed_at"`
	LastEditedAt *time.Time `json:"last_edited_at"`
}

type reviewMemberJSON struct {
	UserID          string                      `json:"user_id"`
	Email           string                      `json:"email"`
	Status          string                      `json:"status"`
	Permissions     sellerguard.Permissions     `json:"permissions"`
	TwoStep         bool                        `json:"two_step"`
	LastSignInAt    *time.Time                  `json:"last_sign_in_at"`
	Areas           map[string]areaActivityJSON `json:"areas"`
	Flags           []string                    `json:"flags"`
	UnusedEditAreas []string                    `json:"unused_edit_areas"`
	Decision        string                      `json:"decision"`
	DecidedAt       *time.Time                  `json:"decided_at"`
}

type reviewJSON struct {
	reviewSummaryJSON
	Open       int                `json:"open"`
	SuspendsAt *time.Time         `json:"suspends_at"`
	Members    []reviewMemberJSON `json:"members"`
}

func toReviewJSON(v team.ReviewView) reviewJSON {
	out := reviewJSON{reviewSummaryJSON: toReviewSummary(v.AccessReview), Open: v.Open(), SuspendsAt: timePtr(v.SuspendsAt), Members: []reviewMemberJSON{}}
	for _, m := range v.Members {
		status := m.Status
		if status == "" {
			status = "left"
		}
		j := reviewMemberJSON{UserID: m.UserID, Email: m.Email, Status: status, Permissions: m.Permissions, TwoStep: m.TwoStep,
			LastSignInAt: timePtr(m.LastSignInAt), Areas: map[string]areaActivityJSON{}, Flags: m.Flags, UnusedEditAreas: m.UnusedEditAreas,
			Decision: m.Decision, DecidedAt: timePtr(m.DecidedAt)}
		if j.Flags == nil {
			j.Flags = []string{}
		}
		if j.UnusedEditAreas == nil {
			j.UnusedEditAreas = []string{}
		}
		for a, u := range m.Areas {
			j.Areas[a] = areaActivityJSON{Level: u.Level, LastViewedAt: timePtr(u.LastViewedAt), LastEditedAt: timePtr(u.LastEditedAt)}
		}
		out.Members = append(out.Members, j)
	}
	return out
}

func (s *Server) apiListReviews(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	list, err := s.Team.ListReviews(r.Context(), p, r.PathValue("business_id"))
	if err != nil {
		return err
	}
	out := make([]reviewSummaryJSON, 0, len(list))
	for _, v := range list {
		out = append(out, toReviewSummary(v))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"reviews": out})
}

func (s *Server) apiStartReview(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	v, created, err := s.Team.StartReview(r.Context(), p, r.PathValue("business_id"), s.meta(r))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, map[string]any{"review": toReviewJSON(v)})
}

func (s *Server) apiReview(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	v, err := s.Team.Review(r.Context(), p, r.PathValue("business_id"), r.PathValue("review_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"review": toReviewJSON(v)})
}

type reviewDecisionJSON struct {
	UserID      string                  `json:"user_id"`
	Action      string                  `json:"action"`
	Permissions sellerguard.Permissions `json:"permissions,omitempty"`
}

type reviewDecisionsRequest struct {
	Decisions []reviewDecisionJSON `json:"decisions"`
}

func (s *Server) apiDecideReview(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req reviewDecisionsRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	ds := make([]team.ReviewDecision, len(req.Decisions))
	for i, d := range req.Decisions {
		ds[i] = team.ReviewDecision{UserID: d.UserID, Action: d.Action, Permissions: d.Permissions}
	}
	v, err := s.Team.DecideReview(r.Context(), p, r.PathValue("business_id"), r.PathValue("review_id"), ds, s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"review": toReviewJSON(v)})
}

type reviewSettingsJSON struct {
	IntervalDays     int `json:"interval_days"`
	SuspendAfterDays int `json:"suspend_after_days"`
}

func (s *Server) apiReviewSettings(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	rs, err := s.Team.ReviewSettings(r.Context(), p, r.PathValue("business_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, reviewSettingsJSON{IntervalDays: rs.IntervalDays, SuspendAfterDays: rs.SuspendAfterDays})
}

func (s *Server) apiSetReviewSettings(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req reviewSettingsJSON
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	rs, err := s.Team.SetReviewSettings(r.Context(), p, r.PathValue("business_id"), store.ReviewSettings{IntervalDays: req.IntervalDays, SuspendAfterDays: req.SuspendAfterDays}, s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, reviewSettingsJSON{IntervalDays: rs.IntervalDays, SuspendAfterDays: rs.SuspendAfterDays})
}

type ownershipTransferJSON struct {
	FromUserID string    `json:"from_user_id"`
	ToUserID   string    `json:"to_user_id"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

func toTransferJSON(t store.OwnershipTransfer) map[string]any {
	return map[string]any{"ownership_transfer": ownershipTransferJSON{FromUserID: t.FromUser, ToUserID: t.ToUser, CreatedAt: t.CreatedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC()}}
}

func (s *Server) apiOwnershipTransfer(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	t, err := s.Team.PendingOwnershipTransfer(r.Context(), p, r.PathValue("business_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toTransferJSON(t))
}

type offerOwnershipRequest struct {
	UserID string `json:"user_id"`
}

func (s *Server) apiOfferOwnership(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req offerOwnershipRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	t, err := s.Team.OfferOwnership(r.Context(), p, r.PathValue("business_id"), req.UserID, s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toTransferJSON(t))
}

func (s *Server) apiCancelOwnershipTransfer(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := s.Team.CancelOwnershipTransfer(r.Context(), p, r.PathValue("business_id"), s.meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiAcceptOwnership(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := s.Team.AcceptOwnership(r.Context(), p, r.PathValue("business_id"), s.meta(r)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, answerIn(r, map[string]any{"status": "owner", "message": "You now own this business. The former owner keeps edit access until you change it."}))
}
