CREATE INDEX IF NOT EXISTS ix_items_owner_id ON items (owner_id);
DROP INDEX IF EXISTS ix_items_owner_id_id;
