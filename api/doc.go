// Package api holds SellerGuard's OpenAPI 3.1 document, openapi.json: every
// route the server registers — the JSON API under /api/v1, the operational
// endpoints and the HTML pages — with the permission each needs
// (x-permission), its request and response schemas, and the stable error
// codes of application/problem+json answers. internal/web's tests check the
// document against the routes the server really registers and the answers
// it really gives, so it cannot drift from the code unnoticed.
package api

import _ "embed"

// Spec is the OpenAPI document (JSON), embedded at build time.
//
//go:embed openapi.json
var Spec []byte
