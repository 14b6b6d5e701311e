-- Changes of sign-in email and mobile number, and "is this still yours?"
-- confirmations: codes as HMACs, new values sealed.
CREATE TABLE contact_changes (
    id                TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL REFERENCES users(id),
    kind              TEXT NOT NULL,
    new_value_sealed  TEXT NOT NULL,
    old_value_sealed  TEXT NOT NULL,
    old_email_norm    TEXT NOT NULL,
    code_mac          TEXT NOT NULL,
    attempts          INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    status            TEXT NOT NULL,
    revert_mac        TEXT NOT NULL,
    revert_attempts   INTEGER NOT NULL,
    revert_expires_at INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    done_at           INTEGER NOT NULL
);
CREATE INDEX contact_changes_user ON contact_changes (user_id, created_at);
CREATE INDEX contact_changes_old_email ON contact_changes (old_email_norm, status);
