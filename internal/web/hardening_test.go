package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/api"
	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/sms"
)

// The local outbox shows every code in the clear, so it answers only this
// machine: a request whose TCP peer is not a loopback address gets 404 —
// whatever X-Forwarded-For says — and so does a loopback request that a
// proxy says it forwarded.
func TestDevOutboxAnswersOnlyLoopbackPeers(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	if r := in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": "peer@example.com", "password": pw, "business_name": "Peer"}); r.Status != 202 {
		t.Fatalf("signup: %d %s", r.Status, r.Body)
	}
	// Straight from this machine: the code is there.
	if msgs := in.Outbox(t); len(msgs) == 0 || !strings.Contains(msgs[0].Body, "code is:") {
		t.Fatalf("outbox from loopback: %v", msgs)
	}
	if pg := pageGet(t, in, "/dev/outbox", ""); pg.StatusCode != 200 || !strings.Contains(pg.body, "peer@example.com") {
		t.Fatalf("outbox page from loopback: %d", pg.StatusCode)
	}

	// The server as it answers a connection from elsewhere: net/http puts
	// the TCP peer in RemoteAddr.
	ask := func(remote, path string, header map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req.RemoteAddr = remote
		req.Header.Set("Accept", "text/html")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		in.Server.ServeHTTP(rec, req)
		return rec
	}
	for _, path := range []string{"/api/v1/dev/outbox", "/dev/outbox"} {
		for name, c := range map[string]struct {
			remote string
			header map[string]string
		}{
			"LAN peer":                       {"192.168.1.20:50000", nil},
			"public IPv6 peer":               {"[2001:db8::7]:50000", nil},
			"peer claiming to be loopback":   {"203.0.113.9:50000", map[string]string{"X-Forwarded-For": "127.0.0.1"}},
			"loopback proxy forwarding":      {"127.0.0.1:50000", map[string]string{"X-Forwarded-For": "203.0.113.9"}},
			"loopback proxy with Forwarded":  {"127.0.0.1:50000", map[string]string{"Forwarded": "for=203.0.113.9"}},
			"IPv4-mapped non-loopback":       {"[::ffff:10.0.0.5]:50000", nil},
			"loopback proxy with X-Real-IP:": {"[::1]:50000", map[string]string{"X-Real-IP": "203.0.113.9"}},
		} {
			rec := ask(c.remote, path, c.header)
			if rec.Code != 404 || strings.Contains(rec.Body.String(), "peer@example.com") || strings.Contains(rec.Body.String(), "code is") {
				t.Errorf("%s %s: %d %.200s", name, path, rec.Code, rec.Body)
			}
		}
		if rec := ask("[::1]:50000", path, nil); rec.Code != 200 {
			t.Errorf("IPv6 loopback %s: %d", path, rec.Code)
		}
	}
	// Pages shown to another machine do not point at the outbox either.
	if rec := ask("192.168.1.20:50000", "/signin", nil); rec.Code != 200 || strings.Contains(rec.Body.String(), "/dev/outbox") {
		t.Errorf("sign-in page for a LAN peer: %d, links the outbox: %v", rec.Code, strings.Contains(rec.Body.String(), "/dev/outbox"))
	}
	// A real request over the loopback connection that says it was forwarded.
	r := in.DoWith(t, "GET", "/api/v1/dev/outbox", "", map[string]string{"X-Forwarded-For": "198.51.100.4"}, nil)
	if r.Status != 404 {
		t.Errorf("forwarded request over loopback: %d", r.Status)
	}
}

