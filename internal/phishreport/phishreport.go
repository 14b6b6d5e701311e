// Package phishreport is the one queue of suspected phishing that sellers
// report: from the page /report-phishing, from POST /api/v1/phishing-reports
// and from the SMTP intake listener for the report address (smtp.go).
//
// Every report gets an opaque id ("phr_…"), an analysis
// (internal/phishing: sender authentication, look-alike domains, deceptive
// links, what it asks for, dangerous attachments), and is stored with its
// verdict and reasons. A reporter who has a SellerGuard account gets a
// short thank-you by email, with the verdict when it is clear (phishing),
// queued in the same transaction as the report. Nobody else is written to:
// the SMTP envelope sender can be forged, and a thank-you to any address
// would make the intake a reflector of mail to strangers.
//
// What is kept: the raw message (at most 1 MiB) for RawRetention (30 days
// by default) for whoever handles the queue, then it is erased and only
// its SHA-256, size and analysis stay. The reporter's address and network
// address are kept with the report.
//
// Limits: every way in counts against one per-source window
// (PerSourceLimit reports per Window per IPv4 address or IPv6 /64), and
// thank-you emails are capped per reporter (ThanksPerHour), so neither the
// queue nor anyone's mailbox can be flooded. The analysis has its own
// bounds (size, MIME parts and depth, header fields, time).
package phishreport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/limiter"
	"github.com/sellerguard/sellerguard/internal/outbox"
	"github.com/sellerguard/sellerguard/internal/phishing"
	sgsession "github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
)

// Sources of reports.
const (
	SourceWeb  = "web"
	SourceAPI  = "api"
	SourceSMTP = "smtp"
)

// Kinds of reports.
const (
	KindMessage = "message"
	KindLink    = "link"
)

// Bounds of a report.
const (
	MaxRawBytes  = 1 << 20
	MaxURLBytes  = 2048
	MaxNoteChars = 2000
)

// Defaults of the limits.
const (
	DefaultPerSourceLimit = 20
	DefaultWindow         = time.Hour
	DefaultThanksPerHour  = 5
	DefaultRawRetention   = 30 * 24 * time.Hour
)

