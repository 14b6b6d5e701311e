package web

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// passkeyReach says whether a passkey can work on the page's address, so the
// pages that offer passkeys say why not before a click instead of failing
// after it (issue 18, item 7). Browsers allow WebAuthn only on a domain
// name, never on an IP address, and only in a secure context (https, or
// http://localhost); SellerGuard's relying party is the base URL's host
// (internal/secondstep/passkeys.go), so a browser on another address is refused.
type passkeyReach struct {
	// Blocked is the message key of the reason ("" when passkeys can work).
	Blocked string
	// URL is the address to open instead (the same page at the base URL),
	// when there is one.
	URL string
}

// passkeyReachOf tells whether passkeys can work for this request. The
// request's own host is compared with the base URL only in local mode: it
// runs on loopback with no proxy in front, so the Host header is the
// browser's address; behind a proxy the Host header may be the proxy's
// upstream address, and only the base URL is checked.
func (s *Server) passkeyReachOf(r *http.Request) passkeyReach {
	u, err := url.Parse(s.Options.BaseURL)
	if err != nil || u.Hostname() == "" || net.ParseIP(u.Hostname()) != nil {
		return passkeyReach{Blocked: "passkeys.unavailable.ip"}
	}
	host := strings.ToLower(u.Hostname())
	if u.Scheme != "https" && host != "localhost" && !strings.HasSuffix(host, ".localhost") {
		return passkeyReach{Blocked: "passkeys.unavailable.insecure"}
	}
	if s.Options.LocalMode && !strings.EqualFold(r.Host, u.Host) {
		here := "/account/two-step/passkeys"
		if r.Method == http.MethodGet {
			here = r.URL.EscapedPath()
		}
		return passkeyReach{Blocked: "passkeys.unavailable.elsewhere", URL: strings.TrimRight(s.Options.BaseURL, "/") + here}
	}
	return passkeyReach{}
}
