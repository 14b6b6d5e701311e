-- Payment information of a business: deposit accounts (numbers sealed under
-- the instance key, only the last four digits in the clear) with a
-- cooling-off period before payouts use a new one.
CREATE TABLE deposit_accounts (
    id            TEXT PRIMARY KEY,
    business_id   TEXT NOT NULL REFERENCES businesses(id),
    holder        TEXT NOT NULL,
    bank          TEXT NOT NULL,
    number_sealed TEXT NOT NULL,
    last4         TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    active_from   BIGINT NOT NULL
);
CREATE INDEX deposit_accounts_business ON deposit_accounts (business_id, created_at);
