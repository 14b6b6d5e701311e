package web

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/account"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

type signupRequest struct {
	Email              string `json:"email"`
	Password           string `json:"password"`
	BusinessName       string `json:"business_name"`
	Phone              string `json:"phone"`
	AntiPhishingPhrase string `json:"anti_phishing_phrase"`
	Joining            bool   `json:"joining"`
}

// signupAccepted is the one answer to every valid sign-up.
var signupAccepted = map[string]string{
	"status":  "pending_verification",
	"message": "If this address can be used, a six-digit code is on its way to it. Enter it to finish signing up.",
}

func (s *Server) apiSignup(w http.ResponseWriter, r *http.Request) error {
	var req signupRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	err := s.Account.Signup(r.Context(), account.SignupInput{Email: req.Email, Password: req.Password, BusinessName: req.BusinessName, Phone: req.Phone, AntiPhishingPhrase: req.AntiPhishingPhrase, Joining: req.Joining}, s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, answerIn(r, signupAccepted))
}

type verifyRequest struct {
	Email string `json:"email"`
	Code  string `json:"code"`
}

func (s *Server) apiSignupVerify(w http.ResponseWriter, r *http.Request) error {
	var req verifyRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	uid, bid, err := s.Account.VerifySignup(r.Context(), req.Email, req.Code, s.meta(r))
	if err != nil {
		return err
	}
	var business *string // null for a person who signed up to join a business
	if bid != "" {
		business = &bid
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"user_id": uid, "business_id": business})
}

type signInRequest struct {
	Email      string `json:"email"`
	Password   string `json:"password"`
	UnlockCode string `json:"unlock_code"`
}

type sessionJSON struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	AuthLevel  string    `json:"auth_level"`
	Current    bool      `json:"current"`
}

func toSessionJSON(ss sellerguard.Session, currentID string) sessionJSON {
	return sessionJSON{ID: ss.ID, CreatedAt: ss.CreatedAt.UTC(), LastSeenAt: ss.LastSeenAt.UTC(), ExpiresAt: ss.ExpiresAt.UTC(),
		IP: ss.IP, UserAgent: ss.UserAgent, AuthLevel: ss.AuthLevel, Current: ss.ID == currentID}
}

func (s *Server) apiSignIn(w http.ResponseWriter, r *http.Request) error {
	var req signInRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	res, err := s.Session.SignIn(r.Context(), session.SignInInput{Email: req.Email, Password: req.Password, UnlockCode: req.UnlockCode, Device: s.deviceCookie(r)}, s.meta(r))
	if err != nil {
		return err
	}
	s.setDeviceCookie(w, res.NewDevice)
	out := map[string]any{"token": res.Token, "session": toSessionJSON(res.Session, res.Session.ID)}
	if res.Session.AuthLevel == sellerguard.AuthPartial {
		out["second_step_required"] = true
		out["methods"] = res.SecondStepMethods
	}
	if res.MustChangePassword != "" {
		out["password_change_required"] = res.MustChangePassword
	}
	if res.AddBackupMethod {
		out["add_backup_method"] = true
	}
	return writeJSON(w, http.StatusCreated, out)
}

type unlockRequest struct {
	Email string `json:"email"`
}

// unlockRequested is the one answer to every valid unlock request.
var unlockRequested = map[string]string{
	"status":  "unlock_code_requested",
	"message": "If this address has an account, an unlock code is on its way to it. Enter it with your password when you sign in.",
}

func (s *Server) apiRequestUnlock(w http.ResponseWriter, r *http.Request) error {
	var req unlockRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.Session.RequestUnlock(r.Context(), req.Email, s.meta(r)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, answerIn(r, unlockRequested))
}

type membershipJSON struct {
	BusinessID      string `json:"business_id"`
	BusinessName    string `json:"business_name"`
	Role            string `json:"role"`
	TwoStepRequired bool   `json:"two_step_required"`
}

func requiredByAny(p *session.Principal) bool {
	for _, m := range p.Memberships {
		if m.RequireTwoStep {
			return true
		}
	}
	return false
}

