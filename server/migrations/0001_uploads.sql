-- Portable between SQLite and PostgreSQL: TEXT and BIGINT only; times are Unix milliseconds.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    scopes      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE assets (
    id            TEXT PRIMARY KEY,
    api_key_id    TEXT NOT NULL REFERENCES api_keys(id),
    status        TEXT NOT NULL,
    filename      TEXT,
    content_type  TEXT,
    object_key    TEXT NOT NULL,
    plaintext_len BIGINT NOT NULL,
    sealed_len    BIGINT NOT NULL,
    key_id        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE uploads (
    id              TEXT PRIMARY KEY,
    asset_id        TEXT NOT NULL REFERENCES assets(id),
    s3_upload_id    TEXT NOT NULL,
    object_key      TEXT NOT NULL,
    plaintext_len   BIGINT NOT NULL,
    chunk_size      BIGINT NOT NULL,
    chunks_per_part BIGINT NOT NULL,
    status          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX uploads_open_by_age ON uploads (status, updated_at);

-- The checksum each part URL was signed for: CompleteMultipartUpload must repeat it.
CREATE TABLE upload_parts (
    upload_id  TEXT NOT NULL REFERENCES uploads(id),
    number     BIGINT NOT NULL,
    sha256     TEXT NOT NULL,
    size       BIGINT NOT NULL,
    signed_at  BIGINT NOT NULL,
    PRIMARY KEY (upload_id, number)
);
