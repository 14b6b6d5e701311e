package policy

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sellerguard/sellerguard/internal/zxcvbn"
	"golang.org/x/text/unicode/norm"

	"github.com/sellerguard/sellerguard/internal/password"
)

// Reason codes. They are stable: clients and the API match on them.
const (
	CodeTooShort              = "too_short"
	CodeTooLong               = "too_long"
	CodeInvalidEncoding       = "invalid_encoding"
	CodeCommon                = "common"
	CodeBreached              = "breached"
	CodeBreachUnavailable     = "breach_check_unavailable"
	CodeContainsEmail         = "contains_email"
	CodeContainsName          = "contains_name"
	CodeContainsBusiness      = "contains_business"
	CodeContainsPhone         = "contains_phone"
	CodeContainsStoreDetails  = "contains_store_details"
	CodeContainsPlatformWords = "contains_platform_word"
	CodeTooWeak               = "too_weak"
	CodeNeedsVariety          = "needs_variety"
	CodeReused                = "reused"
)

// Messages for the codes whose message has no parameter. CodeTooShort's
// message names the minimum length, or is MessageEmpty when nothing was
// typed.
const (
	MessageTooLong           = "This password is too long. Use at most 4096 bytes (about 1000 characters)."
	MessageEmpty             = "Enter a password."
	MessageInvalidEncoding   = "This password contains characters that cannot be used, such as control characters."
	MessageCommon            = "This is a commonly used password, or one with only small changes such as a capital letter, a year or a symbol added. Choose something less predictable."
	MessageBreached          = "This password has appeared in a data breach, so attackers will try it. Choose a different one."
	MessageBreachUnavailable = "We could not check this password against known data breaches just now. Please try again in a moment."
	MessageContainsEmail     = "Do not use your email address or part of it in your password."
	MessageContainsName      = "Do not use your name in your password."
	MessageContainsBusiness  = "Do not use your business or store name in your password."
	MessageContainsPhone     = "Do not use your phone number or part of it in your password."
	MessageContainsStore     = "Do not use your store's public details (its address or contact email) in your password."
	MessageContainsPlatform  = "Do not use the name of this platform in your password."
	MessageTooWeak           = "This password is too easy to guess. Make it longer, for example with a few unrelated words."
	MessageNeedsVariety      = "Your business requires passwords that mix letters, numbers and symbols."
	MessageReused            = "You used this password recently. Choose one you have not used before."
)

// Defaults and floors.
const (
	DefaultMinLength = 12
	FloorMinLength   = 8 // MinLength below this is raised to it
	DefaultMinScore  = 3
	// The strength estimate looks at up to maxScoreChunks chunks of
	// scoreChunkRunes characters (see zxcvbnScore).
	scoreChunkRunes = 32
	maxScoreChunks  = 2
)

// A Reason is one reason a password was refused.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Context is what is publicly known about the person choosing a password.
// Any field may be empty.
type Context struct {
	Email         string
	Names         []string // the person's names: given, family, full, display
	BusinessNames []string
	StoreNames    []string
	Phone         string // any format; only the digits are used
	// Phones are further public phone numbers, checked like Phone: other
	// numbers on the account, a store's public phone.
	Phones []string
	// StoreEmails and StoreAddresses are a store's public contact email
	// and postal address: their words and numbers.
	StoreEmails    []string
	StoreAddresses []string
}

// Options are the settings of a Policy.
type Options struct {
	// MinLength is the minimum length in code points after NFKC
	// normalisation; 0 means DefaultMinLength, and anything below
	// FloorMinLength is raised to it.
	MinLength int
	// MinScore is the lowest zxcvbn score (0–4) accepted; 0 turns the
	// strength check off.
	MinScore int
	// Strict also requires letters, digits and symbols (a business option).
	Strict bool
	// PlatformWords may not appear in a password (case-insensitive).
	PlatformWords []string
	// BreachFailOpen accepts a password on the other checks when the
	// breach checker cannot answer (CheckNew then reports it unverified);
	// false refuses it with CodeBreachUnavailable.
	BreachFailOpen bool
}

