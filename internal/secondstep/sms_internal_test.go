package secondstep

import (
	"testing"

	"github.com/sellerguard/sellerguard/internal/session"

	"github.com/sellerguard/sellerguard/internal/i18n"
)

// The English of the message files is the English the code keeps for
// callers that write it themselves.
func TestCatalogueEnglishMatchesTheConstants(t *testing.T) {
	t.Parallel()
	c := i18n.Default()
	if c.T(i18n.English, "email.footer") != session.SafetyFooter {
		t.Error("email.footer differs from SafetyFooter")
	}
	if c.T(i18n.English, "sms.warning") != SMSWarning {
		t.Error("sms.warning differs from SMSWarning")
	}
	if smsText("en", "123456") != "SellerGuard code: 123456. Valid 10 minutes. SellerGuard never calls or texts you to ask for this code: never tell it to anyone." {
		t.Errorf("English code text: %q", smsText("en", "123456"))
	}
}
