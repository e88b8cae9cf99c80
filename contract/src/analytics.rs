//! Analytics on the wire (`docs/analytics.md`): the beacon players send (its events are the
//! core's [`BeaconEvent`]s, written and read by Rust on both ends), the credential a playback
//! session grants for it, and the aggregates `GET /v1/analytics` answers.

use cinelock_core::analytics::{BeaconEvent, Consent};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// `POST /v1/beacons` (sent as `text/plain`, so that no CORS preflight is needed): events of
/// one view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BeaconBody {
    /// The session's [`BeaconGrant::credential`].
    pub credential: String,
    /// The asset played (the credential must be for it).
    pub asset_id: String,
    /// 32 random hex digits the player draws per view; never stored by the browser.
    pub view_id: String,
    /// What the page allows (`docs/privacy.md`); Do Not Track and Global Privacy Control make
    /// it `anonymous` whatever the page says.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "anonymous"))]
    pub consent: Consent,
    /// The browser sends Do Not Track or Global Privacy Control: no pseudonym is kept.
    #[serde(default)]
    pub dnt: bool,
    /// The customer's viewer id, under `full` consent only; stored as a keyed hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewer_id: Option<String>,
    /// The view's events (docs/analytics.md lists them and their fields).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub events: Vec<BeaconEvent>,
}

/// The answer to a beacon: how many of its events were taken (all, or an error).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BeaconAccepted {
    pub accepted: u32,
}

/// What a playback session grants for analytics (absent when analytics are off).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BeaconGrant {
    /// Shown with every beacon of the session's views: bound to the asset, valid for hours.
    pub credential: String,
}

/// How `GET /v1/analytics` buckets its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    Hour,
    Day,
}

/// What `GET /v1/analytics` can break views down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Country,
    Browser,
    Os,
    Device,
    Asset,
}

impl Dimension {
    /// Every dimension.
    pub const ALL: [Dimension; 5] = [
        Dimension::Country,
        Dimension::Browser,
        Dimension::Os,
        Dimension::Device,
        Dimension::Asset,
    ];
}

/// `GET /v1/analytics` query parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct AnalyticsQuery {
    /// One asset; absent: every asset of the API key's owner.
    #[serde(default)]
    #[ts(optional)]
    pub asset: Option<String>,
    /// Unix ms, inclusive; default 7 days before `to`.
    #[serde(default)]
    #[ts(optional, type = "number")]
    pub from: Option<i64>,
    /// Unix ms, exclusive; default now.
    #[serde(default)]
    #[ts(optional, type = "number")]
    pub to: Option<i64>,
    /// Default `hour` for up to two days, `day` beyond.
    #[serde(default)]
    #[ts(optional)]
    pub interval: Option<Interval>,
    /// Adds a breakdown of the range by this dimension.
    #[serde(default)]
    #[ts(optional)]
    pub breakdown: Option<Dimension>,
}

/// The metrics of a set of views (definitions in `docs/analytics.md`). Ratios are `null` when
/// nothing was there to divide by.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Metrics {
    /// Views started.
    #[ts(type = "number")]
    pub views: u64,
    /// Distinct viewers per UTC day, summed over the days (a viewer's pseudonym lives one day).
    #[ts(type = "number")]
    pub unique_viewers: u64,
    #[ts(type = "number")]
    pub watch_time_ms: u64,
    #[ts(type = "number")]
    pub playing_time_ms: u64,
    /// Over views that reached their first frame.
    #[ts(type = "number | null")]
    pub startup_time_median_ms: Option<u64>,
    #[ts(type = "number | null")]
    pub startup_time_p95_ms: Option<u64>,
    /// Views that failed with a fatal error, % of views.
    pub playback_failure_pct: Option<f64>,
    /// Views where play was asked for and no frame ever showed (failures aside), % of views.
    pub exits_before_start_pct: Option<f64>,
    /// Rebuffering time, % of watch time.
    pub rebuffer_pct: Option<f64>,
    /// Rebuffers per minute of watch time.
    pub rebuffers_per_minute: Option<f64>,
    /// Bitrate weighted by playing time, bits per second.
    pub weighted_bitrate_bps: Option<f64>,
    /// Upscaling weighted by playing time, %.
    pub upscale_pct: Option<f64>,
    /// Downscaling weighted by playing time, % (a picture larger than the player).
    pub downscale_pct: Option<f64>,
    /// The average time from a seek to its landing, ms, over the seeks that landed.
    pub seek_latency_avg_ms: Option<f64>,
    /// Views that reached the end (or 90 % of the duration), % of views that started playing.
    pub completion_pct: Option<f64>,
}

/// One bucket of the series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesPoint {
    /// Unix ms of the bucket's start.
    #[ts(type = "number")]
    pub start: i64,
    pub metrics: Metrics,
}

/// One value of a breakdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreakdownRow {
    /// A country code, `Chrome 131`, `Windows`, `mobile`, an asset id, or `unknown`.
    pub value: String,
    pub metrics: Metrics,
}

/// Playing time by video rendition over the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenditionTime {
    pub rendition: String,
    #[ts(type = "number")]
    pub playing_time_ms: u64,
}

/// `GET /v1/analytics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnalyticsReport {
    #[ts(type = "number")]
    pub from: i64,
    #[ts(type = "number")]
    pub to: i64,
    pub interval: Interval,
    pub asset: Option<String>,
    pub totals: Metrics,
    pub series: Vec<SeriesPoint>,
    pub renditions: Vec<RenditionTime>,
    pub breakdown_by: Option<Dimension>,
    pub breakdown: Vec<BreakdownRow>,
}

/// `GET /v1/analytics/ingest`: the server's analytics intake since it started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestStats {
    /// Events taken (answered 202).
    #[ts(type = "number")]
    pub accepted_events: u64,
    /// Events written (a resent event is written once).
    #[ts(type = "number")]
    pub stored_events: u64,
    /// Events refused because the queue was full (the player sends them again later).
    #[ts(type = "number")]
    pub shed_events: u64,
    /// Events waiting to be written.
    #[ts(type = "number")]
    pub queued_events: u64,
}

/// One stored event of a view (`GET /v1/analytics/views/{view_id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ViewEvent {
    pub seq: u32,
    /// The event's name (`viewstart`, `play`, `playing`, ...).
    pub kind: String,
    /// Milliseconds since the view started, on the player's clock.
    #[ts(type = "number")]
    pub at_ms: u64,
    #[ts(type = "number")]
    pub playhead_ms: u64,
}

/// `GET /v1/analytics/views/{view_id}`: one view's timeline, for the asset's owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ViewTimeline {
    pub view_id: String,
    pub asset_id: String,
    /// Unix ms when its first beacon arrived.
    #[ts(type = "number")]
    pub started_at: i64,
    /// Events still held (raw events are kept for the server's retention period).
    pub events: Vec<ViewEvent>,
}
