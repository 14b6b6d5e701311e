package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sellerguard/sellerguard"
)

func encodePermissions(p sellerguard.Permissions) (string, error) {
	if p == nil {
		return "{}", nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("store: permissions: %w", err)
	}
	return string(b), nil
}

func decodePermissions(s string) (sellerguard.Permissions, error) {
	p := sellerguard.Permissions{}
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, fmt.Errorf("store: permissions: %w", err)
	}
	return p, nil
}

// Member is a membership with the member's email.
type Member struct {
	sellerguard.Membership
	Email string
	// EditSince is when the member was given edit in each area they edit.
	EditSince map[string]time.Time
}

// editSince keeps the grant time of areas still at edit and stamps areas
// newly at edit with at.
func editSince(old map[string]time.Time, perms sellerguard.Permissions, at time.Time) map[string]time.Time {
	out := map[string]time.Time{}
	for area, level := range perms {
		if level != sellerguard.LevelEdit {
			continue
		}
		if t, ok := old[area]; ok {
			out[area] = t
		} else {
			out[area] = at
		}
	}
	return out
}

func encodeEditSince(m map[string]time.Time) (string, error) {
	raw := map[string]int64{}
	for a, t := range m {
		raw[a] = ts(t)
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return "", fmt.Errorf("store: edit since: %w", err)
	}
	return string(b), nil
}

func decodeEditSince(s string) (map[string]time.Time, error) {
	raw := map[string]int64{}
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf("store: edit since: %w", err)
	}
	out := make(map[string]time.Time, len(raw))
	for a, v := range raw {
		out[a] = fromTS(v)
	}
	return out, nil
}

