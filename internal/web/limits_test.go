package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

var unlockRE = regexp.MustCompile(`Unlock code: (\d{8})`)

func signInBody(email, password, unlock string) map[string]string {
	m := map[string]string{"email": email, "password": password}
	if unlock != "" {
		m["unlock_code"] = unlock
	}
	return m
}

func lastUnlockCode(t *testing.T, in *apptest.Instance, to string) string {
	t.Helper()
	msgs := in.Outbox(t)
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.EqualFold(msgs[i].To, to) {
			if m := unlockRE.FindStringSubmatch(msgs[i].Body); m != nil {
				return m[1]
			}
		}
	}
	t.Fatalf("no unlock code for %s in the outbox", to)
	return ""
}

// 30 wrong passwords: refusals set in, look exactly like an unknown
// account's, refuse the right password too, and the emailed unlock code
// lets the owner in.
func TestWrongPasswordsThrottleLikeAnUnknownAccount(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "victim@example.com", pw, "Victim")
	var known, unknown [][]byte
	elsewhere := clientFrom("127.0.0.7") // so the two series do not share a source counter
	for i := range 30 {
		k := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("victim@example.com", fmt.Sprintf("wrong guess %02d!", i), ""))
		st, _, u := post(t, elsewhere, in.URL+"/api/v1/sessions", signInBody("nobody-here@example.com", fmt.Sprintf("wrong guess %02d!", i), ""), nil)
		if k.Status != 401 || st != 401 {
			t.Fatalf("attempt %d: %d / %d", i, k.Status, st)
		}
		known, unknown = append(known, k.Body), append(unknown, u)
	}
	for i := range known {
		if !bytes.Equal(known[i], unknown[i]) {
			t.Fatalf("attempt %d differs:\n%s\n%s", i, known[i], unknown[i])
		}
	}
	// The right password is refused while the delay runs, with the same body.
	r := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("victim@example.com", pw, ""))
	if r.Status != 401 || !bytes.Equal(r.Body, known[0]) {
		t.Fatalf("right password during the delay: %d %s", r.Status, r.Body)
	}
	// The owner was told, with the time, the count and where from, and an unlock code.
	var alert *apptest.Message
	for _, m := range in.Outbox(t) {
		if m.To == "victim@example.com" && strings.Contains(m.Subject, "failed sign-ins") {
			alert = &m
		}
	}
	if alert == nil || !strings.Contains(alert.Body, "10 failed attempts") || !strings.Contains(alert.Body, "127.0.0.1") {
		t.Fatalf("alert = %+v", alert)
	}
	for _, m := range in.Outbox(t) {
		if m.To == "nobody-here@example.com" {
			t.Fatal("an email went to an address without an account")
		}
	}
	code := lastUnlockCode(t, in, "victim@example.com")
	// A wrong unlock code does not help; the right one with the right password does.
	if r := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("victim@example.com", pw, "00000000")); r.Status != 401 {
		t.Fatalf("wrong unlock code: %d", r.Status)
	}
	if r := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("victim@example.com", "still wrong!!", code)); r.Status != 401 {
		t.Fatalf("unlock code with a wrong password: %d", r.Status)
	}
	r = in.Do(t, "POST", "/api/v1/sessions", "", signInBody("victim@example.com", pw, code))
	if r.Status != 201 {
		t.Fatalf("unlock code with the right password: %d %s", r.Status, r.Body)
	}
	token := r.JSON(t)["token"].(string)
	in.EnrollTOTP(t, token)
	// The account is unlocked: a plain sign-in works again, and the audit log says what happened.
	if r := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("victim@example.com", pw, "")); r.Status != 201 {
		t.Fatalf("after unlocking: %d", r.Status)
	}
	a := in.Do(t, "GET", "/api/v1/audit?category=account", token, nil)
	if !strings.Contains(string(a.Body), "account.signin_failures_alerted") || !strings.Contains(string(a.Body), "account.unlocked") {
		t.Fatalf("audit: %s", a.Body)
	}
}

