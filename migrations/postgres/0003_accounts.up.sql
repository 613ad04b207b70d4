-- Accounts: a superuser flag, and a token version per user. An access token carries its
-- user's token version (claim "ver"; none: 0); changing or resetting a password raises
-- it, so the tokens issued before no longer verify. The original's tokens have no "ver"
-- and keep working until then. Adopting the original's database keeps every row.
ALTER TABLE users ADD COLUMN IF NOT EXISTS is_superuser BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN IF NOT EXISTS token_version INTEGER NOT NULL DEFAULT 0;