// ListMembers lists a business's members (active and suspended), owner first.
func (s queries) ListMembers(ctx context.Context, businessID string) ([]Member, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT m.user_id, u.email, m.role, m.status, m.created_at, m.permissions, m.edit_since
		FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.business_id = $1 AND m.status IN ('active', 'suspended')
		ORDER BY CASE WHEN m.role = 'owner' THEN 0 ELSE 1 END, m.created_at, m.user_id`, businessID)
	if err != nil {
		return nil, fmt.Errorf("store: list members: %w", err)
	}
	defer rows.Close()
	out := []Member{}
	for rows.Next() {
		var m Member
		var created int64
		var perms, since string
		if err := rows.Scan(&m.UserID, &m.Email, &m.Role, &m.Status, &created, &perms, &since); err != nil {
			return nil, fmt.Errorf("store: scan member: %w", err)
		}
		m.BusinessID, m.CreatedAt = businessID, fromTS(created)
		if m.Permissions, err = decodePermissions(perms); err != nil {
			return nil, err
		}
		if m.EditSince, err = decodeEditSince(since); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// FindMember returns one member (active or suspended) of a business;
// ErrNotFound if none.
func (s queries) FindMember(ctx context.Context, businessID, userID string) (Member, error) {
	var m Member
	var created int64
	var perms, since string
	err := s.q.QueryRowContext(ctx, `SELECT m.user_id, u.email, m.role, m.status, m.created_at, m.permissions, m.edit_since
		FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.business_id = $1 AND m.user_id = $2 AND m.status IN ('active', 'suspended')`, businessID, userID).
		Scan(&m.UserID, &m.Email, &m.Role, &m.Status, &created, &perms, &since)
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("store: find member: %w", err)
	}
	m.BusinessID, m.CreatedAt = businessID, fromTS(created)
	if m.Permissions, err = decodePermissions(perms); err != nil {
		return m, err
	}
	m.EditSince, err = decodeEditSince(since)
	return m, err
}

// SetMemberPermissions replaces a member's permissions at a moment: an area
// newly at edit counts its grant from then.
func (s queries) SetMemberPermissions(ctx context.Context, businessID, userID string, p sellerguard.Permissions, at time.Time) error {
	return s.setRoleAndPermissions(ctx, businessID, userID, "", p, at)
}

// setRoleAndPermissions sets a membership's permissions (and its role, when
// role is not ""), keeping the grant times of edit rights that stay.
func (s queries) setRoleAndPermissions(ctx context.Context, businessID, userID, role string, p sellerguard.Permissions, at time.Time) error {
	var oldSince string
	err := s.q.QueryRowContext(ctx, `SELECT edit_since FROM memberships WHERE business_id = $1 AND user_id = $2`, businessID, userID).Scan(&oldSince)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: read permissions: %w", err)
	}
	old, err := decodeEditSince(oldSince)
	if err != nil {
		return err
	}
	perms, err := encodePermissions(p)
	if err != nil {
		return err
	}
	since, err := encodeEditSince(editSince(old, p, at))
	if err != nil {
		return err
	}
	if role == "" {
		_, err = s.q.ExecContext(ctx, `UPDATE memberships SET permissions = $1, edit_since = $2 WHERE business_id = $3 AND user_id = $4 AND role <> 'owner'`, perms, since, businessID, userID)
	} else {
		_, err = s.q.ExecContext(ctx, `UPDATE memberships SET role = $1, permissions = $2, edit_since = $3, status = 'active' WHERE business_id = $4 AND user_id = $5`, role, perms, since, businessID, userID)
	}
	if err != nil {
		return fmt.Errorf("store: set permissions: %w", err)
	}
	return nil
}

// DeleteMembership removes a member (never the owner).
func (s queries) DeleteMembership(ctx context.Context, businessID, userID string) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM memberships WHERE business_id = $1 AND user_id = $2 AND role <> 'owner'`, businessID, userID)
	if err != nil {
		return fmt.Errorf("store: delete membership: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// CountMemberships counts a user's active memberships.
func (s queries) CountMemberships(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM memberships WHERE user_id = $1 AND status = 'active'`, userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count memberships: %w", err)
	}
	return n, nil
}

// Invitation is an invitation of an email address to a business.
type Invitation struct {
	ID           string
	BusinessID   string
	BusinessName string
	Email        string
	EmailNorm    string
	Permissions  sellerguard.Permissions
	InvitedBy    string
	Status       string // pending, accepted, declined, withdrawn
	CreatedAt    time.Time
	ExpiresAt    time.Time
	DecidedAt    time.Time
}

const invitationCols = `i.id, i.business_id, b.name, i.email, i.email_norm, i.permissions, i.invited_by, i.status, i.created_at, i.expires_at, i.decided_at`

func scanInvitation(row interface{ Scan(...any) error }) (Invitation, error) {
	var v Invitation
	var perms string
	var created, exp, decided int64
	err := row.Scan(&v.ID, &v.BusinessID, &v.BusinessName, &v.Email, &v.EmailNorm, &perms, &v.InvitedBy, &v.Status, &created, &exp, &decided)
	if errors.Is(err, sql.ErrNoRows) {
		return v, ErrNotFound
	}
	if err != nil {
		return v, fmt.Errorf("store: scan invitation: %w", err)
	}
	v.CreatedAt, v.ExpiresAt, v.DecidedAt = fromTS(created), fromTS(exp), fromTS(decided)
	v.Permissions, err = decodePermissions(perms)
	return v, err
}

// PutInvitation inserts or updates an invitation.
func (s queries) PutInvitation(ctx context.Context, v Invitation) error {
	perms, err := encodePermissions(v.Permissions)
	if err != nil {
		return err
	}
	_, err = s.q.ExecContext(ctx, `INSERT INTO invitations (id, business_id, email, email_norm, permissions, invited_by, status, created_at, expires_at, decided_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, decided_at = excluded.decided_at`,
		v.ID, v.BusinessID, v.Email, v.EmailNorm, perms, v.InvitedBy, v.Status, ts(v.CreatedAt), ts(v.ExpiresAt), ts(v.DecidedAt))
	if err != nil {
		return fmt.Errorf("store: put invitation: %w", err)
	}
	return nil
}

// WithdrawPendingInvitations ends a business's pending invitations of an
// address (a new invitation replaces them).
func (s queries) WithdrawPendingInvitations(ctx context.Context, businessID, emailNorm string, at time.Time) error {
	if _, err := s.q.ExecContext(ctx, `UPDATE invitations SET status = 'withdrawn', decided_at = $1 WHERE business_id = $2 AND email_norm = $3 AND status = 'pending'`, ts(at), businessID, emailNorm); err != nil {
		return fmt.Errorf("store: withdraw invitations: %w", err)
	}
	return nil
}

// FindInvitation returns an invitation by id.
func (s queries) FindInvitation(ctx context.Context, id string) (Invitation, error) {
	return scanInvitation(s.q.QueryRowContext(ctx, `SELECT `+invitationCols+` FROM invitations i JOIN businesses b ON b.id = i.business_id WHERE i.id = $1`, id))
}

// ListInvitationsFor lists the live pending invitations of an address.
func (s queries) ListInvitationsFor(ctx context.Context, emailNorm string, now time.Time) ([]Invitation, error) {
	return s.listInvitations(ctx, `i.email_norm = $1 AND i.status = 'pending' AND i.expires_at > $2`, emailNorm, ts(now))
}

// ListBusinessInvitations lists a business's live pending invitations.
func (s queries) ListBusinessInvitations(ctx context.Context, businessID string, now time.Time) ([]Invitation, error) {
	return s.listInvitations(ctx, `i.business_id = $1 AND i.status = 'pending' AND i.expires_at > $2`, businessID, ts(now))
}

func (s queries) listInvitations(ctx context.Context, where string, args ...any) ([]Invitation, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+invitationCols+` FROM invitations i JOIN businesses b ON b.id = i.business_id WHERE `+where+` ORDER BY i.created_at, i.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list invitations: %w", err)
	}
	defer rows.Close()
	out := []Invitation{}
	for rows.Next() {
		v, err := scanInvitation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
