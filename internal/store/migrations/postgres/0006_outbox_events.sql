-- Outbox messages know whom and which event they are about (notification
-- settings, and telling the user on another channel when one fails).
ALTER TABLE outbox ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN event TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN phone_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN phone_mac TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN email_confirmed_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN phone_confirmed_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX outbox_user ON outbox (user_id, created_at);
