-- SellerGuard schema, SQLite dialect. Times are Unix microseconds (UTC).
CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    email               TEXT NOT NULL,
    email_norm          TEXT NOT NULL UNIQUE,
    password_hash       TEXT NOT NULL,
    password_changed_at INTEGER NOT NULL,
    status              TEXT NOT NULL,
    created_at          INTEGER NOT NULL
);

CREATE TABLE businesses (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE memberships (
    business_id TEXT NOT NULL REFERENCES businesses(id),
    user_id     TEXT NOT NULL REFERENCES users(id),
    role        TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (business_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);
CREATE UNIQUE INDEX memberships_one_owner ON memberships (business_id) WHERE role = 'owner';

CREATE TABLE signups (
    email_norm    TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    business_name TEXT NOT NULL,
    phone_sealed  TEXT NOT NULL,
    code_mac      TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    user_id      TEXT NOT NULL REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ip           TEXT NOT NULL,
    user_agent   TEXT NOT NULL,
    auth_level   TEXT NOT NULL,
    reauth_at    INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE audit_heads (
    chain TEXT PRIMARY KEY,
    seq   INTEGER NOT NULL,
    hash  TEXT NOT NULL
);

CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    chain       TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    business_id TEXT NOT NULL,
    subject_id  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_email TEXT NOT NULL,
    action      TEXT NOT NULL,
    category    TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    ip          TEXT NOT NULL,
    user_agent  TEXT NOT NULL,
    before_json TEXT NOT NULL,
    after_json  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    UNIQUE (chain, seq)
);
CREATE INDEX audit_business_time ON audit_events (business_id, created_at, id);
CREATE INDEX audit_subject_time ON audit_events (subject_id, created_at, id);
CREATE INDEX audit_business_category ON audit_events (business_id, category, created_at);

CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    channel         TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER NOT NULL,
    last_error      TEXT NOT NULL,
    message_id      TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_created ON outbox (created_at, id);
