package policy

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what counts as a "usual decoration" around a common password:
// a decoration at either end is a run of digits and symbols with at most
// maxDecorDigits digits (a year, "123", "007") — or a plain counting or
// repeated sequence of any length ("123456789", "0000") — and at most
// maxDecorSymbols symbols ("!", "!!", "#1"). What remains, the core, must
// have at least minCoreRunes characters, so that "a" followed by random
// digits is not mistaken for a decorated common password.
const (
	maxDecorDigits  = 4
	maxDecorSymbols = 3
	minCoreRunes    = 3
)

// Variants returns the lower-case forms of pw that are looked up in the
// list of common passwords: pw itself, pw without its usual decorations
// (trailing and leading digits, years and symbols), and the leetspeak
// readings of those ("p@ssw0rd" → "password"; "1" is read both as "i" and
// as "l"). pw should already be in NFKC form. The first element is always
// strings.ToLower(pw); the others are distinct from it and from each other.
//
// The generator of the shipped list uses the same function to drop
// entries that another entry already covers, so the two must not drift.
func Variants(pw string) []string {
	lower := strings.ToLower(pw)
	out := make([]string, 0, 8)
	out = append(out, lower)
	add := func(s string) {
		if utf8.RuneCountInString(s) < minCoreRunes {
			return
		}
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	addLeet := func(s string) {
		add(s)
		if !hasLetter(s) || !hasLeet(s) {
			return
		}
		add(deleet(s, 'i'))
		if strings.IndexByte(s, '1') >= 0 {
			add(deleet(s, 'l'))
		}
	}
	bases := []string{lower}
	if sym := deleetSymbols(lower); sym != lower && hasLetter(lower) {
		// Leet symbols at the ends ("$ecret", "p@ss") are part of the
		// word rather than a decoration: also read them first.
		bases = append(bases, sym)
	}
	for _, base := range bases {
		for _, t := range trailingCuts(base) {
			for _, c := range leadingCuts(t) {
				addLeet(c)
			}
		}
	}
	return out
}

// Core returns lower with the longest usual decorations removed from
// both ends that leave at least minCoreRunes characters, then up to three
// more trailing digits (so that "sample1231987" and "kissa22024" give
// "sample" and "kissa"); or lower itself.
func Core(lower string) string {
	a, b := coreBounds(lower)
	return lower[a:b]
}

// coreBounds returns where Core(lower) starts and ends in lower: the
// decorations are lower[:a] and lower[b:].
func coreBounds(lower string) (a, b int) {
	longest := func(cuts []string, maxLen int) string {
		for i := len(cuts) - 1; i > 0; i-- {
			if utf8.RuneCountInString(cuts[i]) >= minCoreRunes && len(cuts[0])-len(cuts[i]) <= maxLen {
				return cuts[i]
			}
		}
		return cuts[0]
	}
	t := longest(trailingCuts(lower), maxCut) // a prefix of lower
	c := longest(leadingCuts(t), maxCut)      // a suffix of t
	a, b = len(t)-len(c), len(t)
	digits := 0
	for digits < len(c) && digits < 3 && '0' <= c[len(c)-1-digits] && c[len(c)-1-digits] <= '9' {
		digits++
	}
	if digits > 0 && utf8.RuneCountInString(c[:len(c)-digits]) >= minCoreRunes {
		b -= digits
	}
	return a, b
}

// wordlike reports whether s is letters, possibly with separators
// (space, "-", "_", "."), and has at least minCoreRunes letters.
func wordlike(s string) bool {
	n := 0
	for _, r := range s {
		switch {
		case unicode.IsLetter(r):
			n++
		case r == ' ' || r == '-' || r == '_' || r == '.':
		default:
			return false
		}
	}
	return n >= minCoreRunes
}

// maxCut bounds how many characters of decoration are tried at either end.
const maxCut = 16

// trailingCuts returns s, then s without each usual decoration that ends
// it, from the shortest cut to the longest ("kissa22024!" gives
// "kissa22024", "kissa2202", …, "kissa2").
func trailingCuts(s string) []string {
	out := []string{s}
	for k := len(s) - 1; k >= 0 && k >= len(s)-maxCut; k-- {
		if !isDecor(rune(s[k])) || s[k] >= utf8.RuneSelf {
			break
		}
		if usualDecoration(s[k:]) {
			out = append(out, s[:k])
		}
	}
	return out
}

// leadingCuts is trailingCuts for the start of s.
func leadingCuts(s string) []string {
	out := []string{s}
	for k := 1; k <= len(s) && k <= maxCut; k++ {
		if !isDecor(rune(s[k-1])) || s[k-1] >= utf8.RuneSelf {
			break
		}
		if usualDecoration(s[:k]) {
			out = append(out, s[k:])
		}
	}
	return out
}

func hasLetter(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) {
			return true
		}
	}
	return false
}

func isDecor(r rune) bool {
	return r < utf8.RuneSelf && !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') && r > ' ' || r == ' '
}

// usualDecoration reports whether d, a run of ASCII digits and symbols,
// is a decoration people commonly add to a password.
func usualDecoration(d string) bool {
	digits, symbols := 0, 0
	var ds []byte
	for i := 0; i < len(d); i++ {
		if '0' <= d[i] && d[i] <= '9' {
			digits++
			ds = append(ds, d[i])
		} else {
			symbols++
		}
	}
	if symbols > maxDecorSymbols {
		return false
	}
	return digits <= maxDecorDigits || isSequence(ds)
}

// isSequence reports whether ds is a run of one repeated digit or of
// consecutive digits counting up or down ("1234567890", "987654").
func isSequence(ds []byte) bool {
	if len(ds) < 2 {
		return true
	}
	step := int(ds[1]) - int(ds[0])
	if step == 9 || step == -9 {
		step = -step / 9 // "90" wraps like "0123456789" → "...890"
	}
	if step < -1 || step > 1 {
		return false
	}
	for i := 2; i < len(ds); i++ {
		d := int(ds[i]) - int(ds[i-1])
		if d != step && !(step == 1 && d == -9) && !(step == -1 && d == 9) {
			return false
		}
	}
	return true
}

func hasLeet(s string) bool {
	return strings.ContainsAny(s, "4@8(3691!|05$7+2")
}

// deleet reads leetspeak characters as letters; one is read as one1.
func deleet(s string, one byte) string {
	b := []byte(s)
	for i, c := range b {
		switch c {
		case '4', '@':
			b[i] = 'a'
		case '8':
			b[i] = 'b'
		case '(':
			b[i] = 'c'
		case '3':
			b[i] = 'e'
		case '6', '9':
			b[i] = 'g'
		case '1':
			b[i] = one
		case '!':
			b[i] = 'i'
		case '|':
			b[i] = 'l'
		case '0':
			b[i] = 'o'
		case '5', '$':
			b[i] = 's'
		case '7', '+':
			b[i] = 't'
		case '2':
			b[i] = 'z'
		}
	}
	return string(b)
}

// deleetSymbols reads only the leet symbols that are not digits.
func deleetSymbols(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch c {
		case '@':
			b[i] = 'a'
		case '$':
			b[i] = 's'
		case '|':
			b[i] = 'l'
		case '(':
			b[i] = 'c'
		}
	}
	return string(b)
}