// An API call authenticated by the session cookie must label its body
// JSON: a form, multipart or text body (or one with no label) is what a
// cross-site form or "simple" fetch sends, and answers 415 without doing
// anything. Bearer-token callers keep form-labelled JSON (curl -d).
func TestCookieAuthenticatedAPICallsNeedJSON(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "cookie@example.com", pw, "Cookie Goods")
	token := in.SignIn(t, "cookie@example.com", pw)
	phrase := func() string {
		return in.Do(t, "GET", "/api/v1/account/anti-phishing-phrase", token, nil).JSON(t)["phrase"].(string)
	}
	before := phrase()
	send := func(cookie bool, bearer bool, method, path, ctype, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, in.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body == "" {
			req.Body, req.ContentLength = nil, 0
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if cookie {
			req.AddCookie(&http.Cookie{Name: pageSessionCookie, Value: token})
		}
		if bearer {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := in.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m) // some answers are empty
		if resp.StatusCode == 415 && resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("415 as %s", resp.Header.Get("Content-Type"))
		}
		return resp.StatusCode, m
	}
	const path = "/api/v1/account/anti-phishing-phrase"
	for _, c := range []struct{ ctype, body string }{
		{"application/x-www-form-urlencoded", "phrase=owned+by+a+form"},
		{"application/x-www-form-urlencoded", `{"phrase":"owned by a form"}`},
		{"multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"phrase\"\r\n\r\nowned by a form\r\n--x--\r\n"},
		{"text/plain", `{"phrase":"owned by a form"}`},
		{"text/plain;charset=UTF-8", `{"phrase":"owned by a form"}`},
		{"", `{"phrase":"owned by a form"}`},
	} {
		status, m := send(true, false, "PUT", path, c.ctype, c.body)
		if status != 415 || m["code"] != "unsupported_media_type" || !strings.Contains(m["detail"].(string), "session cookie") {
			t.Errorf("cookie PUT as %q: %d %v", c.ctype, status, m)
		}
	}
	if got := phrase(); got != before {
		t.Fatalf("a refused request changed the phrase to %q", got)
	}
	// The cookie with JSON works; bodiless cookie calls are unaffected.
	if status, m := send(true, false, "PUT", path, "application/json", `{"phrase":"blue heron by json"}`); status != 200 {
		t.Fatalf("cookie PUT as JSON: %d %v", status, m)
	}
	if status, _ := send(true, false, "GET", "/api/v1/session", "", ""); status != 200 {
		t.Fatalf("cookie GET: %d", status)
	}
	// A bearer token keeps curl -d (form-labelled JSON), even with the
	// cookie also present: the token, not the cookie, authenticates.
	if status, m := send(false, true, "PUT", path, "application/x-www-form-urlencoded", `{"phrase":"heron by curl"}`); status != 200 {
		t.Fatalf("bearer PUT as form: %d %v", status, m)
	}
	if status, m := send(true, true, "PUT", path, "application/x-www-form-urlencoded", `{"phrase":"heron by curl two"}`); status != 200 {
		t.Fatalf("bearer+cookie PUT as form: %d %v", status, m)
	}
	if got := phrase(); got != "heron by curl two" {
		t.Fatalf("phrase = %q", got)
	}

	// Every API operation the document says a session cookie may call
	// answers a cookie with a form body 415, as documented.
	var doc struct {
		Paths map[string]map[string]struct {
			Security  []map[string][]string `json:"security"`
			Responses map[string]any        `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(api.Spec, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for p, ops := range doc.Paths {
		if !strings.HasPrefix(p, "/api/") {
			continue
		}
		concrete := regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(p, "x")
		for method, op := range ops {
			cookie := false
			for _, s := range op.Security {
				_, a := s["sessionCookie"]
				_, b := s["sessionCookieTLS"]
				cookie = cookie || a || b
			}
			if !cookie {
				continue
			}
			n++
			if _, ok := op.Responses["415"]; !ok {
				t.Errorf("%s %s takes the session cookie but does not document 415", method, p)
			}
			status, m := send(true, false, strings.ToUpper(method), concrete, "application/x-www-form-urlencoded", "a=b")
			if status != 415 || m["code"] != "unsupported_media_type" {
				t.Errorf("cookie %s %s as a form: %d %v", method, concrete, status, m)
			}
		}
	}
	if n < 50 {
		t.Fatalf("only %d cookie operations in the document", n)
	}
}

// Pages given a business the caller does not belong to answer 404, as the
// API does, instead of quietly showing the caller's own business.
func TestPagesWithAnotherBusinessAnswerNotFound(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	alice, aliceBiz := newOwner(t, in, "alice@pages404.example", "Alice Antiques")
	_, bobBiz := newOwner(t, in, "bob@pages404.example", "Bob Bicycles")
	for _, page := range []string{"/account/business", "/account/team", "/account/team/review"} {
		for _, c := range []struct {
			query string
			want  int
		}{{"", 200}, {"?business_id=" + aliceBiz, 200}, {"?business_id=" + bobBiz, 404}, {"?business_id=biz_nosuchbusiness", 404}} {
			pg := pageGet(t, in, page+c.query, alice.token)
			if pg.StatusCode != c.want {
				t.Errorf("%s%s: %d, want %d", page, c.query, pg.StatusCode, c.want)
				continue
			}
			if c.want == 404 && (strings.Contains(pg.body, "Alice Antiques") || strings.Contains(pg.body, "Bob Bicycles")) {
				t.Errorf("%s%s: the 404 page names a business", page, c.query)
			}
			if c.want == 200 && !strings.Contains(pg.body, "Alice Antiques") {
				t.Errorf("%s%s: the page does not show Alice's business", page, c.query)
			}
		}
	}
	// The audit page and its CSV refuse another business too.
	for _, page := range []string{"/account/audit?business_id=" + bobBiz, "/account/audit.csv?business_id=" + bobBiz} {
		if pg := pageGet(t, in, page, alice.token); pg.StatusCode != 404 || strings.Contains(pg.body, "Bob Bicycles") {
			t.Errorf("%s: %d", page, pg.StatusCode)
		}
	}
	// A form naming another business changes nothing there.
	pg := pageRequest(t, in, "POST", "/account/team", alice.token, url.Values{"business_id": {bobBiz}, "action": {"invite"}, "email": {"mallory@pages404.example"}, "perm:listings": {"view"}})
	if pg.StatusCode != 404 {
		t.Errorf("inviting into another business by form: %d", pg.StatusCode)
	}
}

var exampleNumberRE = regexp.MustCompile(`like (\+[0-9 ]+)\.`)

// Every "invalid_phone" message gives an example number, and that number
// passes the very check that refused the input: at sign-up, adding a phone
// for two-step, and changing the account's mobile number.
func TestPhoneErrorExampleIsAcceptedByTheCheck(t *testing.T) {
	gw := &sms.FakeGateway{}
	in := apptest.Start(t, "sqlite", apptest.SMSGateway(gw))
	in.SignUp(t, "example@phones.example", pw, "Phones")
	token := in.SignIn(t, "example@phones.example", pw)
	examples := map[string]string{}
	for what, r := range map[string]apptest.Response{
		"signup":    in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": "other@phones.example", "password": pw, "business_name": "Other", "phone": "call me"}),
		"two-step":  in.Do(t, "POST", "/api/v1/two-step/sms", token, map[string]string{"phone": "call me"}),
		"new phone": in.Do(t, "POST", "/api/v1/account/phone", token, map[string]string{"phone": "call me"}),
	} {
		if r.Status != 400 || !strings.Contains(string(r.Body), "invalid_phone") {
			t.Errorf("%s with a bad number: %d %s", what, r.Status, r.Body)
			continue
		}
		m := exampleNumberRE.FindStringSubmatch(string(r.Body))
		if m == nil {
			t.Errorf("%s: no example number in %s", what, r.Body)
			continue
		}
		examples[what] = m[1]
		if _, err := sms.NormalizeNumber(m[1]); err != nil {
			t.Errorf("%s: the example %q is refused by the check: %v", what, m[1], err)
		}
	}
	// And it really works: the example is taken for two-step.
	ex := examples["two-step"]
	if ex == "" {
		t.Fatal("no example to try")
	}
	if r := in.Do(t, "POST", "/api/v1/two-step/sms", token, map[string]string{"phone": ex}); r.Status != 201 {
		t.Fatalf("adding the example number %q: %d %s", ex, r.Status, r.Body)
	}
}
