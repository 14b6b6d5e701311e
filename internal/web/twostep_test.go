package web_test

import (
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/testenv"
)

// oathtool computes a TOTP code like an authenticator app would, at t.
func oathtool(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	bin := testenv.RequireCommand(t, "oathtool")
	out, err := exec.Command(bin, "--totp", "-b", "--now", at.UTC().Format("2006-01-02 15:04:05 UTC"), secret).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	return strings.TrimSpace(string(out))
}

type enrolled struct {
	token, secret, methodID string
	in                      *apptest.Instance
}

// enrollTOTP signs up, signs in and enrols an authenticator app, confirmed
// with an oathtool code one step ahead (so later tests can use "now").
func enrollTOTP(t *testing.T, in *apptest.Instance, email string) enrolled {
	t.Helper()
	in.SignUp(t, email, pw, "Two Step Co")
	token := in.SignIn(t, email, pw)
	r := in.Do(t, "POST", "/api/v1/two-step/totp", token, map[string]string{"label": "My phone"})
	if r.Status != 201 {
		t.Fatalf("start totp: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	secret, id := m["secret"].(string), m["method_id"].(string)
	u, err := url.Parse(m["otpauth_url"].(string))
	if err != nil || u.Scheme != "otpauth" || u.Query().Get("secret") != secret || !strings.HasPrefix(m["qr_code"].(string), "data:image/png;base64,") {
		t.Fatalf("enrolment answer: %v", m)
	}
	// A wrong code does not confirm it.
	if r := in.Do(t, "POST", "/api/v1/two-step/totp/"+id+"/confirm", token, map[string]string{"code": "000000"}); r.Status != 400 {
		t.Fatalf("wrong confirmation code: %d", r.Status)
	}
	code := oathtool(t, secret, in.Clock.Now().Add(-30*time.Second))
	if r := in.Do(t, "POST", "/api/v1/two-step/totp/"+id+"/confirm", token, map[string]string{"code": code}); r.Status != 200 {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	return enrolled{token: token, secret: secret, methodID: id, in: in}
}

func TestTOTPWithOathtool(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		e := enrollTOTP(t, in, "totp@example.com")
		// Signing in now needs the second step.
		r := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("totp@example.com", pw, ""))
		m := r.JSON(t)
		if r.Status != 201 || m["second_step_required"] != true || fmt.Sprint(m["methods"]) != "[totp]" {
			t.Fatalf("sign-in: %d %s", r.Status, r.Body)
		}
		partial := m["token"].(string)
		// The partial token can do nothing else.
		for _, route := range [][2]string{{"GET", "/api/v1/session"}, {"GET", "/api/v1/sessions"}, {"GET", "/api/v1/audit"}, {"GET", "/api/v1/two-step"}, {"POST", "/api/v1/two-step/backup-codes"}, {"POST", "/api/v1/sessions/revoke-others"}} {
			r := in.Do(t, route[0], route[1], partial, nil)
			if r.Status != 403 || r.JSON(t)["code"] != "second_step_required" {
				t.Errorf("%s %s with a partial token: %d %s", route[0], route[1], r.Status, r.Body)
			}
		}
		now := in.Clock.Now()
		for off, ok := range map[time.Duration]bool{-3 * 30 * time.Second: false, 3 * 30 * time.Second: false} {
			if r := in.Do(t, "POST", "/api/v1/session/second-step", partial, map[string]string{"method": "totp", "code": oathtool(t, e.secret, now.Add(off))}); (r.Status == 200) != ok {
				t.Fatalf("code %v off: %d %s", off, r.Status, r.Body)
			}
		}
		code := oathtool(t, e.secret, now.Add(30*time.Second)) // one step ahead: accepted
		r = in.Do(t, "POST", "/api/v1/session/second-step", partial, map[string]string{"method": "totp", "code": code})
		if r.Status != 200 {
			t.Fatalf("second step: %d %s", r.Status, r.Body)
		}
		full := r.JSON(t)["token"].(string)
		if full == partial {
			t.Fatal("the full token is the partial one")
		}
		if r := in.Do(t, "GET", "/api/v1/session", partial, nil); r.Status != 401 {
			t.Fatalf("the partial token lives on: %d", r.Status)
		}
		if r := in.Do(t, "GET", "/api/v1/session", full, nil); r.Status != 200 {
			t.Fatalf("full token: %d", r.Status)
		}
		// The same code a second time is refused, even inside its window.
		p2 := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("totp@example.com", pw, "")).JSON(t)["token"].(string)
		if r := in.Do(t, "POST", "/api/v1/session/second-step", p2, map[string]string{"method": "totp", "code": code}); r.Status != 400 {
			t.Fatalf("replayed code: %d %s", r.Status, r.Body)
		}
		// So is an older step, once a newer one was used.
		if r := in.Do(t, "POST", "/api/v1/session/second-step", p2, map[string]string{"method": "totp", "code": oathtool(t, e.secret, now)}); r.Status != 400 {
			t.Fatalf("older step after a newer one: %d", r.Status)
		}
	})
}

