package outbox

import (
	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/i18n"
)

// PhraseHeader opens every email SellerGuard sends: the recipient's own
// anti-phishing phrase, which a phisher cannot know (or, without one, how to
// choose it). The one definition for every sender of email.
func PhraseHeader(phrase string) string {
	return PhraseHeaderIn(string(i18n.English), phrase)
}

// PhraseHeaderIn is PhraseHeader in language lang (email.phrase.* in the
// message files).
func PhraseHeaderIn(lang, phrase string) string {
	l := i18n.OrDefault(lang)
	if phrase == "" {
		return i18n.Default().T(l, "email.phrase.none") + "\n\n"
	}
	return i18n.Default().T(l, "email.phrase.header", "Phrase", "\u00ab"+phrase+"\u00bb") + "\n\n"
}

// Localize writes m in lang when it carries its Texts (see
// sellerguard.OutboxMessage): Subject and Body from the catalogue, and
// Texts cleared so that nothing renders it twice. A message without Texts
// is returned as it is.
func Localize(m sellerguard.OutboxMessage, lang string) sellerguard.OutboxMessage {
	if m.Texts == nil {
		return m
	}
	m.Subject, m.Body = m.Texts.Render(string(i18n.OrDefault(lang)))
	m.Texts = nil
	return m
}
