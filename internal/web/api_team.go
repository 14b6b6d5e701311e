package web

import (
	"net/http"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/sellerdata"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

func (s *Server) registerTeam(mux *recordingMux) {
	mux.Handle("GET /api/v1/businesses/{business_id}/members", s.apiBusiness(s.apiListMembers))
	mux.Handle("PATCH /api/v1/businesses/{business_id}/members/{user_id}", s.apiBusiness(s.apiUpdateMember))
	mux.Handle("DELETE /api/v1/businesses/{business_id}/members/{user_id}", s.apiBusiness(s.apiRemoveMember))
	mux.Handle("POST /api/v1/businesses/{business_id}/invitations", s.apiBusiness(s.idempotent(s.apiInvite)))
	mux.Handle("GET /api/v1/businesses/{business_id}/invitations", s.apiBusiness(s.apiListBusinessInvitations))
	mux.Handle("DELETE /api/v1/businesses/{business_id}/invitations/{id}", s.apiBusiness(s.apiWithdrawInvitation))
	mux.Handle("GET /api/v1/businesses/{business_id}/payments", s.apiBusiness(s.apiPaymentInfo))
	mux.Handle("PUT /api/v1/businesses/{business_id}/payments/deposit-account", s.apiBusiness(s.idempotent(s.apiSetDepositAccount)))
	mux.Handle("DELETE /api/v1/businesses/{business_id}/payments/deposit-account/{account_id}", s.apiBusiness(s.apiCancelDepositAccount)) // api_deposit.go
	mux.Handle("GET /api/v1/businesses/{business_id}/storefront", s.apiBusiness(s.apiStorefront))
	mux.Handle("PUT /api/v1/businesses/{business_id}/storefront", s.apiBusiness(s.apiSetStorefront))
	mux.Handle("GET /api/v1/businesses/{business_id}/listings", s.apiBusiness(s.apiListListings))
	mux.Handle("POST /api/v1/businesses/{business_id}/listings", s.apiBusiness(s.idempotent(s.apiSaveListings)))
	mux.Handle("GET /api/v1/invitations", s.apiAuthed(s.apiMyInvitations))
	mux.Handle("POST /api/v1/invitations/{id}/accept", s.apiAuthed(s.apiDecideInvitation(true)))
	mux.Handle("POST /api/v1/invitations/{id}/decline", s.apiAuthed(s.apiDecideInvitation(false)))
}

type memberJSON struct {
	UserID      string                  `json:"user_id"`
	Email       string                  `json:"email"`
	Role        string                  `json:"role"`
	Status      string                  `json:"status"`
	Permissions sellerguard.Permissions `json:"permissions"`
	JoinedAt    time.Time               `json:"joined_at"`
}

func toMemberJSON(m store.Member) memberJSON {
	return memberJSON{UserID: m.UserID, Email: m.Email, Role: m.Role, Status: m.Status, Permissions: m.Levels(), JoinedAt: m.CreatedAt.UTC()}
}

func (s *Server) apiListMembers(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	ms, err := s.Team.ListMembers(r.Context(), p, r.PathValue("business_id"))
	if err != nil {
		return err
	}
	out := make([]memberJSON, 0, len(ms))
	for _, m := range ms {
		out = append(out, toMemberJSON(m))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"members": out})
}

type permissionsRequest struct {
	Permissions sellerguard.Permissions `json:"permissions"`
}

func (s *Server) apiUpdateMember(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req permissionsRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	m, err := s.Team.UpdateMember(r.Context(), p, r.PathValue("business_id"), r.PathValue("user_id"), req.Permissions, s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"member": toMemberJSON(m)})
}

