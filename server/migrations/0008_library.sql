-- The asset library: the owner's title, external id and string metadata (JSON object), and the
-- index the listing pages through (newest first).
ALTER TABLE assets ADD COLUMN title TEXT;
ALTER TABLE assets ADD COLUMN external_id TEXT;
ALTER TABLE assets ADD COLUMN metadata TEXT;
CREATE UNIQUE INDEX assets_external_id ON assets (api_key_id, external_id);
CREATE INDEX assets_by_owner ON assets (api_key_id, created_at, id);
