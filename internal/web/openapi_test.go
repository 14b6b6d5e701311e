package web_test

// These tests keep api/openapi.json honest. The rule (DESIGN.md 6a) is that
// every route is in the OpenAPI file with the permission it needs, so they
// check, against a real server started with apptest:
//
//   - the document parses, every $ref resolves, and every example matches
//     its schema;
//   - the registered routes and the documented operations are the same set;
//   - every operation names its permission (x-permission), and anonymous
//     callers, partial sign-ins (password only), sessions signed in before
//     the re-authentication window and users without a second step that
//     their business requires get exactly what that permission promises;
//   - every answer the server gives (status, content type, JSON body) is one
//     the document describes, and every error code and field code seen is in
//     the document's enums — which in turn match the codes in the source.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/sellerguard/sellerguard/api"
	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/sms"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// Requests that no route matches are answered by the server's mux fallback
// (404, or 405 with Allow for a known path with another method), not by a
// registered pattern. OpenAPI cannot express "every other path", so the
// document describes those answers under the root extension x-unmatched, per
// path prefix, and the tests check real answers against it.
//
// A registered pattern without a method (a catch-all such as "/" or "/api/")
// would be such a fallback too; none is registered today, and the route test
// refuses one until it is added to oaCatchAlls and described in x-unmatched.
var oaCatchAlls = []string{}

// oaPermission is what an x-permission value promises, as
// TestOpenAPIPermissions checks it against the server.
type oaPermission struct {
	credentials bool // anonymous callers are refused (401 / 303 to /signin)
	partial     bool // a partial sign-in (password only, second step owed) is let in
	pending     bool // a user who must change their password first is let in
	recent      bool // a sign-in older than SELLERGUARD_REAUTH_WINDOW is refused (reauth_required)
	enrolment   bool // refused (two_step_enrollment_required) while a business requires two-step and the caller has none
	agent       bool // a Seller Support agent's session (never a seller's): internal/support
	supervisor  bool // an agent who is a supervisor (others: 403 forbidden)
}

// oaPermissions are the values x-permission may take.
var oaPermissions = map[string]oaPermission{
	// Seller Support's console: an agent session (own token and cookie);
	// every seller session is refused as anonymous.
	"support agent":      {credentials: true, agent: true},
	"support supervisor": {credentials: true, agent: true, supervisor: true},
	// No credentials needed.
	"public": {},
	// No credentials, and 404 unless no SMTP server is configured.
	"local mode only": {},
	// Any session, even one that has passed only the password (the
	// second-step operations, signing out).
	"authenticated (also a partial sign-in)": {credentials: true, partial: true, pending: true},
	// A full session, even of a user who must change their password first
	// (who am I, changing it).
	"authenticated (also with a password change pending)":                 {credentials: true, pending: true},
	"authenticated (also with a password change pending), recent sign-in": {credentials: true, pending: true, recent: true},
	// A full session of a user who need not change their password first.
	"authenticated": {credentials: true},
	// Business data of any business of the caller (what shows depends on
	// their levels), with a second step where a business requires one.
	"authenticated, two-step where required": {credentials: true, enrolment: true},
	// A full session whose sign-in or re-authentication is recent.
	"authenticated, recent sign-in": {credentials: true, recent: true},
	// The same, for a business the caller owns (another answers 404).
	"owner of the business, recent sign-in": {credentials: true, recent: true},
	// Business data only the owner may change, with a recent sign-in (a
	// member gets 403 forbidden, anyone else 404).
	"owner of the business, recent sign-in, two-step where required": {credentials: true, recent: true, enrolment: true},
	// Business data any member may ask for (what they see depends on who
	// they are), and the ownership offer's two parties.
	"business member, two-step where required":                                {credentials: true, enrolment: true},
	"owner of the business or the member offered it, two-step where required": {credentials: true, enrolment: true},
	"the member offered ownership, recent sign-in, two-step where required":   {credentials: true, recent: true, enrolment: true},
	// Business data: a full session, with a second step where a business
	// of the caller requires one; only the businesses the caller owns.
	"owner of the business, two-step where required": {credentials: true, enrolment: true},
	// Business data for a member holding at least a level in one area (the
	// owner holds edit everywhere); a member below it gets 403 forbidden,
	// anyone else 404 as for a business that does not exist.
	"business member with audit_log: view, two-step where required":                {credentials: true, enrolment: true},
	"business member with user_permissions: view, two-step where required":         {credentials: true, enrolment: true},
	"business member with payments: view, two-step where required":                 {credentials: true, enrolment: true},
	"business member with listings: view, two-step where required":                 {credentials: true, enrolment: true},
	"business member with listings: edit, two-step where required":                 {credentials: true, enrolment: true},
	"business member with storefront: view, two-step where required":               {credentials: true, enrolment: true},
	"business member with storefront: edit, two-step where required":               {credentials: true, enrolment: true},
	"business member with payments: edit, recent sign-in, two-step where required": {credentials: true, recent: true, enrolment: true},
	"business member with user_permissions: edit, two-step where required":         {credentials: true, enrolment: true},
	// The same, needing a recent sign-in too.
	"business member with user_permissions: edit, recent sign-in, two-step where required": {credentials: true, recent: true, enrolment: true},
	// An undo in the change review: edit on the undone change's area and a
	// recent sign-in (internal/changes).
	"business member with edit on the change's area, recent sign-in, two-step where required": {credentials: true, recent: true, enrolment: true},
	// Removing a member: edit and a recent sign-in, except for a member
	// leaving (their own user id), who needs neither.
	"business member with user_permissions: edit and a recent sign-in (or the member leaving), two-step where required": {credentials: true, recent: true, enrolment: true},
}

// oaUnbounded are JSON request string fields allowed without maxLength,
// because the code applies no cap of its own (only the 64 KiB body limit).
var oaUnbounded = map[string]bool{
	// Confirming a new authenticator app or phone: the code is trimmed and
	// compared; anything but the six digits is simply invalid_code.
	"CodeRequest.code": true,
}

// --- the document -----------------------------------------------------------

type oaDocument struct {
	root map[string]any
	ops  []oaOperation
}

type oaOperation struct {
	method string // upper case
	path   string // OpenAPI template, e.g. /api/v1/sessions/{id}
	re     *regexp.Regexp
	params int
	op     map[string]any
}

func (o oaOperation) String() string { return o.method + " " + o.path }

func loadOpenAPI(t testing.TB) *oaDocument {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal(api.Spec, &root); err != nil {
		t.Fatalf("api/openapi.json does not parse: %v", err)
	}
	d := &oaDocument{root: root}
	paths, _ := root["paths"].(map[string]any)
	if len(paths) == 0 {
		t.Fatal("api/openapi.json has no paths")
	}
	for p, item := range paths {
		for m, o := range item.(map[string]any) {
			om, ok := o.(map[string]any)
			if !ok || !oaIsMethod(m) {
				continue
			}
			expr, n := oaTemplateRegexp(p)
			d.ops = append(d.ops, oaOperation{method: strings.ToUpper(m), path: p, re: expr, params: n, op: om})
		}
	}
	// Literal paths before templated ones, as the server's mux prefers the
	// more specific pattern.
	sort.Slice(d.ops, func(i, j int) bool {
		if d.ops[i].params != d.ops[j].params {
			return d.ops[i].params < d.ops[j].params
		}
		return d.ops[i].String() < d.ops[j].String()
	})
	return d
}

func oaIsMethod(m string) bool {
	switch m {
	case "get", "put", "post", "delete", "options", "head", "patch", "trace":
		return true
	}
	return false
}

var oaParamRE = regexp.MustCompile(`\{([^{}]+)\}`)

// oaTemplateRegexp matches concrete paths against an OpenAPI path template.
// A final {path} stands for the rest of the path, slashes included: it is
// how a prefix pattern such as "GET /static/" is documented.
func oaTemplateRegexp(tmpl string) (*regexp.Regexp, int) {
	n := 0
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, m := range oaParamRE.FindAllStringIndex(tmpl, -1) {
		b.WriteString(regexp.QuoteMeta(tmpl[last:m[0]]))
		if tmpl[m[0]:m[1]] == "{path}" && m[1] == len(tmpl) {
			b.WriteString(".*")
		} else {
			b.WriteString("[^/]+")
		}
		last = m[1]
		n++
	}
	b.WriteString(regexp.QuoteMeta(tmpl[last:]))
	b.WriteString("$")
	return regexp.MustCompile(b.String()), n
}

// resolve follows a local JSON pointer ("#/components/schemas/Problem").
func (d *oaDocument) resolve(ref string) (any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("$ref %q is not local", ref)
	}
	var cur any = d.root
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q: %q is not inside an object", ref, tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("$ref %q does not resolve: no %q", ref, tok)
		}
	}
	return cur, nil
}

// deref follows $ref chains of a node (OpenAPI objects, not schemas).
func (d *oaDocument) deref(t testing.TB, v any) map[string]any {
	t.Helper()
	for range 10 {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("not an object: %v", v)
		}
		r, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var err error
		if v, err = d.resolve(r); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("$ref loop at %v", v)
	return nil
}

// find returns the operation serving a concrete request, or nil.
func (d *oaDocument) find(method, path string) *oaOperation {
	for i := range d.ops {
		if d.ops[i].method == method && d.ops[i].re.MatchString(path) {
			return &d.ops[i]
		}
	}
	return nil
}

// unmatched returns the x-unmatched entry that answers path: the one with
// the longest matching prefix.
func (d *oaDocument) unmatched(t testing.TB, path string) map[string]any {
	t.Helper()
	best, bestLen := map[string]any(nil), -1
	list, _ := d.root["x-unmatched"].([]any)
	for _, e := range list {
		m := e.(map[string]any)
		p := m["prefix"].(string)
		if strings.HasPrefix(path, p) && len(p) > bestLen {
			best, bestLen = m, len(p)
		}
	}
	if best == nil {
		t.Fatalf("no x-unmatched entry for %s", path)
	}
	return best
}

func (d *oaDocument) errorCodes(t testing.TB) (enum []string, status map[string]int) {
	t.Helper()
	s := d.deref(t, map[string]any{"$ref": "#/components/schemas/ErrorCode"})
	for _, c := range s["enum"].([]any) {
		enum = append(enum, c.(string))
	}
	status = map[string]int{}
	for c, st := range s["x-status"].(map[string]any) {
		status[c] = int(st.(float64))
	}
	return enum, status
}

func (d *oaDocument) fieldCodes(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, c := range d.deref(t, map[string]any{"$ref": "#/components/schemas/FieldErrorCode"})["enum"].([]any) {
		out = append(out, c.(string))
	}
	return out
}

// --- schema validation: kin-openapi ----------------------------------------------

// validate checks v against a schema of the document (an inline schema or a
// $ref) with kin-openapi's JSON Schema 2020-12 validator, the one the
// shared test client (apptest) runs on every answer. The schema comes from
// the raw document tree; its $refs are resolved against the document
// kin-openapi loaded, so both views read the same file.
func (d *oaDocument) validate(schema, v any, at string) []string {
	raw, err := json.Marshal(schema)
	if err != nil {
		return []string{fmt.Sprintf("%s: schema does not encode: %v", at, err)}
	}
	var ref openapi3.SchemaRef
	if err := json.Unmarshal(raw, &ref); err != nil {
		return []string{fmt.Sprintf("%s: schema does not load: %v", at, err)}
	}
	doc, _, err := apptest.Contract()
	if err != nil {
		return []string{err.Error()}
	}
	if err := oaResolve(doc, &ref, 0); err != nil {
		return []string{at + ": " + err.Error()}
	}
	if err := ref.Value.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()); err != nil {
		var out []string
		var multi openapi3.MultiError
		if errors.As(err, &multi) {
			for _, e := range multi {
				out = append(out, fmt.Sprintf("%s: %v (value %s)", at, e, oaShort(v)))
			}
			return out
		}
		return []string{fmt.Sprintf("%s: %v (value %s)", at, err, oaShort(v))}
	}
	return nil
}

