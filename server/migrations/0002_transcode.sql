-- Transcode jobs and published packages. Portable between SQLite and PostgreSQL.

-- The job queue. A worker claims a queued job (or a running one whose lease ran out), renews
-- its lease while it works, and finishes it only while it still holds the lease
-- (lease_token fences a worker that lost it).
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    asset_id         TEXT NOT NULL REFERENCES assets(id),
    kind             TEXT NOT NULL,
    priority         BIGINT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    max_attempts     BIGINT NOT NULL,
    run_after        BIGINT NOT NULL,
    lease_token      TEXT,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    progress         BIGINT NOT NULL DEFAULT 0,
    error_code       TEXT,
    error_message    TEXT,
    package_id       TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    started_at       BIGINT,
    finished_at      BIGINT,
    UNIQUE (asset_id, kind)
);
CREATE INDEX jobs_claimable ON jobs (status, run_after);

-- An asset's content key, only ever stored wrapped by a key-encryption key.
CREATE TABLE asset_keys (
    asset_id    TEXT PRIMARY KEY REFERENCES assets(id),
    kek_id      TEXT NOT NULL,
    wrapped_key TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Published packages. A row appears only once every object of the package is in the bucket.
CREATE TABLE packages (
    id           TEXT PRIMARY KEY,
    asset_id     TEXT NOT NULL REFERENCES assets(id),
    kind         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    manifest     TEXT NOT NULL,
    duration_ms  BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (asset_id, kind)
);
