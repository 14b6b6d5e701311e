package i18n_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/i18n"
)

// keyPrefixes are the message families written from Go code (emails,
// texts, the notification catalogue, password feedback).
var keyPrefixes = []string{"email.", "sms.", "voice.", "notify.", "password."}

// usedKeys finds the string literals of the non-test Go files under root
// that name a message: a whole key, an email (key.subject and key.body),
// or the start of keys completed at run time ("email.area."+a,
// "email.undo.setting_%v").
func usedKeys(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (n == "testdata" || strings.HasPrefix(n, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil || strings.ContainsAny(s, " \n") {
				return true
			}
			for _, p := range keyPrefixes {
				if strings.HasPrefix(s, p) && len(s) > len(p) {
					out[s] = fset.Position(lit.Pos()).String()
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func keyKnown(c *i18n.Catalog, lit string) bool {
	if i := strings.IndexByte(lit, '%'); i >= 0 {
		lit = lit[:i] // "email.undo.setting_%v": a key starts so
	}
	for _, l := range i18n.Supported {
		ok := c.Has(l, lit) || (c.Has(l, lit+".subject") && c.Has(l, lit+".body"))
		if !ok && (strings.HasSuffix(lit, ".") || strings.HasSuffix(lit, "_")) {
			for _, k := range c.Keys(l) {
				if strings.HasPrefix(k, lit) {
					ok = true
					break
				}
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// Every message key the code names is in both files: an email or text that
// names a missing key would go out as the key itself.
func TestEveryKeyUsedIsInTheCatalogues(t *testing.T) {
	t.Parallel()
	c := load(t)
	used := usedKeys(t, moduleRoot(t))
	if len(used) < 100 {
		t.Fatalf("found only %d keys in the code: the scan is broken", len(used))
	}
	for lit, where := range used {
		if !keyKnown(c, lit) {
			t.Errorf("%s: %q is not a key (or email, or key prefix) of both files", where, lit)
		}
	}
	// The check fails on a key that does not exist.
	if keyKnown(c, "email.no_such_message") || keyKnown(c, "sms.no_such.") {
		t.Error("an unknown key passes the check")
	}
}
