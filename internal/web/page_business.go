package web

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/sellerdata"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

func (s *Server) registerBusinessPages(mux *recordingMux) {
	mux.Handle("GET /account/business", s.pageBusiness(s.pageBusinessData))
	mux.Handle("POST /account/business", s.pageBusiness(s.pageBusinessSubmit))
}

// businessPage shows a business's protected data, each area as the caller's
// level allows: hidden without access, read-only with view, forms with edit.
type businessPage struct {
	*form
	Business   *sellerguard.Membership
	Businesses []sellerguard.Membership
	Levels     map[string]string
	Payments   *sellerdata.PaymentInfo
	Storefront *store.Storefront
	Listings   []store.Listing
	Editing    *store.Listing // the listing the edit form is for (nil: a new one)
	Conditions []string
	// Self is the caller's user id (their own pending deposit account is
	// no alarm to them); IsOwner may cancel a pending account; DepositHint
	// is the deposit form's hint (a first account replaces nothing).
	Self        string
	IsOwner     bool
	DepositHint string
}

// listingConditions are the conditions a listing may have, in form order
// (each named by the message "business.condition.<condition>").
var listingConditions = []string{"new", "like_new", "very_good", "good", "acceptable", "refurbished"}

func (s *Server) loadBusinessPage(r *http.Request, p *session.Principal) (*businessPage, error) {
	ctx := r.Context()
	pg := &businessPage{form: newForm(), Business: chosenBusiness(r, p), Businesses: p.Memberships, Levels: map[string]string{},
		Conditions: listingConditions, Self: p.User.ID, DepositHint: "business.deposit_hint"}
	if pg.Business == nil && requestedBusiness(r) != "" {
		return nil, s.Team.NoLongerMember(r.Context(), p, requestedBusiness(r)) // "You no longer have access to …" for a removed member
	}
	if pg.Business == nil {
		return nil, sellerguard.Errorf(sellerguard.ECodeNotFound, "You do not belong to any business yet.")
	}
	biz := pg.Business.BusinessID
	for _, a := range sellerguard.Areas {
		pg.Levels[a] = p.Level(biz, a)
	}
	canView := func(area string) bool { return pg.Levels[area] != sellerguard.LevelNone }
	if canView(sellerguard.AreaPayments) {
		info, err := s.SellerData.PaymentInfo(ctx, p, biz)
		if err != nil {
			return nil, err
		}
		pg.Payments = &info
		pg.IsOwner = p.Owns(biz)
		if info.Payouts == nil && info.Pending == nil {
			pg.DepositHint = "business.deposit_hint_first"
		}
	}
	if canView(sellerguard.AreaStorefront) {
		f, err := s.SellerData.Storefront(ctx, p, biz)
		if err != nil {
			return nil, err
		}
		pg.Storefront = &f
		for k, v := range map[string]string{"display_name": f.DisplayName, "description": f.Description, "logo_url": f.LogoURL,
			"support_email": f.SupportEmail, "support_phone": f.SupportPhone, "return_address": f.ReturnAddress} {
			pg.Values["storefront:"+k] = v
		}
	}
	if canView(sellerguard.AreaListings) {
		ls, err := s.SellerData.ListListings(ctx, p, biz)
		if err != nil {
			return nil, err
		}
		sort.SliceStable(ls, func(i, j int) bool { return ls[i].SKU < ls[j].SKU })
		pg.Listings = ls
		if id := r.URL.Query().Get("listing"); id != "" {
			for i := range ls {
				if ls[i].ID == id {
					pg.Editing = &ls[i]
				}
			}
		}
	}
	return pg, nil
}

func (s *Server) pageBusinessData(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	pg, err := s.loadBusinessPage(r, p)
	if err != nil {
		return err
	}
	if e := pg.Editing; e != nil {
		for k, v := range map[string]string{"listing_id": e.ID, "sku": e.SKU, "title": e.Title, "price": formatCents(e.PriceCents),
			"quantity": strconv.FormatInt(e.Quantity, 10), "condition": e.Condition, "condition_note": e.ConditionNote} {
			pg.Values["listing:"+k] = v
		}
	}
	if done := r.URL.Query().Get("done"); businessNotices[done] {
		pg.Notice = tr(r, "business.notice."+done)
	}
	s.render(w, r, http.StatusOK, "business", pg)
	return nil
}

// businessNotices are what the business page says it just saved (?done=),
// with the message "business.notice.<done>".
var businessNotices = map[string]bool{"deposit": true, "charge": true, "storefront": true, "listing": true,
	"deposit_first": true, "cancel_deposit": true}

