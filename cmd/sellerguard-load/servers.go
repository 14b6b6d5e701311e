package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard/internal/app"
	"github.com/sellerguard/sellerguard/internal/config"
)

// serverOptions are the settings of the SellerGuard under test.
type serverOptions struct {
	DatabaseURL   string // "" = SQLite in the temp data dir
	Argon2Memory  uint
	Argon2Time    uint
	Argon2Threads uint
	LogLevel      string // the server's log level
	LogPath       string // where the server's log goes; "discard" drops it after formatting
}

// sellerGuard is a running in-process SellerGuard.
type sellerGuard struct {
	App     *app.App
	URL     string
	DataDir string
	LogPath string
	logFile *os.File
	stop    context.CancelFunc
	done    chan error
}

// startSellerGuard wires and serves SellerGuard exactly as `sellerguard
// serve` does (config.Register, Finish, app.NewLogger, app.New, Serve), on a
// free loopback port, with a fresh data directory under tmp. The server's
// goroutines carry the CPU-profile label role=sellerguard.
func startSellerGuard(ctx context.Context, tmp string, o serverOptions) (*sellerGuard, error) {
	dataDir := filepath.Join(tmp, "data")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	env := map[string]string{
		"SELLERGUARD_ADDR":           addr,
		"SELLERGUARD_BASE_URL":       "http://" + addr,
		"SELLERGUARD_DATA_DIR":       dataDir,
		"SELLERGUARD_DATABASE_URL":   o.DatabaseURL,
		"SELLERGUARD_ARGON2_MEMORY":  strconv.FormatUint(uint64(o.Argon2Memory), 10),
		"SELLERGUARD_ARGON2_TIME":    strconv.FormatUint(uint64(o.Argon2Time), 10),
		"SELLERGUARD_ARGON2_THREADS": strconv.FormatUint(uint64(o.Argon2Threads), 10),
		"SELLERGUARD_LOG_LEVEL":      o.LogLevel,
		// /metrics is on its own listener, never the main one; a free
		// port, so a run never collides with a SellerGuard on 9090.
		"SELLERGUARD_METRICS_ADDR": "127.0.0.1:0",
		// Everything else (SMTP: none, so local mode; timeouts; hash pool)
		// keeps its default. The process environment is not consulted, so a
		// stray SELLERGUARD_* variable cannot change what is measured.
	}
	fs := flag.NewFlagSet("sellerguard", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, _, err := config.Register(fs, func(k string) string { return env[k] })
	if err == nil {
		err = fs.Parse(nil)
	}
	if err == nil {
		err = cfg.Finish()
	}
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("sellerguard settings: %w", err)
	}

	sg := &sellerGuard{URL: "http://" + addr, DataDir: dataDir, done: make(chan error, 1)}
	var logw io.Writer = io.Discard
	switch o.LogPath {
	case "discard":
		sg.LogPath = "discard"
	default:
		path := o.LogPath
		if path == "" {
			path = filepath.Join(tmp, "sellerguard.log")
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			_ = ln.Close()
			return nil, err
		}
		sg.logFile, sg.LogPath, logw = f, path, f
	}
	logger := app.NewLogger(cfg, logw)
	a, err := app.New(ctx, cfg, logger, "load")
	if err != nil {
		_ = ln.Close()
		sg.closeLog()
		return nil, err
	}
	sg.App = a
	sctx, cancel := context.WithCancel(context.Background())
	sg.stop = cancel
	go pprof.Do(sctx, pprof.Labels("role", "sellerguard"), func(sctx context.Context) {
		sg.done <- a.Serve(sctx, ln)
	})
	return sg, nil
}

func (sg *sellerGuard) closeLog() {
	if sg.logFile != nil {
		_ = sg.logFile.Close()
	}
}

// Stop shuts the server down and closes the database.
func (sg *sellerGuard) Stop() error {
	sg.stop()
	var err error
	select {
	case err = <-sg.done:
	case <-time.After(30 * time.Second):
		err = errors.New("sellerguard did not shut down within 30s")
	}
	_ = sg.App.Close()
	sg.closeLog()
	return err
}

// bareJSON is the body of the bare handler: about the size of a small API
// answer, but no work behind it.
var bareJSON = []byte(`{"status":"ok","user":{"id":"usr_bare","email":"bare@example.com"}}` + "\n")

// bareServer is a trivial net/http handler on its own loopback port.
type bareServer struct {
	URL  string
	srv  *http.Server
	done chan error
}

func startBare() (*bareServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(bareJSON) // client went away
	})
	b := &bareServer{
		URL:  "http://" + ln.Addr().String(),
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute},
		done: make(chan error, 1),
	}
	go pprof.Do(context.Background(), pprof.Labels("role", "bare"), func(context.Context) {
		b.done <- b.srv.Serve(ln)
	})
	return b, nil
}

func (b *bareServer) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = b.srv.Shutdown(ctx) // best effort
	if err := <-b.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "sellerguard-load: bare server:", err)
	}
}

// testUser is an account created through the public API.
type testUser struct {
	Email, Password, Token string
}

var codeRE = regexp.MustCompile(`code is: (\d{6})`)

// createUser signs up, reads the code from the local outbox, verifies, and
// signs in — the same calls a person's browser or a program makes.
func createUser(ctx context.Context, baseURL string) (testUser, error) {
	var rnd [6]byte
	rand.Read(rnd[:])
	u := testUser{
		Email:    "load-" + hex.EncodeToString(rnd[:]) + "@example.com",
		Password: "correct horse battery staple " + hex.EncodeToString(rnd[:3]),
	}
	c := newClient(1, 60*time.Second)
	defer c.CloseIdleConnections()

	if _, err := callJSON(ctx, c, "POST", baseURL+"/api/v1/signup", map[string]string{"email": u.Email, "password": u.Password, "business_name": "Load Test Ltd"}, http.StatusAccepted); err != nil {
		return u, err
	}
	code := ""
	for deadline := time.Now().Add(15 * time.Second); code == "" && time.Now().Before(deadline); {
		b, err := callJSON(ctx, c, "GET", baseURL+"/api/v1/dev/outbox", nil, http.StatusOK)
		if err != nil {
			return u, err
		}
		var out struct {
			Messages []struct{ To, Body string }
		}
		if err := json.Unmarshal(b, &out); err != nil {
			return u, fmt.Errorf("dev outbox: %w", err)
		}
		for i := len(out.Messages) - 1; i >= 0 && code == ""; i-- {
			if strings.EqualFold(out.Messages[i].To, u.Email) {
				if m := codeRE.FindStringSubmatch(out.Messages[i].Body); m != nil {
					code = m[1]
				}
			}
		}
		if code == "" {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if code == "" {
		return u, errors.New("no sign-up code arrived in the local outbox within 15s")
	}
	if _, err := callJSON(ctx, c, "POST", baseURL+"/api/v1/signup/verify", map[string]string{"email": u.Email, "code": code}, http.StatusCreated); err != nil {
		return u, err
	}
	b, err := callJSON(ctx, c, "POST", baseURL+"/api/v1/sessions", map[string]string{"email": u.Email, "password": u.Password}, http.StatusCreated)
	if err != nil {
		return u, err
	}
	var si struct{ Token string }
	if err := json.Unmarshal(b, &si); err != nil || si.Token == "" {
		return u, fmt.Errorf("sign-in answer has no token: %s", b)
	}
	u.Token = si.Token
	return u, nil
}

func callJSON(ctx context.Context, c *http.Client, method, url string, body any, want int) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: status %d (want %d): %s", method, url, resp.StatusCode, want, bytes.TrimSpace(b))
	}
	return b, nil
}
