package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/sms"
)

var smsCodeRE = regexp.MustCompile(`code: (\d{6})`)

// waitSMS waits for the n-th text to reach the gateway and returns its code.
func waitSMS(t *testing.T, g *sms.FakeGateway, n int) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(g.Sent()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("text %d never reached the gateway (%d sent)", n, len(g.Sent()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	m := smsCodeRE.FindStringSubmatch(g.Sent()[n-1].Body)
	if m == nil {
		t.Fatalf("no code in %q", g.Sent()[n-1].Body)
	}
	return m[1]
}

const phone = "+44 7400 123456"

func TestSMSEnrolmentAndSignIn(t *testing.T) {
	t.Parallel()
	gw := &sms.FakeGateway{}
	in := apptest.Start(t, "sqlite", apptest.SMSGateway(gw))
	in.SignUp(t, "sms@example.com", pw, "SMS Co")
	token := in.SignIn(t, "sms@example.com", pw)
	r := in.Do(t, "POST", "/api/v1/two-step/sms", token, map[string]any{"phone": phone})
	if r.Status != 201 || !strings.Contains(r.JSON(t)["warning"].(string), "weakest") || r.JSON(t)["sent_to"] != "•••• 3456" {
		t.Fatalf("start sms: %d %s", r.Status, r.Body)
	}
	id := r.JSON(t)["method_id"].(string)
	code := waitSMS(t, gw, 1)
	msg := gw.Sent()[0]
	if msg.To != "+447400123456" || !strings.Contains(msg.Body, "never calls") {
		t.Fatalf("text = %+v", msg)
	}
	if r := in.Do(t, "POST", "/api/v1/two-step/sms/"+id+"/confirm", token, map[string]string{"code": code}); r.Status != 200 {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	// The same phone cannot be the backup of itself.
	if r := in.Do(t, "POST", "/api/v1/two-step/sms", token, map[string]any{"phone": "+447400123456", "voice": true}); r.Status != 409 {
		t.Fatalf("same phone twice: %d %s", r.Status, r.Body)
	}
	// Sign in: the second step by text.
	partial := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("sms@example.com", pw, "")).JSON(t)["token"].(string)
	if r := in.Do(t, "POST", "/api/v1/session/second-step/sms", partial, nil); r.Status != 202 {
		t.Fatalf("send code: %d %s", r.Status, r.Body)
	}
	first := waitSMS(t, gw, 2)
	// A resend replaces the code.
	in.Do(t, "POST", "/api/v1/session/second-step/sms", partial, nil)
	second := waitSMS(t, gw, 3)
	if first != second {
		if r := in.Do(t, "POST", "/api/v1/session/second-step", partial, map[string]string{"method": "sms", "code": first}); r.Status != 400 {
			t.Fatalf("the replaced code still works: %d", r.Status)
		}
	}
	r = in.Do(t, "POST", "/api/v1/session/second-step", partial, map[string]string{"method": "sms", "code": second})
	if r.Status != 200 {
		t.Fatalf("second step by sms: %d %s", r.Status, r.Body)
	}
	// A code bound to one sign-in attempt does not work for another.
	p2 := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("sms@example.com", pw, "")).JSON(t)["token"].(string)
	if r := in.Do(t, "POST", "/api/v1/session/second-step", p2, map[string]string{"method": "sms", "code": second}); r.Status != 400 {
		t.Fatalf("a code of another attempt: %d", r.Status)
	}
}

// Requesting 50 codes in a row hits the caps; nothing past the cap reaches
// the gateway.
func TestSMSPumpingIsCapped(t *testing.T) {
	t.Parallel()
	gw := &sms.FakeGateway{}
	in := apptest.Start(t, "sqlite", apptest.SMSGateway(gw))
	in.SignUp(t, "pump@example.com", pw, "Pump")
	token := in.SignIn(t, "pump@example.com", pw)
	r := in.Do(t, "POST", "/api/v1/two-step/sms", token, map[string]any{"phone": phone})
	code := waitSMS(t, gw, 1)
	in.Do(t, "POST", "/api/v1/two-step/sms/"+r.JSON(t)["method_id"].(string)+"/confirm", token, map[string]string{"code": code})
	partial := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("pump@example.com", pw, "")).JSON(t)["token"].(string)
	accepted, capped := 0, 0
	for i := range 50 {
		r := in.Do(t, "POST", "/api/v1/session/second-step/sms", partial, nil)
		switch r.Status {
		case 202:
			accepted++
		case 429:
			capped++
			if r.Header.Get("Retry-After") == "" || r.JSON(t)["code"] != "rate_limited" {
				t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
			}
		default:
			t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
		}
	}
	// One text went out for the enrolment; the number's cap is five an hour.
	if accepted != 4 || capped != 46 {
		t.Fatalf("accepted %d, capped %d", accepted, capped)
	}
	in.DrainOutbox(t)
	if n := len(gw.Sent()); n != 5 {
		t.Fatalf("%d texts reached the gateway, want 5", n)
	}
}

