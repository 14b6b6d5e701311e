package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/sms"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

var backupCodeOnPageRE = regexp.MustCompile(`<li><code>([A-Z2-7]{4}(?:-[A-Z2-7]{4}){3})</code></li>`)

func backupCodesIn(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	for _, m := range backupCodeOnPageRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// New backup codes follow post/redirect/get: the POST makes them and
// redirects; the GET shows them, the same on every reload, only to the
// session that made them, until "done" or expiry; the codes are kept
// sealed, never in the clear; a direct visit leads back to the settings.
func TestBackupCodesPageKeepsCodesAcrossReloads(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, _ := newOwner(t, in, "prg@forms.example", "PRG Goods")

		r := pageRequest(t, in, "POST", "/account/two-step/backup-codes", owner.token, url.Values{})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account/two-step/backup-codes" {
			t.Fatalf("making codes: %d to %q, want 303 to the page that shows them", r.StatusCode, r.Header.Get("Location"))
		}
		first := pageGet(t, in, "/account/two-step/backup-codes", owner.token)
		codes := backupCodesIn(t, first.body)
		if first.StatusCode != http.StatusOK || len(codes) != twostep.BackupCodeCount {
			t.Fatalf("the codes page: %d with %d codes\n%s", first.StatusCode, len(codes), first.body)
		}
		if cc := first.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", cc)
		}
		for i := 0; i < 3; i++ {
			if again := backupCodesIn(t, pageGet(t, in, "/account/two-step/backup-codes", owner.token).body); !slices.Equal(again, codes) {
				t.Fatalf("reload %d shows %q, want the same codes %q", i+1, again, codes)
			}
		}
		// The download has the same codes, as an attachment.
		dl := pageGet(t, in, "/account/two-step/backup-codes.txt", owner.token)
		if dl.StatusCode != http.StatusOK || !strings.HasPrefix(dl.Header.Get("Content-Type"), "text/plain") ||
			dl.Header.Get("Content-Disposition") != `attachment; filename="sellerguard-backup-codes.txt"` {
			t.Errorf("download: %d %q %q", dl.StatusCode, dl.Header.Get("Content-Type"), dl.Header.Get("Content-Disposition"))
		}
		for _, c := range codes {
			if !strings.Contains(dl.body, c) {
				t.Errorf("the download lacks %s", c)
			}
		}
		// Kept sealed: the stored value holds no code.
		f, ok := store.FindSealedField("one_time_results.data_sealed")
		if !ok {
			t.Fatal("one_time_results.data_sealed is not a sealed field: key rotation would miss it")
		}
		kept, err := in.DB.SealedBatch(context.Background(), f, "", 10)
		if err != nil || len(kept) != 1 {
			t.Fatalf("kept results: %d, %v", len(kept), err)
		}
		for _, c := range codes {
			if strings.Contains(kept[0].Sealed, c) || strings.Contains(kept[0].Sealed, strings.ReplaceAll(c, "-", "")) {
				t.Fatalf("a backup code is stored in the clear")
			}
		}
		if _, err := in.Session.Keys.Open("one-time-result", kept[0].Sealed, []byte("ses_someone_else:backup_codes")); err == nil {
			t.Errorf("the kept codes open for another session")
		}

		// Another session of the same user sees none of them.
		other := in.SecondStep(t, in.SignIn(t, owner.email, pw), owner.secret)
		if pg := pageGet(t, in, "/account/two-step/backup-codes", other); len(backupCodesIn(t, pg.body)) != 0 || !strings.Contains(pg.body, `href="/account/two-step" id="back-to-two-step"`) {
			t.Errorf("another session's visit: %d\n%s", pg.StatusCode, pg.body)
		}
		if pg := pageGet(t, in, "/account/two-step/backup-codes.txt", other); pg.StatusCode != http.StatusNotFound {
			t.Errorf("another session's download: %d", pg.StatusCode)
		}

		// The codes printed before the reloads work.
		partial := in.SignIn(t, owner.email, pw)
		if r := in.Do(t, "POST", "/api/v1/session/second-step", partial, map[string]string{"method": "backup_codes", "code": codes[0]}); r.Status != http.StatusOK {
			t.Fatalf("a printed code after the reloads: %d %s", r.Status, r.Body)
		}

		// Done: the page forgets them and leads back.
		if r := pageRequest(t, in, "POST", "/account/two-step/backup-codes/done", owner.token, url.Values{}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account/two-step" {
			t.Errorf("done: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		gone := pageGet(t, in, "/account/two-step/backup-codes", owner.token)
		if gone.StatusCode != http.StatusOK || len(backupCodesIn(t, gone.body)) != 0 || !strings.Contains(gone.body, "No new backup codes to show") || !strings.Contains(gone.body, `href="/account/two-step"`) {
			t.Errorf("after done: %d\n%s", gone.StatusCode, gone.body)
		}
		if n, err := in.DB.SealedBatch(context.Background(), f, "", 10); err != nil || len(n) != 0 {
			t.Errorf("after done %d results are kept (%v)", len(n), err)
		}

		// Codes nobody says they saved stop showing after the TTL.
		pageRequest(t, in, "POST", "/account/two-step/backup-codes", owner.token, url.Values{})
		if n := len(backupCodesIn(t, pageGet(t, in, "/account/two-step/backup-codes", owner.token).body)); n != twostep.BackupCodeCount {
			t.Fatalf("new codes shown: %d", n)
		}
		in.Clock.Advance(16 * time.Minute)
		if n := len(backupCodesIn(t, pageGet(t, in, "/account/two-step/backup-codes", other).body)); n != 0 {
			t.Errorf("codes shown after they expired: %d", n)
		}
	})
}