// Service takes reports in and lists them.
type Service struct {
	DB       *store.DB
	Limiter  *limiter.Limiter
	Analysis phishing.Config
	Now      func() time.Time
	BaseURL  string
	Logger   *slog.Logger

	PerSourceLimit int
	Window         time.Duration
	ThanksPerHour  int
	RawRetention   time.Duration
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Submission is one report as it comes in: a raw message, or a link with
// a note.
type Submission struct {
	Source string
	Raw    []byte
	URL    string
	Note   string
	// ReporterUserID and ReporterEmail: the signed-in reporter, or (SMTP)
	// the envelope sender with no user id.
	ReporterUserID string
	ReporterEmail  string
	IP             string
	UserAgent      string
}

// Report is a stored report as the API shows it.
type Report struct {
	ID         string            `json:"id"`
	Source     string            `json:"source"`
	Kind       string            `json:"kind"`
	ReceivedAt time.Time         `json:"received_at"`
	Verdict    string            `json:"verdict"`
	Reasons    []phishing.Reason `json:"reasons"`
	From       string            `json:"from"`
	Subject    string            `json:"subject"`
	URL        string            `json:"url"`
	SHA256     string            `json:"sha256"`
	Size       int               `json:"size"`
	// Thanked: a thank-you email was queued for the reporter.
	Thanked bool `json:"-"`
}

var (
	errNothing = sellerguard.Invalid(sellerguard.FieldError{Field: "raw", Code: "required",
		Message: "Paste the suspicious email with its headers, or give the suspicious link."})
	errBoth = sellerguard.Invalid(sellerguard.FieldError{Field: "url", Code: "raw_or_url",
		Message: "Report an email or a link, not both at once."})
	errRawTooLarge = &sellerguard.Error{Code: sellerguard.ECodeTooLarge, Message: "The email is larger than 1 MiB."}
	errURLTooLong  = sellerguard.Invalid(sellerguard.FieldError{Field: "url", Code: "too_long", Message: "The link is longer than 2048 characters."})
	errNoteTooLong = sellerguard.Invalid(sellerguard.FieldError{Field: "note", Code: "too_long", Message: "The note is longer than 2000 characters."})
)

// Submit analyses and stores one report and thanks the reporter. Bad input
// is refused (400/413) and changes nothing; a source over its limit gets
// rate_limited.
func (s *Service) Submit(ctx context.Context, sub Submission) (*Report, error) {
	raw := sub.Raw
	sub.URL, sub.Note = strings.TrimSpace(sub.URL), strings.TrimSpace(sub.Note)
	// An SMTP envelope's sender or a From header may hold any bytes; no
	// account has such an address, and it is stored and looked up as text.
	sub.ReporterEmail = shownText(sub.ReporterEmail)
	switch {
	case len(raw) > MaxRawBytes:
		return nil, errRawTooLarge
	case len(strings.TrimSpace(string(raw))) == 0 && sub.URL == "":
		return nil, errNothing
	case len(strings.TrimSpace(string(raw))) > 0 && sub.URL != "":
		return nil, errBoth
	case len(sub.URL) > MaxURLBytes:
		return nil, errURLTooLong
	case utf8.RuneCountInString(sub.Note) > MaxNoteChars:
		return nil, errNoteTooLong
	case !validText(sub.URL):
		return nil, sellerguard.Invalid(sellerguard.FieldError{Field: "url", Code: "invalid_text", Message: "The link is not valid text."})
	case !validText(sub.Note):
		return nil, sellerguard.Invalid(sellerguard.FieldError{Field: "note", Code: "invalid_text", Message: "The note is not valid text."})
	}
	now := s.now()
	srcKey := sourceKey(sub.IP)
	if retry, err := s.Limiter.Over(ctx, s.DB, srcKey, now, s.perSource(), s.window()); err != nil {
		return nil, err
	} else if !retry.IsZero() {
		return nil, rateLimited(retry, now)
	}

	var a *phishing.Analysis
	var err error
	kind := KindMessage
	if sub.URL != "" {
		kind = KindLink
		a, err = phishing.AnalyzeLink(ctx, sub.URL, sub.Note, s.Analysis)
	} else {
		a, err = phishing.Analyze(ctx, raw, s.Analysis)
	}
	if err != nil {
		return nil, refusal(err)
	}
	reasons, _ := json.Marshal(a.Reasons)
	full, _ := json.Marshal(a)
	rec := store.PhishingReport{
		ID: sgsession.NewID("phr"), Source: sub.Source, Kind: kind,
		ReporterUserID: sub.ReporterUserID, ReporterEmail: truncate(sub.ReporterEmail, 320), ReporterIP: sub.IP,
		ReceivedAt: now, Verdict: a.Verdict, Score: a.Score, Reasons: string(reasons), Analysis: string(full),
		FromHeader: truncate(shownText(a.From), 998), Subject: truncate(shownText(a.Subject), 998), MessageID: truncate(shownText(a.MessageID), 998),
		URL: sub.URL, Note: sub.Note,
	}
	if kind == KindMessage {
		sum := sha256.Sum256(raw)
		rec.RawSHA256, rec.RawSize, rec.Raw = hex.EncodeToString(sum[:]), len(raw), raw
		rec.RawExpiresAt = now.Add(s.retention())
	}
	thanked := false
	err = s.DB.WithTx(ctx, func(tx *store.Tx) error {
		thanked = false
		if retry, err := s.Limiter.Hit(ctx, tx, srcKey, sub.IP, now, s.perSource(), s.window()); err != nil {
			return err
		} else if !retry.IsZero() {
			return rateLimited(retry, now)
		}
		if err := tx.AddPhishingReport(ctx, rec); err != nil {
			return err
		}
		if sub.ReporterUserID != "" {
			if err := audit.Append(ctx, tx, now, audit.Entry{SubjectID: sub.ReporterUserID, ActorID: sub.ReporterUserID, ActorEmail: sub.ReporterEmail,
				IP: sub.IP, UserAgent: sub.UserAgent, Action: "phishing.reported", Category: sellerguard.CategoryAccount,
				TargetType: "phishing_report", TargetID: rec.ID, After: map[string]any{"source": rec.Source, "kind": kind, "verdict": a.Verdict}}); err != nil {
				return err
			}
		}
		var err error
		thanked, err = s.thank(ctx, tx, now, rec, sub)
		return err
	})
	if err != nil {
		return nil, err
	}
	r := toReport(rec)
	r.Thanked = thanked
	return r, nil
}

// thank queues the thank-you email when the reporter has an account (and
// their cap allows).
func (s *Service) thank(ctx context.Context, tx *store.Tx, now time.Time, rec store.PhishingReport, sub Submission) (bool, error) {
	if sub.ReporterEmail == "" {
		return false, nil
	}
	emailNorm := sgsession.NormalizeEmail(sub.ReporterEmail)
	userID, phrase, err := tx.FindUserIDAndPhrase(ctx, emailNorm)
	if err != nil {
		return false, err
	}
	if userID == "" || (sub.ReporterUserID != "" && userID != sub.ReporterUserID) {
		return false, nil
	}
	retry, err := s.Limiter.Hit(ctx, tx, "phthanks:"+emailNorm, sub.IP, now, s.thanksPerHour(), time.Hour)
	if err != nil || !retry.IsZero() {
		return false, err
	}
	// In the reporter's language.
	lang, err := tx.LanguageOf(ctx, userID)
	if err != nil {
		return false, err
	}
	l := i18n.OrDefault(lang)
	c := i18n.Default()
	verdict := c.T(l, "email.phishing_thanks.unsure")
	if rec.Verdict == phishing.VerdictPhishing {
		verdict = c.T(l, "email.phishing_thanks.phishing")
	}
	body := outbox.PhraseHeaderIn(lang, phrase) +
		c.T(l, "email.phishing_thanks.body", "What", c.T(l, "email.phishing_thanks."+rec.Kind), "ID", rec.ID, "Verdict", verdict, "BaseURL", s.BaseURL) +
		"\n\n" + c.T(l, "email.footer") + "\n"
	return true, outbox.Enqueue(ctx, tx, now, sellerguard.OutboxMessage{
		Channel: sellerguard.ChannelEmail, UserID: userID, To: sub.ReporterEmail,
		Subject: c.T(l, "email.phishing_thanks.subject"), Body: body,
	})
}

// List lists reports, newest first: one reporter's, or (userID "") all.
func (s *Service) List(ctx context.Context, userID string, before *Report, limit int) ([]Report, error) {
	f := store.PhishingReportFilter{ReporterUserID: userID, Limit: limit}
	if before != nil {
		f.BeforeTime, f.BeforeID = before.ReceivedAt, before.ID
	}
	recs, err := s.DB.ListPhishingReports(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]Report, 0, len(recs))
	for _, r := range recs {
		out = append(out, *toReport(r))
	}
	return out, nil
}

