package web_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/phishreport"
	"github.com/sellerguard/sellerguard/internal/testenv"
)

const reportAddress = "stop-spoofing@sellerguard.test"

// startReportInstance runs SellerGuard in local mode (thank-you emails wait
// in the local outbox) with the SMTP intake on a free port.
func startReportInstance(t *testing.T, dialect string) (*apptest.Instance, string) {
	t.Helper()
	in := apptest.Start(t, dialect,
		apptest.Env("SELLERGUARD_MAIL_FROM", "SellerGuard <no-reply@mail.sellerguard.test>"),
		apptest.Env("SELLERGUARD_REPORT_SMTP_ADDR", "127.0.0.1:0"),
		apptest.Env("SELLERGUARD_REPORT_ADDRESS", reportAddress))
	addr := in.ReportSMTPAddr()
	if addr == "" {
		t.Fatal("the report SMTP listener did not start")
	}
	return in, addr
}

// phishingEmail is a look-alike "SellerGuard" email asking for a password.
const phishingEmail = "From: SellerGuard Security <security@se11erguard.test>\r\n" +
	"To: alice@example.com\r\nSubject: Urgent: verify your account\r\n" +
	"Date: Fri, 04 Dec 2026 09:00:00 +0000\r\nMessage-ID: <phish-1@se11erguard.test>\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
	"<p>Your account will be suspended within 24 hours.</p>\r\n" +
	"<p>Verify your account now: <a href=\"http://203.0.113.7/login\">https://mail.sellerguard.test/login</a></p>\r\n" +
	"<p>Enter your password and the code we sent you.</p>\r\n"

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testenv.Missing(t, "%s is not installed; install it with: %s", name, testenv.InstallHint(name))
	}
	return p
}

func reportsInQueue(t *testing.T, in *apptest.Instance) []phishreport.Report {
	t.Helper()
	list, err := in.Phishing.List(t.Context(), "", nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func reasonCodes(r phishreport.Report) []string {
	var out []string
	for _, x := range r.Reasons {
		out = append(out, x.Code)
	}
	return out
}

// A report forwarded to the report address as an attachment, with the real
// swaks client, lands in the queue with its analysis, and the reporter (who
// has an account) gets a thank-you with the verdict. Mail for any other
// address is refused (no relay), and an oversized message is refused at the
// SMTP level (SIZE, and DATA past the limit).
func TestPhishingReportBySMTP(t *testing.T) {
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		swaks := needTool(t, "swaks")
		in, addr := startReportInstance(t, dialect)
		host, port, _ := strings.Cut(addr, ":")
		in.SignUp(t, "alice@example.com", pw, "Alice's Attic")

		eml := filepath.Join(t.TempDir(), "phish.eml")
		if err := os.WriteFile(eml, []byte(phishingEmail), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(swaks, "--server", host, "--port", port, "--helo", "reporter.example",
			"--from", "alice@example.com", "--to", reportAddress,
			"--header", "Subject: Fwd: Urgent: verify your account",
			"--body", "This looks fake to me.",
			"--attach-type", "message/rfc822", "--attach-name", "phish.eml", "--attach", "@"+eml).CombinedOutput()
		if err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		list := reportsInQueue(t, in)
		if len(list) != 1 {
			t.Fatalf("%d reports in the queue, want 1\n%s", len(list), out)
		}
		rep := list[0]
		if rep.Source != "smtp" || rep.Kind != "message" || rep.Verdict != "phishing" ||
			rep.From != "SellerGuard Security <security@se11erguard.test>" || rep.Subject != "Urgent: verify your account" {
			t.Errorf("report = %+v: want the attached message, analysed as phishing", rep)
		}
		for _, c := range []string{"sender_lookalike_confusable", "link_ip_literal", "asks_password"} {
			if !slices.Contains(reasonCodes(rep), c) {
				t.Errorf("reasons %q lack %s", reasonCodes(rep), c)
			}
		}
		stored, err := in.DB.GetPhishingReport(t.Context(), rep.ID)
		if err != nil || !bytes.Equal(bytes.TrimRight(stored.Raw, "\r\n"), bytes.TrimRight([]byte(phishingEmail), "\r\n")) ||
			stored.ReporterEmail != "alice@example.com" || stored.ReporterIP != "127.0.0.1" {
			t.Errorf("stored report: %+v (raw %q), %v", stored, stored.Raw, err)
		}
		// The thank-you, with the report's number and the verdict.
		var thanks *apptest.Message
		for _, m := range in.Outbox(t) {
			if m.To == "alice@example.com" && strings.Contains(m.Subject, "phishing report") {
				thanks = &m
			}
		}
		if thanks == nil || !strings.Contains(thanks.Body, rep.ID) || !strings.Contains(thanks.Body, "this is phishing") ||
			!strings.Contains(thanks.Body, "anti-phishing phrase") {
			t.Errorf("thank-you email: %+v", thanks)
		}

		// No relay: RCPT for any other address is refused.
		out, err = exec.Command(swaks, "--server", host, "--port", port, "--helo", "reporter.example",
			"--from", "alice@example.com", "--to", "victim@elsewhere.example", "--body", "relay me").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "550 5.7.1") {
			t.Errorf("relay to another address was not refused: %v\n%s", err, out)
		}

		// Oversized: refused at MAIL FROM when the client declares SIZE
		// (smtplib does), and during DATA when it does not (swaks).
		script := `import smtplib, sys
s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=30)
s.ehlo("reporter.example")
print("SIZE advertised:", s.esmtp_features.get("size"))
msg = b"From: a@example.com\r\nSubject: big\r\n\r\n" + b"x" * (3 * 1024 * 1024)
try:
    s.sendmail("alice@example.com", ["` + reportAddress + `"], msg)
    print("accepted")
except smtplib.SMTPSenderRefused as e:
    print("refused", e.smtp_code)
`
		out, err = exec.Command("python3", "-c", script, host, port).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "refused 552") {
			t.Errorf("oversized message (SIZE): %v\n%s", err, out)
		}
		big := filepath.Join(t.TempDir(), "big.txt")
		if err := os.WriteFile(big, bytes.Repeat([]byte("y"), 3<<20), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err = exec.Command(swaks, "--server", host, "--port", port, "--helo", "reporter.example",
			"--from", "alice@example.com", "--to", reportAddress, "--attach", "@"+big).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "552") {
			t.Errorf("oversized message (DATA) was not refused: %v\n%.2000s", err, out)
		}
		if n := len(reportsInQueue(t, in)); n != 1 {
			t.Errorf("%d reports after the refused messages, want 1", n)
		}
	})
}

