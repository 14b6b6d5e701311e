package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/api"
	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/store"
)

// garbageOp is one operation of the OpenAPI document, with the names of
// the fields its body takes.
type garbageOp struct {
	method, path string
	fields       []string
}

// garbageOps reads every operation of the OpenAPI document.
func garbageOps(t *testing.T) []garbageOp {
	t.Helper()
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(api.Spec, &doc); err != nil {
		t.Fatal(err)
	}
	type schema struct {
		Ref        string                     `json:"$ref"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	resolve := func(raw json.RawMessage) schema {
		var s schema
		_ = json.Unmarshal(raw, &s)
		for range 5 {
			name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/")
			if !ok {
				break
			}
			s = schema{}
			_ = json.Unmarshal(doc.Components.Schemas[name], &s)
		}
		return s
	}
	var ops []garbageOp
	for p, item := range doc.Paths {
		for method, raw := range item {
			if !slices.Contains([]string{"get", "post", "put", "patch", "delete"}, method) {
				continue
			}
			var op struct {
				RequestBody struct {
					Content map[string]struct {
						Schema json.RawMessage `json:"schema"`
					} `json:"content"`
				} `json:"requestBody"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			o := garbageOp{method: strings.ToUpper(method), path: p}
			for _, c := range op.RequestBody.Content {
				for f := range resolve(c.Schema).Properties {
					o.fields = append(o.fields, f)
				}
			}
			slices.Sort(o.fields)
			o.fields = slices.Compact(o.fields)
			ops = append(ops, o)
		}
	}
	slices.SortFunc(ops, func(a, b garbageOp) int { return strings.Compare(a.path+a.method, b.path+b.method) })
	return ops
}

