package web

import (
	"encoding/csv"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/account"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/checkup"
	"github.com/sellerguard/sellerguard/internal/notify"
	"github.com/sellerguard/sellerguard/internal/session"
)

// form is what a form page shows again after a failed submission. Passwords
// are never echoed back.
type form struct {
	Values  map[string]string
	Errors  map[string]string
	Message string
	Notice  string
	Reasons []string // every reason a password was refused
}

func newForm() *form { return &form{Values: map[string]string{}, Errors: map[string]string{}} }

// parseForm reads an urlencoded form within the body limit.
func parseForm(r *http.Request) error { return parseFormWithBytes(r) }

// parseFormWithBytes is parseForm for a form whose bytesFields carry bytes,
// not text (a pasted email): their values may hold any character.
func parseFormWithBytes(r *http.Request, bytesFields ...string) error {
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return sellerguard.Errorf(sellerguard.ECodeInvalidInput, "The form could not be read. Please try again.")
	}
	return checkValues(r.Form, bytesFields...)
}

// failForm shows the form again with the problems of err, or returns err
// when it is not the user's to fix.
func (s *Server) failForm(w http.ResponseWriter, r *http.Request, name string, f *form, err error) error {
	general, fields, ok := formError(err)
	if !ok {
		return err
	}
	f.Message, f.Errors = general, fields
	e := s.classify(r, err)
	for _, fe := range e.Fields { // every reason a new password was refused
		if fe.Field == "password" || fe.Field == "new_password" {
			f.Reasons = append(f.Reasons, fe.Message)
		}
	}
	if len(f.Reasons) > 1 {
		delete(f.Errors, "password")
	} else {
		f.Reasons = nil
	}
	s.renderRefusal(w, r, name, f, err)
	return nil
}

func (s *Server) pageHome(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.authenticate(r); err == nil {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return nil
	}
	s.render(w, r, http.StatusOK, "home", nil)
	return nil
}

func (s *Server) pageSignupForm(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "signup", newForm())
	return nil
}

func (s *Server) pageSignupSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm()
	for _, k := range []string{"email", "business_name", "phone", "anti_phishing_phrase", "joining"} {
		f.Values[k] = r.PostForm.Get(k)
	}
	in := account.SignupInput{Email: f.Values["email"], Password: r.PostForm.Get("password"), BusinessName: f.Values["business_name"], Phone: f.Values["phone"],
		AntiPhishingPhrase: f.Values["anti_phishing_phrase"], Joining: f.Values["joining"] == "1"}
	if err := s.Account.Signup(r.Context(), in, s.meta(r)); err != nil {
		return s.failForm(w, r, "signup", f, err)
	}
	// Post/redirect/get: reloading the verify page must not sign up again
	// (which would replace the code just sent). The address travels in a
	// short-lived cookie for that page only, never in the URL.
	http.SetCookie(w, &http.Cookie{
		Name: signupEmailCookie, Value: url.QueryEscape(strings.TrimSpace(in.Email)), Path: "/signup/verify",
		MaxAge: 900, HttpOnly: true, Secure: s.Options.SecureCookies, SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, "/signup/verify", http.StatusSeeOther)
	return nil
}

const signupEmailCookie = "sg_signup_email"

func (s *Server) pageVerifyForm(w http.ResponseWriter, r *http.Request) error {
	f := newForm()
	if c, err := r.Cookie(signupEmailCookie); err == nil {
		if email, err := url.QueryUnescape(c.Value); err == nil && len(email) <= 254 {
			f.Values["email"] = email
			f.Notice = tr(r, "signup.sent")
		}
	}
	if r.URL.Query().Get("resent") == "1" {
		f.Notice = tr(r, "verify.resent")
	}
	s.render(w, r, http.StatusOK, "verify", f)
	return nil
}

