package apptest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/sellerguard/sellerguard/api"
)

// The contract: every answer a test receives through Do (and every request
// the server accepted) is checked against api/openapi.json with
// kin-openapi, a maintained OpenAPI 3.1 validator. A request the server
// refused is not checked (tests send bad input on purpose), but its answer
// is. Paths the document does not describe (the mux's 404s) are left to the
// x-unmatched checks of internal/web's OpenAPI tests.

var contract struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

// Contract returns the loaded and validated OpenAPI document and a router
// over its operations.
func Contract() (*openapi3.T, routers.Router, error) {
	contract.once.Do(func() {
		// Pages, styles and scripts are checked for status and content
		// type; their bodies are text, not JSON.
		// A whole email (the email check and phishing reports) is text too.
		for _, ct := range []string{"text/html", "text/css", "text/javascript", "image/svg+xml", "message/rfc822"} {
			openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(api.Spec)
		if err != nil {
			contract.err = fmt.Errorf("apptest: load api/openapi.json: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			contract.err = fmt.Errorf("apptest: api/openapi.json is not a valid OpenAPI document: %w", err)
			return
		}
		// Match operations by path alone, whatever host the test server has.
		doc.Servers = openapi3.Servers{{URL: "http://sellerguard.test"}}
		r, err := legacy.NewRouter(doc)
		if err != nil {
			contract.err = fmt.Errorf("apptest: route api/openapi.json: %w", err)
			return
		}
		contract.doc, contract.router = doc, r
	})
	return contract.doc, contract.router, contract.err
}

var contractOptions = &openapi3filter.Options{
	IncludeResponseStatus: true, // an undocumented status is a contract break
	MultiError:            true,
	// Authentication is the server's business (and tested as such); the
	// contract checks shapes.
	AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
}

// CheckContract validates one exchange: the answer always, the request when
// the server accepted it (status below 400). It returns the problems found
// ("" when the exchange matches the document or the path is not in it).
func CheckContract(method, target string, reqHeader http.Header, reqBody []byte, status int, respHeader http.Header, respBody []byte) string {
	_, router, err := Contract()
	if err != nil {
		return err.Error()
	}
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Sprintf("contract: bad target %q: %v", target, err)
	}
	req, err := http.NewRequest(method, "http://sellerguard.test"+u.RequestURI(), bytes.NewReader(reqBody))
	if err != nil {
		return fmt.Sprintf("contract: %v", err)
	}
	req.Header = reqHeader.Clone()
	route, params, err := router.FindRoute(req)
	if err != nil {
		return "" // not a documented path+method: the x-unmatched tests cover these
	}
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: contractOptions}
	var problems []string
	if status < 400 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			problems = append(problems, "request: "+err.Error())
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: respHeader, Options: contractOptions}
	out.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		problems = append(problems, "answer: "+err.Error())
	}
	if len(problems) == 0 {
		return ""
	}
	return fmt.Sprintf("%s %s → %d does not match api/openapi.json:\n  %s\n  body: %.400s",
		method, u.Path, status, strings.Join(problems, "\n  "), respBody)
}

// checkContract reports a contract problem of an exchange made by Do.
func checkContract(t testing.TB, req *http.Request, reqBody []byte, status int, header http.Header, body []byte) {
	t.Helper()
	if p := CheckContract(req.Method, req.URL.RequestURI(), req.Header, reqBody, status, header, body); p != "" {
		t.Errorf("%s", p)
	}
}

func readAll(r io.Reader) []byte {
	if r == nil {
		return nil
	}
	b, _ := io.ReadAll(r)
	return b
}
