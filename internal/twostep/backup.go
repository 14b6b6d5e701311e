package twostep

import (
	"crypto/rand"
	"strings"
)

// Backup codes.
const (
	BackupCodeCount = 10
	backupCodeBytes = 10 // 80 bits
)

// NewBackupCodes returns BackupCodeCount fresh codes, formatted for people:
// 16 base32 characters in groups of four ("ABCD-EFGH-IJKL-MNOP").
func NewBackupCodes() ([]string, error) {
	out := make([]string, BackupCodeCount)
	for i := range out {
		b := make([]byte, backupCodeBytes)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		s := b32.EncodeToString(b)
		out[i] = s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
	}
	return out, nil
}

// NormalizeBackupCode accepts a code as people type it: any case, with or
// without dashes and spaces, and the digits 0/1/8 for the look-alike letters
// O/I/B that base32 does not use (base32 has no 0, 1 or 8). "" when it cannot
// be a backup code.
func NormalizeBackupCode(code string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(code) {
		switch {
		case r == '-' || r == ' ':
		case r == '0':
			b.WriteRune('O')
		case r == '1':
			b.WriteRune('I')
		case r == '8':
			b.WriteRune('B')
		case (r >= 'A' && r <= 'Z') || (r >= '2' && r <= '7'):
			b.WriteRune(r)
		default:
			return ""
		}
	}
	if b.Len() != 16 {
		return ""
	}
	return b.String()
}
