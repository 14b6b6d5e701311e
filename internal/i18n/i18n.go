// Package i18n is the one way SellerGuard speaks a person's language:
// English (the default) and Simplified Chinese (zh-CN).
//
// Every text a person reads comes from the message files in locales/, one
// file per language (en.toml, zh-CN.toml), with stable, descriptive keys
// ("signin.title", "email.new_device.subject"). Messages are go-i18n
// messages: {{.Name}} placeholders and CLDR plural forms (one/other) picked
// by the value named Count.
//
// Error messages are the exception in how they are looked up, not in where
// they live: rule code builds a *sellerguard.Error with its English text, as
// it always has (the English is the message's identity, as in gettext), and
// the web layer translates it when it answers. Every English error text is an
// "err.*" key of en.toml, written as a printf format ("Use at most %d
// characters."); the Chinese message uses the same verbs, optionally indexed
// (%[2]s) where the word order differs. Catalog.Message finds the key by the
// exact English text, or by matching the formats, and fills the Chinese
// format with the values taken from the English text. A test checks that
// every English error literal in the source is in the catalogue, so nothing a
// person reads can miss its translation.
//
// Which language: a signed-in user's saved choice; else the visitor's
// language cookie; else the browser's Accept-Language; else English (see
// internal/web). Emails and text messages use the recipient's saved choice,
// else the language they signed up in.
package i18n

