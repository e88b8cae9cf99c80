-- Asset deletions: asked for, and finished. A deletion that failed half-way is finished by the
-- background sweep; a finished one is kept (the asset's id and owner, nothing else) so a
-- repeated DELETE answers the same and late objects of a worker that was still running are
-- swept too.
CREATE TABLE asset_deletions (
    asset_id     TEXT PRIMARY KEY,
    api_key_id   TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    finished_at  BIGINT
);
CREATE INDEX asset_deletions_unfinished ON asset_deletions (finished_at);
