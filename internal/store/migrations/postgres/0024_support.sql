-- Seller Support (internal/support): cases opened by sellers (signed in or
-- not), their messages and internal notes, the platform's support agents
-- and their sessions, the identity checks agents record, and the account
-- actions agents take (recovery actions wait for a supervisor's approval
-- and a waiting period). Codes and tokens are kept only as MACs or hashes.
CREATE TABLE support_cases (
    id                TEXT PRIMARY KEY,
    ref               TEXT NOT NULL UNIQUE,
    kind              TEXT NOT NULL,
    state             TEXT NOT NULL,
    account_user_id   TEXT NOT NULL,
    business_id       TEXT NOT NULL,
    opened_by_user_id TEXT NOT NULL,
    account_email     TEXT NOT NULL,
    contact_email     TEXT NOT NULL,
    assigned_agent_id TEXT NOT NULL,
    source_ip         TEXT NOT NULL,
    language          TEXT NOT NULL,
    disowned_at       BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX support_cases_queue ON support_cases (state, created_at);
CREATE INDEX support_cases_account ON support_cases (account_user_id, created_at);
CREATE INDEX support_cases_opener ON support_cases (opened_by_user_id, created_at);

CREATE TABLE support_messages (
    id          TEXT PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES support_cases (id),
    author_kind TEXT NOT NULL,
    author_id   TEXT NOT NULL,
    internal    INTEGER NOT NULL,
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX support_messages_case ON support_messages (case_id, created_at);

CREATE TABLE support_agents (
    id               TEXT PRIMARY KEY,
    email            TEXT NOT NULL,
    email_norm       TEXT NOT NULL UNIQUE,
    role             TEXT NOT NULL,
    status           TEXT NOT NULL,
    password_hash    TEXT NOT NULL,
    totp_sealed      TEXT NOT NULL,
    totp_last_step   BIGINT NOT NULL,
    enrol_code_mac   TEXT NOT NULL,
    enrol_expires_at BIGINT NOT NULL,
    created_by       TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);

CREATE TABLE support_agent_sessions (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    agent_id     TEXT NOT NULL REFERENCES support_agents (id),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX support_agent_sessions_agent ON support_agent_sessions (agent_id);

CREATE TABLE support_challenges (
    case_id    TEXT NOT NULL REFERENCES support_cases (id),
    kind       TEXT NOT NULL,
    code_mac   TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (case_id, kind)
);

CREATE TABLE support_evidence (
    id         TEXT PRIMARY KEY,
    case_id    TEXT NOT NULL REFERENCES support_cases (id),
    kind       TEXT NOT NULL,
    matched    INTEGER NOT NULL,
    agent_id   TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX support_evidence_case ON support_evidence (case_id, created_at);

CREATE TABLE support_actions (
    id              TEXT PRIMARY KEY,
    case_id         TEXT NOT NULL REFERENCES support_cases (id),
    user_id         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    param           TEXT NOT NULL,
    state           TEXT NOT NULL,
    requested_by    TEXT NOT NULL,
    approved_by     TEXT NOT NULL,
    effective_at    BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX support_actions_case ON support_actions (case_id);
CREATE INDEX support_actions_due ON support_actions (state, effective_at);
CREATE INDEX support_actions_user ON support_actions (user_id, state);
