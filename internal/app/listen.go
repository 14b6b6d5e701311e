package app

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/sellerguard/sellerguard/internal/config"
)

// TLS on the main listener (SELLERGUARD_TLS_CERT_FILE / _KEY_FILE) and the
// separate metrics listener (SELLERGUARD_METRICS_ADDR).

// tlsCipherSuites are the TLS 1.2 suites offered: ECDHE key exchange with an
// AEAD only (no RSA key exchange, no CBC, no SHA-1 MAC). TLS 1.3 suites are
// not configurable in Go and are all AEAD.
var tlsCipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// certReloader holds the serving certificate and re-reads the files when
// their modification time or size changes (checked at most once a second,
// on a handshake) or when Reload is called. A pair that fails to load —
// say, the certificate renewed but the key not yet written — leaves the
// current certificate in place and is logged once.
type certReloader struct {
	certFile, keyFile string
	logger            *slog.Logger
	now               func() time.Time

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     string // modification times and sizes of the loaded files
	checked   time.Time
	lastError string
}

func newCertReloader(certFile, keyFile string, logger *slog.Logger) (*certReloader, error) {
	c := &certReloader{certFile: certFile, keyFile: keyFile, logger: logger, now: time.Now}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *certReloader) fileStamp() (string, error) {
	var stamp string
	for _, f := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return "", err
		}
		stamp += fmt.Sprintf("%d/%d;", fi.ModTime().UnixNano(), fi.Size())
	}
	return stamp, nil
}

// Reload reads the certificate and key files now. On error the certificate
// served so far stays.
func (c *certReloader) Reload() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reloadLocked()
}

func (c *certReloader) reloadLocked() error {
	stamp, err := c.fileStamp()
	if err == nil {
		var cert tls.Certificate
		cert, err = tls.LoadX509KeyPair(c.certFile, c.keyFile)
		if err == nil {
			c.cert, c.stamp, c.lastError = &cert, stamp, ""
			return nil
		}
	}
	return fmt.Errorf("TLS certificate (SELLERGUARD_TLS_CERT_FILE %s, SELLERGUARD_TLS_KEY_FILE %s): %w", c.certFile, c.keyFile, err)
}

// get is tls.Config.GetCertificate: the current certificate, re-read first
// if the files changed.
func (c *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); now.Sub(c.checked) >= time.Second {
		c.checked = now
		if stamp, err := c.fileStamp(); err == nil && stamp != c.stamp {
			if err := c.reloadLocked(); err != nil {
				if msg := err.Error(); msg != c.lastError {
					c.lastError = msg
					c.logger.Error("could not reload the TLS certificate; still serving the previous one", "err", err)
				}
			} else {
				c.logger.Info("TLS certificate reloaded", "cert_file", c.certFile)
			}
		}
	}
	return c.cert, nil
}

// tlsConfig is the server's TLS configuration: TLS 1.2 and 1.3 only, the
// suites above, Go's default curves (X25519MLKEM768, X25519, P-256, P-384).
func (c *certReloader) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   tlsCipherSuites,
		GetCertificate: c.get,
	}
}

// ReloadTLS re-reads the TLS certificate and key files now. It returns an
// error, and keeps serving the previous certificate, if the files cannot be
// loaded as a matching pair. Reload (SIGHUP) runs the same reload with the
// DKIM key's; the files are also re-read on their own when they change, so
// calling either is never required. Without TLS configured it does nothing.
func (a *App) ReloadTLS() error {
	if a.certs == nil {
		return nil
	}
	if err := a.certs.Reload(); err != nil {
		return err
	}
	a.Logger.Info("TLS certificate reloaded", "cert_file", a.Config.Network.TLSCertFile)
	return nil
}

// TLS reports whether the main listener serves HTTPS.
func (a *App) TLS() bool { return a.certs != nil }

// Scheme is "https" when the main listener serves TLS, else "http".
func (a *App) Scheme() string {
	if a.TLS() {
		return "https"
	}
	return "http"
}

// ListenMetrics opens the metrics listener (SELLERGUARD_METRICS_ADDR) if
// it is configured and not open yet, and returns its address ("" when
// metrics are off). Serve calls it; call it first to learn the address or
// to fail before serving.
func (a *App) ListenMetrics() (string, error) {
	a.metricsMu.Lock()
	defer a.metricsMu.Unlock()
	addr := a.Config.Network.MetricsAddr
	if addr == "" {
		return "", nil
	}
	if a.metricsLn == nil {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return "", fmt.Errorf("metrics listener (SELLERGUARD_METRICS_ADDR %s): %w", addr, err)
		}
		a.metricsLn = ln
	}
	return a.metricsLn.Addr().String(), nil
}

// serveMetrics serves /metrics (and nothing else) on the metrics listener
// until the returned stop function is called.
func (a *App) serveMetrics() (stop func(), err error) {
	addr, err := a.ListenMetrics()
	if err != nil || addr == "" {
		return func() {}, err
	}
	if !config.IsLoopbackAddr(addr) {
		a.Logger.Warn("metrics are served beyond loopback: restrict SELLERGUARD_METRICS_ADDR at the network edge", "metrics_addr", addr)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.Server.MetricsHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn)}
	a.metricsMu.Lock()
	ln := a.metricsLn
	a.metricsMu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Logger.Error("metrics listener", "err", err)
		}
	}()
	return func() {
		_ = srv.Close() // shutting down: the metrics are not worth waiting for
		<-done
		a.metricsMu.Lock()
		a.metricsLn = nil
		a.metricsMu.Unlock()
	}, nil
}
