package web

import (
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/limiter"
	"github.com/sellerguard/sellerguard/internal/mailcheck"
	"github.com/sellerguard/sellerguard/internal/phishreport"
	"github.com/sellerguard/sellerguard/internal/session"
)

// Phishing: "is this email really from us?" and the report queue (issue
// 16). The routes take whole messages, so their bodies may be larger than
// every other route's (largeBodyLimit); the message itself is capped at
// 1 MiB.

// maxMessageBody caps the body of the routes that take a whole message:
// 1 MiB of message, JSON-escaped or in a multipart form, with room for the
// escaping and the other fields.
const maxMessageBody = 2<<20 + 64<<10

// checksPerSourceHour caps email checks per client address.
const checksPerSourceHour = 60

// largeBodyLimit returns the body cap of the routes that take a whole
// message (0 for every other route: MaxBodyBytes).
func largeBodyLimit(r *http.Request) int64 {
	if r.Method != http.MethodPost {
		return 0
	}
	switch r.URL.Path {
	case "/api/v1/mail/verify", "/api/v1/phishing-reports", "/mail/check", "/report-phishing":
		return maxMessageBody
	}
	return 0
}

func (s *Server) registerPhishing(mux *recordingMux) {
	mux.Handle("POST /api/v1/mail/verify", s.api(s.apiVerifyMail))
	mux.Handle("POST /api/v1/phishing-reports", s.api(s.apiReportPhishing))
	mux.Handle("GET /api/v1/phishing-reports", s.apiAuthed(s.apiListPhishingReports))
	mux.Handle("GET /mail/check", s.pageOptional(s.pageMailCheckForm))
	mux.Handle("POST /mail/check", s.pageOptional(s.pageMailCheckSubmit))
	mux.Handle("GET /report-phishing", s.pageOptional(s.pageReportForm))
	mux.Handle("POST /report-phishing", s.pageOptional(s.pageReportSubmit))
	mux.Handle("GET /security/phishing", s.pageOptional(s.pagePhishingGuide))
}

// optionalPrincipal returns the signed-in caller, or nil for anyone else.
// A bearer token that is not valid is refused (the client meant to sign
// in); a stale session cookie, a partial sign-in or a pending password
// change count as not signed in.
func (s *Server) optionalPrincipal(r *http.Request) (*session.Principal, error) {
	// With the session cookie, the body must be one no cross-site form can
	// send (415 otherwise), as on every cookie-authenticated API call.
	if err := s.requireBodyTypeWithCookie(r, "message/rfc822"); err != nil {
		return nil, err
	}
	p, err := s.authenticate(r)
	if err != nil {
		if r.Header.Get("Authorization") != "" && sellerguard.ErrorCode(err) == sellerguard.ECodeUnauthenticated {
			return nil, err
		}
		if sellerguard.ErrorCode(err) == sellerguard.ECodeUnauthenticated {
			return nil, nil
		}
		return nil, err
	}
	if p.RequireFull() != nil || p.RequireNoPendingPasswordChange() != nil {
		return nil, nil
	}
	return p, nil
}

// pageOptional adapts a page anyone may see; a signed-in user sees it with
// their navigation (and their own details where the page has any).
func (s *Server) pageOptional(h func(http.ResponseWriter, *http.Request, *session.Principal) error) http.Handler {
	return s.page(func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.authenticate(r)
		if err != nil || p.RequireFull() != nil || p.RequireNoPendingPasswordChange() != nil {
			p = nil
		}
		if p != nil {
			r = r.WithContext(withPrincipal(r.Context(), p))
		}
		return h(w, r, p)
	})
}

var (
	errMessageMedia    = sellerguard.Errorf(sellerguard.ECodeUnsupportedMedia, "Send the email as message/rfc822, or as JSON.")
	errMessageTooLarge = &sellerguard.Error{Code: sellerguard.ECodeTooLarge, Message: "The email is larger than 1 MiB."}
)

