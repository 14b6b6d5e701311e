package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

var hrefRE = regexp.MustCompile(`href="(/[^"#]*)`)

// Issue 18, item 8: the home page says what SellerGuard protects; the
// footer of every page links to contact, security practices and privacy,
// and every link on those pages leads to a page that answers, signed out
// and signed in.
func TestHomeFooterAndAboutPagesLeadToPagesThatExist(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "about@example.com", pw, "About Shop")
	token := in.SignIn(t, "about@example.com", pw)
	in.EnrollTOTP(t, token)

	home := pageGet(t, in, "/", "")
	if home.StatusCode != 200 || !strings.Contains(home.body, `id="protects"`) || strings.Count(home.body, "<li><strong>") < 4 || !strings.Contains(home.body, `href="/security"`) {
		t.Fatalf("home page: %d\n%s", home.StatusCode, home.body)
	}
	for _, who := range []struct{ name, token, contact string }{{"signed out", "", "/support/new"}, {"signed in", token, "/support"}} {
		for _, p := range []string{"/", "/security", "/privacy", "/signin", "/no-such-page"} {
			r := pageGet(t, in, p, who.token)
			if r.StatusCode == http.StatusSeeOther {
				continue // the home page of a signed-in user is the account page
			}
			for _, id := range []string{`id="footer-contact"`, `id="footer-security"`, `id="footer-privacy"`} {
				if !strings.Contains(r.body, id) {
					t.Errorf("%s %s: no %s in the footer", who.name, p, id)
				}
			}
			if !strings.Contains(r.body, `href="`+who.contact+`" id="footer-contact"`) {
				t.Errorf("%s %s: the contact link does not go to %s", who.name, p, who.contact)
			}
		}
		for _, p := range []string{"/security", "/privacy"} {
			r := pageGet(t, in, p, who.token)
			if r.StatusCode != 200 {
				t.Fatalf("%s %s: %d", who.name, p, r.StatusCode)
			}
			seen := map[string]bool{}
			for _, m := range hrefRE.FindAllStringSubmatch(r.body, -1) {
				link := strings.ReplaceAll(m[1], "&amp;", "&")
				if seen[link] || strings.HasPrefix(link, "/static/") {
					continue
				}
				seen[link] = true
				got := pageGet(t, in, link, who.token)
				// Signed out, the settings answer with the sign-in page;
				// signed in, the home page with the account page.
				redirect := got.StatusCode == http.StatusSeeOther && ((who.token == "" && got.Header.Get("Location") == "/signin") || (who.token != "" && link == "/" && got.Header.Get("Location") == "/account"))
				if got.StatusCode != 200 && !redirect {
					t.Errorf("%s %s links to %s, which answers %d (to %q)", who.name, p, link, got.StatusCode, got.Header.Get("Location"))
				}
			}
			if len(seen) < 10 {
				t.Errorf("%s %s has only %d links", who.name, p, len(seen))
			}
		}
	}
	// The practices follow the marketplace's guidance: its five points and
	// the five steps after a compromise.
	r := pageGet(t, in, "/security", "")
	for _, want := range []string{"Set up two-step verification.", "same key for your home, car and office", "Keep your sign-in email address and mobile number up to date.",
		"Give every user their own login.", "Check your notification settings.", "If your account has been compromised", "listings and condition notes"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("/security does not say %q", want)
		}
	}
}

