-- Seek latency and downscaling (core::analytics::Totals): per view, and summed in the hourly
-- rollups. Views and rollups from before count none.
ALTER TABLE analytics_views ADD COLUMN downscale_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE analytics_views ADD COLUMN seek_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE analytics_views ADD COLUMN seek_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE analytics_rollup ADD COLUMN downscale_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE analytics_rollup ADD COLUMN seek_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE analytics_rollup ADD COLUMN seek_ms BIGINT NOT NULL DEFAULT 0;
