-- Security checkup (issue 17): acknowledged security events, the history of
-- each user's overall status, the business rule "a backup method is
-- required" (off by default), and the owner's demand that a member enrol
-- two-step verification again.
ALTER TABLE businesses ADD COLUMN require_backup_method BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN two_step_reenrol_at BIGINT NOT NULL DEFAULT 0;

CREATE TABLE checkup_acks (
    user_id  TEXT NOT NULL REFERENCES users(id),
    event_id TEXT NOT NULL,
    acked_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, event_id)
);

CREATE TABLE checkup_status_history (
    user_id    TEXT NOT NULL REFERENCES users(id),
    status     TEXT NOT NULL,
    reasons    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX checkup_status_history_user ON checkup_status_history (user_id, created_at);
