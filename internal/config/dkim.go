package config

import (
	"fmt"
	netmail "net/mail"
	"strings"
)

// DKIMSettings are the DKIM signing settings of outgoing email
// (internal/dkim). With no key file, mail is sent unsigned.
type DKIMSettings struct {
	// Domain is the signing domain (d=). Empty in the settings means the
	// domain of MailFrom; Finish fills it in, lower case, without a
	// trailing dot.
	Domain string
	// Selector is the DNS label of the key record
	// <selector>._domainkey.<domain>.
	Selector string
	// KeyFile is the PEM private key (mode 0600); empty = no signing.
	KeyFile string

	mailFrom *string // the Config's MailFrom, for the default domain
}

// DefaultDKIMSelector is the selector used when none is configured.
const DefaultDKIMSelector = "sellerguard"

func init() {
	extraSettings = append(extraSettings, func(c *Config, b *binder) {
		d := &c.DKIM
		d.mailFrom = &c.MailFrom
		b.str(&d.Domain, "dkim-domain", "SELLERGUARD_DKIM_DOMAIN", "", "DKIM signing domain, d= (default: the domain of the From address)")
		b.str(&d.Selector, "dkim-selector", "SELLERGUARD_DKIM_SELECTOR", DefaultDKIMSelector, "DKIM selector: the key record is <selector>._domainkey.<domain>")
		b.str(&d.KeyFile, "dkim-key-file", "SELLERGUARD_DKIM_KEY_FILE", "", "PEM private key (RSA 2048+ or Ed25519, mode 0600) that signs outgoing mail; empty = no DKIM signing; make one with: sellerguard dkim keygen")
	})
}

// Enabled reports whether outgoing mail is DKIM-signed.
func (d *DKIMSettings) Enabled() bool { return d.KeyFile != "" }

func (d *DKIMSettings) finish() []error {
	var errs []error
	if !isDNSLabel(d.Selector) {
		errs = append(errs, fmt.Errorf("SELLERGUARD_DKIM_SELECTOR: %q is not a DNS label (letters, digits and inner hyphens, 1–63 characters)", d.Selector))
	}
	d.KeyFile = strings.TrimSpace(d.KeyFile)
	if d.Domain == "" {
		from := ""
		if d.mailFrom != nil {
			from = *d.mailFrom
		}
		dom := mailDomain(from)
		if dom != "" && isHostname(dom) {
			d.Domain = dom
		} else if d.Enabled() {
			errs = append(errs, fmt.Errorf("SELLERGUARD_DKIM_DOMAIN: not set, and the From address %q has no usable domain; set it to the domain whose DNS holds the key record", from))
		}
		return errs
	}
	if !isHostname(d.Domain) {
		errs = append(errs, fmt.Errorf("SELLERGUARD_DKIM_DOMAIN: %q is not a host name (labels of letters, digits and inner hyphens, 1–63 characters each)", d.Domain))
		return errs
	}
	d.Domain = strings.ToLower(strings.TrimSuffix(d.Domain, "."))
	return errs
}

// mailDomain returns the lower-case domain of an address such as
// "SellerGuard <no-reply@example.com>", or "" if it has none.
func mailDomain(addr string) string {
	a, err := netmail.ParseAddress(addr)
	if err != nil {
		return ""
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(a.Address[at+1:], "."))
}

// isHostname reports whether s is a DNS host name (optionally ending in a
// dot): labels of letters, digits and inner hyphens, at most 253
// characters in all.
func isHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if !isDNSLabel(l) {
			return false
		}
	}
	return true
}

// isDNSLabel reports whether s is 1–63 letters, digits and hyphens, not
// starting or ending with a hyphen.
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