// Adding an authenticator app on the pages follows post/redirect/get: a
// reload shows the same key and starts no second app; confirming ends it.
func TestAuthenticatorKeyPageKeepsKeyAcrossReloads(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, _ := newOwner(t, in, "key@forms.example", "Key Goods")
		if r := pageRequest(t, in, "POST", "/account/two-step/totp", owner.token, url.Values{"label": {"Tablet"}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account/two-step/totp" {
			t.Fatalf("start: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		keyRE := regexp.MustCompile(`id="totp-key">([A-Z2-7 ]+)<`)
		var key string
		for i := 0; i < 3; i++ {
			pg := pageGet(t, in, "/account/two-step/totp", owner.token)
			m := keyRE.FindStringSubmatch(pg.body)
			if pg.StatusCode != http.StatusOK || m == nil || !strings.Contains(pg.body, `id="totp-qr"`) {
				t.Fatalf("visit %d: %d without a key\n%s", i+1, pg.StatusCode, pg.body)
			}
			if key != "" && m[1] != key {
				t.Fatalf("reload %d shows another key", i)
			}
			key = m[1]
		}
		idRE := regexp.MustCompile(`action="/account/two-step/totp/(tsm_[a-z2-7]+)/confirm"`)
		id := idRE.FindStringSubmatch(pageGet(t, in, "/account/two-step/totp", owner.token).body)[1]
		var code string
		in.Clock.Freeze()
		code, err := twostep.TOTPCode(strings.ReplaceAll(key, " ", ""), twostep.Step(in.Clock.Now()))
		if err != nil {
			t.Fatal(err)
		}
		r := pageRequest(t, in, "POST", "/account/two-step/totp/"+id+"/confirm", owner.token, url.Values{"code": {code}})
		in.Clock.Thaw()
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account/two-step?added=totp" {
			t.Fatalf("confirm: %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
		}
		apps := 0
		for _, m := range in.Do(t, "GET", "/api/v1/two-step", owner.token, nil).JSON(t)["methods"].([]any) {
			if m.(map[string]any)["kind"] == twostep.KindTOTP {
				apps++
			}
		}
		if apps != 2 {
			t.Errorf("%d authenticator apps, want 2 (the reloads started none)", apps)
		}
		if pg := pageGet(t, in, "/account/two-step/totp", owner.token); keyRE.MatchString(pg.body) || !strings.Contains(pg.body, "No authenticator app waiting to be added") {
			t.Errorf("after confirming the page still shows a key\n%s", pg.body)
		}
	})
}

// Adding a phone on the pages follows post/redirect/get: a reload asks for
// the same code and texts nothing again.
func TestPhoneEnrolmentPageTextsOnce(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		gw := &sms.FakeGateway{}
		in := apptest.Start(t, dialect, apptest.SMSGateway(gw))
		owner, _ := newOwner(t, in, "phone@forms.example", "Phone Goods")
		if r := pageRequest(t, in, "POST", "/account/two-step/sms", owner.token, url.Values{"phone": {phone}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account/two-step/sms" {
			t.Fatalf("start: %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
		}
		idRE := regexp.MustCompile(`action="/account/two-step/sms/(tsm_[a-z2-7]+)/confirm"`)
		var id string
		for i := 0; i < 3; i++ {
			pg := pageGet(t, in, "/account/two-step/sms", owner.token)
			m := idRE.FindStringSubmatch(pg.body)
			if m == nil || !strings.Contains(pg.body, "3456") {
				t.Fatalf("visit %d: %d\n%s", i+1, pg.StatusCode, pg.body)
			}
			if id != "" && m[1] != id {
				t.Fatalf("reload %d shows another enrolment", i)
			}
			id = m[1]
		}
		code := waitSMS(t, gw, 1)
		in.DrainOutbox(t)
		if n := len(gw.Sent()); n != 1 {
			t.Errorf("%d texts, want 1 (reloads text nothing)", n)
		}
		if r := pageRequest(t, in, "POST", "/account/two-step/sms/"+id+"/confirm", owner.token, url.Values{"code": {code}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account/two-step?added=sms" {
			t.Fatalf("confirm: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		if pg := pageGet(t, in, "/account/two-step/sms", owner.token); idRE.MatchString(pg.body) || !strings.Contains(pg.body, `id="back-to-two-step"`) {
			t.Errorf("after confirming the page still asks for a code\n%s", pg.body)
		}
	})
}

// A GET of a button's address answers a page that leads back, with the
// header of who is really signed in; every error page shows that header.
func TestButtonAddressesAndErrorPagesShowTheRealHeader(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, _ := newOwner(t, in, "header@forms.example", "Header Goods")
		partial := in.SignIn(t, owner.email, pw)
		const signedIn, signedOut = `id="signout"`, `href="/signup"`
		for _, c := range []struct {
			path, token, back string
			header            string
		}{
			{"/account/two-step/tsm_x/remove", owner.token, `href="/account/two-step" id="post-only-back"`, signedIn},
			{"/account/trusted-browsers/tb_x/forget", owner.token, `href="/account/two-step" id="post-only-back"`, signedIn},
			{"/account/two-step/backup-codes/done", owner.token, `href="/account/two-step" id="post-only-back"`, signedIn},
			{"/signout", owner.token, `href="/" id="post-only-back"`, signedIn},
			{"/account/two-step/tsm_x/remove", "", `href="/account/two-step" id="post-only-back"`, signedOut},
			{"/account/two-step/tsm_x/remove", partial, `href="/account/two-step" id="post-only-back"`, signedOut},
			{"/agent/signout", "", `href="/agent" id="post-only-back"`, ""},
		} {
			r := pageGet(t, in, c.path, c.token)
			if r.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(r.Header.Get("Allow"), "POST") || !strings.Contains(r.body, "This address opens from a button") || !strings.Contains(r.body, c.back) {
				t.Errorf("GET %s: %d Allow %q\n%s", c.path, r.StatusCode, r.Header.Get("Allow"), r.body)
			}
			if c.header != "" && !strings.Contains(r.body, c.header) {
				t.Errorf("GET %s (signed in: %v): the page lacks %s", c.path, c.header == signedIn, c.header)
			}
		}
		// In the reader's language.
		if r := in.DoWith(t, "GET", "/account/two-step/tsm_x/remove", "", map[string]string{"Accept": "text/html", "Accept-Language": "zh-CN", "Cookie": pageSessionCookie + "=" + owner.token}, nil); !strings.Contains(string(r.Body), "此地址需通过按钮打开") {
			t.Errorf("the Chinese page: %d\n%s", r.Status, r.Body)
		}
		// API clients and clients that do not read HTML still get a problem.
		if r := in.Do(t, "GET", "/api/v1/two-step/backup-codes", owner.token, nil); r.Status != http.StatusMethodNotAllowed || r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("API GET of a POST-only operation: %d %q", r.Status, r.Header.Get("Content-Type"))
		}
		// Error pages: the header of who is signed in.
		for _, c := range []struct {
			token, want string
		}{{owner.token, signedIn}, {"", signedOut}, {partial, signedOut}} {
			r := pageGet(t, in, "/no/such/page", c.token)
			if r.StatusCode != http.StatusNotFound || !strings.Contains(r.body, c.want) {
				t.Errorf("not found page (token %v): %d, lacks %s", c.token != "", r.StatusCode, c.want)
			}
		}
	})
}

