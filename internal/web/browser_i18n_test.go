package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// setBrowserCookie puts a cookie for the instance into the browser.
func setBrowserCookie(t *testing.T, tb *browserTab, in *apptest.Instance, name, value string) {
	t.Helper()
	if _, err := chromedp.Call(tb.ctx, network.SetCookie, network.SetCookieParams{Name: name, Value: value, URL: in.URL + "/"}); err != nil {
		t.Fatalf("Network.setCookie %s: %v", name, err)
	}
}

var sixDigits = regexp.MustCompile(`\b(\d{6})\b`)

// lastCodeAnyLanguage is the newest six-digit code emailed to the address,
// whatever the email's language (apptest.LastCode reads the English text).
func lastCodeAnyLanguage(t *testing.T, in *apptest.Instance, to string) string {
	t.Helper()
	msgs := in.Outbox(t)
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.EqualFold(msgs[i].To, to) {
			if m := sixDigits.FindStringSubmatch(msgs[i].Body); m != nil {
				return m[1]
			}
		}
	}
	t.Fatalf("no code in the outbox for %s", to)
	return ""
}

// wantChinese fails when the page the tab shows has English a person
// reads (its text, and the attributes people read), or is not in Chinese.
func wantChinese(t *testing.T, tb *browserTab, what string) {
	t.Helper()
	if l := tabEval[string](tb, `document.documentElement.lang`); l != "zh-CN" {
		t.Errorf("%s: <html lang=%q>", what, l)
	}
	// Codes and keys (backup codes, the TOTP key) are not words: the text
	// is read from a copy without them, line by line; so are raw user-agent
	// strings (in .ua and as a device's title).
	texts := tabEval[[]string](tb, `[document.title].concat((() => {
		const b = document.body.cloneNode(true);
		b.querySelectorAll('code, .ua').forEach(e => e.remove());
		document.documentElement.appendChild(b);
		const lines = b.innerText.split('\n');
		b.remove();
		return lines;
	})()).concat(
		[...document.querySelectorAll('[placeholder],[aria-label],[title]:not(td),[alt]')].map(e => [e.getAttribute('placeholder'), e.getAttribute('aria-label'), e.getAttribute('title'), e.getAttribute('alt')].filter(Boolean).join(' ')))`)
	if words := englishWords(texts); len(words) > 0 {
		t.Errorf("%s shows English: %q", what, words)
	}
}

