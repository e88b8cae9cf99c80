-- The checksum an upload's parts carry (`crc32c` or `sha256`), fixed when it is created: the
-- store takes only that algorithm's parts. Uploads created before carried SHA-256.
ALTER TABLE uploads ADD COLUMN part_checksum TEXT NOT NULL DEFAULT 'sha256';
-- Each part's signed checksum, base64, in its upload's algorithm.
ALTER TABLE upload_parts RENAME COLUMN sha256 TO checksum;
