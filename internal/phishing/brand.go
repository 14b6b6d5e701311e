package phishing

import (
	"fmt"
	"net"
	"net/mail"
	"strings"
	"unicode"

	"github.com/mtibben/confusables"
	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
	"golang.org/x/text/unicode/norm"
)

// brand is the platform's identity, prepared from a Config.
type brand struct {
	domains []string        // ASCII, lower case
	regs    map[string]bool // registrable domains (eTLD+1) of domains
	names   []string        // lower-case names and their skeletons
}

func newBrand(cfg Config) *brand {
	b := &brand{regs: map[string]bool{}}
	seen := map[string]bool{}
	addName := func(n string) {
		n = strings.ToLower(strings.Join(strings.Fields(n), ""))
		if len([]rune(n)) < 4 || seen[n] {
			return
		}
		seen[n] = true
		b.names = append(b.names, n)
	}
	for _, d := range cfg.BrandDomains {
		if h, _, err := net.SplitHostPort(d); err == nil {
			d = h // "host:port" of a base URL
		}
		d = normalizeHost(d)
		// An IP address or a single label (localhost) is not a domain
		// anyone can imitate; taking its last labels for a registrable
		// domain would make unrelated addresses "brand".
		if d == "" || net.ParseIP(d) != nil || !strings.Contains(d, ".") {
			continue
		}
		b.domains = append(b.domains, d)
		reg := registrable(d)
		b.regs[reg] = true
		if label, _, ok := strings.Cut(reg, "."); ok {
			addName(label)
		}
	}
	for _, n := range cfg.BrandNames {
		addName(n)
	}
	return b
}

// normalizeHost returns the lower-case ASCII (punycode) form of a host
// name, without a trailing dot, or "" if it is not one.
func normalizeHost(h string) string {
	h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
	if h == "" || len(h) > 253 {
		return ""
	}
	a, err := idna.Punycode.ToASCII(h)
	if err != nil {
		return ""
	}
	return a
}

// registrable returns the registrable domain (eTLD+1) of an ASCII host, or
// the host itself when it has none (a bare suffix, a single label).
func registrable(host string) string {
	r, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return host
	}
	return r
}

// unicodeHost returns the Unicode form of an ASCII host, lower case.
func unicodeHost(host string) string {
	u, err := idna.Punycode.ToUnicode(host)
	if err != nil {
		return host
	}
	return strings.ToLower(u)
}

func skeleton(s string) string {
	return strings.ToLower(confusables.Skeleton(strings.ToLower(norm.NFKC.String(s))))
}

// isBrandHost: host is on one of the platform's registrable domains.
func (b *brand) isBrandHost(host string) bool {
	if host == "" {
		return false
	}
	return b.regs[registrable(host)]
}

// domainFinding is what hostReasons found about a host.
type domainFinding struct {
	confusable, edit, brandName, punycode, mixed bool
	label                                        string
}

// inspectHost looks at an ASCII host that is not a brand host for the
// signs of a look-alike.
func (b *brand) inspectHost(host string) domainFinding {
	var f domainFinding
	if host == "" || b.isBrandHost(host) {
		return f
	}
	reg := registrable(host)
	suffix, _ := publicsuffix.PublicSuffix(host)
	var labels []string
	if reg != host {
		labels = strings.Split(strings.TrimSuffix(host, "."+reg), ".")
	}
	if regLabel := strings.TrimSuffix(reg, "."+suffix); regLabel != reg {
		labels = append(labels, regLabel)
	} else {
		labels = append(labels, reg)
	}
	for _, l := range strings.Split(host, ".") {
		if strings.HasPrefix(l, "xn--") {
			f.punycode = true
		}
	}
	for _, label := range labels {
		u := unicodeHost(label)
		if mixedScript(u) {
			f.mixed = true
			f.label = u
		}
		sk := skeleton(u)
		for _, name := range b.names {
			nameSk := skeleton(name)
			switch {
			case strings.Contains(u, name), strings.Contains(strings.ReplaceAll(u, "-", ""), name):
				f.brandName = true
				f.label = u
			case strings.Contains(sk, nameSk), strings.Contains(strings.ReplaceAll(sk, "-", ""), nameSk):
				f.confusable = true
				f.label = u
			default:
				tokens := append(strings.FieldsFunc(sk, func(r rune) bool { return r == '-' || r == '_' }), sk)
				for _, t := range tokens {
					if d := editDistance(t, nameSk, 3); d > 0 && d <= editThreshold(nameSk) {
						f.edit = true
						f.label = u
					}
				}
			}
		}
	}
	return f
}

