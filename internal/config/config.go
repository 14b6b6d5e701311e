// Package config reads SellerGuard's settings from flags and SELLERGUARD_*
// environment variables (a flag wins over its variable, the variable over the
// default). Nothing is required for a local start: with no settings at all the
// server listens on 127.0.0.1:8080 (reached at http://localhost:8080, where
// passkeys work), keeps its SQLite database and key file in
// ./sellerguard-data and keeps every outgoing message in the local outbox.
//
// Every subcommand that touches the database reads the same settings through
// Register, so `migrate`, `audit verify` and `serve` always agree on where the
// data is.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of a SellerGuard process.
type Config struct {
	Addr        string
	DataDir     string
	DatabaseURL string
	BaseURL     string
	SMTPURL     string
	MailFrom    string
	LogFormat   string // "text" or "json"; default json outside local mode
	LogLevel    string

	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
	ShutdownTimeout time.Duration

	SessionIdleTimeout     time.Duration
	SessionAbsoluteTimeout time.Duration

	Argon2Memory      uint // KiB
	Argon2Time        uint
	Argon2Threads     uint
	HashConcurrency   int
	HashQueueTimeout  time.Duration
	PasswordMinLength int

	OutboxPollInterval time.Duration
	PayoutCoolingOff   time.Duration
	// RecoveryDelay: the waiting period of Seller Support's recovery
	// actions (internal/support).
	RecoveryDelay time.Duration
	// AccessReviewInterval and AccessReviewReminder: how often businesses
	// with members review access, and how often an open review is brought up.
	AccessReviewInterval time.Duration
	AccessReviewReminder time.Duration
	// ContactCheckAge: "is this still yours?" is asked about an email or
	// mobile number last confirmed longer ago than this.
	ContactCheckAge time.Duration

	Limits   LimitSettings
	Password PasswordSettings
	TwoStep  TwoStepSettings
	SMS      SMSSettings
	DKIM     DKIMSettings
	Phishing PhishingSettings
	Network  NetworkSettings
}

// extraSettings lets each capability register its own settings from its own
// file of this package (password.go, limits.go, …).
var extraSettings []func(c *Config, b *binder)

// Setting describes one setting for the help text and the README table.
type Setting struct {
	Flag, Env, Default, Usage string
}

type binder struct {
	fs       *flag.FlagSet
	getenv   func(string) string
	settings []Setting
	errs     []error
}

func (b *binder) env(name, flagName, def, usage string) string {
	b.settings = append(b.settings, Setting{Flag: "--" + flagName, Env: name, Default: def, Usage: usage})
	if v := b.getenv(name); v != "" {
		return v
	}
	return def
}

func (b *binder) str(p *string, flagName, envName, def, usage string) {
	b.fs.StringVar(p, flagName, b.env(envName, flagName, def, usage), usage+" ($"+envName+")")
}

func (b *binder) boolean(p *bool, flagName, envName string, def bool, usage string) {
	v := b.env(envName, flagName, strconv.FormatBool(def), usage)
	x, err := strconv.ParseBool(v)
	if err != nil {
		b.errs = append(b.errs, fmt.Errorf("%s: %q is not true or false", envName, v))
		x = def
	}
	b.fs.BoolVar(p, flagName, x, usage+" ($"+envName+")")
}

func (b *binder) dur(p *time.Duration, flagName, envName string, def time.Duration, usage string) {
	v := b.env(envName, flagName, def.String(), usage)
	d, err := time.ParseDuration(v)
	if err != nil {
		b.errs = append(b.errs, fmt.Errorf("%s: %q is not a duration like 30s or 5m", envName, v))
		d = def
	}
	b.fs.DurationVar(p, flagName, d, usage+" ($"+envName+")")
}

func (b *binder) uint(p *uint, flagName, envName string, def uint, usage string) {
	v := b.env(envName, flagName, strconv.FormatUint(uint64(def), 10), usage)
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		b.errs = append(b.errs, fmt.Errorf("%s: %q is not a whole number", envName, v))
		n = uint64(def)
	}
	b.fs.UintVar(p, flagName, uint(n), usage+" ($"+envName+")")
}