func TestSMSNumberChecks(t *testing.T) {
	t.Parallel()
	gw := &sms.FakeGateway{}
	in := apptest.Start(t, "sqlite", apptest.SMSGateway(gw))
	in.SignUp(t, "num@example.com", pw, "Num")
	token := in.SignIn(t, "num@example.com", pw)
	for _, bad := range []string{"07700 900123", "+44 909 8790000", "call me", strings.Repeat("9", 40)} {
		if r := in.Do(t, "POST", "/api/v1/two-step/sms", token, map[string]any{"phone": bad}); r.Status != 400 {
			t.Errorf("%q: %d %s", bad, r.Status, r.Body)
		}
	}
	if n := gw.Attempts(); n != 0 {
		t.Fatalf("%d texts sent to refused numbers", n)
	}
}

// A user whose only second step is a phone finishes signing in on the pages.
func TestSMSSecondStepOnThePages(t *testing.T) {
	t.Parallel()
	gw := &sms.FakeGateway{}
	in := apptest.Start(t, "sqlite", apptest.SMSGateway(gw))
	in.SignUp(t, "smspage@example.com", pw, "SMS Page")
	token := in.SignIn(t, "smspage@example.com", pw)
	id := in.Do(t, "POST", "/api/v1/two-step/sms", token, map[string]any{"phone": phone}).JSON(t)["method_id"].(string)
	in.Do(t, "POST", "/api/v1/two-step/sms/"+id+"/confirm", token, map[string]string{"code": waitSMS(t, gw, 1)})

	client := &http.Client{Jar: newFullJar(), Timeout: 30 * time.Second}
	form := func(path string, v url.Values) *http.Response {
		resp, err := client.PostForm(in.URL+path, v)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	resp := form("/signin", url.Values{"email": {"smspage@example.com"}, "password": {pw}})
	if resp.Request.URL.Path != "/signin/second-step" {
		t.Fatalf("after the password: %s", resp.Request.URL)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "code from our text message") || !strings.Contains(string(body), `id="send-sms"`) {
		t.Fatalf("the second-step page does not offer the phone:\n%s", body)
	}
	resp = form("/signin/second-step/sms", nil)
	body, _ = io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "We sent a code by text message") {
		t.Fatalf("after sending: %s\n%s", resp.Request.URL, body)
	}
	resp = form("/signin/second-step", url.Values{"method": {"sms"}, "code": {waitSMS(t, gw, 2)}})
	if resp.Request.URL.Path != "/account" {
		body, _ = io.ReadAll(resp.Body)
		t.Fatalf("after the code: %s\n%s", resp.Request.URL, body)
	}
}

func newFullJar() http.CookieJar {
	j, _ := cookiejar.New(nil)
	return j
}

