package account

import (
	"context"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// SecureMyAccountLine ends every sign-in alert email (issue 15).
const SecureMyAccountLine = "If this wasn't you, open SellerGuard by typing its address and choose Secure my account."

// Secured is what SecureAccount did.
type Secured struct {
	PasswordChangedAt        time.Time
	OtherSessionsEnded       int
	TrustedBrowsersForgotten int64
	// BackupCodes are the new codes, shown once (nil when the account has
	// no two-step verification to back up).
	BackupCodes []string
	StepUp      // the caller's new session: the old one ended with the change
}

// SecureAccount is step 2 of "Secure my account", all in one transaction:
// a new password (the policy applies; a recent sign-in stands in for the
// current password), every other session ended, every trusted browser
// forgotten, and new backup codes for an account with two-step
// verification. The caller's own session is replaced by a new one (new
// token), as on every password change. It is audited as "account.secured" and told by the
// password-changed notice, which cannot be switched off.
func (s *Service) SecureAccount(ctx context.Context, p *Principal, next string, meta RequestMeta) (Secured, error) {
	if err := s.RequireRecentAuth(p); err != nil {
		return Secured{}, err
	}
	u, err := s.DB.FindUserByID(ctx, p.User.ID)
	if err != nil {
		return Secured{}, err
	}
	rules, err := s.PasswordRulesFor(ctx, p)
	if err != nil {
		return Secured{}, err
	}
	hash, breachUnverified, err := s.newPassword(ctx, "new_password", u, rules, next)
	if err != nil {
		return Secured{}, err
	}
	var res Secured
	var macs []string
	if p.TwoStep.Enrolled {
		if res.BackupCodes, err = twostep.NewBackupCodes(); err != nil {
			return Secured{}, err
		}
		for _, c := range res.BackupCodes {
			macs = append(macs, s.Keys.MAC("backup-code", u.ID, twostep.NormalizeBackupCode(c)))
		}
	}
	now := s.now()
	err = s.DB.WithUserTx(ctx, p.User.ID, func(tx *store.Tx) error {
		if err := s.storePassword(ctx, tx, u, hash, breachUnverified, now); err != nil {
			return err
		}
		ids, err := tx.DeleteOtherSessions(ctx, u.ID, p.Session.ID)
		if err != nil {
			return err
		}
		res.OtherSessionsEnded = len(ids)
		// A password change replaces the caller's session too (as
		// ChangePassword does): a token captured before never gains the
		// new password's standing.
		if res.StepUp, err = s.replaceSession(ctx, tx, p, p.Session.ReauthAt, meta, now); err != nil {
			return err
		}
		if res.TrustedBrowsersForgotten, err = tx.DeleteAllTrustedBrowsers(ctx, u.ID); err != nil {
			return err
		}
		if macs != nil {
			if err := tx.ReplaceBackupCodes(ctx, u.ID, macs, now); err != nil {
				return err
			}
		}
		if err := audit.Append(ctx, tx, now, audit.Entry{SubjectID: u.ID, ActorID: u.ID, ActorEmail: u.Email, IP: meta.IP, UserAgent: meta.UserAgent,
			Action: "account.secured", Category: sellerguard.CategoryAccount, TargetType: "user", TargetID: u.ID,
			Before: map[string]any{"changed_at": u.PasswordChangedAt},
			After: map[string]any{"changed_at": now, "other_sessions_ended": len(ids), "trusted_browsers_forgotten": res.TrustedBrowsersForgotten,
				"backup_codes_renewed": macs != nil, "session_replaced": p.Session.ID, "session": res.StepUp.Session.ID}}); err != nil {
			return err
		}
		if err := s.Cache.Revoke(ctx, tx, u.ID); err != nil {
			return err
		}
		return s.sendEmail(ctx, tx, now, withEvent(passwordChangedEmail(u.Email, len(ids), meta, now, s.Config.BaseURL), EventPasswordChanged))
	})
	if err != nil {
		return Secured{}, err
	}
	res.PasswordChangedAt = now
	return res, nil
}
