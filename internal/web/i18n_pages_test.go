package web_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// pageAllowedWords are the Latin-script words a Chinese page may show: the
// product's name, technical tokens, other products' names, and the
// language switch's "English" (each language is named in itself).
var pageAllowedWords = map[string]bool{"SellerGuard": true, "English": true, "TOTP": true, "SMS": true, "MiB": true, "eml": true, "txt": true,
	"IBAN": true, "SKU": true, "UTC": true, "CSV": true, "URL": true, "https": true, "JavaScript": true, "SIM": true,
	"Google": true, "Microsoft": true, "Authenticator": true, "Password": true, "Authy": true, "ID": true,
	"Chrome": true, "Headless": true, "Linux": true, "Ctrl": true, "Mac": true, // a browser described by its user agent // 1Password
	"IP": true, "HTTPS": true, "localhost": true, "Argon2id": true, "Cookie": true} // technical names the Chinese texts keep (privacy, passkeys)

var (
	latinWord = regexp.MustCompile(`[A-Za-z][A-Za-z0-9]*[A-Za-z]`) // a word may hold digits (Argon2id)
	markup    = regexp.MustCompile(`<[^>]*>`)
)

// readableText is what a person reads (or hears) on a page: its text
// outside scripts and styles, the title, and the attributes people read.
func readableText(t *testing.T, page string) []string {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(page))
	var out []string
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Fatalf("page does not parse: %v", z.Err())
			}
			return out
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if string(name) == "script" || string(name) == "style" {
				skip++
			}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				switch string(k) {
				case "title", "alt", "placeholder", "aria-label", "label":
					out = append(out, string(v))
				case "data-labels", "data-not-accepted":
					out = append(out, string(v))
				}
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); string(name) == "script" || string(name) == "style" {
				skip--
			}
		case html.TextToken:
			if skip == 0 {
				// <noscript> content comes as raw text: its tags are not text.
				out = append(out, markup.ReplaceAllString(string(z.Text()), " "))
			}
		}
	}
}

// englishWords lists the texts that show Latin-script words not allowed
// on a Chinese page, each once, with the words (an email address or a
// link is not a word).
func englishWords(texts []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range texts {
		var words []string
		for _, f := range strings.Fields(s) {
			// An email address, a link, the guide's look-alike address
			// examples, and this test client's user agent are not words.
			if strings.Contains(f, "@") || strings.Contains(f, "://") || strings.Contains(f, "erguard") || strings.Contains(f, "Go-http-client") {
				continue
			}
			for _, w := range latinWord.FindAllString(f, -1) {
				if !pageAllowedWords[w] {
					words = append(words, w)
				}
			}
		}
		if s = strings.TrimSpace(s); len(words) > 0 && !seen[s] {
			seen[s] = true
			out = append(out, strings.Join(words, " ")+" — in: "+s)
		}
	}
	return out
}

func hasHanChar(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

func formPost(t *testing.T, in *apptest.Instance, path string, headers map[string]string, form url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", in.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := in.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// With Accept-Language: zh-CN and no account, the pages a visitor meets
// first are entirely in Chinese, a refused form too; with no header they
// are in English; and a signed-in user who chose English reads English
// whatever the header says.
func TestSignedOutPagesEntirelyInChinese(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		for _, path := range []string{"/", "/signup", "/signin", "/signin/help", "/signin/forgot", "/signin/unlock", "/signin/revert-email",
			"/security/phishing", "/mail/check", "/report-phishing", "/security", "/privacy"} {
			st, body := langPage(t, in, path, "", zh)
			if st != 200 || !strings.Contains(body, `<html lang="zh-CN">`) || !hasHanChar(body) {
				t.Fatalf("%s in Chinese: %d\n%.400s", path, st, body)
			}
			if words := englishWords(readableText(t, body)); len(words) > 0 {
				t.Errorf("%s in Chinese shows English: %q", path, words)
			}
			st, body = langPage(t, in, path, "", nil)
			if st != 200 || !strings.Contains(body, `<html lang="en">`) || len(englishWords(readableText(t, body))) == 0 {
				t.Errorf("%s without a header is not English: %d", path, st)
			}
			for _, s := range readableText(t, body) {
				if hasHanChar(s) && s != "中文" {
					t.Errorf("%s in English shows Chinese: %q", path, s)
				}
			}
		}

		// An error page, and the local outbox.
		if st, body := langPage(t, in, "/no-such-page", "", zh); st != 404 || !strings.Contains(body, `<html lang="zh-CN">`) {
			t.Errorf("404 in Chinese: %d", st)
		} else if words := englishWords(readableText(t, body)); len(words) > 0 {
			t.Errorf("the error page in Chinese shows English: %q", words)
		}
		if st, body := langPage(t, in, "/dev/outbox", "", zh); st != 200 {
			t.Errorf("local outbox in Chinese: %d", st)
		} else {
			if i := strings.Index(body, "<article"); i >= 0 {
				body = body[:i] // the messages are in their recipients' languages
			}
			if words := englishWords(readableText(t, body)); len(words) > 0 {
				t.Errorf("the local outbox in Chinese shows English: %q", words)
			}
		}

		// A signed-in user who chose English reads English whatever the header.
		in.SignUp(t, "english@example.com", pw, "English Co")
		token := in.SignIn(t, "english@example.com", pw)
		if r := in.Do(t, "PUT", "/api/v1/account/language", token, map[string]string{"language": "en"}); r.Status != 200 {
			t.Fatalf("choose en: %d %s", r.Status, r.Body)
		}
		for _, path := range []string{"/account", "/account/sessions", "/account/two-step", "/account/team", "/account/checkup"} {
			st, body := langPage(t, in, path, token, zh)
			if st != 200 || !strings.Contains(body, `<html lang="en">`) {
				t.Fatalf("%s for a user who chose English: %d\n%.300s", path, st, body)
			}
			for _, s := range readableText(t, body) {
				if hasHanChar(s) && s != "中文" {
					t.Errorf("%s for a user who chose English shows Chinese: %q", path, s)
				}
			}
		}
	})
}

