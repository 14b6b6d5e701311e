-- Guess limits (internal/limiter) and unlock codes.
CREATE TABLE limit_counters (
    key        TEXT PRIMARY KEY,
    count      INTEGER NOT NULL,
    first_at   INTEGER NOT NULL,
    last_at    INTEGER NOT NULL,
    last_ip    TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX limit_counters_expires ON limit_counters (expires_at);

CREATE TABLE unlock_codes (
    email_norm TEXT PRIMARY KEY,
    code_mac   TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
