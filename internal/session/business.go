package session

import (
	"context"
	"strings"
	"time"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/audit"
	"github.com/sellerguard/sellerguard/internal/store"
)

// requiresOrNot words a rule turned on or off (key+".on", key+".off").
func requiresOrNot(key string, required bool) msgKey {
	if required {
		return msgKey(key + ".on")
	}
	return msgKey(key + ".off")
}

// businessRuleChanged records, in tx, a change of one of a business's
// security rules: audited as action (before and after), told to the owner
// and user managers (a notice that cannot be switched off), and, when the
// rule decides what members reach (reachesMembers), every member's cached
// session is dropped on every instance so it applies on their next request.
func (s *Service) businessRuleChanged(ctx context.Context, tx *store.Tx, now time.Time, p *Principal, meta RequestMeta, businessID, action string,
	before, after map[string]any, reachesMembers bool, key string, kv ...any) error {
	if err := audit.Append(ctx, tx, now, audit.Entry{BusinessID: businessID, SubjectID: p.User.ID, ActorID: p.User.ID, ActorEmail: p.User.Email,
		IP: meta.IP, UserAgent: meta.UserAgent, Action: action, Category: sellerguard.CategoryBusiness,
		TargetType: "business", TargetID: businessID, Before: before, After: after}); err != nil {
		return err
	}
	if err := s.tellBusiness(ctx, tx, now, businessID, EventBusinessSecurityRules, key, kv...); err != nil {
		return err
	}
	if !reachesMembers {
		return nil
	}
	ids, err := tx.ListMemberIDs(ctx, businessID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.Cache.Revoke(ctx, tx, id); err != nil {
			return err
		}
	}
	return nil
}

// afterBusinessRuleChanged is what follows the commit of a rule change
// (err: the transaction's outcome): this instance's session cache cleared
// when the rule reaches members, and the outbox worker woken.
func (s *Service) afterBusinessRuleChanged(err error, reachesMembers bool) error {
	if err != nil {
		return err
	}
	if reachesMembers {
		s.Cache.InvalidateAll()
	}
	return nil
}

func (s *Service) teamEvent(ctx context.Context, tx *store.Tx, now time.Time, p *Principal, meta RequestMeta, businessID, action, targetType, targetID string, before, after map[string]any) error {
	return audit.Append(ctx, tx, now, audit.Entry{BusinessID: businessID, SubjectID: p.User.ID, ActorID: p.User.ID, ActorEmail: p.User.Email,
		IP: meta.IP, UserAgent: meta.UserAgent, Action: action, Category: sellerguard.CategoryBusiness, TargetType: targetType, TargetID: targetID,
		Before: before, After: after})
}

// tellBusiness tells the owner and the members who manage users of a
// business event (by email; these events cannot be switched off), with the
// message from the files (key, see mailText): each recipient reads it in
// their own language.
func (s *Service) tellBusiness(ctx context.Context, tx *store.Tx, now time.Time, businessID, event, key string, kv ...any) error {
	m := tmail(event, "", key, append(kv, "BaseURL", s.Config.BaseURL)...)
	if s.NotifyBusiness != nil {
		return s.NotifyBusiness(ctx, tx, now, businessID, m)
	}
	ms, err := tx.ListMembers(ctx, businessID)
	if err != nil {
		return err
	}
	for _, mem := range ms {
		if mem.ManagesUsers() {
			mm := m
			mm.To = mem.Email
			if err := s.sendEmail(ctx, tx, now, mm); err != nil {
				return err
			}
		}
	}
	return nil
}

// tellMember tells a member themselves that their access to a business
// changed: a member removed or lowered by someone who took over the owner's
// account learns of it at once. These notices cannot be switched off.
func (s *Service) tellMember(ctx context.Context, tx *store.Tx, now time.Time, to, businessName string, what msgT) error {
	return s.sendEmail(ctx, tx, now, tmail(EventMemberChanged, to, "email.member_access", "Business", businessName, "What", what, "BaseURL", s.Config.BaseURL))
}

func describePermissions(p sellerguard.Permissions) string {
	var parts []string
	for _, a := range sellerguard.Areas {
		if l := p[a]; l != "" && l != sellerguard.LevelNone {
			parts = append(parts, strings.ReplaceAll(a, "_", " ")+": "+l)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