func (b *binder) int(p *int, flagName, envName string, def int, usage string) {
	v := b.env(envName, flagName, strconv.Itoa(def), usage)
	n, err := strconv.Atoi(v)
	if err != nil {
		b.errs = append(b.errs, fmt.Errorf("%s: %q is not a whole number", envName, v))
		n = def
	}
	b.fs.IntVar(p, flagName, n, usage+" ($"+envName+")")
}

// Register defines every setting on fs, with defaults taken from the
// environment through getenv. Call fs.Parse, then Config.Finish.
func Register(fs *flag.FlagSet, getenv func(string) string) (*Config, []Setting, error) {
	c := &Config{}
	b := &binder{fs: fs, getenv: getenv}
	b.str(&c.Addr, "addr", "SELLERGUARD_ADDR", "127.0.0.1:8080", "address to listen on")
	b.str(&c.DataDir, "data-dir", "SELLERGUARD_DATA_DIR", "./sellerguard-data", "directory for the SQLite database and the secret key file")
	b.str(&c.DatabaseURL, "database-url", "SELLERGUARD_DATABASE_URL", "", "database: empty for SQLite in the data dir, or a postgres:// URL")
	b.str(&c.BaseURL, "base-url", "SELLERGUARD_BASE_URL", "", "public URL of this service (default http://ADDR, http://localhost:PORT for a loopback IP, https://ADDR with TLS files); https turns on secure cookies and HSTS")
	b.str(&c.SMTPURL, "smtp-url", "SELLERGUARD_SMTP_URL", "", "SMTP server for outgoing mail, e.g. smtp://127.0.0.1:2525; empty = local mode (messages kept in the local outbox)")
	b.str(&c.MailFrom, "mail-from", "SELLERGUARD_MAIL_FROM", "SellerGuard <no-reply@sellerguard.localhost>", "From address of outgoing mail")
	b.str(&c.LogFormat, "log-format", "SELLERGUARD_LOG_FORMAT", "", "log format: text or json (default: text in local mode, json otherwise)")
	b.str(&c.LogLevel, "log-level", "SELLERGUARD_LOG_LEVEL", "info", "log level: debug, info, warn, error")
	b.dur(&c.ReadTimeout, "read-timeout", "SELLERGUARD_READ_TIMEOUT", 15*time.Second, "HTTP read timeout")
	b.dur(&c.WriteTimeout, "write-timeout", "SELLERGUARD_WRITE_TIMEOUT", 30*time.Second, "HTTP write timeout")
	b.dur(&c.ShutdownTimeout, "shutdown-timeout", "SELLERGUARD_SHUTDOWN_TIMEOUT", 15*time.Second, "graceful shutdown timeout")
	b.dur(&c.SessionIdleTimeout, "session-idle-timeout", "SELLERGUARD_SESSION_IDLE_TIMEOUT", 2*time.Hour, "a session unused this long ends")
	b.dur(&c.SessionAbsoluteTimeout, "session-absolute-timeout", "SELLERGUARD_SESSION_ABSOLUTE_TIMEOUT", 24*time.Hour, "a session ends this long after sign-in, used or not")
	b.uint(&c.Argon2Memory, "argon2-memory", "SELLERGUARD_ARGON2_MEMORY", 19456, "Argon2id memory in KiB")
	b.uint(&c.Argon2Time, "argon2-time", "SELLERGUARD_ARGON2_TIME", 2, "Argon2id passes")
	b.uint(&c.Argon2Threads, "argon2-threads", "SELLERGUARD_ARGON2_THREADS", 1, "Argon2id lanes")
	b.int(&c.HashConcurrency, "hash-concurrency", "SELLERGUARD_HASH_CONCURRENCY", 0, "password hashes computed at once (0 = number of CPUs)")
	b.dur(&c.HashQueueTimeout, "hash-queue-timeout", "SELLERGUARD_HASH_QUEUE_TIMEOUT", 2*time.Second, "how long a sign-in waits for a hashing slot before 503")
	b.int(&c.PasswordMinLength, "password-min-length", "SELLERGUARD_PASSWORD_MIN_LENGTH", 12, "minimum password length in characters (never below 8)")
	b.dur(&c.OutboxPollInterval, "outbox-poll-interval", "SELLERGUARD_OUTBOX_POLL_INTERVAL", time.Second, "how often the outbox worker looks for due messages")
	for _, extra := range extraSettings {
		extra(c, b)
	}
	return c, b.settings, errors.Join(b.errs...)
}

