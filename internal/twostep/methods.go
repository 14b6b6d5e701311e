package twostep

// Method kinds.
const (
	KindTOTP    = "totp"
	KindSMS     = "sms"
	KindVoice   = "voice"
	KindPasskey = "passkey"
	KindBackup  = "backup_codes"
)

// Method is an enrolled, confirmed second-step method as the rules see it.
type Method struct {
	ID    string
	Kind  string
	Phone string // for sms/voice: the number (decrypted), to tell two phones apart
}

// Protection says how well an account is protected by its methods.
type Protection struct {
	Enrolled   bool     // at least one method: two-step verification is on
	Full       bool     // a primary method and an independent backup
	Missing    []string // what to add for full protection, in words
	BackupLeft int
}

// Assess applies the marketplace's rule: a primary method (authenticator
// app, passkey, or phone) plus an independent backup (backup codes, or a
// second method of another kind or another phone). One authenticator app is
// never both; two phones must differ.
func Assess(methods []Method, backupCodesLeft int) Protection {
	p := Protection{BackupLeft: backupCodesLeft}
	primaries := 0
	phones := map[string]bool{}
	kinds := map[string]int{}
	for _, m := range methods {
		switch m.Kind {
		case KindSMS, KindVoice:
			if phones[m.Phone] {
				continue // the same phone twice is one method
			}
			phones[m.Phone] = true
			kinds["phone"]++
			primaries++
		case KindTOTP, KindPasskey:
			kinds[m.Kind]++
			primaries++
		}
	}
	p.Enrolled = primaries > 0
	independent := backupCodesLeft > 0 || primaries >= 2 && (len(phones) >= 2 || len(kinds) >= 2 || kinds[KindPasskey] >= 2)
	switch {
	case primaries == 0:
		p.Missing = append(p.Missing, "a primary method: an authenticator app, a passkey or a text-message phone")
		if backupCodesLeft == 0 {
			p.Missing = append(p.Missing, "a backup: backup codes, or a second method of another kind")
		}
	case !independent:
		p.Missing = append(p.Missing, "a backup: backup codes, or a second method of another kind or another phone")
	}
	p.Full = primaries > 0 && independent
	return p
}
