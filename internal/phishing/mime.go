package phishing

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/transform"
)

// maxFieldBytes bounds the unfolded value kept of one header field.
const maxFieldBytes = 64 << 10

// headerField is one unfolded header field, in message order.
type headerField struct {
	name  string // as written
	value string // unfolded, raw (not decoded)
}

type headerBlock []headerField

// get returns the first value of the named field ("" if absent).
func (h headerBlock) get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.name, name) {
			return f.value
		}
	}
	return ""
}

// all returns every value of the named field, top to bottom.
func (h headerBlock) all(name string) []string {
	var vs []string
	for _, f := range h {
		if strings.EqualFold(f.name, name) {
			vs = append(vs, f.value)
		}
	}
	return vs
}

type rawLink struct {
	text string
	href string
}

type rawAttachment struct {
	filename    string
	contentType string
	data        []byte
}

// parsedMessage is what the walker found in a message.
type parsedMessage struct {
	header       headerBlock
	from         string // decoded From field
	subject      string // decoded
	messageID    string
	text         strings.Builder // decoded text of all text parts, HTML as text
	links        []rawLink
	linksDropped int
	attachments  []rawAttachment
	forwarded    []byte // the first message/rfc822 part, decoded
}

// walker walks a MIME tree within the bounds of cfg.
type walker struct {
	ctx   context.Context
	cfg   Config
	parts int
	msg   *parsedMessage
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charsetReader}

func charsetReader(charset string, r io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return nil, err
	}
	return transform.NewReader(r, enc.NewDecoder()), nil
}

// decodeHeader decodes RFC 2047 encoded words; undecodable input is kept.
func decodeHeader(v string) string {
	d, err := wordDecoder.DecodeHeader(v)
	if err != nil {
		return v
	}
	return d
}

// splitHeader parses the header block at the start of data and returns it
// with the body. strict (the top level) refuses data that does not start
// with a header field.
func splitHeader(data []byte, maxHeaders int, strict bool) (headerBlock, []byte, error) {
	var (
		h     headerBlock
		value []byte // the value of the field being read, unfolded
	)
	flush := func() {
		if len(h) > 0 && value != nil {
			h[len(h)-1].value = strings.TrimSpace(string(value))
		}
		value = nil
	}
	rest := data
	first := true
	for len(rest) > 0 {
		line, next := cutLine(rest)
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(trimmed) == 0 { // end of the header block
			flush()
			return h, next, nil
		}
		if first && strict && bytes.HasPrefix(trimmed, []byte("From ")) { // mbox separator
			rest, first = next, false
			continue
		}
		if trimmed[0] == ' ' || trimmed[0] == '\t' {
			if len(h) == 0 {
				if strict {
					return nil, nil, refuse(ECodeNotAMessage, "the text does not start with header fields")
				}
				return h, rest, nil
			}
			if len(value) < maxFieldBytes {
				value = append(value, ' ')
				value = append(value, bytes.TrimSpace(trimmed)...)
			}
			rest = next
			continue
		}
		name, v, ok := bytes.Cut(trimmed, []byte(":"))
		if !ok || !validFieldName(name) {
			if strict && len(h) == 0 {
				return nil, nil, refuse(ECodeNotAMessage, "the text does not start with header fields")
			}
			// A broken line ends the header block; the rest is body.
			flush()
			return h, rest, nil
		}
		if len(h) >= maxHeaders {
			return nil, nil, refuse(ECodeTooManyHeaders, "a header has more than %d fields", maxHeaders)
		}
		flush()
		h = append(h, headerField{name: string(name)})
		value = append([]byte{}, v...)
		rest, first = next, false
	}
	flush()
	return h, nil, nil
}

func cutLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i+1], b[i+1:]
	}
	return b, nil
}

