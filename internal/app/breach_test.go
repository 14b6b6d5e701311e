package app_test

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// rangeAPI is a real HTTP server on loopback playing the Pwned Passwords
// range API: it answers from a list of breached passwords, or answers only
// after a delay, or fails, as the test says.
type rangeAPI struct {
	URL      string
	mode     atomic.Value // "answer", "slow", "fail"
	delay    time.Duration
	mu       sync.Mutex
	breached map[string]bool // full SHA-1 hex, upper case
	paths    []string
}

func startRangeAPI(t *testing.T, delay time.Duration, breached ...string) *rangeAPI {
	t.Helper()
	api := &rangeAPI{delay: delay, breached: map[string]bool{}}
	api.mode.Store("answer")
	for _, pw := range breached {
		h := sha1.Sum([]byte(pw))
		api.breached[strings.ToUpper(hex.EncodeToString(h[:]))] = true
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.mu.Lock()
		api.paths = append(api.paths, r.URL.Path)
		api.mu.Unlock()
		prefix, ok := strings.CutPrefix(r.URL.Path, "/range/")
		if !ok || len(prefix) != 5 {
			http.NotFound(w, r)
			return
		}
		switch api.mode.Load() {
		case "slow":
			select {
			case <-time.After(api.delay):
			case <-r.Context().Done():
				return
			}
		case "fail":
			http.Error(w, "upstream trouble", http.StatusServiceUnavailable)
			return
		}
		api.mu.Lock()
		defer api.mu.Unlock()
		fmt.Fprintf(w, "%s:0\r\n", strings.Repeat("0", 35)) // padding line
		for h := range api.breached {
			if h[:5] == prefix {
				fmt.Fprintf(w, "%s:42\r\n", h[5:])
			}
		}
	})}
	go func() { _ = srv.Serve(ln) }() // ends at Close
	t.Cleanup(func() { _ = srv.Close() })
	api.URL = "http://" + ln.Addr().String()
	return api
}

func (a *rangeAPI) requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.paths...)
}

func breachUnavailableCount(t *testing.T, in *apptest.Instance) float64 {
	t.Helper()
	mfs, err := in.Metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "sellerguard_breach_check_unavailable_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("no sellerguard_breach_check_unavailable_total metric")
	return 0
}

// The range API at work: it refuses breached passwords; when it is slow
// beyond its timeout or fails, new passwords are accepted on the other
// checks without waiting longer than the timeout, the failure is counted,
// and the password is checked again at the next sign-in, where a breached
// one must then be changed.
func TestBreachRangeAPIAnswersTimesOutAndFails(t *testing.T) {
	apptest.Dialects(t, func(t *testing.T, dialect string) {
		const timeout = 300 * time.Millisecond
		leaked := "Quiet-Harbour-Lantern-2291"
		api := startRangeAPI(t, 5*timeout, leaked)
		dbURL := apptest.DatabaseURL(t, dialect)
		in := apptest.Start(t, "", apptest.Env("SELLERGUARD_DATABASE_URL", dbURL),
			apptest.Env("SELLERGUARD_BREACH_API_URL", api.URL), apptest.Env("SELLERGUARD_BREACH_API_TIMEOUT", timeout.String()))
		raw := rawDB(t, dbURL)
		recheck := func(email string) bool {
			t.Helper()
			var v int
			if err := raw.QueryRow(`SELECT breach_recheck FROM users WHERE email = $1`, email).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v != 0
		}
		signup := func(email, pw string) (int, string) {
			r := in.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": email, "password": pw, "business_name": "Pinecone Traders"})
			return r.Status, string(r.Body)
		}
		verify := func(email string) {
			t.Helper()
			if r := in.Do(t, "POST", "/api/v1/signup/verify", "", map[string]string{"email": email, "code": in.LastCode(t, email)}); r.Status != 201 {
				t.Fatalf("verify %s: %d %s", email, r.Status, r.Body)
			}
		}

		// Answering: a breached password is refused, another accepted.
		if st, body := signup("answer@example.com", leaked); st != 400 || !strings.Contains(body, `"code":"breached"`) {
			t.Fatalf("breached password at sign-up: %d %s", st, body)
		}
		good := "Velvet-Compass-Meadow-7734"
		if st, body := signup("answer@example.com", good); st != 202 {
			t.Fatalf("good password at sign-up: %d %s", st, body)
		}
		verify("answer@example.com")
		if recheck("answer@example.com") {
			t.Fatal("a password the range API checked is marked for a re-check")
		}
		for _, p := range api.requests() {
			if len(p) != len("/range/ABCDE") {
				t.Fatalf("the range API was sent more than a 5-digit prefix: %q", p)
			}
		}

		// Slow beyond the timeout: accepted on the other checks, in time,
		// counted, marked; the next sign-in finds it breached.
		api.mode.Store("slow")
		before := breachUnavailableCount(t, in)
		start := time.Now()
		if st, body := signup("slow@example.com", leaked); st != 202 {
			t.Fatalf("sign-up while the range API is slow: %d %s", st, body)
		}
		if took := time.Since(start); took > timeout+2*time.Second {
			t.Fatalf("sign-up waited %v for a range API with a %v timeout", took, timeout)
		}
		verify("slow@example.com")
		if got := breachUnavailableCount(t, in); got <= before {
			t.Fatalf("the slow answer was not counted: %v -> %v", before, got)
		}
		if !recheck("slow@example.com") {
			t.Fatal("a password accepted without an answer is not marked for a re-check")
		}
		api.mode.Store("answer")
		r := in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": "slow@example.com", "password": leaked})
		if r.Status != 201 || r.JSON(t)["password_change_required"] != "breached" {
			t.Fatalf("sign-in with the re-checked breached password: %d %s", r.Status, r.Body)
		}
		if recheck("slow@example.com") {
			t.Fatal("the mark stayed after the range API answered")
		}

		// Failing: a password change is accepted, counted and marked; a
		// sign-in while it still fails keeps the mark; one that gets an
		// answer (not breached) clears it and asks nothing of the user.
		tok := in.SignIn(t, "answer@example.com", good)
		api.mode.Store("fail")
		before = breachUnavailableCount(t, in)
		next := "Amber-Thistle-Orbit-5820"
		if r := in.Do(t, "POST", "/api/v1/account/password", tok, map[string]string{"current_password": good, "new_password": next}); r.Status != 200 {
			t.Fatalf("password change while the range API fails: %d %s", r.Status, r.Body)
		}
		if got := breachUnavailableCount(t, in); got <= before {
			t.Fatalf("the failure was not counted: %v -> %v", before, got)
		}
		if !recheck("answer@example.com") {
			t.Fatal("a changed password accepted without an answer is not marked")
		}
		r = in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": "answer@example.com", "password": next})
		if r.Status != 201 || r.JSON(t)["password_change_required"] != nil || !recheck("answer@example.com") {
			t.Fatalf("sign-in while the range API still fails: %d %s (marked %v)", r.Status, r.Body, recheck("answer@example.com"))
		}
		api.mode.Store("answer")
		r = in.Do(t, "POST", "/api/v1/sessions", "", map[string]string{"email": "answer@example.com", "password": next})
		if r.Status != 201 || r.JSON(t)["password_change_required"] != nil || recheck("answer@example.com") {
			t.Fatalf("sign-in once the range API answers: %d %s (marked %v)", r.Status, r.Body, recheck("answer@example.com"))
		}
	})
}
