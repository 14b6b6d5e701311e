package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// The hold notices (a deposit account put on hold by an undone email
// change, and the owner's decisions on held items) reach an owner whose
// language is Chinese in Chinese, from the message files.
func TestHoldNoticesReachAChineseOwnerInChinese(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect, apptest.Env("SELLERGUARD_TRUSTED_PROXIES", "127.0.0.1"), apptest.Env("SELLERGUARD_PAYOUT_COOLING_OFF", "1h"))
		tk := startTakeover(t, in, takeoverPlan{keepOwnersApp: true})
		if r := in.Do(t, "PUT", "/api/v1/account/language", tk.intruder, map[string]string{"language": "zh-CN"}); r.Status != 200 {
			t.Fatalf("language: %d %s", r.Status, r.Body)
		}
		res := pageRequest(t, in, "POST", "/signin/revert-email", "", url.Values{"email": {"shop@example.com"}, "code": {tk.revert}})
		m := recoveryTokenFieldRE.FindStringSubmatch(res.body)
		if res.StatusCode != 200 || m == nil {
			t.Fatalf("revert page: %d %s", res.StatusCode, res.body)
		}
		res = pageRequest(t, in, "POST", "/signin/forgot/password", "", url.Values{"recovery_token": {m[1]}, "password": {newPW}})
		partial := sessionCookieOf(t, res)
		res = pageRequest(t, in, "POST", "/signin/second-step", partial, url.Values{"method": {"totp"}, "code": {totpNow(t, in, tk.ownerTOTP)}, "next": {"/account/secure"}})
		if res.StatusCode != 303 {
			t.Fatalf("owner's second step: %d %s", res.StatusCode, res.body)
		}
		owner := sessionCookieOf(t, res)
		// Secure my account names the held items in the owner's language
		// too, not by the English summary stored with the hold.
		page := pageGet(t, in, "/account/secure", owner)
		for _, s := range []string{`<span class="hold-summary">Shop的收款账户 •••• 3000（Mallory，Elsewhere）</span>`, `<span class="hold-summary">身份验证器应用</span>`} {
			if page.StatusCode != 200 || !strings.Contains(page.body, s) {
				t.Fatalf("Secure my account lacks %s: %d\n%s", s, page.StatusCode, page.body)
			}
		}
		if strings.Contains(page.body, "Authenticator app") || strings.Contains(page.body, "Deposit account •") {
			t.Fatalf("Secure my account names a held item in English:\n%s", page.body)
		}
		holds := map[string]string{}
		for _, h := range in.Do(t, "GET", "/api/v1/account/holds", owner, nil).JSON(t)["holds"].([]any) {
			hm := h.(map[string]any)
			holds[hm["kind"].(string)] = hm["id"].(string)
		}
		if r := in.Do(t, "POST", "/api/v1/account/holds/"+holds["deposit_account"]+"/confirm", owner, nil); r.Status != 200 {
			t.Fatalf("keep deposit: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "POST", "/api/v1/account/holds/"+holds["two_step_method"]+"/remove", owner, nil); r.Status != 200 {
			t.Fatalf("remove method: %d %s", r.Status, r.Body)
		}
		want := map[string][]string{
			"您企业的一个收款账户已被暂停":  {"收款账户 •••• 3000（Mallory，Elsewhere）", "intruder@evil.example"},
			"一个被暂停的收款账户已保留":   {"shop@example.com 保留了", "•••• 3000（Mallory，Elsewhere）", "冷静期结束后"},
			"一个被暂停的两步验证项目已移除": {"您移除了", "身份验证器应用", "它已从您的账户中删除。", "UTC"},
		}
		for _, msg := range in.Outbox(t) {
			if msg.To != "shop@example.com" || msg.Channel != "email" {
				continue
			}
			texts, ok := want[msg.Subject]
			if !ok {
				if strings.Contains(msg.Subject, "held") || strings.Contains(msg.Subject, "on hold") {
					t.Fatalf("a hold notice in English: %s\n%s", msg.Subject, msg.Body)
				}
				continue
			}
			for _, s := range texts {
				if !strings.Contains(msg.Body, s) {
					t.Fatalf("%s lacks %q:\n%s", msg.Subject, s, msg.Body)
				}
			}
			if strings.Contains(msg.Body, "was added by") || strings.Contains(msg.Body, "Payouts can") {
				t.Fatalf("English in %s:\n%s", msg.Subject, msg.Body)
			}
			delete(want, msg.Subject)
		}
		if len(want) != 0 {
			t.Fatalf("missing notices: %v", want)
		}
	})
}
