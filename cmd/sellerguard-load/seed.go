package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"

	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// account is a test account made through the public API.
type account struct {
	Email, Password string
}

var codeRE = regexp.MustCompile(`code is: (\d{6})`)

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
func parallel(ctx context.Context, n, workers int, f func(i int) error) error {
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range max(1, min(workers, n)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					next.Store(int64(n)) // stop the others
					return
				}
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// createAccounts signs n accounts up, reads their codes from the local
// outbox and verifies them — what a person's browser or a program does —
// workers at a time, in batches small enough for the outbox listing.
func createAccounts(ctx context.Context, baseURL, label string, n, workers int) ([]account, error) {
	var rnd, pw [4]byte
	_, _ = rand.Read(rnd[:])
	_, _ = rand.Read(pw[:])
	run := hex.EncodeToString(rnd[:])
	accts := make([]account, n)
	for i := range accts {
		accts[i] = account{
			Email:    fmt.Sprintf("load-%s-%s-%d@example.com", label, run, i),
			Password: "correct horse battery staple " + lettersOf(pw[:]),
		}
	}
	c := newClient(workers, 2*time.Minute)
	defer c.CloseIdleConnections()
	const batch = 200 // the dev outbox lists the newest 1,000 messages
	for lo := 0; lo < n; lo += batch {
		part := accts[lo:min(n, lo+batch)]
		if err := parallel(ctx, len(part), workers, func(i int) error {
			_, err := callJSON(ctx, c, "POST", baseURL+"/api/v1/signup", "", map[string]string{"email": part[i].Email, "password": part[i].Password, "business_name": "Load Test Ltd"}, http.StatusAccepted)
			return err
		}); err != nil {
			return nil, fmt.Errorf("sign-up: %w", err)
		}
		codes, err := outboxCodes(ctx, c, baseURL, part)
		if err != nil {
			return nil, err
		}
		if err := parallel(ctx, len(part), workers, func(i int) error {
			_, err := callJSON(ctx, c, "POST", baseURL+"/api/v1/signup/verify", "", map[string]string{"email": part[i].Email, "code": codes[strings.ToLower(part[i].Email)]}, http.StatusCreated)
			return err
		}); err != nil {
			return nil, fmt.Errorf("verify sign-up: %w", err)
		}
	}
	return accts, nil
}

// outboxCodes waits until every account's sign-up code is in the local
// outbox and returns them by lower-case address.
func outboxCodes(ctx context.Context, c *http.Client, baseURL string, accts []account) (map[string]string, error) {
	codes := map[string]string{}
	for deadline := time.Now().Add(30 * time.Second); ; {
		b, err := callJSON(ctx, c, "GET", baseURL+"/api/v1/dev/outbox", "", nil, http.StatusOK)
		if err != nil {
			return nil, err
		}
		var out struct {
			Messages []struct{ To, Body string }
		}
		if err := json.Unmarshal(b, &out); err != nil {
			return nil, fmt.Errorf("dev outbox: %w", err)
		}
		for _, m := range out.Messages { // oldest first: the last code wins
			if k := codeRE.FindStringSubmatch(m.Body); k != nil {
				codes[strings.ToLower(m.To)] = k[1]
			}
		}
		missing := 0
		for _, a := range accts {
			if codes[strings.ToLower(a.Email)] == "" {
				missing++
			}
		}
		if missing == 0 {
			return codes, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d sign-up codes did not arrive in the local outbox within 30s", missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// signIn signs a in and returns the session token (partial when the
// account has a second step).
func signIn(ctx context.Context, c *http.Client, baseURL string, a account) (string, error) {
	b, err := callJSON(ctx, c, "POST", baseURL+"/api/v1/sessions", "", map[string]string{"email": a.Email, "password": a.Password}, http.StatusCreated)
	if err != nil {
		return "", err
	}
	var si struct{ Token string }
	if err := json.Unmarshal(b, &si); err != nil || si.Token == "" {
		return "", fmt.Errorf("sign-in answer has no token: %s", b)
	}
	return si.Token, nil
}

// seedTokens makes sessions tokens spread over users accounts, by signing
// in through the API, workers at a time.
func seedTokens(ctx context.Context, baseURL string, users, sessions, workers int) ([]string, error) {
	accts, err := createAccounts(ctx, baseURL, "session", users, workers)
	if err != nil {
		return nil, err
	}
	c := newClient(workers, 2*time.Minute)
	defer c.CloseIdleConnections()
	tokens := make([]string, sessions)
	err = parallel(ctx, sessions, workers, func(i int) error {
		t, err := signIn(ctx, c, baseURL, accts[i%len(accts)])
		tokens[i] = t
		return err
	})
	return tokens, err
}

// totpAccount is an account with an authenticator app (TOTP) enrolled.
type totpAccount struct {
	account
	secret string
	mu     sync.Mutex
	last   int64 // the last TOTP step used: the server refuses it and every earlier one
}

// totpCode is the authenticator app's code for a 30-second step.
func totpCode(secret string, step int64) (string, error) {
	return hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

func totpStep(t time.Time) int64 { return t.Unix() / 30 }

// createTOTPAccounts makes n accounts and enrols an authenticator app on
// each (sign in, start, confirm with a code computed here).
func createTOTPAccounts(ctx context.Context, baseURL string, n, workers int) ([]*totpAccount, error) {
	accts, err := createAccounts(ctx, baseURL, "totp", n, workers)
	if err != nil {
		return nil, err
	}
	c := newClient(workers, 2*time.Minute)
	defer c.CloseIdleConnections()
	out := make([]*totpAccount, n)
	err = parallel(ctx, n, workers, func(i int) error {
		tok, err := signIn(ctx, c, baseURL, accts[i])
		if err != nil {
			return err
		}
		b, err := callJSON(ctx, c, "POST", baseURL+"/api/v1/two-step/totp", tok, nil, http.StatusCreated)
		if err != nil {
			return err
		}
		var st struct {
			MethodID string `json:"method_id"`
			Secret   string `json:"secret"`
		}
		if err := json.Unmarshal(b, &st); err != nil || st.Secret == "" || st.MethodID == "" {
			return fmt.Errorf("TOTP enrolment answer: %s", b)
		}
		// The earliest step the server still takes, so the account keeps
		// the later ones for the measurement.
		now := time.Now()
		step := totpStep(now)
		if now.Unix()%30 < 20 {
			step--
		}
		code, err := totpCode(st.Secret, step)
		if err != nil {
			return err
		}
		if _, err := callJSON(ctx, c, "POST", baseURL+"/api/v1/two-step/totp/"+st.MethodID+"/confirm", tok, map[string]string{"code": code}, http.StatusOK); err != nil {
			return err
		}
		out[i] = &totpAccount{account: accts[i], secret: st.Secret, last: step}
		return nil
	})
	return out, err
}

// totpPool hands out accounts with an unused TOTP step, round-robin. The
// server accepts the steps either side of now and never one at or before
// the last used, so each account gives a few codes per 30 seconds.
type totpPool struct {
	accts []*totpAccount
	next  atomic.Uint64
}

// take returns an account and a step its code may use now. A step is
// usable while the server will still see it as current or adjacent when
// the request arrives: now's step and the next one always, the previous
// one only in the first 20 seconds of the current step.
func (p *totpPool) take(now time.Time) (*totpAccount, int64, error) {
	cur := totpStep(now)
	lo := cur
	if now.Unix()%30 < 20 {
		lo = cur - 1
	}
	for range p.accts {
		a := p.accts[int(p.next.Add(1)%uint64(len(p.accts)))]
		a.mu.Lock()
		step := max(a.last+1, lo)
		if step <= cur+1 {
			a.last = step
			a.mu.Unlock()
			return a, step, nil
		}
		a.mu.Unlock()
	}
	return nil, 0, errPoolExhausted
}

func callJSON(ctx context.Context, c *http.Client, method, url, token string, body any, want int) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: status %d (want %d): %s", method, url, resp.StatusCode, want, bytes.TrimSpace(b))
	}
	return b, nil
}

// lettersOf writes b as letters (two a byte) that no part of a harness
// email can be made of: no digits and no a, c, d, e, i, l, o, p, t (the
// policy refuses a password holding a part of the email, such as an
// account's number).
func lettersOf(b []byte) string {
	const alphabet = "bghjkmnqrsuvwxyz"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, alphabet[c>>4], alphabet[c&15])
	}
	return string(out)
}
