package account

import (
	"github.com/sellerguard/sellerguard/internal/secondstep"
	"github.com/sellerguard/sellerguard/internal/session"
)

// Service holds the account rules on the shared base (session.Service: the
// store, keys, clock, cache, limits and message sending every rule uses).
type Service struct {
	*session.Service
}

// smsText is the text of a code sent by SMS (internal/secondstep's).
func smsText(lang, code string) string { return secondstep.SMSText(lang, code) }
