package dkim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	msgdkim "github.com/emersion/go-msgauth/dkim"
)

const testMessage = "From: SellerGuard <no-reply@example.com>\r\n" +
	"To: alice@example.net\r\n" +
	"Subject: Your sign-in code\r\n" +
	"Date: Tue, 03 Nov 2026 10:00:00 +0000\r\n" +
	"Message-ID: <abc123@example.com>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Your sign-in code is 424242.\r\n" +
	"If you did not ask for it, ignore this message.\r\n"

// writeKey generates a key of alg into a 0600 file and returns its path
// and TXT record.
func writeKey(t *testing.T, alg string) (string, string) {
	t.Helper()
	pemBytes, txt, err := GenerateKey(alg)
	if err != nil {
		t.Fatalf("GenerateKey(%q): %v", alg, err)
	}
	path := filepath.Join(t.TempDir(), "dkim.key")
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, txt
}

// verifyWith verifies raw with go-msgauth, answering the key lookup for
// name with txt (no DNS). It returns the error of the single signature.
func verifyWith(t *testing.T, raw []byte, name, txt string) error {
	t.Helper()
	lookups := 0
	opts := &msgdkim.VerifyOptions{LookupTXT: func(domain string) ([]string, error) {
		lookups++
		if domain != name {
			return nil, fmt.Errorf("unexpected lookup of %q, want %q", domain, name)
		}
		return []string{txt}, nil
	}}
	verifs, err := msgdkim.VerifyWithOptions(bytes.NewReader(raw), opts)
	if err != nil {
		t.Fatalf("VerifyWithOptions: %v", err)
	}
	if len(verifs) != 1 {
		t.Fatalf("got %d signatures, want 1", len(verifs))
	}
	if lookups != 1 {
		t.Fatalf("%d key lookups, want 1", lookups)
	}
	return verifs[0].Err
}

func flipBodyByte(t *testing.T, raw []byte, word string) []byte {
	t.Helper()
	sep := bytes.Index(raw, []byte("\r\n\r\n"))
	i := bytes.Index(raw[sep:], []byte(word))
	if sep < 0 || i < 0 {
		t.Fatalf("body has no %q", word)
	}
	out := bytes.Clone(raw)
	out[sep+i] ^= 0x01 // '4' -> '5', a letter to its neighbour
	return out
}

func TestDKIMSignVerifiesAndTamperingFails(t *testing.T) {
	for _, alg := range []string{AlgorithmRSA, AlgorithmEd25519} {
		t.Run(alg, func(t *testing.T) {
			keyFile, txt := writeKey(t, alg)
			if !strings.HasPrefix(txt, "v=DKIM1; k="+alg+"; p=") {
				t.Fatalf("TXT record %q", txt)
			}
			s, err := LoadSigner(keyFile, "Example.COM.", "sg2026")
			if err != nil {
				t.Fatalf("LoadSigner: %v", err)
			}
			if s.Domain() != "example.com" || s.Selector() != "sg2026" || s.Algorithm() != alg || s.TXTRecord() != txt {
				t.Fatalf("signer %q %q %q %q", s.Domain(), s.Selector(), s.Algorithm(), s.TXTRecord())
			}
			if s.RecordName() != "sg2026._domainkey.example.com." {
				t.Fatalf("RecordName %q", s.RecordName())
			}
			signed, err := s.Sign([]byte(testMessage))
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if !bytes.HasPrefix(signed, []byte("DKIM-Signature: ")) || !bytes.HasSuffix(signed, []byte(testMessage)) {
				t.Fatalf("signed message is not the original with a DKIM-Signature prepended:\n%s", signed)
			}
			sig := string(signed[:len(signed)-len(testMessage)])
			unfolded := strings.NewReplacer("\r\n", "", " ", "", "\t", "").Replace(sig)
			for _, want := range []string{
				"a=" + alg + "-sha256;", "c=relaxed/relaxed;", "d=example.com;", "s=sg2026;",
				"h=From:To:Subject:Date:Message-ID:MIME-Version:Content-Type:Content-Transfer-Encoding:From;",
			} {
				if !strings.Contains(unfolded, want) {
					t.Errorf("signature lacks %q:\n%s", want, sig)
				}
			}

			name := "sg2026._domainkey.example.com"
			if err := verifyWith(t, signed, name, txt); err != nil {
				t.Fatalf("signed message does not verify: %v\n%s", err, signed)
			}
			if err := s.Verify(signed); err != nil {
				t.Fatalf("Signer.Verify: %v", err)
			}
			// As received: trace fields prepended, which DKIM ignores.
			received := append([]byte("Received: from relay.example.org by mx.example.net; Tue, 3 Nov 2026 10:00:01 +0000\r\n"), signed...)
			if err := verifyWith(t, received, name, txt); err != nil {
				t.Fatalf("received message does not verify: %v", err)
			}

			tampered := flipBodyByte(t, signed, "424242")
			if err := verifyWith(t, tampered, name, txt); err == nil {
				t.Fatalf("a message with one body byte changed still verifies")
			} else if !strings.Contains(err.Error(), "body hash") {
				t.Fatalf("tampered body: %v, want a body hash mismatch", err)
			}
			if err := s.Verify(tampered); err == nil {
				t.Fatalf("Signer.Verify accepts a tampered body")
			}
			subj := bytes.Replace(signed, []byte("Subject: Your sign-in code"), []byte("Subject: Your sign-in codf"), 1)
			if err := verifyWith(t, subj, name, txt); err == nil {
				t.Fatalf("a changed Subject still verifies")
			}
			// Over-signed From: a second From field breaks the signature.
			extraFrom := bytes.Replace(signed, []byte("From: SellerGuard"), []byte("From: Mallory <m@evil.example>\r\nFrom: SellerGuard"), 1)
			if err := verifyWith(t, extraFrom, name, txt); err == nil {
				t.Fatalf("an added From field still verifies")
			}
			// Another key under the same name does not verify.
			_, otherTXT := writeKey(t, alg)
			if err := verifyWith(t, signed, name, otherTXT); err == nil {
				t.Fatalf("verifies against another key")
			}
		})
	}
}

