package phishreport

import (
	"encoding/base64"
	"strings"
	"testing"
)

// The reported message is the attached one (forward as attachment, in any
// transfer encoding, also an attached .eml), or the whole message for an
// inline forward.
func TestReportedMessage(t *testing.T) {
	inner := "From: SellerGuard <x@se11erguard.test>\r\nSubject: Verify\r\n\r\nEnter your password.\r\n"
	wrap := func(partHeader, partBody string) string {
		return "From: alice@example.com\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n" +
			"--XX\r\nContent-Type: text/plain\r\n\r\nLooks fake.\r\n--XX\r\n" + partHeader + "\r\n" + partBody + "\r\n--XX--\r\n"
	}
	b64 := base64.StdEncoding.EncodeToString([]byte(inner))
	for _, c := range []struct{ name, raw, want string }{
		{"rfc822 attachment", wrap("Content-Type: message/rfc822\r\n", inner), inner},
		{"base64 rfc822", wrap("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n", b64[:20]+"\r\n"+b64[20:]), inner},
		{".eml as octet-stream", wrap("Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"phish.eml\"\r\nContent-Transfer-Encoding: base64\r\n", b64), inner},
		{"inline forward", "From: alice@example.com\r\nSubject: Fwd\r\n\r\n---------- Forwarded message ---------\r\n" + inner, ""},
		{"nested multipart", "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\nContent-Type: message/rfc822\r\n\r\n" + inner + "\r\n--i--\r\n--o--\r\n", inner},
		{"not a message", "garbage without a header", ""},
	} {
		got := string(ReportedMessage([]byte(c.raw)))
		want := c.want
		if want == "" {
			want = c.raw
		}
		if strings.TrimRight(got, "\r\n") != strings.TrimRight(want, "\r\n") {
			t.Errorf("%s: got %q, want %q", c.name, got, want)
		}
	}
}
