package outbox

import (
	"bytes"
	"html/template"
	"strings"

	"github.com/sellerguard/sellerguard/internal/i18n"
)

// htmlEmail is the HTML alternative of every email: the same text, escaped
// by html/template, with the anti-phishing phrase (the first paragraph)
// set apart, and the page's lang that of the header. The HTML has no
// words of its own to translate: the subject and the text are already in
// the reader's language. It has no links, no images and no remote content.
var htmlEmail = template.Must(template.New("email").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family:system-ui,Segoe UI,Roboto,sans-serif;color:#1d2330;max-width:40rem;margin:1rem auto;line-height:1.5">
{{with .Phrase}}<div style="border:2px solid #0b5fff;border-radius:6px;padding:.6rem .9rem;margin-bottom:1rem">{{.}}</div>{{end}}
{{range .Paragraphs}}<p style="white-space:pre-wrap;margin:0 0 1rem">{{.}}</p>
{{end}}</body></html>`))

// opening reports whether text starts with the anti-phishing header of
// language l.
func opening(l i18n.Lang, text string) bool {
	for _, k := range []string{"email.phrase.header", "email.phrase.none"} {
		t := i18n.Default().T(l, k, "Phrase", "")
		if i := strings.IndexAny(t, ":：\n"); i > 0 {
			t = t[:i]
		}
		if strings.HasPrefix(text, t) {
			return true
		}
	}
	return false
}

// HTMLBody renders the HTML alternative of a text email.
func HTMLBody(subject, text string) (string, error) {
	paras := strings.Split(strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n")), "\n\n")
	data := struct {
		Lang       string
		Subject    string
		Phrase     string
		Paragraphs []string
	}{Lang: string(i18n.English), Subject: subject}
	// The header, in the language the email was written in, tells the
	// language of the whole page.
	if len(paras) > 0 {
		for _, l := range i18n.Supported {
			if opening(l, paras[0]) {
				data.Phrase, data.Lang, paras = paras[0], string(l), paras[1:]
				break
			}
		}
	}
	data.Paragraphs = paras
	var b bytes.Buffer
	if err := htmlEmail.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}