func TestPartialTokenDiesAfterFiveWrongCodes(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	enrollTOTP(t, in, "five@example.com")
	partial := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("five@example.com", pw, "")).JSON(t)["token"].(string)
	// Wrong codes until the attempt ends; the account-level delay answers
	// 429 in between, and waiting it out is allowed.
	wrong := 0
	for tries := 0; wrong < 5 && tries < 20; tries++ {
		r := in.Do(t, "POST", "/api/v1/session/second-step", partial, map[string]string{"method": "totp", "code": fmt.Sprintf("%06d", tries)})
		switch {
		case r.Status == 429 && r.Header.Get("Retry-After") != "":
			in.Clock.Advance(time.Minute)
		case r.Status == 400 && wrong < 4, r.Status == 401 && wrong == 4:
			wrong++
		default:
			t.Fatalf("wrong code %d: %d %s", wrong+1, r.Status, r.Body)
		}
	}
	if wrong != 5 {
		t.Fatalf("%d wrong codes counted", wrong)
	}
	if r := in.Do(t, "POST", "/api/v1/session/second-step", partial, map[string]string{"method": "totp", "code": "123456"}); r.Status != 401 {
		t.Fatalf("after five wrong codes: %d", r.Status)
	}
}

func TestBackupCodesWorkOnceAndRegenerationKillsTheOldSet(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	e := enrollTOTP(t, in, "backup@example.com")
	r := in.Do(t, "POST", "/api/v1/two-step/backup-codes", e.token, nil)
	if r.Status != 201 {
		t.Fatalf("backup codes: %d %s", r.Status, r.Body)
	}
	var codes []string
	for _, c := range r.JSON(t)["codes"].([]any) {
		codes = append(codes, c.(string))
	}
	if len(codes) != 10 {
		t.Fatalf("%d codes", len(codes))
	}
	ov := in.Do(t, "GET", "/api/v1/two-step", e.token, nil).JSON(t)
	if ov["fully_protected"] != true || ov["backup_codes_left"] != float64(10) {
		t.Fatalf("overview: %v", ov)
	}
	signInWith := func(code string) (int, map[string]any) {
		partial := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("backup@example.com", pw, "")).JSON(t)["token"].(string)
		r := in.Do(t, "POST", "/api/v1/session/second-step", partial, map[string]string{"method": "backup_codes", "code": code})
		if r.Status == 200 {
			return 200, r.JSON(t)
		}
		return r.Status, nil
	}
	st, m := signInWith(strings.ToLower(codes[0]))
	if st != 200 || m["backup_codes_left"] != float64(9) || m["reenroll_recommended"] != true {
		t.Fatalf("first use: %d %v", st, m)
	}
	if st, _ := signInWith(codes[0]); st != 400 {
		t.Fatalf("second use of one code: %d", st)
	}
	// Regeneration needs a recent sign-in; the old set then fails.
	in.Clock.Advance(11 * time.Minute)
	full := m["token"].(string)
	if r := in.Do(t, "POST", "/api/v1/two-step/backup-codes", full, nil); r.Status != 403 || r.JSON(t)["code"] != "reauth_required" {
		t.Fatalf("regenerate without a recent sign-in: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "POST", "/api/v1/session/reauth", full, map[string]string{"password": pw}); r.Status != 400 {
		t.Fatalf("reauth without the second step: %d %s", r.Status, r.Body)
	}
	r = in.Do(t, "POST", "/api/v1/session/reauth", full, map[string]string{"password": pw, "method": "totp", "code": oathtool(t, e.secret, in.Clock.Now())})
	if r.Status != 200 {
		t.Fatalf("reauth: %d %s", r.Status, r.Body)
	}
	// The token that asked has ended; the new one has the window.
	if r := in.Do(t, "POST", "/api/v1/two-step/backup-codes", full, nil); r.Status != 401 {
		t.Fatalf("regenerate with the token from before reauth: %d %s", r.Status, r.Body)
	}
	full, _ = r.JSON(t)["token"].(string)
	if r := in.Do(t, "POST", "/api/v1/two-step/backup-codes", full, nil); r.Status != 201 {
		t.Fatalf("regenerate after reauth: %d %s", r.Status, r.Body)
	}
	if st, _ := signInWith(codes[1]); st != 400 {
		t.Fatalf("an old code after regeneration: %d", st)
	}
	// Every change was told to the user, by an email that cannot be switched off.
	subjects := ""
	for _, msg := range in.Outbox(t) {
		subjects += msg.Subject + "\n"
	}
	for _, want := range []string{"method was added", "backup code was used", "New backup codes"} {
		if !strings.Contains(subjects, want) {
			t.Errorf("no email %q in:\n%s", want, subjects)
		}
	}
}

