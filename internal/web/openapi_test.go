package web_test

// These tests keep api/openapi.json honest. The rule (DESIGN.md 6a) is that
// every route is in the OpenAPI file with the permission it needs, so they
// check, against a real server started with apptest:
//
//   - the document parses, every $ref resolves, and every example matches
//     its schema;
//   - the registered routes and the documented operations are the same set;
//   - every operation names its permission (x-permission), and an
//     unauthenticated request gets exactly what that permission promises;
//   - every answer the server gives (status, content type, JSON body) is one
//     the document describes, and every error code and field code seen is in
//     the document's enums — which in turn match the codes in the source.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"mime"
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
	"unicode/utf8"

	"github.com/sellerguard/sellerguard/api"
	"github.com/sellerguard/sellerguard/internal/app/apptest"
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

// oaPermissions are the values x-permission may take.
var oaPermissions = map[string]bool{
	"public":                true, // no credentials needed
	"authenticated":         true, // any valid session
	"owner of the business": true, // a valid session; business data only for its owners
	"local mode only":       true, // no credentials, and 404 unless no SMTP server is configured
}

// oaUnbounded are JSON request string fields allowed without maxLength
// (none today: every field has a cap in the code).
var oaUnbounded = map[string]bool{}

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

// --- a small JSON Schema checker (the subset the document uses) --------------