func TestDelaysGrowThenLiftWithTime(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "slow@example.com", pw, "Slow")
	for range 4 {
		in.Do(t, "POST", "/api/v1/sessions", "", signInBody("slow@example.com", "a wrong password", ""))
	}
	if r := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("slow@example.com", pw, "")); r.Status != 401 {
		t.Fatalf("right password inside the delay: %d", r.Status)
	}
	// That refused attempt counted too (5 failures: 2 s); after it, the owner gets in.
	in.Clock.Advance(2 * time.Second)
	if r := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("slow@example.com", pw, "")); r.Status != 201 {
		t.Fatalf("right password after the delay: %d %s", r.Status, r.Body)
	}
	// Success cleared the failures.
	tok := in.SignIn(t, "slow@example.com", pw)
	if fs := in.Do(t, "GET", "/api/v1/session", tok, nil).JSON(t)["failed_signins"].(map[string]any); fs["count"] != float64(0) {
		t.Fatalf("failed_signins after success: %v", fs)
	}
}

func TestCaseAndSpaceVariantsShareOneCounter(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "alice@example.com", pw, "Alice")
	in.Clock.Freeze() // the delay they build is a second or two: load must not outlast it
	for _, e := range []string{"Alice@Example.COM", "alice@example.com", " alice@example.com ", "ALICE@EXAMPLE.COM"} {
		in.Do(t, "POST", "/api/v1/sessions", "", signInBody(e, "not it at all", ""))
	}
	c, err := in.DB.GetCounter(context.Background(), "acct:alice@example.com", time.Now())
	if err != nil || c.Count != 4 {
		t.Fatalf("counter = %+v, %v", c, err)
	}
	if r := in.Do(t, "POST", "/api/v1/sessions", "", signInBody("alice@example.com", pw, "")); r.Status != 401 {
		t.Fatalf("variants did not build up one delay: %d", r.Status)
	}
}

// clientFrom returns an HTTP client whose connections come from another
// loopback address (Linux routes all of 127/8 to lo): a genuinely different
// source for the server.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

func post(t *testing.T, c *http.Client, url string, body any, header map[string]string) (int, http.Header, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, rb
}

// Credential stuffing: 200 accounts tried from one address. That address
// gets 429 with Retry-After; another address signs in normally; rotating
// X-Forwarded-For from an untrusted client changes nothing; /healthz keeps
// answering; nothing is a 5xx.
func TestCredentialStuffingIsStoppedPerSource(t *testing.T) {
	// Not parallel: it checks /healthz answers within a second under a
	// sign-in flood, which other tests' load would blur.
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "real@example.com", pw, "Real")
	attacker, other := clientFrom("127.0.0.3"), clientFrom("127.0.0.4")
	counts := map[int]int{}
	var retryAfter string
	for i := range 200 {
		st, h, _ := post(t, attacker, in.URL+"/api/v1/sessions", signInBody(fmt.Sprintf("user%d@example.com", i), "Password1!", ""),
			map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i%250)})
		counts[st]++
		if st >= 500 {
			t.Fatalf("attempt %d: %d", i, st)
		}
		if st == 429 {
			retryAfter = h.Get("Retry-After")
		}
		if i%50 == 0 {
			start := time.Now()
			resp, err := in.Client.Get(in.URL + "/healthz")
			if err != nil || resp.StatusCode != 200 || time.Since(start) > time.Second {
				t.Fatalf("healthz during the attack: %v %v", err, time.Since(start))
			}
			resp.Body.Close()
		}
	}
	if counts[401] != 50 || counts[429] != 150 || retryAfter == "" {
		t.Fatalf("answers %v, Retry-After %q", counts, retryAfter)
	}
	// Even the right password from the attacking address waits.
	if st, _, _ := post(t, attacker, in.URL+"/api/v1/sessions", signInBody("real@example.com", pw, ""), nil); st != 429 {
		t.Fatalf("attacking source, right password: %d", st)
	}
	if st, _, b := post(t, other, in.URL+"/api/v1/sessions", signInBody("real@example.com", pw, ""), nil); st != 201 {
		t.Fatalf("another source: %d %s", st, b)
	}
}