// A BreachChecker reports whether a password is known to be breached.
// An error means the answer is unknown. breach.Index, breach.RangeClient
// and breach.Any satisfy it.
type BreachChecker interface {
	Breached(ctx context.Context, password string) (bool, error)
}

// A Policy checks passwords. It is safe for concurrent use.
type Policy struct {
	opts     Options
	common   *CommonList
	breached BreachChecker
	platform []token
}

// New returns a Policy. common may be nil (no common-password check) and
// so may breached (no breach check).
func New(opts Options, common *CommonList, breached BreachChecker) *Policy {
	if opts.MinLength == 0 {
		opts.MinLength = DefaultMinLength
	}
	opts.MinLength = max(opts.MinLength, FloorMinLength)
	opts.MinScore = min(max(opts.MinScore, 0), 4)
	p := &Policy{opts: opts, common: common, breached: breached}
	for _, w := range opts.PlatformWords {
		if t := squash(w); utf8.RuneCountInString(t) >= 3 {
			p.platform = append(p.platform, token(t))
		}
	}
	return p
}

// Options returns p's options, with defaults applied.
func (p *Policy) Options() Options { return p.opts }

// WithStrict returns a copy of p with the strict option set to strict,
// for a business that has turned it on.
func (p *Policy) WithStrict(strict bool) *Policy {
	q := *p
	q.opts.Strict = strict
	return &q
}

// Check returns every reason pw is refused, or nil if it is accepted.
// A password over password.MaxBytes bytes, or not valid UTF-8 text, gets a
// single reason at once, before any other work. Check never returns the
// password in a message. Reuse is not checked here (see CodeReused).
func (p *Policy) Check(ctx context.Context, pw string, c Context) []Reason {
	rs, _ := p.CheckNew(ctx, pw, c)
	return rs
}

// CheckNew is Check that also reports whether the breach checker could not
// answer and the password was accepted all the same (BreachFailOpen): such
// a password is to be checked again at the next sign-in.
func (p *Policy) CheckNew(ctx context.Context, pw string, c Context) (reasons []Reason, breachUnverified bool) {
	if len(pw) > password.MaxBytes {
		return []Reason{{CodeTooLong, MessageTooLong}}, false
	}
	if !validText(pw) {
		return []Reason{{CodeInvalidEncoding, MessageInvalidEncoding}}, false
	}
	if pw == "" {
		// Nothing typed: one plain request, not a list of what an empty
		// password lacks.
		return []Reason{{CodeTooShort, MessageEmpty}}, false
	}
	n := norm.NFKC.String(pw)
	var rs []Reason
	if utf8.RuneCountInString(n) < p.opts.MinLength {
		rs = append(rs, Reason{CodeTooShort, fmt.Sprintf("Use at least %d characters.", p.opts.MinLength)})
	}
	if p.isCommon(n) {
		rs = append(rs, Reason{CodeCommon, MessageCommon})
	}
	f := newForms(n)
	facts := newFacts(c)
	rs = append(rs, p.factReasons(f, facts)...)
	if p.opts.MinScore > 0 && p.strength(n, facts.inputs()) < p.opts.MinScore {
		rs = append(rs, Reason{CodeTooWeak, MessageTooWeak})
	}
	if p.opts.Strict && !hasVariety(n) {
		rs = append(rs, Reason{CodeNeedsVariety, MessageNeedsVariety})
	}
	if p.breached != nil {
		switch bad, err := p.breached.Breached(ctx, pw); {
		case bad:
			rs = append(rs, Reason{CodeBreached, MessageBreached})
		case err != nil && p.opts.BreachFailOpen:
			breachUnverified = true
		case err != nil:
			rs = append(rs, Reason{CodeBreachUnavailable, MessageBreachUnavailable})
		}
	}
	return rs, breachUnverified
}

// Score returns a strength from 0 (very weak) to 4 (strong) for a live
// meter: zxcvbn's score, 0 for a password that is common or contains a
// public fact, and at most 1 for one shorter than the minimum. It does not
// consult the breach checker.
func (p *Policy) Score(pw string, c Context) int {
	if len(pw) > password.MaxBytes || !validText(pw) {
		return 0
	}
	n := norm.NFKC.String(pw)
	facts := newFacts(c)
	if p.isCommon(n) || len(p.factReasons(newForms(n), facts)) > 0 {
		return 0
	}
	s := p.strength(n, facts.inputs())
	if utf8.RuneCountInString(n) < p.opts.MinLength {
		s = min(s, 1)
	}
	return s
}

