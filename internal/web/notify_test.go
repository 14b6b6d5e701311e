package web_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/notify"
	"github.com/sellerguard/sellerguard/internal/outbox"
	"github.com/sellerguard/sellerguard/internal/sms"
)

// notifPage sends a page request with the session cookie (a form when form
// is not nil) and returns status, Location and body.
func notifPage(t *testing.T, in *apptest.Instance, method, path, token string, form url.Values) (int, string, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, in.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "text/html")
	req.AddCookie(&http.Cookie{Name: "sg_session", Value: token})
	resp, err := in.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// notifEvents returns the catalogue answer of GET /api/v1/notifications by
// event key.
func notifEvents(t *testing.T, in *apptest.Instance, token string) (map[string]map[string]any, map[string]any) {
	t.Helper()
	r := in.Do(t, "GET", "/api/v1/notifications", token, nil)
	if r.Status != 200 {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	all := r.JSON(t)
	out := map[string]map[string]any{}
	for _, e := range all["events"].([]any) {
		m := e.(map[string]any)
		out[m["event"].(string)] = m
	}
	return out, all
}

func notifChannel(e map[string]any, ch string) map[string]any {
	return e["channels"].(map[string]any)[ch].(map[string]any)
}

// notifCount counts outbox messages to an address whose subject contains s.
func notifCount(t *testing.T, in *apptest.Instance, to, subject string) int {
	t.Helper()
	n := 0
	for _, m := range in.Outbox(t) {
		if strings.EqualFold(m.To, to) && strings.Contains(m.Subject, subject) {
			n++
		}
	}
	return n
}

func TestNotificationsCatalogueAPIListsEveryEventWithLocks(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "cat@example.com", pw, "Catalogue Shop")
	tok := in.SignIn(t, "cat@example.com", pw)
	events, all := notifEvents(t, in, tok)
	if len(events) != len(notify.Catalogue()) || all["phone_on_file"] != false || all["sms_available"] != true {
		t.Fatalf("catalogue: %d events (want %d), %v", len(events), len(notify.Catalogue()), all)
	}
	for _, ev := range notify.Catalogue() {
		e, ok := events[ev.Key]
		if !ok {
			t.Fatalf("%s is not listed", ev.Key)
		}
		email, text := notifChannel(e, "email"), notifChannel(e, "sms")
		if e["critical"] != ev.Critical || e["business_wide"] != ev.BusinessWide || e["title"] != ev.Title || email["enabled"] != true ||
			email["locked"] != (ev.Critical || ev.Fixed) || text["locked"] != ev.Fixed || text["enabled"] != ev.Fixed {
			t.Errorf("%s: %v", ev.Key, e)
		}
	}
	for _, k := range []string{"security.password_changed", "security.new_device_signin", "security.two_step_changed", "business.payment_changed"} {
		if notifChannel(events[k], "email")["locked"] != true {
			t.Errorf("%s is not locked on", k)
		}
	}
	if r := in.Do(t, "GET", "/api/v1/notifications", "", nil); r.Status != 401 {
		t.Fatalf("anonymous: %d", r.Status)
	}
	if r := in.Do(t, "GET", "/api/v1/notifications/failed-deliveries", tok, nil); r.Status != 200 || len(r.JSON(t)["failed_deliveries"].([]any)) != 0 {
		t.Fatalf("failed deliveries: %d %s", r.Status, r.Body)
	}
}

var notifLockedBox = regexp.MustCompile(`<input type="checkbox" id="email-security\.password_changed" name="email:security\.password_changed" value="on"[^>]* checked disabled`)

