// Package web is SellerGuard's HTTP layer: the JSON API under /api/v1, the
// server-rendered pages, and the operational endpoints. Handlers are thin —
// parse, call a service, render — and hold no rules. Errors from services are
// turned into RFC 9457 problem documents (API) or an error page (pages) in
// exactly one place (errors.go).
//
// What it guards: CSRF on every state change (http.CrossOriginProtection),
// strict security headers with a CSP that allows no inline script, session
// cookies that are HttpOnly, SameSite=Lax and, on TLS, Secure with the
// __Host- prefix; size limits and strict parsing on every body; no panic
// reaches a client.
package web

import (
	"context"
	"embed"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sellerguard/sellerguard/api"
	"github.com/sellerguard/sellerguard/internal/mailcheck"
	"github.com/sellerguard/sellerguard/internal/phishreport"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/support"
)

//go:embed templates static
var assets embed.FS

// Options configures a Server.
type Options struct {
	BaseURL         string
	SecureCookies   bool
	LocalMode       bool
	SessionLifetime time.Duration
	Version         string
	SchemaVersion   int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed; everyone else's is ignored.
	TrustedProxies []netip.Prefix
	// MailCheck checks emails against SellerGuard's signature and ledger;
	// PhishReports is the phishing report queue; ReportAddress the address
	// sellers forward phishing to ("" when there is none).
	MailCheck     *mailcheck.Checker
	PhishReports  *phishreport.Service
	ReportAddress string
	// Support is Seller Support (internal/support).
	Support *support.Service
}

// Server serves SellerGuard over HTTP.
type Server struct {
	Services
	DB       *store.DB
	Logger   *slog.Logger
	Options  Options
	Registry *prometheus.Registry

	pages   pageSet
	handler http.Handler
	routes  []string
	metrics *httpMetrics
}

// MaxBodyBytes caps every request body.
const MaxBodyBytes = 64 << 10

// New builds the server and its routes.
func New(v Services, db *store.DB, logger *slog.Logger, reg *prometheus.Registry, opts Options) (*Server, error) {
	pages, err := loadPages()
	if err != nil {
		return nil, err
	}
	s := &Server{Services: v, DB: db, Logger: logger, Options: opts, Registry: reg, pages: pages}
	s.metrics = newHTTPMetrics(reg)
	mux := http.NewServeMux()
	s.register(&recordingMux{ServeMux: mux, patterns: &s.routes})
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errCrossOrigin)
	}))
	s.handler = s.recoverPanics(s.observe(s.securityHeaders(cop.Handler(s.refuseBadText(s.limitBody(s.muxErrors(mux)))))))
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// recordingMux remembers every pattern registered, so tests can check that
// each route is documented in the OpenAPI file.
type recordingMux struct {
	*http.ServeMux
	patterns *[]string
}