// EraseExpired erases the raw messages whose retention ended.
func (s *Service) EraseExpired(ctx context.Context) (int, error) {
	return s.DB.EraseExpiredReportMessages(ctx, s.now())
}

func toReport(r store.PhishingReport) *Report {
	out := &Report{ID: r.ID, Source: r.Source, Kind: r.Kind, ReceivedAt: r.ReceivedAt.UTC(), Verdict: r.Verdict,
		From: r.FromHeader, Subject: r.Subject, URL: r.URL, SHA256: r.RawSHA256, Size: r.RawSize, Reasons: []phishing.Reason{}}
	if err := json.Unmarshal([]byte(r.Reasons), &out.Reasons); err != nil || out.Reasons == nil {
		out.Reasons = []phishing.Reason{}
	}
	return out
}

func (s *Service) perSource() int {
	if s.PerSourceLimit > 0 {
		return s.PerSourceLimit
	}
	return DefaultPerSourceLimit
}

func (s *Service) window() time.Duration {
	if s.Window > 0 {
		return s.Window
	}
	return DefaultWindow
}

func (s *Service) thanksPerHour() int {
	if s.ThanksPerHour > 0 {
		return s.ThanksPerHour
	}
	return DefaultThanksPerHour
}

func (s *Service) retention() time.Duration {
	if s.RawRetention > 0 {
		return s.RawRetention
	}
	return DefaultRawRetention
}

