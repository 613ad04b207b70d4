-- Listing a user's items (WHERE owner_id = ? ORDER BY id LIMIT ?) reads them in order
-- from this index instead of sorting all of them; it also serves plain owner_id lookups,
-- so the single-column index goes.
CREATE INDEX IF NOT EXISTS ix_items_owner_id_id ON items (owner_id, id);
DROP INDEX IF EXISTS ix_items_owner_id;