// oaResolve points every $ref in a schema loaded on its own at the
// document's resolved component.
func oaResolve(doc *openapi3.T, r *openapi3.SchemaRef, depth int) error {
	if r == nil || depth > 64 {
		return nil
	}
	if r.Ref != "" {
		name, ok := strings.CutPrefix(r.Ref, "#/components/schemas/")
		target := doc.Components.Schemas[name]
		if !ok || target == nil {
			return fmt.Errorf("$ref %s does not resolve", r.Ref)
		}
		r.Value = target.Value
		return nil
	}
	s := r.Value
	if s == nil {
		return fmt.Errorf("empty schema")
	}
	for _, p := range s.Properties {
		if err := oaResolve(doc, p, depth+1); err != nil {
			return err
		}
	}
	for _, list := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf, s.PrefixItems} {
		for _, x := range list {
			if err := oaResolve(doc, x, depth+1); err != nil {
				return err
			}
		}
	}
	for _, x := range []*openapi3.SchemaRef{s.Items, s.Not, s.AdditionalProperties.Schema, s.Contains, s.If, s.Then, s.Else, s.PropertyNames, s.UnevaluatedItems.Schema, s.UnevaluatedProperties.Schema} {
		if err := oaResolve(doc, x, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func oaStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func oaShort(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}

// oaWalk calls fn for every object in the tree with its JSON pointer.
func oaWalk(v any, at string, fn func(at string, m map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		fn(at, v)
		for k, e := range v {
			oaWalk(e, at+"/"+strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1"), fn)
		}
	case []any:
		for i, e := range v {
			oaWalk(e, at+"/"+strconv.Itoa(i), fn)
		}
	}
}

// --- routes -------------------------------------------------------------------

// openAPIOperation turns a registered pattern into the documented method and
// path: "GET /{$}" is "/", a GET prefix pattern "/static/" is
// "/static/{path}", and {name...} wildcards are {name}. ok is false for the
// method-less catch-alls.
func openAPIOperation(pattern string) (method, path string, ok bool) {
	i := strings.IndexAny(pattern, " \t")
	if i < 0 {
		return "", pattern, false
	}
	method, path = pattern[:i], strings.TrimLeft(pattern[i:], " \t")
	switch {
	case strings.HasSuffix(path, "/{$}"):
		path = strings.TrimSuffix(path, "{$}")
	case strings.HasSuffix(path, "/") && path != "/":
		path += "{path}"
	}
	return method, oaRestWildcard.ReplaceAllString(path, "{$1}"), true
}

var oaRestWildcard = regexp.MustCompile(`\{([^{}.]+)\.\.\.\}`)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, "sqlite")
	d := loadOpenAPI(t)

	if v, _ := d.root["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}

	registered := map[string]bool{}
	var catchAlls []string
	for _, p := range in.Server.Routes() {
		m, path, ok := openAPIOperation(p)
		if !ok {
			catchAlls = append(catchAlls, p)
			continue
		}
		registered[m+" "+path] = true
	}
	if len(registered) == 0 {
		t.Fatal("the server registered no routes")
	}
	documented := map[string]bool{}
	for _, o := range d.ops {
		documented[o.String()] = true
	}
	for r := range registered {
		if !documented[r] {
			t.Errorf("route %s is registered but not in api/openapi.json", r)
		}
	}
	for o := range documented {
		if !registered[o] {
			t.Errorf("operation %s is in api/openapi.json but the server does not register it (stale docs?)", o)
		}
	}

	// Catch-alls (patterns without a method) are not operations; each must
	// be listed in oaCatchAlls and have its x-unmatched entry.
	sort.Strings(catchAlls)
	if want := slices.Sorted(slices.Values(oaCatchAlls)); !slices.Equal(catchAlls, want) {
		t.Errorf("method-less patterns registered: %q; oaCatchAlls lists %q (add each to x-unmatched in api/openapi.json too)", catchAlls, want)
	}
	prefixes := map[string]bool{}
	list, _ := d.root["x-unmatched"].([]any)
	for _, e := range list {
		m := e.(map[string]any)
		p, _ := m["prefix"].(string)
		prefixes[p] = true
		rs, _ := m["responses"].(map[string]any)
		if s, _ := m["description"].(string); s == "" || rs["404"] == nil {
			t.Errorf("x-unmatched %q needs a description and a 404 response", p)
		}
	}
	if !prefixes["/"] {
		t.Error(`x-unmatched has no entry for the prefix "/"`)
	}
	for _, c := range oaCatchAlls {
		if !prefixes[c] {
			t.Errorf("catch-all %q has no x-unmatched entry", c)
		}
	}
}

func TestOpenAPIDocumentIsConsistent(t *testing.T) {
	t.Parallel()
	d := loadOpenAPI(t)

	// Every $ref resolves.
	oaWalk(d.root, "#", func(at string, m map[string]any) {
		if r, ok := m["$ref"].(string); ok {
			if _, err := d.resolve(r); err != nil {
				t.Errorf("%s: %v", at, err)
			}
		}
	})

	// Every example matches its schema: media types, parameters and
	// headers ("schema" next to "example"/"examples"), and schemas' own
	// "examples" lists.
	oaWalk(d.root, "#", func(at string, m map[string]any) {
		if schema, ok := m["schema"]; ok {
			if v, ok := m["example"]; ok {
				for _, e := range d.validate(schema, v, at+"/example") {
					t.Error(e)
				}
			}
			if exs, ok := m["examples"].(map[string]any); ok {
				for name, e := range exs {
					ex := d.deref(t, e)
					if _, ok := ex["value"]; !ok {
						t.Errorf("%s/examples/%s has no value", at, name)
						continue
					}
					for _, e := range d.validate(schema, ex["value"], at+"/examples/"+name) {
						t.Error(e)
					}
				}
			}
		}
		if list, ok := m["examples"].([]any); ok {
			if _, isSchema := m["schema"]; !isSchema {
				for i, v := range list {
					for _, e := range d.validate(m, v, fmt.Sprintf("%s/examples/%d", at, i)) {
						t.Error(e)
					}
				}
			}
		}
	})

	opIDs := map[string]string{}
	for _, o := range d.ops {
		op := o.op
		for _, k := range []string{"summary", "description", "operationId"} {
			if s, _ := op[k].(string); strings.TrimSpace(s) == "" {
				t.Errorf("%s has no %s", o, k)
			}
		}
		if id, _ := op["operationId"].(string); id != "" {
			if prev, dup := opIDs[id]; dup {
				t.Errorf("%s and %s share operationId %q", prev, o, id)
			}
			opIDs[id] = o.String()
		}
		if len(oaStrings(op["tags"])) == 0 {
			t.Errorf("%s has no tag", o)
		}
		if !strings.HasPrefix(o.path, "/api/") && !slices.Contains([]string{"/healthz", "/readyz", "/metrics"}, o.path) &&
			!slices.Contains(oaStrings(op["tags"]), "pages") {
			t.Errorf("%s is a page but is not tagged pages", o)
		}

		// The permission, and security that agrees with it.
		perm, _ := op["x-permission"].(string)
		gate, known := oaPermissions[perm]
		if !known {
			t.Errorf("%s: x-permission %q is not one of %q", o, perm, slices.Sorted(oaKeys(oaPermissions)))
		}
		sec, hasSec := op["security"].([]any)
		if !hasSec {
			t.Errorf("%s has no security (use [] for none)", o)
		}
		optional := false
		for _, req := range sec {
			r := req.(map[string]any)
			if len(r) == 0 {
				optional = true
			}
			for scheme := range r {
				if _, err := d.resolve("#/components/securitySchemes/" + scheme); err != nil {
					t.Errorf("%s: security scheme %q is not defined", o, scheme)
				}
			}
		}
		switch {
		case !known:
		case gate.credentials:
			if len(sec) == 0 || optional {
				t.Errorf("%s needs %q but its security allows anonymous callers", o, perm)
			}
		default:
			if len(sec) > 0 && !optional {
				t.Errorf("%s is %q but its security requires credentials", o, perm)
			}
		}

		// Responses: at least one 4xx everywhere — every route refuses a
		// Content-Length over 64 KiB with 413 before anything else runs —
		// and each with a description.
		responses, _ := op["responses"].(map[string]any)
		has4xx := false
		for code, r := range responses {
			if strings.HasPrefix(code, "4") {
				has4xx = true
			}
			if s, _ := d.deref(t, r)["description"].(string); s == "" {
				t.Errorf("%s: response %s has no description", o, code)
			}
		}
		if !has4xx {
			t.Errorf("%s documents no 4xx response", o)
		}

		// Path parameters: exactly those of the template, each required.
		var inTemplate []string
		for _, m := range oaParamRE.FindAllStringSubmatch(o.path, -1) {
			inTemplate = append(inTemplate, m[1])
		}
		var declared []string
		params, _ := op["parameters"].([]any)
		for _, p := range params {
			pm := d.deref(t, p)
			if pm["in"] == "path" {
				declared = append(declared, pm["name"].(string))
				if pm["required"] != true {
					t.Errorf("%s: path parameter %v is not required", o, pm["name"])
				}
			}
			if pm["schema"] == nil {
				t.Errorf("%s: parameter %v has no schema", o, pm["name"])
			}
		}
		sort.Strings(inTemplate)
		sort.Strings(declared)
		if !slices.Equal(inTemplate, declared) {
			t.Errorf("%s: path parameters declared %q, template has %q", o, declared, inTemplate)
		}

		// JSON request bodies: closed objects with bounded strings.
		if rb, ok := op["requestBody"]; ok {
			content := d.deref(t, rb)["content"].(map[string]any)
			if mt, ok := content["application/json"].(map[string]any); ok {
				ref, _ := mt["schema"].(map[string]any)["$ref"].(string)
				name := strings.TrimPrefix(ref, "#/components/schemas/")
				s := d.deref(t, mt["schema"])
				if s["additionalProperties"] != false {
					t.Errorf("%s: the JSON body schema must have additionalProperties: false (unknown fields are refused)", o)
				}
				for prop, ps := range s["properties"].(map[string]any) {
					pm := d.deref(t, ps)
					if pm["type"] == "string" && pm["maxLength"] == nil && !oaUnbounded[name+"."+prop] {
						t.Errorf("%s: body field %s.%s has no maxLength", o, name, prop)
					}
				}
			}
		}
	}

	// The error codes: the enum is exactly the ECode constants of error.go,
	// and each has a status.
	enum, status := d.errorCodes(t)
	source := oaErrorCodesInSource(t)
	if !slices.Equal(slices.Sorted(slices.Values(enum)), source) {
		t.Errorf("ErrorCode enum %q differs from the ECode constants in error.go %q", enum, source)
	}
	for _, c := range enum {
		if st := status[c]; st < 400 || st > 599 {
			t.Errorf("ErrorCode x-status has no HTTP status for %q", c)
		}
	}
	if len(status) != len(enum) {
		t.Errorf("ErrorCode x-status has %d entries for %d codes", len(status), len(enum))
	}

	// Every field code the source can produce is listed.
	fieldEnum := d.fieldCodes(t)
	for _, c := range oaFieldCodesInSource(t) {
		if !slices.Contains(fieldEnum, c) {
			t.Errorf("field code %q appears in the source but not in FieldErrorCode", c)
		}
	}
}

func oaKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// oaErrorCodesInSource returns the values of the ECode* constants of error.go.
func oaErrorCodesInSource(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join("..", "..", "error.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range vs.Names {
			if !strings.HasPrefix(name.Name, "ECode") || i >= len(vs.Values) {
				continue
			}
			if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				v, _ := strconv.Unquote(lit.Value)
				out = append(out, v)
			}
		}
		return true
	})
	if len(out) == 0 {
		t.Fatal("no ECode constants found in error.go")
	}
	sort.Strings(out)
	return out
}

var oaFieldCodeRE = regexp.MustCompile(`FieldError\{[^{}]*\bCode:\s*"([a-z_]+)"`)

// oaFieldCodesInSource finds the codes of FieldError literals in the module's
// non-test Go files.
func oaFieldCodesInSource(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if n := e.Name(); p != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules" || n == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range oaFieldCodeRE.FindAllSubmatch(b, -1) {
			seen[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) == 0 {
		t.Fatal("no FieldError codes found in the source")
	}
	return slices.Sorted(oaKeys(seen))
}

// --- answers ----------------------------------------------------------------

type oaAnswer struct {
	apptest.Response
	method, path string
}

// oaSend makes one request; body, when set, is sent as is.
func oaSend(t *testing.T, in *apptest.Instance, method, target string, header map[string]string, body []byte) oaAnswer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, in.URL+target, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := in.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return oaAnswer{Response: apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, method: method, path: req.URL.Path}
}

func oaSendJSON(t *testing.T, in *apptest.Instance, method, target, token string, body any) oaAnswer {
	t.Helper()
	h := map[string]string{}
	var b []byte
	if body != nil {
		switch v := body.(type) {
		case string:
			b = []byte(v)
		default:
			var err error
			if b, err = json.Marshal(v); err != nil {
				t.Fatal(err)
			}
		}
		h["Content-Type"] = "application/json"
	}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return oaSend(t, in, method, target, h, b)
}

// oaCodes collects the error and field codes the server answered with.
type oaCodes struct{ errors, fields map[string]bool }

// check verifies that an answer is one the document describes for the
// operation (or catch-all) serving the request: its status, its content
// type, its JSON body against the schema, its documented headers, and for
// problem documents a code from the enum with that code's status. It
// returns the problem code, if any.
func (d *oaDocument) check(t *testing.T, a oaAnswer, seen *oaCodes) string {
	t.Helper()
	var where string
	var responses map[string]any
	if o := d.find(a.method, a.path); o != nil {
		responses, _ = o.op["responses"].(map[string]any)
		where = fmt.Sprintf("%s (%s) → %d", o, a.path, a.Status)
	} else {
		u := d.unmatched(t, a.path)
		responses, _ = u["responses"].(map[string]any)
		where = fmt.Sprintf("%s %s (x-unmatched %s) → %d", a.method, a.path, u["prefix"], a.Status)
	}
	raw, ok := responses[strconv.Itoa(a.Status)]
	if !ok {
		raw, ok = responses[strconv.Itoa(a.Status/100)+"XX"]
	}
	if !ok {
		raw, ok = responses["default"]
	}
	if !ok {
		t.Errorf("%s: status not documented\n%s", where, a.Body)
		return ""
	}
	resp := d.deref(t, raw)
	headers, _ := resp["headers"].(map[string]any)
	for name, h := range headers {
		hm := d.deref(t, h)
		values := a.Header.Values(name)
		if len(values) == 0 {
			// A documented header must be there, unless the document
			// says explicitly that it is conditional (required: false).
			if hm["required"] != false {
				t.Errorf("%s: documented header %s is missing", where, name)
			}
			continue
		}
		// At least one value (Set-Cookie may come several times) matches
		// the header's schema.
		var errs []string
		if !slices.ContainsFunc(values, func(v string) bool {
			e := d.validate(hm["schema"], oaHeaderValue(d, hm["schema"], v), "header "+name)
			errs = append(errs, e...)
			return len(e) == 0
		}) {
			t.Errorf("%s: header %s %q does not match its schema: %v", where, name, values, errs)
		}
	}
	content, _ := resp["content"].(map[string]any)
	if len(a.Body) == 0 {
		return "" // e.g. a redirect answering a POST
	}
	mt, _, err := mime.ParseMediaType(a.Header.Get("Content-Type"))
	if err != nil {
		t.Errorf("%s: bad Content-Type %q", where, a.Header.Get("Content-Type"))
		return ""
	}
	media, ok := content[mt].(map[string]any)
	if !ok {
		t.Errorf("%s: content type %s not documented (have %v)", where, mt, slices.Sorted(oaKeys(content)))
		return ""
	}
	if mt != "application/json" && mt != "application/problem+json" {
		return ""
	}
	var v any
	if err := json.Unmarshal(a.Body, &v); err != nil {
		t.Errorf("%s: body is not JSON: %v", where, err)
		return ""
	}
	for _, e := range d.validate(media["schema"], v, "body") {
		t.Errorf("%s: %s\n%s", where, e, a.Body)
	}
	if mt != "application/problem+json" {
		return ""
	}
	p, _ := v.(map[string]any)
	code, _ := p["code"].(string)
	enum, status := d.errorCodes(t)
	if !slices.Contains(enum, code) {
		t.Errorf("%s: error code %q is not in the ErrorCode enum", where, code)
	}
	if status[code] != a.Status {
		t.Errorf("%s: code %q documented with status %d", where, code, status[code])
	}
	// The title is the status text in the answer's language (a user the walk
	// switched to Chinese reads Chinese titles; the code stays the same).
	title := http.StatusText(a.Status)
	if l := a.Header.Get("Content-Language"); l != "" && l != "en" {
		title = i18n.Default().T(i18n.OrDefault(l), "status."+strconv.Itoa(a.Status))
	}
	if p["type"] != "urn:sellerguard:problem:"+code || p["status"] != float64(a.Status) || p["title"] != title {
		t.Errorf("%s: problem type/status/title do not agree: %s", where, a.Body)
	}
	if seen != nil {
		seen.errors[code] = true
		if errs, ok := p["errors"].([]any); ok {
			for _, e := range errs {
				if fc, ok := e.(map[string]any)["code"].(string); ok {
					seen.fields[fc] = true
				}
			}
		}
	}
	return code
}

