package phishing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"

	msgdkim "github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-msgauth/dmarc"
)

// maxDKIMSignatures bounds the signatures verified per message.
const maxDKIMSignatures = 5

// Authentication results shared by DKIM and DMARC.
const (
	AuthNone      = "none"
	AuthPass      = "pass"
	AuthFail      = "fail"
	AuthTemperror = "temperror"
	AuthPermerror = "permerror"
)

var (
	receivedFrom = regexp.MustCompile(`(?is)^\s*from\s+(\S+)(.*?)(?:\bby\b|;|$)`)
	bracketIP    = regexp.MustCompile(`\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]`)
	bareIP       = regexp.MustCompile(`\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\b`)
)

// connectingHop finds the client IP and HELO name for SPF: the topmost
// Received field whose "from" clause names a public address (see the
// package documentation for why and its limits).
func connectingHop(h headerBlock) (net.IP, string) {
	for i, v := range h.all("Received") {
		if i >= 50 {
			break
		}
		m := receivedFrom.FindStringSubmatch(v)
		if m == nil {
			continue
		}
		helo := strings.Trim(m[1], "[]()")
		clause := m[1] + " " + m[2]
		var cands []string
		for _, s := range bracketIP.FindAllStringSubmatch(clause, -1) {
			cands = append(cands, s[1])
		}
		for _, s := range bareIP.FindAllStringSubmatch(clause, -1) {
			cands = append(cands, s[1])
		}
		for _, c := range cands {
			ip := net.ParseIP(c)
			if ip == nil || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast() {
				continue
			}
			if net.ParseIP(helo) != nil {
				helo = ""
			}
			return ip, strings.ToLower(helo)
		}
	}
	return nil, ""
}

// mailFrom returns the address of the topmost Return-Path field ("" for
// the null path or none).
func mailFrom(h headerBlock) string {
	rp := strings.TrimSpace(h.get("Return-Path"))
	rp = strings.Trim(rp, "<> \t")
	if !strings.Contains(rp, "@") {
		return ""
	}
	return rp
}

// resolverTXT adapts the Resolver for go-msgauth, which has no context.
func resolverTXT(ctx context.Context, r Resolver) func(string) ([]string, error) {
	return func(name string) ([]string, error) {
		if err := ctx.Err(); err != nil {
			return nil, &net.DNSError{Err: err.Error(), Name: name, IsTemporary: true}
		}
		return r.LookupTXT(ctx, name)
	}
}

// checkAuth evaluates SPF, DKIM and DMARC for a message.
func checkAuth(ctx context.Context, raw []byte, msg *parsedMessage, cfg Config) Auth {
	a := Auth{SPF: SPFNone, DKIM: AuthNone, DMARC: AuthNone}
	ip, helo := connectingHop(msg.header)
	if ip != nil {
		a.ClientIP = ip.String()
	}
	a.MailFrom = mailFrom(msg.header)
	if cfg.Resolver == nil {
		return a
	}
	from := fromDomain(msg.from)

	// SPF.
	spfDomain := ""
	if ip != nil {
		a.SPF = CheckSPF(ctx, cfg.Resolver, ip, a.MailFrom, helo)
		if a.MailFrom != "" {
			spfDomain = addressDomain(a.MailFrom)
		} else {
			spfDomain = normalizeHost(helo)
		}
	}

	// DKIM.
	if msg.header.get("DKIM-Signature") != "" {
		verifs, err := msgdkim.VerifyWithOptions(bytes.NewReader(raw), &msgdkim.VerifyOptions{
			LookupTXT:        resolverTXT(ctx, cfg.Resolver),
			MaxVerifications: maxDKIMSignatures,
		})
		if err != nil && !errors.Is(err, msgdkim.ErrTooManySignatures) {
			a.DKIM = AuthPermerror
		}
		best := ""
		for _, v := range verifs {
			switch {
			case v.Err == nil:
				best = AuthPass
				a.DKIMDomains = append(a.DKIMDomains, strings.ToLower(v.Domain))
			case msgdkim.IsTempFail(v.Err):
				if best != AuthPass && best != AuthFail {
					best = AuthTemperror
				}
			case msgdkim.IsPermFail(v.Err):
				if best == "" {
					best = AuthPermerror
				}
			default:
				if best != AuthPass {
					best = AuthFail
				}
			}
		}
		if best != "" {
			a.DKIM = best
		}
	}

	// DMARC (RFC 7489): the From domain's record, else its organizational
	// domain's.
	if !validDomain(from) {
		return a
	}
	spfAligned := func(mode dmarc.AlignmentMode) bool {
		return a.SPF == SPFPass && aligned(spfDomain, from, mode)
	}
	dkimAligned := func(mode dmarc.AlignmentMode) bool {
		for _, d := range a.DKIMDomains {
			if aligned(d, from, mode) {
				return true
			}
		}
		return false
	}
	a.Aligned = spfAligned(dmarc.AlignmentRelaxed) || dkimAligned(dmarc.AlignmentRelaxed)
	if ctx.Err() != nil {
		a.DMARC = AuthTemperror
		return a
	}
	opts := &dmarc.LookupOptions{LookupTXT: resolverTXT(ctx, cfg.Resolver)}
	rec, err := dmarc.LookupWithOptions(from, opts)
	if errors.Is(err, dmarc.ErrNoPolicy) {
		if org := registrable(from); org != from {
			rec, err = dmarc.LookupWithOptions(org, opts)
		}
	}
	switch {
	case errors.Is(err, dmarc.ErrNoPolicy):
		a.DMARC = AuthNone
	case dmarc.IsTempFail(err):
		a.DMARC = AuthTemperror
	case err != nil:
		a.DMARC = AuthPermerror
	default:
		a.Aligned = spfAligned(rec.SPFAlignment) || dkimAligned(rec.DKIMAlignment)
		if a.Aligned {
			a.DMARC = AuthPass
		} else {
			a.DMARC = AuthFail
		}
	}
	return a
}

