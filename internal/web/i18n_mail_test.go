package web_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/phishing"
	"github.com/sellerguard/sellerguard/internal/sms"
)

// readMail decodes a message the SMTP server received: its subject and
// its text and HTML parts.
func readMail(t *testing.T, raw []byte) (subject, text, html string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read mail: %v", err)
	}
	var dec mime.WordDecoder
	if subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatal(err)
	}
	var walk func(h map[string][]string, body io.Reader)
	walk = func(h map[string][]string, body io.Reader) {
		ct := ""
		if v := h["Content-Type"]; len(v) > 0 {
			ct = v[0]
		}
		mt, params, _ := mime.ParseMediaType(ct)
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err != nil {
					return
				}
				walk(p.Header, p)
			}
		}
		cte := ""
		if v := h["Content-Transfer-Encoding"]; len(v) > 0 {
			cte = v[0]
		}
		b, err := io.ReadAll(phishing.TransferDecoder(cte, body))
		if err != nil {
			t.Fatal(err)
		}
		switch mt {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	}
	walk(msg.Header, msg.Body)
	return subject, text, html
}

// mailWith waits for a message to the address whose decoded subject is
// subject (and whose text holds needle, if given), and returns its text
// and HTML.
func (m *mailInstance) mailWith(t *testing.T, to, subject string, needle ...string) (text, html string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var seen []string
		for _, raw := range m.mailsTo(t, to) {
			s, text, html := readMail(t, raw)
			if s == subject && (len(needle) == 0 || strings.Contains(text, needle[0])) {
				return text, html
			}
			seen = append(seen, s)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q to %s; received %q", subject, to, seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var anyCodeRE = regexp.MustCompile(`(\d{6})`)

// A member whose saved language is Chinese and an English owner of the
// same business receive the same events, each in their language and with
// their own anti-phishing phrase, over real SMTP: the sign-in alert from a
// new device, a business-wide notice, and the two-step code by text
// message (the fake gateway). The sign-up code email is in the language of
// the sign-up request; the invitation in the inviter's.
func TestEmailsAndTextsInTheRecipientsLanguage(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		gw := &sms.FakeGateway{}
		in := startMailInstance(t, dialect, apptest.SMSGateway(gw))
		owner := in.signUp(t, "owner@lang.example")
		sess := in.Do(t, "GET", "/api/v1/session", owner, nil).JSON(t)
		biz := sess["memberships"].([]any)[0].(map[string]any)["business_id"].(string)

		if r := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/two-step", owner, map[string]bool{"required": false}); r.Status != 200 {
			t.Fatalf("lift two-step rule: %d %s", r.Status, r.Body)
		}
		// The invitation: the invitee has no account, so the inviter's language.
		if r := in.Do(t, "POST", "/api/v1/businesses/"+biz+"/invitations", owner, map[string]any{"email": "li@lang.example", "permissions": map[string]string{"user_permissions": "edit"}}); r.Status != 201 {
			t.Fatalf("invite: %d %s", r.Status, r.Body)
		}
		if text, _ := in.mailWith(t, "li@lang.example", "You are invited to Shop of owner@lang.example on SellerGuard"); !strings.Contains(text, "owner@lang.example invited you") {
			t.Fatalf("invitation:\n%s", text)
		}
		// Li signs up from a Chinese browser: the code comes in Chinese.
		if r := in.DoWith(t, "POST", "/api/v1/signup", "", zh, map[string]any{"email": "li@lang.example", "password": pw, "joining": true}); r.Status != 202 {
			t.Fatalf("signup: %d %s", r.Status, r.Body)
		}
		text, html := in.mailWith(t, "li@lang.example", "您的 SellerGuard 验证码")
		code := anyCodeRE.FindString(text)
		if !strings.Contains(text, "您的验证码是：") || code == "" || !strings.Contains(text, "您还没有设置防钓鱼短语") ||
			!strings.Contains(text, "SellerGuard 绝不会通过电子邮件、电话或聊天向您索要密码或验证码") || !strings.Contains(html, `<html lang="zh-CN">`) {
			t.Fatalf("the sign-up code in Chinese:\n%s\n%s", text, html)
		}
		if r := in.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": "li@lang.example", "code": code}); r.Status != 201 {
			t.Fatalf("verify: %d %s", r.Status, r.Body)
		}
		li := in.SignIn(t, "li@lang.example", pw)
		list := in.Do(t, "GET", "/api/v1/invitations", li, nil).JSON(t)["invitations"].([]any)
		if r := in.Do(t, "POST", "/api/v1/invitations/"+list[0].(map[string]any)["id"].(string)+"/accept", li, nil); r.Status != 200 {
			t.Fatalf("accept: %d %s", r.Status, r.Body)
		}
		// Her saved language is Chinese (she chooses it, whatever her
		// browser says from now on); each sets a phrase.
		if r := in.Do(t, "PUT", "/api/v1/account/language", li, map[string]string{"language": "zh-CN"}); r.Status != 200 {
			t.Fatalf("language: %d %s", r.Status, r.Body)
		}
		for tok, phrase := range map[string]string{li: "红茶与月光", owner: "purple teapot at dawn"} {
			if r := in.Do(t, "PUT", "/api/v1/account/anti-phishing-phrase", tok, map[string]string{"phrase": phrase}); r.Status != 200 && r.Status != 204 {
				t.Fatalf("phrase: %d %s", r.Status, r.Body)
			}
		}

		// The sign-in alert: both sign in from a new network and browser.
		for _, who := range []string{"li@lang.example", "owner@lang.example"} {
			if st, _, body := post(t, clientFrom("127.0.0.7"), in.URL+"/api/v1/sessions", signInBody(who, pw, ""), map[string]string{"User-Agent": "Mozilla/5.0 Lang/1.0"}); st != 201 {
				t.Fatalf("sign-in of %s: %d %s", who, st, body)
			}
		}
		text, html = in.mailWith(t, "li@lang.example", "您的 SellerGuard 账户有新的登录")
		for _, want := range []string{"您的防钓鱼短语：«红茶与月光»", "您的账户通过新浏览器 Mozilla/5.0 从 127.0.0.7 登录：这是我们从未见过的设备或网络。", "网络地址：127.0.0.7", "Lang/1.0", " UTC", "保护我的账户", "SellerGuard 绝不会通过电子邮件"} {
			if !strings.Contains(text, want) {
				t.Errorf("Chinese sign-in alert lacks %q:\n%s", want, text)
			}
		}
		if !strings.HasPrefix(text, "您的防钓鱼短语") || !strings.Contains(html, `<html lang="zh-CN">`) || !strings.Contains(html, "红茶与月光") || hasLatinWord(strings.NewReplacer("SellerGuard", "", "Mozilla", "", "Lang/1.0", "", "UTC", "", "http", "").Replace(text)) {
			t.Errorf("Chinese sign-in alert:\n%s\n%s", text, html)
		}
		text, html = in.mailWith(t, "owner@lang.example", "New sign-in to your SellerGuard account")
		if !strings.HasPrefix(text, "Your anti-phishing phrase: «purple teapot at dawn»") || !strings.Contains(text, "From network address: 127.0.0.7") ||
			!strings.Contains(text, "choose Secure my account") || hasHan(text) || !strings.Contains(html, `<html lang="en">`) {
			t.Errorf("English sign-in alert:\n%s", text)
		}

		// A business-wide notice, fanned out: each manager in their language.
		if r := in.Do(t, "POST", "/api/v1/businesses/"+biz+"/invitations", owner, map[string]any{"email": "carol@lang.example", "permissions": map[string]string{"listings": "view"}}); r.Status != 201 {
			t.Fatalf("invite carol: %d %s", r.Status, r.Body)
		}
		text, _ = in.mailWith(t, "li@lang.example", "有人受邀加入 Shop of owner@lang.example", "carol@")
		if !strings.Contains(text, "«红茶与月光»") || !strings.Contains(text, "权限：商品和状况说明：查看。") {
			t.Errorf("Chinese business notice:\n%s", text)
		}
		text, _ = in.mailWith(t, "owner@lang.example", "A person was invited to Shop of owner@lang.example", "carol@")
		if !strings.Contains(text, "«purple teapot at dawn»") || !strings.Contains(text, "Permissions: listings: view.") || hasHan(text) {
			t.Errorf("English business notice:\n%s", text)
		}

		// The two-step code by text message, each in their language.
		for i, who := range []struct{ tok, phone, want string }{{li, "+44 7400 123456", "SellerGuard 验证码："}, {owner, "+44 7400 123457", "SellerGuard code: "}} {
			if r := in.Do(t, "POST", "/api/v1/two-step/sms", who.tok, map[string]any{"phone": who.phone}); r.Status != 201 {
				t.Fatalf("start sms: %d %s", r.Status, r.Body)
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(gw.Sent()) < i+1 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if len(gw.Sent()) < i+1 {
				t.Fatalf("no text %d", i+1)
			}
			if body := gw.Sent()[i].Body; !strings.HasPrefix(body, who.want) || anyCodeRE.FindString(body) == "" || (i == 0) != hasHan(body) {
				t.Errorf("text %d: %q", i, body)
			}
		}
	})
}
