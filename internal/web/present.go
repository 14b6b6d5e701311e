package web

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/sellerguard/sellerguard/internal/history"
	"github.com/sellerguard/sellerguard/internal/i18n"
)

// change is one field of an audit event, before and after, for people.
type change struct {
	Field, Before, After string
}

// changesOf lists the fields of an event's before and after states side by
// side, sorted by name.
func changesOf(before, after json.RawMessage) []change { return changesIn(i18n.English, before, after) }

// changesIn is changesOf for readers of language l: yes, no and none in
// their language (field names and values are the record's, as stored).
func changesIn(l i18n.Lang, before, after json.RawMessage) []change {
	var b, a map[string]any
	_ = json.Unmarshal(before, &b) // a field that is not an object shows as nothing
	_ = json.Unmarshal(after, &a)
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range a {
		keys[k] = true
	}
	out := make([]change, 0, len(keys))
	for k := range keys {
		out = append(out, change{Field: strings.ReplaceAll(k, "_", " "), Before: showValue(l, b, k), After: showValue(l, a, k)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

func showValue(l i18n.Lang, m map[string]any, k string) string {
	v, ok := m[k]
	if !ok {
		return ""
	}
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return i18n.Default().T(l, "common.yes")
		}
		return i18n.Default().T(l, "common.no")
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, ", ")
	case nil:
		return i18n.Default().T(l, "common.none")
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// describeUserAgent names the browser and system of a user-agent string in
// a few words ("Chrome on Linux"); programs keep their own name.
func describeUserAgent(ua string) string { return describeUserAgentIn(i18n.English, ua) }

// describeUserAgentIn is describeUserAgent in language l (the history
// formatter's words, so pages and emails name a browser alike).
func describeUserAgentIn(l i18n.Lang, ua string) string { return history.Browser(l, ua) }