// oaHeaderValue turns a header's text into the JSON value its schema
// describes: a number for an integer schema when the text is only digits
// (otherwise the text itself, which then fails the type check), the text
// for anything else.
func oaHeaderValue(d *oaDocument, schema any, v string) any {
	s, _ := schema.(map[string]any)
	if r, ok := s["$ref"].(string); ok {
		target, _ := d.resolve(r)
		return oaHeaderValue(d, target, v)
	}
	if s["type"] == "integer" && oaDigits.MatchString(v) {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return v
}

var oaDigits = regexp.MustCompile(`^[0-9]{1,15}$`)

// oaDeviceCookie returns the sg_device cookie a sign-in set, checking its
// documented attributes.
func oaDeviceCookie(t *testing.T, a oaAnswer) string {
	t.Helper()
	for _, c := range (&http.Response{Header: a.Header}).Cookies() {
		if c.Name != "sg_device" {
			continue
		}
		if !regexp.MustCompile(`^sgd_[A-Za-z0-9_-]{22}$`).MatchString(c.Value) || c.Path != "/" || !c.HttpOnly ||
			c.SameSite != http.SameSiteLaxMode || c.MaxAge != 400*24*3600 || c.Secure {
			t.Errorf("device cookie %q does not have the documented form", c.Raw)
		}
		return c.Value
	}
	t.Fatalf("%s %s → %d: no sg_device cookie (Set-Cookie %q)", a.method, a.path, a.Status, a.Header.Values("Set-Cookie"))
	return ""
}

// oaPartialSignIn signs in a user who has a second step and returns the
// partial session's token.
func oaPartialSignIn(t *testing.T, in *apptest.Instance, email, password string) string {
	t.Helper()
	a := oaSendJSON(t, in, "POST", "/api/v1/sessions", "", map[string]string{"email": email, "password": password})
	m := a.JSON(t)
	if a.Status != http.StatusCreated || m["second_step_required"] != true {
		t.Fatalf("sign-in of %s: %d %s, want a partial session", email, a.Status, a.Body)
	}
	return m["token"].(string)
}

// oaWrongTOTP returns six digits that are none of the codes the app with
// this secret could show now (the step before, now and after).
func oaWrongTOTP(t *testing.T, in *apptest.Instance, secret string) string {
	t.Helper()
	now := twostep.Step(in.Clock.Now())
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		right := false
		for s := now - 1; s <= now+1; s++ {
			code, err := twostep.TOTPCode(secret, s)
			if err != nil {
				t.Fatal(err)
			}
			right = right || code == c
		}
		if !right {
			return c
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

var oaUnlockCodeRE = regexp.MustCompile(`Unlock code: ([0-9]{8})`)

// oaUnlockCode returns the newest unlock code emailed to the address.
func oaUnlockCode(t *testing.T, in *apptest.Instance, to string) string {
	t.Helper()
	msgs := in.Outbox(t)
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.EqualFold(msgs[i].To, to) {
			if m := oaUnlockCodeRE.FindStringSubmatch(msgs[i].Body); m != nil {
				return m[1]
			}
		}
	}
	t.Fatalf("no unlock code for %s in the outbox", to)
	return ""
}

// oaConcrete fills an operation's path parameters with harmless values.
func oaConcrete(path string) string {
	return oaParamRE.ReplaceAllStringFunc(path, func(p string) string {
		if p == "{path}" {
			return "style.css"
		}
		return "ses_" + strings.Repeat("a", 26)
	})
}

func oaIsPage(o oaOperation) bool { return slices.Contains(oaStrings(o.op["tags"]), "pages") }

// oaRequest sends a minimal request to an operation: an empty JSON object or
// an empty form when it takes a body, Accept: text/html for pages, and the
// credential given (a bearer token for the API, the cookie for pages).
func oaRequest(t *testing.T, in *apptest.Instance, o oaOperation, token string) oaAnswer {
	t.Helper()
	return oaRequestWith(t, in, o, token, nil, nil)
}

// oaRequestWith is oaRequest with a JSON body of its own (when the operation
// takes one) and path parameters by name (the others get harmless values).
func oaRequestWith(t *testing.T, in *apptest.Instance, o oaOperation, token string, jsonBody []byte, params map[string]string) oaAnswer {
	t.Helper()
	h := map[string]string{}
	var body []byte
	if rb, ok := o.op["requestBody"].(map[string]any); ok {
		content, _ := rb["content"].(map[string]any)
		switch {
		case content["application/json"] != nil:
			h["Content-Type"], body = "application/json", []byte("{}")
			if jsonBody != nil {
				body = jsonBody
			}
		case content["application/x-www-form-urlencoded"] != nil:
			h["Content-Type"], body = "application/x-www-form-urlencoded", []byte("")
		}
	}
	if oaIsPage(o) {
		h["Accept"] = "text/html"
		if token != "" {
			h["Cookie"] = "sg_session=" + token
		}
	} else if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	path := oaParamRE.ReplaceAllStringFunc(o.path, func(p string) string {
		if v, ok := params[strings.Trim(p, "{}")]; ok {
			return url.PathEscape(v)
		}
		return oaConcrete(p)
	})
	return oaSend(t, in, o.method, path, h, body)
}

// oaExampleBody returns the first (by name) documented example of an
// operation's JSON request body, or nil when it has none.
func oaExampleBody(t *testing.T, d *oaDocument, o oaOperation) []byte {
	t.Helper()
	rb, ok := o.op["requestBody"]
	if !ok {
		return nil
	}
	mt, ok := d.deref(t, rb)["content"].(map[string]any)["application/json"].(map[string]any)
	if !ok {
		return nil
	}
	exs, _ := mt["examples"].(map[string]any)
	names := slices.Sorted(oaKeys(exs))
	if len(names) == 0 {
		return nil
	}
	b, err := json.Marshal(d.deref(t, exs[names[0]])["value"])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// oaRefusal names the gate that refused a request, "" when none did:
// "anonymous" (401 unauthenticated; pages 303 to /signin with the session
// cookie cleared), "partial" (403 second_step_required; pages 303 to
// /signin/second-step), "stale" (403 reauth_required; pages 303 to the
// re-authentication page, or the page again with 403) and "enrolment"
// (403 two_step_enrollment_required; pages 303 to /account/two-step?required=1)
// and "password" (403 password_change_required; pages 303 to the password
// page).
func oaRefusal(o oaOperation, a oaAnswer) string {
	if oaIsPage(o) {
		loc := a.Header.Get("Location")
		switch {
		case a.Status == http.StatusSeeOther && loc == "/signin":
			if slices.ContainsFunc(a.Header.Values("Set-Cookie"), func(c string) bool {
				return strings.HasPrefix(c, "sg_session=;") && strings.Contains(c, "; Max-Age=0;")
			}) {
				return "anonymous"
			}
			return "anonymous, but the session cookie was not cleared"
		case a.Status == http.StatusSeeOther && loc == "/agent/signin":
			return "anonymous" // the agent console's sign-in
		case a.Status == http.StatusSeeOther && loc == "/signin/second-step":
			return "partial"
		case a.Status == http.StatusSeeOther && strings.HasPrefix(loc, "/account/reauth?"),
			a.Status == http.StatusForbidden && strings.HasPrefix(a.Header.Get("Content-Type"), "text/html"):
			return "stale"
		case a.Status == http.StatusSeeOther && loc == "/account/two-step?required=1":
			return "enrolment"
		case a.Status == http.StatusSeeOther && strings.HasPrefix(loc, "/account/password?required="):
			return "password"
		}
		return ""
	}
	var p struct{ Code string }
	_ = json.Unmarshal(a.Body, &p) // not every answer is JSON
	switch {
	case a.Status == http.StatusUnauthorized && p.Code == "unauthenticated":
		return "anonymous"
	case a.Status == http.StatusForbidden && p.Code == "second_step_required":
		return "partial"
	case a.Status == http.StatusForbidden && p.Code == "reauth_required":
		return "stale"
	case a.Status == http.StatusForbidden && p.Code == "two_step_enrollment_required":
		return "enrolment"
	case a.Status == http.StatusForbidden && p.Code == "password_change_required":
		return "password"
	}
	return ""
}

// TestOpenAPIPermissions checks that x-permission says what the server does,
// gate by gate: without credentials the protected routes answer 401
// unauthenticated (API) or 303 to /signin with the cookie cleared (pages),
// "public" ones never do, and "local mode only" ones answer 404 unless in
// local mode. With credentials, every protected route lets in a full session
// that signed in just now; a partial sign-in (password only) only where the
// permission says so; a session signed in before the re-authentication
// window only where no recent sign-in is needed; a user without a second
// step, whose business requires one, everywhere but business data; and a
// user who must change their password first only where the permission says so.
func TestOpenAPIPermissions(t *testing.T) {
	t.Parallel()
	d := loadOpenAPI(t)
	// A one-minute re-authentication window, so that a session goes stale
	// with a short step of the clock.
	local := apptest.Start(t, "sqlite", apptest.Env("SELLERGUARD_REAUTH_WINDOW", "1m"))
	remote := apptest.Start(t, "sqlite", apptest.Env("SELLERGUARD_SMTP_URL", "smtp://127.0.0.1:1"))
	const email, pw = "perm@example.com", "correct horse battery staple"
	_, biz := local.SignUp(t, email, pw, "Permission Test")
	local.SignUp(t, "unenrolled@example.com", pw, "No Second Step Co")
	local.SignUp(t, "mustchange@example.com", pw, "Must Change Co")
	if err := local.Account.RequirePasswordChange(context.Background(), "mustchange@example.com", "openapi test"); err != nil {
		t.Fatal(err)
	}

	// perm@ has an authenticator app and trusts one browser: signing in
	// from that browser (its device cookie) gives a full session at once,
	// from anywhere else a partial one.
	secret := local.EnrollTOTP(t, local.SignIn(t, email, pw))
	signIn := func(device, wantLevel string) oaAnswer {
		t.Helper()
		h := map[string]string{"Content-Type": "application/json"}
		if device != "" {
			h["Cookie"] = "sg_device=" + device
		}
		a := oaSend(t, local, "POST", "/api/v1/sessions", h, []byte(`{"email":"`+email+`","password":"`+pw+`"}`))
		if a.Status != http.StatusCreated || a.JSON(t)["session"].(map[string]any)["auth_level"] != wantLevel {
			t.Fatalf("sign-in (device cookie %q): %d %s, want a %s session", device, a.Status, a.Body, wantLevel)
		}
		return a
	}
	first := signIn("", "partial")
	device := oaDeviceCookie(t, first)
	code, err := twostep.TOTPCode(secret, twostep.Step(local.Clock.Now())+1)
	if err != nil {
		t.Fatal(err)
	}
	trust := oaSend(t, local, "POST", "/api/v1/session/second-step",
		map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + first.JSON(t)["token"].(string), "Cookie": "sg_device=" + device},
		[]byte(`{"method":"totp","code":"`+code+`","remember_browser":true}`))
	if trust.Status != http.StatusOK || trust.JSON(t)["trusted_browser_id"] == nil {
		t.Fatalf("trusting the browser: %d %s", trust.Status, trust.Body)
	}
	full := func() string { return signIn(device, "full").JSON(t)["token"].(string) }
	partial := func() string { return signIn("", "partial").JSON(t)["token"].(string) }
	stale := func() string {
		t.Helper()
		token := full()
		local.Clock.Advance(61 * time.Second)
		return token
	}
	unenrolled := func() string { return local.SignIn(t, "unenrolled@example.com", pw) }
	mustChange := func() string { return local.SignIn(t, "mustchange@example.com", pw) }
	// Fresh agent sessions for each operation: signing out is one of them.
	supAgent := addAgent(t, local, "perm-supervisor@example.com", "supervisor")
	plain := addAgent(t, local, "perm-agent@example.com", "agent")
	supervisor := func() string { return agentToken(t, local, supAgent) }
	plainAgent := func() string { return agentToken(t, local, plain) }
	// agentRequest is oaRequest with an agent's token (Bearer, on pages too).
	agentRequest := func(t *testing.T, o oaOperation, token string) oaAnswer {
		t.Helper()
		h := map[string]string{"Authorization": "Bearer " + token}
		var body []byte
		if rb, ok := o.op["requestBody"].(map[string]any); ok {
			content, _ := rb["content"].(map[string]any)
			if content["application/json"] != nil {
				h["Content-Type"], body = "application/json", []byte("{}")
			} else {
				h["Content-Type"] = "application/x-www-form-urlencoded"
			}
		}
		if oaIsPage(o) {
			h["Accept"] = "text/html"
		}
		return oaSend(t, local, o.method, oaConcrete(o.path), h, body)
	}

	for _, o := range d.ops {
		perm, _ := o.op["x-permission"].(string)
		gate := oaPermissions[perm]
		t.Run(o.String(), func(t *testing.T) {
			a := oaRequest(t, local, o, "")
			d.check(t, a, nil)
			switch {
			case perm == "public":
				if r := oaRefusal(o, a); r != "" {
					t.Errorf("x-permission public, but an anonymous caller was refused (%s): %d %s", r, a.Status, a.Body)
				}
			case perm == "local mode only":
				if a.Status != http.StatusOK {
					t.Errorf("local mode: %d %s", a.Status, a.Body)
				}
				a = oaRequest(t, remote, o, "")
				d.check(t, a, nil)
				if a.Status != http.StatusNotFound {
					t.Errorf("outside local mode: %d, want 404", a.Status)
				}
			case gate.agent:
				if r := oaRefusal(o, a); r != "anonymous" {
					t.Errorf("x-permission %q, but an anonymous caller got %d %s (refusal %q)", perm, a.Status, a.Body, r)
				}
				// Seller sessions are refused like no session at all.
				for who, token := range map[string]string{"a full seller session": full(), "a partial seller sign-in": partial()} {
					a := oaRequest(t, local, o, token)
					d.check(t, a, nil)
					if r := oaRefusal(o, a); r != "anonymous" {
						t.Errorf("x-permission %q, %s: %d %s (refusal %q, want anonymous)", perm, who, a.Status, a.Body, r)
					}
				}
				a = agentRequest(t, o, supervisor())
				d.check(t, a, nil)
				if r := oaRefusal(o, a); r != "" || a.Status == http.StatusForbidden {
					t.Errorf("x-permission %q, a supervisor was refused: %d %s", perm, a.Status, a.Body)
				}
				a = agentRequest(t, o, plainAgent())
				d.check(t, a, nil)
				if refused := a.Status == http.StatusForbidden; refused != gate.supervisor || (!refused && oaRefusal(o, a) != "") {
					t.Errorf("x-permission %q, an agent who is no supervisor: %d %s", perm, a.Status, a.Body)
				}
			case gate.credentials:
				if r := oaRefusal(o, a); r != "anonymous" {
					t.Errorf("x-permission %q, but an anonymous caller got %d %s (refusal %q)", perm, a.Status, a.Body, r)
				}
				try := func(who, want string, a oaAnswer) {
					t.Helper()
					d.check(t, a, nil)
					if r := oaRefusal(o, a); r != want {
						t.Errorf("x-permission %q, %s: %d %s (refusal %q, want %q)", perm, who, a.Status, a.Body, r, want)
					}
				}
				try("a full session, signed in just now", "", oaRequest(t, local, o, full()))
				want := "partial"
				if gate.partial {
					want = ""
				}
				try("a partial sign-in", want, oaRequest(t, local, o, partial()))
				// The documented example request, for the caller's own
				// business, so that nothing else refuses it first.
				want = ""
				if gate.recent {
					want = "stale"
				}
				try("a session signed in before the re-authentication window", want,
					oaRequestWith(t, local, o, stale(), oaExampleBody(t, d, o), map[string]string{"business_id": biz}))
				want = ""
				if gate.enrolment {
					want = "enrolment"
				}
				try("a user without a second step whose business requires one", want, oaRequest(t, local, o, unenrolled()))
				want = "password"
				if gate.pending {
					want = ""
				}
				try("a user who must change their password first", want, oaRequest(t, local, o, mustChange()))
			default:
				t.Errorf("x-permission %q is not checked here", perm)
			}
		})
	}
}

// TestOpenAPIErrorCodes sends real failing requests and checks that every
// error code and field code answered is in the document's enums, with the
// documented status, content type and shape.
func TestOpenAPIErrorCodes(t *testing.T) {
	t.Parallel()
	d := loadOpenAPI(t)
	// The test client (127.0.0.1) is a trusted proxy, so the source-limit
	// cases below can name their clients with X-Forwarded-For; requests
	// without the header come from 127.0.0.1 itself.
	in := apptest.Start(t, "sqlite", apptest.Env("SELLERGUARD_TRUSTED_PROXIES", "127.0.0.1"))
	const pw = "correct horse battery staple"
	_, biz := in.SignUp(t, "owner@example.com", pw, "Owner Co")
	_, otherBiz := in.SignUp(t, "other@example.com", pw, "Other Co")
	in.SignUp(t, "unenrolled@example.com", pw, "Unenrolled Co")
	in.SignUp(t, "five@example.com", pw, "Five Co")
	in.SignUp(t, "mustchange@example.com", pw, "Must Change Co")
	if err := in.Account.RequirePasswordChange(context.Background(), "mustchange@example.com", "openapi test"); err != nil {
		t.Fatal(err)
	}
	// A session signed in longer ago than the re-authentication window
	// (SELLERGUARD_REAUTH_WINDOW, default 10 minutes).
	staleToken := in.SignIn(t, "owner@example.com", pw)
	in.Clock.Advance(11 * time.Minute)
	token := in.SignIn(t, "owner@example.com", pw)
	otherToken := in.SignIn(t, "other@example.com", pw)
	unenrolledToken := in.SignIn(t, "unenrolled@example.com", pw)
	// New businesses require two-step verification for their data: owner@,
	// other@ and five@ set up an authenticator app (their sessions stay
	// full); their next sign-ins are partial.
	ownerSecret := in.EnrollTOTP(t, token)
	in.EnrollTOTP(t, otherToken)
	fiveSecret := in.EnrollTOTP(t, in.SignIn(t, "five@example.com", pw))
	partialToken := oaPartialSignIn(t, in, "owner@example.com", pw)
	methods := oaSendJSON(t, in, "GET", "/api/v1/two-step", token, nil).JSON(t)["methods"].([]any)
	ownerMethod := methods[0].(map[string]any)["id"].(string)

	seen := &oaCodes{errors: map[string]bool{}, fields: map[string]bool{}}
	type tc struct {
		name      string
		a         oaAnswer
		code      string
		fieldCode string
	}
	big := `{"email":"` + strings.Repeat("a", 70<<10) + `"}`
	cases := []tc{
		{"wrong password", oaSendJSON(t, in, "POST", "/api/v1/sessions", "", map[string]string{"email": "owner@example.com", "password": "wrong wrong wrong"}), "invalid_credentials", ""},
		{"unknown email", oaSendJSON(t, in, "POST", "/api/v1/sessions", "", map[string]string{"email": "nobody@example.com", "password": pw}), "invalid_credentials", ""},
		{"not JSON", oaSendJSON(t, in, "POST", "/api/v1/sessions", "", `{"email":`), "malformed_json", ""},
		{"null body", oaSendJSON(t, in, "POST", "/api/v1/sessions", "", `null`), "malformed_json", ""},
		{"trailing data", oaSendJSON(t, in, "POST", "/api/v1/sessions", "", `{} {}`), "malformed_json", ""},
		{"unknown field", oaSendJSON(t, in, "POST", "/api/v1/sessions", "", `{"email":"a@example.com","is_admin":true}`), "malformed_json", "unknown_field"},
		{"wrong type", oaSendJSON(t, in, "POST", "/api/v1/signup", "", `{"email":5}`), "invalid_input", "wrong_type"},
		{"signup fields", oaSendJSON(t, in, "POST", "/api/v1/signup", "", map[string]string{"email": "nope", "password": "short", "business_name": " ", "phone": "12"}), "invalid_input", "invalid_email"},
		{"signup required", oaSendJSON(t, in, "POST", "/api/v1/signup", "", map[string]string{"password": strings.Repeat("x", 4097), "business_name": strings.Repeat("b", 121)}), "invalid_input", "required"},
		{"wrong media type", oaSend(t, in, "POST", "/api/v1/signup", map[string]string{"Content-Type": "text/plain"}, []byte(`{}`)), "unsupported_media_type", ""},
		{"too large", oaSend(t, in, "POST", "/api/v1/signup", map[string]string{"Content-Type": "application/json"}, []byte(big)), "payload_too_large", ""},
		{"too large page", oaSend(t, in, "POST", "/signin", map[string]string{"Accept": "application/json"}, []byte(big)), "payload_too_large", ""},
		{"wrong code", oaSendJSON(t, in, "POST", "/api/v1/signup/verify", "", map[string]string{"email": "owner@example.com", "code": "000000"}), "invalid_code", ""},
		{"code format", oaSendJSON(t, in, "POST", "/api/v1/signup/verify", "", map[string]string{"email": "owner@example.com", "code": "12ab"}), "invalid_input", "invalid_code_format"},
		{"no token", oaSendJSON(t, in, "GET", "/api/v1/session", "", nil), "unauthenticated", ""},
		{"basic auth", oaSend(t, in, "GET", "/api/v1/sessions", map[string]string{"Authorization": "Basic dXNlcjpwdw=="}, nil), "unauthenticated", ""},
		{"bad token", oaSendJSON(t, in, "GET", "/api/v1/audit", "sgs_not-a-token", nil), "unauthenticated", ""},
		{"cross-site API", oaSend(t, in, "POST", "/api/v1/sessions", map[string]string{"Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"}, []byte(`{}`)), "forbidden", ""},
		{"cross-site page", oaSend(t, in, "POST", "/signin", map[string]string{"Origin": "https://evil.example", "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}, []byte("email=a")), "forbidden", ""},
		{"unknown session", oaSendJSON(t, in, "DELETE", "/api/v1/sessions/ses_"+strings.Repeat("a", 26), token, nil), "not_found", ""},
		{"over-long session id", oaSendJSON(t, in, "DELETE", "/api/v1/sessions/"+strings.Repeat("s", 65), token, nil), "not_found", ""},
		{"another's business", oaSendJSON(t, in, "GET", "/api/v1/audit?business_id="+url.QueryEscape(biz), otherToken, nil), "not_found", ""},
		{"audit filters", oaSendJSON(t, in, "GET", "/api/v1/audit?category=x&limit=0&since=yesterday&cursor=%21", token, nil), "invalid_input", "invalid_category"},
		{"audit actor", oaSendJSON(t, in, "GET", "/api/v1/audit?actor="+strings.Repeat("u", 65), token, nil), "invalid_input", "too_long"},
		{"audit csv filters", oaSend(t, in, "GET", "/account/audit.csv?limit=500", map[string]string{"Authorization": "Bearer " + token, "Accept": "application/json"}, nil), "invalid_input", "out_of_range"},
		{"not UTF-8", oaSend(t, in, "POST", "/api/v1/sessions", map[string]string{"Content-Type": "application/json"}, []byte("{\"email\":\"\xff\"}")), "malformed_json", ""},
		{"unknown API path", oaSendJSON(t, in, "GET", "/api/v1/nope", "", nil), "not_found", ""},
		{"wrong method", oaSendJSON(t, in, "GET", "/api/v1/signup", "", nil), "method_not_allowed", ""},
		{"wrong method on a template", oaSendJSON(t, in, "GET", "/api/v1/sessions/revoke-others", "", nil), "method_not_allowed", ""},
		{"unknown page", oaSend(t, in, "GET", "/nope", map[string]string{"Accept": "application/json"}, nil), "not_found", ""},
		{"page wrong method", oaSend(t, in, "DELETE", "/signin", map[string]string{"Accept": "application/json"}, nil), "method_not_allowed", ""},
		{"unlock bad email", oaSendJSON(t, in, "POST", "/api/v1/sessions/unlock", "", map[string]string{"email": "nope"}), "invalid_input", "invalid_email"},
		{"unlock no email", oaSendJSON(t, in, "POST", "/api/v1/sessions/unlock", "", `{}`), "invalid_input", "required"},
		{"unlock long email", oaSendJSON(t, in, "POST", "/api/v1/sessions/unlock", "", map[string]string{"email": strings.Repeat("e", 250) + "@example.com"}), "invalid_input", "too_long"},
		{"unlock unknown field", oaSendJSON(t, in, "POST", "/api/v1/sessions/unlock", "", `{"email":"a@example.com","password":"x"}`), "malformed_json", "unknown_field"},
		{"unlock wrong media type", oaSend(t, in, "POST", "/api/v1/sessions/unlock", map[string]string{"Content-Type": "text/plain"}, []byte(`{}`)), "unsupported_media_type", ""},
		{"wrong unlock code", oaSendJSON(t, in, "POST", "/api/v1/sessions", "", map[string]string{"email": "owner@example.com", "password": "wrong wrong wrong", "unlock_code": "00000000"}), "invalid_credentials", ""},
		{"over-long unlock code", oaSendJSON(t, in, "POST", "/api/v1/sessions", "", map[string]string{"email": "owner@example.com", "password": pw, "unlock_code": strings.Repeat("1", 65)}), "invalid_credentials", ""},
		{"unlock code wrong type", oaSendJSON(t, in, "POST", "/api/v1/sessions", "", `{"email":"owner@example.com","password":"x","unlock_code":12345678}`), "invalid_input", "wrong_type"},

		// Two-step verification: the gates.
		{"partial sign-in, business data", oaSendJSON(t, in, "GET", "/api/v1/audit", partialToken, nil), "second_step_required", ""},
		{"partial sign-in, who am I", oaSendJSON(t, in, "GET", "/api/v1/session", partialToken, nil), "second_step_required", ""},
		{"partial sign-in, end other sessions", oaSendJSON(t, in, "POST", "/api/v1/sessions/revoke-others", partialToken, nil), "second_step_required", ""},
		{"no second step, business data", oaSendJSON(t, in, "GET", "/api/v1/audit", unenrolledToken, nil), "two_step_enrollment_required", ""},
		{"no second step, audit export: to the set-up page", oaSend(t, in, "GET", "/account/audit.csv", map[string]string{"Authorization": "Bearer " + unenrolledToken, "Accept": "application/json"}, nil), "", ""},
		{"stale sign-in, new backup codes", oaSendJSON(t, in, "POST", "/api/v1/two-step/backup-codes", staleToken, nil), "reauth_required", ""},
		{"stale sign-in, phrase", oaSendJSON(t, in, "PUT", "/api/v1/account/anti-phishing-phrase", staleToken, map[string]string{"phrase": "purple teapot at dawn"}), "reauth_required", ""},
		{"stale sign-in, remove a method", oaSendJSON(t, in, "DELETE", "/api/v1/two-step/"+ownerMethod, staleToken, nil), "reauth_required", ""},
		{"stale sign-in, business requirement", oaSendJSON(t, in, "PUT", "/api/v1/businesses/"+biz+"/two-step", staleToken, map[string]bool{"required": false}), "reauth_required", ""},
		// The second step and re-authentication.
		{"wrong second step", oaSendJSON(t, in, "POST", "/api/v1/session/second-step", partialToken, map[string]string{"method": "totp", "code": oaWrongTOTP(t, in, ownerSecret)}), "invalid_code", ""},
		{"second step code too long", oaSendJSON(t, in, "POST", "/api/v1/session/second-step", partialToken, map[string]string{"method": "totp", "code": strings.Repeat("1", 513)}), "invalid_input", "too_long"},
		{"second step unknown field", oaSendJSON(t, in, "POST", "/api/v1/session/second-step", partialToken, `{"method":"totp","code":"123456","password":"x"}`), "malformed_json", "unknown_field"},
		{"second step of a full session", oaSendJSON(t, in, "POST", "/api/v1/session/second-step", token, map[string]string{"method": "totp", "code": "123456"}), "conflict", ""},
		{"second step without a token", oaSendJSON(t, in, "POST", "/api/v1/session/second-step", "", map[string]string{"method": "totp", "code": "123456"}), "unauthenticated", ""},
		{"text without a phone", oaSendJSON(t, in, "POST", "/api/v1/session/second-step/sms", partialToken, nil), "not_found", ""},
		{"passkeys on an IP address", oaSendJSON(t, in, "POST", "/api/v1/session/second-step/passkey/begin", partialToken, nil), "conflict", ""},
		{"passkey answer missing", oaSendJSON(t, in, "POST", "/api/v1/session/second-step/passkey/finish", partialToken, `{}`), "invalid_input", "required"},
		{"reauth wrong password", oaSendJSON(t, in, "POST", "/api/v1/session/reauth", token, map[string]string{"password": "wrong wrong wrong"}), "invalid_credentials", ""},
		{"reauth wrong code", oaSendJSON(t, in, "POST", "/api/v1/session/reauth", token, map[string]string{"password": pw, "method": "totp", "code": oaWrongTOTP(t, in, ownerSecret)}), "invalid_code", ""},
		{"reauth of a partial sign-in", oaSendJSON(t, in, "POST", "/api/v1/session/reauth", partialToken, map[string]string{"password": pw}), "second_step_required", ""},
		// The team: a non-member's business is not found, bad permissions
		// name their field codes, a member cannot be invited again.
		{"another's members", oaSendJSON(t, in, "GET", "/api/v1/businesses/"+biz+"/members", otherToken, nil), "not_found", ""},
		{"invite unknown area", oaSendJSON(t, in, "POST", "/api/v1/businesses/"+biz+"/invitations", token, `{"email":"carol@example.com","permissions":{"shipping":"view"}}`), "invalid_input", "unknown_area"},
		{"invite invalid level", oaSendJSON(t, in, "POST", "/api/v1/businesses/"+biz+"/invitations", token, `{"email":"carol@example.com","permissions":{"listings":"admin"}}`), "invalid_input", "invalid_level"},
		{"invite a member", oaSendJSON(t, in, "POST", "/api/v1/businesses/"+biz+"/invitations", token, map[string]string{"email": "owner@example.com"}), "conflict", ""},
		{"stale sign-in, member permissions", oaSendJSON(t, in, "PATCH", "/api/v1/businesses/"+biz+"/members/ses_"+strings.Repeat("a", 26), staleToken, `{"permissions":{}}`), "reauth_required", ""},
		{"accept another's invitation", oaSendJSON(t, in, "POST", "/api/v1/invitations/inv_"+strings.Repeat("a", 26)+"/accept", token, nil), "not_found", ""},
		// Managing second steps.
		{"last method while required", oaSendJSON(t, in, "DELETE", "/api/v1/two-step/"+ownerMethod, token, nil), "conflict", ""},
		{"unknown method", oaSendJSON(t, in, "DELETE", "/api/v1/two-step/tsm_"+strings.Repeat("a", 26), token, nil), "not_found", ""},
		{"unknown enrolment", oaSendJSON(t, in, "POST", "/api/v1/two-step/totp/tsm_"+strings.Repeat("a", 26)+"/confirm", token, map[string]string{"code": "123456"}), "not_found", ""},
		{"confirmed already", oaSendJSON(t, in, "POST", "/api/v1/two-step/totp/"+ownerMethod+"/confirm", token, map[string]string{"code": "123456"}), "not_found", ""},
		{"unknown phone", oaSendJSON(t, in, "POST", "/api/v1/two-step/sms/tsm_"+strings.Repeat("a", 26)+"/confirm", token, map[string]string{"code": "123456"}), "not_found", ""},
		{"unknown trusted browser", oaSendJSON(t, in, "DELETE", "/api/v1/trusted-browsers/trb_"+strings.Repeat("a", 26), token, nil), "not_found", ""},
		{"name too long", oaSendJSON(t, in, "POST", "/api/v1/two-step/totp", token, map[string]string{"label": strings.Repeat("l", 61)}), "invalid_input", "too_long"},
		{"start totp unknown field", oaSendJSON(t, in, "POST", "/api/v1/two-step/totp", token, `{"secret":"JBSWY3DPEHPK3PXP"}`), "malformed_json", "unknown_field"},
		{"not a mobile number", oaSendJSON(t, in, "POST", "/api/v1/two-step/sms", token, map[string]string{"phone": "call me"}), "invalid_input", "invalid_phone"},
		{"number too long", oaSendJSON(t, in, "POST", "/api/v1/two-step/sms", token, map[string]string{"phone": "+" + strings.Repeat("4", 32)}), "invalid_input", "too_long"},
		{"passkey registration on an IP address", oaSendJSON(t, in, "POST", "/api/v1/two-step/passkeys/begin", token, nil), "conflict", ""},
		{"passkey registration answer missing", oaSendJSON(t, in, "POST", "/api/v1/two-step/passkeys/finish", token, `{"label":"x"}`), "invalid_input", "required"},
		{"passkey begin takes no fields", oaSendJSON(t, in, "POST", "/api/v1/two-step/passkeys/begin", token, `{"label":"x"}`), "malformed_json", "unknown_field"},
		{"requirement missing", oaSendJSON(t, in, "PUT", "/api/v1/businesses/"+biz+"/two-step", token, `{}`), "invalid_input", "required"},
		{"requirement wrong type", oaSendJSON(t, in, "PUT", "/api/v1/businesses/"+biz+"/two-step", token, `{"required":"no"}`), "invalid_input", "wrong_type"},
		{"requirement of another's business", oaSendJSON(t, in, "PUT", "/api/v1/businesses/"+otherBiz+"/two-step", token, map[string]bool{"required": false}), "not_found", ""},
		{"phrase too short", oaSendJSON(t, in, "PUT", "/api/v1/account/anti-phishing-phrase", token, map[string]string{"phrase": "ab"}), "invalid_input", "too_short"},
		{"phrase too long", oaSendJSON(t, in, "PUT", "/api/v1/account/anti-phishing-phrase", token, map[string]string{"phrase": strings.Repeat("p", 65)}), "invalid_input", "too_long"},
		{"phrase empty", oaSendJSON(t, in, "PUT", "/api/v1/account/anti-phishing-phrase", token, map[string]string{"phrase": " "}), "invalid_input", "required"},
		// Passwords and contact details.
		{"password change pending", oaSendJSON(t, in, "GET", "/api/v1/sessions", in.SignIn(t, "mustchange@example.com", pw), nil), "password_change_required", ""},
		{"signup with only a weak password", oaSendJSON(t, in, "POST", "/api/v1/signup", "", map[string]string{"email": "weak@example.com", "password": "aaaaaaaaaaaa", "business_name": "Weak Co"}), "password_policy", ""},
		{"new password refused", oaSendJSON(t, in, "POST", "/api/v1/account/password", token, map[string]string{"current_password": pw, "new_password": "aaaaaaaaaaaa"}), "password_policy", ""},
		{"current password wrong", oaSendJSON(t, in, "POST", "/api/v1/account/password", token, map[string]string{"current_password": "wrong wrong wrong", "new_password": "violet kestrel under seven bridges"}), "invalid_input", "wrong_password"},
		{"password check context too long", oaSendJSON(t, in, "POST", "/api/v1/password/check", "", map[string]string{"password": "x", "business_name": strings.Repeat("b", 481)}), "invalid_input", "too_long"},
		{"password rules missing", oaSendJSON(t, in, "PUT", "/api/v1/businesses/"+biz+"/password-rules", token, `{"strict":true}`), "invalid_input", "required"},
		{"password rules out of range", oaSendJSON(t, in, "PUT", "/api/v1/businesses/"+biz+"/password-rules", token, `{"max_age_days":7,"strict":true}`), "invalid_input", "out_of_range"},
		{"password rules of another's business", oaSendJSON(t, in, "PUT", "/api/v1/businesses/"+otherBiz+"/password-rules", token, `{"max_age_days":0,"strict":false}`), "not_found", ""},
		{"same email", oaSendJSON(t, in, "POST", "/api/v1/account/email", token, map[string]string{"email": "OWNER@example.com"}), "invalid_input", "unchanged"},
		{"no email change pending", oaSendJSON(t, in, "POST", "/api/v1/account/email/confirm", token, map[string]string{"code": "123456"}), "invalid_code", ""},
		{"wrong revert code", oaSendJSON(t, in, "POST", "/api/v1/account/email/revert", "", map[string]string{"email": "owner@example.com", "code": "12345678"}), "invalid_code", ""},
		{"contact kind", oaSendJSON(t, in, "POST", "/api/v1/account/contact/confirm", token, map[string]string{"kind": "fax"}), "invalid_input", "invalid_kind"},
		{"no mobile number", oaSendJSON(t, in, "POST", "/api/v1/account/contact/confirm", token, map[string]string{"kind": "phone"}), "conflict", ""},
		{"phone change, not mobile", oaSendJSON(t, in, "POST", "/api/v1/account/phone", token, map[string]string{"phone": "+44 20 7946 0000"}), "invalid_input", "invalid_phone"},
		{"signup phrase too short", oaSendJSON(t, in, "POST", "/api/v1/signup", "", map[string]string{"email": "phrase@example.com", "password": pw, "business_name": "P", "anti_phishing_phrase": "ab"}), "invalid_input", "too_short"},
	}

	// Wrong second steps, until the attempt ends: 400 invalid_code four
	// times, then 401 unauthenticated (the partial session is gone); the
	// account's growing delay answers 429 with Retry-After in between (the
	// test waits it out on the instance's clock).
	fivePartial := oaPartialSignIn(t, in, "five@example.com", pw)
	var delayed []oaAnswer
	in.Clock.Freeze() // the delay is a second: a slow request must not outlast it
	for tries, wrong := 0, 0; wrong < 5; tries++ {
		if tries == 20 {
			t.Fatalf("%d wrong codes counted after 20 tries", wrong)
		}
		a := oaSendJSON(t, in, "POST", "/api/v1/session/second-step", fivePartial, map[string]string{"method": "totp", "code": oaWrongTOTP(t, in, fiveSecret)})
		switch {
		case a.Status == http.StatusTooManyRequests:
			cases = append(cases, tc{fmt.Sprintf("second step delayed (try %d)", tries+1), a, "rate_limited", ""})
			delayed = append(delayed, a)
			in.Clock.Advance(time.Minute)
		case wrong < 4:
			wrong++
			cases = append(cases, tc{fmt.Sprintf("wrong code %d of 5", wrong), a, "invalid_code", ""})
		default:
			wrong++
			cases = append(cases, tc{"fifth wrong code", a, "unauthenticated", ""})
		}
	}
	in.Clock.Thaw()
	if len(delayed) == 0 {
		t.Error("five wrong codes in a row were never delayed")
	}
	cases = append(cases, tc{"the ended attempt", oaSendJSON(t, in, "GET", "/api/v1/session", fivePartial, nil), "unauthenticated", ""})

	// The per-address limit: 60 failed sign-ins with distinct unknown
	// emails from one client — IPv6 addresses that rotate inside one /64,
	// which counts as one address. The first 50 (the default
	// SELLERGUARD_LIMIT_SOURCE_FAILURES) are invalid_credentials, the rest
	// rate_limited with Retry-After; the right password from there is
	// refused too, while another /64 is not affected.
	const sourceLimit = 50
	from := func(ip string) map[string]string {
		return map[string]string{"Content-Type": "application/json", "X-Forwarded-For": ip}
	}
	signInJSON := func(email, password string) []byte {
		b, _ := json.Marshal(map[string]string{"email": email, "password": password})
		return b
	}
	var limited []oaAnswer
	for i := range 60 {
		a := oaSend(t, in, "POST", "/api/v1/sessions", from(fmt.Sprintf("2001:db8:7:7::%x", i+1)), signInJSON(fmt.Sprintf("flood%02d@example.com", i), "Password1!"))
		want := "invalid_credentials"
		if i >= sourceLimit {
			want = "rate_limited"
			limited = append(limited, a)
		}
		cases = append(cases, tc{fmt.Sprintf("source failure %02d", i), a, want, ""})
	}
	rightPassword := oaSend(t, in, "POST", "/api/v1/sessions", from("2001:db8:7:7:ffff::1"), signInJSON("other@example.com", pw))
	limited = append(limited, rightPassword)
	cases = append(cases,
		tc{"limited source, right password", rightPassword, "rate_limited", ""},
		tc{"another /64", oaSend(t, in, "POST", "/api/v1/sessions", from("2001:db8:7:8::1"), signInJSON("flood-other@example.com", "Password1!")), "invalid_credentials", ""},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := d.check(t, c.a, seen)
			if got != c.code {
				t.Errorf("%s %s: code %q, want %q (%d %s)", c.a.method, c.a.path, got, c.code, c.a.Status, c.a.Body)
			}
			if c.fieldCode != "" && !bytes.Contains(c.a.Body, []byte(`"code":"`+c.fieldCode+`"`)) {
				t.Errorf("no field code %q in %s", c.fieldCode, c.a.Body)
			}
		})
	}

	// Every 429 says how long to wait — at most the window (default 10
	// minutes) — with exactly the documented problem document.
	example := d.deref(t, map[string]any{"$ref": "#/components/responses/RateLimited"})["content"].(map[string]any)["application/problem+json"].(map[string]any)["examples"].(map[string]any)["rate_limited"].(map[string]any)["value"]
	for _, a := range limited {
		if n, err := strconv.Atoi(a.Header.Get("Retry-After")); err != nil || n < 1 || n > 600 {
			t.Errorf("%s %s → %d: Retry-After %q, want 1–600 seconds", a.method, a.path, a.Status, a.Header.Get("Retry-After"))
		}
		var body any
		if err := json.Unmarshal(a.Body, &body); err != nil || !reflect.DeepEqual(body, example) {
			t.Errorf("429 body %s differs from the documented example %v", a.Body, example)
		}
	}
	// The delayed second steps say how long to wait too, with their own
	// documented answer.
	example = d.deref(t, map[string]any{"$ref": "#/components/responses/TwoStepRateLimited"})["content"].(map[string]any)["application/problem+json"].(map[string]any)["examples"].(map[string]any)["rate_limited"].(map[string]any)["value"]
	for _, a := range delayed {
		if n, err := strconv.Atoi(a.Header.Get("Retry-After")); err != nil || n < 1 || n > 900 {
			t.Errorf("%s %s → %d: Retry-After %q, want 1–900 seconds", a.method, a.path, a.Status, a.Header.Get("Retry-After"))
		}
		var body any
		if err := json.Unmarshal(a.Body, &body); err != nil || !reflect.DeepEqual(body, example) {
			t.Errorf("429 body %s differs from the documented example %v", a.Body, example)
		}
	}
	// The sign-in page refuses the limited address too: the form with 429.
	page := oaSend(t, in, "POST", "/signin", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html", "X-Forwarded-For": "2001:db8:7:7::abcd"},
		[]byte(url.Values{"email": {"owner@example.com"}, "password": {pw}}.Encode()))
	if page.Status != http.StatusTooManyRequests || !bytes.Contains(page.Body, []byte("Too many attempts from your network")) {
		t.Errorf("sign-in page from the limited address: %d %s", page.Status, page.Body)
	}
	d.check(t, page, seen)

	// HTML error pages and the mux's redirects are documented too.
	for _, a := range []oaAnswer{
		oaSend(t, in, "GET", "/healthz", nil, []byte(big)),
		oaSend(t, in, "GET", "/nope", map[string]string{"Accept": "text/html"}, nil),
		oaSend(t, in, "POST", "/account", map[string]string{"Accept": "text/html"}, nil),
		oaSend(t, in, "GET", "/static", nil, nil),
		oaSend(t, in, "GET", "/api//v1/session", nil, nil),
	} {
		d.check(t, a, nil)
		if a.Status == http.StatusMethodNotAllowed && a.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", a.method, a.path)
		}
	}

	enum, _ := d.errorCodes(t)
	for c := range seen.errors {
		if !slices.Contains(enum, c) {
			t.Errorf("the server answered code %q, which is not in the ErrorCode enum", c)
		}
	}
	fieldEnum := d.fieldCodes(t)
	for c := range seen.fields {
		if !slices.Contains(fieldEnum, c) {
			t.Errorf("the server answered field code %q, which is not in the FieldErrorCode enum", c)
		}
	}
	var unseen []string
	for _, c := range enum {
		if !seen.errors[c] {
			unseen = append(unseen, c)
		}
	}
	t.Logf("error codes seen: %v; documented but not produced here: %v", slices.Sorted(oaKeys(seen.errors)), unseen)
}

// TestOpenAPISuccessAnswers walks the happy paths and checks every answer
// against the documented schemas.
func TestOpenAPISuccessAnswers(t *testing.T) {
	t.Parallel()
	d := loadOpenAPI(t)
	in := apptest.Start(t, "sqlite")
	const email, pw = "happy@example.com", "correct horse battery staple"
	ok := func(a oaAnswer, want int) oaAnswer {
		t.Helper()
		if a.Status != want {
			t.Fatalf("%s %s: %d, want %d: %s", a.method, a.path, a.Status, want, a.Body)
		}
		d.check(t, a, nil)
		return a
	}

	for _, p := range []string{"/healthz", "/readyz", "/static/style.css", "/static/favicon.svg", "/", "/signup", "/signup/verify", "/signin?verified=1", "/signin/unlock"} {
		ok(oaSend(t, in, "GET", p, nil, nil), 200)
	}
	ok(oaSend(t, in, "GET", "/static/missing.css", nil, nil), 404)

	ok(oaSendJSON(t, in, "POST", "/api/v1/signup", "", map[string]string{"email": email, "password": pw, "business_name": "Happy Co", "phone": "+44 7400 123456", "anti_phishing_phrase": "purple teapot at dawn"}), 202)
	ok(oaSendJSON(t, in, "GET", "/api/v1/dev/outbox", "", nil), 200)
	code := in.LastCode(t, email)
	created := ok(oaSendJSON(t, in, "POST", "/api/v1/signup/verify", "", map[string]string{"email": email, "code": code}), 201).JSON(t)
	biz := created["business_id"].(string)

	firstAnswer := ok(oaSendJSON(t, in, "POST", "/api/v1/sessions", "", map[string]string{"email": email, "password": pw}), 201)
	first := firstAnswer.JSON(t)
	token := first["token"].(string)
	device := oaDeviceCookie(t, firstAnswer)
	other := in.SignIn(t, email, pw)
	in.SignIn(t, email, pw)
	if fs := ok(oaSendJSON(t, in, "GET", "/api/v1/session", token, nil), 200).JSON(t)["failed_signins"]; !reflect.DeepEqual(fs, map[string]any{"count": float64(0)}) {
		t.Errorf("failed_signins after successful sign-ins only: %v", fs)
	}
	list := ok(oaSendJSON(t, in, "GET", "/api/v1/sessions", token, nil), 200).JSON(t)
	if n := len(list["sessions"].([]any)); n != 3 {
		t.Errorf("%d sessions, want 3", n)
	}
	otherID := ""
	for _, s := range list["sessions"].([]any) {
		s := s.(map[string]any)
		if s["current"] != true && otherID == "" {
			otherID = s["id"].(string)
		}
	}
	ok(oaSendJSON(t, in, "DELETE", "/api/v1/sessions/"+otherID, token, nil), 204)
	if n := len(ok(oaSendJSON(t, in, "GET", "/api/v1/sessions", token, nil), 200).JSON(t)["sessions"].([]any)); n != 2 {
		t.Errorf("%d sessions after revoking one, want 2", n)
	}

	// Two-step verification. New businesses require it: business data is
	// closed until the owner sets up a second step, the account's own
	// security stays open.
	ok(oaSendJSON(t, in, "GET", "/api/v1/audit", token, nil), 403)
	if ts := ok(oaSendJSON(t, in, "GET", "/api/v1/session", token, nil), 200).JSON(t)["two_step"].(map[string]any); ts["enrolled"] != false || ts["required_by_business"] != true {
		t.Errorf("two_step before enrolling: %v", ts)
	}
	if ov := ok(oaSendJSON(t, in, "GET", "/api/v1/two-step", token, nil), 200).JSON(t); ov["enrolled"] != false || len(ov["methods"].([]any)) != 0 {
		t.Errorf("two-step overview before enrolling: %v", ov)
	}
	app := oaEnrolTOTP(t, d, in, token, map[string]string{"label": "My phone"})
	backup := ok(oaSendJSON(t, in, "POST", "/api/v1/two-step/backup-codes", token, nil), 201).JSON(t)["codes"].([]any)
	if ov := ok(oaSendJSON(t, in, "GET", "/api/v1/two-step", token, nil), 200).JSON(t); ov["fully_protected"] != true || ov["backup_codes_left"] != float64(10) || len(ov["methods"].([]any)) != 1 {
		t.Errorf("two-step overview after an app and backup codes: %v", ov)
	}
	// A second app (no name), listed, then removed again.
	spare := oaEnrolTOTP(t, d, in, token, nil)
	if ms := ok(oaSendJSON(t, in, "GET", "/api/v1/two-step", token, nil), 200).JSON(t)["methods"].([]any); len(ms) != 2 || ms[1].(map[string]any)["label"] != "Authenticator app" {
		t.Errorf("methods after a second app: %v", ms)
	}
	ok(oaSendJSON(t, in, "DELETE", "/api/v1/two-step/"+spare.methodID, token, nil), 204)
	ok(oaSendJSON(t, in, "DELETE", "/api/v1/two-step/"+spare.methodID, token, nil), 404)

	// Signing in now takes two steps; the partial session can do nothing
	// else. This browser (its device cookie) asks to be trusted.
	jsonFrom := func(device string) map[string]string {
		h := map[string]string{"Content-Type": "application/json"}
		if device != "" {
			h["Cookie"] = "sg_device=" + device
		}
		return h
	}
	signInBody := []byte(`{"email":"` + email + `","password":"` + pw + `"}`)
	p := ok(oaSend(t, in, "POST", "/api/v1/sessions", jsonFrom(device), signInBody), 201).JSON(t)
	if p["second_step_required"] != true || !reflect.DeepEqual(p["methods"], []any{"totp", "backup_codes"}) {
		t.Errorf("sign-in of an enrolled user: %v", p)
	}
	partial := p["token"].(string)
	ok(oaSendJSON(t, in, "GET", "/api/v1/session", partial, nil), 403)
	ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step", partial, map[string]string{"method": "totp", "code": oaWrongTOTP(t, in, app.secret)}), 400)
	h := jsonFrom(device)
	h["Authorization"] = "Bearer " + partial
	done := ok(oaSend(t, in, "POST", "/api/v1/session/second-step", h, []byte(`{"method":"totp","code":"`+app.code(t)+`","remember_browser":true}`)), 200).JSON(t)
	if done["trusted_browser_id"] == nil || done["token"] == partial || done["method"] != "totp" {
		t.Errorf("second step: %v", done)
	}
	ok(oaSendJSON(t, in, "GET", "/api/v1/session", partial, nil), 401)
	full := done["token"].(string)
	ok(oaSendJSON(t, in, "GET", "/api/v1/session", full, nil), 200)
	// The trusted browser now signs in in one step; any other is asked.
	signInFull := func() string {
		t.Helper()
		m := ok(oaSend(t, in, "POST", "/api/v1/sessions", jsonFrom(device), signInBody), 201).JSON(t)
		if m["second_step_required"] != nil {
			t.Fatalf("the trusted browser was asked for the second step: %v", m)
		}
		return m["token"].(string)
	}
	signInFull()
	browsers := ok(oaSendJSON(t, in, "GET", "/api/v1/trusted-browsers", full, nil), 200).JSON(t)["trusted_browsers"].([]any)
	if len(browsers) != 1 || browsers[0].(map[string]any)["id"] != done["trusted_browser_id"] {
		t.Errorf("trusted browsers: %v", browsers)
	}
	// A backup code works once, and says how many are left.
	byBackup := ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step", oaPartialSignIn(t, in, email, pw), map[string]string{"method": "backup_codes", "code": strings.ToLower(backup[0].(string))}), 200).JSON(t)
	if byBackup["backup_codes_left"] != float64(9) || byBackup["reenroll_recommended"] != true {
		t.Errorf("second step with a backup code: %v", byBackup)
	}
	ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step", oaPartialSignIn(t, in, email, pw), map[string]string{"method": "backup_codes", "code": backup[0].(string)}), 400)

	// Sensitive changes need a recent sign-in: after the window, confirm
	// it's you (password and second step; the trusted browser does not
	// skip it), then change the anti-phishing phrase and make new backup
	// codes — the old set stops working.
	in.Clock.Advance(11 * time.Minute)
	ok(oaSendJSON(t, in, "PUT", "/api/v1/account/anti-phishing-phrase", full, map[string]string{"phrase": "green kettle at noon"}), 403)
	ok(oaSendJSON(t, in, "POST", "/api/v1/session/reauth", full, map[string]string{"password": pw}), 400)
	re := ok(oaSendJSON(t, in, "POST", "/api/v1/session/reauth", full, map[string]string{"password": pw, "method": "totp", "code": app.code(t)}), 200).JSON(t)
	if at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(re["reauthenticated_at"])); err != nil || at.Location() != time.UTC {
		t.Errorf("reauthenticated_at = %v", re["reauthenticated_at"])
	}
	// The session that asked has ended; its successor carries on.
	ok(oaSendJSON(t, in, "GET", "/api/v1/session", full, nil), 401)
	full, _ = re["token"].(string)
	if ph := ok(oaSendJSON(t, in, "GET", "/api/v1/account/anti-phishing-phrase", full, nil), 200).JSON(t); ph["phrase"] != "purple teapot at dawn" || ph["set"] != true {
		t.Errorf("phrase from the sign-up: %v", ph)
	}
	if ph := ok(oaSendJSON(t, in, "PUT", "/api/v1/account/anti-phishing-phrase", full, map[string]string{"phrase": "green kettle at noon"}), 200).JSON(t); ph["phrase"] != "green kettle at noon" {
		t.Errorf("changed phrase: %v", ph)
	}
	ok(oaSendJSON(t, in, "POST", "/api/v1/two-step/backup-codes", full, nil), 201)
	ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step", oaPartialSignIn(t, in, email, pw), map[string]string{"method": "backup_codes", "code": backup[1].(string)}), 400)
	// The owner may lift the business's requirement while nobody else
	// belongs to it, and set it again.
	if r := ok(oaSendJSON(t, in, "PUT", "/api/v1/businesses/"+biz+"/two-step", full, map[string]bool{"required": false}), 200).JSON(t); r["two_step_required"] != false || r["business_id"] != biz {
		t.Errorf("requirement lifted: %v", r)
	}
	ok(oaSendJSON(t, in, "PUT", "/api/v1/businesses/"+biz+"/two-step", full, map[string]bool{"required": true}), 200)
	if ms := ok(oaSendJSON(t, in, "GET", "/api/v1/session", full, nil), 200).JSON(t)["memberships"].([]any); ms[0].(map[string]any)["two_step_required"] != true {
		t.Errorf("memberships: %v", ms)
	}

	// Audit: a full page has a cursor; the cursor pages on.
	page := ok(oaSendJSON(t, in, "GET", "/api/v1/audit?limit=1&business_id="+url.QueryEscape(biz), token, nil), 200).JSON(t)
	cursor, _ := page["next_cursor"].(string)
	if cursor == "" {
		t.Fatalf("a full page has no next_cursor: %v", page)
	}
	ok(oaSendJSON(t, in, "GET", "/api/v1/audit?limit=1&business_id="+url.QueryEscape(biz)+"&cursor="+url.QueryEscape(cursor), token, nil), 200)
	ok(oaSendJSON(t, in, "GET", "/api/v1/audit?category=session&since=2000-01-01&until=2999-01-01T00:00:00Z", token, nil), 200)

	// Pages with the cookie.
	cookie := map[string]string{"Cookie": "sg_session=" + signInFull(), "Accept": "text/html"}
	for _, p := range []string{"/account", "/account/sessions?done=revoked", "/account/audit", "/account/audit.csv", "/dev/outbox",
		"/account/two-step", "/account/two-step?added=totp", "/account/two-step?required=1", "/account/reauth?next=/account/two-step",
		"/account/reauth?method=backup_codes", "/account/phrase", "/account/phrase?done=1", "/account/two-step/passkeys"} {
		ok(oaSend(t, in, "GET", p, cookie, nil), 200)
	}
	ok(oaSend(t, in, "GET", "/", cookie, nil), 303)
	ok(oaSend(t, in, "GET", "/signin/second-step", cookie, nil), 303)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}
	withCookie := func(c string) map[string]string {
		return map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html", "Cookie": c}
	}
	fc := withCookie(cookie["Cookie"])
	// Two-step verification on the pages: add an app (post/redirect/get:
	// the key is shown on the GET, the same on a reload, until the app is
	// confirmed), confirm it, make backup codes (shown on the GET, kept
	// until "done"), remove the app, confirm it's you, change the phrase.
	ok(oaSend(t, in, "POST", "/account/two-step/totp", fc, []byte("label=Page+app")), 303)
	added := ok(oaSend(t, in, "GET", "/account/two-step/totp", fc, nil), 200)
	if again := ok(oaSend(t, in, "GET", "/account/two-step/totp", fc, nil), 200); !bytes.Equal(again.Body, added.Body) {
		t.Errorf("reloading the new app's page shows another page")
	}
	m := regexp.MustCompile(`action="/account/two-step/totp/(tsm_[a-z2-7]{26})/confirm"`).FindSubmatch(added.Body)
	k := regexp.MustCompile(`id="totp-key">([A-Z2-7 ]+)<`).FindSubmatch(added.Body)
	if m == nil || k == nil {
		t.Fatalf("the app page shows no method id or key:\n%s", added.Body)
	}
	pageApp := &oaTOTP{in: in, secret: strings.ReplaceAll(string(k[1]), " ", "")}
	ok(oaSend(t, in, "POST", "/account/two-step/totp/"+string(m[1])+"/confirm", fc, []byte("code="+oaWrongTOTP(t, in, pageApp.secret))), 400)
	ok(oaSend(t, in, "POST", "/account/two-step/totp/"+string(m[1])+"/confirm", fc, []byte("code="+pageApp.code(t))), 303)
	ok(oaSend(t, in, "GET", "/account/two-step/totp", fc, nil), 200) // the app is added: the page leads back
	ok(oaSend(t, in, "GET", "/account/two-step/backup-codes", fc, nil), 200)
	ok(oaSend(t, in, "GET", "/account/two-step/backup-codes.txt", fc, nil), 404)
	ok(oaSend(t, in, "POST", "/account/two-step/backup-codes", fc, nil), 303)
	ok(oaSend(t, in, "GET", "/account/two-step/backup-codes", fc, nil), 200)
	ok(oaSend(t, in, "GET", "/account/two-step/backup-codes.txt", fc, nil), 200)
	ok(oaSend(t, in, "POST", "/account/two-step/backup-codes/done", fc, nil), 303)
	ok(oaSend(t, in, "GET", "/account/two-step/"+string(m[1])+"/remove", fc, nil), 405)
	ok(oaSend(t, in, "POST", "/account/two-step/"+string(m[1])+"/remove", fc, nil), 303)
	ok(oaSend(t, in, "POST", "/account/two-step/"+string(m[1])+"/remove", fc, nil), 404)
	ok(oaSend(t, in, "POST", "/account/reauth", fc, []byte(url.Values{"password": {"wrong wrong wrong"}, "method": {"totp"}, "code": {app.code(t)}, "next": {"/account/two-step"}}.Encode())), 401)
	reauthed := ok(oaSend(t, in, "POST", "/account/reauth", fc, []byte(url.Values{"password": {pw}, "method": {"totp"}, "code": {app.code(t)}, "next": {"/account/two-step"}}.Encode())), 303)
	// The old cookie's session has ended; the browser goes on with the new one.
	if a := ok(oaSend(t, in, "GET", "/account", fc, nil), 303); a.Header.Get("Location") != "/signin" {
		t.Errorf("the cookie from before re-authenticating: to %s", a.Header.Get("Location"))
	}
	fc = withCookie("sg_session=" + newSessionCookie(t, reauthed.Header))
	ok(oaSend(t, in, "POST", "/account/phrase", fc, []byte("phrase=ab")), 400)
	ok(oaSend(t, in, "POST", "/account/phrase", fc, []byte("phrase=blue+heron+at+dusk")), 303)
	// The second step on the pages: the password, then the code; a backup
	// code leads to the two-step page; "don't ask again" trusts the browser.
	signInPage := func() string {
		t.Helper()
		a := ok(oaSend(t, in, "POST", "/signin", form, []byte(url.Values{"email": {email}, "password": {pw}}.Encode())), 303)
		if a.Header.Get("Location") != "/signin/second-step" {
			t.Fatalf("sign-in page of an enrolled user: to %s", a.Header.Get("Location"))
		}
		for _, c := range a.Header.Values("Set-Cookie") {
			if strings.HasPrefix(c, "sg_session=") {
				v, _, _ := strings.Cut(c, ";")
				return v
			}
		}
		t.Fatal("no session cookie")
		return ""
	}
	pc := signInPage()
	for _, p := range []string{"/signin/second-step", "/signin/second-step?method=backup_codes", "/signin/second-step?method=sms", "/signin/second-step/passkey"} {
		ok(oaSend(t, in, "GET", p, map[string]string{"Cookie": pc, "Accept": "text/html"}, nil), 200)
	}
	ok(oaSend(t, in, "GET", "/account", map[string]string{"Cookie": pc, "Accept": "text/html"}, nil), 303)
	ok(oaSend(t, in, "POST", "/signin/second-step/sms", withCookie(pc), nil), 404)
	ok(oaSend(t, in, "POST", "/signin/second-step", withCookie(pc), []byte("method=totp&code="+oaWrongTOTP(t, in, app.secret))), 400)
	ok(oaSend(t, in, "POST", "/signin/second-step", withCookie(pc), []byte("method=totp&remember_browser=1&code="+app.code(t))), 303)
	pc = signInPage()
	newCodes := ok(oaSendJSON(t, in, "POST", "/api/v1/two-step/backup-codes", signInFull(), nil), 201).JSON(t)["codes"].([]any)
	if a := ok(oaSend(t, in, "POST", "/signin/second-step", withCookie(pc), []byte("method=backup_codes&code="+url.QueryEscape(newCodes[0].(string)))), 303); a.Header.Get("Location") != "/account/two-step?backup_used=9" {
		t.Errorf("after a backup code on the page: to %s", a.Header.Get("Location"))
	}
	ok(oaSend(t, in, "POST", "/signout", withCookie(signInPage()), nil), 303)
	// Forgetting the trusted browser: its next sign-in asks again.
	browsers = ok(oaSendJSON(t, in, "GET", "/api/v1/trusted-browsers", full, nil), 200).JSON(t)["trusted_browsers"].([]any)
	for _, b := range browsers {
		id := b.(map[string]any)["id"].(string)
		ok(oaSendJSON(t, in, "DELETE", "/api/v1/trusted-browsers/"+id, full, nil), 204)
		ok(oaSend(t, in, "POST", "/account/trusted-browsers/"+id+"/forget", fc, nil), 404)
	}
	if n := len(ok(oaSendJSON(t, in, "GET", "/api/v1/trusted-browsers", full, nil), 200).JSON(t)["trusted_browsers"].([]any)); n != 0 {
		t.Errorf("%d trusted browsers after forgetting them all", n)
	}
	if m := ok(oaSend(t, in, "POST", "/api/v1/sessions", jsonFrom(device), signInBody), 201).JSON(t); m["second_step_required"] != true {
		t.Errorf("a forgotten browser skipped the second step: %v", m)
	}
	// Trusted again for the rest of the walk.
	h = jsonFrom(device)
	h["Authorization"] = "Bearer " + oaPartialSignIn(t, in, email, pw)
	ok(oaSend(t, in, "POST", "/api/v1/session/second-step", h, []byte(`{"method":"totp","code":"`+app.code(t)+`","remember_browser":true}`)), 200)
	ok(oaSend(t, in, "POST", "/account/trusted-browsers/"+ok(oaSendJSON(t, in, "GET", "/api/v1/trusted-browsers", full, nil), 200).JSON(t)["trusted_browsers"].([]any)[0].(map[string]any)["id"].(string)+"/forget", fc, nil), 303)
	ok(oaSend(t, in, "POST", "/api/v1/session/second-step", h, []byte(`{"method":"totp","code":"`+app.code(t)+`","remember_browser":true}`)), 401)
	h["Authorization"] = "Bearer " + oaPartialSignIn(t, in, email, pw)
	ok(oaSend(t, in, "POST", "/api/v1/session/second-step", h, []byte(`{"method":"totp","code":"`+app.code(t)+`","remember_browser":true}`)), 200)
	ok(oaSend(t, in, "POST", "/signin", form, []byte(url.Values{"email": {email}, "password": {pw}}.Encode())), 303)
	ok(oaSend(t, in, "POST", "/signin", form, []byte(url.Values{"email": {email}, "password": {"nope nope nope"}}.Encode())), 401)
	signedUp := ok(oaSend(t, in, "POST", "/signup", form, []byte(url.Values{"email": {"page@example.com"}, "password": {pw}, "business_name": {"Page Co"}}.Encode())), 303)
	verifyPage := map[string]string{"Accept": "text/html"}
	for _, c := range signedUp.Header.Values("Set-Cookie") {
		verifyPage["Cookie"], _, _ = strings.Cut(c, ";")
	}
	ok(oaSend(t, in, "GET", "/signup/verify", verifyPage, nil), 200)
	ok(oaSend(t, in, "POST", "/signup/verify", form, []byte(url.Values{"email": {"page@example.com"}, "code": {in.LastCode(t, "page@example.com")}}.Encode())), 303)

	// Guess limiting. Failed sign-ins show in failed_signins, with when and
	// from where the latest was.
	failedCount := func() (map[string]any, int) {
		t.Helper()
		fs := ok(oaSendJSON(t, in, "GET", "/api/v1/session", token, nil), 200).JSON(t)["failed_signins"].(map[string]any)
		return fs, int(fs["count"].(float64))
	}
	_, before := failedCount()
	for range 6 {
		ok(oaSendJSON(t, in, "POST", "/api/v1/sessions", "", map[string]string{"email": email, "password": "not the password"}), 401)
	}
	fs, n := failedCount()
	if n != before+6 || fs["last_ip"] != "127.0.0.1" {
		t.Errorf("failed_signins after 6 failures (from %d): %v", before, fs)
	}
	if at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(fs["last_at"])); err != nil || time.Since(at) > time.Minute || at.Location() != time.UTC {
		t.Errorf("failed_signins.last_at = %v", fs["last_at"])
	}
	// The account's attempts are now delayed: the right password gets
	// exactly the answer an unknown address gets...
	delayed := ok(oaSendJSON(t, in, "POST", "/api/v1/sessions", "", map[string]string{"email": email, "password": pw}), 401)
	unknown := ok(oaSendJSON(t, in, "POST", "/api/v1/sessions", "", map[string]string{"email": "nobody-at-all@example.com", "password": pw}), 401)
	if !bytes.Equal(delayed.Body, unknown.Body) {
		t.Errorf("a delayed account answers differently from an unknown one:\n%s\n%s", delayed.Body, unknown.Body)
	}
	// ...but not from the browser that signed in before (its device
	// cookie), which gets no new device cookie.
	known := ok(oaSend(t, in, "POST", "/api/v1/sessions", map[string]string{"Content-Type": "application/json", "Cookie": "sg_device=" + device},
		[]byte(`{"email":"`+email+`","password":"`+pw+`"}`)), 201)
	if c := known.Header.Values("Set-Cookie"); len(c) != 0 {
		t.Errorf("a browser that sent its device cookie got Set-Cookie %q", c)
	}
	// An unlock code: the same answer for an address without an account;
	// with the code the right password gets in at once, and the failures
	// are cleared.
	unlock := ok(oaSendJSON(t, in, "POST", "/api/v1/sessions/unlock", "", map[string]string{"email": email}), 202)
	unlockUnknown := ok(oaSendJSON(t, in, "POST", "/api/v1/sessions/unlock", "", map[string]string{"email": "nobody-at-all@example.com"}), 202)
	if !bytes.Equal(unlock.Body, unlockUnknown.Body) || unlock.JSON(t)["status"] != "unlock_code_requested" {
		t.Errorf("unlock answers differ: %s / %s", unlock.Body, unlockUnknown.Body)
	}
	ok(oaSendJSON(t, in, "POST", "/api/v1/sessions", "", map[string]string{"email": email, "password": pw, "unlock_code": oaUnlockCode(t, in, email)}), 201)
	if fs, _ := failedCount(); !reflect.DeepEqual(fs, map[string]any{"count": float64(0)}) {
		t.Errorf("failed_signins after signing in with an unlock code: %v", fs)
	}
	// The same from the pages: ask for a code, sign in with it.
	ok(oaSend(t, in, "POST", "/signin/unlock", form, []byte(url.Values{"email": {email}}.Encode())), 200)
	ok(oaSend(t, in, "POST", "/signin", form, []byte(url.Values{"email": {email}, "password": {pw}, "unlock_code": {oaUnlockCode(t, in, email)}}.Encode())), 303)

	// Ending sessions: the others (API), then the current one, then the
	// others again from a page.
	ok(oaSendJSON(t, in, "POST", "/api/v1/sessions/revoke-others", token, nil), 200)
	ok(oaSendJSON(t, in, "GET", "/api/v1/session", other, nil), 401)
	ok(oaSendJSON(t, in, "DELETE", "/api/v1/session", token, nil), 204)
	ok(oaSendJSON(t, in, "GET", "/api/v1/session", token, nil), 401)
	cookie["Cookie"] = "sg_session=" + signInFull()
	if a := ok(oaSend(t, in, "POST", "/account/sessions/revoke-others", cookie, nil), 303); a.Header.Get("Location") != "/account/sessions?done=others" {
		t.Errorf("ending the other sessions from the page: to %s", a.Header.Get("Location"))
	}
	ok(oaSend(t, in, "POST", "/signout", cookie, nil), 303)
}

