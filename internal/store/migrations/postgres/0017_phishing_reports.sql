-- Reports of suspected phishing (issue 16): one queue for the web page, the
-- API and the SMTP intake. Each report keeps its analysis (verdict, score,
-- reasons as JSON), a summary of what was reported, the SHA-256 of the raw
-- message, and the raw message itself (at most 1 MiB) until raw_expires_at,
-- when housekeeping erases it (the hash and the analysis stay).
CREATE TABLE phishing_reports (
    id               TEXT PRIMARY KEY,
    source           TEXT NOT NULL,
    kind             TEXT NOT NULL,
    reporter_user_id TEXT NOT NULL,
    reporter_email   TEXT NOT NULL,
    reporter_ip      TEXT NOT NULL,
    received_at      BIGINT NOT NULL,
    verdict          TEXT NOT NULL,
    score            BIGINT NOT NULL,
    reasons          TEXT NOT NULL,
    analysis         TEXT NOT NULL,
    from_header      TEXT NOT NULL,
    subject          TEXT NOT NULL,
    message_id       TEXT NOT NULL,
    url              TEXT NOT NULL,
    note             TEXT NOT NULL,
    raw_sha256       TEXT NOT NULL,
    raw_size         BIGINT NOT NULL,
    raw              BYTEA,
    raw_expires_at   BIGINT NOT NULL
);
CREATE INDEX phishing_reports_received ON phishing_reports (received_at, id);
CREATE INDEX phishing_reports_reporter ON phishing_reports (reporter_user_id, received_at);
CREATE INDEX phishing_reports_raw_expiry ON phishing_reports (raw_expires_at);
