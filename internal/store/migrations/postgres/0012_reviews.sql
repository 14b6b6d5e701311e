-- The rest of "businesses with a team": the charge method of the payments
-- area, last sign-in and last use of each area (written in batches), access
-- reviews, review settings per business, and ownership transfers.
ALTER TABLE users ADD COLUMN last_sign_in_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE businesses ADD COLUMN review_interval_days BIGINT NOT NULL DEFAULT 0;
ALTER TABLE businesses ADD COLUMN suspend_unreviewed_days BIGINT NOT NULL DEFAULT 0;
-- When each area's edit right was given to a member (JSON area → time), so
-- that "edit unused for 90 days" counts from the grant, not from joining.
ALTER TABLE memberships ADD COLUMN edit_since TEXT NOT NULL DEFAULT '{}';

CREATE TABLE charge_methods (
    business_id   TEXT PRIMARY KEY REFERENCES businesses(id),
    holder        TEXT NOT NULL,
    brand         TEXT NOT NULL,
    last4         TEXT NOT NULL,
    exp_month     BIGINT NOT NULL,
    exp_year      BIGINT NOT NULL,
    number_sealed TEXT NOT NULL,
    updated_by    TEXT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- Last use of an area by a member: viewed (any access) and edited.
CREATE TABLE area_use (
    business_id TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    area        TEXT NOT NULL,
    viewed_at   BIGINT NOT NULL,
    edited_at   BIGINT NOT NULL,
    PRIMARY KEY (business_id, user_id, area)
);

CREATE TABLE access_reviews (
    id               TEXT PRIMARY KEY,
    business_id      TEXT NOT NULL REFERENCES businesses(id),
    status           TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    reminded_at      BIGINT NOT NULL,
    reminders        BIGINT NOT NULL,
    completed_at     BIGINT NOT NULL,
    completed_by     TEXT NOT NULL
);
CREATE INDEX access_reviews_business ON access_reviews (business_id, created_at);
CREATE INDEX access_reviews_status ON access_reviews (status);
-- At most one open review per business, even when the schedule and an owner
-- start one at the same moment.
CREATE UNIQUE INDEX access_reviews_one_open ON access_reviews (business_id) WHERE status = 'open';

CREATE TABLE access_review_items (
    review_id   TEXT NOT NULL REFERENCES access_reviews(id),
    user_id     TEXT NOT NULL,
    email       TEXT NOT NULL,
    decision    TEXT NOT NULL,
    perms_before TEXT NOT NULL,
    perms_after  TEXT NOT NULL,
    decided_by  TEXT NOT NULL,
    decided_at  BIGINT NOT NULL,
    PRIMARY KEY (review_id, user_id)
);

CREATE TABLE ownership_transfers (
    business_id TEXT PRIMARY KEY REFERENCES businesses(id),
    from_user   TEXT NOT NULL,
    to_user     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
