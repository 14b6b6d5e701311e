-- Businesses with a team: per-area permissions and invitations.
ALTER TABLE memberships ADD COLUMN permissions TEXT NOT NULL DEFAULT '{}';
CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    email       TEXT NOT NULL,
    email_norm  TEXT NOT NULL,
    permissions TEXT NOT NULL,
    invited_by  TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    decided_at  INTEGER NOT NULL
);
CREATE INDEX invitations_email ON invitations (email_norm, status);
CREATE INDEX invitations_business ON invitations (business_id, status);
