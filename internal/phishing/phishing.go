package phishing

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	sellerguard "github.com/sellerguard/sellerguard"
)

// Verdicts.
const (
	VerdictPhishing      = "phishing"
	VerdictSuspicious    = "suspicious"
	VerdictNoThreatFound = "no_threat_found"
)

// Codes of the errors for refused input. They are part of the API contract.
const (
	ECodeMessageTooLarge  = "message_too_large"
	ECodeTooManyParts     = "too_many_parts"
	ECodeTooDeep          = "too_deep"
	ECodeTooManyHeaders   = "too_many_headers"
	ECodeAnalysisTimeout  = "analysis_timeout"
	ECodeNotAMessage      = "not_a_message"
	ECodeInvalidLink      = "invalid_link"
	ECodeAnalysisCanceled = "analysis_canceled"
)

// Default bounds, used where a Config field is zero.
const (
	DefaultMaxBytes   = 1 << 20
	DefaultMaxParts   = 200
	DefaultMaxDepth   = 10
	DefaultMaxHeaders = 500
	DefaultTimeout    = 2 * time.Second
	// MaxLinkBytes bounds the URL given to AnalyzeLink.
	MaxLinkBytes = 8 << 10
	// maxLinks bounds the links kept per message; more are counted, not analysed.
	maxLinks = 500
)

// Resolver is the DNS the analysis may use. *net.Resolver implements it.
// Errors that are *net.DNSError with IsNotFound set mean "no such name or
// no records"; any other error is a temporary failure.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

var _ Resolver = (*net.Resolver)(nil)

// Config is what an analysis needs to know. Bounds that are zero take the
// Default values.
type Config struct {
	// BrandDomains are the platform's own domains (SELLERGUARD_BRAND_DOMAINS;
	// the caller defaults them to the base URL's and the mail domain).
	BrandDomains []string
	// BrandNames are the names the platform is known by, e.g. "SellerGuard".
	// The first label of each brand domain's registrable part counts too.
	BrandNames []string
	// Resolver answers the DNS queries of SPF, DKIM and DMARC; nil means
	// no DNS checks (their results are "none").
	Resolver Resolver

	MaxBytes   int
	MaxParts   int
	MaxDepth   int
	MaxHeaders int
	Timeout    time.Duration
}

func (c Config) withDefaults() Config {
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.MaxParts <= 0 {
		c.MaxParts = DefaultMaxParts
	}
	if c.MaxDepth <= 0 {
		c.MaxDepth = DefaultMaxDepth
	}
	if c.MaxHeaders <= 0 {
		c.MaxHeaders = DefaultMaxHeaders
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Reason is one finding: a stable snake_case Code and an English Message.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Auth holds the sender-authentication results. SPF is one of none,
// neutral, pass, fail, softfail, temperror, permerror (RFC 7208); DKIM one
// of none, pass, fail, temperror, permerror (the best of the signatures);
// DMARC one of none, pass, fail, temperror, permerror. Aligned is true
// when a passing SPF or DKIM identifier is aligned with the From domain.
type Auth struct {
	SPF   string `json:"spf"`
	DKIM  string `json:"dkim"`
	DMARC string `json:"dmarc"`
	// Aligned: a passing SPF or DKIM identity is aligned with the From
	// domain (relaxed, or as the DMARC record asks).
	Aligned bool `json:"aligned"`
	// DKIMDomains are the d= domains of the signatures that verified.
	DKIMDomains []string `json:"dkim_domains,omitempty"`
	// ClientIP and MailFrom are what SPF was evaluated for (empty when not
	// found in the message).
	ClientIP string `json:"client_ip,omitempty"`
	MailFrom string `json:"mail_from,omitempty"`
}

// Link is one link found in the message.
type Link struct {
	Text    string   `json:"text,omitempty"` // visible text (HTML), empty for plain text
	Href    string   `json:"href"`
	Host    string   `json:"host"` // lower case, punycode (ASCII) form
	Reasons []Reason `json:"reasons,omitempty"`
}

// Attachment is one attached (or inline, named) part.
type Attachment struct {
	Filename    string   `json:"filename"`
	ContentType string   `json:"content_type"`
	Size        int      `json:"size"`
	Entries     []string `json:"entries,omitempty"` // names inside an archive (bounded)
	Reasons     []Reason `json:"reasons,omitempty"`
}

// Analysis is the result of Analyze or AnalyzeLink.
type Analysis struct {
	Verdict     string       `json:"verdict"`
	Score       int          `json:"score"`
	Reasons     []Reason     `json:"reasons"`
	From        string       `json:"from"`
	Subject     string       `json:"subject"`
	MessageID   string       `json:"message_id"`
	Auth        Auth         `json:"auth"`
	Links       []Link       `json:"links"`
	Attachments []Attachment `json:"attachments"`
	// ClaimsBrand: the From domain, display name or a look-alike claims to
	// be the platform.
	ClaimsBrand bool `json:"claims_brand"`
}

func refuse(code, format string, args ...any) error {
	return sellerguard.Errorf(code, format, args...)
}

// ctxErr turns a done context into the refusal for it.
func ctxErr(ctx context.Context) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return refuse(ECodeAnalysisTimeout, "the analysis took too long")
	}
	return refuse(ECodeAnalysisCanceled, "the analysis was canceled")
}