// oaTOTP is an authenticator app for the walks: each code it gives is for a
// later step than the one before (a step is accepted once), and it moves
// the instance's clock on when the next step is not due yet.
type oaTOTP struct {
	in       *apptest.Instance
	secret   string
	methodID string
	last     int64
}

func (a *oaTOTP) code(t *testing.T) string {
	t.Helper()
	now := twostep.Step(a.in.Clock.Now())
	step := max(now, a.last+1)
	if step > now+1 {
		a.in.Clock.Advance(time.Duration(step-now-1) * twostep.TOTPPeriod * time.Second)
	}
	a.last = step
	c, err := twostep.TOTPCode(a.secret, step)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// oaEnrolTOTP adds an authenticator app through the API (the body may be
// nil: no name), checking each answer against the document, and returns it.
func oaEnrolTOTP(t *testing.T, d *oaDocument, in *apptest.Instance, token string, body any) *oaTOTP {
	t.Helper()
	start := oaSendJSON(t, in, "POST", "/api/v1/two-step/totp", token, body)
	d.check(t, start, nil)
	if start.Status != http.StatusCreated {
		t.Fatalf("start an app: %d %s", start.Status, start.Body)
	}
	m := start.JSON(t)
	app := &oaTOTP{in: in, secret: m["secret"].(string), methodID: m["method_id"].(string)}
	u, err := url.Parse(m["otpauth_url"].(string))
	if err != nil || u.Query().Get("secret") != app.secret || m["confirm_with"] != "POST /api/v1/two-step/totp/"+app.methodID+"/confirm" {
		t.Errorf("enrolment answer: %v", m)
	}
	confirm := oaSendJSON(t, in, "POST", "/api/v1/two-step/totp/"+app.methodID+"/confirm", token, map[string]string{"code": app.code(t)})
	d.check(t, confirm, nil)
	if confirm.Status != http.StatusOK || confirm.JSON(t)["method"].(map[string]any)["kind"] != "totp" {
		t.Fatalf("confirm an app: %d %s", confirm.Status, confirm.Body)
	}
	return app
}

var oaSMSCodeRE = regexp.MustCompile(`SellerGuard code: ([0-9]{6})\.`)

// oaWaitSMS waits for the n-th message to reach the fake gateway and
// returns its code.
func oaWaitSMS(t *testing.T, gw *sms.FakeGateway, n int) (code string, voice bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(gw.Sent()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("text %d never reached the gateway (%d did)", n, len(gw.Sent()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	msg := gw.Sent()[n-1]
	m := oaSMSCodeRE.FindStringSubmatch(msg.Body)
	if m == nil {
		t.Fatalf("no code in text %d: %q", n, msg.Body)
	}
	return m[1], msg.Voice
}

// TestOpenAPITextMessageAnswers walks the text-message second step — phones
// added through the API and the pages, codes by text and by call, signing
// in and re-authenticating with them, up to the hourly cap — with a fake
// gateway at the very edge, and checks every answer against the document.
func TestOpenAPITextMessageAnswers(t *testing.T) {
	t.Parallel()
	d := loadOpenAPI(t)
	gw := &sms.FakeGateway{}
	in := apptest.Start(t, "sqlite", apptest.SMSGateway(gw))
	const email, pw = "texts@example.com", "correct horse battery staple"
	in.SignUp(t, email, pw, "Texts Co")
	token := in.SignIn(t, email, pw)
	ok := func(a oaAnswer, want int) oaAnswer {
		t.Helper()
		if a.Status != want {
			t.Fatalf("%s %s: %d, want %d: %s", a.method, a.path, a.Status, want, a.Body)
		}
		d.check(t, a, nil)
		return a
	}
	texts := 0 // messages sent to the gateway so far
	next := func(wantVoice bool) string {
		t.Helper()
		texts++
		code, voice := oaWaitSMS(t, gw, texts)
		if voice != wantVoice {
			t.Errorf("message %d: voice %v, want %v", texts, voice, wantVoice)
		}
		return code
	}

	// A phone for texts and one for calls, through the API.
	phone := ok(oaSendJSON(t, in, "POST", "/api/v1/two-step/sms", token, map[string]any{"phone": "+44 7400 123456"}), 201).JSON(t)
	if phone["sent_to"] != "•••• 3456" || !strings.Contains(phone["warning"].(string), "weakest") {
		t.Errorf("adding a phone: %v", phone)
	}
	code := next(false)
	ok(oaSendJSON(t, in, "POST", "/api/v1/two-step/sms/"+phone["method_id"].(string)+"/confirm", token, map[string]string{"code": oaOtherCode(code)}), 400)
	if m := ok(oaSendJSON(t, in, "POST", "/api/v1/two-step/sms/"+phone["method_id"].(string)+"/confirm", token, map[string]string{"code": code}), 200).JSON(t)["method"].(map[string]any); m["kind"] != "sms" || m["label"] != "•••• 3456" {
		t.Errorf("confirmed phone: %v", m)
	}
	ok(oaSendJSON(t, in, "POST", "/api/v1/two-step/sms", token, map[string]any{"phone": "+447400123456", "voice": true}), 409)
	caller := ok(oaSendJSON(t, in, "POST", "/api/v1/two-step/sms", token, map[string]any{"phone": "+44 7400 654321", "voice": true}), 201).JSON(t)
	ok(oaSendJSON(t, in, "POST", "/api/v1/two-step/sms/"+caller["method_id"].(string)+"/confirm", token, map[string]string{"code": next(true)}), 200)
	// A third phone on the pages.
	fc := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html", "Cookie": "sg_session=" + token}
	ok(oaSend(t, in, "POST", "/account/two-step/sms", fc, []byte(url.Values{"phone": {"+44 7400 111222"}}.Encode())), 303)
	page := ok(oaSend(t, in, "GET", "/account/two-step/sms", fc, nil), 200)
	m := regexp.MustCompile(`action="/account/two-step/sms/(tsm_[a-z2-7]{26})/confirm"`).FindSubmatch(page.Body)
	if m == nil {
		t.Fatalf("the phone page has no confirmation form:\n%s", page.Body)
	}
	code = next(false)
	ok(oaSend(t, in, "POST", "/account/two-step/sms/"+string(m[1])+"/confirm", fc, []byte("code="+oaOtherCode(code))), 400)
	ok(oaSend(t, in, "POST", "/account/two-step/sms/"+string(m[1])+"/confirm", fc, []byte("code="+code)), 303)
	ok(oaSend(t, in, "GET", "/account/two-step/sms", fc, nil), 200) // added: the page leads back
	ok(oaSend(t, in, "POST", "/account/two-step/sms", fc, []byte(url.Values{"phone": {"call me"}}.Encode())), 400)
	if ms := ok(oaSendJSON(t, in, "GET", "/api/v1/two-step", token, nil), 200).JSON(t)["methods"].([]any); len(ms) != 3 {
		t.Errorf("methods: %v", ms)
	}

	// Signing in with a text; a call replaces the code, the last one works.
	p := ok(oaSendJSON(t, in, "POST", "/api/v1/sessions", "", map[string]string{"email": email, "password": pw}), 201).JSON(t)
	if !reflect.DeepEqual(p["methods"], []any{"sms", "voice"}) {
		t.Errorf("methods at sign-in: %v", p["methods"])
	}
	partial := p["token"].(string)
	if s := ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step/sms", partial, nil), 202).JSON(t); s["sent_to"] != "•••• 3456" {
		t.Errorf("sent: %v", s)
	}
	first := next(false)
	ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step/sms", partial, map[string]string{"method_id": caller["method_id"].(string)}), 202)
	second := next(true)
	if first != second {
		ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step", partial, map[string]string{"method": "sms", "code": first}), 400)
	}
	full := ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step", partial, map[string]string{"method": "sms", "code": second}), 200).JSON(t)["token"].(string)
	// The same on the pages.
	signedIn := ok(oaSend(t, in, "POST", "/signin", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, []byte(url.Values{"email": {email}, "password": {pw}}.Encode())), 303)
	pc := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}
	for _, c := range signedIn.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "sg_session=") {
			pc["Cookie"], _, _ = strings.Cut(c, ";")
		}
	}
	if a := ok(oaSend(t, in, "POST", "/signin/second-step/sms", pc, nil), 303); a.Header.Get("Location") != "/signin/second-step?method=sms&sent=1" {
		t.Errorf("texting from the page: to %s", a.Header.Get("Location"))
	}
	ok(oaSend(t, in, "GET", "/signin/second-step?method=sms&sent=1", pc, nil), 200)
	ok(oaSend(t, in, "POST", "/signin/second-step", pc, []byte("method=sms&code="+next(false))), 303)
	// Re-authenticating with a text. (The clock stays: the outbox worker
	// delivers on real time.)
	ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step/sms", full, nil), 202)
	renewed, _ := ok(oaSendJSON(t, in, "POST", "/api/v1/session/reauth", full, map[string]string{"password": pw, "method": "sms", "code": next(false)}), 200).JSON(t)["token"].(string)
	ok(oaSendJSON(t, in, "GET", "/api/v1/session", full, nil), 401) // replaced by the re-authentication
	ok(oaSendJSON(t, in, "GET", "/api/v1/session", renewed, nil), 200)

	// The cap: five codes an hour to one number (this one has had four);
	// past it, 429 and nothing reaches the gateway — on the pages too.
	partial = oaPartialSignIn(t, in, email, pw)
	ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step/sms", partial, nil), 202)
	next(false)
	capped := ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step/sms", partial, nil), 429)
	if n, err := strconv.Atoi(capped.Header.Get("Retry-After")); err != nil || n < 1 || n > 3600 {
		t.Errorf("capped: Retry-After %q", capped.Header.Get("Retry-After"))
	}
	ok(oaSend(t, in, "POST", "/signin/second-step/sms", pc, nil), 303) // this page's session is full now
	signedIn = ok(oaSend(t, in, "POST", "/signin", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, []byte(url.Values{"email": {email}, "password": {pw}}.Encode())), 303)
	for _, c := range signedIn.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "sg_session=") {
			pc["Cookie"], _, _ = strings.Cut(c, ";")
		}
	}
	ok(oaSend(t, in, "POST", "/signin/second-step/sms", pc, nil), 429)
	in.DrainOutbox(t) // whatever was queued has been delivered
	if n := len(gw.Sent()); n != texts {
		t.Errorf("%d messages reached the gateway, want %d", n, texts)
	}
}