func TestAddPhoneOnThePages(t *testing.T) {
	t.Parallel()
	gw := &sms.FakeGateway{}
	in := apptest.Start(t, "sqlite", apptest.SMSGateway(gw))
	in.SignUp(t, "addphone@example.com", pw, "Add Phone")
	client := &http.Client{Jar: newFullJar(), Timeout: 30 * time.Second}
	post := func(path string, v url.Values) (*http.Response, string) {
		resp, err := client.PostForm(in.URL+path, v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	post("/signin", url.Values{"email": {"addphone@example.com"}, "password": {pw}})
	resp, body := post("/account/two-step/sms", url.Values{"phone": {"not a phone"}})
	if resp.StatusCode != 400 || !strings.Contains(body, "international form") || !strings.Contains(body, `value="not a phone"`) {
		t.Fatalf("bad phone: %d\n%s", resp.StatusCode, body)
	}
	resp, body = post("/account/two-step/sms", url.Values{"phone": {phone}})
	m := regexp.MustCompile(`action="/account/two-step/sms/([a-z0-9_]+)/confirm"`).FindStringSubmatch(body)
	if resp.StatusCode != 200 || m == nil || !strings.Contains(body, "weakest") {
		t.Fatalf("start: %d\n%s", resp.StatusCode, body)
	}
	resp, body = post("/account/two-step/sms/"+m[1]+"/confirm", url.Values{"code": {"000000"}})
	if resp.StatusCode != 400 || !strings.Contains(body, "not right") {
		t.Fatalf("wrong code: %d\n%s", resp.StatusCode, body)
	}
	resp, body = post("/account/two-step/sms/"+m[1]+"/confirm", url.Values{"code": {waitSMS(t, gw, 1)}})
	if resp.Request.URL.Path != "/account/two-step" || !strings.Contains(body, "Your phone is added") || !strings.Contains(body, "3456") {
		t.Fatalf("confirm: %s\n%s", resp.Request.URL, body)
	}
}

// Someone whose only second step is their phone confirms it's them on the
// re-authentication page: it offers a texted code, not an authenticator
// app; the code works once and only with the right password.
func TestReauthPageBySMS(t *testing.T) {
	t.Parallel()
	gw := &sms.FakeGateway{}
	in := apptest.Start(t, "sqlite", apptest.SMSGateway(gw), apptest.Env("SELLERGUARD_REAUTH_WINDOW", "1m"))
	in.SignUp(t, "textonly@example.com", pw, "Text Only Co")
	token := in.SignIn(t, "textonly@example.com", pw)
	r := in.Do(t, "POST", "/api/v1/two-step/sms", token, map[string]any{"phone": phone})
	id := r.JSON(t)["method_id"].(string)
	if r := in.Do(t, "POST", "/api/v1/two-step/sms/"+id+"/confirm", token, map[string]string{"code": waitSMS(t, gw, 1)}); r.Status != 200 {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	in.Clock.Advance(2 * time.Minute)

	pg := pageGet(t, in, "/account/reauth?next=/account/business", token)
	if !strings.Contains(pg.body, `id="reauth-send-sms"`) || !strings.Contains(pg.body, "code from the text message") || strings.Contains(pg.body, "authenticator app") {
		t.Fatalf("reauth page for a phone-only user: %s", pg.body)
	}
	pg = pageRequest(t, in, "POST", "/account/reauth/sms", token, url.Values{"next": {"/account/business"}})
	if pg.StatusCode != 200 || !strings.Contains(pg.body, `id="sms-sent"`) {
		t.Fatalf("text me a code: %d", pg.StatusCode)
	}
	code := waitSMS(t, gw, 2)
	form := url.Values{"next": {"/account/business"}, "method": {"sms"}, "password": {"not my password at all"}, "code": {code}}
	if pg := pageRequest(t, in, "POST", "/account/reauth", token, form); pg.StatusCode != 401 && pg.StatusCode != 400 {
		t.Fatalf("wrong password: %d", pg.StatusCode)
	}
	form.Set("password", pw)
	pg = pageRequest(t, in, "POST", "/account/reauth", token, form)
	if pg.StatusCode != 303 || pg.Header.Get("Location") != "/account/business" {
		t.Fatalf("right password and code: %d %s %s", pg.StatusCode, pg.Header.Get("Location"), pg.body)
	}
	token = newSessionCookie(t, pg.Header) // the session that asked has ended
	in.Clock.Advance(2 * time.Minute)
	if pg := pageRequest(t, in, "POST", "/account/reauth", token, form); pg.StatusCode == 303 {
		t.Fatalf("the same texted code worked twice")
	}
}