// Tips returns advice for making pw stronger, for display next to the
// meter: the guidance to use length and to mix numbers, letters and
// symbols. It is advice only, enforced only under the strict option. A
// password that Check refuses at once (too long, not text) gets no tips.
func Tips(pw string) []string {
	if len(pw) > password.MaxBytes || !validText(pw) {
		return nil
	}
	var tips []string
	n := norm.NFKC.String(pw)
	if utf8.RuneCountInString(n) < 16 {
		tips = append(tips, "Longer is stronger: use 16 characters or more, for example a few unrelated words.")
	}
	var lower, upper, digit, symbol bool
	for _, r := range n {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		case !unicode.IsLetter(r):
			symbol = true
		}
	}
	if !digit {
		tips = append(tips, "Add a number.")
	}
	if !symbol {
		tips = append(tips, "Add a symbol, such as ! # % or a space.")
	}
	if !(lower && upper) {
		tips = append(tips, "Mix upper-case and lower-case letters.")
	}
	return tips
}

// validText reports whether s is UTF-8 without control characters.
func validText(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return false
		}
	}
	return utf8.ValidString(s)
}

func (p *Policy) isCommon(n string) bool {
	if p.common == nil {
		return false
	}
	for _, v := range Variants(n) {
		if p.common.Contains(v) {
			return true
		}
	}
	if strings.ContainsRune(n, ' ') {
		for _, v := range Variants(strings.ReplaceAll(n, " ", "")) {
			if p.common.Contains(v) {
				return true
			}
		}
	}
	return false
}

// strength returns zxcvbn's score for n, or for n without its usual
// decorations if that is lower and the core is mostly made of patterns
// (words, keyboard runs, sequences; separators between words dropped)
// rather than random characters: attackers apply
// the same decorations ("Summer" → "Summer2024!") at little cost, while
// the shorter core of a random password would only be underrated.
func (p *Policy) strength(n string, inputs []string) int {
	want := max(p.opts.MinScore, 1)
	s := zxcvbnScore(n, inputs, want)
	if s < want {
		return s
	}
	// zxcvbn knows number sequences only in ASCII digits: "一二三四五六七八九十"
	// or "零一二三四五六七八九" is bruteforce to it. Full-width digits
	// ("１２３４…") are ASCII after NFKC already; Chinese numerals are
	// scored as the digits they are, so a counting sequence scores as
	// "1234567890" does.
	if d := chineseDigits(n); d != n {
		if s = min(s, zxcvbnScore(d, inputs, want)); s < want {
			return s
		}
		if u := repeatedUnit(d); u != "" {
			if s = min(s, zxcvbnScore(u, inputs, want)); s < want {
				return s
			}
		}
	}
	// zxcvbn finds repeats only in ASCII: "我我我我我我我我我我我我" or
	// "密码密码密码密码密码密码" is bruteforce to it, ten guesses a character,
	// and scores 4. A password that is one unit repeated is as strong as
	// the unit (zxcvbn's own repeat rule adds little more).
	if u := repeatedUnit(n); u != "" {
		if s = min(s, zxcvbnScore(u, inputs, want)); s < want {
			return s
		}
	}
	lower := strings.ToLower(n)
	a, b := coreBounds(lower)
	core := lower[a:b]
	if core == lower || utf8.RuneCountInString(core) < minCoreRunes || utf8.RuneCountInString(core) > scoreChunkRunes {
		return s
	}
	if wordlike(core) {
		core = strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) {
				return r
			}
			return -1
		}, core)
	}
	r := zxcvbn.PasswordStrength(core, inputs)
	random := 0
	for _, m := range r.Sequence {
		if m.Pattern == "bruteforce" {
			random += utf8.RuneCountInString(m.Token)
		}
	}
	if random*2 > utf8.RuneCountInString(core) {
		return s
	}
	// Attackers try the usual decorations of a word — digits, a year, a
	// counting run, one symbol, perhaps repeated ("2024!", "!!", "#1") —
	// at little cost, so those count as free. A decoration with several
	// different symbols is not in such a list, and costs its own guesses:
	// a random password whose middle happens to hold a word
	// ("(+#42\"/zvBi+e40|" holds "bi+e") keeps the strength of its ends.
	guesses := r.Guesses
	for _, d := range []string{lower[:a], lower[b:]} {
		if !plainDecoration(d) {
			guesses *= zxcvbn.PasswordStrength(d, inputs).Guesses
		}
	}
	return min(s, guessesToScore(guesses))
}

