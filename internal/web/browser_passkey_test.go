package web_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// startOnLocalhost runs SellerGuard with the base URL http://localhost:PORT:
// a passkey's relying party id must be a domain name (never an IP address),
// and http://localhost is a secure context, so WebAuthn works there over
// plain HTTP. It returns the instance and the base URL the browser uses.
func startOnLocalhost(t *testing.T, opts ...apptest.Option) (*apptest.Instance, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	base := fmt.Sprintf("http://localhost:%d", port)
	opts = append([]apptest.Option{
		apptest.Env("SELLERGUARD_ADDR", fmt.Sprintf("127.0.0.1:%d", port)),
		apptest.Env("SELLERGUARD_BASE_URL", base),
	}, opts...)
	return apptest.Start(t, "sqlite", opts...), base
}

// addVirtualAuthenticator gives the tab a platform authenticator (CTAP2,
// internal transport) with resident keys and user verification that always
// succeeds, as a laptop's fingerprint reader would.
func (tb *browserTab) addVirtualAuthenticator() webauthn.AuthenticatorID {
	tb.t.Helper()
	if _, err := chromedp.Call(tb.ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		tb.t.Fatalf("Emulation.setFocusEmulationEnabled: %v", err)
	}
	if _, err := chromedp.Call(tb.ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		tb.t.Fatalf("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(tb.ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
		HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
	}})
	if err != nil {
		tb.t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return res.AuthenticatorID
}

func (tb *browserTab) authenticatorCredentials(id webauthn.AuthenticatorID) []*webauthn.Credential {
	tb.t.Helper()
	res, err := chromedp.Call(tb.ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		tb.t.Fatalf("WebAuthn.getCredentials: %v", err)
	}
	return res.Credentials
}

// waitForLocation waits until the tab shows the URL (a passkey button
// navigates only after its ceremony's requests), showing the page's error
// line when it does not come.
func (tb *browserTab) waitForLocation(want string) {
	tb.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		// The new page's address shows before its document has loaded:
		// wait for both, so that what is read next is the new page.
		if st, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]string](`[location.href, document.readyState]`)); err == nil && len(st) == 2 {
			last = st[0]
			if st[0] == want && st[1] == "complete" {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	msg, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`(document.getElementById('passkey-error') || {}).textContent || ''`))
	tb.t.Fatalf("location = %s, want %s (the page says %q)", last, want, msg)
}

// clickCSS clicks the element the CSS selector finds and waits for the
// page it leads to.
func (tb *browserTab) clickCSS(css string) *network.Response {
	tb.t.Helper()
	tb.settle()
	resp, err := chromedp.RunResponse(tb.ctx, chromedp.Click(chromedp.CSS(css)))
	if err != nil {
		tb.t.Fatalf("click %s: %v", css, err)
	}
	return resp
}

// browserAssertion asks the tab's authenticator to answer the request
// options, through the page's own passkey.js, and returns the answer JSON.
func (tb *browserTab) browserAssertion(publicKey json.RawMessage) json.RawMessage {
	tb.t.Helper()
	b, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]byte](`sellerguardPasskey.get(`+string(publicKey)+`)`, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("navigator.credentials.get: %v", err)
	}
	return b
}

