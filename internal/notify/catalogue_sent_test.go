package notify_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/notify"
)

// The catalogue has no dead and no missing entries: every event in it is
// sent by something, and every event sent is in it. "Sent" is read from the
// Go source of the whole module (tests aside): a reference to an Event…
// string constant anywhere but in a constant declaration, in the catalogue
// itself, or as an operand of == / != (a comparison sends nothing). Sends
// go through these constants by convention (tmail, withEvent,
// tellBusiness, OutboxMessage.Event); an event sent by a bare string literal
// would escape this check, which is why none is.
func TestCatalogueMatchesTheEventsSent(t *testing.T) {
	root := moduleRoot(t)
	sent := eventsSent(t, os.DirFS(root))
	for _, problem := range catalogueProblems(sent, catalogueKeys()) {
		t.Error(problem)
	}
	if len(sent) < 20 {
		t.Fatalf("found only %d events sent: the source scan is broken (%v)", len(sent), sent)
	}
}

// The check fails in both directions, shown on the real source: with an
// event taken out of the catalogue, and with a sender taken out of the code.
func TestCatalogueCheckCatchesBothDirections(t *testing.T) {
	root := moduleRoot(t)
	sent := eventsSent(t, os.DirFS(root))

	// An event removed from the catalogue while still sent.
	keys := slices.DeleteFunc(catalogueKeys(), func(k string) bool { return k == notify.EventPasswordChanged })
	if p := catalogueProblems(sent, keys); len(p) != 1 || !strings.Contains(p[0], `"security.password_changed" is sent`) {
		t.Errorf("without security.password_changed in the catalogue: %q", p)
	}

	// A sender removed: the source with the "still yours?" email gone
	// (AskContactConfirmations sending nothing) and with the sign-out
	// everywhere else notice gone.
	for _, cut := range []struct{ file, sender, event string }{
		{"internal/account/contact.go", "tmail(EventContactCheck,", notify.EventContactCheck},
		{"internal/session/sessions.go", "tmail(EventSessionsEndedByOther,", notify.EventSessionsEndedByOther},
	} {
		fsys := overlayFS{base: os.DirFS(root), path: cut.file, edit: func(src string) string {
			if !strings.Contains(src, cut.sender) {
				t.Fatalf("%s has no %s", cut.file, cut.sender)
			}
			return strings.ReplaceAll(src, cut.sender, `eventEmail("",`)
		}}
		p := catalogueProblems(eventsSent(t, fsys), catalogueKeys())
		if len(p) != 1 || !strings.Contains(p[0], strconv.Quote(cut.event)+" is in the catalogue") {
			t.Errorf("without the sender in %s: %q", cut.file, p)
		}
	}
}

func catalogueKeys() []string {
	var keys []string
	for _, e := range notify.Catalogue() {
		keys = append(keys, e.Key)
	}
	return keys
}

// catalogueProblems lists events sent but not in the catalogue, and events
// in the catalogue that nothing sends.
func catalogueProblems(sent map[string][]string, keys []string) []string {
	var out []string
	for ev, where := range sent {
		if !slices.Contains(keys, ev) {
			out = append(out, strconv.Quote(ev)+" is sent ("+strings.Join(where, ", ")+") but not in the catalogue")
		}
	}
	for _, k := range keys {
		if _, ok := sent[k]; !ok {
			out = append(out, strconv.Quote(k)+" is in the catalogue but nothing sends it")
		}
	}
	slices.Sort(out)
	return out
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
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

// overlayFS is fsys with one file's text edited.
type overlayFS struct {
	base fs.FS
	path string
	edit func(string) string
}

func (o overlayFS) Open(name string) (fs.File, error) { return o.base.Open(name) }

func (o overlayFS) ReadFile(name string) ([]byte, error) {
	b, err := fs.ReadFile(o.base, name)
	if err != nil || name != o.path {
		return b, err
	}
	return []byte(o.edit(string(b))), nil
}

type constKey struct{ pkg, name string } // package directory, constant name

// eventsSent reads every non-test Go file of the module and returns the
// events referred to as sent, each with where.
func eventsSent(t *testing.T, fsys fs.FS) map[string][]string {
	t.Helper()
	modBytes, err := fs.ReadFile(fsys, "go.mod")
	if err != nil {
		t.Fatal(err)
	}
	module := ""
	for _, line := range strings.Split(string(modBytes), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			module = strings.TrimSpace(rest)
		}
	}
	type file struct {
		dir  string
		path string
		ast  *ast.File
	}
	var files []file
	fset := token.NewFileSet()
	err = fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files = append(files, file{dir: filepath.ToSlash(filepath.Dir(path)), path: path, ast: f})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	importsOf := func(f *ast.File) map[string]string { // local name -> package directory
		m := map[string]string{}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			rel, ok := strings.CutPrefix(p, module+"/")
			if !ok {
				continue
			}
			name := filepath.Base(rel)
			if im.Name != nil {
				name = im.Name.Name
			}
			m[name] = rel
		}
		return m
	}
	// The Event… constants and what they stand for (a string, or another
	// constant).
	values := map[constKey]ast.Expr{}
	where := map[ast.Expr]file{}
	for _, f := range files {
		for _, decl := range f.ast.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if strings.HasPrefix(n.Name, "Event") && i < len(vs.Values) {
						values[constKey{f.dir, n.Name}] = vs.Values[i]
						where[vs.Values[i]] = f
					}
				}
			}
		}
	}
	var resolve func(k constKey, depth int) (string, bool)
	resolve = func(k constKey, depth int) (string, bool) {
		v, ok := values[k]
		if !ok || depth > 5 {
			return "", false
		}
		switch e := v.(type) {
		case *ast.BasicLit:
			s, err := strconv.Unquote(e.Value)
			return s, err == nil
		case *ast.Ident:
			return resolve(constKey{k.pkg, e.Name}, depth+1)
		case *ast.SelectorExpr:
			if x, ok := e.X.(*ast.Ident); ok {
				if dir, ok := importsOf(where[v].ast)[x.Name]; ok {
					return resolve(constKey{dir, e.Sel.Name}, depth+1)
				}
			}
		}
		return "", false
	}
	sent := map[string][]string{}
	for _, f := range files {
		if f.path == "internal/notify/catalogue.go" {
			continue // the catalogue lists events; it sends none
		}
		imports := importsOf(f.ast)
		skip := map[ast.Node]bool{}
		ast.Inspect(f.ast, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GenDecl:
				if n.Tok == token.CONST {
					return false // declarations and aliases send nothing
				}
			case *ast.BinaryExpr:
				if n.Op == token.EQL || n.Op == token.NEQ {
					skip[n.X], skip[n.Y] = true, true
				}
			case *ast.SelectorExpr:
				if skip[n] {
					return false
				}
				if x, ok := n.X.(*ast.Ident); ok {
					if dir, ok := imports[x.Name]; ok {
						if ev, ok := resolve(constKey{dir, n.Sel.Name}, 0); ok && ev != "" {
							sent[ev] = append(sent[ev], fset.Position(n.Pos()).String())
						}
					}
				}
				return false // the field of a value is no constant of this package
			case *ast.Ident:
				if skip[n] {
					return false
				}
				if ev, ok := resolve(constKey{f.dir, n.Name}, 0); ok && ev != "" {
					sent[ev] = append(sent[ev], fset.Position(n.Pos()).String())
				}
			}
			return true
		})
	}
	return sent
}
