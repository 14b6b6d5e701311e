package phishing

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// textURL finds URLs in plain text: with a scheme, or starting with "www.".
// Go's regexp runs in linear time, so no input makes it slow.
var textURL = regexp.MustCompile(`(?i)\b(?:https?://|www\.)[^\s<>"'()\[\]{}，。、；：！？（）《》“”‘’]+`)

// textHost finds a host name written in a link's visible text.
var textHost = regexp.MustCompile(`(?i)(?:https?://)?((?:[\p{L}\p{N}][\p{L}\p{N}-]*\.)+\p{L}{2,})`)

// shorteners are well-known URL shortening services: the real target is
// hidden until the link is followed.
var shorteners = map[string]bool{
	"bit.ly": true, "bitly.com": true, "tinyurl.com": true, "t.co": true, "goo.gl": true,
	"ow.ly": true, "is.gd": true, "v.gd": true, "buff.ly": true, "rebrand.ly": true,
	"cutt.ly": true, "shorturl.at": true, "rb.gy": true, "tiny.cc": true, "s.id": true,
	"t.ly": true, "bit.do": true, "lnkd.in": true, "qrco.de": true, "t.cn": true,
	"dwz.cn": true, "url.cn": true, "suo.im": true, "u.nu": true,
}

// extractTextLinks returns the URLs in plain text, at most limit, and
// whether there were more (dropped > 0). It reads the text in pieces cut
// at white space, checking ctx between them.
func extractTextLinks(ctx context.Context, text string, limit int) ([]rawLink, int) {
	var links []rawLink
	dropped := 0
	if limit < 0 {
		limit = 0
	}
	for text != "" && dropped == 0 && ctx.Err() == nil {
		piece := text
		if len(piece) > textPieceBytes {
			piece = piece[:textPieceBytes]
			if i := strings.LastIndexAny(piece, " \t\r\n"); i > 0 {
				piece = piece[:i+1]
			}
		}
		text = text[len(piece):]
		// One more than the room left tells whether some were left out.
		for _, m := range textURL.FindAllString(piece, limit-len(links)+1) {
			m = strings.TrimRight(m, ".,;:!?*")
			if len(links) >= limit {
				dropped++
				continue
			}
			links = append(links, rawLink{href: m})
		}
	}
	return links, dropped
}

// textPieceBytes is the size of the pieces plain text is searched in.
const textPieceBytes = 32 << 10

// parseLinkURL parses an absolute http(s) URL, or one starting with
// "www.", as a link.
func parseLinkURL(raw string) (*url.URL, bool) {
	raw = strings.TrimSpace(raw)
	if len(raw) > 4 && strings.EqualFold(raw[:4], "www.") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, false
	}
	s := strings.ToLower(u.Scheme)
	if (s != "http" && s != "https") || u.Host == "" {
		return nil, false
	}
	return u, true
}

func linkScheme(href string) string {
	i := strings.IndexByte(href, ':')
	if i <= 0 {
		return ""
	}
	s := strings.ToLower(strings.TrimSpace(href[:i]))
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return ""
		}
	}
	return s
}

// analyzeLinks checks each link. Links that lead nowhere on the web
// (mailto:, tel:, cid:, fragments, relative paths) are left out.
func analyzeLinks(ctx context.Context, raws []rawLink, b *brand) []Link {
	links := []Link{}
	for _, r := range raws {
		if ctx.Err() != nil {
			break
		}
		href := strings.TrimSpace(r.href)
		switch linkScheme(href) {
		case "javascript", "data", "vbscript", "file":
			links = append(links, Link{Text: r.text, Href: truncate(href, 200), Reasons: []Reason{{CodeLinkDangerousScheme,
				fmt.Sprintf("a link runs code or opens local content (%s:) instead of a web page", linkScheme(href))}}})
			continue
		}
		u, ok := parseLinkURL(href)
		if !ok {
			continue
		}
		host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
		l := Link{Text: r.text, Href: href, Host: host}
		if isIPLiteral(host) {
			l.Reasons = append(l.Reasons, Reason{CodeLinkIPLiteral, fmt.Sprintf("a link goes to a bare IP address (%s) instead of a named site", host)})
		} else {
			if h := normalizeHost(host); h != "" {
				host = h
				l.Host = h
			}
			if shorteners[host] {
				l.Reasons = append(l.Reasons, Reason{CodeLinkShortener, fmt.Sprintf("a link goes through the URL shortener %s, which hides where it leads", host)})
			}
			l.Reasons = append(l.Reasons, b.inspectHost(host).reasons(host, false)...)
		}
		if u.User != nil {
			l.Reasons = append(l.Reasons, Reason{CodeLinkUserinfo, fmt.Sprintf("a link hides its real destination (%s) behind text before an @", host)})
		}
		if th := visibleHost(r.text, b); th != "" && registrable(th) != registrable(host) {
			l.Reasons = append(l.Reasons, Reason{CodeLinkTextMismatch, fmt.Sprintf("a link shows %s but goes to %s", th, host)})
		}
		links = append(links, l)
	}
	return links
}

// visibleHost returns the host named in a link's visible text, or "".
func visibleHost(text string, b *brand) string {
	if text == "" {
		return ""
	}
	if len(text) > 512 {
		text = text[:512]
	}
	m := textHost.FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	h := normalizeHost(m[1])
	if h == "" {
		return ""
	}
	written := strings.ToLower(m[0])
	if strings.Contains(written, "://") || strings.HasPrefix(m[1], "www.") || b.isBrandHost(h) {
		return h
	}
	// A bare "word.word" counts only on a suffix that is in the public
	// suffix list, so "e.g." or "file.pdf" are not taken for hosts.
	if _, icann := publicsuffix.PublicSuffix(h); icann {
		return h
	}
	return ""
}

// isIPLiteral: the host is an IP address, including the decimal, octal and
// hexadecimal spellings that browsers accept for IPv4.
func isIPLiteral(host string) bool {
	h := strings.Trim(host, "[]")
	if net.ParseIP(h) != nil {
		return true
	}
	if h == "" {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" {
			return false
		}
		l := strings.ToLower(label)
		if strings.HasPrefix(l, "0x") {
			l = l[2:]
			for _, c := range l {
				if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
					return false
				}
			}
			continue
		}
		for _, c := range l {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
