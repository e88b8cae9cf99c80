-- Playback analytics (docs/analytics.md). Nothing here identifies a person: no address (unless
-- CINELOCK_ANALYTICS_STORE_NETWORK keeps the truncated network), no full user agent, no URL;
-- pseudonyms are keyed hashes under daily salts that are destroyed after 48 hours.

-- Each event a player reported, once (a resent beacon adds nothing).
CREATE TABLE analytics_events (
    view_id      TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    asset_id     TEXT NOT NULL,
    tenant       TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    at_ms        BIGINT NOT NULL,
    playhead_ms  BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    data         TEXT NOT NULL,
    PRIMARY KEY (view_id, seq)
);
-- The one index besides the key: retention deletes by age. (Deleting an asset's events scans,
-- which is rare; every index costs each of the many inserts.)
CREATE INDEX analytics_events_by_age ON analytics_events (received_at);

-- One row per view, kept up to date as its beacons arrive: what every report reads.
CREATE TABLE analytics_views (
    view_id          TEXT PRIMARY KEY,
    asset_id         TEXT NOT NULL,
    tenant           TEXT NOT NULL,
    started_at       BIGINT NOT NULL,
    day              BIGINT NOT NULL,
    last_seen        BIGINT NOT NULL,
    country          TEXT,
    browser          TEXT NOT NULL,
    os               TEXT NOT NULL,
    device           TEXT NOT NULL,
    referrer         TEXT,
    network          TEXT,
    pseudonym        TEXT,
    viewer_hash      TEXT,
    duration_ms      BIGINT,
    intent           BIGINT NOT NULL,
    startup_ms       BIGINT,
    failed           BIGINT NOT NULL,
    error_code       TEXT,
    ended            BIGINT NOT NULL,
    watch_ms         BIGINT NOT NULL,
    playing_ms       BIGINT NOT NULL,
    rebuffer_count   BIGINT NOT NULL,
    rebuffer_ms      BIGINT NOT NULL,
    played_bits      BIGINT NOT NULL,
    upscale_ms       BIGINT NOT NULL,
    max_playhead_ms  BIGINT NOT NULL,
    player_width     BIGINT NOT NULL,
    player_height    BIGINT NOT NULL
);
CREATE INDEX analytics_views_by_tenant ON analytics_views (tenant, started_at);
CREATE INDEX analytics_views_by_asset ON analytics_views (asset_id, started_at);

-- Playing time per view and video rendition.
CREATE TABLE analytics_view_renditions (
    view_id     TEXT NOT NULL,
    rendition   TEXT NOT NULL,
    playing_ms  BIGINT NOT NULL,
    PRIMARY KEY (view_id, rendition)
);

-- The salt of each UTC day's pseudonyms; deleted 48 hours after its day began.
CREATE TABLE analytics_salts (
    day   BIGINT PRIMARY KEY,
    salt  TEXT NOT NULL
);

-- Hourly rollups, kept exact as views arrive (each flush adds the difference a view's new
-- totals make): what reports read. Keyed by the hour the view started and its coarse dimensions;
-- country '' when unknown.
CREATE TABLE analytics_rollup (
    tenant          TEXT NOT NULL,
    asset_id        TEXT NOT NULL,
    hour            BIGINT NOT NULL,
    country         TEXT NOT NULL,
    browser         TEXT NOT NULL,
    os              TEXT NOT NULL,
    device          TEXT NOT NULL,
    views           BIGINT NOT NULL,
    watch_ms        BIGINT NOT NULL,
    playing_ms      BIGINT NOT NULL,
    failed          BIGINT NOT NULL,
    ebvs            BIGINT NOT NULL,
    rebuffer_ms     BIGINT NOT NULL,
    rebuffer_count  BIGINT NOT NULL,
    played_bits     BIGINT NOT NULL,
    upscale_ms      BIGINT NOT NULL,
    started         BIGINT NOT NULL,
    completed       BIGINT NOT NULL,
    PRIMARY KEY (tenant, asset_id, hour, country, browser, os, device)
);
CREATE INDEX analytics_rollup_by_tenant ON analytics_rollup (tenant, hour);

-- Startup times of those views, as a histogram (core::analytics::rollup).
CREATE TABLE analytics_rollup_startup (
    tenant    TEXT NOT NULL,
    asset_id  TEXT NOT NULL,
    hour      BIGINT NOT NULL,
    country   TEXT NOT NULL,
    browser   TEXT NOT NULL,
    os        TEXT NOT NULL,
    device    TEXT NOT NULL,
    bucket    BIGINT NOT NULL,
    views     BIGINT NOT NULL,
    PRIMARY KEY (tenant, asset_id, hour, country, browser, os, device, bucket)
);
CREATE INDEX analytics_rollup_startup_by_tenant ON analytics_rollup_startup (tenant, hour);

-- Their playing time per rendition.
CREATE TABLE analytics_rollup_renditions (
    tenant      TEXT NOT NULL,
    asset_id    TEXT NOT NULL,
    hour        BIGINT NOT NULL,
    rendition   TEXT NOT NULL,
    playing_ms  BIGINT NOT NULL,
    PRIMARY KEY (tenant, asset_id, hour, rendition)
);
CREATE INDEX analytics_rollup_renditions_by_tenant ON analytics_rollup_renditions (tenant, hour);

-- Each day's viewers (pseudonyms live one day), with the hour they were first seen that day.
CREATE TABLE analytics_daily_viewers (
    tenant     TEXT NOT NULL,
    asset_id   TEXT NOT NULL,
    day        BIGINT NOT NULL,
    pseudonym  TEXT NOT NULL,
    hour       BIGINT NOT NULL,
    country    TEXT NOT NULL,
    browser    TEXT NOT NULL,
    os         TEXT NOT NULL,
    device     TEXT NOT NULL,
    PRIMARY KEY (tenant, asset_id, day, pseudonym)
);
CREATE INDEX analytics_daily_viewers_by_tenant ON analytics_daily_viewers (tenant, hour);