// Behind a configured proxy, X-Forwarded-For names the client: sources
// behind one proxy are limited separately, and the proxy itself is not.
func TestTrustedProxyForwardedFor(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite", apptest.Env("SELLERGUARD_TRUSTED_PROXIES", "127.0.0.5"))
	in.SignUp(t, "proxied@example.com", pw, "Proxied")
	proxy := clientFrom("127.0.0.5")
	for i := range 60 {
		st, _, _ := post(t, proxy, in.URL+"/api/v1/sessions", signInBody(fmt.Sprintf("u%d@example.com", i), "Password1!", ""), map[string]string{"X-Forwarded-For": "198.51.100.9, 127.0.0.5"})
		if i >= 50 && st != 429 {
			t.Fatalf("attempt %d from one forwarded client: %d", i, st)
		}
	}
	st, _, b := post(t, proxy, in.URL+"/api/v1/sessions", signInBody("proxied@example.com", pw, ""), map[string]string{"X-Forwarded-For": "198.51.100.10"})
	if st != 201 {
		t.Fatalf("another client behind the same proxy: %d %s", st, b)
	}
	token := bytes.Split(bytes.Split(b, []byte(`"token":"`))[1], []byte(`"`))[0]
	r := in.Do(t, "GET", "/api/v1/sessions", string(token), nil)
	if !strings.Contains(string(r.Body), `"ip":"198.51.100.10"`) {
		t.Fatalf("the session does not record the forwarded client: %s", r.Body)
	}
}

// A browser that signed in before is not slowed by failures from elsewhere.
func TestKnownBrowserIsNotLockedOutByAnAttacker(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "owner@example.com", pw, "Owner")
	// The owner's browser signs in once and keeps its device cookie.
	owner := &http.Client{Timeout: 30 * time.Second}
	jar := newJar()
	owner.Jar = jar
	if st, _, b := post(t, owner, in.URL+"/api/v1/sessions", signInBody("owner@example.com", pw, ""), nil); st != 201 {
		t.Fatalf("first sign-in: %d %s", st, b)
	}
	if !jar.has("sg_device") {
		t.Fatal("no device cookie was set")
	}
	attacker := clientFrom("127.0.0.6")
	for i := range 30 {
		post(t, attacker, in.URL+"/api/v1/sessions", signInBody("owner@example.com", fmt.Sprintf("guess %d", i), ""), nil)
	}
	if st, _, _ := post(t, attacker, in.URL+"/api/v1/sessions", signInBody("owner@example.com", pw, ""), nil); st != 401 {
		t.Fatalf("a new browser with the right password during the attack: %d", st)
	}
	st, _, b := post(t, owner, in.URL+"/api/v1/sessions", signInBody("owner@example.com", pw, ""), nil)
	if st != 201 {
		t.Fatalf("the owner's known browser during the attack: %d %s", st, b)
	}
	// The owner sees the attack on their account overview.
	var res struct{ Token string }
	_ = json.Unmarshal(b, &res)
	fs := in.Do(t, "GET", "/api/v1/session", res.Token, nil).JSON(t)["failed_signins"].(map[string]any)
	if fs["count"] != float64(31) || fs["last_ip"] != "127.0.0.6" {
		t.Fatalf("failed_signins = %v", fs)
	}
}

type cookieJar struct {
	mu      sync.Mutex
	cookies map[string]*http.Cookie
}

func newJar() *cookieJar { return &cookieJar{cookies: map[string]*http.Cookie{}} }

func (j *cookieJar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range cs {
		j.cookies[c.Name] = c
	}
}

func (j *cookieJar) Cookies(_ *url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, c := range j.cookies {
		if c.Name == "sg_device" { // only the device cookie: sessions go by bearer token here
			out = append(out, c)
		}
	}
	return out
}

func (j *cookieJar) has(name string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, ok := j.cookies[name]
	return ok
}

// newJarAll is a cookie jar that sends every cookie back.
func newJarAll() *allJar { return &allJar{cookies: map[string]*http.Cookie{}} }

type allJar struct {
	mu      sync.Mutex
	cookies map[string]*http.Cookie
}

func (j *allJar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range cs {
		j.cookies[c.Name] = c
	}
}

func (j *allJar) Cookies(_ *url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, c := range j.cookies {
		if c.Name == "sg_device" {
			out = append(out, c)
		}
	}
	return out
}
