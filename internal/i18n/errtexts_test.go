package i18n_test

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/i18n"
)

// An errText is one English text a person may read as an error: a literal
// (or printf format) that reaches sellerguard.Errorf, the Message of a
// sellerguard.Error, FieldError, policy.Reason or mailcheck.Reason (the
// email check's findings), or a function that passes
// its argument on to one of those.
type errText struct {
	Pos    string // file:line, relative to the module
	Text   string // the text, or the printf format
	Format bool   // Text is a printf format (fmt.Sprintf, Errorf with arguments)
	// Dynamic is set when the message is not a literal the scan can follow
	// (a field of another value, a concatenation with a variable): Text
	// then shows the expression.
	Dynamic bool
}

// scanErrTexts walks the non-test .go files under root (skipping testdata
// and files built only on request) and returns every error text it finds.
func scanErrTexts(root string) ([]errText, error) {
	pkgs := map[string][]*ast.File{} // directory → files
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (n == "testdata" || n == "vendor" || strings.HasPrefix(n, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		for _, cg := range f.Comments {
			if cg.Pos() < f.Package && strings.Contains(cg.Text(), "go:build ignore") {
				return nil
			}
		}
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				if c.Pos() < f.Package && strings.HasPrefix(c.Text, "//go:build ignore") {
					return nil
				}
			}
		}
		pkgs[filepath.Dir(path)] = append(pkgs[filepath.Dir(path)], f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// String constants of every package, by "pkg.Name" and, within the
	// package, by "Name".
	consts := map[string]string{}
	for _, files := range pkgs {
		for _, f := range files {
			for _, d := range f.Decls {
				g, ok := d.(*ast.GenDecl)
				if !ok || g.Tok != token.CONST {
					continue
				}
				for _, sp := range g.Specs {
					vs := sp.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							if s, ok := foldString(vs.Values[i], nil, ""); ok {
								consts[f.Name.Name+"."+n.Name] = s
							}
						}
					}
				}
			}
		}
	}
	var out []errText
	dirs := make([]string, 0, len(pkgs))
	for d := range pkgs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		s := &errScan{fset: fset, root: root, consts: consts, wrappers: map[string]int{}}
		// Twice: the first pass finds the wrappers (functions and closures
		// that pass a parameter on as a message), the second their callers.
		for pass := 0; pass < 3; pass++ {
			s.out = nil
			for _, f := range pkgs[dir] {
				s.pkg = f.Name.Name
				s.file(f)
			}
		}
		out = append(out, s.out...)
	}
	return out, nil
}

type errScan struct {
	fset     *token.FileSet
	root     string
	pkg      string
	consts   map[string]string
	wrappers map[string]int // function or closure name → index of its message parameter
	out      []errText
}

// fn is the function a node is in: its parameters and body.
type fn struct {
	params []string
	body   *ast.BlockStmt
	outer  *fn
}

func (s *errScan) file(f *ast.File) {
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		name := fd.Name.Name
		if fd.Recv != nil {
			name = "." + name // a method: called as x.name(...)
		}
		s.walk(fd.Body, &fn{params: paramNames(fd.Type), body: fd.Body}, name)
	}
	// Package-level variables (var errX = sellerguard.Errorf(...)).
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.VAR {
			s.walk(g, nil, "")
		}
	}
}

func paramNames(t *ast.FuncType) []string {
	var out []string
	for _, p := range t.Params.List {
		if len(p.Names) == 0 {
			out = append(out, "_")
		}
		for _, n := range p.Names {
			out = append(out, n.Name)
		}
	}
	return out
}

