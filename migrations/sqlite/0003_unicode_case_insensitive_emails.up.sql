-- The service replaces SQLite's lower(), which folds ASCII only, with Unicode's lower
-- case (Ü -> ü), as PostgreSQL's lower() under a UTF-8 locale: the unique index on
-- lower(email) is rebuilt with it. If two existing users' e-mails differ only in the
-- case of non-ASCII letters, it cannot be, and the migration is rolled back, leaving
-- the database as it was.
REINDEX ix_users_email_lower;
