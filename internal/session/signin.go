package session

import (
	"context"
	"slices"
	"time"

	"github.com/sellerguard/sellerguard/internal/store"
	"github.com/sellerguard/sellerguard/internal/twostep"
)

// protectionOf reads a user's confirmed methods and backup codes.
func protectionOf(ctx context.Context, q protectionReader, userID string) (twostep.Protection, []store.TwoStepMethod, error) {
	return protection(ctx, q, userID, true)
}

// protectionReader reads what protectionOf needs.
type protectionReader interface {
	ListMethods(context.Context, string) ([]store.TwoStepMethod, error)
	CountBackupCodesLeft(context.Context, string) (int, error)
}

// protection is protectionOf; without countAlways the backup codes are
// counted only when a method is confirmed. A password sign-in asks it so:
// most users who sign in have no second step, and then their backup codes
// change nothing it decides (no second step to ask for, no backup missing
// from one), so it skips a read.
func protection(ctx context.Context, q protectionReader, userID string, countAlways bool) (twostep.Protection, []store.TwoStepMethod, error) {
	ms, err := q.ListMethods(ctx, userID)
	if err != nil {
		return twostep.Protection{}, nil, err
	}
	left := 0
	if countAlways || slices.ContainsFunc(ms, func(m store.TwoStepMethod) bool { return m.Confirmed }) {
		if left, err = q.CountBackupCodesLeft(ctx, userID); err != nil {
			return twostep.Protection{}, nil, err
		}
	}
	prot, confirmed := assess(ms, left)
	return prot, confirmed, nil
}

// assess judges the protection of a user's methods (ListMethods) and
// unused backup codes, and returns the confirmed methods.
func assess(ms []store.TwoStepMethod, backupLeft int) (twostep.Protection, []store.TwoStepMethod) {
	var confirmed []store.TwoStepMethod
	var rules []twostep.Method
	for _, m := range ms {
		if m.Confirmed {
			confirmed = append(confirmed, m)
			rules = append(rules, twostep.Method{ID: m.ID, Kind: m.Kind, Phone: m.Data})
		}
	}
	return twostep.Assess(rules, backupLeft), confirmed
}

// methodKinds lists the second steps a user can use now, for the sign-in
// answer, strongest first (strength): clients and the second-step
// page offer the first one.
func methodKinds(ms []store.TwoStepMethod, backupLeft int) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range ms {
		if !seen[m.Kind] {
			seen[m.Kind] = true
			out = append(out, m.Kind)
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return strength(a) - strength(b) })
	if backupLeft > 0 {
		out = append(out, twostep.KindBackup)
	}
	return out
}

// strength orders the kinds of second step, strongest first: a passkey
// (phishing-resistant), an authenticator app, a text message, a call;
// anything else after them. Backup codes are a fallback, never offered first.
func strength(kind string) int {
	switch kind {
	case twostep.KindPasskey:
		return 0
	case twostep.KindTOTP:
		return 1
	case twostep.KindSMS:
		return 2
	case twostep.KindVoice:
		return 3
	}
	return 4
}

// breachVerdict is what the breach checkers said of a password at sign-in.
type breachVerdict struct {
	breached bool // found: the password must change
	unknown  bool // a checker could not answer: check again next time
}

// breachAtSignIn asks the breach checkers (the index and, if configured,
// the range API) about a password just verified, before any transaction
// opens: the range API may take up to its timeout.
func (s *Service) breachAtSignIn(ctx context.Context, pw string) breachVerdict {
	if s.Breached == nil {
		return breachVerdict{}
	}
	bad, err := s.Breached.Breached(ctx, pw)
	return breachVerdict{breached: bad, unknown: !bad && err != nil}
}

// afterPasswordSignIn marks a password that must change: one found breached
// (in the index or by the range API), or one older than a business allows.
// A password the range API could not check is marked for the next sign-in;
// one it checked is unmarked. The pending change and the businesses'
// maximum age are su's, read with the user before the hash.
func (s *Service) afterPasswordSignIn(ctx context.Context, tx *store.Tx, su store.SignInUser, breach breachVerdict, now time.Time) (string, error) {
	u := su.UserRecord
	if s.Breached != nil {
		if err := tx.SetBreachRecheck(ctx, u.ID, breach.unknown); err != nil {
			return "", err
		}
	}
	if su.MustChangePassword != "" {
		return su.MustChangePassword, nil
	}
	maxAge := su.MaxPasswordAgeDays
	reason := ""
	switch {
	case breach.breached:
		reason = MustChangeBreached
	case maxAge > 0 && now.Sub(u.PasswordChangedAt) > time.Duration(maxAge)*24*time.Hour:
		reason = MustChangeExpired
	}
	if reason != "" {
		if err := tx.SetMustChangePassword(ctx, u.ID, reason); err != nil {
			return "", err
		}
	}
	return reason, nil
}