// currentSessionJSON is the answer of the session check: a typed struct,
// because this is the hottest route of all.
type currentSessionJSON struct {
	User struct {
		ID                string    `json:"id"`
		Email             string    `json:"email"`
		PasswordChangedAt time.Time `json:"password_changed_at"`
	} `json:"user"`
	TwoStep struct {
		Enrolled           bool     `json:"enrolled"`
		FullyProtected     bool     `json:"fully_protected"`
		Missing            []string `json:"missing"`
		BackupCodesLeft    int      `json:"backup_codes_left"`
		RequiredByBusiness bool     `json:"required_by_business"`
	} `json:"two_step"`
	FailedSignins struct {
		Count  int        `json:"count"`
		LastAt *time.Time `json:"last_at,omitempty"`
		LastIP string     `json:"last_ip,omitempty"`
	} `json:"failed_signins"`
	Password struct {
		ChangedAt  time.Time `json:"changed_at"`
		MustChange string    `json:"must_change"`
	} `json:"password"`
	Memberships []membershipJSON `json:"memberships"`
	Session     sessionJSON      `json:"session"`
}

func (s *Server) apiCurrentSession(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var out currentSessionJSON
	out.User.ID, out.User.Email, out.User.PasswordChangedAt = p.User.ID, p.User.Email, p.User.PasswordChangedAt
	out.TwoStep.Enrolled, out.TwoStep.FullyProtected, out.TwoStep.Missing = p.TwoStep.Enrolled, p.TwoStep.Full, p.TwoStep.Missing
	if out.TwoStep.Missing == nil {
		out.TwoStep.Missing = []string{}
	}
	out.TwoStep.BackupCodesLeft, out.TwoStep.RequiredByBusiness = p.TwoStep.BackupLeft, requiredByAny(p)
	failed, err := s.Session.RecentFailedSignIns(r.Context(), p)
	if err != nil {
		return err
	}
	if out.FailedSignins.Count = failed.Count; failed.Count > 0 {
		at := failed.LastAt.UTC()
		out.FailedSignins.LastAt, out.FailedSignins.LastIP = &at, failed.LastIP
	}
	out.Password.ChangedAt, out.Password.MustChange = p.User.PasswordChangedAt, p.MustChangePassword
	var ms [8]membershipJSON // on the stack for up to 8 businesses
	out.Memberships = ms[:0]
	for _, m := range p.Memberships {
		out.Memberships = append(out.Memberships, membershipJSON{BusinessID: m.BusinessID, BusinessName: m.BusinessName, Role: m.Role, TwoStepRequired: m.RequireTwoStep})
	}
	out.Session = toSessionJSON(p.Session, p.Session.ID)
	// Written by hand (sessionjson.go): the same bytes as writeJSON.
	bp := jsonBufPool.Get().(*[]byte)
	b := out.appendJSON((*bp)[:0])
	w.Header()["Content-Type"] = hdrApplicationJSON
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b)
	if cap(b) <= 64<<10 { // keep the pool's buffers small
		*bp = b
		jsonBufPool.Put(bp)
	}
	return err
}

