package web_test

import (
	"net/http"
	"testing"
)

// newSessionCookie returns the session token a page answer set in its
// cookie after a step-up (re-authentication, password change), and fails
// when it set none.
func newSessionCookie(t *testing.T, h http.Header) string {
	t.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == pageSessionCookie && c.Value != "" && c.MaxAge >= 0 {
			return c.Value
		}
	}
	t.Fatalf("no new %s cookie in %q", pageSessionCookie, h.Values("Set-Cookie"))
	return ""
}
