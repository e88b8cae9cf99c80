-- Security hardening. Portable between SQLite and PostgreSQL.

-- The SHA-256 of every sealed source header a worker has opened, and whose asset it was: the
-- same header presented for another asset is a replay (`source_replayed`).
CREATE TABLE source_headers (
    header_sha256 TEXT PRIMARY KEY,
    asset_id      TEXT NOT NULL REFERENCES assets(id),
    created_at    BIGINT NOT NULL
);

-- The sealed manifest's nonce (hex), which a playback session hands the player so that it
-- opens exactly this manifest (docs/format.md §14.5.4).
ALTER TABLE packages ADD COLUMN manifest_nonce TEXT;

-- Bumped by every policy change: playback sessions carry the epoch they were granted under
-- and end when it moves.
ALTER TABLE asset_policies ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0;

-- Attempt limiters that survive restarts: one GCRA theoretical arrival time (Unix ms) per key.
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    tat BIGINT NOT NULL
);

-- The well-known development key (CINELOCK_DEV_API_KEY) is marked, so a server started without
-- it revokes it.
ALTER TABLE api_keys ADD COLUMN dev BIGINT NOT NULL DEFAULT 0;

-- Each API key owner's (tenant's) viewer-token secrets, wrapped by the KEK. The id is the
-- token's key id (`clv2.<id>.…`); a revoked secret verifies no token.
CREATE TABLE viewer_token_keys (
    id             TEXT PRIMARY KEY,
    owner          TEXT NOT NULL REFERENCES api_keys(id),
    wrapped_secret TEXT NOT NULL,
    kek_id         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    revoked_at     BIGINT
);
CREATE INDEX viewer_token_keys_by_owner ON viewer_token_keys (owner);
