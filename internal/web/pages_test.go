package web_test

import (
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

func cookieGet(t *testing.T, in *apptest.Instance, token, path string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", in.URL+path, nil)
	req.AddCookie(&http.Cookie{Name: "sg_session", Value: token})
	req.Header.Set("Accept", "text/html")
	resp, err := in.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestAuditCSVExportHasEveryEventAndDefusesFormulas(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "csv@example.com", pw, "CSV Shop")
	// A sign-in whose user agent is a spreadsheet formula.
	req, _ := http.NewRequest("POST", in.URL+"/api/v1/sessions", strings.NewReader(`{"email":"csv@example.com","password":"`+pw+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", `=HYPERLINK("http://evil.example","x")`)
	resp, err := in.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	token := in.SignIn(t, "csv@example.com", pw)
	in.EnrollTOTP(t, token)

	resp = cookieGet(t, in, token, "/account/audit.csv")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %v", resp.StatusCode, resp.Header)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if rows[0][0] != "created_at" || rows[0][4] != "action" {
		t.Fatalf("header = %v", rows[0])
	}
	actions := map[string]int{}
	for _, r := range rows[1:] {
		actions[r[4]]++
		if strings.HasPrefix(r[9], "=") {
			t.Fatalf("a formula reached the CSV unescaped: %q", r[9])
		}
	}
	if len(rows) != 6 || actions["session.created"] != 2 || actions["user.created"] != 1 || actions["business.created"] != 1 || actions["two_step.method_added"] != 1 {
		t.Fatalf("rows = %d, actions = %v", len(rows), actions)
	}
	// The same filters as the page.
	resp = cookieGet(t, in, token, "/account/audit.csv?"+url.Values{"category": {"session"}}.Encode())
	rows, _ = csv.NewReader(resp.Body).ReadAll()
	if len(rows) != 3 {
		t.Fatalf("filtered export has %d rows", len(rows))
	}
	// Without a session: to the sign-in page, never the data.
	resp, err = in.Client.Get(in.URL + "/account/audit.csv")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin" {
		t.Fatalf("anonymous export: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestAuditPageShowsFilterErrors(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "page@example.com", pw, "Page Shop")
	token := in.SignIn(t, "page@example.com", pw)
	// Before two-step verification the business's audit log leads to its set-up.
	resp := cookieGet(t, in, token, "/account/audit")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account/two-step?required=1" {
		t.Fatalf("audit page before enrolling: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	in.EnrollTOTP(t, token)
	resp = cookieGet(t, in, token, "/account/audit?since=tomorrow")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "RFC 3339") || !strings.Contains(string(body), `value="tomorrow"`) {
		t.Fatalf("bad filter page: %d\n%s", resp.StatusCode, body)
	}
	resp = cookieGet(t, in, token, "/account/audit")
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "business.created") {
		t.Fatalf("audit page: %d", resp.StatusCode)
	}
}

func TestUnknownPagesAndMethodsGetCleanErrors(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	req, _ := http.NewRequest("GET", in.URL+"/no/such/page", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := in.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "There is nothing here") {
		t.Fatalf("unknown page: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	req, _ = http.NewRequest("DELETE", in.URL+"/signin", nil)
	resp, err = in.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || !strings.Contains(resp.Header.Get("Allow"), "POST") {
		t.Fatalf("wrong method: %d Allow=%q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestStaticFilesWithoutDirectoryListing(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	for path, want := range map[string]int{"/static/style.css": 200, "/static/favicon.svg": 200, "/static/": 404, "/static/../templates/layout.html": 404} {
		resp, err := in.Client.Get(in.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want && !(want == 404 && resp.StatusCode == 307) {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	r := in.Do(t, "GET", "/api/v1/openapi.json", "", nil)
	if r.Status != 200 || r.JSON(t)["openapi"] != "3.1.0" {
		t.Fatalf("openapi.json: %d", r.Status)
	}
}