// messageRequest is the JSON form of the message routes.
type messageRequest struct {
	Raw  *string `json:"raw" text:"bytes"` // analysed and stored as bytes: a NUL may be in it
	URL  *string `json:"url"`
	Note *string `json:"note"`
}

// readMessageRequest reads a raw message (message/rfc822) or the JSON
// form; link reports only where allowLink.
func readMessageRequest(r *http.Request, allowLink bool) (messageRequest, []byte, error) {
	var req messageRequest
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil && mt == "message/rfc822" {
		raw, err := readBody(r)
		if err != nil {
			return req, nil, err
		}
		if len(raw) > mailcheck.MaxBytes {
			return req, nil, errMessageTooLarge
		}
		return req, raw, nil
	}
	if r.Header.Get("Content-Type") == "" {
		return req, nil, errMessageMedia
	}
	if err := decodeJSON(r, &req); err != nil {
		if sellerguard.ErrorCode(err) == sellerguard.ECodeUnsupportedMedia {
			return req, nil, errMessageMedia
		}
		return req, nil, err
	}
	if !allowLink && (req.URL != nil || req.Note != nil) {
		var fields []sellerguard.FieldError
		if req.URL != nil {
			fields = append(fields, sellerguard.FieldError{Field: "url", Code: "unknown_field", Message: "This operation does not take this field."})
		}
		if req.Note != nil {
			fields = append(fields, sellerguard.FieldError{Field: "note", Code: "unknown_field", Message: "This operation does not take this field."})
		}
		return req, nil, &sellerguard.Error{Code: sellerguard.ECodeMalformedJSON, Message: "The request has fields this operation does not take.", Fields: fields}
	}
	var raw []byte
	if req.Raw != nil {
		if len(*req.Raw) > mailcheck.MaxBytes {
			return req, nil, errMessageTooLarge
		}
		raw = []byte(*req.Raw)
	}
	return req, raw, nil
}

// checkMail runs the check for a request: per-source limit, the caller's
// phrase, the checker.
func (s *Server) checkMail(r *http.Request, p *session.Principal, raw []byte) (*mailcheck.Result, error) {
	ip := s.clientIP(r)
	now := s.Session.Now()
	retry, err := s.Session.Limiter.Hit(r.Context(), s.DB, limiter.SourceKey("mailcheck", ip), ip, now, checksPerSourceHour, time.Hour)
	if err != nil {
		return nil, err
	}
	if !retry.IsZero() {
		return nil, &sellerguard.Error{Code: sellerguard.ECodeRateLimited, Message: "Too many emails checked from your network address. Please try again later.", RetryAfter: retry.Sub(now)}
	}
	var caller *mailcheck.Caller
	if p != nil {
		phrase, err := s.Account.PhishingPhrase(r.Context(), p)
		if err != nil {
			return nil, err
		}
		caller = &mailcheck.Caller{UserID: p.User.ID, Email: p.User.Email, Phrase: phrase}
	}
	res, err := s.Options.MailCheck.Check(r.Context(), raw, caller)
	if err != nil || res == nil {
		return res, err
	}
	// The reasons in the caller's language (err.mailcheck.*); codes unchanged.
	lang := langOf(r)
	for i := range res.Reasons {
		res.Reasons[i].Message = i18n.Default().Message(lang, res.Reasons[i].Message)
	}
	return res, nil
}

