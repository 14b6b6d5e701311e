package web_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

var zh = map[string]string{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}

func langPage(t *testing.T, in *apptest.Instance, path, token string, headers map[string]string) (int, string) {
	t.Helper()
	h := map[string]string{"Accept": "text/html"}
	for k, v := range headers {
		h[k] = v
	}
	r := in.DoWith(t, "GET", path, token, h, nil)
	return r.Status, string(r.Body)
}

// The language of an answer: the browser's, a visitor's cookie, and a
// signed-in user's choice over both; problem codes the same in every
// language, and wrong credentials answered byte for byte alike for known and
// unknown emails in Chinese too.
func TestLanguageOfPagesAndProblems(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		in.SignUp(t, "lang@example.com", pw, "Lang Co")

		if st, body := langPage(t, in, "/signin", "", zh); st != 200 || !strings.Contains(body, `<html lang="zh-CN">`) || !strings.Contains(body, "电子邮件地址") || strings.Contains(body, "Email address") {
			t.Fatalf("signin in Chinese: %d\n%.600s", st, body)
		}
		if _, body := langPage(t, in, "/signin", "", map[string]string{"Accept-Language": "zh-CN", "Cookie": "sg_lang=en"}); !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Email address") {
			t.Fatalf("the cookie does not win over the header:\n%.600s", body)
		}
		if _, body := langPage(t, in, "/signin", "", nil); !strings.Contains(body, `<html lang="en">`) {
			t.Fatalf("no header: not English:\n%.300s", body)
		}

		// Wrong credentials in Chinese: the same code, a Chinese detail, and
		// the known and the unknown email alike.
		known := in.DoWith(t, "POST", "/api/v1/sessions", "", zh, signInBody("lang@example.com", "not the password", ""))
		unknown := in.DoWith(t, "POST", "/api/v1/sessions", "", zh, signInBody("nobody@example.com", "not the password", ""))
		en := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("nobody2@example.com", "not the password", ""))
		kj, ej := known.JSON(t), en.JSON(t)
		if known.Status != 401 || kj["code"] != ej["code"] || kj["code"] != "invalid_credentials" || kj["detail"] != "电子邮件地址或密码不正确。" || ej["detail"] != "The email address or password is not right." {
			t.Fatalf("wrong credentials: zh %s / en %s", known.Body, en.Body)
		}
		if !bytes.Equal(known.Body, unknown.Body) || known.Header.Get("Content-Language") != "zh-CN" {
			t.Fatalf("known and unknown differ:\n%s\n%s", known.Body, unknown.Body)
		}

		token := in.SignIn(t, "lang@example.com", pw)
		if r := in.Do(t, "GET", "/api/v1/account/language", token, nil); r.Status != 200 || r.JSON(t)["language"] != "en" || r.JSON(t)["chosen"] != false {
			t.Fatalf("language: %d %s", r.Status, r.Body)
		}
		// Bad input changes nothing.
		for _, body := range []any{map[string]string{"language": "fr"}, map[string]string{"language": "zh-TW"}, map[string]any{}, map[string]any{"language": 3}, "not json"} {
			if r := in.DoWith(t, "PUT", "/api/v1/account/language", token, zh, body); r.Status != 400 || r.JSON(t)["detail"] == "" {
				t.Fatalf("PUT %v: %d %s", body, r.Status, r.Body)
			}
		}
		if r := in.Do(t, "GET", "/api/v1/account/language", token, nil); r.JSON(t)["chosen"] != false {
			t.Fatalf("bad input changed the language: %s", r.Body)
		}
		// A user who chose English reads English whatever the header says.
		if r := in.Do(t, "PUT", "/api/v1/account/language", token, map[string]string{"language": "en"}); r.Status != 200 || r.JSON(t)["chosen"] != true {
			t.Fatalf("choose en: %d %s", r.Status, r.Body)
		}
		if st, body := langPage(t, in, "/account", token, zh); st != 200 || !strings.Contains(body, `<html lang="en">`) {
			t.Fatalf("a user who chose English got:\n%.300s", body)
		}
		if r := in.DoWith(t, "PUT", "/api/v1/account/anti-phishing-phrase", token, zh, map[string]string{"phrase": strings.Repeat("x", 65)}); r.JSON(t)["detail"] != "Use at most 64 characters." {
			t.Fatalf("a user who chose English got a problem in: %s", r.Body)
		}
		// And one who chose Chinese reads Chinese, also in problem documents.
		if r := in.Do(t, "PUT", "/api/v1/account/language", token, map[string]string{"language": "zh-CN"}); r.Status != 200 || r.JSON(t)["language"] != "zh-CN" {
			t.Fatalf("choose zh-CN: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "PUT", "/api/v1/account/anti-phishing-phrase", token, map[string]string{"phrase": strings.Repeat("x", 65)}); r.JSON(t)["detail"] != "最多只能输入 64 个字符。" || r.JSON(t)["code"] != "invalid_input" || r.JSON(t)["title"] != "请求有误" {
			t.Fatalf("problem for a Chinese user: %s", r.Body)
		}
		if st, body := langPage(t, in, "/account", token, map[string]string{"Accept-Language": "en"}); st != 200 || !strings.Contains(body, `<html lang="zh-CN">`) {
			t.Fatalf("a user who chose Chinese got:\n%.300s", body)
		}
	})
}