// oaOtherCode returns six digits that are not code.
func oaOtherCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// oaStartOnLocalhost runs SellerGuard with the base URL
// http://localhost:PORT: a passkey's relying party id must be a host name,
// never an IP address. It returns the instance and that origin.
func oaStartOnLocalhost(t *testing.T) (*apptest.Instance, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	origin := fmt.Sprintf("http://localhost:%d", port)
	return apptest.Start(t, "sqlite", apptest.Env("SELLERGUARD_ADDR", fmt.Sprintf("127.0.0.1:%d", port)), apptest.Env("SELLERGUARD_BASE_URL", origin)), origin
}

// oaSoftKey is one credential of a software authenticator, written from
// the WebAuthn specification: authenticator data (§6.1), "none"
// attestation (§8.7) and the assertion signature over authData ||
// SHA-256(clientDataJSON) (§6.3.3), with ES256.
type oaSoftKey struct {
	id    []byte
	priv  *ecdsa.PrivateKey
	rpID  string
	count uint32
}

func oaNewSoftKey(t *testing.T, rpID string) *oaSoftKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	rand.Read(id) //nolint:errcheck // never fails
	return &oaSoftKey{id: id, priv: priv, rpID: rpID}
}

func (k *oaSoftKey) authData(flags byte, attested []byte) []byte {
	h := sha256.Sum256([]byte(k.rpID))
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, k.count)
	return append(out, attested...)
}