func (d *oaDocument) validate(schema, v any, at string) []string {
	if b, ok := schema.(bool); ok {
		if !b {
			return []string{at + ": no value is allowed here"}
		}
		return nil
	}
	s, ok := schema.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s: schema is not an object: %v", at, schema)}
	}
	var errs []string
	if r, ok := s["$ref"].(string); ok {
		target, err := d.resolve(r)
		if err != nil {
			return []string{at + ": " + err.Error()}
		}
		errs = append(errs, d.validate(target, v, at)...)
	}
	if ty, ok := s["type"]; ok && !oaTypeMatches(ty, v) {
		return append(errs, fmt.Sprintf("%s: %s is not of type %v", at, oaShort(v), ty))
	}
	if c, ok := s["const"]; ok && !reflect.DeepEqual(c, v) {
		errs = append(errs, fmt.Sprintf("%s: %s is not %v", at, oaShort(v), c))
	}
	if e, ok := s["enum"].([]any); ok && !slices.ContainsFunc(e, func(x any) bool { return reflect.DeepEqual(x, v) }) {
		errs = append(errs, fmt.Sprintf("%s: %s is not one of %v", at, oaShort(v), e))
	}
	if alts, ok := s["anyOf"].([]any); ok {
		pass := false
		for _, a := range alts {
			if len(d.validate(a, v, at)) == 0 {
				pass = true
				break
			}
		}
		if !pass {
			errs = append(errs, fmt.Sprintf("%s: %s matches none of anyOf", at, oaShort(v)))
		}
	}
	switch v := v.(type) {
	case string:
		n := utf8.RuneCountInString(v)
		if m, ok := s["maxLength"].(float64); ok && n > int(m) {
			errs = append(errs, fmt.Sprintf("%s: %d characters, more than maxLength %v", at, n, m))
		}
		if m, ok := s["minLength"].(float64); ok && n < int(m) {
			errs = append(errs, fmt.Sprintf("%s: %d characters, fewer than minLength %v", at, n, m))
		}
		if p, ok := s["pattern"].(string); ok {
			re, err := regexp.Compile(p)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: pattern %q: %v", at, p, err))
			} else if !re.MatchString(v) {
				errs = append(errs, fmt.Sprintf("%s: %q does not match %s", at, v, p))
			}
		}
		if f, ok := s["format"].(string); ok {
			var err error
			switch f {
			case "date-time":
				_, err = time.Parse(time.RFC3339Nano, v)
			case "date":
				_, err = time.Parse("2006-01-02", v)
			}
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %q is not a %s", at, v, f))
			}
		}
	case float64:
		if m, ok := s["minimum"].(float64); ok && v < m {
			errs = append(errs, fmt.Sprintf("%s: %v is below the minimum %v", at, v, m))
		}
		if m, ok := s["maximum"].(float64); ok && v > m {
			errs = append(errs, fmt.Sprintf("%s: %v is above the maximum %v", at, v, m))
		}
	case []any:
		if m, ok := s["minItems"].(float64); ok && len(v) < int(m) {
			errs = append(errs, fmt.Sprintf("%s: %d items, fewer than minItems %v", at, len(v), m))
		}
		if items, ok := s["items"]; ok {
			for i, e := range v {
				errs = append(errs, d.validate(items, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case map[string]any:
		for _, r := range oaStrings(s["required"]) {
			if _, ok := v[r]; !ok {
				errs = append(errs, fmt.Sprintf("%s: required property %q is missing", at, r))
			}
		}
		props, _ := s["properties"].(map[string]any)
		for k, pv := range v {
			if ps, ok := props[k]; ok {
				errs = append(errs, d.validate(ps, pv, at+"."+k)...)
			} else if ap, ok := s["additionalProperties"]; ok {
				errs = append(errs, d.validate(ap, pv, at+"."+k)...)
			}
		}
	}
	return errs
}

func oaTypeMatches(ty, v any) bool {
	if list, ok := ty.([]any); ok {
		return slices.ContainsFunc(list, func(x any) bool { return oaTypeMatches(x, v) })
	}
	switch ty {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	}
	return false
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
		if !oaPermissions[perm] {
			t.Errorf("%s: x-permission %q is not one of %v", o, perm, slices.Sorted(oaKeys(oaPermissions)))
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
		switch perm {
		case "authenticated", "owner of the business":
			if len(sec) == 0 || optional {
				t.Errorf("%s needs %q but its security allows anonymous callers", o, perm)
			}
		case "public", "local mode only":
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
	where := fmt.Sprintf("%s %s → %d", a.method, a.path, a.Status)
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
	if p["type"] != "urn:sellerguard:problem:"+code || p["status"] != float64(a.Status) || p["title"] != http.StatusText(a.Status) {
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
	h := map[string]string{}
	var body []byte
	if rb, ok := o.op["requestBody"].(map[string]any); ok {
		content, _ := rb["content"].(map[string]any)
		switch {
		case content["application/json"] != nil:
			h["Content-Type"], body = "application/json", []byte("{}")
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
	return oaSend(t, in, o.method, oaConcrete(o.path), h, body)
}

// TestOpenAPIPermissions checks that x-permission says what the server does:
// without credentials, "authenticated" and "owner of the business" routes
// answer 401 unauthenticated (API) or 303 to /signin (pages), "public" ones
// never do, and "local mode only" ones answer 404 unless in local mode; with
// credentials, the protected routes let the caller in.
func TestOpenAPIPermissions(t *testing.T) {
	d := loadOpenAPI(t)
	local := apptest.Start(t, "sqlite")
	remote := apptest.Start(t, "sqlite", apptest.Env("SELLERGUARD_SMTP_URL", "smtp://127.0.0.1:1"))
	local.SignUp(t, "perm@example.com", "correct horse battery staple", "Permission Test")

	deniedAnon := func(o oaOperation, a oaAnswer) bool {
		if oaIsPage(o) {
			return a.Status == http.StatusSeeOther && a.Header.Get("Location") == "/signin"
		}
		return a.Status == http.StatusUnauthorized && bytes.Contains(a.Body, []byte(`"code":"unauthenticated"`))
	}
	for _, o := range d.ops {
		perm := o.op["x-permission"]
		t.Run(o.String(), func(t *testing.T) {
			a := oaRequest(t, local, o, "")
			d.check(t, a, nil)
			switch perm {
			case "authenticated", "owner of the business":
				if !deniedAnon(o, a) {
					t.Errorf("x-permission %q, but an anonymous caller got %d %s", perm, a.Status, a.Body)
				}
				token := local.SignIn(t, "perm@example.com", "correct horse battery staple")
				a = oaRequest(t, local, o, token)
				d.check(t, a, nil)
				if deniedAnon(o, a) {
					t.Errorf("a signed-in caller was refused: %d %s", a.Status, a.Body)
				}
			case "public":
				if deniedAnon(o, a) {
					t.Errorf("x-permission public, but an anonymous caller was refused: %d %s", a.Status, a.Body)
				}
			case "local mode only":
				if a.Status != http.StatusOK {
					t.Errorf("local mode: %d %s", a.Status, a.Body)
				}
				a = oaRequest(t, remote, o, "")
				d.check(t, a, nil)
				if a.Status != http.StatusNotFound {
					t.Errorf("outside local mode: %d, want 404", a.Status)
				}
			}
		})
	}
}

// TestOpenAPIErrorCodes sends real failing requests and checks that every
// error code and field code answered is in the document's enums, with the
// documented status, content type and shape.
func TestOpenAPIErrorCodes(t *testing.T) {
	d := loadOpenAPI(t)
	// The test client (127.0.0.1) is a trusted proxy, so the source-limit
	// cases below can name their clients with X-Forwarded-For; requests
	// without the header come from 127.0.0.1 itself.
	in := apptest.Start(t, "sqlite", apptest.Env("SELLERGUARD_TRUSTED_PROXIES", "127.0.0.1"))
	const pw = "correct horse battery staple"
	_, biz := in.SignUp(t, "owner@example.com", pw, "Owner Co")
	in.SignUp(t, "other@example.com", pw, "Other Co")
	token := in.SignIn(t, "owner@example.com", pw)
	otherToken := in.SignIn(t, "other@example.com", pw)

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
	}

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

	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/static/style.css", "/static/favicon.svg", "/", "/signup", "/signup/verify", "/signin?verified=1", "/signin/unlock"} {
		ok(oaSend(t, in, "GET", p, nil, nil), 200)
	}
	ok(oaSend(t, in, "GET", "/static/missing.css", nil, nil), 404)

	ok(oaSendJSON(t, in, "POST", "/api/v1/signup", "", map[string]string{"email": email, "password": pw, "business_name": "Happy Co", "phone": "+44 7700 900123"}), 202)
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

	// Audit: a full page has a cursor; the cursor pages on.
	page := ok(oaSendJSON(t, in, "GET", "/api/v1/audit?limit=1&business_id="+url.QueryEscape(biz), token, nil), 200).JSON(t)
	cursor, _ := page["next_cursor"].(string)
	if cursor == "" {
		t.Fatalf("a full page has no next_cursor: %v", page)
	}
	ok(oaSendJSON(t, in, "GET", "/api/v1/audit?limit=1&business_id="+url.QueryEscape(biz)+"&cursor="+url.QueryEscape(cursor), token, nil), 200)
	ok(oaSendJSON(t, in, "GET", "/api/v1/audit?category=session&since=2000-01-01&until=2999-01-01T00:00:00Z", token, nil), 200)

	// Pages with the cookie.
	cookie := map[string]string{"Cookie": "sg_session=" + in.SignIn(t, email, pw), "Accept": "text/html"}
	for _, p := range []string{"/account", "/account/sessions?done=revoked", "/account/audit", "/account/audit.csv", "/dev/outbox"} {
		ok(oaSend(t, in, "GET", p, cookie, nil), 200)
	}
	ok(oaSend(t, in, "GET", "/", cookie, nil), 303)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}
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
	cookie["Cookie"] = "sg_session=" + in.SignIn(t, email, pw)
	ok(oaSend(t, in, "POST", "/account/sessions/revoke-others", cookie, nil), 303)
	ok(oaSend(t, in, "POST", "/signout", cookie, nil), 303)
}