func formatCents(c int64) string { return fmt.Sprintf("%d.%02d", c/100, c%100) }

// parseMoney reads a price like 12, 12.5 or 12.50 into cents.
func parseMoney(v string) (int64, bool) {
	v = strings.TrimSpace(v)
	whole, frac, dot := strings.Cut(v, ".")
	if whole == "" || len(whole) > 12 || len(frac) > 2 || dot && frac == "" {
		return 0, false
	}
	for _, c := range whole + frac {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	for len(frac) < 2 {
		frac += "0"
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	return n, err == nil
}

func (s *Server) pageBusinessSubmit(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	ctx, meta, f := r.Context(), s.meta(r), r.PostForm
	b := chosenBusiness(r, p)
	if b == nil {
		return s.Team.NoLongerMember(ctx, p, requestedBusiness(r))
	}
	biz, action := b.BusinessID, f.Get("action")
	var err error
	next := "/account/business"
	switch action {
	case "deposit":
		_, err = s.SellerData.SetDepositAccount(ctx, p, biz, sellerdata.DepositAccountInput{Holder: f.Get("holder"), Bank: f.Get("bank"), Number: f.Get("account_number")}, meta)
	case "cancel_deposit": // the owner, during the account's cooling-off (depositcancel.go)
		_, err = s.SellerData.CancelDepositAccount(ctx, p, biz, f.Get("account_id"), meta)
	case "charge":
		month, _ := strconv.Atoi(strings.TrimSpace(f.Get("exp_month")))
		year, _ := strconv.Atoi(strings.TrimSpace(f.Get("exp_year")))
		_, err = s.SellerData.SetChargeMethod(ctx, p, biz, sellerdata.ChargeMethodInput{Holder: f.Get("holder"), Number: f.Get("card_number"), ExpMonth: month, ExpYear: year}, meta)
	case "storefront":
		_, err = s.SellerData.SetStorefront(ctx, p, biz, store.Storefront{DisplayName: f.Get("display_name"), Description: f.Get("description"), LogoURL: f.Get("logo_url"),
			SupportEmail: f.Get("support_email"), SupportPhone: f.Get("support_phone"), ReturnAddress: f.Get("return_address")}, meta)
	case "listing":
		price, ok := parseMoney(f.Get("price"))
		qty, qerr := strconv.ParseInt(strings.TrimSpace(f.Get("quantity")), 10, 64)
		switch {
		case !ok:
			err = sellerguard.Invalid(sellerguard.FieldError{Field: "price", Code: "out_of_range", Message: "Enter the price like 12.50."})
		case qerr != nil:
			err = sellerguard.Invalid(sellerguard.FieldError{Field: "quantity", Code: "out_of_range", Message: "Enter the quantity as a whole number."})
		default:
			_, err = s.SellerData.SaveListings(ctx, p, biz, []sellerdata.ListingInput{{ID: f.Get("listing_id"), SKU: f.Get("sku"), Title: f.Get("title"), PriceCents: price, Quantity: qty,
				Condition: f.Get("condition"), ConditionNote: f.Get("condition_note")}}, meta)
		}
	default:
		err = sellerguard.Errorf(sellerguard.ECodeInvalidInput, "Choose what to save with one of the buttons on the page.")
	}
	if err != nil {
		return s.showRefusal(w, r, err, next, "business", func() (formHolder, error) { return s.loadBusinessPage(r, p) },
			func(pf *form, fields map[string]string) {
				pf.Values["open"] = action // a refused form that folds away opens again
				for k, m := range fields {
					// Listing fields come back as listings[0].FIELD.
					pf.Errors[action+":"+k[strings.LastIndexByte(k, '.')+1:]] = m
				}
				for _, k := range []string{"holder", "bank", "display_name", "description", "logo_url", "support_email", "support_phone", "return_address",
					"sku", "title", "price", "quantity", "condition", "condition_note", "exp_month", "exp_year", "listing_id"} {
					pf.Values[action+":"+k] = f.Get(k) // never the account or card number
				}
			})
	}
	done := action
	if action == "deposit" {
		// A business's first account replaces nothing: say so.
		if info, ierr := s.SellerData.PaymentInfo(ctx, p, biz); ierr == nil && info.Payouts == nil {
			done = "deposit_first"
		}
	}
	http.Redirect(w, r, next+"?"+url.Values{"business_id": {biz}, "done": {done}}.Encode(), http.StatusSeeOther)
	return nil
}
