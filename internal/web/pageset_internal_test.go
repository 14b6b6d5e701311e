package web

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/sellerguard/sellerguard/internal/i18n"
)

// builtPages counts the pages built so far (rendered at least once).
func builtPages(ps pageSet) int {
	n := 0
	for _, p := range ps {
		if p.t != nil {
			n++
		}
	}
	return n
}

// Pages are built on first use, once per language, and kept; a page that
// does not exist is not built.
func TestPagesBuiltOnFirstUseAndKept(t *testing.T) {
	ps, err := loadPages()
	if err != nil {
		t.Fatal(err)
	}
	if n := builtPages(ps); n != 0 {
		t.Fatalf("%d pages kept after start-up, want none", n)
	}
	if _, ok := ps[pageKey{i18n.Chinese, "signin"}]; !ok {
		t.Fatalf("no Chinese sign-in page among %d pages", len(ps))
	}
	var wg sync.WaitGroup
	got := make([]any, 8)
	for i := range got {
		wg.Go(func() {
			p, ok, err := ps.page(i18n.Chinese, "signin")
			if !ok || err != nil {
				t.Errorf("page(zh-CN, signin): ok %v, err %v", ok, err)
			}
			got[i] = p
		})
	}
	wg.Wait()
	for _, p := range got[1:] {
		if p != got[0] {
			t.Fatal("concurrent first uses built the page more than once")
		}
	}
	en, _, _ := ps.page(i18n.English, "signin")
	if en == got[0] {
		t.Fatal("English and Chinese share one template")
	}
	if n := builtPages(ps); n != 2 {
		t.Fatalf("%d pages kept, want 2 (sign-in in two languages)", n)
	}
	for lang, want := range map[i18n.Lang]string{i18n.English: "Sign in", i18n.Chinese: "登录"} {
		tpl, _, _ := ps.page(lang, "signin")
		var buf bytes.Buffer
		if err := tpl.ExecuteTemplate(&buf, "layout.html", pageData{Lang: lang, Langs: i18n.Supported, Here: "/signin", Page: nil}); err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		if !strings.Contains(buf.String(), want) {
			t.Errorf("%s sign-in page lacks %q", lang, want)
		}
	}
	if _, ok, err := ps.page(i18n.English, "no-such-page"); ok || err != nil {
		t.Fatalf("page(no-such-page): ok %v, err %v; want not found", ok, err)
	}
	if _, ok, _ := ps.page(i18n.English, "layout"); ok {
		t.Fatal("the layout is served as a page")
	}
}
