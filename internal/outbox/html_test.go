package outbox

import (
	"strings"
	"testing"
)

func TestHTMLBodyEscapesAndSetsThePhraseApart(t *testing.T) {
	text := "Your anti-phishing phrase: «blue <b>kettle</b>»\nEvery email starts with it.\n\nHello <script>alert(1)</script> & welcome.\n\n--\nfooter"
	h, err := HTMLBody("Hi <there>", text)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>", "<b>kettle</b>", "<there>", "href=", "<img"} {
		if strings.Contains(h, bad) {
			t.Errorf("HTML contains %q:\n%s", bad, h)
		}
	}
	for _, want := range []string{"&lt;script&gt;", "blue &lt;b&gt;kettle&lt;/b&gt;", "border:2px solid", "&amp; welcome"} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML lacks %q:\n%s", want, h)
		}
	}
}
