package config

import "testing"

// The default local start is reached where passkeys work: browsers allow
// WebAuthn only on a domain name (never an IP address), and http://localhost
// is a secure context. So a loopback IP without TLS is reached as localhost,
// on the same port; every other address keeps its form, and a base URL that
// is set is never changed.
func TestDefaultBaseURLIsLocalhostForALoopbackStart(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL != "http://localhost:8080" {
		t.Errorf("default base URL = %q, want http://localhost:8080 (the README's address)", c.BaseURL)
	}
	for addr, want := range map[string]string{
		"127.0.0.1:9000": "http://localhost:9000",
		"[::1]:8081":     "http://localhost:8081",
		"localhost:8082": "http://localhost:8082",
		"127.0.0.2:8083": "http://127.0.0.2:8083", // localhost does not reach it
		"0.0.0.0:8084":   "http://0.0.0.0:8084",
		"10.1.2.3:8085":  "http://10.1.2.3:8085",
	} {
		c, err := load(t, map[string]string{"SELLERGUARD_ADDR": addr, "SELLERGUARD_SMTP_URL": "smtp://127.0.0.1:25"})
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		if c.BaseURL != want {
			t.Errorf("SELLERGUARD_ADDR=%s: base URL %q, want %q", addr, c.BaseURL, want)
		}
	}
	c, err = load(t, map[string]string{"SELLERGUARD_BASE_URL": "http://127.0.0.1:8080"})
	if err != nil || c.BaseURL != "http://127.0.0.1:8080" {
		t.Errorf("a base URL that is set changed: %q %v", c.BaseURL, err)
	}
	c, err = load(t, nil, "--tls-cert-file", "c.pem", "--tls-key-file", "k.pem")
	if err != nil || c.BaseURL != "https://127.0.0.1:8080" {
		t.Errorf("with TLS: %q %v (the certificate names the address)", c.BaseURL, err)
	}
}