// Finish validates the parsed settings and fills in derived defaults.
func (c *Config) Finish() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data dir must not be empty"))
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite://" + filepath.Join(c.DataDir, "sellerguard.db")
	}
	if !strings.HasPrefix(c.DatabaseURL, "sqlite://") && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, fmt.Errorf("database URL must start with sqlite:// or postgres://"))
	}
	if c.BaseURL == "" {
		c.BaseURL = defaultBaseURL(c.Addr, c.Network.TLS())
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("base URL %q must be an absolute http or https URL", c.BaseURL))
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Network.TLS() && err == nil && u.Scheme != "https" {
		errs = append(errs, fmt.Errorf("base URL %q must be https:// when SELLERGUARD_TLS_CERT_FILE is set", c.BaseURL))
	}
	if c.LogFormat == "" {
		c.LogFormat = "json"
		if c.LocalMode() {
			c.LogFormat = "text"
		}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log format must be text or json"))
	}
	if c.PasswordMinLength < 8 {
		errs = append(errs, fmt.Errorf("password minimum length %d is below the floor of 8", c.PasswordMinLength))
	}
	if c.SessionIdleTimeout <= 0 || c.SessionAbsoluteTimeout <= 0 {
		errs = append(errs, errors.New("session timeouts must be positive"))
	}
	if c.Argon2Threads == 0 || c.Argon2Threads > 255 || c.Argon2Time == 0 || c.Argon2Memory < 8*c.Argon2Threads {
		errs = append(errs, errors.New("argon2 parameters out of range"))
	}
	if c.OutboxPollInterval <= 0 {
		errs = append(errs, errors.New("outbox poll interval must be positive"))
	}
	errs = append(errs, c.Limits.finish()...)
	errs = append(errs, c.finishPayments()...)
	errs = append(errs, c.finishSupport()...)
	errs = append(errs, c.finishContact()...)
	c.Password.finishBreachAPI(c.LocalMode())
	errs = append(errs, c.Password.Validate())
	errs = append(errs, c.TwoStep.finish()...)
	errs = append(errs, c.SMS.finish()...)
	errs = append(errs, c.DKIM.finish()...)
	errs = append(errs, c.finishPhishing()...)
	errs = append(errs, c.Network.finish()...)
	return errors.Join(errs...)
}

// defaultBaseURL is the base URL when none is set: the listening address,
// except that a loopback IP address without TLS becomes localhost (same
// port). Browsers allow passkeys (WebAuthn) only on a domain name, and treat
// http://localhost as a secure context, so the default local start
// (127.0.0.1:8080) is reached at http://localhost:8080, where passkeys work;
// localhost resolves to the loopback addresses on every system. With TLS
// the address stays as it is (the certificate names it).
func defaultBaseURL(addr string, tls bool) string {
	if tls {
		return "https://" + addr
	}
	if host, port, err := net.SplitHostPort(addr); err == nil && port != "" {
		if ip := net.ParseIP(host); ip != nil && (ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback)) {
			return "http://localhost:" + port
		}
	}
	return "http://" + addr
}

// LocalMode reports whether outgoing messages stay in the local outbox.
func (c *Config) LocalMode() bool { return c.SMTPURL == "" }

// SecureCookies reports whether the service is reached over TLS.
func (c *Config) SecureCookies() bool { return strings.HasPrefix(c.BaseURL, "https://") }
