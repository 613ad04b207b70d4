-- Refresh tokens (beyond the original). Each is stored only as its SHA-256 (hex), in a
-- family: the tokens one login's rotations made. A token is live until it is rotated (its
-- successor made), revoked (logout, a new password, its family's reuse) or expired; a
-- rotated token shown again revokes its whole family. Times are Unix seconds.
CREATE TABLE refresh_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash CHAR(64) NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family CHAR(32) NOT NULL,
    expires_at BIGINT NOT NULL,
    rotated_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX ix_refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX ix_refresh_tokens_user_id ON refresh_tokens (user_id);