// In Chinese, as a seller would: switch the language on the sign-up page,
// sign up, verify the email, sign in, set up two-step verification with
// an authenticator app (codes from oathtool) and read the pages, all in
// Chinese; times shown in the browser's zone and the page's language.
func TestBrowserChineseSignupAndTwoStep(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	tb := newBrowserTab(t)
	steps := &totpSteps{}
	const (
		email    = "wang.fang@example.com"
		password = "长城 黄河 长江 泰山 故宫"
	)

	// The switch on every page.
	tb.navigate(in.URL + "/signup")
	tb.do("choose 中文", chromedp.SetValue(chromedp.ID("lang-select"), "zh-CN"))
	tb.click("lang-submit")
	wantTabLocation(t, tb, in, "/signup")
	if h := tb.text("main h1"); h != "为您的企业注册" {
		t.Fatalf("after switching to Chinese the sign-up page says %q", h)
	}
	if c, ok := tb.cookies(in.URL)["sg_lang"]; !ok || c.Value != "zh-CN" {
		t.Fatalf("language cookie: %+v", c)
	}
	wantChinese(t, tb, "sign-up")

	// The strength meter's label comes from the page, in Chinese.
	tb.typeInto("email", email)
	tb.typeInto("password", password)
	if _, err := chromedp.Run(tb.ctx, chromedp.Poll[bool](`!document.getElementById('strength').hidden && document.querySelector('#strength .meter-label').textContent !== ''`)); err != nil {
		t.Fatalf("the strength meter did not show: %v", err)
	}
	if l := tb.text("#strength .meter-label"); !hasHanChar(l) {
		t.Errorf("strength meter label %q is not Chinese", l)
	}
	tb.typeInto("business_name", "王氏商行")
	if resp := tb.click("signup-submit"); resp.Status != http.StatusOK {
		t.Fatalf("sign-up answered %d", resp.Status)
	}
	if h := tb.text("main h1"); h != "验证您的电子邮件地址" {
		t.Fatalf("after sign-up the page says %q", h)
	}
	wantChinese(t, tb, "verify")
	tb.screenshot("zh-1-verify")

	tb.typeInto("code", lastCodeAnyLanguage(t, in, email))
	tb.click("verify-submit")
	wantTabLocation(t, tb, in, "/signin?verified=1")
	if n := tb.text(".notice"); n != "您的账户已就绪。请登录以继续。" {
		t.Errorf("sign-in notice %q", n)
	}
	wantChinese(t, tb, "sign-in")

	// Sign in: the new business requires two-step verification first.
	browserSignIn(t, tb, email, password)
	if !strings.HasPrefix(tb.location(), in.URL+"/account") {
		t.Fatalf("after sign-in: %s", tb.location())
	}
	tb.navigate(in.URL + "/account/two-step")
	if h := tb.text("main h1"); h != "两步验证" {
		t.Fatalf("two-step page says %q", h)
	}
	wantChinese(t, tb, "two-step settings")
	tb.typeInto("totp-label", "我的手机")
	tb.click("add-totp")
	if h := tb.text("main h1"); h != "添加身份验证器应用" {
		t.Fatalf("after adding an app the page says %q", h)
	}
	wantChinese(t, tb, "add an authenticator app")
	tb.screenshot("zh-2-add-authenticator")
	key := strings.ReplaceAll(tb.text("#totp-key"), " ", "")
	tb.typeInto("code", "000000")
	if resp := tb.click("confirm-totp"); resp.Status != http.StatusBadRequest {
		t.Errorf("a wrong code answered %d", resp.Status)
	}
	if errs := tabEval[[]string](tb, `[...document.querySelectorAll('.field-error, .error')].map(e => e.innerText)`); len(errs) == 0 {
		t.Errorf("no error shown for a wrong code")
	}
	tb.typeInto("code", steps.code(t, in, key))
	tb.click("confirm-totp")
	wantTabLocation(t, tb, in, "/account/two-step?added=totp")
	if n := tb.text("#two-step-notice"); !strings.Contains(n, "身份验证器应用已开启") {
		t.Errorf("notice after adding the app: %q", n)
	}
	if s := tb.text("#protection-status"); !strings.Contains(s, "尚未获得全面保护") {
		t.Errorf("protection status %q", s)
	}
	wantChinese(t, tb, "two-step settings with an app")
	tb.click("backup-codes-submit")
	if h := tb.text("main h1"); h != "您的备用验证码" {
		t.Fatalf("backup codes page says %q", h)
	}
	wantChinese(t, tb, "backup codes")
	tb.click("backup-codes-done")
	if s := tb.text("#protection-status"); !strings.HasPrefix(s, "已开启——已获得全面保护") {
		t.Errorf("protection status after backup codes %q", s)
	}
	tb.screenshot("zh-3-two-step")

	// The times: <time datetime> rewritten in the browser's zone, Chinese.
	times := tabEval[[][]string](tb, `[...document.querySelectorAll('#methods time')].map(e => [e.getAttribute('datetime'), e.textContent, e.title])`)
	if len(times) == 0 {
		t.Fatalf("no <time> in the methods table")
	}
	for _, tm := range times {
		if _, err := time.Parse(time.RFC3339, tm[0]); err != nil || !strings.Contains(tm[1], "年") || !strings.HasSuffix(tm[2], "UTC") {
			t.Errorf("time %q: not shown in Chinese by the browser", tm)
		}
	}

	// The other pages a seller reads, in Chinese.
	for _, p := range []string{"/account", "/account/sessions", "/account/checkup", "/account/team", "/account/password", "/account/phrase",
		"/account/business", "/account/changes", "/account/secure", "/security/phishing"} {
		tb.navigate(in.URL + p)
		if !strings.HasPrefix(tb.location(), in.URL+p) {
			t.Errorf("%s went to %s", p, tb.location())
			continue
		}
		wantChinese(t, tb, p)
	}
	tb.navigate(in.URL + "/account")
	tb.screenshot("zh-4-account")

	// Sign out and in again: the second step asks in Chinese.
	browserSignOut(t, tb, in)
	browserSignIn(t, tb, email, password)
	wantTabLocation(t, tb, in, "/signin/second-step")
	if h := tb.text("main h1"); h != "完成登录" {
		t.Fatalf("second-step page says %q", h)
	}
	wantChinese(t, tb, "second step")
	tb.typeInto("code", steps.code(t, in, key))
	tb.click("second-step-submit")
	wantTabLocation(t, tb, in, "/account")
	tb.noConsoleErrors("/account/two-step/totp/", "/signin/second-step")
}

// TestBrowserPagesFitANarrowScreen (every page at 390 px and 1280 px, in both
// languages, signed out, as owner, member and agent) is in
// browser_mobile_test.go.