func (m *recordingMux) Handle(pattern string, h http.Handler) {
	*m.patterns = append(*m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

func (m *recordingMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

// Routes lists every registered pattern ("METHOD /path").
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

func (s *Server) register(mux *recordingMux) {
	// Operations.
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	// /metrics is on the metrics listener (MetricsHandler), not here.

	// JSON API.
	mux.Handle("POST /api/v1/signup", s.api(s.apiSignup))
	mux.Handle("POST /api/v1/signup/verify", s.api(s.apiSignupVerify))
	mux.Handle("POST /api/v1/sessions", s.api(s.apiSignIn))
	mux.Handle("GET /api/v1/sessions", s.apiAuthed(s.apiListSessions))
	mux.Handle("DELETE /api/v1/sessions/{id}", s.apiAuthed(s.apiRevokeSession))
	mux.Handle("POST /api/v1/sessions/revoke-others", s.apiAuthed(s.apiRevokeOthers))
	mux.Handle("POST /api/v1/sessions/unlock", s.api(s.apiRequestUnlock))
	mux.Handle("GET /api/v1/session", s.apiFull(s.apiCurrentSession))
	mux.Handle("POST /api/v1/account/password", s.apiFull(s.apiChangePassword))
	mux.Handle("POST /api/v1/password/check", s.api(s.apiCheckPassword))
	mux.Handle("PUT /api/v1/businesses/{business_id}/password-rules", s.apiAuthed(s.apiSetPasswordRules))
	mux.Handle("DELETE /api/v1/session", s.apiSession(s.apiSignOut))
	mux.Handle("POST /api/v1/session/second-step", s.apiSession(s.apiSecondStep))
	mux.Handle("POST /api/v1/session/reauth", s.apiAuthed(s.apiReauth))
	mux.Handle("GET /api/v1/two-step", s.apiAuthed(s.apiListTwoStep))
	mux.Handle("POST /api/v1/two-step/totp", s.apiAuthed(s.apiStartTOTP))
	mux.Handle("POST /api/v1/two-step/totp/{id}/confirm", s.apiAuthed(s.apiConfirmTOTP))
	mux.Handle("POST /api/v1/two-step/sms", s.apiAuthed(s.apiStartSMS))
	mux.Handle("POST /api/v1/two-step/sms/{id}/confirm", s.apiAuthed(s.apiConfirmSMS))
	mux.Handle("POST /api/v1/session/second-step/sms", s.apiSession(s.apiSendSessionSMS))
	mux.Handle("POST /api/v1/two-step/backup-codes", s.apiAuthed(s.apiRegenerateBackupCodes))
	mux.Handle("DELETE /api/v1/two-step/{id}", s.apiAuthed(s.apiRemoveMethod))
	mux.Handle("GET /api/v1/trusted-browsers", s.apiAuthed(s.apiListTrustedBrowsers))
	mux.Handle("DELETE /api/v1/trusted-browsers/{id}", s.apiAuthed(s.apiForgetTrustedBrowser))
	mux.Handle("PUT /api/v1/businesses/{business_id}/two-step", s.apiAuthed(s.apiSetBusinessTwoStep))
	mux.Handle("GET /api/v1/audit", s.apiBusiness(s.apiAudit))
	mux.Handle("GET /api/v1/account/language", s.apiFull(s.apiGetLanguage))
	mux.Handle("PUT /api/v1/account/language", s.apiFull(s.apiSetLanguage))
	mux.Handle("POST /language", s.page(s.pageSetLanguage))
	mux.Handle("GET /api/v1/account/anti-phishing-phrase", s.apiAuthed(s.apiGetPhrase))
	mux.Handle("PUT /api/v1/account/anti-phishing-phrase", s.apiAuthed(s.apiSetPhrase))
	mux.Handle("GET /api/v1/dev/outbox", s.api(s.apiDevOutbox))

	// Pages.
	mux.Handle("GET /static/", staticFiles())
	mux.HandleFunc("GET /api/v1/openapi.json", s.handleOpenAPI)
	mux.Handle("GET /{$}", s.page(s.pageHome))
	mux.Handle("GET /signup", s.page(s.pageSignupForm))
	mux.Handle("POST /signup", s.page(s.pageSignupSubmit))
	mux.Handle("GET /signup/verify", s.page(s.pageVerifyForm))
	mux.Handle("POST /signup/verify", s.page(s.pageVerifySubmit))
	mux.Handle("POST /signup/verify/resend", s.page(s.pageVerifyResend))
	mux.Handle("GET /signin", s.page(s.pageSignInForm))
	mux.Handle("POST /signin", s.page(s.pageSignInSubmit))
	mux.Handle("GET /signin/unlock", s.page(s.pageUnlockForm))
	mux.Handle("POST /signin/unlock", s.page(s.pageUnlockSubmit))
	mux.Handle("POST /signout", s.pageSession(s.pageSignOut))
	mux.Handle("GET /account", s.pageAuthed(s.pageAccount))
	mux.Handle("GET /account/sessions", s.pageAuthed(s.pageSessions))
	mux.Handle("GET /account/password", s.pageAuthed(s.pagePasswordForm))
	mux.Handle("POST /account/password", s.pageAuthed(s.pagePasswordSubmit))
	mux.Handle("GET /account/phrase", s.pageAuthed(s.pagePhraseForm))
	mux.Handle("POST /account/phrase", s.pageAuthed(s.pagePhraseSubmit))
	mux.Handle("POST /account/sessions/{id}/revoke", s.pageAuthed(s.pageRevokeSession))
	mux.Handle("POST /account/sessions/revoke-others", s.pageAuthed(s.pageRevokeOthers))
	mux.Handle("GET /account/audit", s.pageBusiness(s.pageAudit))
	mux.Handle("GET /account/audit.csv", s.pageBusiness(s.pageAuditCSV))
	mux.Handle("GET /dev/outbox", s.page(s.pageDevOutbox))
	s.registerPasskeys(mux) // passkeys: API and pages (api_passkeys.go)
	s.registerTwoStepPages(mux)
	s.registerContact(mux)
	s.registerContactCheck(mux) // "is this still yours?" on the account page (page_contact_check.go)
	s.registerTeam(mux)
	s.registerReviews(mux)
	s.registerTeamPages(mux)
	s.registerBusinessPages(mux)
	s.registerNotify(mux) // notification settings: API and page (api_notify.go)
	// Email check, phishing reports, guidance (api_phishing.go).
	s.registerPhishing(mux)
	s.registerAboutPages(mux) // security practices and privacy, linked from every footer (page_about.go)
	// Security checkup: API and pages (api_checkup.go, page_checkup.go).
	s.registerCheckup(mux)
	s.registerChanges(mux)
	// "Can't sign in?": API and pages (api_recovery.go, page_recovery.go).
	s.registerRecovery(mux)
	s.registerHolds(mux) // held items after an undone email change (api_holds.go)
	// Seller Support: cases (api_support.go, page_support.go) and the
	// agent console (api_agent.go, page_agent.go).
	s.registerSupport(mux)
	s.registerAgent(mux)
}

// staticFiles serves the embedded assets, without directory listings.
func staticFiles() http.Handler {
	fsrv := http.FileServerFS(assets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(api.Spec) // client went away
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n")) // client went away
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	if err := s.DB.Ping(ctx); err != nil {
		s.Logger.Warn("readyz: database unreachable", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"database unreachable"}` + "\n"))
		return
	}
	v, err := s.DB.Version(ctx)
	if err != nil || v < s.Options.SchemaVersion {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"schema not migrated"}` + "\n"))
		return
	}
	_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
}

// The security headers' values, each a one-element slice made once:
// assigning the shared slice (under the canonical key) instead of
// Header.Set saves an allocation per header per request on the hot path.
// Sharing is safe because nothing changes a value slice in place: Set and
// Del replace or drop the map entry, Add appends to a full slice (a new
// array), and net/http only reads and copies them.
var (
	hdrCSP             = []string{"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"}
	hdrNoSniff         = []string{"nosniff"}
	hdrDeny            = []string{"DENY"}
	hdrNoReferrer      = []string{"no-referrer"}
	hdrSameOrigin      = []string{"same-origin"}
	hdrPermissions     = []string{"camera=(), microphone=(), geolocation=(), payment=()"}
	hdrHSTS            = []string{"max-age=63072000; includeSubDomains"}
	hdrNoStore         = []string{"no-store"}
	hdrApplicationJSON = []string{"application/json"}
)

// securityHeaders sets the headers every answer carries.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Security-Policy"] = hdrCSP
		h["X-Content-Type-Options"] = hdrNoSniff
		h["X-Frame-Options"] = hdrDeny
		h["Referrer-Policy"] = hdrNoReferrer
		h["Cross-Origin-Opener-Policy"] = hdrSameOrigin
		h["Cross-Origin-Resource-Policy"] = hdrSameOrigin
		h["Permissions-Policy"] = hdrPermissions
		if s.Options.SecureCookies {
			h["Strict-Transport-Security"] = hdrHSTS
		}
		if len(r.URL.Path) < 8 || r.URL.Path[:8] != "/static/" {
			h["Cache-Control"] = hdrNoStore
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := int64(MaxBodyBytes)
		if l := largeBodyLimit(r); l > 0 {
			limit = l // the routes that take a whole email (api_phishing.go)
		}
		if r.ContentLength > limit {
			s.writeError(w, r, errTooLarge)
			return
		}
		if r.Body != http.NoBody { // nothing to limit in a request without a body (no allocation on the hot path)
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}

// muxErrors replaces the mux's own plain-text 404 and 405 answers (for
// paths or methods no route matches) with the same problem documents and
// error pages every other error gets.
func (s *Server) muxErrors(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rc := reqContextOf(r); rc != nil {
			rc.mux = muxErrorWriter{ResponseWriter: w, r: r, s: s}
			mux.ServeHTTP(&rc.mux, r)
			return
		}
		mux.ServeHTTP(&muxErrorWriter{ResponseWriter: w, r: r, s: s}, r)
	})
}

type muxErrorWriter struct {
	http.ResponseWriter
	r        *http.Request
	s        *Server
	replaced bool
}

func (w *muxErrorWriter) WriteHeader(code int) {
	if (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) && w.r.Pattern == "" && !w.replaced {
		w.replaced = true
		w.Header().Del("Content-Type")
		if code == http.StatusMethodNotAllowed && w.s.postOnlyPage(w.ResponseWriter, w.r) {
			return
		}
		err := errNotFound
		if code == http.StatusMethodNotAllowed {
			err = errMethodNotAllowed // the mux has set the Allow header
		}
		w.s.writeError(w.ResponseWriter, w.r, err)
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *muxErrorWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil // the mux's plain-text body
	}
	return w.ResponseWriter.Write(b)
}

func (w *muxErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusRecorder remembers the status for logs and metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// observe logs and counts every request. It logs the path but never the
// query string, headers or body: no token, code or password reaches a log.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rc := &reqContext{Context: r.Context()}
		r = r.WithContext(rc)
		rc.rec.ResponseWriter = w
		rec := &rc.rec
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		d := time.Since(start)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		s.metrics.observe(route, rec.status, d)
		if r.URL.Path == "/healthz" || r.URL.Path == "/metrics" {
			return
		}
		lvl := slog.LevelInfo
		switch {
		case rec.status >= 500:
			lvl = slog.LevelError
		case route == "GET /api/v1/session" && rec.status < 400:
			// The session check is the hot path of every platform service:
			// counted in metrics, logged only at debug.
			lvl = slog.LevelDebug
		}
		if !s.Logger.Enabled(r.Context(), lvl) {
			return
		}
		s.Logger.LogAttrs(r.Context(), lvl, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("route", route),
			slog.Int("status", rec.status), slog.Duration("duration", d), slog.String("ip", s.clientIP(r)))
	})
}

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.Error("panic serving request", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				s.writeError(w, r, errInternal)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// clientIP is the address of the connection's peer, unless that peer is a
// trusted proxy: then the right-most address in X-Forwarded-For that is not
// itself a trusted proxy. A client cannot choose its address by sending the
// header: from an untrusted peer it is ignored.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer.String()
	}
	hops := r.Header.Values("X-Forwarded-For")
	var addrs []string
	for _, h := range hops {
		for _, a := range strings.Split(h, ",") {
			addrs = append(addrs, strings.TrimSpace(a))
		}
	}
	client := peer
	for i := len(addrs) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(addrs[i])
		if err != nil {
			break // a garbled hop: trust nothing beyond it
		}
		client = a.Unmap()
		if !s.trusted(client) {
			break
		}
	}
	return client.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.Options.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (s *Server) meta(r *http.Request) session.RequestMeta {
	return session.RequestMeta{IP: s.clientIP(r), UserAgent: session.TruncateUA(r.UserAgent()), Lang: string(langOf(r))}
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sellerguard_http_requests_total", Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sellerguard_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// statusLabels are the status codes as metric labels, made once.
var statusLabels = func() (l [600]string) {
	for i := range l {
		l[i] = strconv.Itoa(i)
	}
	return l
}()

func (m *httpMetrics) observe(route string, status int, d time.Duration) {
	code := ""
	if status >= 0 && status < len(statusLabels) {
		code = statusLabels[status]
	} else {
		code = strconv.Itoa(status)
	}
	m.requests.WithLabelValues(route, code).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}
