package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// chiSquareCritical001 holds the critical values of the chi-squared
// distribution at significance 0.001, by degrees of freedom.
var chiSquareCritical001 = map[int]float64{1: 10.828, 2: 13.816, 3: 16.266, 4: 18.467}

// Under a sign-in flood that fills the hashing pool, whether an account
// exists must not show in the answers. 300 connections at once sign in with
// wrong passwords, half to real accounts and half to unknown emails, in a
// random order, against a pool of one hashing slot with a short queue
// deadline. What each kind gets must be the same:
//
//   - only 401 invalid_credentials or 503 busy, both seen (the pool
//     saturates: the test would prove nothing otherwise);
//   - per status, byte-identical bodies and the same Retry-After for both kinds;
//   - every 503 of either kind comes only after the queue deadline (both
//     waited for a slot: the same timing behaviour, not an instant answer);
//   - the distribution of statuses is the same: a chi-squared test of
//     homogeneity on the 2×2 table (kind × status) does not reject "same
//     distribution" at significance 0.001 (statistic below 10.828, 1 degree
//     of freedom). Before the fix, unknown emails got 401 at once while real
//     accounts got 503, and the statistic was in the hundreds.
func TestSignInFloodTellsNothingAboutWhichAccountsExist(t *testing.T) {
	const (
		clients      = 300
		queueTimeout = 200 * time.Millisecond
	)
	in := apptest.Start(t, "sqlite",
		apptest.Env("SELLERGUARD_HASH_CONCURRENCY", "1"),
		apptest.Env("SELLERGUARD_HASH_QUEUE_TIMEOUT", queueTimeout.String()),
		apptest.Env("SELLERGUARD_ARGON2_MEMORY", "4096"),
		// Eight passes: one hash must outlast a connection's arrival, or a
		// fast hash drains the queue and nothing ever waits 200 ms (with
		// two passes and the pool's kept memory, 300 race-built sign-ins
		// all got 401).
		apptest.Env("SELLERGUARD_ARGON2_TIME", "8"),
		// Every request comes from 127.0.0.1: lift the per-address limit so
		// the answers are the pool's, not the address limiter's 429.
		apptest.Env("SELLERGUARD_LIMIT_SOURCE_FAILURES", "10000"),
	)
	var real []string
	for i := range 5 {
		email := fmt.Sprintf("flood%d@example.com", i)
		in.SignUp(t, email, pw, fmt.Sprintf("Flood %d", i))
		real = append(real, email)
	}

	type answer struct {
		real       bool
		status     int
		body       string
		retryAfter string
		took       time.Duration
	}
	kinds := make([]bool, clients) // true: a real account
	for i := range clients / 2 {
		kinds[i] = true
	}
	rand.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })

	// One connection per client, all opened at once.
	tr := &http.Transport{DisableKeepAlives: true, MaxConnsPerHost: 0}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	answers := make([]answer, clients)
	errs := make([]error, clients)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range clients {
		email := fmt.Sprintf("nobody%d@example.com", i)
		if kinds[i] {
			email = real[i%len(real)]
		}
		body, _ := json.Marshal(map[string]string{"email": email, "password": "wrong password, guessed"})
		wg.Go(func() {
			<-start
			began := time.Now()
			resp, err := client.Post(in.URL+"/api/v1/sessions", "application/json", bytes.NewReader(body))
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			errs[i] = err
			answers[i] = answer{real: kinds[i], status: resp.StatusCode, body: string(b), retryAfter: resp.Header.Get("Retry-After"), took: time.Since(began)}
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	t.Logf("%d sign-ins in %v", clients, time.Since(began).Round(time.Millisecond))
	for i, err := range errs {
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}

	// counts[kind][status]; bodies[kind][status] = set of bodies.
	counts := [2]map[int]int{{}, {}}
	bodies := [2]map[int][]string{{}, {}}
	retry := [2]map[int][]string{{}, {}}
	for _, a := range answers {
		k := 0
		if a.real {
			k = 1
		}
		counts[k][a.status]++
		if !slices.Contains(bodies[k][a.status], a.body) {
			bodies[k][a.status] = append(bodies[k][a.status], a.body)
		}
		if !slices.Contains(retry[k][a.status], a.retryAfter) {
			retry[k][a.status] = append(retry[k][a.status], a.retryAfter)
		}
		if a.status != 401 && a.status != 503 {
			t.Errorf("status %d (real account: %v): %s", a.status, a.real, a.body)
		}
		if a.status == 503 && a.took < queueTimeout {
			t.Errorf("503 after %v (real account: %v): before the queue deadline of %v", a.took, a.real, queueTimeout)
		}
	}
	t.Logf("unknown emails: %v; real accounts: %v", counts[0], counts[1])
	if counts[0][401]+counts[1][401] == 0 || counts[0][503]+counts[1][503] == 0 {
		t.Fatalf("the pool did not saturate (want both 401 and 503): unknown %v, real %v", counts[0], counts[1])
	}
	for _, status := range []int{401, 503} {
		slices.Sort(bodies[0][status])
		slices.Sort(bodies[1][status])
		if counts[0][status] > 0 && counts[1][status] > 0 && !slices.Equal(bodies[0][status], bodies[1][status]) {
			t.Errorf("%d bodies differ:\nunknown: %q\nreal:    %q", status, bodies[0][status], bodies[1][status])
		}
		if counts[0][status] > 0 && counts[1][status] > 0 && !slices.Equal(retry[0][status], retry[1][status]) {
			t.Errorf("%d Retry-After differs: unknown %q, real %q", status, retry[0][status], retry[1][status])
		}
	}
	if want := []string{"2"}; counts[0][503] > 0 && !slices.Equal(retry[0][503], want) || counts[1][503] > 0 && !slices.Equal(retry[1][503], want) {
		t.Errorf("503 Retry-After: unknown %q, real %q; want %q", retry[0][503], retry[1][503], want)
	}

	// Chi-squared test of homogeneity over the statuses seen.
	var statuses []int
	for _, m := range counts {
		for st := range m {
			if !slices.Contains(statuses, st) {
				statuses = append(statuses, st)
			}
		}
	}
	rowTotal := [2]float64{}
	colTotal := map[int]float64{}
	for k := range 2 {
		for _, st := range statuses {
			rowTotal[k] += float64(counts[k][st])
			colTotal[st] += float64(counts[k][st])
		}
	}
	n := rowTotal[0] + rowTotal[1]
	chi2 := 0.0
	for k := range 2 {
		for _, st := range statuses {
			expected := rowTotal[k] * colTotal[st] / n
			d := float64(counts[k][st]) - expected
			chi2 += d * d / expected
		}
	}
	df := len(statuses) - 1
	critical, ok := chiSquareCritical001[df]
	if !ok {
		t.Fatalf("unexpected number of statuses: %v", statuses)
	}
	t.Logf("chi-squared = %.2f (df %d, critical value at 0.001: %.3f)", chi2, df, critical)
	if chi2 >= critical {
		t.Errorf("the statuses of real accounts and unknown emails differ: chi-squared %.2f >= %.3f (unknown %v, real %v)", chi2, critical, counts[0], counts[1])
	}
}
