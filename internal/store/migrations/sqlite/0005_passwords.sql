-- Password policy: history, forced changes, age reminders, business rules.
CREATE TABLE password_history (
    user_id    TEXT NOT NULL REFERENCES users(id),
    hash       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX password_history_user ON password_history (user_id, created_at);
ALTER TABLE users ADD COLUMN must_change_password TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN password_reminded_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE businesses ADD COLUMN password_max_age_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE businesses ADD COLUMN strict_passwords INTEGER NOT NULL DEFAULT 0;
