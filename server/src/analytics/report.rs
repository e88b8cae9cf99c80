//! `GET /v1/analytics`: the metrics of an API key's views (one asset's, or all its assets'),
//! over a time range, as totals, a series by hour or day, playing time by rendition, and a
//! breakdown by one dimension. Everything is read from the hourly rollups the writer keeps
//! exact ([`super::rollups`]), never from raw events or views, so the cost follows the hours and
//! dimensions covered, not the traffic. Views count in the hour of their start (Mux's
//! engagement rule), so ranges are whole hours. Startup percentiles come from a histogram, to
//! within 10 %. Definitions: `docs/analytics.md`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use cinelock_contract::ApiErrorCode;
use cinelock_contract::analytics::{
    AnalyticsQuery, AnalyticsReport, BreakdownRow, Dimension, IngestStats, Interval, Metrics,
    RenditionTime, SeriesPoint, ViewEvent, ViewTimeline,
};
use sqlx::FromRow;

use cinelock_core::analytics::rollup::{SUM_COLUMNS, histogram_percentile};

use crate::sql::{Val, fetch_all};

use crate::auth::{self, SCOPE_READ};
use crate::state::AppState;
use crate::{AppError, now_ms};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// The longest range one report covers.
const MAX_RANGE_MS: i64 = 800 * DAY_MS;
/// The most buckets one series has.
const MAX_BUCKETS: i64 = 2_000;
/// The most values a breakdown lists (by views).
const MAX_BREAKDOWN: usize = 50;

/// Which hours a report covers, for whom. Rollups are by the hour a view started, so a range
/// is whole hours: `from` rounds down, `to` up.
struct Filter {
    tenant: String,
    asset: Option<String>,
    /// Hours since the epoch, `from` inclusive, `to` exclusive.
    from_h: i64,
    to_h: i64,
}

impl Filter {
    /// The `WHERE` clause over a rollup table `r`, and its values.
    fn clause(&self) -> (String, Vec<Val>) {
        let mut sql = "WHERE r.tenant = $1 AND r.hour >= $2 AND r.hour < $3".to_string();
        let mut vals = vec![
            Val::from(self.tenant.as_str()),
            self.from_h.into(),
            self.to_h.into(),
        ];
        if let Some(a) = &self.asset {
            sql.push_str(" AND r.asset_id = $4");
            vals.push(a.as_str().into());
        }
        (sql, vals)
    }
}

/// Sums of one group of views, read by name from [`sums_select`].
#[derive(Debug, Default, FromRow)]
struct Sums {
    g: String,
    views: i64,
    watch_ms: i64,
    playing_ms: i64,
    failed: i64,
    ebvs: i64,
    rebuffer_ms: i64,
    rebuffer_count: i64,
    played_bits: i64,
    upscale_ms: i64,
    started: i64,
    completed: i64,
    downscale_ms: i64,
    seek_count: i64,
    seek_ms: i64,
}

