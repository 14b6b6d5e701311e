package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"runtime/pprof"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/sellerguard/sellerguard/internal/password"
)

// signInPair measures raw Argon2id and password sign-in at concurrency c.
func signInPair(ctx context.Context, o *options, rep *report, round, c int, sgURL string, u testUser, p password.Params, progress io.Writer) error {
	body, err := json.Marshal(map[string]string{"email": u.Email, "password": u.Password})
	if err != nil {
		return err
	}
	var ms []measurement
	names := order(round, targetArgon2, targetSellerGuard)
	for _, target := range names {
		m := measurement{concurrency: c, warmup: o.Warmup, duration: o.Duration, maxOps: o.MaxRequests}
		if target == targetArgon2 {
			m.labels = pprof.Labels("role", "argon2", "test", testSignIn, "target", target)
			m.newOp = func(int) op { return argon2Op(u.Password, p) }
		} else {
			// Sign-ins queue for the server's hashing slots, so allow far
			// more than one hash time per request.
			client := newClient(c, 2*time.Minute)
			defer client.CloseIdleConnections()
			m.labels = pprof.Labels("role", "client", "test", testSignIn, "target", target)
			m.newOp = func(int) op {
				return httpOp(ctx, client, "POST", sgURL+"/api/v1/sessions", "", body, 201)
			}
		}
		ms = append(ms, m)
	}
	s0, s1 := measurePair(ctx, ms[0], ms[1], o.Slices)
	rep.add(progress, round, testSignIn, names[0], c, s0)
	rep.add(progress, round, testSignIn, names[1], c, s1)
	return ctx.Err()
}

// argon2Op is the floor of a sign-in: one Argon2id key derivation with the
// server's parameters (golang.org/x/crypto/argon2, as the server uses), on
// a fresh random salt per worker.
func argon2Op(pw string, p password.Params) op {
	salt := make([]byte, p.SaltLen)
	rand.Read(salt)
	b := []byte(pw)
	return func() error {
		argon2.IDKey(b, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		return nil
	}
}
