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

// Words of postal addresses too generic to count as a fact of one store.
var addressStopWords = map[string]bool{
	"the": true, "and": true, "street": true, "road": true, "avenue": true, "ave": true, "lane": true,
	"drive": true, "court": true, "place": true, "square": true, "way": true, "suite": true, "floor": true,
	"unit": true, "building": true, "apt": true, "box": true, "north": true, "south": true, "east": true,
	"west": true, "usa": true, "united": true, "states": true, "kingdom": true,
}

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
	email, names, business, store []token
	phone                         []string // every run of minPhoneRun digits of the phone numbers
	raw                           []string // for zxcvbn's user inputs
}

// emailTokens returns the facts of an email address: the local part (up to
// a "+") and the labels of the domain but its top level.
func emailTokens(addr string) (ts []token, raw []string) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		if addr == "" {
			return nil, nil
		}
		return tokensOf(addr, nil), []string{addr}
	}
	local, domain := addr[:at], addr[at+1:]
	if plus := strings.IndexByte(local, '+'); plus > 0 {
		local = local[:plus]
	}
	ts = tokensOf(local, nil)
	labels := strings.Split(strings.ToLower(domain), ".")
	if len(labels) > 1 {
		labels = labels[:len(labels)-1] // the top-level domain
	}
	for _, l := range labels {
		ts = append(ts, tokensOf(l, domainStopWords)...)
	}
	return ts, []string{local, domain}
}

func newFacts(c Context) facts {
	var f facts
	var raw []string
	f.email, raw = emailTokens(c.Email)
	f.raw = append(f.raw, raw...)
	for _, e := range c.StoreEmails {
		ts, raw := emailTokens(e)
		f.store = append(f.store, ts...)
		f.raw = append(f.raw, raw...)
	}
	for _, a := range c.StoreAddresses {
		f.store = append(f.store, tokensOf(a, addressStopWords)...)
		f.raw = append(f.raw, strings.Fields(a)...)
	}
	for _, n := range c.Names {
		f.names = append(f.names, tokensOf(n, nil)...)
		f.raw = append(f.raw, strings.Fields(n)...)
	}
	for _, b := range append(append([]string(nil), c.BusinessNames...), c.StoreNames...) {
		f.business = append(f.business, tokensOf(b, businessStopWords)...)
		f.raw = append(f.raw, strings.Fields(b)...)
	}
	seen := map[string]bool{}
	for _, phone := range append([]string{c.Phone}, c.Phones...) {
		var digits []byte
		for i := 0; i < len(phone); i++ {
			if '0' <= phone[i] && phone[i] <= '9' {
				digits = append(digits, phone[i])
			}
		}
		if len(digits) < minPhoneRun {
			continue
		}
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
	if anyIn(c.store) {
		rs = append(rs, Reason{CodeContainsStoreDetails, MessageContainsStore})
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