// aligned: identifier domain d is aligned with the From domain (RFC 7489
// section 3.1): the same, or (relaxed) the same organizational domain.
func aligned(d, from string, mode dmarc.AlignmentMode) bool {
	if d == "" || from == "" {
		return false
	}
	if d == from {
		return true
	}
	return mode != dmarc.AlignmentStrict && registrable(d) == registrable(from)
}

// authReasons turns the authentication results into reasons, and decides
// whether a message that claims a platform address is authenticated.
func authReasons(a Auth, msg *parsedMessage, b *brand, cfg Config) []Reason {
	var rs []Reason
	if cfg.Resolver == nil {
		rs = append(rs, Reason{CodeDNSNotChecked, "sender authentication (SPF, DKIM, DMARC) was not checked"})
	} else {
		if a.ClientIP == "" {
			rs = append(rs, Reason{CodeNoClientIP, "no Received field names the server that delivered the message, so SPF could not be checked"})
		}
		switch a.SPF {
		case SPFFail:
			rs = append(rs, Reason{CodeSPFFail, "the sending server is not allowed to send for the sender's domain (SPF fail)"})
		case SPFSoftfail:
			rs = append(rs, Reason{CodeSPFSoftfail, "the sender's domain does not vouch for the sending server (SPF softfail)"})
		}
		if a.DKIM == AuthFail {
			rs = append(rs, Reason{CodeDKIMFail, "a DKIM signature does not verify: the message was changed or forged"})
		}
		if a.DMARC == AuthFail {
			rs = append(rs, Reason{CodeDMARCFail, "the sender's domain publishes DMARC and the message fails it"})
		}
		if a.SPF == SPFTemperror || a.DKIM == AuthTemperror || a.DMARC == AuthTemperror {
			rs = append(rs, Reason{CodeAuthTemperror, "DNS did not answer in time, so sender authentication is incomplete"})
		}
	}
	fromDom := fromDomain(msg.from)
	if !b.isBrandHost(fromDom) {
		return rs
	}
	brandSigned := false
	for _, d := range a.DKIMDomains {
		if b.isBrandHost(d) && aligned(d, fromDom, dmarc.AlignmentRelaxed) {
			brandSigned = true
		}
	}
	switch {
	case brandSigned || a.DMARC == AuthPass:
		rs = append(rs, Reason{CodeBrandAuthenticated, "the message is signed by the platform's domain"})
	case cfg.Resolver == nil || a.DKIM == AuthTemperror || a.DMARC == AuthTemperror:
		rs = append(rs, Reason{CodeBrandUnverified, "the message claims to come from the platform, and its signature could not be checked"})
	default:
		rs = append(rs, Reason{CodeBrandSpoofed, "the message claims to come from the platform but carries no valid signature of its domain"})
	}
	return rs
}

// replyToReasons: a message claiming to be the platform whose replies go
// elsewhere.
func replyToReasons(msg *parsedMessage, b *brand, claims bool) []Reason {
	if !claims {
		return nil
	}
	rt := msg.header.get("Reply-To")
	if rt == "" {
		return nil
	}
	from := fromDomain(msg.from)
	for _, s := range parseFrom(rt) {
		if s.domain != "" && !b.isBrandHost(s.domain) && registrable(s.domain) != registrable(from) {
			return []Reason{{CodeReplyToDiffers, fmt.Sprintf("replies would go to %s, not to the sender's domain", s.domain)}}
		}
	}
	return nil
}
