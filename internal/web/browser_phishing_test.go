package web_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A seller in Chromium: reads the guidance (with their phrase), checks an
// email we really sent them by uploading it (genuine, sent to them, their
// phrase), pastes a forged one (not from us), and reports a suspicious link
// (thank-you with the report id). The footer of every page leads to all
// three.
func TestBrowserPhishingPages(t *testing.T) {
	in := startMailInstance(t, "sqlite")
	token := in.signUp(t, "ada@example.com")
	if r := in.Do(t, "PUT", "/api/v1/account/anti-phishing-phrase", token, map[string]string{"phrase": "blue heron at noon"}); r.Status >= 300 {
		t.Fatalf("set phrase: %d %s", r.Status, r.Body)
	}
	var captured []byte
	for n := 1; ; n++ {
		captured = in.waitMail(t, "ada@example.com", n)
		if strings.Contains(string(captured), "Subject: Your anti-phishing phrase was changed") {
			break
		}
	}
	eml := filepath.Join(t.TempDir(), "from-sellerguard.eml")
	if err := os.WriteFile(eml, captured, 0o600); err != nil {
		t.Fatal(err)
	}
	// The ledger entry is written right after delivery.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if v, _ := verify(t, in.Instance, "", captured); v.Verdict == "genuine" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	tb := newBrowserTab(t)
	// Anonymous: the guidance, reached from the footer of the home page.
	tb.navigate(in.URL + "/")
	wantTabStyled(t, tb)
	if got := tb.text("footer"); !strings.Contains(got, "Check an email") || !strings.Contains(got, "Report phishing") || !strings.Contains(got, "Identify a spoofed email") {
		t.Errorf("footer = %q", got)
	}
	tb.click("footer-guide")
	wantTabLocation(t, tb, in.Instance, "/security/phishing")
	if h := tb.text("main h1"); h != "Identify a spoofed email" {
		t.Errorf("guide h1 = %q", h)
	}
	if got := tb.text("#never-ask"); !strings.Contains(got, "never") || !strings.Contains(got, "password") || !strings.Contains(got, "verification code") {
		t.Errorf("what we never ask for = %q", got)
	}

	// Sign in through the page.
	tb.navigate(in.URL + "/signin")
	tb.typeInto("email", "ada@example.com")
	tb.typeInto("password", pw)
	tb.click("signin-submit")
	wantTabLocation(t, tb, in.Instance, "/account")

	// The guidance shows the seller's own phrase.
	tb.navigate(in.URL + "/security/phishing")
	if got := tb.text("#guide-phrase"); got != "\u00abblue heron at noon\u00bb" {
		t.Errorf("phrase on the guide = %q", got)
	}
	tb.screenshot("phishing-1-guide")

	// Check the real email by uploading it.
	tb.click("guide-check")
	wantTabLocation(t, tb, in.Instance, "/mail/check")
	tb.do("upload the email", chromedp.SetUploadFiles(chromedp.ID("file"), []string{eml}))
	if resp := tb.click("check-submit"); resp.Status != http.StatusOK {
		t.Fatalf("check answered %d", resp.Status)
	}
	if v := tabEval[string](tb, `document.getElementById('verdict').dataset.verdict`); v != "genuine" {
		t.Fatalf("verdict = %q: %s", v, tb.text("main"))
	}
	if got := tb.text("#verdict-headline"); got != "This email is really from SellerGuard." {
		t.Errorf("headline = %q", got)
	}
	codes := tabEval[[]string](tb, `[...document.querySelectorAll('#reasons li')].map(li => li.dataset.code)`)
	for _, c := range []string{"signature_valid", "ledger_match", "sent_to_you", "phrase_current"} {
		if !strings.Contains(strings.Join(codes, " "), c) {
			t.Errorf("reasons %q lack %s", codes, c)
		}
	}
	if got := tb.text("#sent-subject"); got != "Your anti-phishing phrase was changed" {
		t.Errorf("subject shown = %q", got)
	}
	tb.screenshot("phishing-2-genuine")

	// Paste a forgery.
	forged := string(forgedEmail("SellerGuard <no-reply@mail.sellerguard.test>", in.URL))
	js, _ := json.Marshal(forged)
	tabEval[string](tb, `document.getElementById('raw').value = `+string(js))
	tb.click("check-submit")
	if v := tabEval[string](tb, `document.getElementById('verdict').dataset.verdict`); v != "not_from_us" {
		t.Errorf("forged verdict = %q: %s", v, tb.text("main"))
	}
	if got := tb.text("#verdict-headline"); !strings.Contains(got, "not from SellerGuard") {
		t.Errorf("forged headline = %q", got)
	}
	tb.screenshot("phishing-3-forged")
	// Nothing pasted: the problem next to the field.
	tb.navigate(in.URL + "/mail/check")
	if resp := tb.click("check-submit"); resp.Status != http.StatusBadRequest {
		t.Errorf("empty check answered %d", resp.Status)
	}
	if got := tb.text("#raw-error"); !strings.Contains(got, "headers") {
		t.Errorf("empty check error = %q", got)
	}

	// Report a suspicious link.
	tb.click("footer-report")
	wantTabLocation(t, tb, in.Instance, "/report-phishing")
	tb.typeInto("url", "http://xn--sllerguard-ksi.test/login")
	tb.typeInto("note", "Came by text message: verify your account now")
	if resp := tb.click("report-submit"); resp.Status != http.StatusCreated {
		t.Fatalf("report answered %d: %s", resp.Status, tb.text("main"))
	}
	id := tb.text("#report-id")
	if !strings.HasPrefix(id, "phr_") {
		t.Fatalf("report id = %q", id)
	}
	tb.screenshot("phishing-4-reported")
	list, err := in.Phishing.List(t.Context(), "", nil, 10)
	if err != nil || len(list) != 1 || list[0].ID != id || list[0].Source != "web" || list[0].Kind != "link" {
		t.Errorf("queue after the page report: %+v, %v", list, err)
	}
	// An invalid link: the problem next to the field.
	tb.typeInto("url", "javascript:alert(1)")
	if resp := tb.click("report-submit"); resp.Status != http.StatusBadRequest {
		t.Errorf("bad link answered %d", resp.Status)
	}
	if got := tb.text("#url-error"); !strings.Contains(got, "http") {
		t.Errorf("bad link error = %q", got)
	}
	// The two refused forms answer 400 on purpose.
	tb.noConsoleErrors("/mail/check: Failed to load resource: the server responded with a status of 400",
		"/report-phishing: Failed to load resource: the server responded with a status of 400")
}