// plainDecoration reports whether d, a decoration Core removed, is digits
// with at most one kind of symbol.
func plainDecoration(d string) bool {
	symbol := byte(0)
	for i := 0; i < len(d); i++ {
		switch c := d[i]; {
		case '0' <= c && c <= '9':
		case symbol == 0 || symbol == c:
			symbol = c
		default:
			return false
		}
	}
	return true
}

// guessesToScore is zxcvbn's mapping from a guess count to its 0–4 score
// (under 10³, 10⁶, 10⁸, 10¹⁰ guesses, or more).
func guessesToScore(guesses float64) int {
	const delta = 5
	switch {
	case guesses < 1e3+delta:
		return 0
	case guesses < 1e6+delta:
		return 1
	case guesses < 1e8+delta:
		return 2
	case guesses < 1e10+delta:
		return 3
	}
	return 4
}

// zxcvbnScore returns zxcvbn's score for n. zxcvbn's cost grows with the
// square of the length, so a long n is scored in chunks of scoreChunkRunes
// (at most maxScoreChunks of them), and the best chunk's score is taken,
// stopping once one reaches want. A password is at least as strong as any
// part of it, so this can only underrate it.
func zxcvbnScore(n string, inputs []string, want int) int {
	best := 0
	for c := 0; c < maxScoreChunks && n != ""; c++ {
		chunk, rest := n, ""
		k := 0
		for i := range n {
			if k == scoreChunkRunes {
				chunk, rest = n[:i], n[i:]
				break
			}
			k++
		}
		best = max(best, zxcvbn.PasswordStrength(chunk, inputs).Score)
		if best >= want {
			break
		}
		n = rest
	}
	return best
}

func hasVariety(n string) bool {
	var letter, digit, symbol bool
	for _, r := range n {
		switch {
		case unicode.IsLetter(r):
			letter = true
		case unicode.IsDigit(r):
			digit = true
		default:
			symbol = true
		}
	}
	return letter && digit && symbol
}

// repeatedUnit returns the shortest unit that n is two or more copies of,
// counted in characters (runes), or "" when n is no such repetition.
func repeatedUnit(n string) string {
	r := []rune(n)
	for size := 1; size <= len(r)/2; size++ {
		if len(r)%size != 0 {
			continue
		}
		same := true
		for i := size; i < len(r) && same; i++ {
			same = r[i] == r[i-size]
		}
		if same {
			return string(r[:size])
		}
	}
	return ""
}

// chineseNumeralDigits are the Chinese numerals (plain and financial
// forms) as the digits people type for them; ten, hundred, thousand and
// ten thousand as 0, which is how a counting sequence goes on ("…九十" as
// "…90").
var chineseNumeralDigits = map[rune]rune{
	'零': '0', '〇': '0', '一': '1', '壹': '1', '幺': '1', '二': '2', '贰': '2', '两': '2', '三': '3', '叁': '3',
	'四': '4', '肆': '4', '五': '5', '伍': '5', '六': '6', '陆': '6', '七': '7', '柒': '7', '八': '8', '捌': '8',
	'九': '9', '玖': '9', '十': '0', '拾': '0', '百': '0', '佰': '0', '千': '0', '仟': '0', '万': '0',
}

// chineseDigits returns n with its Chinese numerals written as digits.
func chineseDigits(n string) string {
	return strings.Map(func(r rune) rune {
		if d, ok := chineseNumeralDigits[r]; ok {
			return d
		}
		return r
	}, n)
}
