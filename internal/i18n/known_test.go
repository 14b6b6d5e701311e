package i18n_test

import (
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/i18n"
)

// Texts other packages write in English for people are found by their
// exact text or by their printf format, and only under the prefixes asked.
func TestKnownTexts(t *testing.T) {
	k := i18n.Default().Known("checkup.text.", "twostep.missing.")
	for _, c := range []struct {
		l        i18n.Lang
		in, want string
	}{
		{i18n.Chinese, "Two-step verification is off", "两步验证未开启"},
		{i18n.Chinese, "Your password is 400 days old; we suggest a new one every 365 days.", "您的密码已使用 400 天；我们建议每 365 天更换一次。"},
		{i18n.Chinese, "No member idle for 30 days (less than 60)", "没有成员闲置 30 天（少于 60 天）"},
		{i18n.Chinese, "No member idle for 90 days", "没有成员闲置 90 天"},
		{i18n.Chinese, "a backup: backup codes, or a second method of another kind", "一种备用方式：备用验证码，或另一种类型的第二验证方式"},
		{i18n.English, "Two-step verification is off", "Two-step verification is off"},
		{i18n.Chinese, "Something nobody catalogued", "Something nobody catalogued"},
		{i18n.Chinese, "The email address or password is not right.", "The email address or password is not right."}, // err.*: not under these prefixes
		{i18n.Chinese, "", ""},
	} {
		if got := k.In(c.l, c.in); got != c.want {
			t.Errorf("%s %q = %q, want %q", c.l, c.in, got, c.want)
		}
	}
}

// A Count given to a message without plural forms fills its placeholder
// and chooses nothing: with Count 1 in English go-i18n would look for a
// "one" form the message does not have (the sessions-ended email came out
// as its key).
func TestCountWithoutPluralForms(t *testing.T) {
	c := i18n.Default()
	for _, l := range i18n.Supported {
		for _, n := range []int{1, 2} {
			got := c.T(l, "email.sessions_ended.subject", "Count", n)
			if got == "email.sessions_ended.subject" || got == "" {
				t.Errorf("%s, Count %d: %q", l, n, got)
			}
			got = c.T(l, "twostep.required_by", "Count", n, "Names", "Lee Ltd")
			if got == "twostep.required_by" || !strings.Contains(got, "Lee Ltd") {
				t.Errorf("%s, Count %d: %q", l, n, got)
			}
		}
	}
	// Plural messages still choose.
	if one, other := c.T(i18n.English, "account.undelivered", "Count", 1), c.T(i18n.English, "account.undelivered", "Count", 3); one == other || !strings.HasPrefix(one, "1 message ") {
		t.Errorf("plural forms: %q / %q", one, other)
	}
}