func (s *errScan) walk(root ast.Node, f *fn, name string) {
	ast.Inspect(root, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			// name := func(...) {...}: a closure that may be a wrapper.
			for i, rhs := range n.Rhs {
				if lit, ok := rhs.(*ast.FuncLit); ok && i < len(n.Lhs) {
					if id, ok := n.Lhs[i].(*ast.Ident); ok {
						s.walk(lit.Body, &fn{params: paramNames(lit.Type), body: lit.Body, outer: f}, id.Name)
						return false
					}
				}
			}
		case *ast.FuncLit:
			s.walk(n.Body, &fn{params: paramNames(n.Type), body: n.Body, outer: f}, "")
			return false
		case *ast.CallExpr:
			if idx, ok := s.sinkArg(n); ok && idx < len(n.Args) {
				if len(n.Args) > idx+1 || n.Ellipsis.IsValid() {
					s.message(n.Args[idx], f, name, true)
				} else {
					s.message(n.Args[idx], f, name, false)
				}
			}
		case *ast.CompositeLit:
			s.composite(n, "", f, name)
		}
		return true
	})
}

// sinkArg reports which argument of a call is a message: the format of
// sellerguard.Errorf, or the message parameter of a wrapper.
func (s *errScan) sinkArg(c *ast.CallExpr) (int, bool) {
	switch fun := c.Fun.(type) {
	case *ast.SelectorExpr:
		if x, ok := fun.X.(*ast.Ident); ok && x.Name == "sellerguard" && fun.Sel.Name == "Errorf" {
			return 1, true
		}
		// x.add(code, msg): a method of this package that is a wrapper.
		if i, ok := s.wrappers["."+fun.Sel.Name]; ok {
			return i, true
		}
	case *ast.Ident:
		if s.pkg == "sellerguard" && fun.Name == "Errorf" {
			return 1, true
		}
		if i, ok := s.wrappers[fun.Name]; ok {
			return i, true
		}
	}
	return 0, false
}

// msgType names the message-carrying types and the position of Message in
// a literal without field names.
func (s *errScan) msgType(t ast.Expr) (string, int) {
	name := ""
	switch t := t.(type) {
	case *ast.SelectorExpr:
		if x, ok := t.X.(*ast.Ident); ok {
			name = x.Name + "." + t.Sel.Name
		}
	case *ast.Ident:
		name = s.pkg + "." + t.Name
	case *ast.StarExpr:
		return s.msgType(t.X)
	}
	switch name {
	case "sellerguard.Error":
		return name, 1
	case "sellerguard.FieldError":
		return name, 2
	case "policy.Reason", "mailcheck.Reason":
		return name, 1
	}
	return "", 0
}

func (s *errScan) composite(n *ast.CompositeLit, elided string, f *fn, name string) {
	typ, pos := s.msgType(n.Type)
	if n.Type == nil {
		typ = elided
		_, pos = s.msgTypeByName(elided)
	}
	if typ == "" {
		// []sellerguard.FieldError{{...}}: elements without their type.
		var elt ast.Expr
		switch t := n.Type.(type) {
		case *ast.ArrayType:
			elt = t.Elt
		case *ast.MapType:
			elt = t.Value
		}
		if et, _ := s.msgType(elt); et != "" {
			for _, e := range n.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					e = kv.Value
				}
				if cl, ok := e.(*ast.CompositeLit); ok && cl.Type == nil {
					s.composite(cl, et, f, name)
				}
			}
		}
		return
	}
	for i, e := range n.Elts {
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Message" {
				s.message(kv.Value, f, name, false)
			}
			continue
		}
		if i == pos {
			s.message(e, f, name, false)
		}
	}
}

func (s *errScan) msgTypeByName(n string) (string, int) {
	switch n {
	case "sellerguard.Error", "policy.Reason", "mailcheck.Reason":
		return n, 1
	case "sellerguard.FieldError":
		return n, 2
	}
	return "", 0
}

func (s *errScan) pos(n ast.Node) string {
	p := s.fset.Position(n.Pos())
	rel, err := filepath.Rel(s.root, p.Filename)
	if err != nil {
		rel = p.Filename
	}
	return filepath.ToSlash(rel) + ":" + strconv.Itoa(p.Line)
}

