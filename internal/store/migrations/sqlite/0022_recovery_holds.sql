-- Taking an account back after an email change (issue 14): what was added
-- since the change (second-step methods, backup codes, deposit accounts)
-- waits, unusable, for the owner to confirm or remove it; the previous
-- sign-in addresses of the last 30 days get copies of critical notices;
-- a recovery token says whether a reset or an undone email change made it.
CREATE TABLE recovery_holds (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    business_id TEXT NOT NULL,
    kind        TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    summary     TEXT NOT NULL,
    change_id   TEXT NOT NULL,
    added_at    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    decided_at  INTEGER NOT NULL,
    decision    TEXT NOT NULL
);
CREATE INDEX recovery_holds_user ON recovery_holds (user_id, decided_at);

ALTER TABLE two_step_methods ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backup_codes ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deposit_accounts ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recovery_tokens ADD COLUMN purpose TEXT NOT NULL DEFAULT 'reset';

CREATE TABLE previous_emails (
    user_id    TEXT NOT NULL REFERENCES users(id),
    email      TEXT NOT NULL,
    email_norm TEXT NOT NULL,
    changed_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, email_norm)
);