func validFieldName(b []byte) bool {
	if len(b) == 0 || len(b) > 100 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// walkMessage parses raw and walks its MIME tree.
func walkMessage(ctx context.Context, raw []byte, cfg Config) (*parsedMessage, error) {
	h, body, err := splitHeader(raw, cfg.MaxHeaders, true)
	if err != nil {
		return nil, err
	}
	if !looksLikeMessage(h) {
		return nil, refuse(ECodeNotAMessage, "the text has none of the header fields of an email (From, Subject, Date, Message-ID, Received)")
	}
	m := &parsedMessage{header: h}
	m.from = decodeHeader(h.get("From"))
	m.subject = decodeHeader(h.get("Subject"))
	m.messageID = strings.TrimSpace(h.get("Message-ID"))
	w := &walker{ctx: ctx, cfg: cfg, msg: m}
	if err := w.walk(h, body, 0); err != nil {
		return nil, err
	}
	return m, nil
}

func looksLikeMessage(h headerBlock) bool {
	for _, name := range []string{"From", "Subject", "Date", "Message-ID", "Received"} {
		if h.get(name) != "" {
			return true
		}
	}
	return false
}

// walk visits one entity (header and body) at the given depth.
func (w *walker) walk(h headerBlock, body []byte, depth int) error {
	if err := ctxErr(w.ctx); err != nil {
		return err
	}
	w.parts++
	if w.parts > w.cfg.MaxParts {
		return refuse(ECodeTooManyParts, "the message has more than %d MIME parts", w.cfg.MaxParts)
	}
	if depth > w.cfg.MaxDepth {
		return refuse(ECodeTooDeep, "the message nests MIME parts more than %d levels deep", w.cfg.MaxDepth)
	}
	mediaType, params, err := mime.ParseMediaType(h.get("Content-Type"))
	if err != nil || mediaType == "" {
		mediaType, params = "text/plain", map[string]string{}
	}
	disposition, dparams, _ := mime.ParseMediaType(h.get("Content-Disposition"))
	filename := decodeHeader(dparams["filename"])
	if filename == "" {
		filename = decodeHeader(params["name"])
	}

	if strings.HasPrefix(mediaType, "multipart/") {
		boundary := params["boundary"]
		if boundary == "" {
			w.addText(string(body)) // broken multipart: read as text
			return nil
		}
		return w.walkMultipart(body, boundary, depth)
	}

	data := decodeTransfer(h.get("Content-Transfer-Encoding"), body)
	if mediaType == "message/rfc822" || mediaType == "message/global" {
		if w.msg.forwarded == nil {
			w.msg.forwarded = data
		}
		nh, nbody, err := splitHeader(data, w.cfg.MaxHeaders, false)
		if err != nil {
			return err
		}
		w.addText(decodeHeader(nh.get("Subject")))
		return w.walk(nh, nbody, depth+1)
	}

	isAttachment := strings.EqualFold(disposition, "attachment") ||
		(filename != "" && !strings.HasPrefix(mediaType, "text/")) ||
		(!strings.HasPrefix(mediaType, "text/") && !strings.HasPrefix(mediaType, "image/"))
	if isAttachment || filename != "" && !strings.EqualFold(disposition, "inline") {
		w.msg.attachments = append(w.msg.attachments, rawAttachment{filename: filename, contentType: mediaType, data: data})
	}
	switch mediaType {
	case "text/plain", "text/html":
		text := decodeCharset(w.ctx, params["charset"], data)
		if mediaType == "text/html" {
			w.walkHTML(text)
		} else {
			w.addText(text)
			links, dropped := extractTextLinks(w.ctx, text, maxLinks-len(w.msg.links))
			w.msg.links = append(w.msg.links, links...)
			w.msg.linksDropped += dropped
		}
	}
	return nil
}

func (w *walker) walkMultipart(body []byte, boundary string, depth int) error {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		if err := ctxErr(w.ctx); err != nil {
			return err
		}
		p, err := mr.NextRawPart()
		if err != nil {
			return nil // io.EOF or a malformed tail: what was read stands
		}
		if n := countHeader(p.Header); n > w.cfg.MaxHeaders {
			return refuse(ECodeTooManyHeaders, "a MIME part has more than %d header fields", w.cfg.MaxHeaders)
		}
		pbody, err := io.ReadAll(p)
		if err != nil && len(pbody) == 0 {
			return nil
		}
		var ph headerBlock
		for name, values := range p.Header {
			for _, v := range values {
				ph = append(ph, headerField{name: name, value: v})
			}
		}
		if err := w.walk(ph, pbody, depth+1); err != nil {
			return err
		}
	}
}

func countHeader(h textproto.MIMEHeader) int {
	n := 0
	for _, vs := range h {
		n += len(vs)
	}
	return n
}

func (w *walker) addText(s string) {
	w.msg.text.WriteString(s)
	w.msg.text.WriteByte('\n')
}

// TransferDecoder undoes a Content-Transfer-Encoding (base64 with its line
// breaks, quoted-printable) as r is read; other encodings pass through. The
// email check and the report intake read parts with it.
func TransferDecoder(cte string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, lineJoiner{r})
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}

// lineJoiner drops CR and LF, for base64 bodies.
type lineJoiner struct{ r io.Reader }

func (n lineJoiner) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, b := range p[:k] {
			if b != '\r' && b != '\n' {
				p[j] = b
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// decodeTransfer undoes a Content-Transfer-Encoding of a whole body,
// keeping what decodes when the encoding is broken (the analysis reads
// what an attacker sent, however malformed).
func decodeTransfer(cte string, body []byte) []byte {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		clean := make([]byte, 0, len(body))
		for _, c := range body {
			if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
				clean = append(clean, c)
			}
		}
		out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
		n, err := base64.StdEncoding.Decode(out, clean)
		if err != nil {
			// Decode what precedes the first bad byte (unpadded tails too).
			n, _ = base64.RawStdEncoding.Decode(out, bytes.TrimRight(clean[:len(clean)/4*4], "="))
		}
		return out[:n]
	case "quoted-printable":
		out, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		return out
	}
	return body
}

