package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/dkim"
	"github.com/sellerguard/sellerguard/internal/mail"
	"github.com/sellerguard/sellerguard/internal/testenv"
)

func runDKIM(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cmdDKIM(context.Background(), args, func(k string) string { return env[k] }, &out, &errb)
	return code, out.String(), errb.String()
}

// zoneLine matches the record line keygen prints:
// <selector>._domainkey.<domain>. IN TXT "…" "…"
var zoneLine = regexp.MustCompile(`^([A-Za-z0-9-]+)\._domainkey\.([a-z0-9.-]+)\. IN TXT((?: "[^"\\]*")+)$`)

// parseZoneLine returns the record name (with the trailing dot) and the
// TXT value (its character-strings concatenated, as resolvers do).
func parseZoneLine(t *testing.T, out string) (name, txt string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want the record line and one explanation line, got %d lines:\n%s", len(lines), out)
	}
	m := zoneLine.FindStringSubmatch(lines[0])
	if m == nil {
		t.Fatalf("first line is not `<selector>._domainkey.<domain>. IN TXT \"...\"`: %q", lines[0])
	}
	var parts []string
	for _, q := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(m[3], -1) {
		if len(q[1]) > 255 {
			t.Fatalf("TXT character-string of %d bytes (max 255)", len(q[1]))
		}
		parts = append(parts, q[1])
	}
	if !strings.HasPrefix(lines[1], "; ") {
		t.Fatalf("explanation line is not a zone-file comment: %q", lines[1])
	}
	return m[1] + "._domainkey." + m[2] + ".", strings.Join(parts, "")
}

// dkimPyScript verifies a message with python3-dkim (dkimpy), answering
// the key lookup from a file instead of DNS (there is no DNS here).
const dkimPyScript = `import logging, sys
import dkim

msg_path, want_name, txt_path = sys.argv[1:4]
msg = open(msg_path, "rb").read()
txt = open(txt_path, "rb").read()
queries = []

def dnsfunc(name, timeout=5):
    queries.append(name)
    if name.decode("ascii").lower() != want_name.lower():
        sys.stderr.write("unexpected key lookup %r (want %r)\n" % (name, want_name))
        return None
    return txt

logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="dkimpy: %(message)s")
ok = dkim.verify(msg, logger=logging.getLogger("dkimpy"), dnsfunc=dnsfunc)
if len(queries) != 1:
    sys.stderr.write("key lookups: %r\n" % queries)
    ok = False
print("dkimpy: signature ok" if ok else "dkimpy: signature FAILED")
sys.exit(0 if ok else 1)
`

// systemPython is Debian's python3, which has python3-dkim (the python3
// first in PATH may be another installation without it).
const systemPython = "/usr/bin/python3"

// requirePythonDKIM makes sure python3-dkim is usable, failing (strict)
// or skipping the test otherwise.
func requirePythonDKIM(t *testing.T) {
	t.Helper()
	testenv.RequireCommand(t, "dkimverify")
	out, err := exec.Command(systemPython, "-c", "import dkim, nacl").CombinedOutput()
	if err != nil {
		testenv.Missing(t, "%s cannot import dkim and nacl (%v: %s); install with: %s", systemPython, err, out, testenv.InstallHint("dkimverify"))
	}
}

// pythonVerify runs dkimPyScript on msg and reports whether it passed.
func pythonVerify(t *testing.T, script string, msg []byte, name, txt string) (bool, string) {
	t.Helper()
	dir := t.TempDir()
	msgFile, txtFile := filepath.Join(dir, "msg.eml"), filepath.Join(dir, "key.txt")
	if err := os.WriteFile(msgFile, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(txtFile, []byte(txt), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, systemPython, script, msgFile, name, txtFile)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok || ctx.Err() != nil {
			t.Fatalf("run python3-dkim: %v\n%s", err, out)
		}
	}
	ok := err == nil
	if ok != strings.Contains(string(out), "dkimpy: signature ok") {
		t.Fatalf("python3-dkim exit status and output disagree (err %v):\n%s", err, out)
	}
	return ok, string(out)
}

