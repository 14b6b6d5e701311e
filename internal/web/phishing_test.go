package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/dkim"
	"github.com/sellerguard/sellerguard/internal/testenv"
)

// mailInstance is SellerGuard sending real mail over SMTP to a real server
// (aiosmtpd), DKIM-signed with a fresh key, From the mail domain
// mail.sellerguard.test.
type mailInstance struct {
	*apptest.Instance
	smtp *testenv.SMTPServer
}

func startMailInstance(t *testing.T, dialect string, opts ...apptest.Option) *mailInstance {
	t.Helper()
	srv := testenv.StartSMTP(t)
	pemKey, _, err := dkim.GenerateKey("rsa")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "dkim.key")
	if err := os.WriteFile(keyFile, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	opts = append([]apptest.Option{
		apptest.Env("SELLERGUARD_SMTP_URL", "smtp://"+srv.Addr),
		apptest.Env("SELLERGUARD_MAIL_FROM", "SellerGuard <no-reply@mail.sellerguard.test>"),
		apptest.Env("SELLERGUARD_DKIM_KEY_FILE", keyFile),
	}, opts...)
	return &mailInstance{Instance: apptest.Start(t, dialect, opts...), smtp: srv}
}

var smtpCodeRE = regexp.MustCompile(`code is: (\d{6})`)

// mailsTo returns the messages the SMTP server received for the address,
// in the order received.
func (m *mailInstance) mailsTo(t *testing.T, to string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, raw := range m.smtp.Messages(t) {
		if bytes.Contains(raw, []byte("X-RcptTo: "+to)) {
			out = append(out, raw)
		}
	}
	return out
}