// decodeCharset converts text in the named charset to UTF-8; unknown
// charsets are read as they are. It decodes in pieces, checking ctx.
func decodeCharset(ctx context.Context, charset string, data []byte) string {
	cs := strings.ToLower(strings.TrimSpace(charset))
	if cs == "" || cs == "utf-8" || cs == "us-ascii" || cs == "utf8" {
		return string(data)
	}
	enc, err := htmlindex.Get(cs)
	if err != nil {
		return string(data)
	}
	r := transform.NewReader(bytes.NewReader(data), enc.NewDecoder())
	var out bytes.Buffer
	buf := make([]byte, 32<<10)
	for ctx.Err() == nil {
		n, err := r.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			if err != io.EOF && out.Len() == 0 {
				return string(data)
			}
			break
		}
	}
	return out.String()
}

// walkHTML extracts the visible text and the links of an HTML part.
func (w *walker) walkHTML(doc string) {
	text, links, dropped := extractHTML(w.ctx, doc, maxLinks-len(w.msg.links))
	w.addText(text)
	w.msg.links = append(w.msg.links, links...)
	w.msg.linksDropped += dropped
}

// maxHTMLAttrs bounds the attributes read of one tag.
const maxHTMLAttrs = 64

// extractHTML returns the visible text of an HTML document and its links
// (a and area href with their text, form action, meta refresh), at most
// limit of them, and how many more there were. It only tokenizes: nothing
// is fetched, no script runs.
func extractHTML(ctx context.Context, doc string, limit int) (string, []rawLink, int) {
	z := html.NewTokenizer(strings.NewReader(doc))
	z.SetMaxBuf(len(doc) + 4096)
	var (
		text     strings.Builder
		links    []rawLink
		dropped  int
		skip     int // inside script, style
		inAnchor = -1
		anchor   strings.Builder
	)
	add := func(l rawLink) int {
		if len(links) >= limit {
			dropped++
			return -1
		}
		links = append(links, l)
		return len(links) - 1
	}
	closeAnchor := func() {
		if inAnchor >= 0 {
			links[inAnchor].text = strings.Join(strings.Fields(anchor.String()), " ")
		}
		inAnchor = -1
		anchor.Reset()
	}
	for tokens := 0; ; tokens++ {
		if tokens%4096 == 0 && ctx.Err() != nil {
			return text.String(), links, dropped
		}
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			closeAnchor()
			return text.String(), links, dropped
		case html.TextToken:
			if skip > 0 {
				continue
			}
			t := string(z.Text())
			text.WriteString(t)
			if inAnchor >= 0 && anchor.Len() < 1024 {
				anchor.WriteString(t)
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			attrs := map[string]string{}
			for n := 0; hasAttr && n < maxHTMLAttrs; n++ {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				if _, seen := attrs[string(k)]; !seen {
					attrs[string(k)] = string(v)
				}
			}
			if tt == html.EndTagToken {
				switch tag {
				case "script", "style":
					if skip > 0 {
						skip--
					}
				case "a":
					closeAnchor()
				case "p", "div", "tr", "li", "h1", "h2", "h3", "td", "table":
					text.WriteByte('\n')
				}
				continue
			}
			switch tag {
			case "script", "style":
				if tt == html.StartTagToken {
					skip++
				}
			case "br", "p", "div", "tr", "li":
				text.WriteByte('\n')
			case "a", "area":
				if tag == "a" {
					closeAnchor()
				}
				if href, ok := attrs["href"]; ok && strings.TrimSpace(href) != "" {
					i := add(rawLink{href: strings.TrimSpace(href), text: strings.TrimSpace(attrs["alt"])})
					if tag == "a" && tt == html.StartTagToken {
						inAnchor = i
					}
				}
			case "img":
				if inAnchor >= 0 && attrs["alt"] != "" {
					anchor.WriteString(" " + attrs["alt"] + " ")
				}
			case "form":
				if action := strings.TrimSpace(attrs["action"]); action != "" {
					add(rawLink{href: action, text: ""})
				}
			case "meta":
				if strings.EqualFold(attrs["http-equiv"], "refresh") {
					c := attrs["content"]
					// Index in c itself: strings.ToLower may change the
					// length of text that is not valid UTF-8.
					if i := indexFoldASCII(c, "url="); i >= 0 {
						add(rawLink{href: strings.Trim(strings.TrimSpace(c[i+4:]), `'"`)})
					}
				}
			}
		}
	}
}

// indexFoldASCII is the index of the ASCII word sub in s, ignoring ASCII
// case, or -1; the index is into s as given, whatever bytes it holds.
func indexFoldASCII(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