func (k *oaSoftKey) clientData(t *testing.T, typ string, options any, origin string) []byte {
	t.Helper()
	challenge, _ := options.(map[string]any)["challenge"].(string)
	if challenge == "" {
		t.Fatalf("options without a challenge: %v", options)
	}
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return b
}

// attest answers navigator.credentials.create() for the options.
func (k *oaSoftKey) attest(t *testing.T, options any, origin string) json.RawMessage {
	t.Helper()
	pub, err := k.priv.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         1, XCoord: pub[1:33], YCoord: pub[33:65],
	})
	if err != nil {
		t.Fatal(err)
	}
	attested := binary.BigEndian.AppendUint16(make([]byte, 16), uint16(len(k.id))) // AAGUID zero
	attested = append(append(attested, k.id...), cose...)
	obj, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(0x45, attested)}) // UP, UV, AT
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding
	out, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(k.clientData(t, "webauthn.create", options, origin)), "attestationObject": b64.EncodeToString(obj)},
	})
	return out
}

// assert answers navigator.credentials.get() for the options, with the
// signature counter as it stands (count it up first for a valid answer).
func (k *oaSoftKey) assert(t *testing.T, options any, origin string) json.RawMessage {
	t.Helper()
	cd := k.clientData(t, "webauthn.get", options, origin)
	ad := k.authData(0x05, nil) // UP, UV
	sum := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), sum[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding
	out, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad), "signature": b64.EncodeToString(sig)},
	})
	return out
}