/// The SELECT list of [`Sums`]: each of the rollup's sums (`SUM_COLUMNS`, the one list the
/// rollups are written by) summed over a group, under its own name.
fn sums_select() -> String {
    SUM_COLUMNS
        .iter()
        .map(|c| format!("CAST(SUM(r.{c}) AS BIGINT) AS {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn pct(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| n as f64 * 100.0 / d as f64)
}

/// A group's metrics from its sums, unique viewers and startup-time histogram.
fn metrics(s: &Sums, uniques: i64, startups: &BTreeMap<u32, i64>) -> Metrics {
    Metrics {
        views: s.views.max(0) as u64,
        unique_viewers: uniques.max(0) as u64,
        watch_time_ms: s.watch_ms.max(0) as u64,
        playing_time_ms: s.playing_ms.max(0) as u64,
        startup_time_median_ms: histogram_percentile(startups, 0.5),
        startup_time_p95_ms: histogram_percentile(startups, 0.95),
        playback_failure_pct: pct(s.failed, s.views),
        exits_before_start_pct: pct(s.ebvs, s.views),
        rebuffer_pct: pct(s.rebuffer_ms, s.watch_ms),
        rebuffers_per_minute: (s.watch_ms > 0)
            .then(|| s.rebuffer_count as f64 * 60_000.0 / s.watch_ms as f64),
        weighted_bitrate_bps: (s.playing_ms > 0)
            .then(|| s.played_bits as f64 * 1000.0 / s.playing_ms as f64),
        upscale_pct: (s.playing_ms > 0).then(|| s.upscale_ms as f64 * 100.0 / s.playing_ms as f64),
        downscale_pct: (s.playing_ms > 0)
            .then(|| s.downscale_ms as f64 * 100.0 / s.playing_ms as f64),
        seek_latency_avg_ms: (s.seek_count > 0).then(|| s.seek_ms as f64 / s.seek_count as f64),
        completion_pct: pct(s.completed, s.started),
    }
}

/// A group's figures, as read from the three rollups.
#[derive(Default)]
struct Group {
    sums: Sums,
    uniques: i64,
    startups: BTreeMap<u32, i64>,
}

/// Every group's figures (`group`: an SQL expression over the rollups' shared columns `r`).
async fn groups(
    state: &AppState,
    f: &Filter,
    group: &str,
) -> Result<BTreeMap<String, Group>, AppError> {
    let (filter, vals) = f.clause();
    let mut out: BTreeMap<String, Group> = BTreeMap::new();
    let sums: Vec<Sums> = fetch_all(
        state.db(),
        &format!(
            "SELECT CAST({group} AS TEXT) AS g, {} FROM analytics_rollup r {filter} GROUP BY 1",
            sums_select()
        ),
        vals.clone(),
    )
    .await?;
    for s in sums {
        let g = s.g.clone();
        out.entry(g).or_default().sums = s;
    }
    // Pseudonyms are per day: distinct ones count viewers per day, summed over the days.
    let uniques: Vec<(String, i64)> = fetch_all(
        state.db(),
        &format!(
            "SELECT CAST({group} AS TEXT), COUNT(DISTINCT r.pseudonym) FROM analytics_daily_viewers r {filter} GROUP BY 1"
        ),
        vals.clone(),
    )
    .await?;
    for (g, n) in uniques {
        out.entry(g).or_default().uniques = n;
    }
    let startups: Vec<(String, i64, i64)> = fetch_all(
        state.db(),
        &format!(
            "SELECT CAST({group} AS TEXT), r.bucket, CAST(SUM(r.views) AS BIGINT) FROM analytics_rollup_startup r \
             {filter} GROUP BY 1, 2"
        ),
        vals,
    )
    .await?;
    for (g, b, n) in startups {
        *out.entry(g)
            .or_default()
            .startups
            .entry(b.max(0) as u32)
            .or_default() += n;
    }
    Ok(out)
}

fn dimension_column(d: Dimension) -> &'static str {
    match d {
        Dimension::Country => "CASE WHEN r.country = '' THEN 'unknown' ELSE r.country END",
        Dimension::Browser => "r.browser",
        Dimension::Os => "r.os",
        Dimension::Device => "r.device",
        Dimension::Asset => "r.asset_id",
    }
}

/// The API key's playback metrics over a time range: totals, a series by interval, and a
/// breakdown by one dimension (docs/analytics.md).
#[utoipa::path(
    get,
    path = "/",
    tag = "analytics",
    params(AnalyticsQuery),
    responses((status = 200, body = AnalyticsReport), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<AnalyticsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AnalyticsReport>, AppError> {
    let key = auth::api_key(state.db(), &headers).await?;
    key.require(SCOPE_READ)?;
    let Query(q) = query.map_err(|e| AppError::bad(ApiErrorCode::InvalidQuery, e.body_text()))?;
    let invalid = |m: &str| AppError::bad(ApiErrorCode::InvalidQuery, m.to_owned());
    if let Some(asset) = &q.asset {
        let owner: Option<(String,)> =
            sqlx::query_as("SELECT api_key_id FROM assets WHERE id = $1")
                .bind(asset)
                .fetch_optional(state.db())
                .await?;
        if owner.is_none_or(|(o,)| o != key.id) {
            return Err(AppError::UnknownAsset);
        }
    }
    let to = q.to.unwrap_or_else(now_ms);
    let from = q.from.unwrap_or(to - 7 * DAY_MS);
    if from >= to || to - from > MAX_RANGE_MS {
        return Err(invalid("from must be before to, at most 800 days apart"));
    }
    let interval = q.interval.unwrap_or(if to - from <= 2 * DAY_MS {
        Interval::Hour
    } else {
        Interval::Day
    });
    let width = match interval {
        Interval::Hour => HOUR_MS,
        Interval::Day => DAY_MS,
    };
    // Both positive: from < to.
    let buckets = ((to - from) as u64).div_ceil(width as u64) as i64;
    if buckets > MAX_BUCKETS {
        return Err(invalid(
            "too many buckets: use a shorter range or a longer interval",
        ));
    }
    let f = Filter {
        tenant: key.id.clone(),
        asset: q.asset.clone(),
        from_h: from.div_euclid(HOUR_MS),
        to_h: (to + HOUR_MS - 1).div_euclid(HOUR_MS),
    };
    let (from, to) = (f.from_h * HOUR_MS, f.to_h * HOUR_MS);
    let width_h = width / HOUR_MS;
    let buckets = (f.to_h - f.from_h + width_h - 1) / width_h;
    let whole = groups(&state, &f, "''")
        .await?
        .remove("")
        .unwrap_or_default();
    let totals = metrics(&whole.sums, whole.uniques, &whole.startups);
    let by_bucket = groups(&state, &f, &format!("(r.hour - {}) / {width_h}", f.from_h)).await?;
    let series = (0..buckets)
        .map(|i| SeriesPoint {
            start: from + i * width,
            metrics: by_bucket
                .get(&i.to_string())
                .map(|g| metrics(&g.sums, g.uniques, &g.startups))
                .unwrap_or_default(),
        })
        .collect();
    let mut breakdown: Vec<BreakdownRow> = match q.breakdown {
        Some(d) => groups(&state, &f, dimension_column(d))
            .await?
            .into_iter()
            .filter(|(_, g)| g.sums.views > 0)
            .map(|(value, g)| BreakdownRow {
                metrics: metrics(&g.sums, g.uniques, &g.startups),
                value,
            })
            .collect(),
        None => Vec::new(),
    };
    breakdown.sort_by(|a, b| {
        b.metrics
            .views
            .cmp(&a.metrics.views)
            .then(a.value.cmp(&b.value))
    });
    breakdown.truncate(MAX_BREAKDOWN);
    let (filter, vals) = f.clause();
    let renditions = fetch_all::<(String, i64)>(
        state.db(),
        &format!(
            "SELECT r.rendition, CAST(SUM(r.playing_ms) AS BIGINT) FROM analytics_rollup_renditions r \
             {filter} GROUP BY r.rendition ORDER BY 2 DESC"
        ),
        vals,
    )
    .await?
    .into_iter()
    .filter(|(_, ms)| *ms > 0)
    .map(|(rendition, ms)| RenditionTime {
        rendition,
        playing_time_ms: ms.max(0) as u64,
    })
    .collect();
    Ok(Json(AnalyticsReport {
        from,
        to,
        interval,
        asset: q.asset,
        totals,
        series,
        renditions,
        breakdown_by: q.breakdown,
        breakdown,
    }))
}

/// A stored event, as `GET /v1/analytics/views/{view_id}` lists it.
#[derive(Debug, FromRow)]
struct EventRow {
    seq: i64,
    kind: String,
    at_ms: i64,
    playhead_ms: i64,
}

/// `GET /v1/analytics/views/{view_id}`: one of the key's views and its events, in order.
#[utoipa::path(
    get,
    path = "/views/{view_id}",
    tag = "analytics",
    params(("view_id" = String, Path)),
    responses((status = 200, body = ViewTimeline), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn view(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path(view_id): axum::extract::Path<String>,
) -> Result<Json<ViewTimeline>, AppError> {
    let key = auth::api_key(state.db(), &headers).await?;
    key.require(SCOPE_READ)?;
    let row: Option<(String, i64)> = sqlx::query_as(
        "SELECT asset_id, started_at FROM analytics_views WHERE view_id = $1 AND tenant = $2",
    )
    .bind(&view_id)
    .bind(&key.id)
    .fetch_optional(state.db())
    .await?;
    let (asset_id, started_at) = row.ok_or(AppError::NotFound)?;
    let events: Vec<EventRow> = sqlx::query_as(
        "SELECT seq, kind, at_ms, playhead_ms FROM analytics_events WHERE view_id = $1 ORDER BY seq",
    )
    .bind(&view_id)
    .fetch_all(state.db())
    .await?;
    Ok(Json(ViewTimeline {
        view_id,
        asset_id,
        started_at,
        events: events
            .into_iter()
            .map(|e| ViewEvent {
                seq: e.seq as u32,
                kind: e.kind,
                at_ms: e.at_ms.max(0) as u64,
                playhead_ms: e.playhead_ms.max(0) as u64,
            })
            .collect(),
    }))
}

/// `GET /v1/analytics/ingest`: the intake's counters since the server started.
#[utoipa::path(
    get,
    path = "/ingest",
    tag = "analytics",
    responses((status = 200, body = IngestStats), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn ingest_stats(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<IngestStats>, AppError> {
    let key = auth::api_key(state.db(), &headers).await?;
    key.require(SCOPE_READ)?;
    let a = state.analytics().ok_or(AppError::NotFound)?;
    Ok(Json(a.intake().stats()))
}
