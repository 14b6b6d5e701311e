-- One passkey, one user (WebAuthn Level 2, §7.1 step 22): a credential id
-- is registered at most once, to anyone. credential_id is the passkey's
-- credential id in standard base64, as in the credential JSON of data; ''
-- for the other kinds of method.
ALTER TABLE two_step_methods ADD COLUMN credential_id TEXT NOT NULL DEFAULT '';
UPDATE two_step_methods SET credential_id = COALESCE(json_extract(data, '$.id'), '') WHERE kind = 'passkey';

-- Duplicates registered before this rule (another user's registration of
-- the same credential id, or a racing second one): the first registration
-- (oldest, then lowest id) keeps the credential. Later ones are set aside
-- here, kept for support to see, and no longer sign anyone in; their user
-- signs in with another second step or a backup code, and a business that
-- requires two-step verification asks them to enrol again.
CREATE TABLE passkeys_set_aside (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL,
    label         TEXT NOT NULL,
    credential_id TEXT NOT NULL,
    data          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    reason        TEXT NOT NULL
);
INSERT INTO passkeys_set_aside (id, user_id, label, credential_id, data, created_at, reason)
SELECT m.id, m.user_id, m.label, m.credential_id, m.data, m.created_at, 'credential id registered earlier by another method'
FROM two_step_methods m
WHERE m.kind = 'passkey' AND m.credential_id <> '' AND EXISTS (
    SELECT 1 FROM two_step_methods o
    WHERE o.kind = 'passkey' AND o.credential_id = m.credential_id
      AND (o.created_at < m.created_at OR (o.created_at = m.created_at AND o.id < m.id)));
DELETE FROM two_step_methods WHERE id IN (SELECT id FROM passkeys_set_aside);

CREATE UNIQUE INDEX two_step_methods_credential ON two_step_methods (credential_id) WHERE credential_id <> '';
