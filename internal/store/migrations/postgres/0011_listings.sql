-- Listings of a business.
CREATE TABLE listings (
    id             TEXT PRIMARY KEY,
    business_id    TEXT NOT NULL REFERENCES businesses(id),
    sku            TEXT NOT NULL,
    title          TEXT NOT NULL,
    price_cents    BIGINT NOT NULL,
    quantity       BIGINT NOT NULL,
    condition      TEXT NOT NULL,
    condition_note TEXT NOT NULL,
    updated_at     BIGINT NOT NULL,
    UNIQUE (business_id, sku)
);
