package web_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/store"
)

// A browser or tool may send a User-Agent with any byte above 0x7f (HTTP
// allows them; some old clients write Latin-1). It is kept as UTF-8 (the
// bytes that are not become nothing) and at most 512 bytes, on both
// databases, in the sign-in's session, its audit event and every later
// event: until this, PostgreSQL refused the audit event and such a person
// could not sign in there (400 "bytes that are not UTF-8"), while SQLite
// kept the bytes.
func TestAnyUserAgentSignsIn(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		const email = "latin1@ua.example"
		in.SignUp(t, email, pw, "Latin Goods")
		for _, tc := range []struct{ name, ua, want string }{
			{"latin-1", "Navigateur \xe9t\xe9 \xff\xfe/1.0", "Navigateur t /1.0"},
			{"long", "Tool/" + strings.Repeat("\xe9x", 4000), ""},
		} {
			hdr := map[string]string{"User-Agent": tc.ua}
			body, _ := json.Marshal(map[string]string{"email": email, "password": pw})
			status, answer := rawRequest(t, in, "POST", "/api/v1/sessions", "application/json", body, "", hdr)
			var s struct {
				Token string `json:"token"`
			}
			if status != 201 || json.Unmarshal([]byte(answer), &s) != nil || s.Token == "" {
				t.Fatalf("%s: sign-in: %d %s", tc.name, status, answer)
			}
			phrase, _ := json.Marshal(map[string]string{"phrase": "heron over the lake"})
			if status, answer := rawRequest(t, in, "PUT", "/api/v1/account/anti-phishing-phrase", "application/json", phrase, s.Token, hdr); status != 200 {
				t.Fatalf("%s: a change with that User-Agent: %d %s", tc.name, status, answer)
			}
			// What was kept: the session's and the events' user_agent (the
			// audit log's API wants a second step; the store is read here).
			var kept []string
			if err := in.DB.EachAuditEvent(t.Context(), func(e store.AuditRecord) error {
				if strings.HasPrefix(e.UserAgent, tc.ua[:4]) {
					kept = append(kept, e.UserAgent)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(kept) != 2 {
				t.Fatalf("%s: %d audit events with that User-Agent, want 2 (the sign-in, the change): %q", tc.name, len(kept), kept)
			}
			status, answer = rawRequest(t, in, "GET", "/api/v1/sessions", "", nil, s.Token, nil)
			var sessions struct {
				Sessions []struct {
					Current   bool   `json:"current"`
					UserAgent string `json:"user_agent"`
				} `json:"sessions"`
			}
			if status != 200 || json.Unmarshal([]byte(answer), &sessions) != nil {
				t.Fatalf("%s: sessions: %d %.500s", tc.name, status, answer)
			}
			for _, ss := range sessions.Sessions {
				if ss.Current {
					kept = append(kept, ss.UserAgent)
				}
			}
			if len(kept) != 3 {
				t.Fatalf("%s: no current session in %.500s", tc.name, answer)
			}
			for i, ua := range kept {
				if !utf8.ValidString(ua) || len(ua) > 512 || (tc.want != "" && ua != tc.want) || !strings.HasPrefix(ua, tc.ua[:4]) {
					t.Errorf("%s: kept user agent %d is %.80q (%d bytes), want %q, UTF-8, at most 512 bytes", tc.name, i, ua, len(ua), tc.want)
				}
			}
		}
	})
}
