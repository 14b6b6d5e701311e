package config

import (
	"strings"
	"testing"
)

func TestMetricsAddrDefaultsToLoopbackAndCanBeTurnedOff(t *testing.T) {
	c, err := load(t, nil)
	if err != nil || c.Network.MetricsAddr != "127.0.0.1:9090" {
		t.Fatalf("default metrics addr %q, %v", c.Network.MetricsAddr, err)
	}
	for name, getenv := range map[string]map[string]string{"off": {"SELLERGUARD_METRICS_ADDR": "off"}} {
		if c, err := load(t, getenv); err != nil || c.Network.MetricsAddr != "" {
			t.Errorf("%s: %q, %v", name, c.Network.MetricsAddr, err)
		}
	}
	if c, err := load(t, nil, "--metrics-addr="); err != nil || c.Network.MetricsAddr != "" {
		t.Errorf("--metrics-addr=: %q, %v", c.Network.MetricsAddr, err)
	}
	// The process environment: set to "" means off, unset means the default.
	env := Environ(func(k string) (string, bool) {
		if k == "SELLERGUARD_METRICS_ADDR" || k == "SELLERGUARD_BASE_URL" {
			return "", true
		}
		return "", false
	})
	if env("SELLERGUARD_METRICS_ADDR") != MetricsOff || env("SELLERGUARD_BASE_URL") != "" || env("SELLERGUARD_ADDR") != "" {
		t.Fatalf("Environ: %q %q", env("SELLERGUARD_METRICS_ADDR"), env("SELLERGUARD_BASE_URL"))
	}
	if _, err := load(t, map[string]string{"SELLERGUARD_METRICS_ADDR": "9090"}); err == nil || !strings.Contains(err.Error(), "SELLERGUARD_METRICS_ADDR") {
		t.Fatalf("a port without a host: %v", err)
	}
}

func TestTLSFilesGoTogetherAndMakeTheBaseURLHTTPS(t *testing.T) {
	for _, env := range []map[string]string{{"SELLERGUARD_TLS_CERT_FILE": "c.pem"}, {"SELLERGUARD_TLS_KEY_FILE": "k.pem"}} {
		if _, err := load(t, env); err == nil || !strings.Contains(err.Error(), "set both or neither") {
			t.Errorf("%v: %v", env, err)
		}
	}
	c, err := load(t, nil, "--tls-cert-file", "c.pem", "--tls-key-file", "k.pem", "--addr", "127.0.0.1:8443")
	if err != nil || !c.Network.TLS() || c.BaseURL != "https://127.0.0.1:8443" || !c.SecureCookies() {
		t.Fatalf("TLS by flags: %+v, %v", c.Network, err)
	}
	if _, err := load(t, map[string]string{"SELLERGUARD_TLS_CERT_FILE": "c.pem", "SELLERGUARD_TLS_KEY_FILE": "k.pem", "SELLERGUARD_BASE_URL": "http://shop.example"}); err == nil || !strings.Contains(err.Error(), "must be https://") {
		t.Fatalf("TLS with an http base URL: %v", err)
	}
}

func TestLocalModeOnlyOnLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "127.8.9.10:1": true, "[::1]:8080": true, "localhost:8080": true, "LOCALHOST:1": true,
		"0.0.0.0:8080": false, ":8080": false, "[::]:8080": false, "192.168.1.5:8080": false, "shop.example:80": false,
		"[::ffff:127.0.0.1]:80": true, "[::ffff:10.0.0.1]:80": false, "127.0.0.1": false,
	} {
		if got := IsLoopbackAddr(addr); got != want {
			t.Errorf("IsLoopbackAddr(%q) = %v", addr, got)
		}
	}
	local, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := local.CheckLocalModeAddr("127.0.0.1:8080"); err != nil {
		t.Fatal(err)
	}
	err = local.CheckLocalModeAddr("0.0.0.0:8080")
	if err == nil || !strings.Contains(err.Error(), "SELLERGUARD_SMTP_URL") || !strings.Contains(err.Error(), "SELLERGUARD_ADDR") {
		t.Fatalf("local mode on 0.0.0.0: %v", err)
	}
	smtp, _ := load(t, map[string]string{"SELLERGUARD_SMTP_URL": "smtp://127.0.0.1:25"})
	if err := smtp.CheckLocalModeAddr("0.0.0.0:8080"); err != nil {
		t.Fatalf("with SMTP: %v", err)
	}
	demo, _ := load(t, map[string]string{"SELLERGUARD_LOCAL_MODE_ON_NETWORK": "true"})
	if err := demo.CheckLocalModeAddr("0.0.0.0:8080"); err != nil {
		t.Fatalf("with the demo opt-in: %v", err)
	}
}