// The first-run checklist on the account page is ticked from the
// account's real state: a new owner has two-step verification, backup
// codes and the phrase to do; each is ticked once done.
func TestAccountChecklistFollowsTheAccount(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "first@example.com", pw, "First Shop")
	token := in.SignIn(t, "first@example.com", pw)
	done := func(id string) string {
		t.Helper()
		body := pageGet(t, in, "/account", token).body
		m := regexp.MustCompile(`id="checklist-` + id + `" class="[a-z]+" data-done="(true|false)"><span class="tick" aria-hidden="true">[^<]*</span> <a href="([^"]+)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no checklist step %s on the account page:\n%s", id, body)
		}
		if r := pageGet(t, in, strings.SplitN(m[2], "#", 2)[0], token); r.StatusCode != 200 {
			t.Errorf("step %s links to %s, which answers %d", id, m[2], r.StatusCode)
		}
		return m[1]
	}
	want := func(when string, states map[string]string) {
		t.Helper()
		for id, st := range states {
			if got := done(id); got != st {
				t.Errorf("%s: step %s done=%s, want %s", when, id, got, st)
			}
		}
	}
	want("new", map[string]string{"two_step": "false", "backup_method": "false", "anti_phishing_phrase": "false", "mobile": "false", "notifications": "true"})
	in.EnrollTOTP(t, token)
	want("with an app", map[string]string{"two_step": "true", "backup_method": "false"})
	if r := in.Do(t, "POST", "/api/v1/two-step/backup-codes", token, nil); r.Status != 200 && r.Status != 201 {
		t.Fatalf("backup codes: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "PUT", "/api/v1/account/anti-phishing-phrase", token, map[string]string{"phrase": "green kettle"}); r.Status != 200 {
		t.Fatalf("phrase: %d %s", r.Status, r.Body)
	}
	want("with backup codes and a phrase", map[string]string{"two_step": "true", "backup_method": "true", "anti_phishing_phrase": "true", "mobile": "false"})
	if body := pageGet(t, in, "/account", token).body; !strings.Contains(body, `id="checklist-progress">4 of 5 done`) {
		t.Errorf("progress not 4 of 5")
	}
}

// Passkeys in the default local start (issue 18, item 7): at the base URL
// (http://localhost:PORT) the passkeys page offers to add one; at the same
// server's IP address it says why passkeys cannot work there and links to
// the same page at the base URL; with an IP base URL it says passkeys need
// a name.
func TestPasskeyCardsSayWhyNotBeforeAClick(t *testing.T) {
	t.Parallel()
	in, base := startOnLocalhost(t)
	ip := in.URL
	in.SignUp(t, "where@example.com", pw, "Where Shop")
	token := in.SignIn(t, "where@example.com", pw)

	in.URL = base
	for _, p := range []string{"/account/two-step/passkeys", "/account/two-step"} {
		r := pageGet(t, in, p, token)
		if r.StatusCode != 200 || strings.Contains(r.body, `id="passkeys-unavailable"`) {
			t.Errorf("%s at %s: %d, says passkeys are unavailable", p, base, r.StatusCode)
		}
	}
	if r := pageGet(t, in, "/account/two-step/passkeys", token); !strings.Contains(r.body, `data-passkey="register"`) {
		t.Errorf("at %s the passkeys page has no add button", base)
	}

	in.URL = ip
	r := pageGet(t, in, "/account/two-step/passkeys", token)
	if r.StatusCode != 200 || strings.Contains(r.body, `data-passkey="register"`) || !strings.Contains(r.body, `data-reason="passkeys.unavailable.elsewhere"`) ||
		!strings.Contains(r.body, `href="`+base+`/account/two-step/passkeys" id="passkeys-open-there"`) {
		t.Errorf("at %s the passkeys page: %d\n%s", ip, r.StatusCode, r.body)
	}
	if r := pageGet(t, in, "/account/two-step", token); !strings.Contains(r.body, `data-reason="passkeys.unavailable.elsewhere"`) || !strings.Contains(r.body, `id="manage-passkeys"`) {
		t.Errorf("at %s the two-step page's passkey card does not say why", ip)
	}

	plain := apptest.Start(t, "sqlite") // base URL http://127.0.0.1:PORT
	plain.SignUp(t, "ip@example.com", pw, "IP Shop")
	r = pageGet(t, plain, "/account/two-step/passkeys", plain.SignIn(t, "ip@example.com", pw))
	if strings.Contains(r.body, `data-passkey="register"`) || !strings.Contains(r.body, `data-reason="passkeys.unavailable.ip"`) || !strings.Contains(r.body, "never on an IP address") {
		t.Errorf("with an IP base URL the passkeys page: %d\n%s", r.StatusCode, r.body)
	}
}