// message records the text an expression carries into a message.
func (s *errScan) message(e ast.Expr, f *fn, name string, format bool) {
	switch e := e.(type) {
	case *ast.ParenExpr:
		s.message(e.X, f, name, format)
		return
	case *ast.CallExpr:
		if sel, ok := e.Fun.(*ast.SelectorExpr); ok {
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "fmt" && sel.Sel.Name == "Sprintf" && len(e.Args) > 0 {
				s.message(e.Args[0], f, name, true)
				return
			}
		}
	case *ast.Ident:
		// A parameter: the function is a wrapper; its callers are scanned.
		if f != nil {
			for i, p := range f.params {
				if p == e.Name {
					if name != "" {
						s.wrappers[name] = i
					}
					return
				}
			}
			// A local variable: every value assigned to it.
			if vals := assigned(f, e.Name); len(vals) > 0 {
				for _, v := range vals {
					s.message(v, f, name, format)
				}
				return
			}
		}
	}
	if str, ok := foldString(e, s.consts, s.pkg); ok {
		s.out = append(s.out, errText{Pos: s.pos(e), Text: str, Format: format})
		return
	}
	s.out = append(s.out, errText{Pos: s.pos(e), Text: exprString(s.fset, e), Dynamic: true})
}

// assigned lists the values assigned to a local variable in f's body (and
// the bodies around it).
func assigned(f *fn, name string) []ast.Expr {
	var out []ast.Expr
	for ; f != nil && len(out) == 0; f = f.outer {
		ast.Inspect(f.body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				if len(n.Lhs) == len(n.Rhs) {
					for i, l := range n.Lhs {
						if id, ok := l.(*ast.Ident); ok && id.Name == name {
							out = append(out, n.Rhs[i])
						}
					}
				}
			case *ast.ValueSpec:
				for i, id := range n.Names {
					if id.Name == name && i < len(n.Values) {
						out = append(out, n.Values[i])
					}
				}
			}
			return true
		})
	}
	return out
}

// foldString evaluates a string literal, a constant, or a + of those.
func foldString(e ast.Expr, consts map[string]string, pkg string) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			s, err := strconv.Unquote(e.Value)
			return s, err == nil
		}
	case *ast.ParenExpr:
		return foldString(e.X, consts, pkg)
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			a, ok1 := foldString(e.X, consts, pkg)
			b, ok2 := foldString(e.Y, consts, pkg)
			return a + b, ok1 && ok2
		}
	case *ast.Ident:
		v, ok := consts[pkg+"."+e.Name]
		return v, ok
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok {
			v, ok := consts[x.Name+"."+e.Sel.Name]
			return v, ok
		}
	}
	return "", false
}

func exprString(fset *token.FileSet, e ast.Expr) string {
	var b strings.Builder
	ast.Inspect(e, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(id.Name)
		}
		return true
	})
	return fmt.Sprintf("%T %s", e, b.String())
}

// dynamicAllowed are the messages that are not literals and that is right:
// each passes on a message that was itself built from catalogued texts.
var dynamicAllowed = map[string]string{
	"error.go fields.Message":                                        "Invalid: the one field's own message",
	"internal/account/signup.go f.Message":                           "a FieldError's message turned into a policy.Reason",
	"internal/secondstep/passkeys.go errPasskeysUnavailable.Message": "the message of a catalogued error",
	"internal/account/passwords.go r.Message":                        "a policy.Reason's message, scanned where the reason is made",
	"internal/changes/undo.go later.ID":                              "an identifier, not words",
}

func dynamicKey(t errText) string {
	file := t.Pos[:strings.LastIndexByte(t.Pos, ':')]
	x := t.Text[strings.IndexByte(t.Text, ' ')+1:]
	return file + " " + x
}

// errCatalogue returns the English texts of the err.* keys.
func errCatalogue(c *i18n.Catalog) map[string]string {
	out := map[string]string{}
	for _, k := range c.Keys(i18n.English) {
		if strings.HasPrefix(k, "err.") {
			other, _ := c.Raw(i18n.English, k)
			out[other] = k
		}
	}
	return out
}

