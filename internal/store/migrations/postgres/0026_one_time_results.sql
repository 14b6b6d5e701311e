-- One-time results of a page (new backup codes, a new authenticator key, a
-- phone enrolment waiting for its code), kept for the page a POST redirects
-- to (post/redirect/get), so that reloading that page shows the same result
-- instead of making a new one. Each is sealed under the instance keys, bound
-- to the session that made it (and its kind) as associated data, and
-- short-lived: dropped when the user says they are done with it, replaced by
-- a newer one of its kind, or gone once expired.
CREATE TABLE one_time_results (
    id          TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    data_sealed TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    UNIQUE (session_id, kind)
);
CREATE INDEX one_time_results_expires ON one_time_results (expires_at);