func (s *Server) apiRemoveMember(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := s.Team.RemoveMember(r.Context(), p, r.PathValue("business_id"), r.PathValue("user_id"), s.meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type inviteRequest struct {
	Email       string                  `json:"email"`
	Permissions sellerguard.Permissions `json:"permissions"`
}

type invitationJSON struct {
	ID           string                  `json:"id"`
	BusinessID   string                  `json:"business_id"`
	BusinessName string                  `json:"business_name"`
	Email        string                  `json:"email"`
	Permissions  sellerguard.Permissions `json:"permissions"`
	Status       string                  `json:"status"`
	CreatedAt    time.Time               `json:"created_at"`
	ExpiresAt    time.Time               `json:"expires_at"`
}

func toInvitationJSON(v store.Invitation) invitationJSON {
	if v.Permissions == nil {
		v.Permissions = sellerguard.Permissions{}
	}
	return invitationJSON{ID: v.ID, BusinessID: v.BusinessID, BusinessName: v.BusinessName, Email: v.Email, Permissions: v.Permissions,
		Status: v.Status, CreatedAt: v.CreatedAt.UTC(), ExpiresAt: v.ExpiresAt.UTC()}
}

func (s *Server) apiInvite(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req inviteRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	inv, err := s.Team.Invite(r.Context(), p, r.PathValue("business_id"), req.Email, req.Permissions, s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"invitation": toInvitationJSON(inv)})
}

func invitationsJSON(list []store.Invitation) map[string]any {
	out := make([]invitationJSON, 0, len(list))
	for _, v := range list {
		out = append(out, toInvitationJSON(v))
	}
	return map[string]any{"invitations": out}
}

func (s *Server) apiListBusinessInvitations(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	list, err := s.Team.ListBusinessInvitations(r.Context(), p, r.PathValue("business_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, invitationsJSON(list))
}

func (s *Server) apiWithdrawInvitation(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := s.Team.WithdrawInvitation(r.Context(), p, r.PathValue("business_id"), r.PathValue("id"), s.meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiMyInvitations(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	list, err := s.Team.MyInvitations(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, invitationsJSON(list))
}

// apiDecideInvitation accepts or declines an invitation to the caller.
func (s *Server) apiDecideInvitation(accept bool) func(http.ResponseWriter, *http.Request, *session.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
		inv, err := s.Team.DecideInvitation(r.Context(), p, r.PathValue("id"), accept, s.meta(r))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]any{"invitation": toInvitationJSON(inv)})
	}
}

type depositAccountJSON struct {
	ID          string    `json:"id"`
	Holder      string    `json:"holder"`
	Bank        string    `json:"bank"`
	Last4       string    `json:"last4"`
	AddedAt     time.Time `json:"added_at"`
	PayoutsFrom time.Time `json:"payouts_from"`
}

func toDepositJSON(a *store.DepositAccount) *depositAccountJSON {
	if a == nil {
		return nil
	}
	return &depositAccountJSON{ID: a.ID, Holder: a.Holder, Bank: a.Bank, Last4: a.Last4, AddedAt: a.CreatedAt.UTC(), PayoutsFrom: a.ActiveFrom.UTC()}
}

func (s *Server) apiPaymentInfo(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	info, err := s.SellerData.PaymentInfo(r.Context(), p, r.PathValue("business_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"payouts_account": toDepositJSON(info.Payouts), "pending_account": toDepositJSON(info.Pending),
		"charge_method": toChargeJSON(info.Charge)})
}

type depositRequest struct {
	Holder        string `json:"holder"`
	Bank          string `json:"bank"`
	AccountNumber string `json:"account_number"`
}

func (s *Server) apiSetDepositAccount(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req depositRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	a, err := s.SellerData.SetDepositAccount(r.Context(), p, r.PathValue("business_id"), sellerdata.DepositAccountInput{Holder: req.Holder, Bank: req.Bank, Number: req.AccountNumber}, s.meta(r))
	if err != nil {
		return err
	}
	msg := "business.api.deposit_added"
	if info, err := s.SellerData.PaymentInfo(r.Context(), p, a.BusinessID); err == nil && info.Payouts == nil {
		msg = "business.api.deposit_added_first" // the first account replaces nothing
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"pending_account": toDepositJSON(&a), "message": tr(r, msg)})
}

type storefrontJSON struct {
	storefrontRequest
	UpdatedAt *time.Time `json:"updated_at"`
}

func toStorefrontJSON(f store.Storefront) storefrontJSON {
	return storefrontJSON{storefrontRequest: storefrontRequest{DisplayName: f.DisplayName, Description: f.Description, LogoURL: f.LogoURL,
		SupportEmail: f.SupportEmail, SupportPhone: f.SupportPhone, ReturnAddress: f.ReturnAddress}, UpdatedAt: timePtr(f.UpdatedAt)}
}

func (s *Server) apiStorefront(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	f, err := s.SellerData.Storefront(r.Context(), p, r.PathValue("business_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"storefront": toStorefrontJSON(f)})
}

type storefrontRequest struct {
	DisplayName   string `json:"display_name"`
	Description   string `json:"description"`
	LogoURL       string `json:"logo_url"`
	SupportEmail  string `json:"support_email"`
	SupportPhone  string `json:"support_phone"`
	ReturnAddress string `json:"return_address"`
}

func (s *Server) apiSetStorefront(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req storefrontRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	f, err := s.SellerData.SetStorefront(r.Context(), p, r.PathValue("business_id"), store.Storefront{DisplayName: req.DisplayName, Description: req.Description,
		LogoURL: req.LogoURL, SupportEmail: req.SupportEmail, SupportPhone: req.SupportPhone, ReturnAddress: req.ReturnAddress}, s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"storefront": toStorefrontJSON(f)})
}

type listingJSON struct {
	ID            string    `json:"id"`
	SKU           string    `json:"sku"`
	Title         string    `json:"title"`
	PriceCents    int64     `json:"price_cents"`
	Quantity      int64     `json:"quantity"`
	Condition     string    `json:"condition"`
	ConditionNote string    `json:"condition_note"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func listingsJSON(ls []store.Listing) map[string]any {
	out := make([]listingJSON, 0, len(ls))
	for _, l := range ls {
		out = append(out, listingJSON{ID: l.ID, SKU: l.SKU, Title: l.Title, PriceCents: l.PriceCents, Quantity: l.Quantity, Condition: l.Condition, ConditionNote: l.ConditionNote, UpdatedAt: l.UpdatedAt.UTC()})
	}
	return map[string]any{"listings": out}
}

func (s *Server) apiListListings(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	ls, err := s.SellerData.ListListings(r.Context(), p, r.PathValue("business_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listingsJSON(ls))
}

type listingInputJSON struct {
	ID            string `json:"id,omitempty"`
	SKU           string `json:"sku"`
	Title         string `json:"title"`
	PriceCents    int64  `json:"price_cents"`
	Quantity      int64  `json:"quantity"`
	Condition     string `json:"condition"`
	ConditionNote string `json:"condition_note"`
}

type saveListingsRequest struct {
	Listings []listingInputJSON `json:"listings"`
}

func (s *Server) apiSaveListings(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req saveListingsRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	ins := make([]sellerdata.ListingInput, len(req.Listings))
	for i, l := range req.Listings {
		ins[i] = sellerdata.ListingInput{ID: l.ID, SKU: l.SKU, Title: l.Title, PriceCents: l.PriceCents, Quantity: l.Quantity, Condition: l.Condition, ConditionNote: l.ConditionNote}
	}
	ls, err := s.SellerData.SaveListings(r.Context(), p, r.PathValue("business_id"), ins, s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listingsJSON(ls))
}
