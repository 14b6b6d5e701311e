package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"
)

// Ways of spreading session checks over the tokens.
const (
	distUniform = "uniform" // every token as likely as any other
	distZipf    = "zipf"    // a few tokens hot, a long tail cold (Zipf, --zipf-s)
)

// tokenPicker returns worker i's way of choosing the next token index.
func tokenPicker(dist string, n int, zipfS float64, worker int) func() int {
	r := rand.New(rand.NewPCG(uint64(worker)+1, 0x5e11e26a4d))
	if n <= 1 {
		return func() int { return 0 }
	}
	if dist == distZipf {
		z := rand.NewZipf(r, zipfS, 1, uint64(n-1))
		return func() int { return int(z.Uint64()) }
	}
	return func() int { return r.IntN(n) }
}

// sessionOp is one session check: GET url with "Authorization: Bearer
// <token>", the token chosen by pick, answer 200 expected. The request is
// reused (after its answer is read to the end), so the client's own cost
// stays small and the same on both sides of a comparison.
func sessionOp(ctx context.Context, client *http.Client, url string, authz []string, pick func() int) op {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return func() error { return err }
	}
	h := []string{""}
	req.Header["Authorization"] = h
	return func() error {
		h[0] = authz[pick()]
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
			_, _ = io.Copy(io.Discard, resp.Body)
			return fmt.Errorf("GET %s: status %d (want 200): %s", url, resp.StatusCode, trimBody(b))
		}
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
}

func trimBody(b []byte) string {
	s := string(b)
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	return s
}

// sessionPair measures the bare handler and SellerGuard's session check at
// concurrency c, the tokens spread by dist.
func sessionPair(ctx context.Context, o *options, rep *report, round, c int, dist string, bare, sg target, authz []string, progress io.Writer) error {
	var ms []measurement
	test := testSession + "-" + dist
	names := order(round, targetBare, targetSellerGuard)
	for _, name := range names {
		t := sg
		if name == targetBare {
			t = bare
		}
		client := newClient(c, 30*time.Second)
		defer client.CloseIdleConnections()
		url := t.URL + "/api/v1/session"
		ms = append(ms, measurement{
			concurrency: c, warmup: o.Warmup, duration: o.Duration, maxOps: o.MaxRequests, serverPID: t.PID,
			labels: labels("client", test, name),
			newOp: func(i int) op {
				// The same requests to both: the bare handler ignores the token.
				return sessionOp(ctx, client, url, authz, tokenPicker(dist, len(authz), o.ZipfS, i+round*1000))
			},
		})
	}
	s0, s1 := measurePair(ctx, ms[0], ms[1], o.Slices)
	rep.add(progress, round, test, names[0], c, s0)
	rep.add(progress, round, test, names[1], c, s1)
	return ctx.Err()
}

// target is a server under load: its URL and process (0: unknown).
type target struct {
	URL string
	PID int
}

// primeSessions checks every token once, c at a time, as the sessions of
// a running service have been checked before: the measurements then see
// the steady state (the cache holds the active sessions and re-reads each
// after its TTL) rather than a cold start, whose cost this pass reports.
//
// With over > 0 the first checks are spread evenly over that time (the
// session cache's TTL, --prime-over): in a service that has been running,
// the cache loaded its entries at scattered moments, so their re-reads
// (after 3/4 to 1 TTL) are scattered too. Checked all at once, every
// entry would be re-read in the same few seconds one TTL later, and
// whichever measurement fell into that wave would pay a whole TTL's
// re-reads (seen: the second distribution measured was 0.67 of bare
// whichever it was, the first 0.85).
func primeSessions(ctx context.Context, sg target, authz []string, c int, over time.Duration, progress io.Writer) error {
	client := newClient(c, 30*time.Second)
	defer client.CloseIdleConnections()
	var srv0 time.Duration
	if sg.PID > 0 {
		srv0 = pidCPU(sg.PID)
	}
	t0 := time.Now()
	err := parallel(ctx, len(authz), c, func(i int) error {
		if over > 0 {
			if err := sleepUntil(ctx, t0.Add(time.Duration(int64(over)*int64(i)/int64(len(authz))))); err != nil {
				return err
			}
		}
		return sessionOp(ctx, client, sg.URL+"/api/v1/session", authz, func() int { return i })()
	})
	if err != nil {
		return fmt.Errorf("first check of every session: %w", err)
	}
	d := time.Since(t0)
	cpu := "-"
	if sg.PID > 0 {
		cpu = fmtDur((pidCPU(sg.PID) - srv0) / time.Duration(len(authz)))
	}
	how := fmt.Sprintf("%.0f /s", float64(len(authz))/d.Seconds())
	if over > 0 {
		how = fmt.Sprintf("spread over %s", d.Round(100*time.Millisecond))
	}
	fmt.Fprintf(progress, "first check of each of the %d sessions (cache cold): %s, server CPU %s per check\n", len(authz), how, cpu)
	return nil
}

// sleepUntil waits until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
