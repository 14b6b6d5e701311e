package web

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/team"
)

func (s *Server) registerTeamPages(mux *recordingMux) {
	mux.Handle("GET /account/team", s.pageAuthed(s.pageTeam))
	mux.Handle("POST /account/team", s.pageAuthed(s.pageTeamSubmit))
	mux.Handle("GET /account/team/review", s.pageBusiness(s.pageReview))
	mux.Handle("POST /account/team/review", s.pageBusiness(s.pageReviewSubmit))
}

// areaKeys are the areas in page order.
var areaKeys = []string{sellerguard.AreaPayments, sellerguard.AreaStorefront, sellerguard.AreaListings, sellerguard.AreaUserPermissions, sellerguard.AreaAuditLog}

// areaNames are the areas in page order, with their names for people in
// the request's language (the messages "team.area.<area>").
func areaNames(r *http.Request) []struct{ Key, Name string } {
	out := make([]struct{ Key, Name string }, len(areaKeys))
	for i, k := range areaKeys {
		out[i].Key, out[i].Name = k, tr(r, "team.area."+k)
	}
	return out
}

type teamPage struct {
	*form
	Businesses   []sellerguard.Membership
	Business     *sellerguard.Membership // the one shown (nil: none)
	Areas        []struct{ Key, Name string }
	CanView      bool // user_permissions: view
	CanEdit      bool // user_permissions: edit
	Members      []store.Member
	Pending      []store.Invitation
	ForYou       []store.Invitation
	OpenReview   *store.AccessReview
	Offer        *store.OwnershipTransfer // to the caller
	YourAccess   sellerguard.Permissions
	Editing      *store.Member // the member whose access the form changes
	IsOwner      bool
	Self         string
	LevelOptions []string
	NeedsTwoStep bool // the business's data stays closed until the caller sets up two-step
}

// chosenBusiness picks the business of a page: the one ?business_id= (a
// form's business_id) names, or the user's first business when none is
// named. A business the user does not belong to is none — nil, which pages
// answer with 404, exactly like one that does not exist — never silently
// the user's own (DESIGN.md 6a).
func chosenBusiness(r *http.Request, p *session.Principal) *sellerguard.Membership {
	want := requestedBusiness(r)
	for i := range p.Memberships {
		if p.Memberships[i].BusinessID == want {
			return &p.Memberships[i]
		}
	}
	if len(p.Memberships) > 0 && want == "" {
		return &p.Memberships[0]
	}
	return nil
}

// requestedBusiness is the business id a page request names ("" for none).
func requestedBusiness(r *http.Request) string {
	if r.Method == http.MethodPost {
		return r.PostForm.Get("business_id")
	}
	return r.URL.Query().Get("business_id")
}

func (s *Server) loadTeamPage(r *http.Request, p *session.Principal) (*teamPage, error) {
	ctx := r.Context()
	pg := &teamPage{form: newForm(), Businesses: p.Memberships, Areas: areaNames(r), Self: p.User.ID,
		LevelOptions: []string{sellerguard.LevelNone, sellerguard.LevelView, sellerguard.LevelEdit}}
	var err error
	if pg.ForYou, err = s.Team.MyInvitations(ctx, p); err != nil {
		return nil, err
	}
	pg.Business = chosenBusiness(r, p)
	if pg.Business == nil && requestedBusiness(r) != "" {
		return nil, s.Team.NoLongerMember(r.Context(), p, requestedBusiness(r)) // "You no longer have access to …" for a removed member
	}
	if pg.Business == nil || p.NeedsEnrollment() {
		pg.NeedsTwoStep = pg.Business != nil
		return pg, nil
	}
	biz := pg.Business.BusinessID
	pg.YourAccess = sellerguard.Permissions{}
	for _, a := range sellerguard.Areas {
		pg.YourAccess[a] = p.Level(biz, a)
	}
	pg.CanView = sellerguard.LevelRank(pg.YourAccess[sellerguard.AreaUserPermissions]) >= sellerguard.LevelRank(sellerguard.LevelView)
	pg.CanEdit = pg.YourAccess[sellerguard.AreaUserPermissions] == sellerguard.LevelEdit
	if t, err := s.Team.PendingOwnershipTransfer(ctx, p, biz); err == nil && t.ToUser == p.User.ID {
		pg.Offer = &t
	} else if err != nil && sellerguard.ErrorCode(err) != sellerguard.ECodeNotFound {
		return nil, err
	}
	if !pg.CanView {
		return pg, nil
	}
	if pg.Members, err = s.Team.ListMembers(ctx, p, biz); err != nil {
		return nil, err
	}
	pg.IsOwner = p.Owns(biz)
	want := r.URL.Query().Get("member")
	if r.Method == http.MethodPost {
		want = r.PostForm.Get("user_id")
	}
	for i := range pg.Members {
		pg.Members[i].Permissions = pg.Members[i].Levels()
		if m := &pg.Members[i]; pg.CanEdit && m.UserID == want && m.Role != sellerguard.RoleOwner && m.UserID != p.User.ID {
			pg.Editing = m
		}
	}
	if pg.Pending, err = s.Team.ListBusinessInvitations(ctx, p, biz); err != nil {
		return nil, err
	}
	reviews, err := s.Team.ListReviews(ctx, p, biz)
	if err != nil {
		return nil, err
	}
	for i := range reviews {
		if reviews[i].Status == store.ReviewOpen {
			pg.OpenReview = &reviews[i]
			break
		}
	}
	return pg, nil
}

