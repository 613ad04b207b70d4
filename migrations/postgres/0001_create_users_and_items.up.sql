-- The original service's tables (same names, columns and types), with what it lacked:
-- e-mail unique regardless of case, items deleted with their owner, an index on owner_id.
--
-- Written to also adopt a database the original service (Alembic) created: every
-- statement keeps existing tables and rows and only adds what is missing. If two
-- existing users' e-mails differ only in case, the unique index cannot be built and
-- the whole migration is rolled back, leaving the database as it was.

CREATE TABLE IF NOT EXISTS users (
    id SERIAL PRIMARY KEY,
    email VARCHAR(255) NOT NULL,
    hashed_password VARCHAR(255) NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now()
);

-- The original sets is_active only from Python: rows inserted otherwise hold NULL.
UPDATE users SET is_active = true WHERE is_active IS NULL;
ALTER TABLE users ALTER COLUMN is_active SET DEFAULT true;
ALTER TABLE users ALTER COLUMN is_active SET NOT NULL;

CREATE UNIQUE INDEX IF NOT EXISTS ix_users_email_lower ON users (lower(email));

CREATE TABLE IF NOT EXISTS items (
    id SERIAL PRIMARY KEY,
    title VARCHAR(255) NOT NULL,
    description TEXT,
    owner_id INTEGER NOT NULL
);

ALTER TABLE items DROP CONSTRAINT IF EXISTS items_owner_id_fkey;
ALTER TABLE items ADD CONSTRAINT items_owner_id_fkey
    FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE;

CREATE INDEX IF NOT EXISTS ix_items_owner_id ON items (owner_id);
CREATE INDEX IF NOT EXISTS ix_items_title ON items (title);