func TestBrowserPasskeyEnrolAndSignIn(t *testing.T) {
	in, base := startOnLocalhost(t,
		// Room for the forged answers below before guess delays start.
		apptest.Env("SELLERGUARD_LIMIT_FREE_FAILURES", "10"), apptest.Env("SELLERGUARD_LIMIT_NOTIFY_FAILURES", "20"))
	const (
		email    = "grace.passkey@example.com"
		password = "correct horse battery staple"
	)
	_, businessID := in.SignUp(t, email, password, "Grace's Compilers")
	tb := newBrowserTab(t)

	// 1. Sign in with the password in the browser (no second step yet).
	tb.navigate(base + "/signin")
	authenticator := tb.addVirtualAuthenticator()
	tb.typeInto("email", email)
	tb.typeInto("password", password)
	tb.click("signin-submit")
	tb.waitForLocation(base + "/account")

	// 2. Add a passkey on the passkeys page.
	tb.navigate(base + "/account/two-step/passkeys")
	if h := tb.text("main h1"); h != "Passkeys" {
		t.Fatalf("passkeys page heading %q", h)
	}
	if got := tb.text("#no-passkeys"); !strings.Contains(got, "no passkey yet") {
		t.Errorf("empty passkeys page says %q", got)
	}
	wantTabStyled(t, tb)
	tb.screenshot("passkey-1-empty")
	tb.typeInto("passkey-label", "Grace's laptop")
	tb.do("click Add a passkey", chromedp.Click(chromedp.ID("passkey-add")))
	tb.waitForLocation(base + "/account/two-step/passkeys?done=added")
	if n := tb.text("#passkey-notice"); !strings.Contains(n, "passkey was added") {
		t.Errorf("notice after adding = %q", n)
	}
	rows := tabEval[[][]string](tb, `[...document.querySelectorAll('#passkeys tbody tr')].map(tr => [...tr.cells].map(td => td.innerText.trim()))`)
	if len(rows) != 1 || rows[0][0] != "Grace's laptop" {
		t.Fatalf("passkeys table = %q, want one row for Grace's laptop", rows)
	}
	tb.screenshot("passkey-2-added")
	creds := tb.authenticatorCredentials(authenticator)
	if len(creds) != 1 || creds[0].RpID != "localhost" {
		t.Fatalf("authenticator holds %d credentials (%+v), want one for localhost", len(creds), creds)
	}
	if !creds[0].IsResidentCredential {
		t.Errorf("the passkey is not discoverable (residentKey preferred)")
	}

	// Two-step verification is on now: the password alone gives a partial
	// session whose second step can be a passkey; and the user was told.
	r := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": email, "password": password})
	m := r.JSON(t)
	if r.Status != http.StatusCreated || m["second_step_required"] != true || !slices.Contains(anyStrings(m["methods"]), "passkey") {
		t.Fatalf("sign-in after enrolment: %d %s", r.Status, r.Body)
	}
	waitForOutbox(t, in, email, "A two-step verification method was added")

	// 3. Sign out, sign in with the password: the second step is owed.
	tb.click("signout")
	tb.waitForLocation(base + "/signin?signedout=1")
	tb.typeInto("email", email)
	tb.typeInto("password", password)
	tb.click("signin-submit")
	tb.waitForLocation(base + "/signin/second-step")
	partial := tb.cookies(base)[pageSessionCookie]
	if partial == nil {
		t.Fatal("no session cookie after the password")
	}
	if p, err := in.Session.Authenticate(t.Context(), partial.Value); err != nil || p.Session.AuthLevel != sellerguard.AuthPartial {
		t.Fatalf("after the password the session is %+v (%v), want partial", p, err)
	}

	// 4. "Use a passkey" finishes signing in. The second-step page offers
	// the strongest method first: the passkey, before any code form.
	if !tabEval[bool](tb, `(() => { const p = document.querySelector('#passkey-first a#use-passkey'); const f = document.querySelector('main form[action="/signin/second-step"]');
		return !!p && (!f || !!(p.compareDocumentPosition(f) & Node.DOCUMENT_POSITION_FOLLOWING)) })()`) {
		t.Fatalf("the second-step page does not offer the passkey first:\n%s", tb.text("main"))
	}
	tb.click("use-passkey")
	tb.waitForLocation(base + "/signin/second-step/passkey")
	if h := tb.text("main h1"); h != "Use a passkey" {
		t.Fatalf("second-step page heading %q", h)
	}
	wantTabStyled(t, tb)
	tb.screenshot("passkey-3-second-step")
	tb.do("click Use a passkey", chromedp.Click(chromedp.ID("passkey-signin")))
	tb.waitForLocation(base + "/account")
	if got := tb.text("#account-email"); got != email {
		t.Errorf("#account-email = %q, want %q", got, email)
	}
	tb.screenshot("passkey-4-account")
	full := tb.cookies(base)[pageSessionCookie]
	if full == nil || full.Value == partial.Value {
		t.Fatalf("the session cookie was not replaced: %+v", full)
	}
	if p, err := in.Session.Authenticate(t.Context(), full.Value); err != nil || p.Session.AuthLevel != sellerguard.AuthFull {
		t.Fatalf("after the passkey the session is %+v (%v), want full", p, err)
	}
	if _, err := in.Session.Authenticate(t.Context(), partial.Value); err == nil {
		t.Error("the partial session lives on after the second step")
	}
	if r := pageGet(t, in, "/account/two-step/passkeys", full.Value); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Grace&#39;s laptop") {
		t.Errorf("passkeys page with the full session: %d", r.StatusCode)
	}

	// 5. Through the API, with answers from the same authenticator (asked
	// through passkey.js on the passkeys page): a real answer works once;
	// replayed or forged, it is refused.
	tb.navigate(base + "/account/two-step/passkeys")
	begin := func(token string) (string, json.RawMessage) {
		t.Helper()
		r := in.Do(t, "POST", "/api/v1/session/second-step/passkey/begin", token, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("begin: %d %s", r.Status, r.Body)
		}
		var out struct {
			ChallengeID string          `json:"challenge_id"`
			PublicKey   json.RawMessage `json:"public_key"`
		}
		if err := json.Unmarshal(r.Body, &out); err != nil {
			t.Fatal(err)
		}
		return out.ChallengeID, out.PublicKey
	}
	finish := func(token, challengeID string, credential json.RawMessage) apptest.Response {
		t.Helper()
		return in.Do(t, "POST", "/api/v1/session/second-step/passkey/finish", token, map[string]any{"challenge_id": challengeID, "credential": credential})
	}
	wantRefused := func(what string, r apptest.Response) {
		t.Helper()
		if r.Status != http.StatusBadRequest || r.JSON(t)["code"] != sellerguard.ECodeInvalidCode {
			t.Errorf("%s: %d %s, want 400 invalid_code", what, r.Status, r.Body)
		}
	}
	p1 := in.SignIn(t, email, password)
	ch1, opts1 := begin(p1)
	answer := tb.browserAssertion(opts1)
	if r := finish(p1, ch1, answer); r.Status != http.StatusOK || r.JSON(t)["method"] != "passkey" {
		t.Fatalf("a real answer through the API: %d %s", r.Status, r.Body)
	}
	p2 := in.SignIn(t, email, password)
	wantRefused("the answer replayed with its challenge id", finish(p2, ch1, answer))
	ch2, _ := begin(p2)
	wantRefused("the answer replayed against a new challenge", finish(p2, ch2, answer))
	ch3, opts3 := begin(p2)
	wantRefused("a forged signature", finish(p2, ch3, forgeSignature(t, tb.browserAssertion(opts3))))
	// The generic second-step route with the answer as the code: the
	// replayed answer is refused there too.
	code, _ := json.Marshal(map[string]any{"challenge_id": ch3, "credential": answer})
	t.Logf("a Chromium passkey answer as a second-step code is %d bytes", len(code))
	if r := in.Do(t, "POST", "/api/v1/session/second-step", p2, map[string]string{"method": "passkey", "code": string(code)}); r.Status != http.StatusBadRequest {
		t.Errorf("replayed answer as a code: %d %s", r.Status, r.Body)
	}
	// After all that, a real answer still finishes the same sign-in.
	ch4, opts4 := begin(p2)
	r = finish(p2, ch4, tb.browserAssertion(opts4))
	if r.Status != http.StatusOK {
		t.Fatalf("a real answer after the refused ones: %d %s", r.Status, r.Body)
	}
	fullToken := r.JSON(t)["token"].(string)

	// 6. Remove the passkey from its page (the browser's sign-in is
	// recent). While the business requires two-step verification, the last
	// method stays; once the owner lifts the requirement, it can go.
	tb.navigate(base + "/account/two-step/passkeys")
	if resp := tb.clickCSS("#passkeys tbody tr button"); resp.Status != http.StatusConflict {
		t.Errorf("removing the only method of a business that requires it: %d, want 409", resp.Status)
	}
	if msg := tb.text("#passkey-message"); !strings.Contains(msg, "requires two-step verification") {
		t.Errorf("refused removal says %q", msg)
	}
	if r := in.Do(t, "PUT", "/api/v1/businesses/"+businessID+"/two-step", fullToken, map[string]any{"required": false}); r.Status != http.StatusOK {
		t.Fatalf("lift the business requirement: %d %s", r.Status, r.Body)
	}
	tb.navigate(base + "/account/two-step/passkeys")
	tb.clickCSS("#passkeys tbody tr button")
	tb.waitForLocation(base + "/account/two-step/passkeys?done=removed")
	if got := tb.text("#no-passkeys"); !strings.Contains(got, "no passkey yet") {
		t.Errorf("after removing, the page says %q", got)
	}
	waitForOutbox(t, in, email, "A two-step verification method was removed")
	tb.noConsoleErrors(
		base+"/signin/second-step: Failed to load resource: the server responded with a status of 404",
		"/remove: Failed to load resource: the server responded with a status of 409",
	)
}