func (s *Server) pageTeam(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	pg, err := s.loadTeamPage(r, p)
	if err != nil {
		return err
	}
	if done := r.URL.Query().Get("done"); teamNotices[done] {
		pg.Notice = tr(r, "team.notice."+done)
	}
	s.render(w, r, http.StatusOK, "team", pg)
	return nil
}

// teamNotices are the team-page actions that say what they just did
// (?done=), with the message "team.notice.<done>".
var teamNotices = map[string]bool{"invited": true, "removed": true, "left": true, "withdrawn": true, "accepted": true,
	"declined": true, "owner": true, "offered": true, "updated": true}

// reviewNotices are the same for the review page ("review.notice.<done>").
var reviewNotices = map[string]bool{"started": true, "decided": true, "settings": true}

// formHolder is a page struct with a form in it.
type formHolder interface{ formPart() *form }

func (f *form) formPart() *form { return f }

// showRefusal answers a refused page form: to re-authentication (back to
// next) when that is what is missing, else the page again, loaded afresh,
// with the general message and the field problems placed by place.
func (s *Server) showRefusal(w http.ResponseWriter, r *http.Request, err error, next, name string, load func() (formHolder, error), place func(*form, map[string]string)) error {
	if s.needsReauth(w, r, err, next) {
		return nil
	}
	general, fields, ok := formError(err)
	if !ok {
		return err
	}
	pg, lerr := load()
	if lerr != nil {
		return lerr
	}
	f := pg.formPart()
	f.Message = general
	place(f, fields)
	s.renderRefusal(w, r, name, pg, err)
	return nil
}

// pageTeamSubmit handles every button of the team page, named by action.
func (s *Server) pageTeamSubmit(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	ctx, meta, f := r.Context(), s.meta(r), r.PostForm
	biz := ""
	if b := chosenBusiness(r, p); b != nil {
		biz = b.BusinessID
	}
	done := ""
	var err error
	switch f.Get("action") {
	case "invite":
		perms := sellerguard.Permissions{}
		for _, a := range sellerguard.Areas {
			if l := f.Get("perm:" + a); l != "" {
				perms[a] = l
			}
		}
		done = "invited"
		_, err = s.Team.Invite(ctx, p, biz, f.Get("email"), perms, meta)
	case "update":
		done = "updated"
		perms := sellerguard.Permissions{}
		for _, a := range sellerguard.Areas {
			if l := f.Get("perm:" + a); l != "" {
				perms[a] = l
			}
		}
		_, err = s.Team.UpdateMember(ctx, p, biz, f.Get("user_id"), perms, meta)
	case "remove":
		done = "removed"
		if f.Get("user_id") == p.User.ID {
			done = "left"
		}
		if f.Get("confirm") != "yes" { // first ask (page_team_confirm.go)
			if asked, cerr := s.confirmRemoval(w, r, p, biz, f.Get("user_id")); asked || cerr != nil {
				return cerr
			}
		}
		err = s.Team.RemoveMember(ctx, p, biz, f.Get("user_id"), meta)
	case "withdraw":
		done = "withdrawn"
		err = s.Team.WithdrawInvitation(ctx, p, biz, f.Get("invitation_id"), meta)
	case "accept", "decline":
		done = map[string]string{"accept": "accepted", "decline": "declined"}[f.Get("action")]
		var inv store.Invitation
		inv, err = s.Team.DecideInvitation(ctx, p, f.Get("invitation_id"), f.Get("action") == "accept", meta)
		biz = inv.BusinessID
	case "offer_ownership":
		done = "offered"
		_, err = s.Team.OfferOwnership(ctx, p, biz, f.Get("user_id"), meta)
	case "accept_ownership":
		done = "owner"
		err = s.Team.AcceptOwnership(ctx, p, biz, meta)
	case "decline_ownership":
		done = "declined"
		err = s.Team.CancelOwnershipTransfer(ctx, p, biz, meta)
	default:
		err = sellerguard.Errorf(sellerguard.ECodeInvalidInput, "Choose what to do with one of the buttons on the page.")
	}
	if err != nil {
		return s.showRefusal(w, r, err, "/account/team", "team", func() (formHolder, error) {
			pg, err := s.loadTeamPage(r, p)
			if err != nil {
				return nil, err
			}
			pg.Values["email"] = f.Get("email")
			return pg, nil
		}, func(pf *form, fields map[string]string) {
			for _, k := range slices.Sorted(maps.Keys(fields)) {
				pf.Message = fields[k] // one form per action: its problem goes on top
			}
		})
	}
	v := url.Values{"done": {done}}
	if biz != "" && done != "left" {
		v.Set("business_id", biz)
	}
	http.Redirect(w, r, "/account/team?"+v.Encode(), http.StatusSeeOther)
	return nil
}

