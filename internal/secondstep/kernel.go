package secondstep

import (
	"github.com/sellerguard/sellerguard/internal/session"
)

// Service holds the second-step rules on the shared base (session.Service).
type Service struct {
	*session.Service
	// ExtraSecondSteps verify the kinds of second step that live in other
	// files or packages (SMS, passkeys), by kind.
	ExtraSecondSteps map[string]CodeVerifier
}

// SMSText is the text of a code sent by SMS or read by voice, in a language.
func SMSText(lang, code string) string { return smsText(lang, code) }
