package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
)

// discardWriter is the least a ResponseWriter can be: it keeps the header
// map (emptied, not reallocated, between requests) and drops the body, so
// the allocations counted around it are SellerGuard's own, not net/http's
// (which allocates the request, its header map and its response per
// request whatever the handler does).
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}

func (w *discardWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(b)
	return len(b), nil
}

// sessionCheck returns one cache-hit session check (GET /api/v1/session
// with a bearer token, through the whole middleware chain of the running
// server) as a function, and the writer it answers into.
func sessionCheck(t testing.TB) (func(), *discardWriter) {
	in := apptest.Start(t, "sqlite")
	in.SignUp(t, "bench@example.com", pw, "Bench Goods")
	token := in.SignIn(t, "bench@example.com", pw)
	req := httptest.NewRequest("GET", "/api/v1/session", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.RemoteAddr = "127.0.0.1:40000"
	w := &discardWriter{h: http.Header{}}
	one := func() {
		clear(w.h)
		w.status, w.n = 0, 0
		in.Server.ServeHTTP(w, req)
	}
	one() // loads the session into the cache
	if w.status != http.StatusOK || w.n == 0 {
		t.Fatalf("session check: status %d, %d bytes", w.status, w.n)
	}
	return one, w
}

// maxSessionCheckAllocs is what a cache-hit session check may allocate in
// SellerGuard's own code (middleware, authentication, the JSON answer).
const maxSessionCheckAllocs = 2

// TestSessionCheckCacheHitAllocs keeps the hot path's allocations from
// creeping back: a cache-hit session check allocates at most
// maxSessionCheckAllocs times beyond what net/http itself does (see
// BenchmarkSessionCheckCacheHit for the count and time).
func TestSessionCheckCacheHitAllocs(t *testing.T) {
	one, w := sessionCheck(t)
	allocs := testing.AllocsPerRun(200, one)
	if w.status != http.StatusOK {
		t.Fatalf("status %d", w.status)
	}
	t.Logf("cache-hit session check: %.0f allocations", allocs)
	if !raceEnabled && allocs > maxSessionCheckAllocs {
		t.Errorf("cache-hit session check allocates %.0f times, want at most %d", allocs, maxSessionCheckAllocs)
	}
}

// BenchmarkSessionCheckCacheHit times a cache-hit session check through
// the server's whole handler chain, without the network:
//
//	go test -run '^$' -bench SessionCheckCacheHit -benchmem ./internal/web
func BenchmarkSessionCheckCacheHit(b *testing.B) {
	one, w := sessionCheck(b)
	b.ReportAllocs()
	for b.Loop() {
		one()
	}
	if w.status != http.StatusOK {
		b.Fatalf("status %d", w.status)
	}
}
