package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

var (
	errNotFound         = sellerguard.Errorf(sellerguard.ECodeNotFound, "There is nothing here.")
	errMethodNotAllowed = sellerguard.Errorf(sellerguard.ECodeMethodNotAllowed, "This address does not take that method.")
	errTooLarge         = sellerguard.Errorf(sellerguard.ECodeTooLarge, "The request body is too large.")
	errInternal         = sellerguard.Errorf(sellerguard.ECodeInternal, "Something went wrong on our side. Please try again.")
	errCrossOrigin      = sellerguard.Errorf(sellerguard.ECodeForbidden, "This request came from another site and was refused.")
)

// statusOf maps an error code to its HTTP status: the one place this happens.
func statusOf(code string) int {
	switch code {
	case sellerguard.ECodeInvalidInput, sellerguard.ECodeMalformedJSON, sellerguard.ECodeInvalidCode, sellerguard.ECodePasswordPolicy:
		return http.StatusBadRequest
	case sellerguard.ECodeInvalidCredentials, sellerguard.ECodeUnauthenticated:
		return http.StatusUnauthorized
	case sellerguard.ECodeForbidden, sellerguard.ECodeReauthRequired, sellerguard.ECodeSecondStepRequired, sellerguard.ECodeEnrollmentRequired, sellerguard.ECodePasswordChangeRequired,
		sellerguard.ECodeBackupMethodRequired:
		return http.StatusForbidden
	case sellerguard.ECodeNotFound:
		return http.StatusNotFound
	case sellerguard.ECodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case sellerguard.ECodeConflict, sellerguard.ECodeChangeSuperseded:
		return http.StatusConflict
	case sellerguard.ECodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case sellerguard.ECodeUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case sellerguard.ECodeRateLimited:
		return http.StatusTooManyRequests
	case sellerguard.ECodeBusy:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// problem is an RFC 9457 problem document.
type problem struct {
	Type   string                   `json:"type"`
	Title  string                   `json:"title"`
	Status int                      `json:"status"`
	Detail string                   `json:"detail"`
	Code   string                   `json:"code"`
	Errors []sellerguard.FieldError `json:"errors,omitempty"`
}

// classify turns any error into a user-facing *Error, logging causes that
// users must not see.
func (s *Server) classify(r *http.Request, err error) *sellerguard.Error {
	var e *sellerguard.Error
	if errors.As(err, &e) {
		if e.Err != nil {
			s.Logger.Warn("request failed", "path", r.URL.Path, "code", e.Code, "err", e.Err)
		}
		return e
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooLarge
	}
	if store.IsBadText(err) {
		s.Logger.Warn("request failed", "path", r.URL.Path, "code", sellerguard.ECodeInvalidInput, "err", err)
		return errBadText
	}
	if r.Context().Err() != nil {
		// The client went away; nothing useful to say.
		return &sellerguard.Error{Code: sellerguard.ECodeBusy, Message: "The request was cancelled."}
	}
	s.Logger.Error("internal error", "path", r.URL.Path, "err", err)
	return errInternal
}

func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	e := s.classify(r, err)
	status := statusOf(e.Code)
	lang := langOf(r)
	p := problem{
		Type:   "urn:sellerguard:problem:" + e.Code,
		Title:  statusTitle(lang, status),
		Status: status,
		Detail: i18n.Default().Message(lang, e.Message),
		Code:   e.Code,
		Errors: localFields(lang, e.Fields),
	}
	w.Header().Set("Content-Language", string(lang))
	w.Header().Add("Vary", "Accept-Language")
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+999_999_999)/1_000_000_000)))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p) // client went away
}

// writeError answers in the form the client expects: a problem document for
// the API, an error page otherwise.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if strings.HasPrefix(r.URL.Path, "/api/") || !acceptsHTML(r) {
		s.writeProblem(w, r, err)
		return
	}
	r = s.withViewer(r)
	e := s.classify(r, err)
	status := statusOf(e.Code)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+999_999_999)/1_000_000_000)))
		r = r.WithContext(context.WithValue(r.Context(), retryAfterKey{}, e.RetryAfter))
	}
	lang := langOf(r)
	s.render(w, r, status, "error", &errorPage{Status: status, Title: statusTitle(lang, status), Message: i18n.Default().Message(lang, e.Message)})
}

// retryAfterKey carries, to the page, how long a refused user must wait
// (the limiter's retry-after), for the page to say it in words.
type retryAfterKey struct{}

// waitWords says how long to wait in the request's language, rounded up:
// "a minute", "15 minutes", "2 hours", "3 days".
func waitWords(r *http.Request, d time.Duration) string {
	const day = 24 * time.Hour
	ceil := func(unit time.Duration) int { return int((d + unit - 1) / unit) }
	switch {
	case d <= time.Minute:
		return tr(r, "common.duration.a_minute")
	case d < 2*time.Hour:
		return tr(r, "common.duration.minutes", "Count", ceil(time.Minute))
	case d < 2*day:
		return tr(r, "common.duration.hours", "Count", ceil(time.Hour))
	}
	return tr(r, "common.duration.days", "Count", ceil(day))
}

// withViewer makes a page show the header of who is really signed in,
// also when the handler failed before it looked at the session (an unknown
// address, a refused method, a body too large): the session cookie is
// checked here. A sign-in that still owes its second step is not signed
// in, and agent pages have their own header.
func (s *Server) withViewer(r *http.Request) *http.Request {
	if strings.HasPrefix(r.URL.Path, "/agent") {
		return r
	}
	if p, ok := r.Context().Value(principalKey{}).(*session.Principal); ok {
		if p != nil && p.RequireFull() != nil {
			return r.WithContext(withPrincipal(r.Context(), nil))
		}
		return r
	}
	if _, err := r.Cookie(s.cookieName()); err != nil {
		return r
	}
	p, err := s.authenticate(r)
	if err != nil || p.RequireFull() != nil {
		return r
	}
	return r.WithContext(withPrincipal(r.Context(), p))
}

// statusTitle is the status text of a problem or error page in the
// reader's language.
func statusTitle(lang i18n.Lang, status int) string {
	key := "status." + strconv.Itoa(status)
	if i18n.Default().Has(lang, key) {
		return i18n.Default().T(lang, key)
	}
	return http.StatusText(status)
}

// localFields translates field messages; the codes stay as they are.
func localFields(lang i18n.Lang, fields []sellerguard.FieldError) []sellerguard.FieldError {
	if lang == i18n.English || len(fields) == 0 {
		return fields
	}
	out := make([]sellerguard.FieldError, len(fields))
	for i, f := range fields {
		f.Message = i18n.Default().Message(lang, f.Message)
		out[i] = f
	}
	return out
}

func acceptsHTML(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return a == "" || strings.Contains(a, "text/html") || strings.Contains(a, "*/*")
}