// The switch on every page keeps a visitor's choice in a cookie and goes
// back to the page it was on, never to another site.
func TestLanguageSwitch(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	post := func(form url.Values) *http.Response {
		t.Helper()
		req, err := http.NewRequest("POST", in.URL+"/language", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "text/html")
		resp, err := in.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := post(url.Values{"language": {"zh-CN"}, "next": {"/signin/help"}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/signin/help" {
		t.Fatalf("switch: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var lang *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "sg_lang" {
			lang = c
		}
	}
	if lang == nil || lang.Value != "zh-CN" || !lang.HttpOnly {
		t.Fatalf("cookie: %+v", resp.Cookies())
	}
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", ""} {
		if resp := post(url.Values{"language": {"en"}, "next": {next}}); resp.StatusCode != 303 || resp.Header.Get("Location") != "/" {
			t.Errorf("next=%q went to %q", next, resp.Header.Get("Location"))
		}
	}
	if resp := post(url.Values{"language": {"klingon"}, "next": {"/"}}); resp.StatusCode != 400 || len(resp.Cookies()) != 0 {
		t.Fatalf("a bad language: %d %v", resp.StatusCode, resp.Cookies())
	}
}

// Password feedback in the caller's language: reasons and tips in Chinese,
// the reason codes and the score as in English; a refused sign-up answers
// a Chinese detail listing the reasons in Chinese, with the same code.
func TestPasswordFeedbackInChinese(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	body := map[string]string{"password": "password1"}
	zhR := in.DoWith(t, "POST", "/api/v1/password/check", "", zh, body)
	enR := in.Do(t, "POST", "/api/v1/password/check", "", body)
	var zhJ, enJ struct {
		Reasons []struct{ Code, Message string }
		Tips    []string
		Score   int
	}
	if err := json.Unmarshal(zhR.Body, &zhJ); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(enR.Body, &enJ); err != nil {
		t.Fatal(err)
	}
	if len(zhJ.Reasons) == 0 || len(zhJ.Reasons) != len(enJ.Reasons) || zhJ.Score != enJ.Score || len(zhJ.Tips) != len(enJ.Tips) || len(zhJ.Tips) == 0 {
		t.Fatalf("zh %s\nen %s", zhR.Body, enR.Body)
	}
	for i, r := range zhJ.Reasons {
		if r.Code != enJ.Reasons[i].Code || !hasHan(r.Message) || hasLatinWord(r.Message) {
			t.Errorf("reason %d: zh %+v en %+v", i, r, enJ.Reasons[i])
		}
	}
	for i, tip := range zhJ.Tips {
		if !hasHan(tip) || tip == enJ.Tips[i] {
			t.Errorf("tip %d: %q", i, tip)
		}
	}
	r := in.DoWith(t, "POST", "/api/v1/signup", "", zh, map[string]string{"email": "short@example.com", "password": "short", "business_name": "Short Co"})
	j := r.JSON(t)
	if r.Status != 400 || j["code"] != "password_policy" || !strings.HasPrefix(j["detail"].(string), "请选择其他密码") || hasLatinWord(j["detail"].(string)) {
		t.Fatalf("sign-up refused: %d %s", r.Status, r.Body)
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// hasLatinWord reports an English word of four letters or more: what a
// half-translated message shows.
func hasLatinWord(s string) bool {
	n := 0
	for _, r := range s {
		if r < 128 && unicode.IsLetter(r) {
			n++
			if n >= 4 {
				return true
			}
		} else {
			n = 0
		}
	}
	return false
}

// The notification catalogue answers titles and descriptions in the
// caller's language; event and group keys are the same in both.
func TestNotificationCatalogueInChinese(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "cat@example.com", pw, "Cat Co")
	token := in.SignIn(t, "cat@example.com", pw)
	type ev struct{ Event, Group, Title, Description string }
	read := func(h map[string]string) []ev {
		var out struct{ Events []ev }
		if err := json.Unmarshal(in.DoWith(t, "GET", "/api/v1/notifications", token, h, nil).Body, &out); err != nil {
			t.Fatal(err)
		}
		return out.Events
	}
	en := read(nil)
	if r := in.Do(t, "PUT", "/api/v1/account/language", token, map[string]string{"language": "zh-CN"}); r.Status != 200 {
		t.Fatalf("language: %d %s", r.Status, r.Body)
	}
	zhEvents := read(nil)
	if len(en) < 20 || len(en) != len(zhEvents) {
		t.Fatalf("%d / %d events", len(en), len(zhEvents))
	}
	for i := range en {
		e, z := en[i], zhEvents[i]
		if e.Event != z.Event || e.Group != z.Group || hasHan(e.Title) || !hasHan(z.Title) || !hasHan(z.Description) {
			t.Errorf("%+v / %+v", e, z)
		}
	}
	if zhEvents[0].Title != "从新设备或新地点登录" {
		t.Errorf("first event: %+v", zhEvents[0])
	}
}