// TestNoRequestAnswers500 sends every operation of the OpenAPI document
// input a client may send by mistake or on purpose — ids with a NUL byte,
// with bytes that are not UTF-8 or 3,000 characters long; bodies that are
// not JSON, JSON of the wrong shape, fields of the wrong type, with NUL
// characters or very long; forms with the same; queries with the same —
// anonymously and with a fully signed-in owner's session (a bearer token
// for the API, the cookie for pages), on both databases, and requires that
// none is answered 5xx: bad input gets a clear 4xx, never a 500.
//
// Four operations are left out because they end the sweep's own standing
// (signing out, DELETE /api/v1/session, and the compromise wizard, which
// revokes every session and asks for a new password): their bad input is
// tested with their flows.
func TestNoRequestAnswers500(t *testing.T) {
	if testing.Short() {
		t.Skip("a sweep of every operation; not in -short")
	}
	ops := garbageOps(t)
	if len(ops) < 200 {
		t.Fatalf("only %d operations in the document", len(ops))
	}
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect, apptest.Env("SELLERGUARD_LIMIT_SOURCE_FAILURES", "10000"))
		owner, biz := newOwner(t, in, "garbage@sweep.example", "Garbage Goods")
		apiTok, pageTok := owner.token, in.SignIn(t, owner.email, pw)
		pageTok = secondStepAfterAdvance(t, in, pageTok, owner.secret)
		// alive signs a session in again when an operation of the sweep
		// ended it (revoking the others, removing a method).
		alive := func(tok string) string {
			if in.Do(t, "GET", "/api/v1/session", tok, nil).Status == http.StatusOK {
				return tok
			}
			r := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": owner.email, "password": pw}).JSON(t)
			if r["second_step_required"] != true {
				return r["token"].(string)
			}
			return secondStepAfterAdvance(t, in, r["token"].(string), owner.secret)
		}
		// Seller Support: a supervisor (API token and page cookie) and a case.
		sup := addAgent(t, in, "sup@sweep.example", "supervisor")
		agentTok := agentToken(t, in, sup)
		if r := in.Do(t, "POST", "/api/v1/support/cases", "", map[string]string{"kind": "other", "account_email": owner.email, "contact_email": "c@sweep.example", "description": "help"}); r.Status != 202 {
			t.Fatalf("open a case: %d %s", r.Status, r.Body)
		}
		cases, err := in.DB.ListSupportCases(context.Background(), store.CaseFilter{})
		if err != nil || len(cases) != 1 {
			t.Fatalf("cases: %v %v", cases, err)
		}
		agentAlive := func(tok string) string {
			if in.Do(t, "GET", "/api/v1/agent/session", tok, nil).Status == http.StatusOK {
				return tok
			}
			return agentToken(t, in, sup)
		}
		tokenFor := func(path string) string {
			switch {
			case strings.HasPrefix(path, "/api/v1/agent/"), strings.HasPrefix(path, "/agent/"):
				return agentTok
			case strings.HasPrefix(path, "/api/"):
				return apiTok
			}
			return pageTok
		}
		ids := []string{"x", "%00", "a%00b", "%ff%fe", "%c3", strings.Repeat("a", 3000), "%E4%B8%AD%F0%9F%99%82", biz, owner.id, cases[0].ID, sup.id, "..%2f..%2fetc"}
		queries := []string{"", "?limit=-1&cursor=%00&business_id=%00&since=x", "?business_id=%ff%fe&before=%c3&category=%00", "?limit=99999999999999999999&cursor=" + strings.Repeat("A", 3000), "?business_id=" + biz + "&actor=%00&q=%ff"}
		long := strings.Repeat("x", 70<<10)
		signedIn, lost := 0, 0
		send := func(op garbageOp, path, contentType string, body []byte, token string, header map[string]string) {
			t.Helper()
			status, got := rawRequest(t, in, op.method, path, contentType, body, token, header)
			if token != "" && strings.HasPrefix(path, "/api/") {
				signedIn++
				if status == http.StatusUnauthorized && strings.Contains(got, `"code":"unauthenticated"`) {
					lost++
				}
			}
			if status >= 500 {
				t.Errorf("%s %.200s (%s, %d-byte %s body %.80q): %d %.300s", op.method, path, map[bool]string{true: "signed in", false: "anonymous"}[token != ""], len(body), contentType, body, status, got)
			}
		}
		param := regexp.MustCompile(`\{[^}]+\}`)
		n := 0
		for _, op := range ops {
			switch op.method + " " + op.path {
			case "POST /signout", "DELETE /api/v1/session", "POST /api/v1/account/secure", "POST /account/secure", "GET /static/{path}":
				continue
			}
			api := strings.HasPrefix(op.path, "/api/")
			paths := []string{param.ReplaceAllString(op.path, "x")}
			if param.MatchString(op.path) {
				paths = nil
				for _, id := range ids {
					paths = append(paths, param.ReplaceAllString(op.path, id))
				}
			}
			var bodies [][]byte
			ct := "application/x-www-form-urlencoded"
			if api {
				ct = "application/json"
				bodies = [][]byte{nil, []byte("{"), []byte("[]"), []byte("null"), []byte(`{"x":1}`), []byte("\xff\xfe"), []byte(strings.Repeat(`{"a":`, 2000))}
				for _, f := range op.fields {
					for _, v := range []any{123, "a\u0000b", []string{"a"}, map[string]int{"a": 1}, "\u00ff" + strings.Repeat("中", 400), long} {
						m := map[string]any{}
						for _, g := range op.fields {
							m[g] = "x"
						}
						m[f] = v
						b, _ := json.Marshal(m)
						bodies = append(bodies, b)
					}
				}
			} else {
				fields := append([]string{"email", "password", "code", "business_id", "next", "method"}, op.fields...)
				for _, v := range []string{"a\x00b", "\xff\xfe", "\xc3", strings.Repeat("中", 3000), long} {
					form := url.Values{}
					for _, f := range fields {
						form.Set(f, v)
					}
					bodies = append(bodies, []byte(form.Encode()))
				}
				bodies = append(bodies, nil, []byte("%zz=%"), []byte("a=%00&b=%ff"))
			}
			for _, auth := range []string{"", "signed in"} {
				for i, p := range paths {
					if op.method == "GET" {
						for _, q := range queries {
							tok := ""
							if auth != "" {
								tok = tokenFor(op.path)
							}
							send(op, p+q, "", nil, tok, nil)
							n++
						}
						continue
					}
					for j, b := range bodies {
						if i > 0 && j > 1 { // every id with the first bodies; every body with the first id
							break
						}
						tok := ""
						if auth != "" {
							tok = tokenFor(op.path)
						}
						send(op, p, ct, b, tok, nil)
						n++
						if i == 0 && j == 0 {
							// Headers a client may garble.
							for _, h := range []map[string]string{
								{"Idempotency-Key": "k\xff\xc3" + strings.Repeat("k", 300), "Accept-Language": "\xff;q=x, zh-CN;q=2, *;q=-1"},
								{"Cookie": "sg_device=\xff%00; sg_lang=%00; sg_session=\xc3", "Accept": "text/html;q=\xff"},
							} {
								send(op, p, ct, b, tok, h)
								n++
							}
						}
					}
				}
			}
			apiTok, pageTok, agentTok = alive(apiTok), alive(pageTok), agentAlive(agentTok)
		}
		t.Logf("%d requests; %d signed in to the API, %d of them answered 401 unauthenticated", n, signedIn, lost)
		if lost*50 > signedIn {
			// The sweep must reach the handlers, not the sign-in wall.
			t.Errorf("%d of %d signed-in API requests were unauthenticated: the sweep lost its sessions", lost, signedIn)
		}
	})
}