func TestBusinessRequirementGatesDataUntilEnrolled(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	_, biz := in.SignUp(t, "gate@example.com", pw, "Gate")
	token := in.SignIn(t, "gate@example.com", pw)
	s := in.Do(t, "GET", "/api/v1/session", token, nil).JSON(t)
	if ts := s["two_step"].(map[string]any); ts["enrolled"] != false || ts["required_by_business"] != true {
		t.Fatalf("two_step = %v", ts)
	}
	r := in.Do(t, "GET", "/api/v1/audit", token, nil)
	if r.Status != 403 || r.JSON(t)["code"] != "two_step_enrollment_required" {
		t.Fatalf("business data before enrolling: %d %s", r.Status, r.Body)
	}
	// Account security stays reachable.
	for _, p := range []string{"/api/v1/sessions", "/api/v1/two-step", "/api/v1/session"} {
		if r := in.Do(t, "GET", p, token, nil); r.Status != 200 {
			t.Fatalf("%s: %d", p, r.Status)
		}
	}
	r = in.Do(t, "POST", "/api/v1/two-step/totp", token, nil)
	secret, id := r.JSON(t)["secret"].(string), r.JSON(t)["method_id"].(string)
	in.Do(t, "POST", "/api/v1/two-step/totp/"+id+"/confirm", token, map[string]string{"code": oathtool(t, secret, in.Clock.Now())})
	if r := in.Do(t, "GET", "/api/v1/audit", token, nil); r.Status != 200 {
		t.Fatalf("business data after enrolling: %d %s", r.Status, r.Body)
	}
	// The requirement can be lifted by the owner of a one-person business,
	// and the last method cannot be removed while it is on.
	if r := in.Do(t, "DELETE", "/api/v1/two-step/"+id, token, nil); r.Status != 409 {
		t.Fatalf("removing the last method while required: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/two-step", token, map[string]any{"required": false}); r.Status != 200 {
		t.Fatalf("lift requirement: %d %s", r.Status, r.Body)
	}
	told := false
	for _, m := range in.Outbox(t) {
		told = told || m.To == "gate@example.com" && strings.Contains(m.Subject, "Two-step verification rule changed") && strings.Contains(m.Body, "no longer requires")
	}
	if !told {
		t.Fatal("the owner was not told that the rule changed")
	}
	if r := in.Do(t, "DELETE", "/api/v1/two-step/"+id, token, nil); r.Status != 204 {
		t.Fatalf("remove method: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "PUT", "/api/v1/businesses/biz_other/two-step", token, map[string]any{"required": true}); r.Status != 404 {
		t.Fatalf("another business: %d", r.Status)
	}
}

func TestTrustedBrowserSkipsSecondStepButNotReauth(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	e := enrollTOTP(t, in, "trust@example.com")
	jar := newJarAll()
	client := in.Client
	client.Jar = jar
	defer func() { client.Jar = nil }()
	r := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("trust@example.com", pw, ""))
	partial := r.JSON(t)["token"].(string)
	r = in.Do(t, "POST", "/api/v1/session/second-step", partial, map[string]any{"method": "totp", "code": oathtool(t, e.secret, in.Clock.Now().Add(30*time.Second)), "remember_browser": true})
	if r.Status != 200 || r.JSON(t)["trusted_browser_id"] == nil {
		t.Fatalf("remember: %d %s", r.Status, r.Body)
	}
	r = in.Do(t, "POST", "/api/v1/sessions", "", signInBody("trust@example.com", pw, ""))
	if r.Status != 201 || r.JSON(t)["second_step_required"] != nil {
		t.Fatalf("trusted browser sign-in: %d %s", r.Status, r.Body)
	}
	full := r.JSON(t)["token"].(string)
	list := in.Do(t, "GET", "/api/v1/trusted-browsers", full, nil).JSON(t)["trusted_browsers"].([]any)
	if len(list) != 1 {
		t.Fatalf("trusted browsers: %v", list)
	}
	in.Clock.Advance(11 * time.Minute)
	if r := in.Do(t, "POST", "/api/v1/session/reauth", full, map[string]string{"password": pw}); r.Status != 400 {
		t.Fatalf("a trusted browser skipped the second step of reauth: %d", r.Status)
	}
	id := list[0].(map[string]any)["id"].(string)
	if r := in.Do(t, "DELETE", "/api/v1/trusted-browsers/"+id, full, nil); r.Status != 204 {
		t.Fatalf("forget: %d", r.Status)
	}
	if r := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("trust@example.com", pw, "")); r.JSON(t)["second_step_required"] != true {
		t.Fatalf("forgotten browser still trusted: %s", r.Body)
	}
}