type reviewRow struct {
	team.ReviewMember
	Why        string
	AreaLevels []areaLevel
}

type areaLevel struct {
	Key, Name, Level, LastUse string
}

type reviewPage struct {
	*form
	Business     *sellerguard.Membership
	Review       *team.ReviewView
	ToDecide     []reviewRow
	Decided      []reviewRow
	CanEdit      bool
	Recent       bool
	LevelOptions []string
	Settings     store.ReviewSettings
	IsOwner      bool
}

func (s *Server) loadReviewPage(r *http.Request, p *session.Principal) (*reviewPage, error) {
	ctx := r.Context()
	pg := &reviewPage{form: newForm(), Business: chosenBusiness(r, p), LevelOptions: []string{sellerguard.LevelNone, sellerguard.LevelView, sellerguard.LevelEdit},
		Recent: s.Session.RequireRecentAuth(p) == nil}
	if pg.Business == nil && requestedBusiness(r) != "" {
		return nil, s.Team.NoLongerMember(r.Context(), p, requestedBusiness(r)) // "You no longer have access to …" for a removed member
	}
	if pg.Business == nil {
		return nil, sellerguard.Errorf(sellerguard.ECodeNotFound, "You do not belong to any business yet.")
	}
	biz := pg.Business.BusinessID
	pg.CanEdit, pg.IsOwner = p.Level(biz, sellerguard.AreaUserPermissions) == sellerguard.LevelEdit, p.Owns(biz)
	var err error
	if pg.Settings, err = s.Team.ReviewSettings(ctx, p, biz); err != nil {
		return nil, err
	}
	list, err := s.Team.ListReviews(ctx, p, biz)
	if err != nil || len(list) == 0 {
		return pg, err
	}
	v, err := s.Team.Review(ctx, p, biz, list[0].ID)
	if err != nil {
		return nil, err
	}
	pg.Review = &v
	for _, m := range v.Members {
		row := reviewRow{ReviewMember: m, Why: describeFlags(r, m)}
		for _, a := range areaNames(r) {
			act := m.Areas[a.Key]
			last := act.LastEditedAt
			if last.IsZero() {
				last = act.LastViewedAt
			}
			use := tr(r, "review.never_used")
			if !last.IsZero() {
				use = tr(r, "review.used", "When", whenIn(langOf(r))(last))
			}
			row.AreaLevels = append(row.AreaLevels, areaLevel{Key: a.Key, Name: a.Name, Level: m.Permissions[a.Key], LastUse: use})
		}
		if m.Decided() {
			pg.Decided = append(pg.Decided, row)
		} else {
			pg.ToDecide = append(pg.ToDecide, row)
		}
	}
	// Flagged members first: they are the ones to look at.
	sort.SliceStable(pg.ToDecide, func(i, j int) bool { return len(pg.ToDecide[i].Flags) > len(pg.ToDecide[j].Flags) })
	return pg, nil
}