// The code form offers a new code when the old one is used up by wrong
// tries, without the sign-up form again; the answer is the same for an
// address with no sign-up; a 429 says how long to wait.
func TestSignupCodeUsedUpOffersANewCode(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		const email = "newcode@forms.example"
		if r := pageRequest(t, in, "POST", "/signup", "", url.Values{"email": {email}, "password": {pw}, "business_name": {"New Code Goods"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-up: %d", r.StatusCode)
		}
		old := in.LastCode(t, email)
		wrong := "000000"
		if old == wrong {
			wrong = "111111"
		}
		for i := 0; i < 5; i++ {
			if r := pageRequest(t, in, "POST", "/signup/verify", "", url.Values{"email": {email}, "code": {wrong}}); r.StatusCode != http.StatusBadRequest {
				t.Fatalf("wrong code %d: %d", i+1, r.StatusCode)
			}
		}
		used := pageRequest(t, in, "POST", "/signup/verify", "", url.Values{"email": {email}, "code": {old}})
		if used.StatusCode != http.StatusBadRequest || !strings.Contains(used.body, `id="resend-code"`) || !strings.Contains(used.body, `formaction="/signup/verify/resend"`) ||
			!strings.Contains(used.body, "ask for a new code") || !strings.Contains(used.body, `value="`+email+`"`) {
			t.Fatalf("the used-up code: %d\n%s", used.StatusCode, used.body)
		}
		sent := len(in.Outbox(t))
		r := pageRequest(t, in, "POST", "/signup/verify/resend", "", url.Values{"email": {email}, "code": {""}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/signup/verify?resent=1" {
			t.Fatalf("resend: %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
		}
		if len(in.Outbox(t)) != sent+1 {
			t.Fatalf("resend sent %d messages, want 1", len(in.Outbox(t))-sent)
		}
		fresh := in.LastCode(t, email)
		if pg := pageGet(t, in, "/signup/verify?resent=1", ""); !strings.Contains(pg.body, "we have emailed it a new code") {
			t.Errorf("the code form after resend lacks the notice\n%s", pg.body)
		}
		if fresh != old {
			if r := pageRequest(t, in, "POST", "/signup/verify", "", url.Values{"email": {email}, "code": {old}}); r.StatusCode != http.StatusBadRequest {
				t.Errorf("the old code after resend: %d", r.StatusCode)
			}
		}
		if r := pageRequest(t, in, "POST", "/signup/verify", "", url.Values{"email": {email}, "code": {fresh}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/signin?verified=1" {
			t.Fatalf("the new code: %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
		}

		// An address with no sign-up: the same answer, nothing sent.
		sent = len(in.Outbox(t))
		if r := pageRequest(t, in, "POST", "/signup/verify/resend", "", url.Values{"email": {"nobody@forms.example"}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/signup/verify?resent=1" {
			t.Errorf("resend for nobody: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		if len(in.Outbox(t)) != sent {
			t.Errorf("resend for an address with no sign-up sent a message")
		}
		// Three new codes an hour per address; the fourth says how long to wait.
		for i := 0; i < 2; i++ {
			pageRequest(t, in, "POST", "/signup/verify/resend", "", url.Values{"email": {"nobody@forms.example"}})
		}
		r = pageRequest(t, in, "POST", "/signup/verify/resend", "", url.Values{"email": {"nobody@forms.example"}})
		if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
			t.Fatalf("the fourth new code: %d Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
		}
		if !strings.Contains(r.body, `id="retry-after"`) || !strings.Contains(r.body, "You can try again in 60 minutes.") {
			t.Errorf("the 429 page does not say how long to wait\n%s", r.body)
		}
	})
}

// An empty password asks for one, on the pages and the API.
func TestEmptyPasswordSaysEnterAPassword(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		r := pageRequest(t, in, "POST", "/signup", "", url.Values{"email": {"empty@forms.example"}, "password": {""}, "business_name": {"Empty Goods"}})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "Enter a password.") || strings.Contains(r.body, "Use at least") {
			t.Errorf("sign-up page with no password: %d\n%s", r.StatusCode, r.body)
		}
		a := in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": "empty@forms.example", "password": "", "business_name": "Empty Goods"})
		if a.Status != http.StatusBadRequest || !strings.Contains(string(a.Body), `"message":"Enter a password."`) {
			t.Errorf("sign-up API with no password: %d %s", a.Status, a.Body)
		}
		owner, _ := newOwner(t, in, "change@forms.example", "Change Goods")
		r = pageRequest(t, in, "POST", "/account/password", owner.token, url.Values{"current_password": {pw}, "new_password": {""}})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "Enter a password.") {
			t.Errorf("password page with no new password: %d\n%s", r.StatusCode, r.body)
		}
		zh := in.DoWith(t, "POST", "/api/v1/signup", "", map[string]string{"Accept-Language": "zh-CN"}, map[string]string{"email": "empty@forms.example", "password": "", "business_name": "Empty Goods"})
		if !strings.Contains(string(zh.Body), "请输入密码。") {
			t.Errorf("in Chinese: %s", zh.Body)
		}
	})
}

// Refused payment forms come back open, each error tied to its field; a
// card number that fails its check digit says so.
func TestRefusedPaymentFormsOpenWithTheirErrors(t *testing.T) {
	t.Parallel()
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		in := apptest.Start(t, dialect)
		owner, biz := newOwner(t, in, "pay@forms.example", "Pay Goods")
		closed := pageGet(t, in, "/account/business?business_id="+biz, owner.token)
		if strings.Contains(closed.body, "<details open>") {
			t.Errorf("a form is open before anything was sent")
		}
		r := pageRequest(t, in, "POST", "/account/business", owner.token, url.Values{"business_id": {biz}, "action": {"deposit"}, "holder": {"Pay Goods Ltd"}, "bank": {"First Bank"}, "account_number": {"12!"}})
		if r.StatusCode != http.StatusBadRequest || !regexp.MustCompile(`<details open><summary>[^<]*</summary>\s*<form method="post" action="/account/business" id="deposit-form"`).MatchString(r.body) ||
			!strings.Contains(r.body, `id="deposit-number" name="account_number" maxlength="64" autocomplete="off" aria-invalid="true" aria-describedby="deposit-number-error"`) ||
			!strings.Contains(r.body, `<p class="field-error" id="deposit-number-error">`) {
			t.Errorf("refused deposit account: %d\n%s", r.StatusCode, r.body)
		}
		if strings.Contains(r.body, `<details open><summary>`+"Change the card") {
			t.Errorf("the card form opened for the deposit form's error")
		}
		r = pageRequest(t, in, "POST", "/account/business", owner.token, url.Values{"business_id": {biz}, "action": {"charge"}, "holder": {"Ada"}, "card_number": {"4242 4242 4242 4241"}, "exp_month": {"7"}, "exp_year": {"2031"}})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "This card number is not valid: a digit may be mistyped.") || strings.Contains(r.body, "12 to 19") ||
			!regexp.MustCompile(`<details open><summary>[^<]*</summary>\s*<form method="post" action="/account/business" id="charge-form"`).MatchString(r.body) {
			t.Errorf("refused card: %d\n%s", r.StatusCode, r.body)
		}
		a := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/payments/charge-method", owner.token, map[string]any{"holder": "Ada", "card_number": "4242 4242 4242 4241", "exp_month": 7, "exp_year": 2031})
		if a.Status != http.StatusBadRequest || !strings.Contains(string(a.Body), `"code":"check_digit"`) {
			t.Errorf("API card with a bad check digit: %d %s", a.Status, a.Body)
		}
		if a := in.Do(t, "PUT", "/api/v1/businesses/"+biz+"/payments/charge-method", owner.token, map[string]any{"holder": "Ada", "card_number": "4242 42", "exp_month": 7, "exp_year": 2031}); !strings.Contains(string(a.Body), "12 to 19 digits") {
			t.Errorf("API card too short: %d %s", a.Status, a.Body)
		}
	})
}