// forgeSignature changes one bit of the answer's signature.
func forgeSignature(t *testing.T, answer json.RawMessage) json.RawMessage {
	t.Helper()
	var a map[string]any
	if err := json.Unmarshal(answer, &a); err != nil {
		t.Fatal(err)
	}
	resp := a["response"].(map[string]any)
	sig := []byte(resp["signature"].(string))
	i := len(sig) / 2
	if sig[i] == 'A' {
		sig[i] = 'B'
	} else {
		sig[i] = 'A'
	}
	resp["signature"] = string(sig)
	out, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func anyStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func waitForOutbox(t *testing.T, in *apptest.Instance, to, subject string) {
	t.Helper()
	for range 100 {
		for _, m := range in.Outbox(t) {
			if strings.EqualFold(m.To, to) && strings.Contains(m.Subject, subject) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("no message %q to %s in the outbox", subject, to)
}

// checkStrictPage applies the rules of TestPagesHaveNoInlineScriptAndStrictHeaders
// to a passkey page: scripts only from files, no event handler attributes,
// no inline styles.
func checkStrictPage(t *testing.T, body string) {
	t.Helper()
	for _, m := range htmlScriptTagRE.FindAllStringSubmatch(body, -1) {
		if !htmlSrcAttrRE.MatchString(m[1]) {
			t.Errorf("inline script: %s", m[0])
		}
	}
	for _, tag := range htmlTagRE.FindAllString(body, -1) {
		if htmlEventAttrRE.MatchString(tag) || htmlJsURLRE.MatchString(tag) || htmlStyleAttrRE.MatchString(tag) {
			t.Errorf("inline script or style: %s", tag)
		}
	}
	if !strings.Contains(body, `<script src="/static/passkey.js" defer></script>`) {
		t.Errorf("the page does not load /static/passkey.js")
	}
}

func TestPasskeyPagesAndAPIGuards(t *testing.T) {
	in, base := startOnLocalhost(t)
	in.URL = base // the address a browser uses: passkeys are offered only there
	const pw = "a long enough passphrase"
	in.SignUp(t, "guard@example.com", pw, "Guard Co")
	full := in.SignIn(t, "guard@example.com", pw)

	// Pages: who sees what.
	for _, c := range []struct {
		path, token, location string
		status                int
	}{
		{"/signin/second-step/passkey", "", "/signin", http.StatusSeeOther},
		{"/signin/second-step/passkey", full, "/account", http.StatusSeeOther},
		{"/account/two-step/passkeys", "", "/signin", http.StatusSeeOther},
		{"/account/two-step/passkeys", full, "", http.StatusOK},
	} {
		r := pageGet(t, in, c.path, c.token)
		if r.StatusCode != c.status || r.Header.Get("Location") != c.location {
			t.Errorf("GET %s (token %v): %d to %q, want %d to %q", c.path, c.token != "", r.StatusCode, r.Header.Get("Location"), c.status, c.location)
		}
		if r.StatusCode == http.StatusOK {
			checkStrictPage(t, r.body)
			if !strings.Contains(r.body, `data-passkey="register"`) {
				t.Errorf("%s has no add button", c.path)
			}
		}
	}
	js := pageGet(t, in, "/static/passkey.js", "")
	if js.StatusCode != http.StatusOK || !strings.Contains(js.Header.Get("Content-Type"), "javascript") || strings.Contains(js.body, "eval(") {
		t.Errorf("/static/passkey.js: %d %q", js.StatusCode, js.Header.Get("Content-Type"))
	}

	// The API: adding needs a full session; signing in needs a partial one
	// of a user who has a passkey.
	wantProblem := func(what string, r apptest.Response, status int, code string) {
		t.Helper()
		if r.Status != status || r.JSON(t)["code"] != code {
			t.Errorf("%s: %d %s, want %d %s", what, r.Status, r.Body, status, code)
		}
	}
	wantProblem("begin registration unauthenticated", in.Do(t, "POST", "/api/v1/two-step/passkeys/begin", "", nil), 401, sellerguard.ECodeUnauthenticated)
	wantProblem("begin sign-in with a full session", in.Do(t, "POST", "/api/v1/session/second-step/passkey/begin", full, nil), 409, sellerguard.ECodeConflict)
	wantProblem("finish registration with an unknown field", in.Do(t, "POST", "/api/v1/two-step/passkeys/finish", full, map[string]any{"challenge_id": "x", "credential": map[string]any{}, "extra": 1}), 400, sellerguard.ECodeMalformedJSON)
	wantProblem("finish registration without an answer", in.Do(t, "POST", "/api/v1/two-step/passkeys/finish", full, map[string]any{"challenge_id": "x"}), 400, sellerguard.ECodeInvalidInput)
	wantProblem("finish registration of an unknown challenge", in.Do(t, "POST", "/api/v1/two-step/passkeys/finish", full, map[string]any{"challenge_id": "x", "credential": map[string]any{"id": "AA"}}), 404, sellerguard.ECodeNotFound)
	r := in.Do(t, "POST", "/api/v1/two-step/passkeys/begin", full, nil)
	var begin struct {
		ChallengeID string `json:"challenge_id"`
		PublicKey   struct {
			RP        struct{ ID string } `json:"rp"`
			Challenge string              `json:"challenge"`
		} `json:"public_key"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &begin) != nil || begin.ChallengeID == "" || begin.PublicKey.RP.ID != "localhost" || begin.PublicKey.Challenge == "" {
		t.Fatalf("begin registration: %d %s", r.Status, r.Body)
	}

	secret := in.EnrollTOTP(t, full)
	partial := in.SignIn(t, "guard@example.com", pw)
	wantProblem("begin registration with a partial session", in.Do(t, "POST", "/api/v1/two-step/passkeys/begin", partial, nil), 403, sellerguard.ECodeSecondStepRequired)
	wantProblem("begin sign-in without a passkey", in.Do(t, "POST", "/api/v1/session/second-step/passkey/begin", partial, nil), 404, sellerguard.ECodeNotFound)
	if pg := pageGet(t, in, "/signin/second-step/passkey", partial); pg.StatusCode != http.StatusOK || strings.Contains(pg.body, `data-passkey="signin"`) || !strings.Contains(pg.body, `id="no-passkey"`) {
		t.Errorf("passkey second-step page for a user without a passkey: %d", pg.StatusCode)
	}
	if r := pageGet(t, in, "/account/two-step/passkeys", partial); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/signin/second-step" {
		t.Errorf("passkeys page with a partial session: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	in.SecondStep(t, partial, secret)

	// On an IP address there are no passkeys, and the answer says why.
	ip := apptest.Start(t, "sqlite")
	ip.SignUp(t, "ip@example.com", pw, "IP Co")
	r = ip.Do(t, "POST", "/api/v1/two-step/passkeys/begin", ip.SignIn(t, "ip@example.com", pw), nil)
	if r.Status != http.StatusConflict || !strings.Contains(fmt.Sprint(r.JSON(t)["detail"]), "domain name") {
		t.Errorf("passkeys on an IP address: %d %s", r.Status, r.Body)
	}
}
