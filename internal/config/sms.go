package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// SMSSettings are the SMS gateway settings (text-message and voice codes,
// capability G1): a Twilio-compatible REST API (internal/sms.TwilioGateway).
// With no URL there is no gateway: in local mode text messages stay in the
// local outbox.
type SMSSettings struct {
	URL        string // base URL, e.g. https://api.twilio.com; empty = no gateway
	AccountSID string
	AuthToken  string // secret: never printed, not even as a flag default
	// From is the sender: an E.164 number (needed for voice calls), an
	// alphanumeric sender ID, or a Messaging Service SID ("MG…").
	From    string
	Timeout time.Duration // per request to the gateway
}

// secretString is a flag.Value whose value is never shown: "-help" prints
// no default for it, so a token from the environment stays out of the help
// text.
type secretString struct{ p *string }

func (s secretString) String() string     { return "" }
func (s secretString) Set(v string) error { *s.p = v; return nil }

func init() {
	extraSettings = append(extraSettings, func(c *Config, b *binder) {
		s := &c.SMS
		b.str(&s.URL, "sms-url", "SELLERGUARD_SMS_URL", "", "SMS gateway, a Twilio-compatible REST API base URL, e.g. https://api.twilio.com (empty = no gateway)")
		b.str(&s.AccountSID, "sms-account-sid", "SELLERGUARD_SMS_ACCOUNT_SID", "", "account SID for the SMS gateway (required with the URL)")
		const tokenUsage = "auth token for the SMS gateway (required with the URL; prefer the variable to the flag)"
		s.AuthToken = b.env("SELLERGUARD_SMS_AUTH_TOKEN", "sms-auth-token", "", tokenUsage)
		b.fs.Var(secretString{&s.AuthToken}, "sms-auth-token", tokenUsage+" ($SELLERGUARD_SMS_AUTH_TOKEN)")
		b.str(&s.From, "sms-from", "SELLERGUARD_SMS_FROM", "", "sender of text messages and calls: E.164 number (needed for voice), alphanumeric sender ID or Messaging Service SID (required with the URL)")
		b.dur(&s.Timeout, "sms-timeout", "SELLERGUARD_SMS_TIMEOUT", 10*time.Second, "how long to wait for the SMS gateway per message (1s–2m)")
	})
}

// Enabled reports whether an SMS gateway is configured.
func (s *SMSSettings) Enabled() bool { return s.URL != "" }

func (s *SMSSettings) finish() []error {
	var errs []error
	if s.Timeout < time.Second || s.Timeout > 2*time.Minute {
		errs = append(errs, fmt.Errorf("SELLERGUARD_SMS_TIMEOUT must be 1s–2m"))
	}
	if s.URL == "" {
		return errs
	}
	u, err := url.Parse(s.URL)
	switch {
	case err != nil:
		// url.Parse's error repeats the input, which may hold a password.
		errs = append(errs, fmt.Errorf("SELLERGUARD_SMS_URL is not a URL"))
	case u.User != nil:
		errs = append(errs, fmt.Errorf("SELLERGUARD_SMS_URL %q must not hold a user or password: set SELLERGUARD_SMS_ACCOUNT_SID and SELLERGUARD_SMS_AUTH_TOKEN", u.Redacted()))
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		errs = append(errs, fmt.Errorf("SELLERGUARD_SMS_URL %q must be an absolute http or https URL without query", s.URL))
	default:
		s.URL = strings.TrimRight(s.URL, "/")
	}
	if s.AccountSID == "" {
		errs = append(errs, fmt.Errorf("SELLERGUARD_SMS_ACCOUNT_SID is required with SELLERGUARD_SMS_URL"))
	} else if !alnum(s.AccountSID) {
		errs = append(errs, fmt.Errorf("SELLERGUARD_SMS_ACCOUNT_SID must be letters and digits only"))
	}
	if s.AuthToken == "" {
		errs = append(errs, fmt.Errorf("SELLERGUARD_SMS_AUTH_TOKEN is required with SELLERGUARD_SMS_URL"))
	}
	if s.From == "" {
		errs = append(errs, fmt.Errorf("SELLERGUARD_SMS_FROM is required with SELLERGUARD_SMS_URL"))
	} else if !validSender(s.From) {
		errs = append(errs, fmt.Errorf("SELLERGUARD_SMS_FROM %q must be an E.164 number (+ and 7–15 digits), an alphanumeric sender ID of at most 11 characters or a Messaging Service SID (MG…)", s.From))
	}
	return errs
}

func alnum(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// validSender accepts an E.164 number, a Messaging Service SID ("MG" and
// 32 hex digits) or an alphanumeric sender ID (1–11 letters, digits and
// spaces, at least one letter).
func validSender(s string) bool {
	if strings.HasPrefix(s, "+") {
		d := s[1:]
		return len(d) >= 7 && len(d) <= 15 && d[0] != '0' && strings.Trim(d, "0123456789") == ""
	}
	if len(s) == 34 && strings.HasPrefix(s, "MG") && strings.Trim(s[2:], "0123456789abcdefABCDEF") == "" {
		return true
	}
	if len(s) > 11 || strings.TrimSpace(s) != s || strings.Trim(s, "0123456789 ") == "" {
		return false
	}
	return alnum(strings.ReplaceAll(s, " ", ""))
}