// Analyze analyses a raw RFC 5322 message. It returns an error (a
// *sellerguard.Error with one of the ECode constants) only for input it
// refuses: over a bound, out of time, or not a message at all.
func Analyze(ctx context.Context, raw []byte, cfg Config) (*Analysis, error) {
	cfg = cfg.withDefaults()
	if len(raw) > cfg.MaxBytes {
		return nil, refuse(ECodeMessageTooLarge, "the message is larger than %d bytes", cfg.MaxBytes)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	b := newBrand(cfg)

	msg, err := walkMessage(ctx, raw, cfg)
	if err != nil {
		return nil, err
	}
	a := &Analysis{
		From:      msg.from,
		Subject:   msg.subject,
		MessageID: msg.messageID,
		Links:     []Link{},
	}
	var f findings

	claims, claimReasons := b.claims(msg.from)
	a.ClaimsBrand = claims
	f.add(claimReasons...)

	// DNS gets half the time: a resolver that does not answer makes the
	// results temperror, not the whole analysis fail.
	authCtx, cancelAuth := context.WithTimeout(ctx, cfg.Timeout/2)
	a.Auth = checkAuth(authCtx, raw, msg, cfg)
	cancelAuth()
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	f.add(authReasons(a.Auth, msg, b, cfg)...)
	f.add(replyToReasons(msg, b, claims)...)

	a.Links = analyzeLinks(ctx, msg.links, b)
	for _, l := range a.Links {
		f.add(l.Reasons...)
	}
	if msg.linksDropped > 0 {
		f.add(Reason{CodeManyLinks, "the message has more links than are analysed"})
	}
	a.Attachments = []Attachment{}
	for _, att := range msg.attachments {
		if err := ctxErr(ctx); err != nil {
			return nil, err
		}
		at := analyzeAttachment(att)
		a.Attachments = append(a.Attachments, at)
		f.add(at.Reasons...)
	}
	f.add(contentReasons(ctx, msg.subject+"\n"+msg.text.String())...)
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	a.Reasons, a.Score, a.Verdict = f.verdict()
	return a, nil
}

// AnalyzeLink analyses one suspicious link reported without a message. The
// note (the reporter's words, or text pasted with the link) is scanned like
// a message body: for what it asks for and for further links. The link is
// never fetched or resolved.
func AnalyzeLink(ctx context.Context, rawURL, note string, cfg Config) (*Analysis, error) {
	cfg = cfg.withDefaults()
	rawURL = strings.TrimSpace(rawURL)
	if rawURL == "" || len(rawURL) > MaxLinkBytes || len(note) > cfg.MaxBytes {
		return nil, refuse(ECodeInvalidLink, "the link must be 1 to %d bytes", MaxLinkBytes)
	}
	if _, ok := parseLinkURL(rawURL); !ok {
		return nil, refuse(ECodeInvalidLink, "the link is not an absolute http or https URL")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	b := newBrand(cfg)
	raws := []rawLink{{href: rawURL}}
	more, dropped := extractTextLinks(ctx, note, maxLinks-1)
	raws = append(raws, more...)
	a := &Analysis{Auth: Auth{SPF: "none", DKIM: "none", DMARC: "none"}, Attachments: []Attachment{}}
	var f findings
	a.Links = analyzeLinks(ctx, raws, b)
	for _, l := range a.Links {
		f.add(l.Reasons...)
	}
	if dropped > 0 {
		f.add(Reason{CodeManyLinks, "the note has more links than are analysed"})
	}
	f.add(contentReasons(ctx, note)...)
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	a.Reasons, a.Score, a.Verdict = f.verdict()
	return a, nil
}

// ClaimsBrand tells whether a From header field value claims to come from
// the platform: its address is on a brand domain, its display name names
// the brand, or its domain looks like a brand domain. The reasons say which.
func ClaimsBrand(fromHeader string, cfg Config) (bool, []Reason) {
	return newBrand(cfg).claims(fromHeader)
}

// Forwarded returns the message that a report carries as an attachment
// (a message/rfc822 part, what "forward as attachment" makes), decoded, so
// that it can be analysed instead of the report around it. ok is false
// when there is none. raw is read within the bounds of cfg, and refused
// like Analyze refuses it.
func Forwarded(ctx context.Context, raw []byte, cfg Config) (inner []byte, ok bool, err error) {
	cfg = cfg.withDefaults()
	if len(raw) > cfg.MaxBytes {
		return nil, false, refuse(ECodeMessageTooLarge, "the message is larger than %d bytes", cfg.MaxBytes)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	msg, err := walkMessage(ctx, raw, cfg)
	if err != nil {
		return nil, false, err
	}
	if msg.forwarded == nil {
		return nil, false, nil
	}
	return msg.forwarded, true, nil
}
