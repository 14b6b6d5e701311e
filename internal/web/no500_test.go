package web_test

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// No request a client can send produces a 5xx: every registered route, with
// odd path values and bodies, anonymous, with a partial session and with a
// full one.
func TestNoRouteAnswers5xxToJunk(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	_, biz := in.SignUp(t, "junk@example.com", pw, "Junk")
	full := in.SignIn(t, "junk@example.com", pw)
	in.EnrollTOTP(t, full)
	partial := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("junk@example.com", pw, "")).JSON(t)["token"].(string)
	random := make([]byte, 512)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	bodies := [][]byte{nil, []byte("{"), []byte(`{"a":1}`), []byte(`[]`), []byte(`{"email":{"x":[1,2,3]},"password":null,"code":12}`),
		[]byte(strings.Repeat("[", 10000)), random, []byte(`{"email":"` + strings.Repeat("\u00e9", 3000) + `"}`)}
	// The caller's own business id too, so that business routes run their
	// handlers on junk rather than stopping at "no such business".
	values := []string{"x", "..%2f..%2fetc", strings.Repeat("a", 300), "%00", "ses_" + strings.Repeat("z", 26), biz}
	// Routes that end the caller's session go last, so every other route is
	// also tried with live sessions.
	routes := in.Server.Routes()
	sort.SliceStable(routes, func(i, j int) bool { return !endsSession(routes[i]) && endsSession(routes[j]) })
	for _, pattern := range routes {
		if !endsSession(pattern) {
			if r := in.Do(t, "GET", "/api/v1/session", full, nil); r.Status != 200 {
				t.Fatalf("the full session ended before %s: %d", pattern, r.Status)
			}
		}
		method, path, ok := strings.Cut(pattern, " ")
		if !ok || path == "/metrics" {
			continue
		}
		for _, v := range values {
			p := path
			for strings.Contains(p, "{") {
				i, j := strings.Index(p, "{"), strings.Index(p, "}")
				p = p[:i] + v + p[j+1:]
			}
			p = strings.ReplaceAll(p, "{$}", "")
			if strings.HasSuffix(path, "/") {
				p += v
			}
			for _, tok := range []string{"", partial, full} {
				for _, b := range bodies {
					req, err := http.NewRequest(method, in.URL+p, bytes.NewReader(b))
					if err != nil {
						continue // a value that makes no URL is no request
					}
					req.Header.Set("Content-Type", "application/json")
					if tok != "" {
						req.Header.Set("Authorization", "Bearer "+tok)
					}
					resp, err := in.Client.Do(req)
					if err != nil {
						t.Fatalf("%s %s: %v", method, p, err)
					}
					resp.Body.Close()
					if resp.StatusCode >= 500 {
						t.Errorf("%s %s (token %v, body %.20q): %d", method, p, tok != "", b, resp.StatusCode)
					}
				}
			}
		}
	}
}

func endsSession(pattern string) bool {
	return pattern == "DELETE /api/v1/session" || strings.Contains(pattern, "signout") || strings.Contains(pattern, "revoke")
}
