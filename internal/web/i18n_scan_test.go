package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"text/template/parse"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/changes"
	"github.com/sellerguard/sellerguard/internal/checkup"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// Everything a person reads on a page comes from the catalogue: these tests
// scan the templates and the page handlers for English written in place.

// scanAllowed are the words a page may show in any language: the product's
// name, technical tokens and names of other products.
var scanAllowed = []string{
	"SellerGuard", "TOTP", "SMS", "SKU", "IBAN", "QR", "JavaScript", "MiB", ".eml", "Ctrl+P", "⌘P", "Mac",
	"Google Authenticator", "Microsoft Authenticator", "1Password", "Authy", "UTC", "CSV", "URL",
	"ABCD-EFGH-IJKL-MNOP", "https://", "http://", "se11erguard", "sellerguard-support.example",
}

var (
	scanURL     = regexp.MustCompile(`https?://[^\s"'<>]+`)
	scanEmail   = regexp.MustCompile(`[\w.+-]+@[\w.-]+`)
	scanEntity  = regexp.MustCompile(`&[a-zA-Z]+;|&#[0-9]+;`)
	scanWord    = regexp.MustCompile(`[A-Za-z]{2,}`)
	scanSkipped = regexp.MustCompile(`(?is)<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->`)
	// The attributes whose values people read (or hear, with a screen reader).
	scanAttr = regexp.MustCompile(`(?i)\s(alt|title|placeholder|aria-label|aria-description|label)\s*=\s*("[^"]*"|'[^']*')`)
	scanTag  = regexp.MustCompile(`<[^>]*>`)
)

// templateText is a template's text with every action replaced by a NUL:
// what the template writes itself, in order, every branch included.
func templateText(name, src string) (string, error) {
	trees := map[string]*parse.Tree{}
	t := parse.New(name)
	t.Mode = parse.SkipFuncCheck | parse.ParseComments
	if _, err := t.Parse(src, "{{", "}}", trees); err != nil {
		return "", err
	}
	var b strings.Builder
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.TextNode:
			b.Write(n.Text)
		case *parse.IfNode:
			b.WriteByte(0)
			walk(n.List)
			b.WriteByte(0)
			walk(n.ElseList)
		case *parse.RangeNode:
			b.WriteByte(0)
			walk(n.List)
			b.WriteByte(0)
			walk(n.ElseList)
		case *parse.WithNode:
			b.WriteByte(0)
			walk(n.List)
			b.WriteByte(0)
			walk(n.ElseList)
		default: // actions, template calls, comments
			b.WriteByte(0)
		}
	}
	names := make([]string, 0, len(trees))
	for n := range trees {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if trees[n].Root != nil {
			walk(trees[n].Root)
		}
		b.WriteByte(0)
	}
	return b.String(), nil
}

// englishIn lists the English words a template writes in place: in text
// between tags and in the attributes people read.
func englishIn(text string) []string {
	text = scanSkipped.ReplaceAllString(text, "")
	var pieces []string
	for _, tag := range scanTag.FindAllString(text, -1) {
		for _, m := range scanAttr.FindAllStringSubmatch(tag, -1) {
			pieces = append(pieces, strings.Trim(m[2], `"'`))
		}
	}
	pieces = append(pieces, scanTag.Split(text, -1)...)
	var out []string
	for _, p := range pieces {
		p = scanURL.ReplaceAllString(p, "")
		p = scanEmail.ReplaceAllString(p, "")
		p = scanEntity.ReplaceAllString(p, "")
		for _, a := range scanAllowed {
			p = strings.ReplaceAll(p, a, "")
		}
		if scanWord.MatchString(p) {
			out = append(out, strings.Join(strings.Fields(strings.ReplaceAll(p, "\x00", "…")), " "))
		}
	}
	return out
}

func TestTemplatesHaveNoEnglishOutsideTheCatalogue(t *testing.T) {
	files, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	partials, err := fs.Glob(assets, "templates/partials/*.html")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, partials...)
	if len(files) < 30 {
		t.Fatalf("only %d templates found", len(files))
	}
	for _, f := range files {
		src, err := fs.ReadFile(assets, f)
		if err != nil {
			t.Fatal(err)
		}
		text, err := templateText(f, string(src))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, e := range englishIn(text) {
			t.Errorf("%s: English outside the catalogue: %q", f, e)
		}
	}
}