func (s *Server) apiVerifyMail(w http.ResponseWriter, r *http.Request) error {
	p, err := s.optionalPrincipal(r)
	if err != nil {
		return err
	}
	_, raw, err := readMessageRequest(r, false)
	if err != nil {
		return err
	}
	res, err := s.checkMail(r, p, raw)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// submission builds a report submission for the request's caller.
func (s *Server) submission(r *http.Request, p *session.Principal, source string) phishreport.Submission {
	sub := phishreport.Submission{Source: source, IP: s.clientIP(r), UserAgent: session.TruncateUA(r.UserAgent())}
	if p != nil {
		sub.ReporterUserID, sub.ReporterEmail = p.User.ID, p.User.Email
	}
	return sub
}

// apiReportPhishing takes a report. A signed-in caller may send an
// Idempotency-Key (their own key space); an anonymous caller has none.
func (s *Server) apiReportPhishing(w http.ResponseWriter, r *http.Request) error {
	p, err := s.optionalPrincipal(r)
	if err != nil {
		return err
	}
	if p != nil {
		return s.idempotent(s.reportPhishing)(w, r, p)
	}
	return s.reportPhishing(w, r, nil)
}

func (s *Server) reportPhishing(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	req, raw, err := readMessageRequest(r, true)
	if err != nil {
		return err
	}
	sub := s.submission(r, p, phishreport.SourceAPI)
	sub.Raw = raw
	if req.URL != nil {
		sub.URL = *req.URL
	}
	if req.Note != nil {
		sub.Note = *req.Note
	}
	rep, err := s.Options.PhishReports.Submit(r.Context(), sub)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, rep)
}

func (s *Server) apiListPhishingReports(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	q := r.URL.Query()
	limit := 20
	var fields []sellerguard.FieldError
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			fields = append(fields, sellerguard.FieldError{Field: "limit", Code: "out_of_range", Message: "Give a limit from 1 to 100."})
		}
		limit = n
	}
	var before *phishreport.Report
	if c := q.Get("cursor"); c != "" {
		b, ok := decodeReportCursor(c)
		if !ok {
			fields = append(fields, sellerguard.FieldError{Field: "cursor", Code: "invalid_cursor", Message: "This cursor is not one this list gave."})
		}
		before = b
	}
	if len(fields) > 0 {
		return sellerguard.Invalid(fields...)
	}
	list, err := s.Options.PhishReports.List(r.Context(), p.User.ID, before, limit+1)
	if err != nil {
		return err
	}
	out := map[string]any{"reports": list, "next_cursor": nil}
	if len(list) > limit {
		out["reports"] = list[:limit]
		last := list[limit-1]
		out["next_cursor"] = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(last.ReceivedAt.UnixMicro(), 10) + ":" + last.ID))
	}
	return writeJSON(w, http.StatusOK, out)
}

func decodeReportCursor(c string) (*phishreport.Report, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) > 128 {
		return nil, false
	}
	at, id, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || n <= 0 || !strings.HasPrefix(id, "phr_") || !utf8.ValidString(id) {
		return nil, false
	}
	return &phishreport.Report{ID: id, ReceivedAt: time.UnixMicro(n)}, true
}

// Pages.

type mailCheckPage struct {
	*form
	Result   *mailcheck.Result
	Headline string
	Tone     string // ok, danger, unsure
	SignedIn bool
}

func (s *Server) pageMailCheckForm(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	s.render(w, r, http.StatusOK, "mailcheck", &mailCheckPage{form: newForm(), SignedIn: p != nil})
	return nil
}

// readMessageForm reads the page forms: a pasted message (raw) or an
// uploaded file (file), and the given text fields.
func readMessageForm(r *http.Request, fields ...string) ([]byte, map[string]string, error) {
	values := map[string]string{}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var raw []byte
	if mt == "multipart/form-data" {
		if err := r.ParseMultipartForm(maxMessageBody + 1<<20); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, nil, errTooLarge
			}
			return nil, nil, sellerguard.Errorf(sellerguard.ECodeInvalidInput, "The form could not be read. Please try again.")
		}
		defer func() { _ = r.MultipartForm.RemoveAll() }() // temporary files
		if err := checkValues(r.MultipartForm.Value, "raw"); err != nil {
			return nil, nil, err
		}
		if fh := r.MultipartForm.File["file"]; len(fh) > 0 && fh[0].Size > 0 {
			if fh[0].Size > mailcheck.MaxBytes {
				return nil, nil, errMessageTooLarge
			}
			f, err := fh[0].Open()
			if err != nil {
				return nil, nil, sellerguard.Errorf(sellerguard.ECodeInvalidInput, "The file could not be read. Please try again.")
			}
			defer func() { _ = f.Close() }()
			raw = make([]byte, fh[0].Size)
			if _, err := io.ReadFull(f, raw); err != nil {
				return nil, nil, sellerguard.Errorf(sellerguard.ECodeInvalidInput, "The file could not be read. Please try again.")
			}
		}
	} else if err := parseFormWithBytes(r, "raw"); err != nil {
		return nil, nil, err
	}
	if raw == nil {
		if v := r.PostFormValue("raw"); v != "" {
			if len(v) > mailcheck.MaxBytes {
				return nil, nil, errMessageTooLarge
			}
			raw = []byte(v)
		}
	}
	for _, f := range fields {
		values[f] = r.PostFormValue(f)
	}
	return raw, values, nil
}

