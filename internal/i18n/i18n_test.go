package i18n_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/i18n"
)

func load(t *testing.T) *i18n.Catalog {
	t.Helper()
	c, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Every key is in both catalogues, with the same placeholders and verbs, and
// plural messages have their plural forms in both.
func TestCataloguesAreComplete(t *testing.T) {
	t.Parallel()
	c := load(t)
	if problems := i18n.Compare(c); len(problems) > 0 {
		for _, p := range problems {
			t.Error(p)
		}
	}
	if len(c.Keys(i18n.English)) < 50 {
		t.Fatalf("the English catalogue has only %d keys", len(c.Keys(i18n.English)))
	}
}

// The check above fails when a key is missing from one catalogue or its
// placeholders differ: shown on edited copies of the real files.
func TestCompletenessCheckFailsOnARemovedKey(t *testing.T) {
	t.Parallel()
	en, err := os.ReadFile("locales/en.toml")
	if err != nil {
		t.Fatal(err)
	}
	zh, err := os.ReadFile("locales/zh-CN.toml")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := i18n.CompareFiles(en, zh); err != nil || len(p) != 0 {
		t.Fatalf("the real files: %v %v", p, err)
	}
	dropLine := func(b []byte, prefix string) []byte {
		var out []string
		found := false
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, prefix) {
				found = true
				continue
			}
			out = append(out, l)
		}
		if !found {
			t.Fatalf("no line starts with %s", prefix)
		}
		return []byte(strings.Join(out, "\n"))
	}
	for name, files := range map[string][2][]byte{
		"a key removed from zh-CN": {en, dropLine(zh, `"signin.submit"`)},
		"a key removed from en":    {dropLine(en, `"signin.submit"`), zh},
		"a verb changed in zh-CN":  {en, []byte(strings.Replace(string(zh), "最多只能输入 %d 个字符。", "最多只能输入 %s 个字符。", 1))},
	} {
		p, err := i18n.CompareFiles(files[0], files[1])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(p) == 0 {
			t.Errorf("%s: the check found nothing", name)
		}
	}
}

func TestMessageTranslatesErrorTexts(t *testing.T) {
	t.Parallel()
	c := load(t)
	for _, tc := range []struct {
		en   string
		lang i18n.Lang
		want string
	}{
		{"There is nothing here.", i18n.Chinese, "此处没有内容。"},
		{"There is nothing here.", i18n.English, "There is nothing here."},
		{"Use at most 64 characters.", i18n.Chinese, "最多只能输入 64 个字符。"},
		{"Not in the catalogue at all.", i18n.Chinese, "Not in the catalogue at all."},
		// Values that are catalogued texts are translated where they stand.
		{"Only the owner can hand over the business.", i18n.Chinese, "只有所有者才能移交企业。"},
		{"You need view access to user permissions in this business.", i18n.Chinese, "您需要此企业中用户权限的查看权限。"},
		{"Choose another password: Use at least 12 characters.", i18n.Chinese, "请选择其他密码：请至少使用 12 个字符。"},
		{"Choose another password. It has these problems: Use at least 12 characters. This password is too easy to guess. Make it longer, for example with a few unrelated words.", i18n.Chinese,
			"请选择其他密码。它有以下问题：请至少使用 12 个字符。此密码太容易被猜到。请加长密码，例如使用几个互不相关的词。"},
		// A value that is not all catalogue stays English rather than half translated.
		{"Choose another password. It has these problems: Use at least 12 characters. Something else.", i18n.Chinese,
			"请选择其他密码。它有以下问题：Use at least 12 characters. Something else."},
		{"Enter a mobile number in international form, like +44 7400 123456.", i18n.Chinese, "请以国际格式输入手机号码，例如 +44 7400 123456。"},
		{"", i18n.Chinese, ""},
	} {
		if got := c.Message(tc.lang, tc.en); got != tc.want {
			t.Errorf("Message(%s, %q) = %q, want %q", tc.lang, tc.en, got, tc.want)
		}
	}
}

func TestTFillsPlaceholdersAndFallsBack(t *testing.T) {
	t.Parallel()
	c := load(t)
	if got := c.T(i18n.Chinese, "signin.submit"); got != "登录" {
		t.Errorf("zh signin.submit = %q", got)
	}
	if got := c.T(i18n.English, "signin.submit"); got != "Sign in" {
		t.Errorf("en signin.submit = %q", got)
	}
	if got := c.T(i18n.Chinese, "no.such.key"); got != "no.such.key" {
		t.Errorf("missing key = %q", got)
	}
}

func TestLanguageChoice(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]i18n.Lang{
		"":                            i18n.English,
		"zh-CN":                       i18n.Chinese,
		"zh-CN,zh;q=0.9,en;q=0.8":     i18n.Chinese,
		"zh":                          i18n.Chinese,
		"zh-Hans":                     i18n.Chinese,
		"en-US,en;q=0.9":              i18n.English,
		"fr-FR,fr;q=0.9":              i18n.English,
		"fr-FR,zh-CN;q=0.5":           i18n.Chinese,
		"en;q=0.9,zh-CN":              i18n.Chinese,
		"de, en;q=0.1, zh-CN;q=0.01":  i18n.English,
		"garbage;;;==":                i18n.English,
		strings.Repeat("zh-CN,", 200): i18n.English,
		"*":                           i18n.English,
	} {
		if got := i18n.FromAcceptLanguage(in); got != want {
			t.Errorf("FromAcceptLanguage(%q) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]i18n.Lang{"en": i18n.English, "en-GB": i18n.English, "zh-CN": i18n.Chinese, "zh": i18n.Chinese, "zh-Hans-CN": i18n.Chinese} {
		if got, ok := i18n.Parse(in); !ok || got != want {
			t.Errorf("Parse(%q) = %s %v, want %s", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "fr", "zh-TW", "zh-Hant", "x", "en;DROP"} {
		if got, ok := i18n.Parse(in); ok {
			t.Errorf("Parse(%q) = %s, want refused", in, got)
		}
	}
}

// Values written for the reader: times in UTC with the zone named, nested
// messages in the reader's language.
func TestRenderWritesValuesForTheReader(t *testing.T) {
	t.Parallel()
	c := load(t)
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CST", 8*3600))
	kv := []any{"T", at, "K", i18n.Key("email.level.view"), "M", i18n.Msg{Key: "email.member_access.removed", KV: []any{"Actor", "a@example.com", "Business", "B"}}, "N", 3}
	en, zh := i18n.Values(i18n.English, kv), i18n.Values(i18n.Chinese, kv)
	if en[1] != "Tue, 03 Mar 2026 21:06:07 UTC" || zh[1] != "2026年3月3日 21:06:07 UTC" {
		t.Errorf("times: %q / %q", en[1], zh[1])
	}
	if en[3] != "view" || zh[3] != "查看" || en[5] != "a@example.com removed you from B." || zh[5] != "a@example.com 将您从 B 中移除。" || en[7] != 3 {
		t.Errorf("values: %q / %q", en, zh)
	}
	if got := c.Render(i18n.Chinese, "email.listings_bulk.subject", "N", 12); got != "12 个商品被同时更改" {
		t.Errorf("Render = %q", got)
	}
}
