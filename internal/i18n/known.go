package i18n

import (
	"sort"
	"strings"
	"sync"
)

// KnownTexts translates texts that other packages write in English for
// people but that are not errors (a checkup item's title, a second-step
// protection's "missing" list): the English text is looked up among the
// messages under the given key prefixes, exactly or by printf format, as
// Message does for "err.*" keys.
type KnownTexts struct {
	c        *Catalog
	prefixes []string
	once     sync.Once
	exact    map[string]string
	forms    []errPattern
}

// Known returns the translator of the texts under prefixes.
func (c *Catalog) Known(prefixes ...string) *KnownTexts {
	return &KnownTexts{c: c, prefixes: prefixes}
}

func (k *KnownTexts) load() {
	k.exact = map[string]string{}
	for id, m := range k.c.ids[English] {
		ok := false
		for _, p := range k.prefixes {
			ok = ok || strings.HasPrefix(id, p)
		}
		if !ok {
			continue
		}
		if !hasVerb(m.Other) {
			k.exact[m.Other] = id
			continue
		}
		if re, err := formatRegexp(m.Other); err == nil {
			k.forms = append(k.forms, errPattern{key: id, re: re})
		}
	}
	sort.Slice(k.forms, func(i, j int) bool {
		li, lj := len(k.forms[i].re.String()), len(k.forms[j].re.String())
		if li != lj {
			return li > lj
		}
		return k.forms[i].key < k.forms[j].key
	})
}

// In translates english into language l; English, and a text that is not
// among the messages, come back unchanged.
func (k *KnownTexts) In(l Lang, english string) string {
	if l == English || english == "" {
		return english
	}
	k.once.Do(k.load)
	if id, ok := k.exact[english]; ok {
		if m, ok := k.c.ids[l][id]; ok {
			return m.Other
		}
		return english
	}
	for _, p := range k.forms {
		if sub := p.re.FindStringSubmatch(english); sub != nil {
			if m, ok := k.c.ids[l][p.key]; ok {
				return fill(m.Other, sub[1:])
			}
		}
	}
	return english
}
