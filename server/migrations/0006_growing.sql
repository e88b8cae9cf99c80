-- Growing uploads (recordings): created without a size, which `complete` supplies. Until
-- then `plaintext_len` is 0 and `max_len` caps the part numbers that may be signed.
ALTER TABLE uploads ADD COLUMN growing BIGINT NOT NULL DEFAULT 0;
ALTER TABLE uploads ADD COLUMN max_len BIGINT NOT NULL DEFAULT 0;
-- A recording finished from what was sealed before its tab closed.
ALTER TABLE assets ADD COLUMN cut_short BIGINT NOT NULL DEFAULT 0;
-- The asset this one was created to go with (a screen recording's camera).
ALTER TABLE assets ADD COLUMN linked_to TEXT REFERENCES assets(id);
CREATE INDEX assets_linked_to ON assets (linked_to);
