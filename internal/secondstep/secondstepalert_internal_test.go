package secondstep

import (
	"slices"
	"testing"

	"github.com/sellerguard/sellerguard/internal/store"
)

// The sign-in answer and the second-step page offer the strongest method
// first, whatever order the methods were added in; backup codes come last.
func TestMethodKindsStrongestFirst(t *testing.T) {
	ms := []store.TwoStepMethod{{Kind: "voice"}, {Kind: "sms"}, {Kind: "totp"}, {Kind: "sms"}, {Kind: "passkey"}}
	got := methodKinds(ms, 3)
	if want := []string{"passkey", "totp", "sms", "voice", "backup_codes"}; !slices.Equal(got, want) {
		t.Fatalf("methodKinds = %q, want %q", got, want)
	}
	if got := methodKinds([]store.TwoStepMethod{{Kind: "sms"}, {Kind: "totp"}}, 0); !slices.Equal(got, []string{"totp", "sms"}) {
		t.Fatalf("methodKinds = %q, want the app before the text message", got)
	}
}
