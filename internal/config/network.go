package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// NetworkSettings are where the service listens beyond SELLERGUARD_ADDR: the
// separate metrics listener, TLS on the main listener, and the demo opt-in
// that lets local mode listen beyond loopback.
type NetworkSettings struct {
	// MetricsAddr is where /metrics is served, on a listener of its own
	// (never on the main one). Empty or "off": no metrics listener.
	MetricsAddr string
	// TLSCertFile and TLSKeyFile (both or neither) make the main listener
	// serve HTTPS itself; the files are re-read when they change.
	TLSCertFile string
	TLSKeyFile  string
	// LocalModeOnNetwork lets local mode (no SMTP: codes readable in the
	// local outbox) listen on a non-loopback address, for demos. The
	// outbox still answers loopback peers only.
	LocalModeOnNetwork bool
}

// MetricsOff is the value of SELLERGUARD_METRICS_ADDR that turns the
// metrics listener off where an empty value cannot be told from an unset one.
const MetricsOff = "off"

// EmptyMeansOff lists the variables whose empty value means "off" rather
// than "the default"; see Environ.
var EmptyMeansOff = []string{"SELLERGUARD_METRICS_ADDR"}

// Environ returns a getenv for Register from a lookup such as os.LookupEnv:
// like os.Getenv, except that a variable of EmptyMeansOff that is set to
// the empty string reads as "off" (an unset one keeps its default).
func Environ(lookup func(string) (string, bool)) func(string) string {
	return func(k string) string {
		v, ok := lookup(k)
		if ok && v == "" {
			for _, off := range EmptyMeansOff {
				if k == off {
					return MetricsOff
				}
			}
		}
		return v
	}
}

func init() {
	extraSettings = append(extraSettings, func(c *Config, b *binder) {
		n := &c.Network
		b.str(&n.MetricsAddr, "metrics-addr", "SELLERGUARD_METRICS_ADDR", "127.0.0.1:9090", `address of the separate /metrics listener (the main listener answers 404 there); empty or "off" = no metrics listener`)
		b.str(&n.TLSCertFile, "tls-cert-file", "SELLERGUARD_TLS_CERT_FILE", "", "PEM certificate chain: serve HTTPS (TLS 1.2+, AEAD suites only, HSTS, __Host- cookies); re-read when the file changes or on reload; needs the key file")
		b.str(&n.TLSKeyFile, "tls-key-file", "SELLERGUARD_TLS_KEY_FILE", "", "PEM private key of the TLS certificate; needs the certificate file")
		b.boolean(&n.LocalModeOnNetwork, "local-mode-on-network", "SELLERGUARD_LOCAL_MODE_ON_NETWORK", false, "DEMO ONLY: allow local mode (no SMTP URL) on a non-loopback address; logged loudly at start; the outbox still answers loopback peers only")
	})
}

func (n *NetworkSettings) finish() []error {
	var errs []error
	if n.MetricsAddr == MetricsOff {
		n.MetricsAddr = ""
	}
	if n.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(n.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("SELLERGUARD_METRICS_ADDR %q must be host:port (e.g. 127.0.0.1:9090), or off", n.MetricsAddr))
		}
	}
	if (n.TLSCertFile == "") != (n.TLSKeyFile == "") {
		errs = append(errs, errors.New("SELLERGUARD_TLS_CERT_FILE and SELLERGUARD_TLS_KEY_FILE go together: set both or neither"))
	}
	return errs
}

// TLS reports whether the main listener serves HTTPS itself.
func (n *NetworkSettings) TLS() bool { return n.TLSCertFile != "" && n.TLSKeyFile != "" }

// IsLoopbackAddr reports whether a listen address (host:port) can only be
// reached from this machine: "localhost" or a loopback IP. An empty host
// (":8080"), 0.0.0.0, :: and any other name or address are not loopback.
func IsLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// CheckLocalModeAddr refuses to serve local mode — every sign-up, unlock
// and SMS code readable in the local outbox — on a listener the network can
// reach, unless the demo opt-in SELLERGUARD_LOCAL_MODE_ON_NETWORK is set.
// addr is the listen address (the configured one, or a listener's).
func (c *Config) CheckLocalModeAddr(addr string) error {
	if !c.LocalMode() || IsLoopbackAddr(addr) || c.Network.LocalModeOnNetwork {
		return nil
	}
	return fmt.Errorf("local mode (no SELLERGUARD_SMTP_URL: every code lands in the local outbox) only runs on a loopback address, "+
		"and SELLERGUARD_ADDR %q is not one: set SELLERGUARD_SMTP_URL to send mail for real, or listen on 127.0.0.1 "+
		"(SELLERGUARD_LOCAL_MODE_ON_NETWORK=true overrides this for demos)", addr)
}