// pageVerifyResend sends a new code for the sign-up waiting for the
// address typed on the code form (also one whose code was used up by
// wrong tries), so that nobody fills in the whole sign-up again. The
// answer is the same whether or not a sign-up waits (no enumeration).
func (s *Server) pageVerifyResend(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm()
	f.Values["email"] = r.PostForm.Get("email")
	if err := s.Account.ResendSignupCode(r.Context(), f.Values["email"], s.meta(r)); err != nil {
		return s.failForm(w, r, "verify", f, err)
	}
	http.SetCookie(w, &http.Cookie{
		Name: signupEmailCookie, Value: url.QueryEscape(strings.TrimSpace(f.Values["email"])), Path: "/signup/verify",
		MaxAge: 900, HttpOnly: true, Secure: s.Options.SecureCookies, SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, "/signup/verify?resent=1", http.StatusSeeOther)
	return nil
}

func (s *Server) pageVerifySubmit(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm()
	f.Values["email"] = r.PostForm.Get("email")
	if _, _, err := s.Account.VerifySignup(r.Context(), f.Values["email"], r.PostForm.Get("code"), s.meta(r)); err != nil {
		return s.failForm(w, r, "verify", f, err)
	}
	http.SetCookie(w, &http.Cookie{Name: signupEmailCookie, Value: "", Path: "/signup/verify", MaxAge: -1, HttpOnly: true, Secure: s.Options.SecureCookies, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/signin?verified=1", http.StatusSeeOther)
	return nil
}

func (s *Server) pageSignInForm(w http.ResponseWriter, r *http.Request) error {
	f := newForm()
	switch {
	case r.URL.Query().Get("verified") == "1":
		f.Notice = tr(r, "signin.notice.verified")
	case r.URL.Query().Get("signedout") == "1":
		f.Notice = tr(r, "signin.notice.signed_out")
	}
	s.render(w, r, http.StatusOK, "signin", f)
	return nil
}

func (s *Server) pageSignInSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm()
	f.Values["email"] = r.PostForm.Get("email")
	f.Values["unlock_code"] = r.PostForm.Get("unlock_code")
	res, err := s.Session.SignIn(r.Context(), session.SignInInput{
		Email: f.Values["email"], Password: r.PostForm.Get("password"), UnlockCode: f.Values["unlock_code"], Device: s.deviceCookie(r),
	}, s.meta(r))
	if err != nil {
		if sellerguard.ErrorCode(err) == sellerguard.ECodeInvalidCredentials {
			f.Notice = tr(r, "signin.notice.locked_hint")
		}
		return s.failForm(w, r, "signin", f, err)
	}
	// A new token on every sign-in: a cookie planted before sign-in is
	// replaced, never promoted (no session fixation).
	s.setDeviceCookie(w, res.NewDevice)
	s.setSessionCookie(w, res.Token, res.Session.ExpiresAt)
	if res.Session.AuthLevel == sellerguard.AuthPartial {
		http.Redirect(w, r, "/signin/second-step", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, s.landingAfterSignIn(r, res.Session.UserID, ""), http.StatusSeeOther)
	return nil
}

func (s *Server) pageSignOut(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := s.Session.SignOut(r.Context(), p, s.meta(r)); err != nil {
		return err
	}
	s.clearSessionCookie(w)
	http.Redirect(w, r, "/signin?signedout=1", http.StatusSeeOther)
	return nil
}

type accountPage struct {
	Principal    *session.Principal
	SessionCount int
	Failed       session.FailedSignIns
	Contact      account.ContactOverview
	Phrase       bool
	Undelivered  int
	Checkup      checkup.Summary   // the security checkup's card (page_checkup.go)
	BackupAsked  bool              // a business asks for a backup method
	Holds        int               // items on hold after an undone email change (api_holds.go)
	Activity     []activityRow     // recent security activity (page_history.go)
	Checklist    firstRunChecklist // the first-run checklist card (page_checklist.go)
	// Check is the "is this still yours?" confirmation: Values["kind"]
	// (email or phone) when its code form is shown (page_contact_check.go).
	Check *form
	// TeamCard tells of waiting invitations and businesses closed until
	// two-step is set up (nil: nothing to tell; page_account_team.go).
	TeamCard *accountTeamCard
}

func (s *Server) pageAccount(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	pg, err := s.newAccountPage(r, p)
	if err != nil {
		return err
	}
	switch q := r.URL.Query(); {
	case contactKinds[q.Get("confirming")]:
		pg.Check.Values["kind"] = q.Get("confirming")
		pg.Check.Notice = tr(r, "account.notice.code_sent_"+q.Get("confirming"))
	case contactKinds[q.Get("confirmed")]:
		pg.Check.Notice = tr(r, "account.notice.confirmed_"+q.Get("confirmed"))
	}
	s.render(w, r, http.StatusOK, "account", pg)
	return nil
}

func (s *Server) newAccountPage(r *http.Request, p *session.Principal) (*accountPage, error) {
	list, err := s.Session.ListSessions(r.Context(), p)
	if err != nil {
		return nil, err
	}
	failed, err := s.Session.RecentFailedSignIns(r.Context(), p)
	if err != nil {
		return nil, err
	}
	contact, err := s.Account.Contact(r.Context(), p)
	if err != nil {
		return nil, err
	}
	phrase, err := s.Account.PhishingPhrase(r.Context(), p)
	if err != nil {
		return nil, err
	}
	undelivered, err := s.DB.FailedDeliveries(r.Context(), p.User.ID, s.Session.Now().Add(-notify.FailedWindow), 50)
	if err != nil {
		return nil, err
	}
	rep, _, err := s.checkupService().Account(r.Context(), p.User.ID)
	if err != nil {
		return nil, err
	}
	holds, err := s.Account.CountHolds(r.Context(), p.User.ID)
	if err != nil {
		return nil, err
	}
	team, err := s.accountTeamCard(r, p)
	if err != nil {
		return nil, err
	}
	return &accountPage{Principal: p, SessionCount: len(list), Failed: failed, Contact: contact, Phrase: phrase != "", Undelivered: len(undelivered), Check: newForm(),
		Checkup: checkup.Summarise(rep), BackupAsked: p.NeedsBackupMethod(), Holds: holds, Activity: s.recentSecurityActivity(r, p, 8), Checklist: newFirstRunChecklist(rep), TeamCard: team}, nil
}

func (s *Server) pageUnlockForm(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "unlock", newForm())
	return nil
}

func (s *Server) pageUnlockSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f := newForm()
	f.Values["email"] = r.PostForm.Get("email")
	if err := s.Session.RequestUnlock(r.Context(), f.Values["email"], s.meta(r)); err != nil {
		return s.failForm(w, r, "unlock", f, err)
	}
	f.Notice = tr(r, "unlock.requested")
	s.render(w, r, http.StatusOK, "signin", f)
	return nil
}

type sessionsPage struct {
	Sessions []sessionRow
	Others   int
	Notice   string
}

type sessionRow struct {
	sessionJSON
	Device string
}

func (s *Server) pageSessions(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	list, err := s.Session.ListSessions(r.Context(), p)
	if err != nil {
		return err
	}
	pg := &sessionsPage{}
	for _, ss := range list {
		row := sessionRow{sessionJSON: toSessionJSON(ss, p.Session.ID), Device: describeUserAgentIn(langOf(r), ss.UserAgent)}
		if row.Current {
			pg.Sessions = append([]sessionRow{row}, pg.Sessions...)
		} else {
			pg.Sessions = append(pg.Sessions, row)
			pg.Others++
		}
	}
	switch r.URL.Query().Get("done") {
	case "revoked":
		pg.Notice = tr(r, "sessions.notice.revoked")
	case "others":
		pg.Notice = tr(r, "sessions.notice.others")
	}
	s.render(w, r, http.StatusOK, "sessions", pg)
	return nil
}

func (s *Server) pageRevokeSession(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	id := r.PathValue("id")
	if id == p.Session.ID {
		return s.pageSignOut(w, r, p)
	}
	if err := s.Session.RevokeSession(r.Context(), p, id, s.meta(r)); err != nil {
		return err
	}
	http.Redirect(w, r, "/account/sessions?done=revoked", http.StatusSeeOther)
	return nil
}

func (s *Server) pageRevokeOthers(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if _, err := s.Session.RevokeOtherSessions(r.Context(), p, s.meta(r)); err != nil {
		return err
	}
	http.Redirect(w, r, "/account/sessions?done=others", http.StatusSeeOther)
	return nil
}

type auditRow struct {
	auditEventJSON
	// Title is the event in one sentence, Changes the fields that changed
	// (internal/history, the formatter the account page and emails share).
	Title   string
	Changes []change
}

type auditPage struct {
	Events     []auditRow
	Filter     map[string]string
	Errors     map[string]string
	Message    string
	NextURL    string
	CSVURL     string
	Businesses []auditBusiness
	Categories []string
	// Members are who the actor filter offers (the members of the
	// businesses shown), by email.
	Members []auditMember
}

type auditBusiness struct{ ID, Name string }

type auditMember struct{ ID, Email string }

func (s *Server) pageAudit(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	pg := &auditPage{Filter: map[string]string{}, Categories: []string{sellerguard.CategoryAccount, sellerguard.CategorySession, sellerguard.CategoryBusiness, sellerguard.CategorySupport}}
	for _, k := range []string{"business_id", "category", "actor", "since", "until"} {
		pg.Filter[k] = r.URL.Query().Get(k)
	}
	for _, m := range p.Memberships {
		if m.Role == sellerguard.RoleOwner {
			pg.Businesses = append(pg.Businesses, auditBusiness{ID: m.BusinessID, Name: m.BusinessName})
		}
	}
	names := s.auditMembers(r, p, pg)
	q, err := parseAuditQuery(r)
	if err != nil {
		general, fields, _ := formError(err)
		pg.Message, pg.Errors = general, fields
		s.render(w, r, http.StatusBadRequest, "audit", pg)
		return nil
	}
	events, err := s.Account.ListAudit(r.Context(), p, q)
	if err != nil {
		return err
	}
	for _, e := range events {
		j := toAuditJSON(e)
		d := describeEvent(langOf(r), e, p.User.ID, names)
		pg.Events = append(pg.Events, auditRow{auditEventJSON: j, Title: d.Title, Changes: historyFields(d.Fields)})
	}
	v := url.Values{}
	for k, val := range pg.Filter {
		if val != "" {
			v.Set(k, val)
		}
	}
	pg.CSVURL = "/account/audit.csv?" + v.Encode()
	if len(events) == q.Limit {
		v.Set("cursor", encodeCursor(events[len(events)-1]))
		pg.NextURL = "/account/audit?" + v.Encode()
	}
	s.render(w, r, http.StatusOK, "audit", pg)
	return nil
}

// maxCSVRows bounds one export.
const maxCSVRows = 50_000

func (s *Server) pageAuditCSV(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	q, err := parseAuditQuery(r)
	if err != nil {
		return err
	}
	q.Limit = maxAuditLimit
	// Fetch the first page before writing anything, so an error still gets
	// a clean answer.
	events, err := s.Account.ListAudit(r.Context(), p, q)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="sellerguard-audit.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write(audit.CSVHeader)
	rows := 0
	for {
		for _, e := range events {
			_ = cw.Write(audit.CSVRecord(e)) // checked through cw.Error below
			rows++
		}
		if len(events) < q.Limit || rows >= maxCSVRows {
			break
		}
		last := events[len(events)-1]
		q.BeforeTime, q.BeforeID = last.CreatedAt, last.ID
		if events, err = s.Account.ListAudit(r.Context(), p, q); err != nil {
			s.Logger.Error("audit export interrupted", "err", err)
			break
		}
	}
	cw.Flush()
	return nil
}

type outboxPage struct {
	Messages []outboxMessageJSON
}

func (s *Server) pageDevOutbox(w http.ResponseWriter, r *http.Request) error {
	if err := s.devOutboxAllowed(r); err != nil {
		return err
	}
	msgs, err := s.DB.ListOutbox(r.Context(), 200)
	if err != nil {
		return err
	}
	pg := &outboxPage{}
	for i := len(msgs) - 1; i >= 0; i-- { // newest first for a person
		m := msgs[i]
		pg.Messages = append(pg.Messages, outboxMessageJSON{To: m.To, Channel: m.Channel, Subject: m.Subject, Body: m.Body, CreatedAt: m.CreatedAt})
	}
	s.render(w, r, http.StatusOK, "outbox", pg)
	return nil
}

func (s *Server) pagePhraseForm(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	phrase, err := s.Account.PhishingPhrase(r.Context(), p)
	if err != nil {
		return err
	}
	f := newForm()
	f.Values["current"] = phrase
	if r.URL.Query().Get("done") == "1" {
		f.Notice = tr(r, "phrase.notice.changed")
	}
	s.render(w, r, http.StatusOK, "phrase", f)
	return nil
}

func (s *Server) pagePhraseSubmit(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	if err := s.Account.SetPhishingPhrase(r.Context(), p, r.PostForm.Get("phrase"), s.meta(r)); err != nil {
		if sellerguard.ErrorCode(err) == sellerguard.ECodeReauthRequired {
			http.Redirect(w, r, "/account/reauth?next=/account/phrase", http.StatusSeeOther)
			return nil
		}
		f := newForm()
		f.Values["phrase"] = r.PostForm.Get("phrase")
		f.Values["current"], _ = s.Account.PhishingPhrase(r.Context(), p)
		return s.failForm(w, r, "phrase", f, err)
	}
	http.Redirect(w, r, "/account/phrase?done=1", http.StatusSeeOther)
	return nil
}

type passwordPage struct {
	*form
	Required  string // why the password must change ("" when it need not)
	MinLength int
	ChangedAt string
}

func (s *Server) newPasswordPage(p *session.Principal) *passwordPage {
	min := 12
	if s.Session.Policy != nil {
		min = s.Session.Policy.Options().MinLength
	}
	return &passwordPage{form: newForm(), Required: p.MustChangePassword, MinLength: min, ChangedAt: p.User.PasswordChangedAt.UTC().Format("2006-01-02")}
}

func (s *Server) pagePasswordForm(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	pg := s.newPasswordPage(p)
	if r.URL.Query().Get("done") != "" {
		done, _ := strconv.Atoi(r.URL.Query().Get("done"))
		pg.Notice = tr(r, "password_page.notice.changed", "Count", done)
	}
	s.render(w, r, http.StatusOK, "password", pg)
	return nil
}

func (s *Server) pagePasswordSubmit(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	res, err := s.Account.ChangePassword(r.Context(), p, r.PostForm.Get("current_password"), r.PostForm.Get("new_password"), s.meta(r))
	if sellerguard.ErrorCode(err) == sellerguard.ECodeReauthRequired {
		http.Redirect(w, r, "/account/reauth?next=/account/password", http.StatusSeeOther)
		return nil
	}
	if err != nil {
		pg := s.newPasswordPage(p)
		general, fields, ok := formError(err)
		if !ok {
			return err
		}
		pg.Message, pg.Errors = general, fields
		// Every reason, not just the first, next to the new password.
		var e *sellerguard.Error
		if errors.As(err, &e) && e.Code == sellerguard.ECodePasswordPolicy {
			pg.Message = tr(r, "password_page.choose_another")
			for _, f := range e.Fields {
				pg.Reasons = append(pg.Reasons, f.Message)
			}
			delete(pg.Errors, "new_password")
		}
		e2 := s.classify(r, err)
		s.render(w, r, statusOf(e2.Code), "password", pg)
		return nil
	}
	// The old session ended with the change: the browser carries on with
	// its successor.
	s.setSessionCookie(w, res.Token, res.Session.ExpiresAt)
	http.Redirect(w, r, "/account/password?done="+strconv.Itoa(res.OtherSessionsEnded), http.StatusSeeOther)
	return nil
}
