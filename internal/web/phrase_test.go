package web_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

var linkRE = regexp.MustCompile(`https?://[^\s"<>]+`)

// Every email carries the recipient's anti-phishing phrase at the top, and
// no email holds a link anywhere but the configured base URL.
func TestEveryEmailCarriesThePhraseAndNoForeignLink(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	r := in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": "phrase@example.com", "password": pw, "business_name": "Phrase Co", "anti_phishing_phrase": "purple teapot at dawn"})
	if r.Status != 202 {
		t.Fatalf("signup: %d %s", r.Status, r.Body)
	}
	code := in.LastCode(t, "phrase@example.com")
	in.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": "phrase@example.com", "code": code})
	token := in.SignIn(t, "phrase@example.com", pw)
	for range 10 { // failures: an alert email with an unlock code
		in.Do(t, "POST", "/api/v1/sessions", "", signInBody("phrase@example.com", "not the password", ""))
	}
	in.EnrollTOTP(t, token)
	if r := in.Do(t, "GET", "/api/v1/account/anti-phishing-phrase", token, nil); r.JSON(t)["phrase"] != "purple teapot at dawn" {
		t.Fatalf("phrase: %s", r.Body)
	}
	if r := in.Do(t, "PUT", "/api/v1/account/anti-phishing-phrase", token, map[string]string{"phrase": "ab"}); r.Status != 400 {
		t.Fatalf("a two-letter phrase: %d", r.Status)
	}
	if r := in.Do(t, "PUT", "/api/v1/account/anti-phishing-phrase", token, map[string]string{"phrase": "green kettle at noon"}); r.Status != 200 {
		t.Fatalf("change phrase: %d %s", r.Status, r.Body)
	}
	msgs := in.Outbox(t)
	if len(msgs) < 5 {
		t.Fatalf("only %d emails", len(msgs))
	}
	changed := false
	for _, m := range msgs {
		want := "«purple teapot at dawn»"
		if changed || strings.Contains(m.Subject, "anti-phishing phrase was changed") {
			want, changed = "«green kettle at noon»", true
		}
		if !strings.HasPrefix(m.Body, "Your anti-phishing phrase: "+want) {
			t.Errorf("email %q does not start with %s:\n%.200s", m.Subject, want, m.Body)
		}
		if !strings.Contains(m.Body, "SellerGuard will never ask you for your password or a code by email") {
			t.Errorf("email %q lacks the safety footer", m.Subject)
		}
		for _, link := range linkRE.FindAllString(m.Body, -1) {
			if !strings.HasPrefix(link, in.URL) {
				t.Errorf("email %q links to %s", m.Subject, link)
			}
			if strings.Contains(link, "?") || strings.Contains(link, "token") || strings.Contains(link, "code") {
				t.Errorf("email %q has a link carrying something: %s", m.Subject, link)
			}
		}
	}
	// An email to an address that never chose a phrase says how to get one.
	in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": "nophrase@example.com", "password": pw, "business_name": "N"})
	last := in.Outbox(t)
	if m := last[len(last)-1]; !strings.Contains(m.Body, "You have not chosen an anti-phishing phrase yet") {
		t.Fatalf("no-phrase email: %.200s", m.Body)
	}
}
