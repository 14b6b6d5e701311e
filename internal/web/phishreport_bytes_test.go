package web_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/url"
	"os/exec"
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// eightBitPhish is a phishing email as they often arrive: headers in
// Latin-1 written as raw 8-bit bytes (not UTF-8), a NUL in the subject and
// a body with bytes that are no text at all.
const eightBitPhish = "From: \"S\xe9curit\xe9 SellerGuard\" <security@se11erguard.test>\r\n" +
	"To: alice@example.com\r\nSubject: V\xe9rifiez\x00 votre compte\r\n" +
	"Message-ID: <\xff8bit@se11erguard.test>\r\n\r\n" +
	"Votre compte sera suspendu \xff\x00. Entrez votre mot de passe: http://203.0.113.7/login\r\n"

// What the report shows of that message: each byte that is not UTF-8, and
// the NUL, as U+FFFD.
const (
	eightBitFrom    = "\"S\uFFFDcurit\uFFFD SellerGuard\" <security@se11erguard.test>"
	eightBitSubject = "V\uFFFDrifiez\uFFFD votre compte"
)

// A reported email is bytes, whatever its headers hold, on every way in
// and on both databases: the API (message/rfc822, and JSON whose raw
// holds a NUL), the page (pasted, and uploaded with multipart) and the
// SMTP intake take it, keep its bytes as they came and show its From and
// Subject as text. Until this, PostgreSQL refused to store such a summary
// (the report was answered 400 there, taken on SQLite). What the reporter
// types (the link, the note) is text: a NUL in it is refused, naming the
// field, on the API and on both forms of the page, and adds no report.
func TestPhishingReportOfAnyBytes(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in, addr := startReportInstance(t, dialect)
		want := 0
		newest := func(way, rawWant string) {
			t.Helper()
			want++
			list := reportsInQueue(t, in)
			if len(list) != want {
				t.Fatalf("%s: %d reports in the queue, want %d", way, len(list), want)
			}
			rep := list[0]
			if rep.Kind != "message" || rep.From != eightBitFrom || rep.Subject != eightBitSubject {
				t.Errorf("%s: report from %q subject %q kind %s, want %q / %q", way, rep.From, rep.Subject, rep.Kind, eightBitFrom, eightBitSubject)
			}
			stored, err := in.DB.GetPhishingReport(t.Context(), rep.ID)
			if err != nil || len(stored.Raw) == 0 {
				t.Fatalf("%s: stored %+v, %v", way, stored, err)
			}
			if !bytes.Equal(bytes.TrimRight(stored.Raw, "\r\n"), bytes.TrimRight([]byte(rawWant), "\r\n")) {
				t.Errorf("%s: raw message stored as %q, want the bytes sent, %q", way, stored.Raw, rawWant)
			}
		}

		// The API, as message/rfc822.
		status, body := rawRequest(t, in, "POST", "/api/v1/phishing-reports", "message/rfc822", []byte(eightBitPhish), "", nil)
		if status != 201 {
			t.Fatalf("API rfc822: %d %s", status, body)
		}
		newest("rfc822", eightBitPhish)

		// The API, as JSON: raw is UTF-8 there, and may hold a NUL.
		jsonRaw := strings.ToValidUTF8(eightBitPhish, "\uFFFD")
		b, _ := json.Marshal(map[string]string{"raw": jsonRaw})
		if !bytes.Contains(b, []byte(`\u0000`)) {
			t.Fatalf("the JSON body has no NUL: %s", b)
		}
		status, body = rawRequest(t, in, "POST", "/api/v1/phishing-reports", "application/json", b, "", nil)
		if status != 201 {
			t.Fatalf("API JSON with a NUL in raw: %d %s", status, body)
		}
		newest("json", jsonRaw)

		// The API: a NUL in the note is refused, naming it.
		b, _ = json.Marshal(map[string]string{"url": "https://se11erguard.test/login", "note": "seen \x00 today"})
		status, body = rawRequest(t, in, "POST", "/api/v1/phishing-reports", "application/json", b, "", nil)
		if status != 400 || !strings.Contains(body, `"field":"note"`) || !strings.Contains(body, `"bad_text"`) {
			t.Errorf("API note with a NUL: %d %s", status, body)
		}

		// The page, pasted (urlencoded): the message may hold a NUL.
		status, body = formPost(t, in, "/report-phishing", nil, url.Values{"raw": {jsonRaw}})
		if status != 201 || !strings.Contains(body, "phr_") {
			t.Fatalf("page, pasted: %d %.300s", status, body)
		}
		newest("pasted", jsonRaw)

		// The page, uploaded (multipart): the bytes as they are.
		multi := func(fields map[string]string, file string) (int, string) {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			for k, v := range fields {
				_ = mw.WriteField(k, v)
			}
			if file != "" {
				fw, _ := mw.CreateFormFile("file", "phish.eml")
				_, _ = fw.Write([]byte(file))
			}
			_ = mw.Close()
			return rawRequest(t, in, "POST", "/report-phishing", mw.FormDataContentType(), buf.Bytes(), "", map[string]string{"Accept": "text/html"})
		}
		status, body = multi(nil, eightBitPhish)
		if status != 201 || !strings.Contains(body, "phr_") {
			t.Fatalf("page, uploaded: %d %.300s", status, body)
		}
		newest("multipart", eightBitPhish)
		// A NUL in the note of either form is refused on the page, naming
		// the note, and adds nothing.
		status, body = multi(map[string]string{"url": "https://se11erguard.test/login", "note": "seen \x00 today"}, "")
		if status != 400 || !strings.Contains(body, "This field has a NUL character or bytes that are not UTF-8 text.") {
			t.Errorf("page, multipart note with a NUL: %d %.2000s", status, body)
		}
		status, body = formPost(t, in, "/report-phishing", nil, url.Values{"url": {"https://se11erguard.test/login"}, "note": {"seen \x00 today"}})
		if status != 400 || !strings.Contains(body, "This field has a NUL character or bytes that are not UTF-8 text.") {
			t.Errorf("page, urlencoded note with a NUL: %d %.2000s", status, body)
		}
		if n := len(reportsInQueue(t, in)); n != want {
			t.Errorf("%d reports after the refused notes, want %d", n, want)
		}

		// The SMTP intake, the message inline with its 8-bit headers.
		host, port, _ := strings.Cut(addr, ":")
		script := `import smtplib, sys
s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=30)
s.sendmail("alice@example.com", [sys.argv[3]], sys.stdin.buffer.read())
s.quit()
print("accepted")
`
		cmd := exec.Command("python3", "-c", script, host, port, reportAddress)
		cmd.Stdin = strings.NewReader(eightBitPhish)
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "accepted") {
			t.Fatalf("SMTP: %v\n%s", err, out)
		}
		newest("smtp", eightBitPhish)
	})
}
