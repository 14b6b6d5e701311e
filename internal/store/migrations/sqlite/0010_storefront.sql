-- Storefront details of a business.
CREATE TABLE storefronts (
    business_id    TEXT PRIMARY KEY REFERENCES businesses(id),
    display_name   TEXT NOT NULL,
    description    TEXT NOT NULL,
    logo_url       TEXT NOT NULL,
    support_email  TEXT NOT NULL,
    support_phone  TEXT NOT NULL,
    return_address TEXT NOT NULL,
    updated_at     INTEGER NOT NULL,
    updated_by     TEXT NOT NULL
);
