package i18n_test

import (
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