// The scan finds English written in place: in text, in an attribute people
// read, in a branch, and not in what the catalogue gives.
func TestTemplateScanFindsEnglish(t *testing.T) {
	for src, want := range map[string]bool{
		`<p>{{t "signin.heading"}}</p>`:                                         false,
		`<p>{{t "signin.heading"}} Sign in</p>`:                                 true,
		`<input placeholder="e.g. purple teapot" value="keep">`:                 true,
		`<input placeholder="{{t "signup.phrase_placeholder"}}" value="keep">`:  false,
		`{{if .X}}{{else}}<em>removed</em>{{end}}`:                              true,
		`<button aria-label="Remove {{.Email}}">{{t "common.remove"}}</button>`: true,
		`<p>SellerGuard · TOTP · https://example.com/x · a@example.com</p>`:     false,
		`<script src="/static/x.js">var english = "words";</script>`:            false,
		`{{define "title"}}Passkeys{{end}}`:                                     true,
		`<p class="hint">&laquo;{{.}}&raquo;</p>`:                               false,
	} {
		text, err := templateText("synthetic", src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got := len(englishIn(text)) > 0; got != want {
			t.Errorf("%s: found English %v, want %v (%q)", src, got, want, englishIn(text))
		}
	}
}

// visibleFields are the fields of page structs that pages show as they are.
var visibleFields = map[string]bool{"Notice": true, "Message": true, "Title": true, "Label": true, "Headline": true,
	"Explanation": true, "Detail": true, "Summary": true, "Reason": true, "Name": true, "Device": true}

// scanPhrase is an English phrase: two words or more, or a capitalised word.
var scanPhrase = regexp.MustCompile(`^[A-Z][a-z]+[ .,:!?]|[a-z]+ [a-z]+ [a-z]+`)

// The page handlers put no English on pages: every string literal assigned
// to a visible field of a page struct, or used as a value in a map or
// struct literal of such texts, comes from the catalogue (tr) instead.
// Error texts (sellerguard.Errorf, FieldError) are translated where they
// are answered and are not scanned here.
func TestPageHandlersHaveNoEnglishOutsideTheCatalogue(t *testing.T) {
	files, err := filepath.Glob("page_*.go")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "pages.go", "present.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		for _, e := range englishLiterals(t, f, nil) {
			t.Errorf("%s", e)
		}
	}
	// The API's files hold page handlers too (email, phone, email check):
	// their assignments to page fields are scanned; their JSON answers'
	// messages are the API's.
	api, err := filepath.Glob("api*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range api {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		for _, e := range englishAssignments(t, f, nil) {
			t.Errorf("%s", e)
		}
	}
}

// englishAssignments is englishLiterals for assignments to visible fields
// only.
func englishAssignments(t *testing.T, name string, src any) []string {
	return scanLiterals(t, name, src, true)
}

func englishLiterals(t *testing.T, name string, src any) []string {
	return scanLiterals(t, name, src, false)
}

func scanLiterals(t *testing.T, name string, src any, assignmentsOnly bool) []string {
	t.Helper()
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, name, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	check := func(e ast.Expr) {
		ast.Inspect(e, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr: // tr(r, "key"), fmt, errors: not page text
				return false
			case *ast.BasicLit:
				if n.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(n.Value)
				if err == nil && scanPhrase.MatchString(s) {
					out = append(out, fset.Position(n.Pos()).String()+": English outside the catalogue: "+strconv.Quote(s))
				}
			}
			return true
		})
	}
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && (id.Name == "sellerguard" || id.Name == "fmt" || id.Name == "errors") {
					return false // error texts: translated at the edge
				}
			}
		case *ast.CompositeLit:
			if sel, ok := n.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "FieldError" || isErrorLit(n.Type) || assignmentsOnly {
				return assignmentsOnly
			}
			for _, el := range n.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				if id, ok := kv.Key.(*ast.Ident); ok && visibleFields[id.Name] {
					check(kv.Value)
				} else if _, ok := n.Type.(*ast.MapType); ok {
					check(kv.Value)
				}
			}
		case *ast.AssignStmt:
			for i, l := range n.Lhs {
				if sel, ok := l.(*ast.SelectorExpr); ok && visibleFields[sel.Sel.Name] && i < len(n.Rhs) {
					check(n.Rhs[i])
				}
			}
		}
		return true
	})
	return out
}