// missingErrTexts returns the problems of a scan: texts that are not an
// err.* text of en.toml, and messages the scan could not follow.
func missingErrTexts(texts []errText, catalogue map[string]string) []string {
	var out []string
	for _, t := range texts {
		if t.Dynamic {
			if _, ok := dynamicAllowed[dynamicKey(t)]; !ok {
				out = append(out, fmt.Sprintf("%s: a message the scan cannot follow (%s); use a literal or a format", t.Pos, t.Text))
			}
			continue
		}
		if t.Text == "" {
			continue
		}
		if _, ok := catalogue[t.Text]; !ok {
			out = append(out, fmt.Sprintf("%s: %q is not an err.* text of en.toml", t.Pos, t.Text))
		}
	}
	return out
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

// Every English error text in the source is an err.* message of en.toml,
// so a Chinese reader gets it translated. Set SELLERGUARD_ERRTEXTS_OUT to a
// file name to write what the scan found, as JSON (for adding messages).
func TestEveryErrorTextIsCatalogued(t *testing.T) {
	t.Parallel()
	texts, err := scanErrTexts(moduleRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	if out := os.Getenv("SELLERGUARD_ERRTEXTS_OUT"); out != "" {
		b, _ := json.MarshalIndent(texts, "", "  ")
		if err := os.WriteFile(out, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if len(texts) < 200 {
		t.Fatalf("the scan found only %d error texts: it is not looking in the right places", len(texts))
	}
	for _, p := range missingErrTexts(texts, errCatalogue(load(t))) {
		t.Error(p)
	}
}

// The scan finds a literal that is not catalogued in every form a message
// takes, and a message it cannot follow.
func TestErrorTextScanFindsUncatalogued(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := `package demo

import (
	"fmt"

	"github.com/sellerguard/sellerguard"
)

const msgConst = "Shown from a constant."

var errVar = sellerguard.Errorf(sellerguard.ECodeConflict, "A package-level error.")

func refuse(format string, args ...any) error { return sellerguard.Errorf("conflict", format, args...) }

type result struct{ reasons []sellerguard.FieldError }

func (r *result) add(code, msg string) {
	r.reasons = append(r.reasons, sellerguard.FieldError{Code: code, Message: msg})
}

func f(n int, other string) error {
	(&result{}).add("m", "Through a method.")
	bad := func(field, msg string) sellerguard.FieldError { return sellerguard.FieldError{Field: field, Code: "x", Message: msg} }
	_ = bad("a", "Through a closure.")
	_ = refuse("Through a wrapper with %d.", n)
	msg := "Assigned to a variable."
	if n > 1 {
		msg = "Assigned " + "again."
	}
	_ = []sellerguard.FieldError{{Field: "b", Code: "y", Message: fmt.Sprintf("Use at most %d items.", n)}}
	_ = &sellerguard.Error{Code: "c", Message: msgConst}
	_ = sellerguard.FieldError{"f", "c", "Positional."}
	_ = sellerguard.Invalid(sellerguard.FieldError{Field: "p", Code: "q", Message: msg})
	_ = sellerguard.Errorf("x", "Concatenated with a variable: " + other)
	return sellerguard.Errorf("conflict", "There is nothing here.")
}
`
	if err := os.WriteFile(filepath.Join(dir, "demo.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	texts, err := scanErrTexts(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, p := range missingErrTexts(texts, errCatalogue(load(t))) {
		got[p[strings.Index(p, ": ")+2:]] = true
	}
	for _, want := range []string{
		`"Shown from a constant." is not an err.* text of en.toml`,
		`"A package-level error." is not an err.* text of en.toml`,
		`"Through a closure." is not an err.* text of en.toml`,
		`"Through a wrapper with %d." is not an err.* text of en.toml`,
		`"Assigned to a variable." is not an err.* text of en.toml`,
		`"Assigned again." is not an err.* text of en.toml`,
		`"Use at most %d items." is not an err.* text of en.toml`,
		`"Positional." is not an err.* text of en.toml`,
		`"Through a method." is not an err.* text of en.toml`,
		`a message the scan cannot follow (*ast.BinaryExpr other); use a literal or a format`,
	} {
		if !got[want] {
			t.Errorf("the scan missed: %s", want)
		}
		delete(got, want)
	}
	for p := range got {
		t.Errorf("unexpected: %s", p)
	}
}
