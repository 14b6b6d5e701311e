package web

import (
	"context"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/secondstep"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// Pages of two-step verification: the second step of a sign-in, the
// account's two-step settings (methods, backup codes, trusted browsers), and
// re-authentication before sensitive changes. Like every page they only
// parse, call the auth service and render; the rules live in the service.

func (s *Server) registerTwoStepPages(mux *recordingMux) {
	mux.Handle("GET /signin/second-step", s.pageSession(s.pageSecondStepForm))
	mux.Handle("POST /signin/second-step", s.pageSession(s.pageSecondStepSubmit))
	mux.Handle("POST /signin/second-step/sms", s.pageSession(s.pageSecondStepSendSMS))
	mux.Handle("POST /account/two-step/sms", s.pageAuthed(s.pageStartSMS))
	mux.Handle("GET /account/two-step/sms", s.pageAuthed(s.pageSMSEnrolment))
	mux.Handle("POST /account/two-step/sms/{id}/confirm", s.pageAuthed(s.pageConfirmSMS))
	mux.Handle("GET /account/two-step", s.pageAuthed(s.pageTwoStep))
	mux.Handle("POST /account/two-step/totp", s.pageAuthed(s.pageStartTOTP))
	mux.Handle("GET /account/two-step/totp", s.pageAuthed(s.pageTOTPEnrolment))
	mux.Handle("POST /account/two-step/totp/{id}/confirm", s.pageAuthed(s.pageConfirmTOTP))
	mux.Handle("POST /account/two-step/backup-codes", s.pageAuthed(s.pageBackupCodes))
	mux.Handle("GET /account/two-step/backup-codes", s.pageAuthed(s.pageBackupCodesResult))
	mux.Handle("GET /account/two-step/backup-codes.txt", s.pageAuthed(s.pageBackupCodesText))
	mux.Handle("POST /account/two-step/backup-codes/done", s.pageAuthed(s.pageBackupCodesDone))
	mux.Handle("POST /account/two-step/{id}/remove", s.pageAuthed(s.pageRemoveMethod))
	mux.Handle("POST /account/trusted-browsers/{id}/forget", s.pageAuthed(s.pageForgetBrowser))
	mux.Handle("GET /account/reauth", s.pageAuthed(s.pageReauthForm))
	mux.Handle("POST /account/reauth", s.pageAuthed(s.pageReauthSubmit))
	mux.Handle("POST /account/reauth/sms", s.pageAuthed(s.pageReauthSendSMS))
}

// failPage shows a page again with the problems of err, or returns err when
// it is not the user's to fix. Field problems go next to their fields; an
// error without fields whose code is in asField (a wrong password, a wrong
// code) goes next to the field it is about.
func (s *Server) failPage(w http.ResponseWriter, r *http.Request, name string, page any, f *form, err error, asField map[string]string) error {
	general, fields, ok := formError(err)
	if !ok {
		return err
	}
	if field, ok := asField[sellerguard.ErrorCode(err)]; ok && len(fields) == 0 {
		fields[field], general = general, ""
	}
	f.Message, f.Errors = general, fields
	s.renderRefusal(w, r, name, page, err)
	return nil
}

// renderRefusal shows a page again after a refusal, with the refusal's
// status and, when it has one, Retry-After.
func (s *Server) renderRefusal(w http.ResponseWriter, r *http.Request, name string, page any, err error) {
	e := s.classify(r, err)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
		r = r.WithContext(context.WithValue(r.Context(), retryAfterKey{}, e.RetryAfter))
	}
	s.render(w, r, statusOf(e.Code), name, page)
}

// The second step of a sign-in.

type secondStepPage struct {
	*form
	Method     string // the kind of second step this form takes
	Kinds      map[string]bool
	BackupLeft int
	TrustFor   string // "30 days"
	SMSSentTo  string
	// Next is where the finished sign-in goes: secureNext or "" (the
	// account, or Secure my account while held items wait).
	Next string
}

