package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/testenv"
)

// slowProxy forwards TCP to target and holds each answer of the target for
// delay, so every SMTP delivery takes a few hundred milliseconds: a
// delivery is always in hand when the server is told to stop.
func slowProxy(t *testing.T, target string, delay time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer func() { _ = up.Close() }()
				go func() { _, _ = io.Copy(up, c) }()
				buf := make([]byte, 32<<10)
				for {
					n, err := up.Read(buf)
					if n > 0 {
						time.Sleep(delay)
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

var mailCodeRE = regexp.MustCompile(`code is: (\d{6})`)

// TestSIGTERMUnderLoadLosesNothing stops a real server process with SIGTERM
// while sign-ups pour in and the outbox worker is in the middle of an SMTP
// delivery (made slow on purpose). The process exits within the shutdown
// timeout with status 0 and leaves no message half-delivered; after a
// restart every acknowledged sign-up is there, its code email arrives
// exactly once, it verifies and signs in, and no message was sent twice.
func TestSIGTERMUnderLoadLosesNothing(t *testing.T) {
	srv := testenv.StartSMTP(t)
	dataDir := t.TempDir()
	dbURL := "sqlite://" + dataDir + "/sellerguard.db"
	const shutdownTimeout = 10 * time.Second
	base := []string{
		"SELLERGUARD_ADDR=127.0.0.1:0", "SELLERGUARD_DATA_DIR=" + dataDir, "SELLERGUARD_DATABASE_URL=" + dbURL,
		"SELLERGUARD_ARGON2_MEMORY=1024", "SELLERGUARD_ARGON2_TIME=1", "SELLERGUARD_LOG_LEVEL=info",
		"SELLERGUARD_LIMIT_SIGNUPS_PER_SOURCE=10000", "SELLERGUARD_OUTBOX_POLL_INTERVAL=50ms",
		"SELLERGUARD_SHUTDOWN_TIMEOUT=" + shutdownTimeout.String(),
		"SELLERGUARD_MAIL_FROM=SellerGuard <no-reply@sellerguard.test>",
	}
	slow := append(append([]string(nil), base...), "SELLERGUARD_SMTP_URL=smtp://"+slowProxy(t, srv.Addr, 40*time.Millisecond))
	p := startProcess(t, slow)
	client := &http.Client{Timeout: 30 * time.Second}

	var (
		mu    sync.Mutex
		acked []string // sign-ups answered 202
		stop  atomic.Bool
		wg    sync.WaitGroup
		n5xx  atomic.Int32
	)
	for w := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load() && i < 200; i++ {
				email := fmt.Sprintf("term%d-%d@example.com", w, i)
				st, _, err := postJSON(client, p.url+"/api/v1/signup", map[string]string{"email": email, "password": "correct horse battery staple", "business_name": "Term"})
				if err != nil {
					return // the server has stopped listening
				}
				if st >= 500 {
					n5xx.Add(1)
				}
				if st == 202 {
					mu.Lock()
					acked = append(acked, email)
					mu.Unlock()
				}
			}
		})
	}
	// Let messages queue up behind the slow deliveries, and wait until some
	// went out (a delivery is then in hand).
	srv.WaitMessages(t, 2, 30*time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 40 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	sentBefore := len(srv.Messages(t))
	termAt := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := p.cmd.Wait()
	exitAfter := time.Since(termAt)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs)
	}
	if exitAfter > shutdownTimeout {
		t.Fatalf("exited %v after SIGTERM, beyond the shutdown timeout %v", exitAfter, shutdownTimeout)
	}
	if n5xx.Load() > 0 {
		t.Fatalf("%d requests answered 5xx during the shutdown:\n%s", n5xx.Load(), p.logs)
	}
	if strings.Contains(p.logs.String(), "did not finish within the shutdown timeout") {
		t.Fatalf("the delivery in hand was aborted:\n%s", p.logs)
	}
	// Nothing is left half-delivered: the delivery in hand was finished and
	// recorded, the other claimed messages were handed back.
	raw := openRaw(t, dbURL)
	var sending, pending int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM outbox WHERE status = 'sending'`).Scan(&sending); err != nil {
		t.Fatal(err)
	}
	if err := raw.QueryRow(`SELECT COUNT(*) FROM outbox WHERE status = 'pending'`).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if sending != 0 {
		t.Fatalf("%d messages were left mid-delivery (status sending): they would be sent again after their lease", sending)
	}
	if pending == 0 {
		t.Fatal("no message was still queued at SIGTERM: the test did not stop the server under load")
	}
	mu.Lock()
	ackedAll := append([]string(nil), acked...)
	mu.Unlock()

	// Restart with a fast mail path: the queued messages go out.
	fast := append(append([]string(nil), base...), "SELLERGUARD_SMTP_URL=smtp://"+srv.Addr)
	p2 := startProcess(t, fast)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var left int
		if err := raw.QueryRow(`SELECT COUNT(*) FROM outbox WHERE status <> 'sent'`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still undelivered after the restart:\n%s", left, p2.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var rows int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM outbox`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	msgs := srv.WaitMessages(t, rows, 30*time.Second)
	seen := map[string]int{}
	codes := map[string][]string{}
	for _, b := range msgs {
		m, err := mail.ReadMessage(strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		seen[m.Header.Get("Message-Id")]++
		if c := mailCodeRE.FindStringSubmatch(string(b)); c != nil {
			to, _ := mail.ParseAddress(m.Header.Get("To"))
			if to != nil {
				codes[to.Address] = append(codes[to.Address], c[1])
			}
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("message %s was sent %d times", id, n)
		}
	}
	if len(msgs) != rows {
		t.Errorf("%d emails arrived for %d outbox messages", len(msgs), rows)
	}
	for _, email := range ackedAll {
		c := codes[email]
		if len(c) != 1 {
			t.Errorf("sign-up %s was acknowledged; its code email arrived %d times", email, len(c))
			continue
		}
		st, body, err := postJSON(client, p2.url+"/api/v1/signup/verify", map[string]string{"email": email, "code": c[0]})
		if err != nil || st != 201 {
			t.Errorf("%s: the acknowledged sign-up does not verify after the restart: %d %s %v", email, st, body, err)
			continue
		}
		st, body, err = postJSON(client, p2.url+"/api/v1/sessions", map[string]string{"email": email, "password": "correct horse battery staple"})
		if err != nil || st != 201 {
			t.Errorf("%s cannot sign in: %d %s %v", email, st, body, err)
		}
	}
	t.Logf("SIGTERM with %d sign-ups acknowledged, %d emails out and %d queued: exit 0 after %v (timeout %v); after the restart %d emails, each once, every sign-up verified and signed in",
		len(ackedAll), sentBefore, pending, exitAfter.Round(time.Millisecond), shutdownTimeout, len(msgs))
}
