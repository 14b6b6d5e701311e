package session

import (
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/i18n"
)

// Emails from the message files: the English is what the code wrote before
// (footer included), the Chinese has its own footer, times name the zone,
// and values that are messages themselves follow the reader's language.
func TestMailTextInBothLanguages(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	m := twoStepChangedEmail("a@example.com", "two_step.method_added", "totp", "Phone app", RequestMeta{IP: "192.0.2.1"}, at, "https://sg.example")
	wantEN := "A two-step verification method was added to your account.\n" +
		"Method: Phone app (totp)\n" +
		"When: Wed, 04 Mar 2026 05:06:07 UTC, from network address 192.0.2.1.\n\n" +
		"If this was not you, someone may have your password: change it at once, end\n" +
		"your other sessions, and review your two-step methods.\n" +
		"SellerGuard: https://sg.example\n\n" + SafetyFooter + "\n"
	if m.Subject != "A two-step verification method was added to your account" || m.Body != wantEN {
		t.Fatalf("English:\n%q\n%q", m.Subject, m.Body)
	}
	subject, body := m.Texts.Render("zh-CN")
	if subject != "您的账户添加了一种两步验证方式" || !strings.HasPrefix(body, "您的账户添加了一种两步验证方式。\n") ||
		!strings.Contains(body, "时间：2026年3月4日 05:06:07 UTC，网络地址：192.0.2.1。") ||
		!strings.HasSuffix(body, i18n.Default().T(i18n.Chinese, "email.footer")+"\n") {
		t.Fatalf("Chinese:\n%s\n%s", subject, body)
	}
	perms := permsText(sellerguard.Permissions{sellerguard.AreaPayments: sellerguard.LevelView, sellerguard.AreaListings: sellerguard.LevelEdit})
	if en, zh := i18n.Values(i18n.English, []any{"P", perms})[1], i18n.Values(i18n.Chinese, []any{"P", perms})[1]; en != describePermissions(sellerguard.Permissions(perms)) || zh != "付款信息：查看，商品和状况说明：编辑" {
		t.Fatalf("permissions: %q / %q", en, zh)
	}
}
