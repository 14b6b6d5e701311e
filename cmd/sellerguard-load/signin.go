package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/crypto/argon2"
)

// argon2Params are the server's Argon2id parameters, which the baseline
// uses too.
type argon2Params struct {
	Memory  uint32
	Time    uint32
	Threads uint8
}

const (
	saltLen = 16 // internal/password's salt and key lengths
	keyLen  = 32
)

// signInPair measures raw Argon2id and SellerGuard's sign-in (kind
// "password", or "totp" with the second step) at concurrency c.
func signInPair(ctx context.Context, o *options, rep *report, round, c int, kind string, sg target, pw account, pool *totpPool, p argon2Params, progress io.Writer) error {
	test := testSignIn
	if kind == signInTOTP {
		test = testSignInTOTP
	}
	var ms []measurement
	names := order(round, targetArgon2, targetSellerGuard)
	// The baseline hashes on a pool of as many slots as the server's
	// hashing pool, so at 2 × CPUs it queues as the server does instead of
	// oversubscribing the cores.
	slots := make(chan struct{}, o.HashSlots)
	for _, name := range names {
		m := measurement{concurrency: c, warmup: o.Warmup, duration: o.Duration, maxOps: o.MaxRequests, labels: labels("client", test, name)}
		if name == targetArgon2 {
			m.serverPID = inProcess
			m.labels = labels("argon2", test, name)
			m.newOp = func(int) op { return argon2Op(pw.Password, p, slots) }
		} else {
			// Sign-ins queue for the server's hashing slots, so allow far
			// more than one hash time per request.
			client := newClient(c, 2*time.Minute)
			defer client.CloseIdleConnections()
			m.serverPID = sg.PID
			if kind == signInTOTP {
				m.newOp = func(int) op { return totpSignInOp(ctx, client, sg.URL, pool) }
			} else {
				body, err := json.Marshal(map[string]string{"email": pw.Email, "password": pw.Password})
				if err != nil {
					return err
				}
				m.newOp = func(int) op { return postOp(ctx, client, sg.URL+"/api/v1/sessions", "", body, http.StatusCreated, nil) }
			}
		}
		ms = append(ms, m)
	}
	s0, s1 := measurePair(ctx, ms[0], ms[1], o.Slices)
	rep.add(progress, round, test, names[0], c, s0)
	rep.add(progress, round, test, names[1], c, s1)
	return ctx.Err()
}

// argon2Op is the floor of a sign-in: one Argon2id key derivation with the
// server's parameters (golang.org/x/crypto/argon2, as the server uses), on
// a fresh random salt per worker, holding one of the pool's slots.
func argon2Op(pw string, p argon2Params, slots chan struct{}) op {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt)
	b := []byte(pw)
	return func() error {
		slots <- struct{}{}
		argon2.IDKey(b, salt, p.Time, p.Memory, p.Threads, keyLen)
		<-slots
		return nil
	}
}

// postOp sends one JSON POST (Bearer token if any) and expects status want;
// the answer is decoded into into when it is not nil.
func postOp(ctx context.Context, client *http.Client, url, token string, body []byte, want int, into any) op {
	return func() error { return post(ctx, client, url, token, body, want, into) }
}

func post(ctx context.Context, client *http.Client, url, token string, body []byte, want int, into any) error {
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("POST %s: status %d (want %d): %s", url, resp.StatusCode, want, trimBody(b))
	}
	if into != nil {
		return json.Unmarshal(b, into)
	}
	return nil
}

// totpSignInOp is a whole sign-in with an authenticator app: the password
// (a partial session), then the second step with a code computed here.
func totpSignInOp(ctx context.Context, client *http.Client, baseURL string, pool *totpPool) op {
	return func() error {
		a, step, err := pool.take(time.Now())
		if err != nil {
			return err
		}
		body, err := json.Marshal(map[string]string{"email": a.Email, "password": a.Password})
		if err != nil {
			return err
		}
		var si struct {
			Token              string `json:"token"`
			SecondStepRequired bool   `json:"second_step_required"`
		}
		if err := post(ctx, client, baseURL+"/api/v1/sessions", "", body, http.StatusCreated, &si); err != nil {
			return err
		}
		if si.Token == "" || !si.SecondStepRequired {
			return fmt.Errorf("sign-in of a TOTP account: want a partial session, got %+v", si)
		}
		code, err := totpCode(a.secret, step)
		if err != nil {
			return err
		}
		body, err = json.Marshal(map[string]string{"method": "totp", "code": code})
		if err != nil {
			return err
		}
		return post(ctx, client, baseURL+"/api/v1/session/second-step", si.Token, body, http.StatusOK, nil)
	}
}
