package outbox

import (
	"bytes"
	"html/template"
	"strings"
)

// htmlEmail is the HTML alternative of every email: the same text, escaped
// by html/template, with the anti-phishing phrase (the first paragraph)
// set apart. It has no links, no images and no remote content.
var htmlEmail = template.Must(template.New("email").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family:system-ui,Segoe UI,Roboto,sans-serif;color:#1d2330;max-width:40rem;margin:1rem auto;line-height:1.5">
{{with .Phrase}}<div style="border:2px solid #0b5fff;border-radius:6px;padding:.6rem .9rem;margin-bottom:1rem">{{.}}</div>{{end}}
{{range .Paragraphs}}<p style="white-space:pre-wrap;margin:0 0 1rem">{{.}}</p>
{{end}}</body></html>`))

// HTMLBody renders the HTML alternative of a text email.
func HTMLBody(subject, text string) (string, error) {
	paras := strings.Split(strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n")), "\n\n")
	data := struct {
		Subject    string
		Phrase     string
		Paragraphs []string
	}{Subject: subject}
	if len(paras) > 0 && (strings.HasPrefix(paras[0], phrasePrefix) || strings.HasPrefix(paras[0], noPhrasePrefix)) {
		data.Phrase, paras = paras[0], paras[1:]
	}
	data.Paragraphs = paras
	var b bytes.Buffer
	if err := htmlEmail.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}