// editThreshold: how many edits still make a look-alike of a name.
func editThreshold(name string) int {
	switch n := len([]rune(name)); {
	case n >= 9:
		return 2
	case n >= 5:
		return 1
	}
	return 0
}

// editDistance is the optimal-string-alignment (Damerau-Levenshtein)
// distance between a and b, or max+1 when it exceeds max.
func editDistance(a, b string, max int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > max || -d > max {
		return max + 1
	}
	if len(ra) > 256 || len(rb) > 256 {
		return max + 1
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	if prev[len(rb)] > max {
		return max + 1
	}
	return prev[len(rb)]
}

// mixedScript: a label mixes letters of scripts that UTS #39's "highly
// restrictive" level does not allow together (Latin with Cyrillic or
// Greek, Cyrillic with Greek, and so on; Latin with Han, Hiragana,
// Katakana, Hangul or Bopomofo is allowed).
func mixedScript(s string) bool {
	scripts := map[string]bool{}
	for _, r := range s {
		if !unicode.IsLetter(r) {
			continue
		}
		switch {
		case unicode.Is(unicode.Latin, r):
			scripts["Latin"] = true
		case unicode.Is(unicode.Cyrillic, r):
			scripts["Cyrillic"] = true
		case unicode.Is(unicode.Greek, r):
			scripts["Greek"] = true
		case unicode.Is(unicode.Han, r), unicode.Is(unicode.Hiragana, r), unicode.Is(unicode.Katakana, r),
			unicode.Is(unicode.Hangul, r), unicode.Is(unicode.Bopomofo, r):
			scripts["CJK"] = true
		case unicode.Is(unicode.Armenian, r):
			scripts["Armenian"] = true
		default:
			scripts["Other"] = true
		}
	}
	delete(scripts, "CJK") // CJK mixes with Latin in ordinary names
	return len(scripts) > 1
}

// reasons turns a domainFinding into reasons, with codes for a sender
// or a link.
func (f domainFinding) reasons(host string, sender bool) []Reason {
	var rs []Reason
	pick := func(senderCode, linkCode string) string {
		if sender {
			return senderCode
		}
		return linkCode
	}
	// One format per finding and kind of domain (the message files
	// translate them by format: mailcheck.text.*).
	form := func(senderFormat, linkFormat string) string {
		if sender {
			return senderFormat
		}
		return linkFormat
	}
	u := unicodeHost(host)
	if f.confusable {
		msg := fmt.Sprintf(form("the sender domain %s uses characters that look like the platform's name", "the link domain %s uses characters that look like the platform's name"), host)
		if u != host {
			msg = fmt.Sprintf(form("the sender domain %s (shown as %s) uses characters that look like the platform's name", "the link domain %s (shown as %s) uses characters that look like the platform's name"), host, u)
		}
		rs = append(rs, Reason{pick(CodeSenderLookalike, CodeLinkLookalike), msg})
	}
	if f.edit {
		rs = append(rs, Reason{pick(CodeSenderEditDistance, CodeLinkEditDistance),
			fmt.Sprintf(form("the sender domain %s is a slight misspelling of the platform's name", "the link domain %s is a slight misspelling of the platform's name"), host)})
	}
	if f.brandName {
		rs = append(rs, Reason{pick(CodeSenderBrandOtherDomain, CodeLinkBrandOtherDomain),
			fmt.Sprintf(form("the sender domain %s carries the platform's name but is not one of its domains", "the link domain %s carries the platform's name but is not one of its domains"), host)})
	}
	if f.mixed {
		rs = append(rs, Reason{pick(CodeSenderMixedScript, CodeLinkMixedScript),
			fmt.Sprintf(form("the sender domain %s mixes letters of different alphabets", "the link domain %s mixes letters of different alphabets"), host)})
	}
	if f.punycode {
		msg := fmt.Sprintf(form("the sender domain %s is an international (punycode) name", "the link domain %s is an international (punycode) name"), host)
		if u != host {
			msg = fmt.Sprintf(form("the sender domain %s (shown as %s) is an international (punycode) name", "the link domain %s (shown as %s) is an international (punycode) name"), host, u)
		}
		rs = append(rs, Reason{pick(CodeSenderPunycode, CodeLinkPunycode), msg})
	}
	return rs
}

// sender is one parsed From address.
type sender struct {
	name   string
	domain string // ASCII, lower case
}

var addressParser = &mail.AddressParser{WordDecoder: wordDecoder}

// parseFrom reads the addresses of a From field value, leniently.
func parseFrom(from string) []sender {
	var out []sender
	if list, err := addressParser.ParseList(from); err == nil {
		for _, a := range list {
			out = append(out, sender{name: a.Name, domain: addressDomain(a.Address)})
		}
		return out
	}
	// Broken syntax: take the last <...> or the last word with an @.
	decoded := decodeHeader(from)
	addr := ""
	if i := strings.LastIndex(decoded, "<"); i >= 0 {
		addr = strings.TrimSuffix(strings.TrimSpace(decoded[i+1:]), ">")
		return []sender{{name: strings.Trim(strings.TrimSpace(decoded[:i]), `"`), domain: addressDomain(addr)}}
	}
	for _, w := range strings.Fields(decoded) {
		if strings.Contains(w, "@") {
			addr = w
		}
	}
	return []sender{{domain: addressDomain(addr)}}
}

func addressDomain(addr string) string {
	i := strings.LastIndex(addr, "@")
	if i < 0 {
		return ""
	}
	return normalizeHost(strings.Trim(addr[i+1:], "<>[] \t\"'"))
}

// fromDomain returns the domain of the first From address.
func fromDomain(from string) string {
	s := parseFrom(from)
	if len(s) == 0 {
		return ""
	}
	return s[0].domain
}

// claims tells whether a From field claims to be the platform, and why.
func (b *brand) claims(from string) (bool, []Reason) {
	var rs []Reason
	claims := false
	for _, s := range parseFrom(from) {
		if b.isBrandHost(s.domain) {
			claims = true
			rs = append(rs, Reason{CodeFromBrandDomain, fmt.Sprintf("the sender address is on the platform's domain %s", s.domain)})
		} else if s.domain != "" {
			f := b.inspectHost(s.domain)
			if f.confusable || f.edit || f.brandName {
				claims = true
			}
			rs = append(rs, f.reasons(s.domain, true)...)
		}
		if s.name != "" && !b.isBrandHost(s.domain) {
			name := strings.Join(strings.Fields(strings.ToLower(norm.NFKC.String(s.name))), "")
			sk := skeleton(name)
			for _, n := range b.names {
				if strings.Contains(name, n) || strings.Contains(sk, skeleton(n)) {
					claims = true
					rs = append(rs, Reason{CodeDisplayNameBrand, fmt.Sprintf("the sender's name says %s but the address is not on the platform's domain", s.name)})
					break
				}
			}
			for _, w := range strings.FieldsFunc(s.name, func(r rune) bool { return r == ' ' || r == '<' || r == '>' || r == '(' || r == ')' }) {
				if d := addressDomain(w); d != "" && b.isBrandHost(d) {
					claims = true
					rs = append(rs, Reason{CodeDisplayNameAddress, fmt.Sprintf("the sender's name shows a platform address (%s) but the mail comes from another", w)})
					break
				}
			}
		}
	}
	return claims, rs
}