// A security-critical event cannot be switched off, neither through the API
// nor by a forged form, and its email still arrives.
func TestNotificationsCriticalCannotBeSwitchedOff(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		in.SignUp(t, "locked@example.com", pw, "Locked Shop")
		tok := in.SignIn(t, "locked@example.com", pw)

		r := in.Do(t, "PUT", "/api/v1/notifications/security.password_changed", tok, map[string]any{"email": false, "sms": true})
		if r.Status != 400 {
			t.Fatalf("switching a critical event off: %d %s", r.Status, r.Body)
		}
		p := r.JSON(t)
		fe, _ := p["errors"].([]any)
		if p["code"] != "invalid_input" || len(fe) != 1 || fe[0].(map[string]any)["field"] != "email" || fe[0].(map[string]any)["code"] != "locked" {
			t.Fatalf("problem: %s", r.Body)
		}
		if r := in.Do(t, "PUT", "/api/v1/notifications/no.such_event", tok, map[string]any{"email": true}); r.Status != 404 || r.JSON(t)["code"] != "not_found" {
			t.Fatalf("unknown event: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "PUT", "/api/v1/notifications/account.welcome", tok, map[string]any{}); r.Status != 400 {
			t.Fatalf("empty change: %d %s", r.Status, r.Body)
		}
		if r := in.Do(t, "PUT", "/api/v1/notifications/account.welcome", tok, map[string]any{"push": true}); r.Status != 400 || r.JSON(t)["code"] != "malformed_json" {
			t.Fatalf("unknown field: %d %s", r.Status, r.Body)
		}
		events, _ := notifEvents(t, in, tok)
		if e := events["security.password_changed"]; notifChannel(e, "email")["enabled"] != true || notifChannel(e, "sms")["enabled"] != false {
			t.Fatalf("a refused change changed something: %v", e)
		}

		// The page shows it ticked and disabled.
		status, _, body := notifPage(t, in, "GET", "/account/notifications", tok, nil)
		if status != 200 || !notifLockedBox.MatchString(body) || strings.Contains(body, `name="email:account.password_reminder" value="on" aria-label="Email: Password age reminder" checked disabled`) {
			t.Fatalf("page: %d\n%s", status, body)
		}
		// A forged form leaves the critical box out (as if unticked) and
		// switches the reminder from email to SMS.
		form := url.Values{"event": {"security.password_changed", "account.password_reminder", "no.such_event"}, "sms:account.password_reminder": {"on"}, "email:security.password_changed": {""}}
		status, loc, body := notifPage(t, in, "POST", "/account/notifications", tok, form)
		if status != http.StatusSeeOther || loc != "/account/notifications?saved=1" {
			t.Fatalf("forged form: %d %s\n%s", status, loc, body)
		}
		events, _ = notifEvents(t, in, tok)
		if e := events["security.password_changed"]; notifChannel(e, "email")["enabled"] != true {
			t.Fatalf("a forged form switched a critical event off: %v", e)
		}
		if e := events["account.password_reminder"]; notifChannel(e, "email")["enabled"] != false || notifChannel(e, "sms")["enabled"] != true {
			t.Fatalf("the form's other change was lost: %v", e)
		}
		if _, _, body := notifPage(t, in, "GET", "/account/notifications?saved=1", tok, nil); !strings.Contains(body, "settings are saved") {
			t.Fatal("no saved notice")
		}

		// And the email still arrives.
		before := notifCount(t, in, "locked@example.com", "password was changed")
		r = in.Do(t, "POST", "/api/v1/account/password", tok, map[string]string{"current_password": pw, "new_password": "a different long passphrase 42"})
		if r.Status != 200 {
			t.Fatalf("change password: %d %s", r.Status, r.Body)
		}
		tok = r.JSON(t)["token"].(string) // the change replaced the session
		if after := notifCount(t, in, "locked@example.com", "password was changed"); after != before+1 {
			t.Fatalf("password-changed emails: %d → %d", before, after)
		}

		// One audit event, for the change that happened, none for the refused ones.
		in.EnrollTOTP(t, tok)
		audit := in.Do(t, "GET", "/api/v1/audit?category=account", tok, nil)
		if n := strings.Count(string(audit.Body), "account.notifications_changed"); audit.Status != 200 || n != 1 || !strings.Contains(string(audit.Body), "account.password_reminder") {
			t.Fatalf("audit: %d %d %s", audit.Status, n, audit.Body)
		}
	})
}

// A non-critical event switched off by email is no longer emailed.
func TestNotificationsSwitchedOffStopsTheEmail(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "quiet@example.com", pw, "Quiet Shop")
	in.SignUp(t, "loud@example.com", pw, "Loud Shop")
	tok := in.SignIn(t, "quiet@example.com", pw)
	r := in.Do(t, "PUT", "/api/v1/notifications/account.password_reminder", tok, map[string]any{"email": false})
	if r.Status != 200 || notifChannel(r.JSON(t), "email")["enabled"] != false {
		t.Fatalf("switch off: %d %s", r.Status, r.Body)
	}
	in.Clock.Advance(181 * 24 * time.Hour)
	n, err := in.Account.SendPasswordReminders(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("reminders: %d %v", n, err)
	}
	if q, l := notifCount(t, in, "quiet@example.com", "Time for a new"), notifCount(t, in, "loud@example.com", "Time for a new"); q != 0 || l != 1 {
		t.Fatalf("reminder emails: quiet %d, loud %d", q, l)
	}
}

