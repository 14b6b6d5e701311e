package main

import (
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// `sellerguard phishing list` shows the queue (the support console does
// not exist yet), and `phishing show` one report with its analysis and,
// with --raw, the message as reported.
func TestPhishingListAndShow(t *testing.T) {
	dataDir := t.TempDir()
	dbURL := "sqlite://" + dataDir + "/sg.db"
	env := map[string]string{"SELLERGUARD_DATA_DIR": dataDir, "SELLERGUARD_DATABASE_URL": dbURL, "SELLERGUARD_REPORT_DNS": "false"}
	if code, out, _ := runCLI(t, env, "phishing", "list"); code != 0 || !strings.Contains(out, "no phishing reports") {
		t.Fatalf("empty list: %d %q", code, out)
	}
	in := apptest.Start(t, "", apptest.Env("SELLERGUARD_DATABASE_URL", dbURL), apptest.Env("SELLERGUARD_DATA_DIR", dataDir))
	raw := "From: SellerGuard <help@se11erguard.example>\r\nSubject: Verify your account\r\n\r\nEnter your password at http://198.51.100.4/login\r\n"
	r := in.DoWith(t, "POST", "/api/v1/phishing-reports", "", map[string]string{"Content-Type": "message/rfc822"}, raw)
	if r.Status != 201 {
		t.Fatalf("report: %d %s", r.Status, r.Body)
	}
	id := r.JSON(t)["id"].(string)
	in.Do(t, "POST", "/api/v1/phishing-reports", "", map[string]string{"url": "http://bit.ly/abc", "note": "by text message"})

	code, out, errOut := runCLI(t, env, "phishing", "list")
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "SellerGuard <help@se11erguard.example>") ||
		!strings.Contains(out, "http://bit.ly/abc") || !strings.Contains(out, "link_shortener") || !strings.Contains(out, "api") {
		t.Fatalf("phishing list: %d %q %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, env, "phishing", "show", id)
	if code != 0 || !strings.Contains(out, "verdict:") || !strings.Contains(out, `"link_ip_literal"`) || !strings.Contains(out, "kept until") {
		t.Fatalf("phishing show: %d %q", code, out)
	}
	if code, out, _ = runCLI(t, env, "phishing", "show", id, "--raw"); code != 0 || out != raw {
		t.Fatalf("phishing show --raw: %d %q", code, out)
	}
	if code, _, _ := runCLI(t, env, "phishing", "show", "phr_nope"); code != 1 {
		t.Errorf("unknown report: %d", code)
	}
	if code, _, _ := runCLI(t, env, "phishing", "delete"); code != 2 {
		t.Errorf("unknown subcommand: %d", code)
	}
}
