package web

import (
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/i18n"
)

// The findings of the email check and the phishing analysis are written
// from formats, and the pages find each in the message files (one key per
// text: the mail check's through err.mailcheck.*, the analysis's through
// mailcheck.text.*), so a Chinese reader sees them in Chinese with the
// domain or address kept.
func TestMailFindingsAreTranslatedOnPages(t *testing.T) {
	for _, en := range []string{
		"the sender domain examp1e.com is a slight misspelling of the platform's name",
		"the link domain xn--exmple-cua.com (shown as exämple.com) is an international (punycode) name",
		"the sender's name says SellerGuard but the address is not on the platform's domain",
		"a link runs code or opens local content (javascript:) instead of a web page",
		"a link shows sellerguard.example but goes to evil.example",
		"replies would go to evil.example, not to the sender's domain",
		"It carries SellerGuard's valid signature (DKIM): we signed it, and nothing signed was changed since.",
		"It was sent to you.",
	} {
		zh := knownText(i18n.Chinese, en)
		if zh == en || strings.Contains(zh, "domain") || strings.Contains(zh, "link") {
			t.Errorf("not translated: %q → %q", en, zh)
		}
		for _, data := range []string{"examp1e.com", "exämple.com", "javascript:", "evil.example"} {
			if strings.Contains(en, data) && !strings.Contains(zh, data) {
				t.Errorf("%q lost %q: %q", en, data, zh)
			}
		}
	}
}