// waitMail waits for the n-th message to the address.
func (m *mailInstance) waitMail(t *testing.T, to string, n int) []byte {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if got := m.mailsTo(t, to); len(got) >= n {
			return got[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message %d to %s (server log: %s)", n, to, m.smtp.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// signUp signs up over SMTP mail (the code comes from the real server) and
// signs in.
func (m *mailInstance) signUp(t *testing.T, email string) string {
	t.Helper()
	if r := m.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": email, "password": pw, "business_name": "Shop of " + email}); r.Status != 202 {
		t.Fatalf("signup: %d %s", r.Status, r.Body)
	}
	code := smtpCodeRE.FindSubmatch(m.waitMail(t, email, 1))
	if code == nil {
		t.Fatalf("no code in the sign-up email")
	}
	if r := m.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": email, "code": string(code[1])}); r.Status != 201 {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}
	return m.SignIn(t, email, pw)
}

type verifyAnswer struct {
	Verdict string `json:"verdict"`
	Reasons []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"reasons"`
	SentAt  *time.Time `json:"sent_at"`
	Subject *string    `json:"subject"`
}

func (v verifyAnswer) codes() []string {
	var out []string
	for _, r := range v.Reasons {
		out = append(out, r.Code)
	}
	return out
}

// verify posts raw as message/rfc822 (token "" = anonymous).
func verify(t *testing.T, in *apptest.Instance, token string, raw []byte) (verifyAnswer, apptest.Response) {
	t.Helper()
	h := map[string]string{"Content-Type": "message/rfc822"}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	r := in.DoWith(t, "POST", "/api/v1/mail/verify", "", h, raw)
	var v verifyAnswer
	if r.Status == 200 {
		if err := json.Unmarshal(r.Body, &v); err != nil {
			t.Fatalf("verify answer: %v\n%s", err, r.Body)
		}
	}
	return v, r
}

// checkDocumented checks an answer against api/openapi.json.
func checkDocumented(t *testing.T, method, path string, r apptest.Response) {
	t.Helper()
	docOnce.Do(func() { doc = loadOpenAPI(t) })
	doc.check(t, oaAnswer{Response: r, method: method, path: path}, nil)
}

var (
	docOnce sync.Once
	doc     *oaDocument
)

func wantVerdict(t *testing.T, what string, v verifyAnswer, r apptest.Response, verdict string, codes ...string) {
	t.Helper()
	checkDocumented(t, "POST", "/api/v1/mail/verify", r)
	if r.Status != 200 || v.Verdict != verdict {
		t.Fatalf("%s: %d %s, want verdict %s", what, r.Status, r.Body, verdict)
	}
	for _, c := range codes {
		if !slices.Contains(v.codes(), c) {
			t.Errorf("%s: reasons %q lack %s", what, v.codes(), c)
		}
	}
}

// The proof: a real email captured from SellerGuard over SMTP is
// genuine; the same with one link changed is altered; a forgery with
// SellerGuard's From and no signature is not_from_us; look-alike senders
// are flagged with their reason codes. Only the recipient learns when it
// was sent and its subject.
func TestVerifyEmailFromTheSMTPServer(t *testing.T) {
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := startMailInstance(t, dialect)
		alice := in.signUp(t, "alice@example.com")
		bob := in.signUp(t, "bob@example.com")
		// A phrase change (recent sign-in) sends an email carrying the new
		// phrase: the welcome (2) and this (3) follow the code (1).
		if r := in.Do(t, "PUT", "/api/v1/account/anti-phishing-phrase", alice, map[string]string{"phrase": "purple teapot at dawn"}); r.Status != 200 && r.Status != 204 {
			t.Fatalf("set phrase: %d %s", r.Status, r.Body)
		}
		var raw []byte
		for n := 1; ; n++ {
			raw = in.waitMail(t, "alice@example.com", n)
			if bytes.Contains(raw, []byte("Subject: Your anti-phishing phrase was changed")) {
				break
			}
		}
		if !bytes.HasPrefix(raw, []byte("X-Peer:")) || !bytes.Contains(raw, []byte("DKIM-Signature:")) {
			t.Fatalf("the captured email is not as received (trace fields, signature):\n%.400s", raw)
		}
		if !bytes.Contains(raw, []byte(`choose`)) || !bytes.Contains(raw, []byte(`Check an email`)) {
			t.Errorf("the email's footer does not tell how to check it:\n%s", raw)
		}

		// The ledger entry is written right after delivery: wait for it.
		var v verifyAnswer
		var r apptest.Response
		deadline := time.Now().Add(10 * time.Second)
		for {
			v, r = verify(t, in.Instance, "", raw)
			if v.Verdict == "genuine" || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		wantVerdict(t, "anonymous, captured email", v, r, "genuine", "signature_valid", "ledger_match", "exact_copy")
		if v.SentAt != nil || v.Subject != nil || bytes.Contains(r.Body, []byte("alice")) || bytes.Contains(r.Body, []byte("teapot")) {
			t.Errorf("an anonymous caller learns about the email: %s", r.Body)
		}

		// The recipient: sent to them, with their current phrase, when and
		// what.
		v, r = verify(t, in.Instance, alice, raw)
		wantVerdict(t, "recipient", v, r, "genuine", "sent_to_you", "phrase_current")
		if v.SentAt == nil || time.Since(*v.SentAt) > time.Minute || v.Subject == nil || *v.Subject != "Your anti-phishing phrase was changed" {
			t.Errorf("the recipient is not told when and what: %s", r.Body)
		}
		// Another signed-in person: genuine, not theirs, nothing more.
		v, r = verify(t, in.Instance, bob, raw)
		wantVerdict(t, "someone else", v, r, "genuine", "not_sent_to_you")
		if v.SentAt != nil || v.Subject != nil || bytes.Contains(r.Body, []byte("alice")) {
			t.Errorf("someone else learns about the email: %s", r.Body)
		}
		// The same email as JSON, with LF line ends (as pasted), still
		// verifies by its signature.
		lf := bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
		jr := in.Do(t, "POST", "/api/v1/mail/verify", "", map[string]string{"raw": string(lf)})
		if jr.Status != 200 || !bytes.Contains(jr.Body, []byte(`"verdict":"genuine"`)) {
			t.Errorf("JSON with LF line ends: %d %s", jr.Status, jr.Body)
		}
		// After a phrase change the old email is still genuine, but its
		// phrase is not the current one.
		if r := in.Do(t, "PUT", "/api/v1/account/anti-phishing-phrase", alice, map[string]string{"phrase": "green kettle at noon"}); r.Status != 200 && r.Status != 204 {
			t.Fatalf("change phrase: %d %s", r.Status, r.Body)
		}
		v, r = verify(t, in.Instance, alice, raw)
		wantVerdict(t, "recipient after a phrase change", v, r, "genuine", "phrase_not_current")

		// One link changed: altered.
		link := []byte(in.URL)
		if !bytes.Contains(raw, link) {
			t.Fatalf("the email has no link to %s", in.URL)
		}
		changed := bytes.Replace(raw, link, []byte("http://sellerguard-login.example"), 1)
		v, r = verify(t, in.Instance, "", changed)
		wantVerdict(t, "one link changed", v, r, "altered", "content_changed")
		if v.SentAt != nil || v.Subject != nil {
			t.Errorf("an anonymous caller learns about an altered email: %s", r.Body)
		}
		v, r = verify(t, in.Instance, alice, changed)
		wantVerdict(t, "one link changed, recipient", v, r, "altered")
		if v.Subject == nil || *v.Subject != "Your anti-phishing phrase was changed" {
			t.Errorf("the recipient is not told which email was altered: %s", r.Body)
		}

		// A Reply-To added to the signed email (the signature does not
		// cover it): altered.
		replyTo := bytes.Replace(raw, []byte("DKIM-Signature:"), []byte("Reply-To: support@sellerguard-help.example\r\nDKIM-Signature:"), 1)
		v, r = verify(t, in.Instance, "", replyTo)
		wantVerdict(t, "Reply-To added", v, r, "altered", "header_added")

		// A forgery: SellerGuard's From, no signature, no ledger entry.
		forged := forgedEmail("SellerGuard <no-reply@mail.sellerguard.test>", in.URL)
		v, r = verify(t, in.Instance, "", forged)
		wantVerdict(t, "forged", v, r, "not_from_us", "claims_sellerguard", "from_brand_domain", "no_signature", "no_ledger_entry")
		// A forgery signed by someone else's key for our domain.
		otherKey, _, err := dkim.GenerateKey("ed25519")
		if err != nil {
			t.Fatal(err)
		}
		k, err := dkim.ParsePrivateKey(otherKey)
		if err != nil {
			t.Fatal(err)
		}
		other, err := dkim.NewSigner(k, "mail.sellerguard.test", "sellerguard")
		if err != nil {
			t.Fatal(err)
		}
		signed, err := other.Sign(forged)
		if err != nil {
			t.Fatal(err)
		}
		v, r = verify(t, in.Instance, "", signed)
		wantVerdict(t, "forged, signed with another key", v, r, "not_from_us", "signature_invalid")

		// Look-alike senders.
		for _, c := range []struct{ from, code string }{
			{"SellerGuard Support <no-reply@se11erguard.test>", "sender_lookalike_confusable"},
			{"Support <no-reply@mail.s\u0435llerguard.test>", "sender_lookalike_confusable"}, // Cyrillic е
			{"Support <no-reply@mail.s\u0435llerguard.test>", "sender_mixed_script"},
			{"SellerGuard Support <help@mailbox.example>", "display_name_brand"},
		} {
			v, r = verify(t, in.Instance, "", forgedEmail(c.from, in.URL))
			wantVerdict(t, c.from, v, r, "not_from_us", c.code, "no_ledger_entry")
		}
		// Someone else's email: we cannot tell.
		v, r = verify(t, in.Instance, "", forgedEmail("Carol <carol@example.org>", in.URL))
		wantVerdict(t, "someone else's email", v, r, "cannot_tell", "does_not_claim_sellerguard")
	})
}

func forgedEmail(from, baseURL string) []byte {
	return []byte("From: " + from + "\r\nTo: alice@example.com\r\nSubject: Verify your account now\r\n" +
		"Date: Fri, 04 Dec 2026 10:00:00 +0000\r\nMessage-ID: <" + fmt.Sprint(time.Now().UnixNano()) + "@mail.sellerguard.test>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Your account will be closed in 24 hours. Verify your account and enter your password at\r\n" +
		"http://sellerguard-login.example/verify\r\n\r\nSellerGuard: " + baseURL + "\r\n")
}

// Bad input to the check: clear 4xx answers with stable codes.
func TestVerifyEmailRefusesBadInput(t *testing.T) {
	in := apptest.Start(t, "sqlite")
	post := func(ct string, body []byte) apptest.Response {
		return in.DoWith(t, "POST", "/api/v1/mail/verify", "", map[string]string{"Content-Type": ct}, body)
	}
	for _, c := range []struct {
		name   string
		r      apptest.Response
		status int
		code   string
	}{
		{"empty", post("message/rfc822", nil), 400, `"field":"raw","code":"required"`},
		{"empty JSON", post("application/json", []byte(`{}`)), 400, `"code":"required"`},
		{"not a message", post("message/rfc822", []byte("just some words")), 400, `"code":"not_a_message"`},
		{"over 1 MiB raw", post("message/rfc822", bytes.Repeat([]byte("a"), 1<<20+1)), 413, `"code":"payload_too_large"`},
		{"over 1 MiB in JSON", post("application/json", []byte(`{"raw":"`+strings.Repeat("a", 1<<20+1)+`"}`)), 413, `"code":"payload_too_large"`},
		{"far over the body cap", post("message/rfc822", bytes.Repeat([]byte("a"), 3<<20)), 413, `"code":"payload_too_large"`},
		{"wrong media type", post("text/plain", []byte("x")), 415, `"code":"unsupported_media_type"`},
		{"a link field", post("application/json", []byte(`{"raw":"x","url":"http://x.example"}`)), 400, `"code":"unknown_field"`},
		{"not JSON", post("application/json", []byte(`{"raw":`)), 400, `"code":"malformed_json"`},
		{"bad token", in.DoWith(t, "POST", "/api/v1/mail/verify", "sgs_nope", map[string]string{"Content-Type": "message/rfc822"}, []byte("From: a@b.example\r\n\r\nhi")), 401, `"code":"unauthenticated"`},
	} {
		checkDocumented(t, "POST", "/api/v1/mail/verify", c.r)
		if c.r.Status != c.status || !strings.Contains(string(c.r.Body), c.code) {
			t.Errorf("%s: %d %s, want %d with %s", c.name, c.r.Status, c.r.Body, c.status, c.code)
		}
	}
	// 60 checks an hour per address, then 429 with Retry-After.
	msg := forgedEmail("Carol <carol@example.org>", in.URL)
	var last apptest.Response
	for range 61 {
		last = post("message/rfc822", msg)
	}
	checkDocumented(t, "POST", "/api/v1/mail/verify", last)
	if last.Status != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Errorf("61st check: %d %s", last.Status, last.Body)
	}
}
