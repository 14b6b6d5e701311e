package policy

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// A token is a lower-case public fact of letters and digits only.
type token string

// minPhoneRun is the shortest run of a phone number's digits refused.
const minPhoneRun = 4

// Words too generic to count as part of a business or store name.
var businessStopWords = map[string]bool{
	"the": true, "and": true, "ltd": true, "llc": true, "inc": true, "gmbh": true,
	"plc": true, "corp": true, "company": true, "limited": true, "group": true,
	"shop": true, "store": true, "online": true, "sarl": true, "srl": true,
	"official": true, "trading": true,
}

// Email domain labels that say nothing about the person.
var domainStopWords = map[string]bool{"www": true, "mail": true, "com": true, "net": true, "org": true}

// forms are the shapes of a password that public facts are looked for in.
type forms struct {
	lower  string   // lower case
	leets  []string // lower with leetspeak read as letters ("1" as i and as l)
	squash []string // lower and leets with all but letters and digits removed
	digits []string // runs of digits, separators such as "-" and " " inside removed
}

func newForms(n string) forms {
	lower := strings.ToLower(n)
	f := forms{lower: lower}
	f.leets = []string{deleet(lower, 'i')}
	if strings.IndexByte(lower, '1') >= 0 {
		f.leets = append(f.leets, deleet(lower, 'l'))
	}
	f.squash = append(f.squash, squash(lower))
	for _, l := range f.leets {
		f.squash = append(f.squash, squash(l))
	}
	f.digits = digitRuns(lower)
	return f
}

// contains reports whether t occurs in f. Facts of four or more
// characters may occur anywhere; shorter ones only as a whole word (not
// next to another letter), so that "Lee" does not match "sleepless".
func (f forms) contains(t token) bool {
	s := string(t)
	if utf8.RuneCountInString(s) >= 4 {
		for _, h := range f.squash {
			if strings.Contains(h, s) {
				return true
			}
		}
		return false
	}
	if wordIn(f.lower, s) {
		return true
	}
	for _, h := range f.leets {
		if wordIn(h, s) {
			return true
		}
	}
	return false
}

// wordIn reports whether w occurs in h with no letter right before or after.
func wordIn(h, w string) bool {
	for i := 0; ; {
		j := strings.Index(h[i:], w)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(w)
		before, _ := utf8.DecodeLastRuneInString(h[:start])
		after, _ := utf8.DecodeRuneInString(h[end:])
		if (start == 0 || !unicode.IsLetter(before)) && (end == len(h) || !unicode.IsLetter(after)) {
			return true
		}
		_, size := utf8.DecodeRuneInString(h[start:])
		i = start + size
	}
}

// squash lower-cases s (after NFKC) and keeps only its letters and digits.
func squash(s string) string {
	s = strings.ToLower(norm.NFKC.String(s))
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

// digitRuns returns the runs of ASCII digits in s, where a run may contain
// the separators people write phone numbers with ("555-123 4567").
func digitRuns(s string) []string {
	var runs []string
	var cur []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			cur = append(cur, c)
		case len(cur) > 0 && strings.IndexByte(" -.()/+", c) >= 0 && i+1 < len(s) && strings.IndexByte(" -.()/+0123456789", s[i+1]) >= 0:
			// separator inside a number
		default:
			if len(cur) > 0 {
				runs = append(runs, string(cur))
				cur = cur[:0]
			}
		}
	}
	if len(cur) > 0 {
		runs = append(runs, string(cur))
	}
	return runs
}

// facts are a Context turned into tokens.
type facts struct {
	email, names, business []token
	phone                  []string // every run of minPhoneRun digits of the phone number
	raw                    []string // for zxcvbn's user inputs
}

func newFacts(c Context) facts {
	var f facts
	if at := strings.LastIndexByte(c.Email, '@'); at > 0 {
		local, domain := c.Email[:at], c.Email[at+1:]
		if plus := strings.IndexByte(local, '+'); plus > 0 {
			local = local[:plus]
		}
		f.email = tokensOf(local, nil)
		labels := strings.Split(strings.ToLower(domain), ".")
		if len(labels) > 1 {
			labels = labels[:len(labels)-1] // the top-level domain
		}
		for _, l := range labels {
			f.email = append(f.email, tokensOf(l, domainStopWords)...)
		}
		f.raw = append(f.raw, local, domain)
	} else if c.Email != "" {
		f.email = tokensOf(c.Email, nil)
		f.raw = append(f.raw, c.Email)
	}
	for _, n := range c.Names {
		f.names = append(f.names, tokensOf(n, nil)...)
		f.raw = append(f.raw, strings.Fields(n)...)
	}
	for _, b := range append(append([]string(nil), c.BusinessNames...), c.StoreNames...) {
		f.business = append(f.business, tokensOf(b, businessStopWords)...)
		f.raw = append(f.raw, strings.Fields(b)...)
	}
	var digits []byte
	for i := 0; i < len(c.Phone); i++ {
		if '0' <= c.Phone[i] && c.Phone[i] <= '9' {
			digits = append(digits, c.Phone[i])
		}
	}
	if len(digits) >= minPhoneRun {
		seen := map[string]bool{}
		for i := 0; i+minPhoneRun <= len(digits); i++ {
			w := string(digits[i : i+minPhoneRun])
			if !seen[w] {
				seen[w] = true
				f.phone = append(f.phone, w)
			}
		}
		f.raw = append(f.raw, string(digits))
	}
	return f
}

func (f facts) inputs() []string { return f.raw }

// tokensOf returns s squashed whole and each of its words, keeping those of
// three characters or more that are not stop words.
func tokensOf(s string, stop map[string]bool) []token {
	var out []token
	add := func(t string) {
		if utf8.RuneCountInString(t) < 3 || stop[t] {
			return
		}
		for _, o := range out {
			if string(o) == t {
				return
			}
		}
		out = append(out, token(t))
	}
	add(squash(s))
	for _, w := range strings.FieldsFunc(strings.ToLower(norm.NFKC.String(s)), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		add(w)
	}
	return out
}

func (p *Policy) factReasons(f forms, c facts) []Reason {
	var rs []Reason
	anyIn := func(ts []token) bool {
		for _, t := range ts {
			if f.contains(t) {
				return true
			}
		}
		return false
	}
	if anyIn(c.email) {
		rs = append(rs, Reason{CodeContainsEmail, MessageContainsEmail})
	}
	if anyIn(c.names) {
		rs = append(rs, Reason{CodeContainsName, MessageContainsName})
	}
	if anyIn(c.business) {
		rs = append(rs, Reason{CodeContainsBusiness, MessageContainsBusiness})
	}
	if len(c.phone) > 0 && phoneIn(f.digits, c.phone) {
		rs = append(rs, Reason{CodeContainsPhone, MessageContainsPhone})
	}
	if anyIn(p.platform) {
		rs = append(rs, Reason{CodeContainsPlatformWords, MessageContainsPlatform})
	}
	return rs
}

func phoneIn(runs, windows []string) bool {
	for _, r := range runs {
		if len(r) < minPhoneRun {
			continue
		}
		for _, w := range windows {
			if strings.Contains(r, w) {
				return true
			}
		}
	}
	return false
}
