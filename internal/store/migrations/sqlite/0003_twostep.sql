-- Two-step verification: methods, backup codes, challenges, trusted browsers.
ALTER TABLE businesses ADD COLUMN require_two_step INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sessions ADD COLUMN second_step_failures INTEGER NOT NULL DEFAULT 0;

CREATE TABLE two_step_methods (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id),
    kind          TEXT NOT NULL,
    label         TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    data          TEXT NOT NULL,
    confirmed     INTEGER NOT NULL,
    last_step     INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL
);
CREATE INDEX two_step_methods_user ON two_step_methods (user_id);

CREATE TABLE backup_codes (
    user_id    TEXT NOT NULL REFERENCES users(id),
    code_mac   TEXT NOT NULL,
    used_at    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, code_mac)
);

CREATE TABLE challenges (
    id         TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    method_id  TEXT NOT NULL,
    code_mac   TEXT NOT NULL,
    data       TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    sends      INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX challenges_session ON challenges (session_id);
CREATE INDEX challenges_expires ON challenges (expires_at);

CREATE TABLE trusted_browsers (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    device_hash TEXT NOT NULL,
    ip          TEXT NOT NULL,
    user_agent  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    UNIQUE (user_id, device_hash)
);