// TestDKIMKeygenRecordVerifiesWithPythonDKIM is the proof: a key
// made by `sellerguard dkim keygen`, a message sent through the real SMTP
// sender with the DKIM signer and captured byte for byte by a real SMTP
// server (aiosmtpd) verifies with an independent verifier (python3-dkim)
// against the TXT record keygen printed, and fails after one byte of its
// body is changed.
func TestDKIMKeygenRecordVerifiesWithPythonDKIM(t *testing.T) {
	requirePythonDKIM(t)
	srv := testenv.StartSMTP(t)
	script := filepath.Join(t.TempDir(), "dkim_verify.py")
	if err := os.WriteFile(script, []byte(dkimPyScript), 0o600); err != nil {
		t.Fatal(err)
	}

	const from = "SellerGuard <no-reply@shop.example>"
	sent := 0
	for _, tc := range []struct{ alg, selector string }{
		{"rsa", ""},           // defaults: selector "sellerguard", RSA-2048
		{"ed25519", "ed2026"}, // RFC 8463
	} {
		t.Run(tc.alg, func(t *testing.T) {
			dataDir := t.TempDir()
			env := map[string]string{"SELLERGUARD_DATA_DIR": dataDir, "SELLERGUARD_MAIL_FROM": from}
			args := []string{"keygen"}
			if tc.alg != "rsa" {
				args = append(args, "--algorithm", tc.alg, "--selector", tc.selector)
			}
			code, out, errOut := runDKIM(t, env, args...)
			if code != 0 {
				t.Fatalf("dkim keygen: exit %d\n%s%s", code, out, errOut)
			}
			t.Logf("dkim keygen printed:\n%s", out)
			name, txt := parseZoneLine(t, out)
			selector := tc.selector
			if selector == "" {
				selector = "sellerguard"
			}
			if name != selector+"._domainkey.shop.example." {
				t.Fatalf("record name %q", name)
			}
			if !strings.HasPrefix(txt, "v=DKIM1; k="+tc.alg+"; p=") {
				t.Fatalf("TXT value %q", txt)
			}
			keyFile := filepath.Join(dataDir, "dkim.key")
			if !strings.Contains(out, keyFile) {
				t.Fatalf("explanation does not name the key file %s:\n%s", keyFile, out)
			}

			signer, err := dkim.LoadSigner(keyFile, "shop.example", selector)
			if err != nil {
				t.Fatalf("LoadSigner on the keygen key: %v", err)
			}
			sender, err := mail.NewSMTPSender(mail.SMTPConfig{URL: "smtp://" + srv.Addr, From: from, Signer: signer, Timeout: 20 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			msgID, raw, err := sender.Send(context.Background(), mail.Message{
				To:      "Alice Seller <alice@example.net>",
				Subject: "Your SellerGuard sign-in code",
				Text:    "Your sign-in code is 424242.\nIt expires in 10 minutes. If you did not ask for it, ignore this message.\n",
				HTML:    "<p>Your sign-in code is <b>424242</b>.</p>",
			})
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			sent++
			msgs := srv.WaitMessages(t, sent, 20*time.Second)
			captured := msgs[sent-1]
			// Exactly the signed bytes arrived (after the server's trace
			// fields), so the ledger hash of raw identifies them.
			if !bytes.HasSuffix(captured, raw) || !bytes.HasPrefix(raw, []byte("DKIM-Signature: ")) {
				t.Fatalf("captured message is not the signed bytes that Send returned\ncaptured:\n%s\nsent:\n%s", captured, raw)
			}
			if !bytes.Contains(captured, []byte("Message-ID: "+msgID)) {
				t.Fatalf("captured message lacks Message-ID %s", msgID)
			}
			if dkim.Hash(captured[len(captured)-len(raw):]) != dkim.Hash(raw) {
				t.Fatal("ledger hash differs from the captured bytes")
			}

			ok, pyOut := pythonVerify(t, script, captured, name, txt)
			if !ok {
				t.Fatalf("python3-dkim rejects the captured message:\n%s\nmessage:\n%s", pyOut, captured)
			}
			t.Logf("python3-dkim on the captured message: %s", strings.TrimSpace(pyOut))

			// Change one byte of the body: '4' -> '5' in the code.
			sep := bytes.Index(captured, []byte("\r\n\r\n"))
			i := bytes.Index(captured[sep:], []byte("424242"))
			if sep < 0 || i < 0 {
				t.Fatalf("no code in the body of:\n%s", captured)
			}
			tampered := bytes.Clone(captured)
			tampered[sep+i]++
			if bytes.Equal(tampered, captured) || len(tampered) != len(captured) {
				t.Fatal("tampering changed nothing")
			}
			ok, pyOut = pythonVerify(t, script, tampered, name, txt)
			if ok {
				t.Fatalf("python3-dkim accepts the message with one body byte changed:\n%s", pyOut)
			}
			t.Logf("python3-dkim on the tampered message: %s", strings.TrimSpace(pyOut))

			// And our own check agrees, without DNS.
			if err := signer.Verify(captured); err != nil {
				t.Fatalf("Signer.Verify(captured): %v", err)
			}
			if err := signer.Verify(tampered); err == nil {
				t.Fatal("Signer.Verify accepts the tampered message")
			}
		})
	}
}

func TestDKIMKeygenWritesKeyAndRefusesOverwrite(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "not", "yet")
	env := map[string]string{"SELLERGUARD_DATA_DIR": dataDir}
	code, out, errOut := runDKIM(t, env, "keygen")
	if code != 0 {
		t.Fatalf("keygen: %d %s%s", code, out, errOut)
	}
	name, txt := parseZoneLine(t, out)
	// Default domain: that of the default From address.
	if name != "sellerguard._domainkey.sellerguard.localhost." || !strings.HasPrefix(txt, "v=DKIM1; k=rsa; p=") {
		t.Fatalf("record %q %q", name, txt)
	}
	if !strings.Contains(out, "SELLERGUARD_DKIM_KEY_FILE=") {
		t.Fatalf("explanation does not say how to use the key:\n%s", out)
	}
	keyFile := filepath.Join(dataDir, "dkim.key")
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %#o, want 0600", fi.Mode().Perm())
	}
	if di, err := os.Stat(dataDir); err != nil || di.Mode().Perm()&0o077 != 0 {
		t.Fatalf("created data dir: %v %v", di.Mode(), err)
	}
	before, _ := os.ReadFile(keyFile)

	code, out, errOut = runDKIM(t, env, "keygen")
	if code != 1 || !strings.Contains(errOut, "already exists") || !strings.Contains(errOut, "--force") || out != "" {
		t.Fatalf("second keygen: %d %q %q", code, out, errOut)
	}
	if after, _ := os.ReadFile(keyFile); !bytes.Equal(after, before) {
		t.Fatal("refused keygen changed the key file")
	}

	// `dkim record` prints the same record for the existing key.
	code, recOut, errOut := runDKIM(t, env, "record")
	if code != 0 {
		t.Fatalf("record: %d %s", code, errOut)
	}
	if n2, t2 := parseZoneLine(t, recOut); n2 != name || t2 != txt {
		t.Fatalf("record prints %q %q, keygen printed %q %q", n2, t2, name, txt)
	}

	// --force replaces it, still 0600, even when the old file was lax.
	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runDKIM(t, env, "record"); code != 1 || !strings.Contains(errOut, "chmod 600") {
		t.Fatalf("record with a 0644 key: %d %q", code, errOut)
	}
	code, out, errOut = runDKIM(t, env, "keygen", "--force", "--algorithm", "ed25519")
	if code != 0 {
		t.Fatalf("keygen --force: %d %s", code, errOut)
	}
	if _, txt2 := parseZoneLine(t, out); !strings.HasPrefix(txt2, "v=DKIM1; k=ed25519; p=") {
		t.Fatalf("forced ed25519 record %q", txt2)
	}
	if after, _ := os.ReadFile(keyFile); bytes.Equal(after, before) {
		t.Fatal("--force did not replace the key")
	}
	if fi, _ := os.Stat(keyFile); fi.Mode().Perm() != 0o600 {
		t.Fatalf("replaced key mode %#o", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dataDir); len(entries) != 1 {
		t.Fatalf("data dir holds %d entries (temporary files left?)", len(entries))
	}

	// --out, --selector and --domain win over the settings.
	out2 := filepath.Join(t.TempDir(), "keys", "k.pem")
	env["SELLERGUARD_DKIM_SELECTOR"] = "fromenv"
	code, out, errOut = runDKIM(t, env, "keygen", "--out", out2, "--selector", "s2026", "--domain", "Mail.Example.ORG.")
	if code != 0 {
		t.Fatalf("keygen --out: %d %s", code, errOut)
	}
	if name, _ := parseZoneLine(t, out); name != "s2026._domainkey.mail.example.org." {
		t.Fatalf("record name %q", name)
	}
	if fi, err := os.Stat(out2); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("--out file: %v", err)
	}

	// SELLERGUARD_DKIM_KEY_FILE is the default --out, the selector and
	// domain settings the defaults of the flags.
	keyEnv := filepath.Join(t.TempDir(), "configured.key")
	env = map[string]string{
		"SELLERGUARD_DATA_DIR":      dataDir,
		"SELLERGUARD_DKIM_KEY_FILE": keyEnv,
		"SELLERGUARD_DKIM_SELECTOR": "mar2026",
		"SELLERGUARD_DKIM_DOMAIN":   "example.com",
	}
	code, out, errOut = runDKIM(t, env, "keygen")
	if code != 0 {
		t.Fatalf("keygen with settings: %d %s", code, errOut)
	}
	if name, _ := parseZoneLine(t, out); name != "mar2026._domainkey.example.com." {
		t.Fatalf("record name %q", name)
	}
	if _, err := os.Stat(keyEnv); err != nil {
		t.Fatalf("SELLERGUARD_DKIM_KEY_FILE not used: %v", err)
	}
}

func TestDKIMInvalidSettingsAndUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"selector setting", map[string]string{"SELLERGUARD_DKIM_SELECTOR": "bad_selector"}, []string{"keygen"}, 1, "SELLERGUARD_DKIM_SELECTOR"},
		{"dotted selector setting", map[string]string{"SELLERGUARD_DKIM_SELECTOR": "a.b"}, []string{"keygen"}, 1, "SELLERGUARD_DKIM_SELECTOR"},
		{"domain setting", map[string]string{"SELLERGUARD_DKIM_DOMAIN": "exa mple.com"}, []string{"keygen"}, 1, "SELLERGUARD_DKIM_DOMAIN"},
		{"domain setting hyphen", map[string]string{"SELLERGUARD_DKIM_DOMAIN": "-example.com"}, []string{"keygen"}, 1, "SELLERGUARD_DKIM_DOMAIN"},
		{"no domain with key file", map[string]string{"SELLERGUARD_MAIL_FROM": "not an address", "SELLERGUARD_DKIM_KEY_FILE": filepath.Join(dir, "k")}, []string{"keygen"}, 1, "SELLERGUARD_DKIM_DOMAIN"},
		{"no domain at all", map[string]string{"SELLERGUARD_MAIL_FROM": "not an address"}, []string{"keygen"}, 2, "--domain"},
		{"selector flag", nil, []string{"keygen", "--selector", "s_1"}, 2, "selector"},
		{"domain flag", nil, []string{"keygen", "--domain", "example..com"}, 2, "domain"},
		{"algorithm", nil, []string{"keygen", "--algorithm", "dsa"}, 2, "--algorithm"},
		{"unknown flag", nil, []string{"keygen", "--bits", "1024"}, 2, "bits"},
		{"extra argument", nil, []string{"keygen", "extra"}, 2, "unexpected argument"},
		{"unknown subcommand", nil, []string{"rotate"}, 2, "unknown subcommand"},
		{"no subcommand", nil, nil, 2, "dkim keygen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"SELLERGUARD_DATA_DIR": filepath.Join(dir, tc.name)}
			for k, v := range tc.env {
				env[k] = v
			}
			code, out, errOut := runDKIM(t, env, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q), stdout %q", code, tc.code, errOut, tc.want, out)
			}
			if _, err := os.Stat(filepath.Join(dir, tc.name, "dkim.key")); err == nil {
				t.Fatal("a key was written despite the error")
			}
		})
	}
	if code, out, _ := runDKIM(t, nil, "help"); code != 0 || !strings.Contains(out, "dkim keygen") {
		t.Fatalf("help: %d %q", code, out)
	}
	if code, _, _ := runDKIM(t, nil, "keygen", "-h"); code != 0 {
		t.Fatalf("keygen -h: %d", code)
	}
}
