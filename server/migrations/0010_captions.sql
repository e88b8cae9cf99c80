-- Caption and subtitle tracks: WebVTT files of an asset, sealed under its content key and
-- stored at `assets/{asset_id}/captions/{id}.cnls`.
CREATE TABLE captions (
    id          TEXT PRIMARY KEY,
    asset_id    TEXT NOT NULL REFERENCES assets(id),
    language    TEXT NOT NULL,
    label       TEXT NOT NULL,
    -- `subtitles` or `captions`.
    kind        TEXT NOT NULL,
    cues        BIGINT NOT NULL,
    -- The sealed object's nonce (24 hex) and size: a session hands both to the player.
    nonce       TEXT NOT NULL,
    size        BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX captions_by_asset ON captions (asset_id, created_at);
