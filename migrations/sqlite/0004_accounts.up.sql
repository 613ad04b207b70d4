-- Accounts: a superuser flag, and a token version per user. An access token carries its
-- user's token version (claim "ver"; none: 0); changing or resetting a password raises
-- it, so the tokens issued before no longer verify.
ALTER TABLE users ADD COLUMN is_superuser BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0;