func TestDKIMVerifyUnsigned(t *testing.T) {
	keyFile, _ := writeKey(t, AlgorithmEd25519)
	s, err := LoadSigner(keyFile, "example.com", "sellerguard")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify([]byte(testMessage)); !errors.Is(err, ErrNoSignature) {
		t.Fatalf("Verify(unsigned) = %v, want ErrNoSignature", err)
	}
	other, err := LoadSigner(keyFile, "example.org", "sellerguard")
	if err != nil {
		t.Fatal(err)
	}
	signed, err := other.Sign([]byte(testMessage))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(signed); !errors.Is(err, ErrNoSignature) {
		t.Fatalf("Verify(signed for another domain) = %v, want ErrNoSignature", err)
	}
}

func TestDKIMSignRejectsBareLineEndings(t *testing.T) {
	keyFile, _ := writeKey(t, AlgorithmEd25519)
	s, err := LoadSigner(keyFile, "example.com", "sellerguard")
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string]string{
		"bare LF":      strings.ReplaceAll(testMessage, "\r\n", "\n"),
		"bare CR":      strings.Replace(testMessage, "424242.", "424242.\r", 1),
		"no separator": "From: a@example.com\r\nSubject: x\r\n",
	} {
		if _, err := s.Sign([]byte(raw)); err == nil {
			t.Errorf("%s: Sign succeeded", name)
		}
	}
}

func TestDKIMLoadSignerRefusesKeyFileReadableByOthers(t *testing.T) {
	keyFile, _ := writeKey(t, AlgorithmRSA)
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o602} {
		if err := os.Chmod(keyFile, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadSigner(keyFile, "example.com", "sellerguard")
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %#o: LoadSigner = %v, want a refusal naming chmod 600", mode, err)
		}
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		if err := os.Chmod(keyFile, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadSigner(keyFile, "example.com", "sellerguard"); err != nil {
			t.Errorf("mode %#o: %v", mode, err)
		}
	}
	if _, err := LoadSigner(filepath.Join(t.TempDir(), "missing.key"), "example.com", "sellerguard"); err == nil {
		t.Error("missing key file accepted")
	}
	if _, err := LoadSigner(t.TempDir(), "example.com", "sellerguard"); err == nil {
		t.Error("directory accepted as key file")
	}
	if _, err := LoadSigner("", "example.com", "sellerguard"); err == nil {
		t.Error("empty key file name accepted")
	}
}

