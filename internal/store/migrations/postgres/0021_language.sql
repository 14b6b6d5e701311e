-- The seller's language (internal/i18n): language is the one the user chose
-- on the account page ('' until they choose), signup_language the one they
-- signed up in. Pages use the choice, else the browser's; emails and text
-- messages the choice, else the sign-up language.
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN signup_language TEXT NOT NULL DEFAULT 'en';