// TestOpenAPIPasskeyAnswers walks the passkey second step with a software
// authenticator — adding a passkey, signing in with it, the refusals of a
// used challenge and of a counter that did not increase, the pages, removing
// it — and checks every answer against the document.
func TestOpenAPIPasskeyAnswers(t *testing.T) {
	t.Parallel()
	d := loadOpenAPI(t)
	in, origin := oaStartOnLocalhost(t)
	const email, pw = "passkey@example.com", "correct horse battery staple"
	_, biz := in.SignUp(t, email, pw, "Passkey Co")
	token := in.SignIn(t, email, pw)
	ok := func(a oaAnswer, want int) oaAnswer {
		t.Helper()
		if a.Status != want {
			t.Fatalf("%s %s: %d, want %d: %s", a.method, a.path, a.Status, want, a.Body)
		}
		d.check(t, a, nil)
		return a
	}
	key := oaNewSoftKey(t, "localhost")

	// Adding it: the creation options, the authenticator's answer.
	begin := ok(oaSendJSON(t, in, "POST", "/api/v1/two-step/passkeys/begin", token, nil), 200).JSON(t)
	finish := map[string]any{"challenge_id": begin["challenge_id"], "label": "Laptop", "credential": key.attest(t, begin["public_key"], origin)}
	added := ok(oaSendJSON(t, in, "POST", "/api/v1/two-step/passkeys/finish", token, finish), 201).JSON(t)["method"].(map[string]any)
	if added["kind"] != "passkey" || added["label"] != "Laptop" {
		t.Errorf("added: %v", added)
	}
	ok(oaSendJSON(t, in, "POST", "/api/v1/two-step/passkeys/finish", token, finish), 404) // the challenge is used up
	again := ok(oaSendJSON(t, in, "POST", "/api/v1/two-step/passkeys/begin", token, `{}`), 200).JSON(t)
	if excl, _ := again["public_key"].(map[string]any)["excludeCredentials"].([]any); len(excl) != 1 {
		t.Errorf("the user's passkey is not excluded: %v", again["public_key"])
	}
	ok(oaSendJSON(t, in, "POST", "/api/v1/two-step/passkeys/finish", token, map[string]any{"challenge_id": again["challenge_id"], "credential": key.attest(t, again["public_key"], origin)}), 409)
	cookie := map[string]string{"Cookie": "sg_session=" + token, "Accept": "text/html"}
	ok(oaSend(t, in, "GET", "/account/two-step/passkeys?done=added", cookie, nil), 200)

	// Signing in with it.
	p := ok(oaSendJSON(t, in, "POST", "/api/v1/sessions", "", map[string]string{"email": email, "password": pw}), 201).JSON(t)
	if !reflect.DeepEqual(p["methods"], []any{"passkey"}) {
		t.Errorf("methods at sign-in: %v", p["methods"])
	}
	partial := p["token"].(string)
	ok(oaSend(t, in, "GET", "/signin/second-step/passkey", map[string]string{"Cookie": "sg_session=" + partial, "Accept": "text/html"}, nil), 200)
	options := ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step/passkey/begin", partial, nil), 200).JSON(t)
	if allow, _ := options["public_key"].(map[string]any)["allowCredentials"].([]any); len(allow) != 1 {
		t.Errorf("allowCredentials: %v", options["public_key"])
	}
	key.count++
	answer := key.assert(t, options["public_key"], origin)
	done := ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step/passkey/finish", partial, map[string]any{"challenge_id": options["challenge_id"], "credential": answer}), 200).JSON(t)
	if done["method"] != "passkey" || done["token"] == partial {
		t.Errorf("second step with a passkey: %v", done)
	}
	full := done["token"].(string)
	ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step/passkey/begin", full, nil), 409)

	// Refused: a used challenge, an answer to another challenge, and a
	// signature counter that did not increase (a cloned key, or a replay).
	partial = oaPartialSignIn(t, in, email, pw)
	ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step/passkey/finish", partial, map[string]any{"challenge_id": options["challenge_id"], "credential": answer}), 400)
	options = ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step/passkey/begin", partial, nil), 200).JSON(t)
	ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step/passkey/finish", partial, map[string]any{"challenge_id": options["challenge_id"], "credential": answer}), 400)
	options = ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step/passkey/begin", partial, nil), 200).JSON(t)
	ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step/passkey/finish", partial, map[string]any{"challenge_id": options["challenge_id"], "credential": key.assert(t, options["public_key"], origin)}), 400)
	options = ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step/passkey/begin", partial, nil), 200).JSON(t)
	key.count++
	ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step/passkey/finish", partial, map[string]any{"challenge_id": options["challenge_id"], "credential": key.assert(t, options["public_key"], origin), "remember_browser": true}), 200)

	// Removing it: not while it is the last method a business requires;
	// the owner lifts the requirement first.
	fc := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html", "Cookie": "sg_session=" + full}
	ok(oaSend(t, in, "POST", "/account/two-step/passkeys/"+added["id"].(string)+"/remove", fc, nil), 409)
	ok(oaSendJSON(t, in, "PUT", "/api/v1/businesses/"+biz+"/two-step", full, map[string]bool{"required": false}), 200)
	ok(oaSend(t, in, "POST", "/account/two-step/passkeys/"+added["id"].(string)+"/remove", fc, nil), 303)
	ok(oaSend(t, in, "POST", "/account/two-step/passkeys/"+added["id"].(string)+"/remove", fc, nil), 404)
	ok(oaSend(t, in, "GET", "/account/two-step/passkeys?done=removed", fc, nil), 200)
	ok(oaSendJSON(t, in, "POST", "/api/v1/session/second-step/passkey/begin", in.SignIn(t, email, pw), nil), 409)
}