func isErrorLit(e ast.Expr) bool {
	sel, ok := e.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "Error"
}

// The handler scan finds a notice written in English.
func TestPageHandlerScanFindsEnglish(t *testing.T) {
	src := `package web
func f(r any, pg *struct{ Notice, Message string }) {
	pg.Notice = "Your settings are saved."
	pg.Message = tr(r, "notifications.saved")
	_ = map[string]string{"saved": "The review rules are saved."}
	_ = sellerguard.Errorf("x", "An error is translated at the edge.")
}`
	got := englishLiterals(t, "synthetic.go", src)
	if len(got) != 2 || !strings.Contains(got[0], "Your settings are saved.") || !strings.Contains(got[1], "The review rules are saved.") {
		t.Fatalf("found %q", got)
	}
	// In an API file only assignments to page fields count.
	api := `package web
func g(f *form, to string) {
	f.Values["pending"], f.Notice = "1", "We sent a code by text message to "+to+"."
	_ = map[string]string{"message": "An API answer's message."}
}`
	got = englishAssignments(t, "api_synthetic.go", api)
	if len(got) != 1 || !strings.Contains(got[0], "We sent a code by text message to ") {
		t.Fatalf("found in the API file %q", got)
	}
}

// tCalls lists the {{t "key" …}} calls of a template: the key and whether
// a "Count" is passed.
func tCalls(name, src string) ([][2]string, error) {
	trees := map[string]*parse.Tree{}
	t := parse.New(name)
	t.Mode = parse.SkipFuncCheck
	if _, err := t.Parse(src, "{{", "}}", trees); err != nil {
		return nil, err
	}
	var out [][2]string
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == "t" && len(n.Args) > 1 {
				if key, ok := n.Args[1].(*parse.StringNode); ok {
					count := "no"
					for _, a := range n.Args[2:] {
						if s, ok := a.(*parse.StringNode); ok && s.Text == "Count" {
							count = "yes"
						}
					}
					out = append(out, [2]string{key.Text, count})
				}
			}
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
		}
	}
	for _, tr := range trees {
		walk(tr.Root)
	}
	return out, nil
}

// Every key a template names is in the catalogue, and plural forms go with
// a Count: a message with plural forms needs one to choose, and a Count
// given to a message without them fails for "one" in English.
func TestTemplateKeysExistAndCountsMatch(t *testing.T) {
	files, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	partials, err := fs.Glob(assets, "templates/partials/*.html")
	if err != nil {
		t.Fatal(err)
	}
	cat := i18n.Default()
	n := 0
	for _, f := range append(files, partials...) {
		src, err := fs.ReadFile(assets, f)
		if err != nil {
			t.Fatal(err)
		}
		calls, err := tCalls(f, string(src))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, c := range calls {
			n++
			if !cat.Has(i18n.English, c[0]) {
				t.Errorf("%s: key %q is not in the catalogue", f, c[0])
				continue
			}
			_, one := cat.Raw(i18n.English, c[0])
			if plural := one != ""; plural != (c[1] == "yes") {
				t.Errorf("%s: key %q has plural forms %v but is given a Count %s", f, c[0], plural, c[1])
			}
		}
	}
	if n < 500 {
		t.Fatalf("only %d catalogue calls found in the templates", n)
	}
}