// rawRequest sends a request as a client may write it, not through
// apptest's contract check: with a bearer token (API paths) or the session
// cookie (pages) when token is set, and returns the status and body.
func rawRequest(t *testing.T, in *apptest.Instance, method, path, contentType string, body []byte, token string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, in.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	switch {
	case token == "":
	case strings.HasPrefix(path, "/api/"):
		req.Header.Set("Authorization", "Bearer "+token)
	case strings.HasPrefix(path, "/agent/"):
		req.Header.Set("Accept", "text/html")
		req.AddCookie(&http.Cookie{Name: "sg_agent", Value: token})
	default:
		req.Header.Set("Accept", "text/html")
		req.AddCookie(&http.Cookie{Name: pageSessionCookie, Value: token})
	}
	for k, v := range header {
		req.Header[k] = append(req.Header[k], v)
	}
	resp, err := in.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %.200s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// secondStepAfterAdvance finishes a partial sign-in with the authenticator
// app, half a minute later than the last code (which is never taken twice).
func secondStepAfterAdvance(t *testing.T, in *apptest.Instance, partial, secret string) string {
	t.Helper()
	in.Clock.Advance(31 * time.Second)
	return in.SecondStep(t, partial, secret)
}

// TestBadTextIsRefused: a NUL character or bytes that are not UTF-8 in a
// path answer 404, in a query, a JSON body or a form 400 invalid_input with
// a sentence that says what is wrong, and change nothing — on both
// databases (PostgreSQL cannot store them, SQLite would keep them). The
// text "\u0000" written out in a JSON string is not a NUL and is kept.
func TestBadTextIsRefused(t *testing.T) {
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, biz := newOwner(t, in, "nul@badtext.example", "Nul Goods")
		raw := func(method, path, ctype, body, token string) (int, string) {
			t.Helper()
			var b []byte
			if body != "" {
				b = []byte(body)
			}
			return rawRequest(t, in, method, path, ctype, b, token, nil)
		}
		const said = "NUL character or bytes that are not UTF-8"
		for _, c := range []struct{ method, path string }{
			{"DELETE", "/api/v1/sessions/ses_%00"},
			{"DELETE", "/api/v1/trusted-browsers/%ff%fe"},
			{"POST", "/api/v1/invitations/inv_%c3/accept"},
			{"GET", "/api/v1/businesses/" + biz + "%00/members"},
		} {
			if status, body := raw(c.method, c.path, "", "", owner.token); status != 404 || !strings.Contains(body, `"code":"not_found"`) {
				t.Errorf("%s %s: %d %s, want 404 not_found", c.method, c.path, status, body)
			}
		}
		if status, body := raw("POST", "/account/sessions/%00/revoke", "", "", owner.token); status != 404 {
			t.Errorf("page path with NUL: %d %.200s", status, body)
		}
		for _, q := range []string{"?business_id=%00", "?business_id=" + biz + "&category=%ff", "?cursor=%c3"} {
			if status, body := raw("GET", "/api/v1/audit"+q, "", "", owner.token); status != 400 || !strings.Contains(body, `"code":"invalid_input"`) || !strings.Contains(body, said) {
				t.Errorf("GET /api/v1/audit%s: %d %s, want 400 invalid_input", q, status, body)
			}
		}
		if r := in.DoWith(t, "GET", "/api/v1/audit?business_id=%00", owner.token, map[string]string{"Accept-Language": "zh-CN"}, nil); r.Status != 400 || !strings.Contains(string(r.Body), "NUL 字符") {
			t.Errorf("in Chinese: %d %s", r.Status, r.Body)
		}
		if status, body := raw("GET", "/account/audit?business_id=%00", "", "", owner.token); status != 400 || !strings.Contains(body, said) {
			t.Errorf("audit page with a NUL in the query: %d %.300s", status, body)
		}
		phrase := func() string {
			return in.Do(t, "GET", "/api/v1/account/anti-phishing-phrase", owner.token, nil).JSON(t)["phrase"].(string)
		}
		if r := in.Do(t, "PUT", "/api/v1/account/anti-phishing-phrase", owner.token, map[string]string{"phrase": "blue heron at dawn"}); r.Status != 200 {
			t.Fatalf("set phrase: %d %s", r.Status, r.Body)
		}
		for _, c := range []struct{ body, field string }{
			{`{"phrase":"blue\u0000heron at dusk"}`, `"field":"phrase","code":"bad_text"`},
			{`{"phrase\u0000":"x"}`, ""},
			{`{"phrase":"blue heron at noon","x":["\u0000"]}`, `"field":"x","code":"bad_text"`},
		} {
			if status, got := raw("PUT", "/api/v1/account/anti-phishing-phrase", "application/json", c.body, owner.token); status != 400 || !strings.Contains(got, `"code":"invalid_input"`) || !strings.Contains(got, said) || !strings.Contains(got, c.field) {
				t.Errorf("PUT %s: %d %s, want 400 invalid_input naming %s", c.body, status, got, c.field)
			}
		}
		form := url.Values{"phrase": {"blue\x00heron"}}
		if status, got := raw("POST", "/account/phrase", "application/x-www-form-urlencoded", form.Encode(), owner.token); status != 400 || !strings.Contains(got, said) {
			t.Errorf("phrase form with a NUL: %d %.300s", status, got)
		}
		if got := phrase(); got != "blue heron at dawn" {
			t.Errorf("phrase after refused changes = %q", got)
		}
		if status, got := raw("PUT", "/api/v1/account/anti-phishing-phrase", "application/json", `{"phrase":"heron \\u0000 written out"}`, owner.token); status != 200 {
			t.Errorf("a written-out \\u0000: %d %s", status, got)
		}
		if got := phrase(); got != `heron \u0000 written out` {
			t.Errorf("phrase = %q, want the text as written", got)
		}
		// Sign-in, by API and by form: 400, and no failure is counted.
		for _, email := range []string{"nul\u0000@badtext.example", "nul@badtext.example\u0000"} {
			b, _ := json.Marshal(map[string]string{"email": email, "password": "wrong password here"})
			if status, got := raw("POST", "/api/v1/sessions", "application/json", string(b), ""); status != 400 || !strings.Contains(got, said) {
				t.Errorf("API sign-in with %q: %d %s", email, status, got)
			}
			form := url.Values{"email": {email}, "password": {"wrong password here"}}
			if status, got := raw("POST", "/signin", "application/x-www-form-urlencoded", form.Encode(), ""); status != 400 || !strings.Contains(got, said) {
				t.Errorf("page sign-in with %q: %d %.300s", email, status, got)
			}
		}
		// A very long address of four-byte characters is cut to a key on a
		// character boundary: an answer, not a database error.
		b, _ := json.Marshal(map[string]string{"email": strings.Repeat("🙂", 300) + "@badtext.example", "password": "wrong password here"})
		if status, got := raw("POST", "/api/v1/sessions", "application/json", string(b), ""); status != 401 {
			t.Errorf("sign-in with a 1,200-byte address: %d %s, want 401", status, got)
		}
		if r := in.Do(t, "GET", "/api/v1/session", owner.token, nil).JSON(t); r["failed_signins"].(map[string]any)["count"].(float64) != 0 {
			t.Errorf("refused sign-ins counted: %v", r["failed_signins"])
		}
	})
}
