package secondstep

import (
	"context"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/session"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// EventSecondStepFailed (internal/session) is the event of the alert.
const EventSecondStepFailed = session.EventSecondStepFailed

// SecondStepAlertAfter is how many wrong second-step codes in a row, after
// a right password, email the user. The count is the account's second-step
// counter ("2fa:<user>", internal/limiter): it runs across sign-in attempts
// (a partial session ends after MaxSecondStepErrors, and signing in again
// does not reset it), is cleared by a finished second step, and forgets
// after FailureMemory (24 h) without a wrong code. The email goes when the
// count reaches this number exactly, so one run of wrong codes sends one
// email however long it goes on; a later run (after a right code, or a
// quiet day) sends another.
const SecondStepAlertAfter = 5

// secondStepFailed is called, in the transaction that counts a wrong
// second-step code, with the account counter after the count: at the
// alert threshold it writes the audit event and queues the email.
func (s *Service) secondStepFailed(ctx context.Context, tx *store.Tx, p *Principal, method string, failures int, meta RequestMeta, now time.Time) error {
	if failures != SecondStepAlertAfter {
		return nil
	}
	switch method { // the method is what the client said: keep known kinds only
	case twostep.KindTOTP, twostep.KindSMS, twostep.KindVoice, twostep.KindBackup:
	default:
		method = "other"
	}
	if err := audit.Append(ctx, tx, now, audit.Entry{
		SubjectID: p.User.ID, IP: meta.IP, UserAgent: meta.UserAgent,
		Action: "account.second_step_failures_alerted", Category: sellerguard.CategoryAccount, TargetType: "user", TargetID: p.User.ID,
		After: map[string]any{"wrong_codes": failures, "method": method, "last_from": meta.IP},
	}); err != nil {
		return err
	}
	return s.sendEmail(ctx, tx, now, tmail(EventSecondStepFailed, p.User.Email, "email.second_step_failed",
		"Wrong", failures, "Method", msgKey(secondStepMethodKey(method)), "When", now, "IP", meta.IP, "BaseURL", s.Config.BaseURL))
}

// secondStepMethodKey names a kind of second step for people.
func secondStepMethodKey(method string) string {
	switch method {
	case twostep.KindSMS, twostep.KindVoice:
		return "email.second_step_failed.method.sms"
	case twostep.KindBackup:
		return "email.second_step_failed.method.backup_codes"
	case twostep.KindTOTP:
		return "email.second_step_failed.method.totp"
	}
	return "email.second_step_failed.method.other"
}