func (s *Server) pageMailCheckSubmit(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	page := &mailCheckPage{form: newForm(), SignedIn: p != nil}
	raw, _, err := readMessageForm(r)
	if err == nil {
		page.Result, err = s.checkMail(r, p, raw)
	}
	if err != nil {
		return s.failMessagePage(w, r, "mailcheck", page.form, page, err)
	}
	switch page.Result.Verdict {
	case mailcheck.Genuine:
		page.Headline, page.Tone = tr(r, "mailcheck.verdict.genuine"), "ok"
	case mailcheck.Altered:
		page.Headline, page.Tone = tr(r, "mailcheck.verdict.altered"), "danger"
	case mailcheck.NotFromUs:
		page.Headline, page.Tone = tr(r, "mailcheck.verdict.not_from_us"), "danger"
	default:
		page.Headline, page.Tone = tr(r, "mailcheck.verdict.unknown"), "unsure"
	}
	s.render(w, r, http.StatusOK, "mailcheck", page)
	return nil
}

type reportPage struct {
	*form
	Report        *phishreport.Report
	ReportAddress string
	SignedIn      bool
}

func (s *Server) pageReportForm(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	s.render(w, r, http.StatusOK, "report", &reportPage{form: newForm(), ReportAddress: s.Options.ReportAddress, SignedIn: p != nil})
	return nil
}

func (s *Server) pageReportSubmit(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	page := &reportPage{form: newForm(), ReportAddress: s.Options.ReportAddress, SignedIn: p != nil}
	raw, values, err := readMessageForm(r, "url", "note")
	if err == nil {
		page.Values = values
		sub := s.submission(r, p, phishreport.SourceWeb)
		sub.Raw, sub.URL, sub.Note = raw, values["url"], values["note"]
		page.Report, err = s.Options.PhishReports.Submit(r.Context(), sub)
	}
	if err != nil {
		return s.failMessagePage(w, r, "report", page.form, page, err)
	}
	page.Values = map[string]string{}
	s.render(w, r, http.StatusCreated, "report", page)
	return nil
}

// failMessagePage shows a message page again with the problems of err;
// an email over the size limit is said in words.
func (s *Server) failMessagePage(w http.ResponseWriter, r *http.Request, name string, f *form, page any, err error) error {
	if sellerguard.ErrorCode(err) == sellerguard.ECodeTooLarge {
		f.Message = sellerguard.ErrorMessage(err)
		s.renderRefusal(w, r, name, page, err)
		return nil
	}
	return s.failPage(w, r, name, page, f, err, nil)
}

type phishingGuidePage struct {
	SignedIn      bool
	Phrase        string
	ReportAddress string
}

func (s *Server) pagePhishingGuide(w http.ResponseWriter, r *http.Request, p *session.Principal) error {
	page := &phishingGuidePage{SignedIn: p != nil, ReportAddress: s.Options.ReportAddress}
	if p != nil {
		phrase, err := s.Account.PhishingPhrase(r.Context(), p)
		if err != nil {
			return err
		}
		page.Phrase = phrase
	}
	s.render(w, r, http.StatusOK, "phishing", page)
	return nil
}
