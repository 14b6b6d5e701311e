package outbox

// Opening lines of the anti-phishing header (HTMLBody sets them apart).
const (
	phrasePrefix   = "Your anti-phishing phrase:"
	noPhrasePrefix = "You have not chosen an anti-phishing phrase"
)

// PhraseHeader opens every email SellerGuard sends: the recipient's own
// anti-phishing phrase, which a phisher cannot know (or, without one, how to
// choose it). The one definition for every sender of email.
func PhraseHeader(phrase string) string {
	if phrase == "" {
		return noPhrasePrefix + " yet. Choose one in your SellerGuard\n" +
			"account settings: every email from us will then start with it, so you can tell\n" +
			"our emails from fakes.\n\n"
	}
	return phrasePrefix + " \u00ab" + phrase + "\u00bb\n" +
		"Every email from SellerGuard starts with it. If it is missing or wrong, this email\n" +
		"is not from us: do not click anything in it.\n\n"
}