// Refused forms, the password feedback (the strength meter's answer) and the
// notification settings in Chinese: the error texts, the password policy's
// reasons and tips and the notification catalogue's names come from the
// err.*, password.* and notify.* messages (branch i18nmsgs).
func TestRefusalsAndPasswordFeedbackInChinese(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		// A refused sign-up: the form again, with its problems, in Chinese.
		st, body := formPost(t, in, "/signup", zh, url.Values{"email": {"not-an-email"}, "password": {"short"}, "business_name": {"Zhang Trading"}})
		if st != 400 && st != 422 || !strings.Contains(body, `<html lang="zh-CN">`) {
			t.Fatalf("refused sign-up: %d\n%.400s", st, body)
		}
		if words := englishWords(readableText(t, body)); len(words) > 0 {
			t.Errorf("the refused sign-up in Chinese shows English: %q", words)
		}
		// Wrong credentials on the sign-in page.
		_, body = formPost(t, in, "/signin", zh, url.Values{"email": {"nobody@example.com"}, "password": {"not the password at all"}})
		if !strings.Contains(body, "电子邮件地址或密码不正确") {
			t.Errorf("wrong credentials in Chinese:\n%.600s", body)
		}
		if words := englishWords(readableText(t, body)); len(words) > 0 {
			t.Errorf("the refused sign-in in Chinese shows English: %q", words)
		}

		// The password feedback (the strength meter's answer) in Chinese.
		r := in.DoWith(t, "POST", "/api/v1/password/check", "", zh, map[string]string{"password": "password123"})
		if r.Status != 200 {
			t.Fatalf("password check: %d %s", r.Status, r.Body)
		}
		var texts []string
		j := r.JSON(t)
		for _, x := range j["reasons"].([]any) {
			texts = append(texts, x.(map[string]any)["message"].(string))
		}
		for _, x := range j["tips"].([]any) {
			texts = append(texts, x.(string))
		}
		if len(texts) == 0 {
			t.Fatalf("no feedback for a weak password: %s", r.Body)
		}
		if words := englishWords(texts); len(words) > 0 {
			t.Errorf("the password feedback in Chinese shows English: %q", words)
		}

		// The notification settings of a user who chose Chinese.
		in.SignUp(t, "tongzhi@example.com", pw, "通知商行")
		token := in.SignIn(t, "tongzhi@example.com", pw)
		if r := in.Do(t, "PUT", "/api/v1/account/language", token, map[string]string{"language": "zh-CN"}); r.Status != 200 {
			t.Fatalf("choose zh-CN: %d %s", r.Status, r.Body)
		}
		if st, body := langPage(t, in, "/account/notifications", token, nil); st != 200 || !strings.Contains(body, `<html lang="zh-CN">`) {
			t.Fatalf("notification settings: %d", st)
		} else if words := englishWords(readableText(t, body)); len(words) > 0 {
			t.Errorf("the notification settings in Chinese show English: %q", words)
		}

	})
}

// A signed-in user who chose Chinese reads the account pages in Chinese.
func TestSignedInPagesInChinese(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "zhang@example.com", pw, "张氏贸易")
	token := in.SignIn(t, "zhang@example.com", pw)
	in.EnrollTOTP(t, token) // the business's pages need two-step verification
	if r := in.Do(t, "PUT", "/api/v1/account/language", token, map[string]string{"language": "zh-CN"}); r.Status != 200 {
		t.Fatalf("choose zh-CN: %d %s", r.Status, r.Body)
	}
	for _, path := range []string{"/account", "/account/sessions", "/account/two-step", "/account/two-step/passkeys", "/account/password",
		"/account/phrase", "/account/email", "/account/phone", "/account/team", "/account/checkup", "/account/changes", "/account/secure",
		"/account/business/checkup", "/security/phishing", "/mail/check", "/report-phishing", "/security", "/privacy", "/support", "/account/notifications"} {
		st, body := langPage(t, in, path, token, map[string]string{"Accept-Language": "en"})
		if st != 200 || !strings.Contains(body, `<html lang="zh-CN">`) {
			t.Fatalf("%s: %d\n%.300s", path, st, body)
		}
		if words := englishWords(readableText(t, body)); len(words) > 0 {
			t.Errorf("%s in Chinese shows English: %q", path, words)
		}
	}
}
