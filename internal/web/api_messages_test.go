package web

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/sellerguard/sellerguard/internal/i18n"
)

// Every success "message" an API handler writes is in the message files,
// so answerIn gives it in Chinese: the scan finds the literals and the
// constants the handlers put there.
func TestAPIMessagesAreCatalogued(t *testing.T) {
	files, err := filepath.Glob("api*.go")
	if err != nil {
		t.Fatal(err)
	}
	field := regexp.MustCompile(`"message":\s*("(?:[^"\\]|\\.)*"|[A-Za-z_]\w*)`)
	constant := regexp.MustCompile(`(?m)^const (\w+) = ("(?:[^"\\]|\\.)*")`)
	consts := map[string]string{}
	var srcs []string
	for _, f := range files {
		if filepath.Ext(f) != ".go" || len(f) > 8 && f[len(f)-8:] == "_test.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, string(b))
		for _, m := range constant.FindAllStringSubmatch(string(b), -1) {
			consts[m[1]], _ = strconv.Unquote(m[2])
		}
	}
	n := 0
	for _, src := range srcs {
		for _, m := range field.FindAllStringSubmatch(src, -1) {
			text, err := strconv.Unquote(m[1])
			if err != nil {
				var ok bool
				if text, ok = consts[m[1]]; !ok {
					continue // a value made at run time (tr, a variable): translated where it is made
				}
			}
			n++
			if zh := apiMessageTexts.In(i18n.Chinese, text); zh == text {
				t.Errorf("API message not in the message files: %q", text)
			}
		}
	}
	if n < 12 {
		t.Fatalf("the scan found only %d messages", n)
	}
}
