-- Anti-phishing phrase, contact details, notification settings, sent-mail ledger.
ALTER TABLE users ADD COLUMN phishing_phrase TEXT NOT NULL DEFAULT '';
ALTER TABLE signups ADD COLUMN phishing_phrase TEXT NOT NULL DEFAULT '';

CREATE TABLE notification_prefs (
    user_id TEXT NOT NULL REFERENCES users(id),
    event   TEXT NOT NULL,
    channel TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    PRIMARY KEY (user_id, event, channel)
);

CREATE TABLE email_ledger (
    message_id TEXT PRIMARY KEY,
    outbox_id  TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    sent_at    BIGINT NOT NULL,
    sha256     TEXT NOT NULL
);
CREATE INDEX email_ledger_recipient ON email_ledger (recipient, sent_at);