// The scan above finds a missing key and a Count that does not fit.
func TestTemplateKeyCheckFindsMistakes(t *testing.T) {
	calls, err := tCalls("synthetic", `{{t "no.such.key"}}{{if .X}}{{t "sessions.end_others" "N" 1 "Count" 2}}{{end}}{{t (print "common.level." .L)}}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || calls[0] != [2]string{"no.such.key", "no"} || calls[1] != [2]string{"sessions.end_others", "yes"} {
		t.Fatalf("calls %q", calls)
	}
}

// The language switch comes back to the page with its query, but never to
// an address the page was handed in next=.
func TestHereOf(t *testing.T) {
	for in, want := range map[string]string{
		"/account/team?business_id=biz_1":                     "/account/team?business_id=biz_1",
		"/account/reauth?next=https%3A%2F%2Fevil.example%2F":  "/account/reauth",
		"/account/reauth?next=%2Faccount&method=backup_codes": "/account/reauth?method=backup_codes",
		"/signin/help": "/signin/help",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := hereOf(u); got != want {
			t.Errorf("hereOf(%s) = %s, want %s", in, got, want)
		}
	}
}

// The handlers' tr(r, "key", …) calls name keys of the catalogue, with a
// Count exactly when the message has plural forms.
func TestHandlerKeysExistAndCountsMatch(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	cat := i18n.Default()
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(node ast.Node) bool {
			call, ok := node.(*ast.CallExpr)
			if !ok {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "tr" || len(call.Args) < 2 {
				return true
			}
			lit, ok := call.Args[1].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true // a key built at run time ("team.notice."+done): checked by the pages' tests
			}
			key, _ := strconv.Unquote(lit.Value)
			count := false
			for _, a := range call.Args[2:] {
				if l, ok := a.(*ast.BasicLit); ok && l.Value == `"Count"` {
					count = true
				}
			}
			n++
			pos := fset.Position(call.Pos())
			if !cat.Has(i18n.English, key) {
				t.Errorf("%s: key %q is not in the catalogue", pos, key)
				return true
			}
			if _, one := cat.Raw(i18n.English, key); (one != "") != count {
				t.Errorf("%s: key %q has plural forms %v but is given a Count %v", pos, key, one != "", count)
			}
			return true
		})
	}
	if n < 50 {
		t.Fatalf("only %d tr calls found", n)
	}
}

// The keys the pages build at run time exist in both languages.
func TestRunTimeKeysExist(t *testing.T) {
	cat := i18n.Default()
	var keys []string
	for k := range teamNotices {
		keys = append(keys, "team.notice."+k)
	}
	for k := range reviewNotices {
		keys = append(keys, "review.notice."+k)
	}
	for k := range businessNotices {
		keys = append(keys, "business.notice."+k)
	}
	for _, a := range memberActions {
		keys = append(keys, "checkup.action."+a.Key, "checkup.notice."+a.Key)
	}
	for _, a := range areaKeys {
		keys = append(keys, "team.area."+a)
	}
	for _, c := range changes.Categories {
		keys = append(keys, "changes.category."+c)
	}
	for _, k := range []string{twostep.KindTOTP, twostep.KindSMS, twostep.KindVoice, twostep.KindPasskey, twostep.KindBackup} {
		keys = append(keys, "twostep.kind."+k)
	}
	for _, l := range []string{sellerguard.LevelNone, sellerguard.LevelView, sellerguard.LevelEdit} {
		keys = append(keys, "common.level."+l)
	}
	for _, r := range []string{sellerguard.RoleOwner, sellerguard.RoleMember} {
		keys = append(keys, "common.role."+r)
	}
	for _, c := range []string{sellerguard.CategoryAccount, sellerguard.CategorySession, sellerguard.CategoryBusiness, sellerguard.CategorySupport} {
		keys = append(keys, "audit.category."+c)
	}
	for _, s := range []string{checkup.Secure, checkup.NeedsAttention, checkup.AtRisk} {
		keys = append(keys, "common.status."+s)
	}
	for _, c := range listingConditions {
		keys = append(keys, "business.condition."+c)
	}
	for _, k := range []string{"email", "phone"} {
		keys = append(keys, "account.notice.code_sent_"+k, "account.notice.confirmed_"+k)
	}
	for _, k := range keys {
		for _, l := range i18n.Supported {
			if !cat.Has(l, k) {
				t.Errorf("%s: no %s", l, k)
			}
		}
	}
}
