-- Key rotation (sellerguard keys rotate): one row per rotation to a new key
-- version; its progress (the sealed field being re-sealed and the last row
-- done) is written in the same transaction as each batch, so a run that
-- crashed resumes where it stopped.
CREATE TABLE key_rotations (
    version     BIGINT PRIMARY KEY,
    status      TEXT NOT NULL,
    field       TEXT NOT NULL,
    after_key   TEXT NOT NULL,
    passes      BIGINT NOT NULL,
    resealed    BIGINT NOT NULL,
    started_by  TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL
);
-- At most one rotation runs at a time.
CREATE UNIQUE INDEX key_rotations_one_running ON key_rotations (status) WHERE status = 'running';

-- Full card numbers are no longer kept: brand, last four, expiry and a keyed
-- fingerprint are enough. number_sealed stays empty (rows stored before are
-- fingerprinted and emptied when the service starts).
ALTER TABLE charge_methods ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';

-- A password accepted while the breached-password range API could not
-- answer is checked again at the next sign-in.
ALTER TABLE users ADD COLUMN breach_recheck BIGINT NOT NULL DEFAULT 0;
ALTER TABLE signups ADD COLUMN breach_recheck BIGINT NOT NULL DEFAULT 0;
