-- Change review (issue 15): the session an audited change was made in, and
-- indexes for "what changed in these categories since …".
--
-- session_id is covered by the event hash (canonical form v2) when set; it
-- stays '' for events written before this migration and for events outside
-- a session (scheduled jobs, the CLI).
ALTER TABLE audit_events ADD COLUMN session_id TEXT NOT NULL DEFAULT '';
-- A business's changes of given actions over a time window (category filter).
-- Cost on writes: one more B-tree insert per audit event.
CREATE INDEX audit_business_action_time ON audit_events (business_id, action, created_at, id);
-- Members' own changes (notification settings, sign-in email and phone,
-- anti-phishing phrase) live in their user chains (business_id = ''): this
-- partial index holds only user-chain events, so business events pay nothing.
CREATE INDEX audit_user_action_time ON audit_events (subject_id, action, created_at, id) WHERE business_id = '';