// oaLastMessage returns the first submatch of re in the newest outbox
// message to the address (or number).
func oaLastMessage(t *testing.T, in *apptest.Instance, to string, re *regexp.Regexp) string {
	t.Helper()
	msgs := in.Outbox(t)
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.EqualFold(msgs[i].To, to) {
			if m := re.FindStringSubmatch(msgs[i].Body); m != nil {
				return m[1]
			}
		}
	}
	t.Fatalf("no message to %s matching %s in the outbox", to, re)
	return ""
}

var (
	oaConfirmCodeRE = regexp.MustCompile(`Your confirmation code is: ([0-9]{6})`)
	oaRevertCodeRE  = regexp.MustCompile(`Revert code: ([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})`)
)

// TestOpenAPIAccountAnswers walks the account's own settings — the password
// (check, business rules, change), the sign-in email (change with a code,
// undo with the revert code), the mobile number and "is this still yours?" —
// through the API and the pages, and checks every answer against the
// document.
func TestOpenAPIAccountAnswers(t *testing.T) {
	t.Parallel()
	d := loadOpenAPI(t)
	in := apptest.Start(t, "sqlite")
	const email, pw = "account@example.com", "correct horse battery staple"
	const pw2, pw3 = "violet kestrel under seven bridges", "amber lantern over quiet harbours"
	const pw4, pw5 = "copper otter beneath nine willows", "silver heron across distant meadows"
	_, biz := in.SignUp(t, email, pw, "Account Co")
	token := in.SignIn(t, email, pw)
	ok := func(a oaAnswer, want int) oaAnswer {
		t.Helper()
		if a.Status != want {
			t.Fatalf("%s %s: %d, want %d: %s", a.method, a.path, a.Status, want, a.Body)
		}
		d.check(t, a, nil)
		return a
	}
	form := func(tok string) map[string]string {
		return map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html", "Cookie": "sg_session=" + tok}
	}

	// The password: checked, the business's rules, changed.
	if c := ok(oaSendJSON(t, in, "POST", "/api/v1/password/check", "", map[string]string{"password": "aaaaaaaaaaaa", "email": email}), 200).JSON(t); c["accepted"] != false {
		t.Errorf("a weak password was accepted: %v", c)
	}
	if c := ok(oaSendJSON(t, in, "POST", "/api/v1/password/check", "", map[string]string{"password": pw2}), 200).JSON(t); c["accepted"] != true {
		t.Errorf("a strong password was refused: %v", c)
	}
	ok(oaSendJSON(t, in, "PUT", "/api/v1/businesses/"+biz+"/password-rules", token, map[string]any{"max_age_days": 365, "strict": false}), 200)
	other := in.SignIn(t, email, pw)
	c := ok(oaSendJSON(t, in, "POST", "/api/v1/account/password", token, map[string]string{"current_password": pw, "new_password": pw2}), 200).JSON(t)
	if c["other_sessions_ended"] != float64(1) {
		t.Errorf("password change: %v", c)
	}
	ok(oaSendJSON(t, in, "GET", "/api/v1/session", other, nil), 401)
	ok(oaSendJSON(t, in, "GET", "/api/v1/session", token, nil), 401) // replaced
	token, _ = c["token"].(string)
	ok(oaSendJSON(t, in, "POST", "/api/v1/account/password", token, map[string]string{"current_password": pw2, "new_password": pw}), 400) // reused
	for _, p := range []string{"/account/password", "/account/password?done=1", "/account/email", "/account/email?done=1", "/signin/revert-email"} {
		ok(oaSend(t, in, "GET", p, form(token), nil), 200)
	}
	ok(oaSend(t, in, "POST", "/account/password", form(token), []byte(url.Values{"current_password": {"wrong wrong wrong"}, "new_password": {pw3}}.Encode())), 400)
	changed := ok(oaSend(t, in, "POST", "/account/password", form(token), []byte(url.Values{"current_password": {pw2}, "new_password": {pw3}}.Encode())), 303)
	ok(oaSendJSON(t, in, "GET", "/api/v1/session", token, nil), 401) // replaced
	token = newSessionCookie(t, changed.Header)

	// The sign-in email: a code to the new address; the old one gets a
	// revert code that undoes it and ends every session.
	ok(oaSendJSON(t, in, "GET", "/api/v1/account/contact", token, nil), 200)
	ok(oaSendJSON(t, in, "POST", "/api/v1/account/email", token, map[string]string{"email": "account2@example.com"}), 202)
	code := oaLastMessage(t, in, "account2@example.com", oaConfirmCodeRE)
	ok(oaSendJSON(t, in, "POST", "/api/v1/account/email/confirm", token, map[string]string{"code": oaOtherCode(code)}), 400)
	if c := ok(oaSendJSON(t, in, "POST", "/api/v1/account/email/confirm", token, map[string]string{"code": code}), 200).JSON(t); c["email"] != "account2@example.com" {
		t.Errorf("email change: %v", c)
	}
	revert := oaLastMessage(t, in, email, oaRevertCodeRE)
	rt := ok(oaSendJSON(t, in, "POST", "/api/v1/account/email/revert", "", map[string]string{"email": email, "code": revert}), 200).JSON(t)["recovery_token"].(string)
	ok(oaSendJSON(t, in, "GET", "/api/v1/account/contact", token, nil), 401)
	// The revert started a recovery: the password in place no longer works.
	ok(oaSendJSON(t, in, "POST", "/api/v1/sessions", "", map[string]string{"email": email, "password": pw3}), 401)
	ok(oaSendJSON(t, in, "POST", "/api/v1/recovery/password", "", map[string]string{"recovery_token": rt, "password": pw4}), 200)
	// The same on the pages.
	token = in.SignIn(t, email, pw4)
	ok(oaSend(t, in, "POST", "/account/email", form(token), []byte("email=account3%40example.com")), 200)
	code = oaLastMessage(t, in, "account3@example.com", oaConfirmCodeRE)
	ok(oaSend(t, in, "POST", "/account/email/confirm", form(token), []byte("code="+oaOtherCode(code))), 400)
	ok(oaSend(t, in, "POST", "/account/email/confirm", form(token), []byte("code="+code)), 303)
	revert = oaLastMessage(t, in, email, oaRevertCodeRE)
	ok(oaSend(t, in, "POST", "/signin/revert-email", form(token), []byte(url.Values{"email": {email}, "code": {oaOtherCode(revert)}}.Encode())), 400)
	ok(oaSend(t, in, "POST", "/signin/revert-email", form(token), []byte(url.Values{"email": {email}, "code": {revert}}.Encode())), 200)
	ok(oaSendJSON(t, in, "POST", "/api/v1/recovery/password", "", map[string]string{"recovery_token": recoveryToken(t, in, email), "password": pw5}), 200)

	// The mobile number (texts wait in the local outbox), and "is this
	// still yours?" for both.
	token = in.SignIn(t, email, pw5)
	ok(oaSendJSON(t, in, "POST", "/api/v1/account/phone", token, map[string]string{"phone": "+44 7400 123456"}), 202)
	code = oaLastMessage(t, in, "+447400123456", oaSMSCodeRE)
	ok(oaSendJSON(t, in, "POST", "/api/v1/account/phone/confirm", token, map[string]string{"code": oaOtherCode(code)}), 400)
	if c := ok(oaSendJSON(t, in, "POST", "/api/v1/account/phone/confirm", token, map[string]string{"code": code}), 200).JSON(t); c["phone"] != "•••• 3456" {
		t.Errorf("phone change: %v", c)
	}
	// The same on the pages.
	ok(oaSend(t, in, "GET", "/account/phone", form(token), nil), 200)
	ok(oaSend(t, in, "POST", "/account/phone", form(token), []byte(url.Values{"phone": {"call me"}}.Encode())), 400)
	ok(oaSend(t, in, "POST", "/account/phone", form(token), []byte(url.Values{"phone": {"+44 7400 654321"}}.Encode())), 200)
	code = oaLastMessage(t, in, "+447400654321", oaSMSCodeRE)
	ok(oaSend(t, in, "POST", "/account/phone/confirm", form(token), []byte("code="+oaOtherCode(code))), 400)
	ok(oaSend(t, in, "POST", "/account/phone/confirm", form(token), []byte("code="+code)), 303)
	ok(oaSend(t, in, "GET", "/account/phone?done=1", form(token), nil), 200)
	ok(oaSendJSON(t, in, "POST", "/api/v1/account/contact/confirm", token, map[string]string{"kind": "email"}), 202)
	code = oaLastMessage(t, in, email, oaConfirmCodeRE)
	if c := ok(oaSendJSON(t, in, "POST", "/api/v1/account/contact/confirm/verify", token, map[string]string{"kind": "email", "code": code}), 200).JSON(t); c["email_confirmed_at"] == nil {
		t.Errorf("email confirmation: %v", c)
	}
	ok(oaSendJSON(t, in, "POST", "/api/v1/account/contact/confirm", token, map[string]string{"kind": "phone"}), 202)
	code = oaLastMessage(t, in, "+447400654321", oaSMSCodeRE)
	ok(oaSendJSON(t, in, "POST", "/api/v1/account/contact/confirm/verify", token, map[string]string{"kind": "phone", "code": oaOtherCode(code)}), 400)
	if c := ok(oaSendJSON(t, in, "POST", "/api/v1/account/contact/confirm/verify", token, map[string]string{"kind": "phone", "code": code}), 200).JSON(t); c["phone_confirmed_at"] == nil {
		t.Errorf("phone confirmation: %v", c)
	}

	// Notifications: the catalogue, a change (a security-critical email
	// cannot be switched off), the failed deliveries, the page.
	events := ok(oaSendJSON(t, in, "GET", "/api/v1/notifications", token, nil), 200).JSON(t)["events"].([]any)
	var critical, optional string
	for _, e := range events {
		e := e.(map[string]any)
		email := e["channels"].(map[string]any)["email"].(map[string]any)
		switch {
		case email["locked"] == true && critical == "":
			critical = e["event"].(string)
		case email["locked"] == false && optional == "":
			optional = e["event"].(string)
		}
	}
	if critical == "" || optional == "" {
		t.Fatalf("no locked and no free event in the catalogue: %v", events)
	}
	ok(oaSendJSON(t, in, "PUT", "/api/v1/notifications/"+critical, token, map[string]bool{"email": false}), 400)
	ok(oaSendJSON(t, in, "PUT", "/api/v1/notifications/"+critical, token, map[string]bool{"sms": true}), 200)
	ok(oaSendJSON(t, in, "PUT", "/api/v1/notifications/"+optional, token, map[string]bool{"email": false}), 200)
	ok(oaSendJSON(t, in, "PUT", "/api/v1/notifications/no.such_event", token, map[string]bool{"email": false}), 404)
	ok(oaSendJSON(t, in, "PUT", "/api/v1/notifications/"+optional, token, `{}`), 400)
	ok(oaSendJSON(t, in, "GET", "/api/v1/notifications/failed-deliveries", token, nil), 200)
	ok(oaSend(t, in, "GET", "/account/notifications?saved=1", form(token), nil), 200)
	ok(oaSend(t, in, "POST", "/account/notifications", form(token), []byte(url.Values{"event": {critical, optional}, "email:" + optional: {"on"}}.Encode())), 303)
}
