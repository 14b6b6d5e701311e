package i18n

import (
	"errors"
	"testing"
)

// TestTRendersEveryKindOfMessage checks T on a small catalogue: plain
// messages (kept out of go-i18n's bundle), placeholders and plural forms
// (rendered by go-i18n), and the fall-back to English of a key missing in
// Chinese, plain or not.
func TestTRendersEveryKindOfMessage(t *testing.T) {
	files := map[Lang]string{
		English: `
"a.plain" = "Sign in"
"a.name" = "Hello {{.Name}}"
"only.en" = "Only in English"
"only.en.tpl" = "Hi {{.Name}}, English only"
[a.count]
one = "{{.Count}} session ended"
other = "{{.Count}} sessions ended"
`,
		Chinese: `
"a.plain" = "登录"
"a.name" = "你好 {{.Name}}"
"a.count" = "已结束 {{.Count}} 个会话"
`,
	}
	c, err := load(func(l Lang) ([]byte, error) {
		if f, ok := files[l]; ok {
			return []byte(f), nil
		}
		return nil, errors.New("no file")
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		l    Lang
		id   string
		kv   []any
		want string
	}{
		{English, "a.plain", nil, "Sign in"},
		{English, "a.plain", []any{"Count", 2}, "Sign in"},
		{Chinese, "a.plain", nil, "登录"},
		{English, "a.name", []any{"Name", "Lee"}, "Hello Lee"},
		{Chinese, "a.name", []any{"Name", "李"}, "你好 李"},
		{English, "a.count", []any{"Count", 1}, "1 session ended"},
		{English, "a.count", []any{"Count", 3}, "3 sessions ended"},
		{Chinese, "a.count", []any{"Count", 1}, "已结束 1 个会话"},
		{Chinese, "a.count", []any{"Count", 3}, "已结束 3 个会话"},
		{Chinese, "only.en", nil, "Only in English"},
		{Chinese, "only.en.tpl", []any{"Name", "Lee"}, "Hi Lee, English only"},
		{Lang("fr"), "a.name", []any{"Name", "Lee"}, "Hello Lee"},
		{Chinese, "no.such.key", nil, "no.such.key"},
		{English, "no.such.key", []any{"Name", "x"}, "no.such.key"},
	} {
		if got := c.T(tc.l, tc.id, tc.kv...); got != tc.want {
			t.Errorf("T(%s, %s, %v) = %q, want %q", tc.l, tc.id, tc.kv, got, tc.want)
		}
	}
	// Only the messages with placeholders or plural forms are in go-i18n's
	// bundle; the plain ones are texts.
	if !c.ids[English]["a.plain"].plain() || c.ids[English]["a.count"].plain() || c.ids[Chinese]["a.name"].plain() {
		t.Error("plain() misjudges a message")
	}
}