import (
	"embed"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed locales/*.toml
var files embed.FS

// Lang is a language SellerGuard speaks, as its BCP 47 tag.
type Lang string

// The languages, English first (the default).
const (
	English Lang = "en"
	Chinese Lang = "zh-CN"
)

// Supported lists every language, the default first.
var Supported = []Lang{English, Chinese}

// Name is the language's name in itself, for the language switch.
func (l Lang) Name() string {
	if l == Chinese {
		return "中文"
	}
	return "English"
}

// String returns the tag.
func (l Lang) String() string { return string(l) }

var matcher = language.NewMatcher([]language.Tag{language.English, language.MustParse("zh-Hans-CN")})

// Parse reads a language someone chose (a cookie, a setting, a form): "en"
// and "zh-CN" and their close variants ("en-GB", "zh", "zh-Hans"). It
// reports false for anything else.
func Parse(s string) (Lang, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 35 {
		return "", false
	}
	tag, err := language.Parse(s)
	if err != nil {
		return "", false
	}
	base, _ := tag.Base()
	switch base.String() {
	case "en":
		return English, true
	case "zh":
		if script, _ := tag.Script(); script.String() == "Hant" {
			return "", false
		}
		return Chinese, true
	}
	return "", false
}

// FromAcceptLanguage picks the language for a browser's Accept-Language
// header: the best supported match, English when nothing matches.
func FromAcceptLanguage(header string) Lang {
	if header == "" || len(header) > 512 {
		return English
	}
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil || len(tags) == 0 {
		return English
	}
	_, idx, conf := matcher.Match(tags...)
	if conf == language.No || idx != 1 {
		return English
	}
	return Chinese
}

// OrDefault returns l, or English when l is not a supported language.
func OrDefault(s string) Lang {
	if l, ok := Parse(s); ok {
		return l
	}
	return English
}

// Catalog holds the messages of every language.
//
// Every message is kept as its text forms in ids; only the messages that
// need go-i18n at rendering time (placeholders or plural forms, about one
// in seven) are added to its bundle: a message in the bundle costs a
// template per plural form and a map (about 1.5 MB of heap for all of
// them), while a plain message is returned as it is.
type Catalog struct {
	bundle   *goi18n.Bundle
	loc      map[Lang]*goi18n.Localizer
	ids      map[Lang]map[string]text
	errExact map[string]string // English error text → key
	errForms []errPattern      // English error formats with verbs, longest first
}

// text is a message as the catalogue keeps it: its "other" form and, in
// a language with plural forms, its "one" form.
type text struct{ Other, One string }

// plain reports whether the message renders as its "other" form whatever
// the data: no placeholders and no plural forms.
func (t text) plain() bool { return t.One == "" && !strings.Contains(t.Other, "{{") }

// unmarshalFuncs are the formats of the message files.
var unmarshalFuncs = map[string]goi18n.UnmarshalFunc{"toml": toml.Unmarshal}

// parseMessages reads a message file of language l into its texts, and
// the messages that need go-i18n to render.
func parseMessages(l Lang, buf []byte) (texts map[string]text, templated []*goi18n.Message, tag language.Tag, err error) {
	mf, err := goi18n.ParseMessageFileBytes(buf, string(l)+".toml", unmarshalFuncs)
	if err != nil {
		return nil, nil, tag, err
	}
	texts = make(map[string]text, len(mf.Messages))
	for _, m := range mf.Messages {
		t := text{Other: m.Other, One: m.One}
		texts[m.ID] = t
		if !t.plain() {
			templated = append(templated, m)
		}
	}
	return texts, templated, mf.Tag, nil
}

type errPattern struct {
	key string
	re  *regexp.Regexp
}

// Load parses the embedded message files.
func Load() (*Catalog, error) {
	return load(func(l Lang) ([]byte, error) { return files.ReadFile("locales/" + string(l) + ".toml") })
}

// load parses the message file of each supported language that read
// returns.
func load(read func(Lang) ([]byte, error)) (*Catalog, error) {
	b := goi18n.NewBundle(language.English)
	c := &Catalog{bundle: b, loc: map[Lang]*goi18n.Localizer{}, ids: map[Lang]map[string]text{}, errExact: map[string]string{}}
	for _, l := range Supported {
		buf, err := read(l)
		if err != nil {
			return nil, fmt.Errorf("i18n: %w", err)
		}
		texts, templated, tag, err := parseMessages(l, buf)
		if err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", l, err)
		}
		if err := b.AddMessages(tag, templated...); err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", l, err)
		}
		c.ids[l] = texts
		c.loc[l] = goi18n.NewLocalizer(b, string(l))
	}
	for id, m := range c.ids[English] {
		if !strings.HasPrefix(id, "err.") {
			continue
		}
		if !hasVerb(m.Other) {
			if prev, dup := c.errExact[m.Other]; dup {
				return nil, fmt.Errorf("i18n: %s and %s have the same English text %q", prev, id, m.Other)
			}
			c.errExact[m.Other] = id
			continue
		}
		re, err := formatRegexp(m.Other)
		if err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", id, err)
		}
		c.errForms = append(c.errForms, errPattern{key: id, re: re})
	}
	// The most specific (longest literal) format first, so that "Use at
	// most %d characters." wins over a looser one; ties by key, for a stable order.
	sort.Slice(c.errForms, func(i, j int) bool {
		li, lj := len(c.errForms[i].re.String()), len(c.errForms[j].re.String())
		if li != lj {
			return li > lj
		}
		return c.errForms[i].key < c.errForms[j].key
	})
	return c, nil
}

var (
	defaultOnce sync.Once
	defaultCat  *Catalog
)

// Default is the catalogue of the embedded files. The files are part of the
// binary and checked by tests, so a broken file is a programming error.
func Default() *Catalog {
	defaultOnce.Do(func() {
		c, err := Load()
		if err != nil {
			panic(err)
		}
		defaultCat = c
	})
	return defaultCat
}

// T returns the message id in language l, with the placeholders filled
// from kv, pairs of name and value ("Count", 3, "Name", "Lee"). A message
// missing in l falls back to English; a key missing everywhere comes back
// as itself (the completeness tests keep that from happening).
func (c *Catalog) T(l Lang, id string, kv ...any) string {
	loc, ok := c.loc[l]
	if !ok {
		l, loc = English, c.loc[English]
	}
	m, ok := c.ids[l][id]
	if !ok {
		l, loc = English, c.loc[English]
		if m, ok = c.ids[English][id]; !ok {
			return id
		}
	}
	// Most messages have no placeholders or plural forms: they are their
	// text (and are not in go-i18n's bundle).
	if m.plain() {
		return m.Other
	}
	var data map[string]any
	if len(kv) > 0 {
		data = make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			if k, ok := kv[i].(string); ok {
				data[k] = kv[i+1]
			}
		}
	}
	cfg := &goi18n.LocalizeConfig{MessageID: id, TemplateData: data}
	// Count chooses a plural form only for a message that has them: given
	// to a message with one text, go-i18n looks for its "one" form when
	// Count is 1 in English and fails ("{{.Count}} of your sessions…").
	if n, ok := data["Count"]; ok {
		if e, ok := c.ids[English][id]; ok && e.One != "" {
			cfg.PluralCount = n
		}
	}
	s, err := loc.Localize(cfg)
	if err != nil || s == "" {
		if l != English {
			return c.T(English, id, kv...)
		}
		return id
	}
	return s
}

// Has reports whether language l has the key.
func (c *Catalog) Has(l Lang, id string) bool {
	_, ok := c.ids[l][id]
	return ok
}

// Keys lists the keys of language l, sorted.
func (c *Catalog) Keys(l Lang) []string {
	out := make([]string, 0, len(c.ids[l]))
	for id := range c.ids[l] {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Raw returns the unrendered "other" form of key id in language l, and its
// "one" form ("" when it has none).
func (c *Catalog) Raw(l Lang, id string) (other, one string) {
	if m, ok := c.ids[l][id]; ok {
		return m.Other, m.One
	}
	return "", ""
}

// ErrorKey finds the key of an English error text, exact or by format, with
// the values the format's verbs stood for.
func (c *Catalog) ErrorKey(english string) (key string, args []string, ok bool) {
	if k, ok := c.errExact[english]; ok {
		return k, nil, true
	}
	for _, p := range c.errForms {
		if m := p.re.FindStringSubmatch(english); m != nil {
			return p.key, m[1:], true
		}
	}
	return "", nil, false
}

// Message translates an English error or field message into language l.
// English, and a text that is not in the catalogue, come back unchanged.
// A value of a format that is itself a catalogued text ("Only the owner can
// %s." with "hand over the business"; "Choose another password: %s" with a
// policy reason) is translated too, as is a value made of several
// catalogued sentences one after the other.
func (c *Catalog) Message(l Lang, english string) string {
	return c.message(l, english, 2)
}

func (c *Catalog) message(l Lang, english string, depth int) string {
	if l == English || english == "" {
		return english
	}
	key, args, ok := c.ErrorKey(english)
	if !ok {
		return english
	}
	m, ok := c.ids[l][key]
	if !ok {
		return english
	}
	if depth > 0 {
		for i, a := range args {
			args[i] = c.value(l, a, depth-1)
		}
	}
	return fill(m.Other, args)
}

// value translates a format's value when it is a catalogued text, or a run
// of catalogued sentences; anything else (a number, a name, an address)
// stays as it is.
func (c *Catalog) value(l Lang, v string, depth int) string {
	if t := c.message(l, v, depth); t != v {
		return t
	}
	sentences := splitSentences(v)
	if len(sentences) < 2 {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(sentences); {
		// The longest run of sentences that is one catalogued text.
		j := len(sentences)
		for ; j > i; j-- {
			if _, _, ok := c.ErrorKey(strings.Join(sentences[i:j], " ")); ok {
				break
			}
		}
		if j == i {
			return v
		}
		b.WriteString(c.message(l, strings.Join(sentences[i:j], " "), depth))
		i = j
	}
	return b.String()
}

// splitSentences splits English text after each ". ".
func splitSentences(s string) []string {
	var out []string
	for {
		i := strings.Index(s, ". ")
		if i < 0 {
			break
		}
		out = append(out, s[:i+1])
		s = s[i+2:]
	}
	return append(out, s)
}

// verbRE matches one printf verb: %s, %d, %v, %q, with an optional explicit
// argument index (%[2]s).
var verbRE = regexp.MustCompile(`%(\[[1-9]\])?[sdvq]`)

func hasVerb(s string) bool { return verbRE.MatchString(strings.ReplaceAll(s, "%%", "")) }

// Verbs lists the verbs of a format, each as its argument number and letter
// ("1s", "2d"), in order of appearance.
func Verbs(format string) []string {
	var out []string
	n := 0
	for _, m := range verbRE.FindAllStringSubmatch(strings.ReplaceAll(format, "%%", ""), -1) {
		idx := n + 1
		if m[1] != "" {
			idx, _ = strconv.Atoi(strings.Trim(m[1], "[]"))
		}
		n = idx
		out = append(out, strconv.Itoa(idx)+m[0][len(m[0])-1:])
	}
	return out
}

// formatRegexp turns an English printf format into a regexp that matches
// the texts it formats, capturing each verb's value.
func formatRegexp(format string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(`^`)
	rest := format
	for {
		loc := verbRE.FindStringIndex(rest)
		if loc == nil {
			break
		}
		if strings.Contains(rest[loc[0]:loc[1]], "[") {
			return nil, fmt.Errorf("an English format uses its verbs in order, without indexes: %q", format)
		}
		b.WriteString(regexp.QuoteMeta(strings.ReplaceAll(rest[:loc[0]], "%%", "%")))
		b.WriteString(`(.+?)`)
		rest = rest[loc[1]:]
	}
	b.WriteString(regexp.QuoteMeta(strings.ReplaceAll(rest, "%%", "%")))
	b.WriteString(`$`)
	if strings.TrimSpace(verbRE.ReplaceAllString(format, "")) == "" {
		return nil, fmt.Errorf("a format of only placeholders matches anything: %q", format)
	}
	return regexp.Compile(`(?s)` + b.String())
}

// fill puts args into a translated format's verbs, in order or by index.
func fill(format string, args []string) string {
	var b strings.Builder
	n := 0
	i := 0
	for i < len(format) {
		if format[i] == '%' && i+1 < len(format) && format[i+1] == '%' {
			b.WriteByte('%')
			i += 2
			continue
		}
		if loc := verbRE.FindStringIndex(format[i:]); loc != nil && loc[0] == 0 {
			v := format[i : i+loc[1]]
			idx := n + 1
			if strings.Contains(v, "[") {
				idx, _ = strconv.Atoi(v[2:3])
			}
			n = idx
			if idx-1 < len(args) {
				b.WriteString(args[idx-1])
			}
			i += loc[1]
			continue
		}
		b.WriteByte(format[i])
		i++
	}
	return b.String()
}

// Compare lists what differs between the English and the Chinese catalogue:
// keys missing on either side, placeholders or printf verbs that differ,
// plural forms missing. Empty means complete.
func Compare(c *Catalog) []string {
	var out []string
	en, zh := c.ids[English], c.ids[Chinese]
	for _, id := range c.Keys(English) {
		z, ok := zh[id]
		if !ok {
			out = append(out, fmt.Sprintf("%s is in en.toml but not in zh-CN.toml", id))
			continue
		}
		e := en[id]
		if a, b := sortedPlaceholders(e.Other+e.One), sortedPlaceholders(z.Other+z.One); a != b {
			out = append(out, fmt.Sprintf("%s: placeholders differ: en %s, zh-CN %s", id, a, b))
		}
		if a, b := sortedVerbs(e.Other), sortedVerbs(z.Other); a != b {
			out = append(out, fmt.Sprintf("%s: printf verbs differ: en %s, zh-CN %s", id, a, b))
		}
		if (e.One != "") && z.Other == "" {
			out = append(out, fmt.Sprintf("%s: en has plural forms, zh-CN has no other form", id))
		}
		if strings.TrimSpace(z.Other) == "" {
			out = append(out, fmt.Sprintf("%s: empty in zh-CN", id))
		}
	}
	for _, id := range c.Keys(Chinese) {
		if _, ok := en[id]; !ok {
			out = append(out, fmt.Sprintf("%s is in zh-CN.toml but not in en.toml", id))
		}
	}
	return out
}

// CompareFiles is Compare for message files given as bytes (for tests that
// edit a copy).
func CompareFiles(en, zh []byte) ([]string, error) {
	c := &Catalog{ids: map[Lang]map[string]text{}}
	for l, buf := range map[Lang][]byte{English: en, Chinese: zh} {
		texts, _, _, err := parseMessages(l, buf)
		if err != nil {
			return nil, err
		}
		c.ids[l] = texts
	}
	return Compare(c), nil
}

var placeholderRE = regexp.MustCompile(`\{\{\s*\.(\w+)`)

func sortedPlaceholders(s string) string {
	var out []string
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	sort.Strings(out)
	return "[" + strings.Join(dedupe(out), " ") + "]"
}

func sortedVerbs(s string) string {
	v := Verbs(s)
	sort.Strings(v)
	return "[" + strings.Join(dedupe(v), " ") + "]"
}

func dedupe(s []string) []string {
	var out []string
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// Translate returns the message of language l whose key starts with prefix
// and whose English text is english (advice a rule package gives in
// English, such as the password tips); english itself when there is none.
func (c *Catalog) Translate(l Lang, prefix, english string) string {
	if l == English {
		return english
	}
	for id, m := range c.ids[English] {
		if m.Other == english && strings.HasPrefix(id, prefix) {
			if t, ok := c.ids[l][id]; ok {
				return t.Other
			}
		}
	}
	return english
}

// FormatTime writes a time for a reader of language l, in UTC with the
// zone named: "Mon, 02 Jan 2006 15:04:05 UTC" in English (RFC 1123, as
// emails always had it), "2006年1月2日 15:04:05 UTC" in Chinese.
func FormatTime(l Lang, t time.Time) string {
	if l == Chinese {
		return t.UTC().Format("2006年1月2日 15:04:05 UTC")
	}
	return t.UTC().Format(time.RFC1123)
}

// FormatDate writes a day for a reader of language l: "2 January 2006",
// "2006年1月2日".
func FormatDate(l Lang, t time.Time) string {
	if l == Chinese {
		return t.Format("2006年1月2日")
	}
	return t.Format("2 January 2006")
}

// A Text is a value of a message that is itself written in the reader's
// language (a nested message, a list of permissions, a day).
type Text interface {
	In(l Lang) string
}

// Key is a value that is a message of the files, without values.
type Key string

// In implements Text.
func (k Key) In(l Lang) string { return Default().T(l, string(k)) }

// Msg is a value that is a message of the files with values of its own.
type Msg struct {
	Key string
	KV  []any
}

// In implements Text.
func (m Msg) In(l Lang) string { return Default().Render(l, m.Key, m.KV...) }

// Render is T with the values written for the reader first: a time.Time
// by FormatTime (UTC, the zone named), a Text by its In.
func (c *Catalog) Render(l Lang, id string, kv ...any) string {
	return c.T(l, id, Values(l, kv)...)
}

// Values writes the values of kv (pairs of name and value) for language
// l, as Render does.
func Values(l Lang, kv []any) []any {
	out := make([]any, len(kv))
	copy(out, kv)
	for i := 1; i < len(out); i += 2 {
		switch v := out[i].(type) {
		case time.Time:
			out[i] = FormatTime(l, v)
		case Text:
			out[i] = v.In(l)
		}
	}
	return out
}