// SMS copies go to the account's number when the user turns them on; when a
// text fails permanently, the user is told by exactly one email, and the
// account lists the failure.
func TestNotificationsSMSCopyAndPermanentFailureNotice(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		gw := &sms.FakeGateway{}
		in := apptest.Start(t, dialect, apptest.SMSGateway(gw))
		uid, _ := in.SignUp(t, "texts@example.com", pw, "Texts Shop")
		tok := in.SignIn(t, "texts@example.com", pw)
		const number = "+447400123456"
		sealed, err := in.Session.Keys.Seal("phone", []byte(number), []byte(uid))
		if err != nil {
			t.Fatal(err)
		}
		if err := in.DB.SetUserPhoneNumber(context.Background(), uid, sealed, in.Session.Keys.MAC("phone", number), time.Time{}); err != nil {
			t.Fatal(err)
		}
		if _, all := notifEvents(t, in, tok); all["phone_on_file"] != true {
			t.Fatalf("phone: %v", all)
		}
		r := in.Do(t, "PUT", "/api/v1/notifications/security.password_changed", tok, map[string]any{"sms": true})
		if r.Status != 200 || notifChannel(r.JSON(t), "sms")["enabled"] != true || notifChannel(r.JSON(t), "email")["enabled"] != true {
			t.Fatalf("SMS on: %d %s", r.Status, r.Body)
		}
		r = in.Do(t, "POST", "/api/v1/account/password", tok, map[string]string{"current_password": pw, "new_password": "violet harbour lantern 2024"})
		if r.Status != 200 {
			t.Fatalf("change password: %d %s", r.Status, r.Body)
		}
		tok = r.JSON(t)["token"].(string) // the change replaced the session
		deadline := time.Now().Add(10 * time.Second)
		for {
			if m, ok := gw.LastTo(number); ok {
				if m.Body != "Your SellerGuard password was changed. Details in your SellerGuard account. SellerGuard never calls or texts to ask for a code." {
					t.Fatalf("SMS copy: %q", m.Body)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no SMS copy reached the gateway")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if notifCount(t, in, "texts@example.com", "password was changed") != 1 {
			t.Fatal("the email copy is missing")
		}

		// The gateway now refuses the number for good.
		gw.FailWith(&sms.Error{Op: "send", Permanent: true, Code: 21211, Err: errors.New("invalid number")})
		if r := in.Do(t, "POST", "/api/v1/account/password", tok, map[string]string{"current_password": "violet harbour lantern 2024", "new_password": "copper meadow whistle 77"}); r.Status != 200 {
			t.Fatalf("change password again: %d %s", r.Status, r.Body)
		} else {
			tok = r.JSON(t)["token"].(string) // the change replaced the session
		}
		const noticeSubject = "We could not deliver a text message to your mobile"
		deadline = time.Now().Add(10 * time.Second)
		for notifCount(t, in, "texts@example.com", noticeSubject) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("no notice by email; outbox: %+v", in.Outbox(t))
			}
			time.Sleep(20 * time.Millisecond)
		}
		in.DrainOutbox(t) // nothing left that could send the notice twice
		var notices []apptest.Message
		for _, m := range in.Outbox(t) {
			if strings.Contains(m.Subject, noticeSubject) {
				notices = append(notices, m)
			}
		}
		if len(notices) != 1 || notices[0].Channel != "email" || !strings.HasPrefix(notices[0].Body, outbox.PhraseHeader("")) ||
			!strings.Contains(notices[0].Body, "•••• 3456") || !strings.Contains(notices[0].Body, "Password changed") {
			t.Fatalf("notices: %+v", notices)
		}
		// The header matches the one every other email carries.
		for _, m := range in.Outbox(t) {
			if m.To == "texts@example.com" && strings.Contains(m.Subject, "password was changed") && !strings.HasPrefix(m.Body, outbox.PhraseHeader("")) {
				t.Fatalf("the notice's header differs from auth's:\n%s", m.Body)
			}
		}
		r = in.Do(t, "GET", "/api/v1/notifications/failed-deliveries", tok, nil)
		list, _ := r.JSON(t)["failed_deliveries"].([]any)
		if r.Status != 200 || len(list) != 1 {
			t.Fatalf("failed deliveries: %d %s", r.Status, r.Body)
		}
		if f := list[0].(map[string]any); f["channel"] != "sms" || f["to"] != "•••• 3456" || f["event"] != "security.password_changed" {
			t.Fatalf("failed delivery: %v", f)
		}
		if status, _, body := notifPage(t, in, "GET", "/account/notifications", tok, nil); status != 200 || !strings.Contains(body, `id="failed-deliveries"`) || !strings.Contains(body, "•••• 3456") {
			t.Fatalf("page: %d\n%s", status, body)
		}
	})
}