// newSecondStepPage offers the kinds of second step the user has: the
// asked-for one when the user has it, else the strongest.
func (s *Server) newSecondStepPage(r *http.Request, p *session.Principal, method string) (*secondStepPage, error) {
	kinds, err := s.TwoStep.SecondStepMethods(r.Context(), p)
	if err != nil {
		return nil, err
	}
	has := map[string]bool{}
	for _, k := range kinds {
		has[k] = true
	}
	if has[twostep.KindVoice] {
		has[twostep.KindSMS] = true // one code page for texts and calls
	}
	if method == twostep.KindVoice {
		method = twostep.KindSMS
	}
	if !has[method] || method == twostep.KindPasskey {
		method = ""
		for _, k := range []string{twostep.KindTOTP, twostep.KindSMS, twostep.KindBackup} {
			if has[k] {
				method = k
				break
			}
		}
	}
	return &secondStepPage{form: newForm(), Method: method, Kinds: has, BackupLeft: p.TwoStep.BackupLeft, TrustFor: durationWords(r, s.Session.TwoStep.TrustedBrowserFor)}, nil
}

// durationWords says a duration in days, hours or minutes for people, in
// the request's language.
func durationWords(r *http.Request, d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d >= 2*day:
		return tr(r, "common.duration.days", "Count", int(d.Round(day)/day))
	case d >= 2*time.Hour:
		return tr(r, "common.duration.hours", "Count", int(d.Round(time.Hour)/time.Hour))
	case d >= 2*time.Minute:
		return tr(r, "common.duration.minutes", "Count", int(d.Round(time.Minute)/time.Minute))
	}
	return tr(r, "common.duration.a_minute")
}

func (s *Server) pageSecondStepForm(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if p.RequireFull() == nil {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return nil
	}
	pg, err := s.newSecondStepPage(r, p, r.URL.Query().Get("method"))
	if err != nil {
		return err
	}
	if r.URL.Query().Get("sent") == "1" {
		pg.Notice = tr(r, "secondstep.sms_sent")
	}
	if r.URL.Query().Get("next") == secureNext {
		pg.Next = secureNext
	}
	s.render(w, r, http.StatusOK, "secondstep", pg)
	return nil
}

// pageSecondStepSendSMS texts a code for this sign-in.
func (s *Server) pageSecondStepSendSMS(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if p.RequireFull() == nil {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return nil
	}
	if _, err := s.TwoStep.SendSessionSMS(r.Context(), p, "", s.meta(r)); err != nil {
		pg, perr := s.newSecondStepPage(r, p, twostep.KindSMS)
		if perr != nil {
			return perr
		}
		return s.failPage(w, r, "secondstep", pg, pg.form, err, nil)
	}
	http.Redirect(w, r, "/signin/second-step?method=sms&sent=1", http.StatusSeeOther)
	return nil
}

