package sms

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "tok-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
	testFrom  = "+15005550006"
	testMG    = "MG0123456789abcdef0123456789abcdef"
	// Twilio's magic test numbers.
	numberInvalid   = "+15005550001" // 21211
	numberNotMobile = "+15005550009" // 21614
	numberOK        = "+447400123456"
)

// twilioRequest is one request the fake Twilio API received.
type twilioRequest struct {
	Resource string // "Messages" or "Calls"
	Form     url.Values
}

// fakeTwilio is an httptest server that implements the two Twilio
// endpoints SellerGuard uses, checking what a real Twilio checks: method,
// path, Basic auth, content type and the required fields. answer, when
// set, overrides the answer to a well-formed request.
type fakeTwilio struct {
	*httptest.Server
	t      *testing.T
	mu     sync.Mutex
	reqs   []twilioRequest
	answer func(w http.ResponseWriter, r *http.Request)
}

var resourcePath = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/(Messages|Calls)\.json$`)

func startTwilio(t *testing.T) *fakeTwilio {
	t.Helper()
	f := &fakeTwilio{t: t}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, fmt.Sprintf(`{"code": %d, "message": %q, "more_info": "https://www.twilio.com/docs/errors/%d", "status": %d}`, code, msg, code, status))
}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	m := resourcePath.FindStringSubmatch(r.URL.EscapedPath())
	if m == nil {
		twilioError(w, 404, 20404, "The requested resource was not found")
		return
	}
	if r.Method != http.MethodPost {
		twilioError(w, 405, 20004, "Method not allowed")
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != testSID || pass != testToken || m[1] != testSID {
		twilioError(w, 401, 20003, "Authenticate")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		f.t.Errorf("Content-Type = %q", ct)
	}
	if err := r.ParseForm(); err != nil {
		twilioError(w, 400, 20001, "bad form")
		return
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, twilioRequest{Resource: m[2], Form: r.PostForm})
	f.mu.Unlock()
	if f.answer != nil {
		f.answer(w, r)
		return
	}
	to := r.PostForm.Get("To")
	switch {
	case to == "":
		twilioError(w, 400, 21604, "A 'To' phone number is required.")
	case to == numberInvalid:
		twilioError(w, 400, 21211, "The 'To' number "+to+" is not a valid phone number.")
	case to == numberNotMobile:
		twilioError(w, 400, 21614, "'To' number "+to+" is not a valid mobile number")
	case m[2] == "Messages" && r.PostForm.Get("Body") == "":
		twilioError(w, 400, 21602, "Message body is required.")
	case m[2] == "Messages" && r.PostForm.Get("From") == "" && r.PostForm.Get("MessagingServiceSid") == "":
		twilioError(w, 400, 21603, "A 'From' phone number is required.")
	case m[2] == "Calls" && (r.PostForm.Get("From") == "" || r.PostForm.Get("Twiml") == ""):
		twilioError(w, 400, 21205, "Url parameter is required.")
	case m[2] == "Calls":
		writeJSON(w, 201, `{"sid": "CA11111111111111111111111111111111", "status": "queued", "to": "`+to+`"}`)
	default:
		writeJSON(w, 201, `{"sid": "SM22222222222222222222222222222222", "status": "queued", "error_code": null, "error_message": null, "to": "`+to+`", "body": "redacted here"}`)
	}
}

func (f *fakeTwilio) requests() []twilioRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]twilioRequest(nil), f.reqs...)
}

func (f *fakeTwilio) gateway() *TwilioGateway {
	return &TwilioGateway{BaseURL: f.URL, AccountSID: testSID, AuthToken: testToken, From: testFrom, Timeout: 2 * time.Second}
}

// assertClean fails if err's text holds the token, the body, a code of the
// body or the number.
func assertClean(t *testing.T, err error, m Message) {
	t.Helper()
	if err == nil {
		return
	}
	s := err.Error()
	leaks := []string{testToken, m.Body}
	leaks = append(leaks, digitRuns(m.Body, 4)...)
	if m.To != "" {
		leaks = append(leaks, m.To, strings.TrimPrefix(m.To, "+"))
	}
	for _, leak := range leaks {
		if leak != "" && strings.Contains(s, leak) {
			t.Errorf("error %q contains %q", s, leak)
		}
	}
}

func TestTwilioSendsATextMessage(t *testing.T) {
	srv := startTwilio(t)
	m := Message{To: numberOK, Body: "Your SellerGuard code is 482910. It expires in 10 minutes."}
	id, err := srv.gateway().Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if id != "SM22222222222222222222222222222222" {
		t.Fatalf("id = %q", id)
	}
	reqs := srv.requests()
	if len(reqs) != 1 || reqs[0].Resource != "Messages" {
		t.Fatalf("requests = %+v", reqs)
	}
	want := url.Values{"To": {numberOK}, "From": {testFrom}, "Body": {m.Body}}
	if got := reqs[0].Form; got.Encode() != want.Encode() {
		t.Fatalf("form = %v, want %v", got, want)
	}
}

func TestTwilioSendsThroughAMessagingService(t *testing.T) {
	srv := startTwilio(t)
	g := srv.gateway()
	g.From = testMG
	if _, err := g.Send(context.Background(), Message{To: numberOK, Body: "code 482913"}); err != nil {
		t.Fatal(err)
	}
	f := srv.requests()[0].Form
	if f.Get("MessagingServiceSid") != testMG || f.Has("From") {
		t.Fatalf("form = %v", f)
	}
}

type twiMLResponse struct {
	XMLName xml.Name `xml:"Response"`
	Items   []struct {
		XMLName xml.Name
		Text    string `xml:",chardata"`
		Length  string `xml:"length,attr"`
	} `xml:",any"`
}

func TestTwilioPlacesAVoiceCallThatSpellsTheCodeTwice(t *testing.T) {
	srv := startTwilio(t)
	m := Message{To: numberOK, Body: `Your <SellerGuard> code is 482910 & "nobody" asks for it.`, Voice: true}
	id, err := srv.gateway().Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if id != "CA11111111111111111111111111111111" {
		t.Fatalf("id = %q", id)
	}
	reqs := srv.requests()
	if len(reqs) != 1 || reqs[0].Resource != "Calls" {
		t.Fatalf("requests = %+v", reqs)
	}
	f := reqs[0].Form
	if f.Get("To") != numberOK || f.Get("From") != testFrom || f.Has("Body") {
		t.Fatalf("form = %v", f)
	}
	raw := f.Get("Twiml")
	if !strings.HasPrefix(raw, "<Response><Say>") || !strings.Contains(raw, "&lt;SellerGuard&gt;") || !strings.Contains(raw, "&amp;") || strings.Contains(raw, "<SellerGuard>") {
		t.Fatalf("TwiML not escaped: %s", raw)
	}
	var tw twiMLResponse
	if err := xml.Unmarshal([]byte(raw), &tw); err != nil {
		t.Fatalf("TwiML %s: %v", raw, err)
	}
	spoken := `Your <SellerGuard> code is 4, 8, 2, 9, 1, 0 & "nobody" asks for it.`
	var says []string
	for _, it := range tw.Items {
		switch it.XMLName.Local {
		case "Say":
			says = append(says, it.Text)
		case "Pause":
		default:
			t.Errorf("unexpected verb %s", it.XMLName.Local)
		}
	}
	if len(says) != 2 || says[0] != spoken || says[1] != spoken {
		t.Fatalf("said %q, want %q twice", says, spoken)
	}
}

func TestTwilioVoiceNeedsANumberAsSender(t *testing.T) {
	srv := startTwilio(t)
	g := srv.gateway()
	g.From = testMG
	m := Message{To: numberOK, Body: "code 482913", Voice: true}
	_, err := g.Send(context.Background(), m)
	if err == nil || IsPermanent(err) || !strings.Contains(err.Error(), "SELLERGUARD_SMS_FROM") {
		t.Fatalf("err = %v, want a temporary configuration error", err)
	}
	assertClean(t, err, m)
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

func TestTwilioRefusesInvalidMessagesWithoutARequest(t *testing.T) {
	srv := startTwilio(t)
	for _, m := range []Message{
		{To: "", Body: "code 482913"},
		{To: "", Body: "code 482913", Voice: true},
		{To: "447400123456", Body: "code 482913"},
		{To: "+44 7400 123456", Body: "code 482913"},
		{To: "+0447400123456", Body: "code 482913"},
		{To: numberOK, Body: "  "},
		{To: numberOK, Body: strings.Repeat("x", MaxBodyLength+1)},
		{To: numberOK, Body: strings.Repeat("1", 1500), Voice: true},
		{To: numberOK, Body: "bad \xff utf-8"},
	} {
		_, err := srv.gateway().Send(context.Background(), m)
		if !errors.Is(err, ErrInvalidMessage) || !IsPermanent(err) {
			t.Errorf("Send(%.40q): err = %v, want a permanent ErrInvalidMessage", m.To+" "+m.Body, err)
		}
		assertClean(t, err, m)
	}
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("%d requests sent for invalid messages", n)
	}
}

func TestTwilioClassifiesAnswers(t *testing.T) {
	body := "Your SellerGuard code is 731946."
	for _, tc := range []struct {
		name      string
		to        string
		answer    func(w http.ResponseWriter, r *http.Request)
		status    int
		code      int
		permanent bool
	}{
		{name: "invalid number", to: numberInvalid, status: 400, code: 21211, permanent: true},
		{name: "not a mobile", to: numberNotMobile, status: 400, code: 21614, permanent: true},
		{name: "opted out", answer: func(w http.ResponseWriter, r *http.Request) {
			twilioError(w, 400, 21610, "Attempt to send to unsubscribed recipient")
		}, status: 400, code: 21610, permanent: true},
		{name: "plain 400 echoing the body", answer: func(w http.ResponseWriter, r *http.Request) {
			twilioError(w, 400, 0, "Body '"+r.PostForm.Get("Body")+"' refused for "+r.PostForm.Get("To"))
		}, status: 400, permanent: true},
		{name: "code quoted alone", answer: func(w http.ResponseWriter, r *http.Request) {
			twilioError(w, 400, 30007, "Message with 731946 filtered")
		}, status: 400, code: 30007, permanent: true},
		{name: "bad sender is configuration", answer: func(w http.ResponseWriter, r *http.Request) {
			twilioError(w, 400, 21606, "The From phone number "+testFrom+" is not a valid, SMS-capable inbound phone number")
		}, status: 400, code: 21606},
		{name: "bad credentials", answer: func(w http.ResponseWriter, r *http.Request) {
			twilioError(w, 401, 20003, "Authenticate")
		}, status: 401, code: 20003},
		{name: "too many requests", answer: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "1")
			twilioError(w, 429, 20429, "Too Many Requests")
		}, status: 429, code: 20429},
		{name: "server error", answer: func(w http.ResponseWriter, r *http.Request) {
			twilioError(w, 500, 20500, "Internal Server Error")
		}, status: 500, code: 20500},
		{name: "proxy error page", answer: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			fmt.Fprint(w, "<html>bad gateway "+r.PostForm.Get("Body")+"</html>")
		}, status: 502},
		{name: "redirect is not followed", answer: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		}, status: 307},
		{name: "created without sid", answer: func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 201, `{"status": "queued"}`)
		}, status: 201},
		{name: "created but failed", answer: func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 201, `{"sid": "SM1", "status": "failed", "error_code": "30006", "error_message": "Landline or unreachable carrier"}`)
		}, status: 201, code: 30006, permanent: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startTwilio(t)
			srv.answer = tc.answer
			m := Message{To: numberOK, Body: body}
			if tc.to != "" {
				m.To = tc.to
			}
			id, err := srv.gateway().Send(context.Background(), m)
			if err == nil {
				t.Fatalf("Send = %q, want an error", id)
			}
			var e *Error
			if !errors.As(err, &e) || e.HTTPStatus != tc.status || e.Code != tc.code || IsPermanent(err) != tc.permanent {
				t.Fatalf("err = %#v (%v), want HTTP %d, code %d, permanent %v", e, err, tc.status, tc.code, tc.permanent)
			}
			assertClean(t, err, m)
			if n := len(srv.requests()); n != 1 {
				t.Fatalf("%d requests, want 1", n)
			}
		})
	}
}

func TestTwilioSlowAnswerTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := startTwilio(t)
	srv.answer = func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	defer close(release)
	m := Message{To: numberOK, Body: "code 482913"}

	g := srv.gateway()
	g.Timeout = 100 * time.Millisecond
	start := time.Now()
	_, err := g.Send(context.Background(), m)
	if err == nil || IsPermanent(err) {
		t.Fatalf("err = %v, want a temporary error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Send took %v with a 100ms timeout", d)
	}
	assertClean(t, err, m)

	// The caller's deadline is kept too.
	g.Timeout = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = g.Send(ctx, m)
	if !errors.Is(err, context.DeadlineExceeded) || IsPermanent(err) {
		t.Fatalf("err = %v, want a temporary deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Send took %v with a 100ms deadline", d)
	}

	// And a client of the caller's own with its own timeout.
	g.Client = &http.Client{Timeout: 100 * time.Millisecond}
	if _, err := g.Send(context.Background(), m); err == nil || IsPermanent(err) {
		t.Fatalf("err = %v, want a temporary error", err)
	}
}

func TestTwilioUnreachableIsTemporary(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	m := Message{To: numberOK, Body: "code 482913"}
	g := &TwilioGateway{BaseURL: base, AccountSID: testSID, AuthToken: testToken, From: testFrom, Timeout: time.Second}
	_, err := g.Send(context.Background(), m)
	if err == nil || IsPermanent(err) {
		t.Fatalf("err = %v, want a temporary error", err)
	}
	assertClean(t, err, m)
}

func TestSpellDigits(t *testing.T) {
	for in, want := range map[string]string{
		"":                    "",
		"code 482913.":        "code 4, 8, 2, 9, 1, 3.",
		"in 10 minutes":       "in 10 minutes",
		"999 or 1234":         "999 or 1, 2, 3, 4",
		"1234-5678":           "1, 2, 3, 4-5, 6, 7, 8",
		"Ihr Code: 0042 — ok": "Ihr Code: 0, 0, 4, 2 — ok",
	} {
		if got := spellDigits(in); got != want {
			t.Errorf("spellDigits(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzTwilioAnswer(f *testing.F) {
	f.Add(201, []byte(`{"sid":"SM1","status":"queued","error_code":null}`))
	f.Add(400, []byte(`{"code":21211,"message":"The 'To' number +15005550001 is not a valid phone number.","status":400}`))
	f.Add(201, []byte(`{"sid":"SM1","status":"failed","error_code":"30006","error_message":"x"}`))
	f.Add(500, []byte(`<html></html>`))
	f.Fuzz(func(t *testing.T, status int, answer []byte) {
		if status < 200 || status > 599 {
			return
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			_, _ = w.Write(answer)
		}))
		defer srv.Close()
		g := &TwilioGateway{BaseURL: srv.URL, AccountSID: testSID, AuthToken: testToken, From: testFrom, Timeout: time.Second}
		m := Message{To: numberOK, Body: "code 482913"}
		id, err := g.Send(context.Background(), m)
		if (err == nil) == (id == "") {
			t.Fatalf("id %q with err %v", id, err)
		}
		if err != nil && strings.Contains(err.Error(), "482913") {
			t.Fatalf("error %q holds the code", err)
		}
	})
}

// A Chinese code is read in Mandarin: <Say voice="alice" language="zh-CN">
// on both readings; the outbox Subject carries the language to the call.
func TestTwilioReadsAChineseCodeInMandarin(t *testing.T) {
	srv := startTwilio(t)
	voice, lang := IsVoice(VoiceSubject("zh-CN"))
	if !voice || lang != "zh-CN" {
		t.Fatalf("IsVoice(VoiceSubject(zh-CN)) = %v %q", voice, lang)
	}
	if v, l := IsVoice(SubjectVoice); !v || l != "en" {
		t.Fatalf("IsVoice(voice) = %v %q", v, l)
	}
	if v, _ := IsVoice(""); v {
		t.Fatal("an empty subject is a call")
	}
	m := Message{To: numberOK, Body: "SellerGuard 验证码：482910。", Voice: true, Lang: lang}
	if _, err := srv.gateway().Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	raw := srv.requests()[0].Form.Get("Twiml")
	want := `<Say voice="alice" language="zh-CN">SellerGuard 验证码：4, 8, 2, 9, 1, 0。</Say>`
	if strings.Count(raw, want) != 2 {
		t.Fatalf("TwiML = %s", raw)
	}
	var tw twiMLResponse
	if err := xml.Unmarshal([]byte(raw), &tw); err != nil {
		t.Fatalf("TwiML %s: %v", raw, err)
	}
}