type reportAnswer struct {
	ID         string    `json:"id"`
	Source     string    `json:"source"`
	Kind       string    `json:"kind"`
	Verdict    string    `json:"verdict"`
	ReceivedAt time.Time `json:"received_at"`
	Reasons    []struct {
		Code string `json:"code"`
	} `json:"reasons"`
}

// The API takes a raw message or a link with a note, signed in or not;
// signed-in reporters see their own reports; every way in shares one
// per-source limit, the SMTP listener included.
func TestPhishingReportByAPI(t *testing.T) {
	in, addr := startReportInstance(t, "sqlite")
	in.SignUp(t, "alice@example.com", pw, "Alice's Attic")
	alice := in.SignIn(t, "alice@example.com", pw)
	in.EnrollTOTP(t, alice)

	r := in.DoWith(t, "POST", "/api/v1/phishing-reports", "", map[string]string{"Content-Type": "message/rfc822"}, phishingEmail)
	checkDocumented(t, "POST", "/api/v1/phishing-reports", r)
	var a reportAnswer
	if r.Status != 201 || json.Unmarshal(r.Body, &a) != nil || !strings.HasPrefix(a.ID, "phr_") || a.Source != "api" || a.Verdict != "phishing" {
		t.Fatalf("anonymous raw report: %d %s", r.Status, r.Body)
	}
	r = in.Do(t, "POST", "/api/v1/phishing-reports", alice, map[string]string{"url": "http://xn--sllerguard-ksi.test/login", "note": "came by text message: verify your account or lose your payouts"})
	if r.Status != 201 || json.Unmarshal(r.Body, &a) != nil || a.Kind != "link" {
		t.Fatalf("link report: %d %s", r.Status, r.Body)
	}
	checkDocumented(t, "POST", "/api/v1/phishing-reports", r)
	linkID := a.ID
	// A signed-in retry with the same Idempotency-Key gets the first answer
	// again, and no second report.
	idem := map[string]string{"Idempotency-Key": "report-1"}
	first := in.DoWith(t, "POST", "/api/v1/phishing-reports", alice, idem, map[string]string{"url": "http://bit.ly/same"})
	again := in.DoWith(t, "POST", "/api/v1/phishing-reports", alice, idem, map[string]string{"url": "http://bit.ly/same"})
	checkDocumented(t, "POST", "/api/v1/phishing-reports", again)
	if first.Status != 201 || again.Status != 201 || again.Header.Get("Idempotent-Replayed") != "true" || string(first.Body) != string(again.Body) {
		t.Errorf("idempotent retry: %d %s / %d %s", first.Status, first.Body, again.Status, again.Body)
	}
	var idemAnswer reportAnswer
	_ = json.Unmarshal(first.Body, &idemAnswer) // checked above
	// Alice sees her own report only; the thank-you reached her.
	r = in.Do(t, "GET", "/api/v1/phishing-reports", alice, nil)
	var list struct {
		Reports    []reportAnswer `json:"reports"`
		NextCursor *string        `json:"next_cursor"`
	}
	checkDocumented(t, "GET", "/api/v1/phishing-reports", r)
	if r.Status != 200 || json.Unmarshal(r.Body, &list) != nil || len(list.Reports) != 2 || list.Reports[1].ID != linkID || list.Reports[0].ID != idemAnswer.ID {
		t.Errorf("alice's reports: %d %s", r.Status, r.Body)
	}
	if r := in.Do(t, "GET", "/api/v1/phishing-reports", "", nil); r.Status != 401 {
		t.Errorf("anonymous list: %d", r.Status)
	}

	// Bad input: clear 400s (and nothing stored).
	for _, c := range []struct {
		body any
		code string
	}{
		{map[string]string{}, "required"},
		{map[string]string{"raw": phishingEmail, "url": "http://x.example/"}, "raw_or_url"},
		{map[string]string{"url": "javascript:alert(1)"}, "invalid_link"},
		{map[string]string{"url": "http://x.example/" + strings.Repeat("a", 3000)}, "too_long"},
		{map[string]string{"url": "http://x.example/", "note": strings.Repeat("n", 2001)}, "too_long"},
		{map[string]string{"raw": "no header at all"}, "not_a_message"},
		{map[string]any{"raw": 5}, "wrong_type"},
	} {
		r := in.Do(t, "POST", "/api/v1/phishing-reports", "", c.body)
		checkDocumented(t, "POST", "/api/v1/phishing-reports", r)
		if r.Status != 400 || !strings.Contains(string(r.Body), `"code":"`+c.code+`"`) {
			t.Errorf("%v: %d %s, want 400 %s", c.body, r.Status, r.Body, c.code)
		}
	}
	if n := len(reportsInQueue(t, in)); n != 3 {
		t.Errorf("%d reports after refused ones, want 3", n)
	}
	// A message of 10,000 parts is refused by the analysis's bounds.
	var many strings.Builder
	many.WriteString("From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n")
	for range 10000 {
		many.WriteString("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n")
	}
	many.WriteString("--b--\r\n")
	start := time.Now()
	r = in.DoWith(t, "POST", "/api/v1/phishing-reports", "", map[string]string{"Content-Type": "message/rfc822"}, many.String())
	checkDocumented(t, "POST", "/api/v1/phishing-reports", r)
	if r.Status != 400 || !strings.Contains(string(r.Body), "too_many_parts") || time.Since(start) > 5*time.Second {
		t.Errorf("10,000 parts: %d %s after %v", r.Status, r.Body, time.Since(start))
	}

	// The per-source limit (20 an hour) covers the API and SMTP alike.
	var last apptest.Response
	for i := 0; i < 20; i++ {
		last = in.Do(t, "POST", "/api/v1/phishing-reports", "", map[string]string{"url": "http://bit.ly/x"})
		if last.Status == http.StatusTooManyRequests {
			break
		}
	}
	checkDocumented(t, "POST", "/api/v1/phishing-reports", last)
	if last.Status != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Errorf("past the limit: %d %s", last.Status, last.Body)
	}
	script := `import smtplib, sys
try:
    s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=30)
    code, msg = s.ehlo("reporter.example")
    print("ehlo", code)
except smtplib.SMTPServerDisconnected as e:
    print("disconnected", e)
`
	host, port, _ := strings.Cut(addr, ":")
	out, err := exec.Command("python3", "-c", script, host, port).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "421") {
		t.Errorf("SMTP past the per-source limit: %v\n%s", err, out)
	}
}