// sourceKey is the one per-source counter of every way in.
func sourceKey(ip string) string { return limiter.SourceKey("phishreport", ip) }

func rateLimited(retry, now time.Time) error {
	return &sellerguard.Error{Code: sellerguard.ECodeRateLimited, Message: "Too many reports from your network address. Please try again later.", RetryAfter: retry.Sub(now)}
}

// refusal turns the analysis's refusal of input into a 400 (413 for size)
// naming the field; anything else passes through.
func refusal(err error) error {
	var e *sellerguard.Error
	if !errors.As(err, &e) {
		return err
	}
	field := "raw"
	switch e.Code {
	case phishing.ECodeMessageTooLarge:
		return errRawTooLarge
	case phishing.ECodeTooManyParts:
		return sellerguard.Invalid(sellerguard.FieldError{Field: field, Code: "too_many_parts", Message: "The email has too many parts to analyse."})
	case phishing.ECodeTooDeep:
		return sellerguard.Invalid(sellerguard.FieldError{Field: field, Code: "too_deep", Message: "The email has too many nested parts to analyse."})
	case phishing.ECodeTooManyHeaders:
		return sellerguard.Invalid(sellerguard.FieldError{Field: field, Code: "too_many_headers", Message: "The email has too many header fields to analyse."})
	case phishing.ECodeAnalysisTimeout:
		return sellerguard.Invalid(sellerguard.FieldError{Field: field, Code: "analysis_timeout", Message: "The email took too long to analyse."})
	case phishing.ECodeNotAMessage:
		return sellerguard.Invalid(sellerguard.FieldError{Field: field, Code: "not_a_message", Message: "This is not a whole email: paste it with its headers (in your mail program: Show original, or View source)."})
	case phishing.ECodeInvalidLink:
		return sellerguard.Invalid(sellerguard.FieldError{Field: "url", Code: "invalid_link", Message: "Give the whole link, starting with http:// or https://."})
	case phishing.ECodeAnalysisCanceled:
		return &sellerguard.Error{Code: sellerguard.ECodeBusy, Message: "The request was cancelled.", Err: err}
	}
	return err
}

// validText reports whether a field typed by the reporter is text: UTF-8
// without a NUL character (PostgreSQL keeps neither, SQLite would).
func validText(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

// shownText makes what the reported message says of itself (its From,
// Subject and Message-ID, the envelope's sender) storable and showable
// text: each NUL character and each run of bytes that are not UTF-8
// become U+FFFD.
// Phishing mail often carries 8-bit headers in another charset; the report
// must be taken all the same (the raw message keeps the original bytes).
func shownText(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"), "\uFFFD")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) && len(s) > 0 {
		s = s[:len(s)-1]
	}
	return s
}

// Describe is a one-line summary of a report for the CLI.
func (r Report) Describe() string {
	codes := make([]string, len(r.Reasons))
	for i, x := range r.Reasons {
		codes[i] = x.Code
	}
	return fmt.Sprintf("%s %s %s %s [%s]", r.ID, r.Source, r.Kind, r.Verdict, strings.Join(codes, ","))
}