func (s *Server) pageSecondStepSubmit(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if p.RequireFull() == nil {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return nil
	}
	if err := parseForm(r); err != nil {
		return err
	}
	pg, err := s.newSecondStepPage(r, p, r.PostForm.Get("method"))
	if err != nil {
		return err
	}
	remember := r.PostForm.Get("remember_browser") != ""
	if remember {
		pg.Values["remember_browser"] = "1"
	}
	if r.PostForm.Get("next") == secureNext {
		pg.Next = secureNext
	}
	res, err := s.TwoStep.CompleteSecondStep(r.Context(), p, secondstep.SecondStepInput{
		Method: pg.Method, Code: r.PostForm.Get("code"), RememberBrowser: remember, Device: s.deviceCookie(r),
	}, s.meta(r))
	if sellerguard.ErrorCode(err) == sellerguard.ECodeUnauthenticated {
		// Too many wrong codes (or the attempt timed out): the partial
		// session is gone; back to the password.
		s.clearSessionCookie(w)
		f := newForm()
		f.Message = sellerguard.ErrorMessage(err)
		s.render(w, r, http.StatusUnauthorized, "signin", f)
		return nil
	}
	if err != nil {
		return s.failPage(w, r, "secondstep", pg, pg.form, err, map[string]string{sellerguard.ECodeInvalidCode: "code"})
	}
	s.setSessionCookie(w, res.Token, res.Session.ExpiresAt)
	land := s.landingAfterSignIn(r, p.User.ID, pg.Next)
	if res.ReenrollAdvised && land != secureNext {
		http.Redirect(w, r, "/account/two-step?backup_used="+strconv.Itoa(res.BackupCodesLeft), http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, land, http.StatusSeeOther)
	return nil
}

// The two-step settings page.

type twoStepPage struct {
	*form
	Required     bool     // a business requires two-step and the user has none
	Requirers    []string // the businesses that require it
	BackupUsed   bool
	Enrolled     bool
	Full         bool
	Missing      []string
	Methods      []methodRow
	BackupLeft   int
	BackupTotal  int
	Browsers     []trustedBrowserRow
	TrustFor     string
	SMSWarning   string
	ReauthWindow string
}

type methodRow struct {
	ID, Kind, Label string
	CreatedAt       time.Time
	LastUsedAt      time.Time
}

type trustedBrowserRow struct {
	ID, Device, UserAgent, IP string
	CreatedAt, ExpiresAt      time.Time
}

// methodKindName names a kind of second step for people, in the request's
// language (the message "twostep.kind.<kind>").
func methodKindName(r *http.Request, kind string) string {
	switch kind {
	case twostep.KindTOTP, twostep.KindSMS, twostep.KindVoice, twostep.KindPasskey, twostep.KindBackup:
		return tr(r, "twostep.kind."+kind)
	}
	return kind
}

// loadTwoStepPage reads what the two-step page shows.
func (s *Server) loadTwoStepPage(r *http.Request, p *session.Principal) (*twoStepPage, error) {
	ov, err := s.TwoStep.ListTwoStep(r.Context(), p)
	if err != nil {
		return nil, err
	}
	browsers, err := s.TwoStep.ListTrustedBrowsers(r.Context(), p)
	if err != nil {
		return nil, err
	}
	pg := &twoStepPage{
		form: newForm(), Enrolled: ov.Protection.Enrolled, Full: ov.Protection.Full, Missing: ov.Protection.Missing,
		BackupLeft: ov.Protection.BackupLeft, BackupTotal: twostep.BackupCodeCount,
		TrustFor: durationWords(r, s.Session.TwoStep.TrustedBrowserFor), SMSWarning: tr(r, "sms.warning"),
		ReauthWindow: durationWords(r, s.Session.TwoStep.ReauthWindow),
	}
	for _, m := range ov.Methods {
		pg.Methods = append(pg.Methods, methodRow{ID: m.ID, Kind: methodKindName(r, m.Kind), Label: m.Label, CreatedAt: m.CreatedAt, LastUsedAt: m.LastUsedAt})
	}
	for _, b := range browsers {
		pg.Browsers = append(pg.Browsers, trustedBrowserRow{ID: b.ID, Device: describeUserAgentIn(langOf(r), b.UserAgent), UserAgent: b.UserAgent, IP: b.IP, CreatedAt: b.CreatedAt, ExpiresAt: b.ExpiresAt})
	}
	if !ov.Protection.Enrolled {
		for _, m := range p.Memberships {
			if m.RequireTwoStep {
				pg.Requirers = append(pg.Requirers, m.BusinessName)
			}
		}
	}
	return pg, nil
}

func (s *Server) pageTwoStep(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	pg, err := s.loadTwoStepPage(r, p)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	pg.Required = q.Get("required") == "1" && len(pg.Requirers) > 0
	// backup_used only says that a backup code was just used; the count
	// shown is the real one, not the query's.
	pg.BackupUsed = q.Has("backup_used")
	switch {
	case q.Get("added") == "totp" && pg.BackupLeft == 0:
		pg.Notice = tr(r, "twostep.notice.totp_on_backup")
	case q.Get("added") == "totp":
		pg.Notice = tr(r, "twostep.notice.totp_on")
	case q.Get("added") == "sms":
		pg.Notice = tr(r, "twostep.notice.sms_added")
	case q.Get("removed") == "1":
		pg.Notice = tr(r, "twostep.notice.removed")
	case q.Get("forgot") == "1":
		pg.Notice = tr(r, "twostep.notice.forgot")
	case q.Get("reauthed") == "1":
		pg.Notice = tr(r, "twostep.notice.reauthed", "Window", pg.ReauthWindow)
	}
	s.render(w, r, http.StatusOK, "twostep", pg)
	return nil
}

// failTwoStep shows the two-step page again with the problem of err and
// the values typed (values may be nil).
func (s *Server) failTwoStep(w http.ResponseWriter, r *http.Request, p *session.Principal, err error, values map[string]string) error {
	pg, lerr := s.loadTwoStepPage(r, p)
	if lerr != nil {
		return lerr
	}
	for k, v := range values {
		pg.Values[k] = v
	}
	return s.failPage(w, r, "twostep", pg, pg.form, err, nil)
}

// needsReauth sends the user to confirm it is them when err asks for it,
// coming back to next afterwards.
func (s *Server) needsReauth(w http.ResponseWriter, r *http.Request, err error, next string) bool {
	if sellerguard.ErrorCode(err) != sellerguard.ECodeReauthRequired {
		return false
	}
	http.Redirect(w, r, "/account/reauth?next="+url.QueryEscape(reauthNext(next)), http.StatusSeeOther)
	return true
}

// Authenticator-app enrolment.

type totpPage struct {
	*form
	MethodID string
	QR       template.URL // the QR code as a data: URL; empty on a retry
	Key      string       // the secret in groups of four
	Retry    bool
}

// groupKey writes a base32 key in groups of four for typing.
func groupKey(k string) string {
	var b strings.Builder
	for i, r := range k {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Server) pageStartTOTP(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	err := s.TwoStep.StartTOTPKept(r.Context(), p, r.PostForm.Get("label"))
	if s.needsReauth(w, r, err, "/account/two-step") {
		return nil
	}
	if err != nil {
		return s.failTwoStep(w, r, p, err, map[string]string{"label": r.PostForm.Get("label")})
	}
	// Post/redirect/get: the key is shown on the GET, so that reloading
	// shows the same key instead of starting another enrolment.
	http.Redirect(w, r, "/account/two-step/totp", http.StatusSeeOther)
	return nil
}

// pageTOTPEnrolment shows the key of the enrolment this session started,
// while it is kept and waits for its code; else a page that leads back.
func (s *Server) pageTOTPEnrolment(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	e, ok, err := s.TwoStep.KeptTOTP(r.Context(), p)
	if err != nil {
		return err
	}
	if !ok {
		s.render(w, r, http.StatusOK, "twostep_nothing", &nothingPage{Heading: tr(r, "twostep_nothing.totp_heading"), Text: tr(r, "twostep_nothing.totp_text")})
		return nil
	}
	pg := &totpPage{form: newForm(), MethodID: e.MethodID, Key: groupKey(e.Secret)}
	if strings.HasPrefix(e.QRDataURL, "data:image/png;base64,") {
		pg.QR = template.URL(e.QRDataURL) // made by the service, not from input
	}
	s.render(w, r, http.StatusOK, "twostep_totp", pg)
	return nil
}

// nothingPage is what a result page shows when there is no result to show
// (a direct visit, an expired or finished one): it leads back to the
// two-step settings.
type nothingPage struct {
	Heading, Text string
}

func (s *Server) pageConfirmTOTP(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	_, err := s.TwoStep.ConfirmTOTP(r.Context(), p, r.PathValue("id"), r.PostForm.Get("code"), s.meta(r))
	if sellerguard.ErrorCode(err) == sellerguard.ECodeInvalidCode {
		// The method exists and waits for a code (else not_found): ask
		// again. The key is not shown again: it was shown once.
		pg := &totpPage{form: newForm(), MethodID: r.PathValue("id"), Retry: true}
		return s.failPage(w, r, "twostep_totp", pg, pg.form, err, map[string]string{sellerguard.ECodeInvalidCode: "code"})
	}
	if err != nil {
		return err
	}
	s.dropKept(r, p, secondstep.ResultTOTP)
	http.Redirect(w, r, "/account/two-step?added=totp", http.StatusSeeOther)
	return nil
}

// Backup codes.

type backupCodesPage struct {
	Codes    []string
	Replaced bool // there were unused codes, which stopped working
	KeptFor  string
}

// pageBackupCodes makes new backup codes (the page asked first when unused
// ones would stop working) and sends the browser to the page that shows
// them: post/redirect/get, so that reloading that page shows the same
// codes and never makes new ones, which would kill the printed ones.
func (s *Server) pageBackupCodes(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	err := s.TwoStep.RegenerateBackupCodesKept(r.Context(), p, s.meta(r))
	if s.needsReauth(w, r, err, "/account/two-step") {
		return nil
	}
	if err != nil {
		return s.failTwoStep(w, r, p, err, nil)
	}
	http.Redirect(w, r, "/account/two-step/backup-codes", http.StatusSeeOther)
	return nil
}

// pageBackupCodesResult shows the codes this session just made, until the
// user says they saved them or they expire (secondstep.OneTimeResultTTL);
// Cache-Control: no-store keeps them out of the browser's cache. Without
// codes to show (a direct visit) it leads back to the two-step settings.
func (s *Server) pageBackupCodesResult(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	res, ok, err := s.TwoStep.KeptBackupCodes(r.Context(), p)
	if err != nil {
		return err
	}
	if !ok {
		s.render(w, r, http.StatusOK, "twostep_nothing", &nothingPage{Heading: tr(r, "twostep_nothing.backup_heading"), Text: tr(r, "twostep_nothing.backup_text")})
		return nil
	}
	s.render(w, r, http.StatusOK, "twostep_backup", &backupCodesPage{Codes: res.Codes, Replaced: res.Replaced, KeptFor: durationWords(r, secondstep.OneTimeResultTTL)})
	return nil
}

// pageBackupCodesText downloads the codes this session just made as a text
// file, while they are shown.
func (s *Server) pageBackupCodesText(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	res, ok, err := s.TwoStep.KeptBackupCodes(r.Context(), p)
	if err != nil {
		return err
	}
	if !ok {
		return sellerguard.Errorf(sellerguard.ECodeNotFound, "There are no new backup codes to download. Make new ones on the two-step page.")
	}
	var b strings.Builder
	b.WriteString(tr(r, "twostep_backup.file_heading", "Email", p.User.Email) + "\r\n\r\n")
	for _, c := range res.Codes {
		b.WriteString(c + "\r\n")
	}
	b.WriteString("\r\n" + tr(r, "twostep_backup.file_note") + "\r\n")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="sellerguard-backup-codes.txt"`)
	_, _ = io.WriteString(w, b.String()) // client went away
	return nil
}

// pageBackupCodesDone forgets the shown codes: the user saved them.
func (s *Server) pageBackupCodesDone(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := s.TwoStep.DropKeptResult(r.Context(), p, secondstep.ResultBackupCodes); err != nil {
		return err
	}
	http.Redirect(w, r, "/account/two-step", http.StatusSeeOther)
	return nil
}

// dropKept forgets a one-time result whose enrolment finished; it would
// expire soon anyway, so a failure is only logged.
func (s *Server) dropKept(r *http.Request, p *session.Principal, kind string) {
	if err := s.TwoStep.DropKeptResult(r.Context(), p, kind); err != nil {
		s.Logger.Warn("web: could not drop a one-time result", "kind", kind, "err", err)
	}
}

// Removing a method, forgetting a browser.

func (s *Server) pageRemoveMethod(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	err := s.TwoStep.RemoveMethod(r.Context(), p, r.PathValue("id"), s.meta(r))
	if s.needsReauth(w, r, err, "/account/two-step") {
		return nil
	}
	if sellerguard.ErrorCode(err) == sellerguard.ECodeConflict {
		return s.failTwoStep(w, r, p, err, nil) // the business requires a method
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/account/two-step?removed=1", http.StatusSeeOther)
	return nil
}

func (s *Server) pageForgetBrowser(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := s.TwoStep.ForgetTrustedBrowser(r.Context(), p, r.PathValue("id"), s.meta(r)); err != nil {
		return err
	}
	http.Redirect(w, r, "/account/two-step?forgot=1", http.StatusSeeOther)
	return nil
}

// Re-authentication.

// reauthNexts are the only places re-authentication returns to: a fixed
// list of paths, never a URL from the request (no open redirect).
var reauthNexts = map[string]bool{
	"/account":                   true,
	"/account/two-step":          true,
	"/account/two-step/passkeys": true,
	"/account/sessions":          true,
	"/account/phrase":            true,
	"/account/password":          true,
	"/account/email":             true,
	"/account/phone":             true,
	"/account/team":              true,
	"/account/team/review":       true,
	"/account/business":          true,
	"/account/business/checkup":  true,
	"/account/changes":           true,
	"/account/secure":            true,
}

// reauthNext returns next when it is on the list, else /account.
func reauthNext(next string) string {
	if reauthNexts[next] {
		return next
	}
	return "/account"
}

type reauthPage struct {
	*form
	HasPasskey bool // offer "use a passkey" (with the password)
	HasTOTP    bool // the code field is for an authenticator app
	HasSMS     bool // offer "text me a code"
	Sent       bool // a code was just texted
	Next       string
	Method     string
	Enrolled   bool
	BackupLeft int
	Email      string
}

// reauthKinds are the second steps the re-authentication page takes (the
// API also takes a texted code, sent with POST /api/v1/session/second-step/sms).
var reauthKinds = map[string]bool{twostep.KindTOTP: true, twostep.KindBackup: true, twostep.KindSMS: true}

func (s *Server) pageReauthForm(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	q := r.URL.Query()
	pg, err := s.newReauthPage(r, p, q.Get("next"), q.Get("method"))
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "reauth", pg)
	return nil
}

// newReauthPage is the re-authentication page for the user's second steps:
// the asked-for kind when they have it, a texted code for phone-only users.
func (s *Server) newReauthPage(r *http.Request, p *session.Principal, next, method string) (*reauthPage, error) {
	kinds, err := s.TwoStep.SecondStepMethods(r.Context(), p)
	if err != nil {
		return nil, err
	}
	if !reauthKinds[method] || method == twostep.KindBackup && p.TwoStep.BackupLeft == 0 {
		method = twostep.KindTOTP
	}
	pg := &reauthPage{form: newForm(), Next: reauthNext(next), Method: method, Enrolled: p.TwoStep.Enrolled, BackupLeft: p.TwoStep.BackupLeft, Email: p.User.Email,
		HasTOTP: slices.Contains(kinds, twostep.KindTOTP), HasPasskey: slices.Contains(kinds, twostep.KindPasskey),
		HasSMS: (slices.Contains(kinds, twostep.KindSMS) || slices.Contains(kinds, twostep.KindVoice)) && s.Session.SMS.Available}
	if pg.Method == twostep.KindSMS && !pg.HasSMS {
		pg.Method = twostep.KindTOTP
	}
	if pg.Method == twostep.KindTOTP && !pg.HasTOTP && !pg.HasPasskey && pg.HasSMS {
		pg.Method = twostep.KindSMS // their only code comes by text
	}
	return pg, nil
}

// pageReauthSendSMS texts a code for re-authenticating and shows the page
// with the field for it.
func (s *Server) pageReauthSendSMS(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	pg, err := s.newReauthPage(r, p, r.PostForm.Get("next"), twostep.KindSMS)
	if err != nil {
		return err
	}
	if _, err := s.TwoStep.SendSessionSMS(r.Context(), p, "", s.meta(r)); err != nil {
		return s.failPage(w, r, "reauth", pg, pg.form, err, nil)
	}
	pg.Sent = true
	s.render(w, r, http.StatusOK, "reauth", pg)
	return nil
}

func (s *Server) pageReauthSubmit(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	pg, err := s.newReauthPage(r, p, r.PostForm.Get("next"), r.PostForm.Get("method"))
	if err != nil {
		return err
	}
	method, code := "", ""
	if pg.Enrolled {
		method, code = pg.Method, r.PostForm.Get("code")
	}
	stepped, err := s.TwoStep.Reauthenticate(r.Context(), p, r.PostForm.Get("password"), method, code, s.meta(r))
	if err != nil {
		return s.failPage(w, r, "reauth", pg, pg.form, err, map[string]string{
			sellerguard.ECodeInvalidCredentials: "password",
			sellerguard.ECodeInvalidCode:        "code",
		})
	}
	// The old session ended: the browser carries on with its successor.
	s.setSessionCookie(w, stepped.Token, stepped.Session.ExpiresAt)
	next := pg.Next
	if next == "/account/two-step" {
		next += "?reauthed=1"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (s *Server) pageStartSMS(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	err := s.TwoStep.StartSMSKept(r.Context(), p, r.PostForm.Get("phone"), r.PostForm.Get("voice") != "", s.meta(r))
	if sellerguard.ErrorCode(err) == sellerguard.ECodeReauthRequired {
		http.Redirect(w, r, "/account/reauth?next=/account/two-step", http.StatusSeeOther)
		return nil
	}
	if err != nil {
		// Back to the two-step page with the problem.
		return s.failTwoStep(w, r, p, err, map[string]string{"phone": r.PostForm.Get("phone")})
	}
	// Post/redirect/get: reloading the code page must not text another
	// code and start another enrolment.
	http.Redirect(w, r, "/account/two-step/sms", http.StatusSeeOther)
	return nil
}

// pageSMSEnrolment asks for the code texted for the enrolment this session
// started, while it waits; else a page that leads back.
func (s *Server) pageSMSEnrolment(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	e, ok, err := s.TwoStep.KeptSMS(r.Context(), p)
	if err != nil {
		return err
	}
	if !ok {
		s.render(w, r, http.StatusOK, "twostep_nothing", &nothingPage{Heading: tr(r, "twostep_nothing.sms_heading"), Text: tr(r, "twostep_nothing.sms_text")})
		return nil
	}
	f := newForm()
	f.Values["method_id"], f.Values["sent_to"], f.Values["warning"] = e.MethodID, e.SentTo, tr(r, "sms.warning")
	s.render(w, r, http.StatusOK, "twostep_sms", f)
	return nil
}

func (s *Server) pageConfirmSMS(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	if _, err := s.TwoStep.ConfirmSMS(r.Context(), p, r.PathValue("id"), r.PostForm.Get("code"), s.meta(r)); err != nil {
		f := newForm()
		f.Values["method_id"], f.Values["sent_to"], f.Values["warning"] = r.PathValue("id"), tr(r, "twostep_sms.your_phone"), tr(r, "sms.warning")
		if e, ok, kerr := s.TwoStep.KeptSMS(r.Context(), p); kerr == nil && ok && e.MethodID == r.PathValue("id") {
			f.Values["sent_to"] = e.SentTo // the number's last digits, as on the first visit
		}
		if sellerguard.ErrorCode(err) == sellerguard.ECodeInvalidCode {
			f.Errors["code"] = sellerguard.ErrorMessage(err)
			s.render(w, r, http.StatusBadRequest, "twostep_sms", f)
			return nil
		}
		return s.failForm(w, r, "twostep_sms", f, err)
	}
	s.dropKept(r, p, secondstep.ResultSMS)
	http.Redirect(w, r, "/account/two-step?added=sms", http.StatusSeeOther)
	return nil
}
