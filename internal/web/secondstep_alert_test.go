package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/sms"
)

const secondStepAlertSubject = "Someone entered your password but not your code"

// The right password followed by five wrong second-step codes emails the
// owner once, through a real SMTP server, on SQLite and PostgreSQL: wrong
// codes of every kind that takes a code (authenticator app, text message,
// backup code) count together, across sign-in attempts, on the API and on
// the pages; more wrong codes in the same run send nothing more; a right
// code ends the run, and the next five wrong ones send the next email.
func TestWrongSecondStepCodesAfterTheRightPasswordEmailTheOwner(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		gw := &sms.FakeGateway{}
		m := startMailInstance(t, dialect, apptest.SMSGateway(gw))
		const owner = "alert-owner@example.com"
		tok := m.signUp(t, owner)
		secret := m.EnrollTOTP(t, tok)
		if r := m.Do(t, "POST", "/api/v1/two-step/backup-codes", tok, nil); r.Status != 201 {
			t.Fatalf("backup codes: %d %s", r.Status, r.Body)
		}
		r := m.Do(t, "POST", "/api/v1/two-step/sms", tok, map[string]any{"phone": phone})
		if r.Status != 201 {
			t.Fatalf("start sms: %d %s", r.Status, r.Body)
		}
		if r := m.Do(t, "POST", "/api/v1/two-step/sms/"+r.JSON(t)["method_id"].(string)+"/confirm", tok, map[string]string{"code": waitSMS(t, gw, 1)}); r.Status != 200 {
			t.Fatalf("confirm sms: %d %s", r.Status, r.Body)
		}
		m.DrainOutbox(t)
		alerts := func() int { m.DrainOutbox(t); return len(m.mailsWith(t, owner, secondStepAlertSubject)) }
		if n := alerts(); n != 0 {
			t.Fatalf("%d alerts before any wrong code", n)
		}
		// The event is critical: its email cannot be switched off.
		if r := m.Do(t, "PUT", "/api/v1/notifications/security.second_step_failed", tok, map[string]any{"email": false}); r.Status < 400 {
			t.Fatalf("switching the alert off: %d %s", r.Status, r.Body)
		}

		// wrong sends one wrong code of a kind; a delayed account (429)
		// waits it out. It returns the status of the counted try.
		wrong := func(partial, method, code string) int {
			t.Helper()
			for range 10 {
				r := m.Do(t, "POST", "/api/v1/session/second-step", partial, map[string]string{"method": method, "code": code})
				if r.Status == 429 {
					m.Clock.Advance(time.Minute)
					continue
				}
				return r.Status
			}
			t.Fatal("still delayed after ten minutes")
			return 0
		}
		signIn := func() string {
			t.Helper()
			r := m.Do(t, "POST", "/api/v1/sessions", "", signInBody(owner, pw, ""))
			if r.Status != 201 || r.JSON(t)["second_step_required"] != true {
				t.Fatalf("sign-in: %d %s", r.Status, r.Body)
			}
			return r.JSON(t)["token"].(string)
		}

		// Run 1, the API: four wrong codes of three kinds: no email yet.
		partial := signIn()
		if r := m.Do(t, "POST", "/api/v1/session/second-step/sms", partial, nil); r.Status != 202 {
			t.Fatalf("send sms: %d %s", r.Status, r.Body)
		}
		texted := waitSMS(t, gw, 2)
		wrongSMS := "000000"
		if texted == wrongSMS {
			wrongSMS = "111111"
		}
		for i, try := range [][2]string{{"totp", oaWrongTOTP(t, m.Instance, secret)}, {"sms", wrongSMS}, {"backup_codes", "AAAA-BBBB-CCCC-DDDD"}, {"totp", oaWrongTOTP(t, m.Instance, secret)}} {
			if st := wrong(partial, try[0], try[1]); st != 400 {
				t.Fatalf("wrong code %d (%s): %d", i+1, try[0], st)
			}
		}
		if n := alerts(); n != 0 {
			t.Fatalf("%d alerts after four wrong codes", n)
		}
		// The fifth ends this attempt and sends the email.
		if st := wrong(partial, "sms", wrongSMS); st != 401 {
			t.Fatalf("fifth wrong code: %d", st)
		}
		_, mail, _ := readMail(t, m.waitMailWith(t, owner, 1, secondStepAlertSubject))
		for _, want := range []string{"5 wrong two-step codes", "/account/password", "/signin/help", "/account/secure", "127.0.0.1"} {
			if !strings.Contains(mail, want) {
				t.Errorf("the alert lacks %q:\n%s", want, mail)
			}
		}
		// The security checkup lists it among the recent security events.
		if r := m.Do(t, "GET", "/api/v1/account/checkup", tok, nil); r.Status != 200 || !strings.Contains(string(r.Body), "Right password, then wrong two-step codes") {
			t.Errorf("the checkup does not show the alert: %d %.600s", r.Status, r.Body)
		}
		// The intruder signs in again with the password: three more wrong
		// codes belong to the same run, so no second email.
		partial = signIn()
		for i := range 3 {
			if st := wrong(partial, "totp", oaWrongTOTP(t, m.Instance, secret)); st != 400 {
				t.Fatalf("wrong code %d of the second attempt: %d", i+1, st)
			}
		}
		if n := alerts(); n != 1 {
			t.Fatalf("%d alerts after eight wrong codes in one run, want 1", n)
		}
		// The owner finishes signing in: the run ends.
		m.Clock.Advance(20 * time.Minute)
		m.SecondStep(t, signIn(), secret)

		// Run 2, the pages, backup codes: five wrong ones send the next email.
		client := &http.Client{Jar: newFullJar(), Timeout: 30 * time.Second}
		post := func(path string, v url.Values) *http.Response {
			t.Helper()
			resp, err := client.PostForm(m.URL+path, v)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp
		}
		if resp := post("/signin", url.Values{"email": {owner}, "password": {pw}}); resp.Request.URL.Path != "/signin/second-step" {
			t.Fatalf("page sign-in went to %s", resp.Request.URL)
		}
		counted := 0
		for tries := 0; counted < 5 && tries < 30; tries++ {
			resp := post("/signin/second-step", url.Values{"method": {"backup_codes"}, "code": {"AAAA-BBBB-CCCC-DDDD"}})
			switch {
			case resp.StatusCode == 429:
				m.Clock.Advance(time.Minute)
			case resp.StatusCode == 400 && counted < 4:
				counted++
				if n := alerts(); n != 1 {
					t.Fatalf("%d alerts after %d wrong codes on the page", n, counted)
				}
			case counted == 4 && resp.StatusCode == 401:
				counted++ // the attempt ended: "sign in again with your password"
			default:
				t.Fatalf("wrong backup code %d on the page: %d at %s", counted+1, resp.StatusCode, resp.Request.URL)
			}
		}
		if counted != 5 {
			t.Fatalf("%d wrong codes counted on the page", counted)
		}
		_, mail, _ = readMail(t, m.waitMailWith(t, owner, 2, secondStepAlertSubject))
		if !strings.Contains(mail, "backup codes") {
			t.Errorf("the second alert does not name backup codes:\n%s", mail)
		}
		if n := alerts(); n != 2 {
			t.Fatalf("%d alerts after two runs, want 2", n)
		}
	})
}
