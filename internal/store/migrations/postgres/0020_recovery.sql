-- "Can't sign in?" (internal/recovery): emailed recovery codes, kept as
-- keyed MACs, one per address (also for addresses without an account, so
-- both do the same work), and the short-lived recovery tokens a verified
-- code turns into, kept as SHA-256.
CREATE TABLE recovery_codes (
    email_norm TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    code_mac   TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX recovery_codes_expires ON recovery_codes (expires_at);

CREATE TABLE recovery_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX recovery_tokens_user ON recovery_tokens (user_id);