func writePEM(t *testing.T, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDKIMLoadSignerKeyTypes(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(small)
	if _, err := LoadSigner(writePEM(t, "PRIVATE KEY", der), "example.com", "s1"); err == nil || !strings.Contains(err.Error(), "1024 bits") {
		t.Errorf("RSA-1024 (PKCS #8): %v, want a refusal", err)
	}
	if _, err := LoadSigner(writePEM(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(small)), "example.com", "s1"); err == nil || !strings.Contains(err.Error(), "at least 2048") {
		t.Errorf("RSA-1024 (PKCS #1): %v, want a refusal", err)
	}

	big, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadSigner(writePEM(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(big)), "example.com", "s1")
	if err != nil {
		t.Fatalf("RSA-3072 PKCS #1: %v", err)
	}
	signed, err := s.Sign([]byte(testMessage))
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyWith(t, signed, "s1._domainkey.example.com", s.TXTRecord()); err != nil {
		t.Fatalf("RSA-3072 signature: %v", err)
	}

	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ = x509.MarshalPKCS8PrivateKey(ec)
	if _, err := LoadSigner(writePEM(t, "PRIVATE KEY", der), "example.com", "s1"); err == nil || !strings.Contains(err.Error(), "RSA or Ed25519") {
		t.Errorf("ECDSA key: %v, want a refusal", err)
	}
	if _, err := LoadSigner(writePEM(t, "CERTIFICATE", []byte("x")), "example.com", "s1"); err == nil {
		t.Error("certificate accepted as key")
	}
	if _, err := LoadSigner(writePEM(t, "ENCRYPTED PRIVATE KEY", []byte("x")), "example.com", "s1"); err == nil || !strings.Contains(err.Error(), "encrypted") {
		t.Errorf("encrypted key: %v", err)
	}
	garbage := filepath.Join(t.TempDir(), "garbage")
	if err := os.WriteFile(garbage, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSigner(garbage, "example.com", "s1"); err == nil {
		t.Error("garbage accepted as key")
	}
}

func TestDKIMLoadSignerChecksDomainAndSelector(t *testing.T) {
	keyFile, _ := writeKey(t, AlgorithmEd25519)
	for _, tc := range []struct{ domain, selector string }{
		{"", "s1"},
		{"exa mple.com", "s1"},
		{"-example.com", "s1"},
		{"example..com", "s1"},
		{"exam_ple.com", "s1"},
		{strings.Repeat("a", 64) + ".com", "s1"},
		{"example.com", ""},
		{"example.com", "s1.s2"},
		{"example.com", "sel_ector"},
		{"example.com", "-s1"},
		{"example.com", strings.Repeat("s", 64)},
	} {
		if _, err := LoadSigner(keyFile, tc.domain, tc.selector); err == nil {
			t.Errorf("LoadSigner(domain %q, selector %q) accepted", tc.domain, tc.selector)
		}
	}
	if _, err := LoadSigner(keyFile, "mail.example.co.uk", "sellerguard-2026"); err != nil {
		t.Errorf("valid domain and selector: %v", err)
	}
}

func TestDKIMGenerateKey(t *testing.T) {
	pemBytes, txt, err := GenerateKey("")
	if err != nil {
		t.Fatal(err)
	}
	key, err := ParsePrivateKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok || rk.N.BitLen() != 2048 {
		t.Fatalf("default key is %T, want RSA-2048", key)
	}
	if !strings.HasPrefix(txt, "v=DKIM1; k=rsa; p=MII") {
		t.Fatalf("TXT %q", txt)
	}
	_, txt, err = GenerateKey("ed25519")
	if err != nil || !strings.HasPrefix(txt, "v=DKIM1; k=ed25519; p=") || len(txt) != len("v=DKIM1; k=ed25519; p=")+44 {
		t.Fatalf("ed25519: %q %v", txt, err)
	}
	if _, _, err := GenerateKey("dsa"); err == nil {
		t.Fatal("unknown algorithm accepted")
	}
}

func TestDKIMZoneLineSplitsAt255(t *testing.T) {
	_, txt, err := GenerateKey(AlgorithmRSA)
	if err != nil {
		t.Fatal(err)
	}
	line := ZoneLine("sellerguard", "Example.com.", txt)
	const prefix = `sellerguard._domainkey.example.com. IN TXT "`
	if !strings.HasPrefix(line, prefix) || !strings.HasSuffix(line, `"`) || strings.Contains(line, "\n") {
		t.Fatalf("zone line %q", line)
	}
	parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(line, prefix), `"`), `" "`)
	if len(parts) != 2 || len(parts[0]) != 255 || strings.Join(parts, "") != txt {
		t.Fatalf("parts %d (%d bytes first), joined == txt: %v", len(parts), len(parts[0]), strings.Join(parts, "") == txt)
	}
	if got := SplitTXT("short"); len(got) != 1 || got[0] != "short" {
		t.Fatalf("SplitTXT(short) = %q", got)
	}
	if got := SplitTXT(strings.Repeat("x", 510)); len(got) != 2 {
		t.Fatalf("SplitTXT(510 bytes) = %d parts", len(got))
	}
}

func TestDKIMHash(t *testing.T) {
	raw := []byte(testMessage)
	sum := sha256.Sum256(raw)
	if got := Hash(raw); got != hex.EncodeToString(sum[:]) || len(got) != 64 {
		t.Fatalf("Hash = %q", got)
	}
	if Hash(raw) == Hash(flipBodyByte(t, raw, "424242")) {
		t.Fatal("hash ignores a changed byte")
	}
}