func (s *Server) apiSignOut(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	if err := s.Session.SignOut(r.Context(), p, s.meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiListSessions(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	list, err := s.Session.ListSessions(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]sessionJSON, 0, len(list))
	for _, ss := range list {
		out = append(out, toSessionJSON(ss, p.Session.ID))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

func (s *Server) apiRevokeSession(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	id := r.PathValue("id")
	if len(id) > 64 {
		return sellerguard.Errorf(sellerguard.ECodeNotFound, "There is no such session.")
	}
	if err := s.Session.RevokeSession(r.Context(), p, id, s.meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiRevokeOthers(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	n, err := s.Session.RevokeOtherSessions(r.Context(), p, s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"revoked": n})
}

type auditEventJSON struct {
	ID         string          `json:"id"`
	BusinessID string          `json:"business_id,omitempty"`
	Actor      map[string]any  `json:"actor"`
	Action     string          `json:"action"`
	Category   string          `json:"category"`
	Target     map[string]any  `json:"target"`
	IP         string          `json:"ip"`
	UserAgent  string          `json:"user_agent"`
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
	CreatedAt  time.Time       `json:"created_at"`
	Chain      string          `json:"chain"`
	Seq        int64           `json:"seq"`
	Hash       string          `json:"hash"`
}

func toAuditJSON(e store.AuditRecord) auditEventJSON {
	return auditEventJSON{
		ID: e.ID, BusinessID: e.BusinessID,
		Actor:  map[string]any{"id": e.ActorID, "email": e.ActorEmail},
		Action: e.Action, Category: e.Category,
		Target: map[string]any{"type": e.TargetType, "id": e.TargetID},
		IP:     e.IP, UserAgent: e.UserAgent,
		Before: json.RawMessage(e.Before), After: json.RawMessage(e.After),
		CreatedAt: e.CreatedAt.UTC(), Chain: e.Chain, Seq: e.Seq, Hash: e.Hash,
	}
}

const maxAuditLimit = 200

// parseAuditQuery reads the audit filters shared by the API, the page and
// the CSV export.
func parseAuditQuery(r *http.Request) (account.AuditQuery, error) {
	v := r.URL.Query()
	var q account.AuditQuery
	var fields []sellerguard.FieldError
	q.BusinessID = v.Get("business_id")
	q.Category = v.Get("category")
	if q.Category != "" && !validCategory(q.Category) {
		fields = append(fields, sellerguard.FieldError{Field: "category", Code: "invalid_category", Message: "Use one of: account, session, business, support."})
	}
	q.ActorID = v.Get("actor")
	if len(q.ActorID) > 64 {
		fields = append(fields, sellerguard.FieldError{Field: "actor", Code: "too_long", Message: "Ids are at most 64 characters."})
	}
	if len(q.BusinessID) > 64 {
		fields = append(fields, sellerguard.FieldError{Field: "business_id", Code: "too_long", Message: "Ids are at most 64 characters."})
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if raw := v.Get(f.name); raw != "" {
			t, err := parseTimeParam(raw)
			if err != nil {
				fields = append(fields, sellerguard.FieldError{Field: f.name, Code: "invalid_time", Message: "Use a date (2026-01-31) or an RFC 3339 time (2026-01-31T12:00:00Z)."})
			}
			*f.dst = t
		}
	}
	q.Limit = 50
	if raw := v.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxAuditLimit {
			fields = append(fields, sellerguard.FieldError{Field: "limit", Code: "out_of_range", Message: "Use a limit from 1 to 200."})
		}
		q.Limit = n
	}
	if raw := v.Get("cursor"); raw != "" {
		t, id, ok := decodeCursor(raw)
		if !ok {
			fields = append(fields, sellerguard.FieldError{Field: "cursor", Code: "invalid_cursor", Message: "The cursor is not valid; start from the first page."})
		}
		q.BeforeTime, q.BeforeID = t, id
	}
	if len(fields) > 0 {
		return q, sellerguard.Invalid(fields...)
	}
	return q, nil
}

func validCategory(c string) bool {
	switch c {
	case sellerguard.CategoryAccount, sellerguard.CategorySession, sellerguard.CategoryBusiness, sellerguard.CategorySupport:
		return true
	}
	return false
}

func parseTimeParam(raw string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, raw); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse("2006-01-02", raw)
	return t.UTC(), err
}

func encodeCursor(e store.AuditRecord) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(e.CreatedAt.UnixMicro(), 10) + "|" + e.ID))
}

func decodeCursor(c string) (time.Time, string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", false
	}
	ts, id, ok := strings.Cut(string(b), "|")
	n, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || n <= 0 || id == "" || len(id) > 64 {
		return time.Time{}, "", false
	}
	return time.UnixMicro(n).UTC(), id, true
}

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	q, err := parseAuditQuery(r)
	if err != nil {
		return err
	}
	events, err := s.Account.ListAudit(r.Context(), p, q)
	if err != nil {
		return err
	}
	out := make([]auditEventJSON, 0, len(events))
	for _, e := range events {
		out = append(out, toAuditJSON(e))
	}
	resp := map[string]any{"events": out, "next_cursor": nil}
	if len(events) == q.Limit {
		resp["next_cursor"] = encodeCursor(events[len(events)-1])
	}
	return writeJSON(w, http.StatusOK, resp)
}

type outboxMessageJSON struct {
	To        string    `json:"to"`
	Channel   string    `json:"channel"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *Server) apiDevOutbox(w http.ResponseWriter, r *http.Request) error {
	if err := s.devOutboxAllowed(r); err != nil {
		return err
	}
	msgs, err := s.DB.ListOutbox(r.Context(), 1000)
	if err != nil {
		return err
	}
	out := make([]outboxMessageJSON, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, outboxMessageJSON{To: m.To, Channel: m.Channel, Subject: m.Subject, Body: m.Body, CreatedAt: m.CreatedAt.UTC()})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"messages": out})
}

type phraseRequest struct {
	Phrase string `json:"phrase"`
}

func (s *Server) apiGetPhrase(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	phrase, err := s.Account.PhishingPhrase(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"phrase": phrase, "set": phrase != ""})
}

func (s *Server) apiSetPhrase(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	var req phraseRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.Account.SetPhishingPhrase(r.Context(), p, req.Phrase, s.meta(r)); err != nil {
		return err
	}
	return s.apiGetPhrase(w, r, p)
}
