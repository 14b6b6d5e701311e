package account

import (
	"context"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/i18n"
	"github.com/sellerguard/sellerguard/internal/store"
)

// SetLanguage saves the language the user chose for pages, emails and text
// messages ("en" or "zh-CN"). It is a setting, not a security change: it is
// audited, and no notice is sent.
func (s *Service) SetLanguage(ctx context.Context, p *Principal, lang string, meta RequestMeta) (i18n.Lang, error) {
	l, ok := i18n.Parse(lang)
	if !ok {
		return "", sellerguard.Invalid(sellerguard.FieldError{Field: "language", Code: "unsupported_language", Message: "Choose en (English) or zh-CN (Simplified Chinese)."})
	}
	if p.User.Language == string(l) {
		return l, nil
	}
	now := s.now()
	err := s.DB.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetLanguage(ctx, p.User.ID, string(l)); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, now, audit.Entry{SubjectID: p.User.ID, ActorID: p.User.ID, ActorEmail: p.User.Email, IP: meta.IP, UserAgent: meta.UserAgent,
			Action: "account.language_changed", Category: sellerguard.CategoryAccount, TargetType: "user", TargetID: p.User.ID,
			Before: map[string]any{"language": p.User.Language}, After: map[string]any{"language": string(l)}}); err != nil {
			return err
		}
		return s.Cache.Revoke(ctx, tx, p.User.ID) // other instances reload the user
	})
	if err != nil {
		return "", err
	}
	p.User.Language = string(l)
	return l, nil
}
