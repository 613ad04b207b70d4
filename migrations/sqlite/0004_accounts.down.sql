ALTER TABLE users DROP COLUMN token_version;
ALTER TABLE users DROP COLUMN is_superuser;