func (s *Server) pageReview(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	pg, err := s.loadReviewPage(r, p)
	if err != nil {
		return err
	}
	if done := r.URL.Query().Get("done"); reviewNotices[done] {
		pg.Notice = tr(r, "review.notice."+done)
	}
	s.render(w, r, http.StatusOK, "review", pg)
	return nil
}

// pageReviewSubmit starts a review, applies the decisions of the form
// (member=USER repeated, decision:USER = keep|reduce|revoke, perm:USER:AREA
// for a reduction; members without a decision are left for later), or saves
// the review rules.
func (s *Server) pageReviewSubmit(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	ctx, meta, f := r.Context(), s.meta(r), r.PostForm
	b := chosenBusiness(r, p)
	if b == nil {
		return sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such business.")
	}
	biz, done := b.BusinessID, ""
	var err error
	switch f.Get("action") {
	case "start":
		done = "started"
		_, _, err = s.Team.StartReview(ctx, p, biz, meta)
	case "decide":
		done = "decided"
		var ds []team.ReviewDecision
		for _, uid := range f["member"] {
			d := team.ReviewDecision{UserID: uid, Action: f.Get("decision:" + uid)}
			if d.Action == "" {
				continue
			}
			if d.Action == team.DecisionReduce {
				d.Permissions = sellerguard.Permissions{}
				for _, a := range sellerguard.Areas {
					d.Permissions[a] = f.Get("perm:" + uid + ":" + a)
					if d.Permissions[a] == "" {
						d.Permissions[a] = sellerguard.LevelNone
					}
				}
			}
			ds = append(ds, d)
		}
		if len(ds) == 0 {
			err = sellerguard.Errorf(sellerguard.ECodeInvalidInput, "Choose keep, reduce or remove for at least one member.")
		} else {
			_, err = s.Team.DecideReview(ctx, p, biz, f.Get("review_id"), ds, meta)
		}
	case "settings":
		done = "settings"
		rs := store.ReviewSettings{}
		rs.IntervalDays, err = atoiField("interval_days", f.Get("interval_days"))
		if err == nil {
			rs.SuspendAfterDays, err = atoiField("suspend_after_days", f.Get("suspend_after_days"))
		}
		if err == nil {
			_, err = s.Team.SetReviewSettings(ctx, p, biz, rs, meta)
		}
	default:
		err = sellerguard.Errorf(sellerguard.ECodeInvalidInput, "Choose what to do with one of the buttons on the page.")
	}
	if err != nil {
		return s.showRefusal(w, r, err, "/account/team/review", "review", func() (formHolder, error) { return s.loadReviewPage(r, p) },
			func(pf *form, fields map[string]string) {
				msgs := slices.Sorted(maps.Values(fields))
				if len(msgs) > 0 {
					pf.Message = strings.TrimSpace(pf.Message + " " + strings.Join(msgs, " "))
				}
			})
	}
	http.Redirect(w, r, "/account/team/review?"+url.Values{"business_id": {biz}, "done": {done}}.Encode(), http.StatusSeeOther)
	return nil
}

// atoiField reads a small whole number from a form field.
func atoiField(field, v string) (int, error) {
	n := 0
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 3 {
		return 0, sellerguard.Invalid(sellerguard.FieldError{Field: field, Code: "out_of_range", Message: "Enter a number of days."})
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, sellerguard.Invalid(sellerguard.FieldError{Field: field, Code: "out_of_range", Message: "Enter a number of days."})
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// describeFlags says why a member of a review is flagged, in the request's
// language (team.DescribeFlags says it in English for emails and logs).
func describeFlags(r *http.Request, m team.ReviewMember) string {
	var parts []string
	for _, f := range m.Flags {
		switch f {
		case team.FlagNoSignIn30:
			parts = append(parts, tr(r, "review.flag.no_signin", "Days", 30))
		case team.FlagNoSignIn60:
			parts = append(parts, tr(r, "review.flag.no_signin", "Days", 60))
		case team.FlagNoSignIn90:
			parts = append(parts, tr(r, "review.flag.no_signin", "Days", 90))
		case team.FlagEditUnused:
			var areas []string
			for _, a := range m.UnusedEditAreas {
				areas = append(areas, tr(r, "team.area."+a))
			}
			parts = append(parts, tr(r, "review.flag.edit_unused", "Areas", strings.Join(areas, tr(r, "common.list_separator"))))
		}
	}
	return strings.Join(parts, tr(r, "review.flag.separator"))
}
