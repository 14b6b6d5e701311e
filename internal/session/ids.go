package session

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewID returns an opaque random id with a readable prefix ("usr_…"): 128
// bits from crypto/rand, so nothing can be counted or guessed from it.
func NewID(prefix string) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return prefix + "_" + strings.ToLower(idEncoding.EncodeToString(b))
}
