package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/dkim"
	"github.com/sellerguard/sellerguard/internal/testenv"
)

// TestSIGHUPReloadsTheDKIMKey rotates the DKIM key of a running server
// process: after SIGHUP the next email is signed with the new key (and no
// longer verifies with the old one). A broken key file on SIGHUP keeps the
// key in use, and the process keeps serving.
func TestSIGHUPReloadsTheDKIMKey(t *testing.T) {
	t.Parallel()
	srv := testenv.StartSMTP(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "dkim.key")
	writeKey := func() *dkim.Signer {
		t.Helper()
		pemKey, _, err := dkim.GenerateKey("ed25519")
		if err != nil {
			t.Fatal(err)
		}
		tmp := keyFile + ".new"
		if err := os.WriteFile(tmp, pemKey, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, keyFile); err != nil { // as an operator rotates it
			t.Fatal(err)
		}
		s, err := dkim.LoadSigner(keyFile, "sellerguard.test", "sellerguard")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	old := writeKey()
	p := startProcess(t, []string{
		"SELLERGUARD_ADDR=127.0.0.1:0", "SELLERGUARD_DATA_DIR=" + dir, "SELLERGUARD_LOG_LEVEL=info",
		"SELLERGUARD_ARGON2_MEMORY=1024", "SELLERGUARD_ARGON2_TIME=1", "SELLERGUARD_OUTBOX_POLL_INTERVAL=50ms",
		"SELLERGUARD_SMTP_URL=smtp://" + srv.Addr, "SELLERGUARD_MAIL_FROM=SellerGuard <no-reply@sellerguard.test>",
		"SELLERGUARD_DKIM_KEY_FILE=" + keyFile,
	})
	client := p.client()
	sent := 0
	nextMail := func(email string) []byte {
		t.Helper()
		if st, body, err := postJSON(client, p.url+"/api/v1/signup", map[string]string{"email": email, "password": "correct horse battery staple", "business_name": "Keys"}); err != nil || st != 202 {
			t.Fatalf("signup: %d %s %v", st, body, err)
		}
		sent++
		return srv.WaitMessages(t, sent, 20*time.Second)[sent-1]
	}
	if err := old.Verify(nextMail("one@example.com")); err != nil {
		t.Fatalf("before the rotation: %v", err)
	}

	rotated := writeKey()
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, "reloaded")
	raw := nextMail("two@example.com")
	if err := rotated.Verify(raw); err != nil {
		t.Fatalf("after SIGHUP the email is not signed with the new key: %v", err)
	}
	if err := old.Verify(raw); err == nil {
		t.Fatal("after SIGHUP the email still verifies with the old key")
	}

	// A broken key file: the reload fails loudly and the new key stays.
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, "reload failed; keeping the previous one")
	if err := rotated.Verify(nextMail("three@example.com")); err != nil {
		t.Fatalf("after a failed reload: %v", err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, p.logs)
	}
}
