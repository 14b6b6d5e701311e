package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// PhishingSettings are the settings of the phishing check and report
// queue (internal/mailcheck, internal/phishreport).
type PhishingSettings struct {
	// BrandDomains are the platform's own domains: a sender or link on a
	// domain that looks like one of them is a look-alike. Empty in the
	// settings means the base URL's host and the mail and DKIM domains;
	// Finish fills them in, lower case.
	BrandDomains    string
	brandDomainList []string
	// ReportSMTPAddr is where the SMTP intake for reports listens
	// (host:port); empty = off.
	ReportSMTPAddr string
	// ReportAddress is the one address the intake accepts mail for.
	ReportAddress string
	// ReportDNS lets the analysis of reports look up SPF, DKIM and DMARC
	// records in DNS.
	ReportDNS bool
}

func init() {
	extraSettings = append(extraSettings, func(c *Config, b *binder) {
		p := &c.Phishing
		b.str(&p.BrandDomains, "brand-domains", "SELLERGUARD_BRAND_DOMAINS", "", "comma-separated domains of the platform, for look-alike checks (default: the base URL's host and the mail and DKIM domains)")
		b.str(&p.ReportSMTPAddr, "report-smtp-addr", "SELLERGUARD_REPORT_SMTP_ADDR", "", "host:port of the SMTP listener that takes phishing reports for the report address, e.g. 127.0.0.1:2525; empty = off")
		b.str(&p.ReportAddress, "report-address", "SELLERGUARD_REPORT_ADDRESS", "", "the address sellers forward phishing to, e.g. stop-spoofing@example.com; the SMTP listener accepts mail for it only")
		b.boolean(&p.ReportDNS, "report-dns", "SELLERGUARD_REPORT_DNS", true, "look up SPF, DKIM and DMARC records in DNS when analysing reported messages")
	})
}

// BrandDomainList returns the platform's domains (after Finish).
func (p *PhishingSettings) BrandDomainList() []string { return p.brandDomainList }

// ReportSMTPEnabled reports whether the SMTP intake runs.
func (p *PhishingSettings) ReportSMTPEnabled() bool { return p.ReportSMTPAddr != "" }

func (c *Config) finishPhishing() []error {
	p := &c.Phishing
	var errs []error
	p.brandDomainList = nil
	add := func(d string) {
		d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
		if d == "" || d == "localhost" || net.ParseIP(d) != nil {
			return
		}
		for _, x := range p.brandDomainList {
			if x == d {
				return
			}
		}
		p.brandDomainList = append(p.brandDomainList, d)
	}
	if strings.TrimSpace(p.BrandDomains) != "" {
		for _, d := range strings.Split(p.BrandDomains, ",") {
			d = strings.TrimSpace(d)
			if d == "" {
				continue
			}
			if !isHostname(d) {
				errs = append(errs, fmt.Errorf("SELLERGUARD_BRAND_DOMAINS: %q is not a host name", d))
				continue
			}
			add(d)
		}
	} else {
		if u, err := url.Parse(c.BaseURL); err == nil {
			add(u.Hostname())
		}
		add(mailDomain(c.MailFrom))
		add(c.DKIM.Domain)
	}
	p.ReportSMTPAddr = strings.TrimSpace(p.ReportSMTPAddr)
	p.ReportAddress = strings.TrimSpace(p.ReportAddress)
	if p.ReportSMTPAddr != "" {
		if _, _, err := net.SplitHostPort(p.ReportSMTPAddr); err != nil {
			errs = append(errs, fmt.Errorf("SELLERGUARD_REPORT_SMTP_ADDR: %q is not host:port", p.ReportSMTPAddr))
		}
		a, err := mailAddress(p.ReportAddress)
		if err != nil {
			errs = append(errs, fmt.Errorf("SELLERGUARD_REPORT_ADDRESS: needed with SELLERGUARD_REPORT_SMTP_ADDR, as a plain address like stop-spoofing@example.com (%v)", err))
		}
		p.ReportAddress = a
	}
	return errs
}

// mailAddress checks a plain address (no display name) with a host name
// after the @.
func mailAddress(s string) (string, error) {
	at := strings.LastIndexByte(s, '@')
	if s == "" || at <= 0 || at == len(s)-1 || strings.ContainsAny(s, " <>\",;") {
		return s, fmt.Errorf("%q is not an address", s)
	}
	if !isHostname(s[at+1:]) {
		return s, fmt.Errorf("%q has no host name after the @", s)
	}
	return s, nil
}
