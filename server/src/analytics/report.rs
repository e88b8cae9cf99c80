//! `GET /v1/analytics`: the metrics of an API key's views (one asset's, or all its assets'),
//! over a time range, as totals, a series by hour or day, playing time by rendition, and a
//! breakdown by one dimension. Everything is read from the per-view rows the writer keeps up
//! to date ([`super::writer`]), never from raw events, so the cost follows the number of views.
//! Views count in the bucket of their start (Mux's engagement rule). Definitions:
//! `docs/analytics.md`.

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

use super::sql::{Val, fetch_all};

use crate::auth::{self, SCOPE_READ};
use crate::routes::AppState;
use crate::{AppError, now_ms};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// The longest range one report covers.
const MAX_RANGE_MS: i64 = 800 * DAY_MS;
/// The most buckets one series has.
const MAX_BUCKETS: i64 = 2_000;
/// The most values a breakdown lists (by views).
const MAX_BREAKDOWN: usize = 50;

/// Which views a report covers.
struct Filter {
    tenant: String,
    asset: Option<String>,
    from: i64,
    to: i64,
}

impl Filter {
    /// The `WHERE` clause over views `v`, and its values.
    fn clause(&self) -> (String, Vec<Val>) {
        // A view is an attempt to play (Mux's definition): a player never asked to play made
        // none.
        let mut sql =
            "WHERE v.tenant = $1 AND v.started_at >= $2 AND v.started_at < $3 AND v.intent = 1"
                .to_string();
        let mut vals = vec![
            Val::from(self.tenant.as_str()),
            self.from.into(),
            self.to.into(),
        ];
        if let Some(a) = &self.asset {
            sql.push_str(" AND v.asset_id = $4");
            vals.push(a.as_str().into());
        }
        (sql, vals)
    }
}

/// Sums of one group of views.
#[derive(Debug, Default, FromRow)]
struct Sums {
    g: String,
    views: i64,
    uniques: i64,
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
}

/// Unique viewers: each pseudonym is made under its own day's salt, so a viewer seen on two
/// days has two, and counting distinct pseudonyms counts viewers per day, summed over days.
const SUMS: &str = "COUNT(*) AS views, \
    COUNT(DISTINCT v.pseudonym) AS uniques, \
    CAST(COALESCE(SUM(v.watch_ms), 0) AS BIGINT) AS watch_ms, \
    CAST(COALESCE(SUM(v.playing_ms), 0) AS BIGINT) AS playing_ms, \
    CAST(COALESCE(SUM(v.failed), 0) AS BIGINT) AS failed, \
    CAST(COALESCE(SUM(CASE WHEN v.intent = 1 AND v.startup_ms IS NULL AND v.failed = 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS ebvs, \
    CAST(COALESCE(SUM(v.rebuffer_ms), 0) AS BIGINT) AS rebuffer_ms, \
    CAST(COALESCE(SUM(v.rebuffer_count), 0) AS BIGINT) AS rebuffer_count, \
    CAST(COALESCE(SUM(v.played_bits), 0) AS BIGINT) AS played_bits, \
    CAST(COALESCE(SUM(v.upscale_ms), 0) AS BIGINT) AS upscale_ms, \
    CAST(COALESCE(SUM(CASE WHEN v.startup_ms IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS started, \
    CAST(COALESCE(SUM(CASE WHEN v.startup_ms IS NOT NULL AND (v.ended = 1 OR (v.duration_ms > 0 AND v.max_playhead_ms * 10 >= v.duration_ms * 9)) THEN 1 ELSE 0 END), 0) AS BIGINT) AS completed";

fn pct(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| n as f64 * 100.0 / d as f64)
}

fn metrics(s: &Sums, startup: Startup) -> Metrics {
    Metrics {
        views: s.views as u64,
        unique_viewers: s.uniques as u64,
        watch_time_ms: s.watch_ms as u64,
        playing_time_ms: s.playing_ms as u64,
        startup_time_median_ms: startup.median,
        startup_time_p95_ms: startup.p95,
        playback_failure_pct: pct(s.failed, s.views),
        exits_before_start_pct: pct(s.ebvs, s.views),
        rebuffer_pct: pct(s.rebuffer_ms, s.watch_ms),
        rebuffers_per_minute: (s.watch_ms > 0)
            .then(|| s.rebuffer_count as f64 * 60_000.0 / s.watch_ms as f64),
        weighted_bitrate_bps: (s.playing_ms > 0)
            .then(|| s.played_bits as f64 * 1000.0 / s.playing_ms as f64),
        upscale_pct: (s.playing_ms > 0).then(|| s.upscale_ms as f64 * 100.0 / s.playing_ms as f64),
        completion_pct: pct(s.completed, s.started),
    }
}

impl Sums {
    /// Adds another group's sums (not its unique viewers: a viewer may be in both).
    fn add(&mut self, o: &Sums) {
        self.views += o.views;
        self.watch_ms += o.watch_ms;
        self.playing_ms += o.playing_ms;
        self.failed += o.failed;
        self.ebvs += o.ebvs;
        self.rebuffer_ms += o.rebuffer_ms;
        self.rebuffer_count += o.rebuffer_count;
        self.played_bits += o.played_bits;
        self.upscale_ms += o.upscale_ms;
        self.started += o.started;
        self.completed += o.completed;
    }
}

/// Sums per group (`group`: an SQL expression over `v`), in one pass over the views.
async fn sums(
    state: &AppState,
    f: &Filter,
    group: &str,
) -> Result<BTreeMap<String, Sums>, AppError> {
    let (filter, vals) = f.clause();
    let rows: Vec<Sums> = fetch_all(
        state.db(),
        &format!(
            "SELECT CAST({group} AS TEXT) AS g, {SUMS} FROM analytics_views v {filter} GROUP BY 1"
        ),
        vals,
    )
    .await?;
    Ok(rows.into_iter().map(|s| (s.g.clone(), s)).collect())
}

/// The nearest-rank median and 95th percentile of startup times per group, computed by the
/// database (window functions, in SQLite and PostgreSQL alike): two rows per group come back,
/// not every view's time.
async fn startups(
    state: &AppState,
    f: &Filter,
    group: &str,
) -> Result<BTreeMap<String, Startup>, AppError> {
    let (filter, vals) = f.clause();
    let rows: Vec<(String, i64, i64, i64)> = fetch_all(
        state.db(),
        &format!(
            "SELECT g, startup_ms, rn, n FROM (SELECT CAST({group} AS TEXT) AS g, v.startup_ms, \
             ROW_NUMBER() OVER (PARTITION BY {group} ORDER BY v.startup_ms) AS rn, \
             COUNT(*) OVER (PARTITION BY {group}) AS n \
             FROM analytics_views v {filter} AND v.startup_ms IS NOT NULL) t \
             WHERE rn = (n + 1) / 2 OR rn = (95 * n + 99) / 100"
        ),
        vals,
    )
    .await?;
    let mut out: BTreeMap<String, Startup> = BTreeMap::new();
    for (g, ms, rn, n) in rows {
        let e = out.entry(g).or_default();
        let ms = Some(ms.max(0) as u64);
        // ceil(n / 2) and ceil(0.95 n): the ranks of the nearest-rank percentiles.
        if rn == (n + 1) / 2 {
            e.median = ms;
        }
        if rn == (95 * n + 99) / 100 {
            e.p95 = ms;
        }
    }
    Ok(out)
}

/// A group's startup percentiles.
#[derive(Debug, Default, Clone, Copy)]
struct Startup {
    median: Option<u64>,
    p95: Option<u64>,
}

fn dimension_column(d: Dimension) -> &'static str {
    match d {
        Dimension::Country => "COALESCE(v.country, 'unknown')",
        Dimension::Browser => "v.browser",
        Dimension::Os => "v.os",
        Dimension::Device => "v.device",
        Dimension::Asset => "v.asset_id",
    }
}

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
        from,
        to,
    };
    let bucket = format!("(v.started_at - {from}) / {width}");
    let by_bucket = sums(&state, &f, &bucket).await?;
    let bucket_startups = startups(&state, &f, &bucket).await?;
    // Totals are the buckets' sums; unique viewers are counted once over the whole range.
    let mut total = Sums::default();
    for s in by_bucket.values() {
        total.add(s);
    }
    let all = sums(&state, &f, "''").await?;
    total.uniques = all.into_values().map(|s| s.uniques).sum();
    let all_startups = startups(&state, &f, "''").await?;
    let totals = metrics(
        &total,
        all_startups.into_values().next().unwrap_or_default(),
    );
    let series = (0..buckets)
        .map(|i| {
            let key = i.to_string();
            SeriesPoint {
                start: from + i * width,
                metrics: by_bucket
                    .get(&key)
                    .map(|s| metrics(s, bucket_startups.get(&key).copied().unwrap_or_default()))
                    .unwrap_or_default(),
            }
        })
        .collect();
    let mut breakdown: Vec<BreakdownRow> = match q.breakdown {
        Some(d) => {
            let column = dimension_column(d);
            let starts = startups(&state, &f, column).await?;
            sums(&state, &f, column)
                .await?
                .into_iter()
                .map(|(value, s)| BreakdownRow {
                    metrics: metrics(&s, starts.get(&value).copied().unwrap_or_default()),
                    value,
                })
                .collect()
        }
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
            "SELECT r.rendition, CAST(SUM(r.playing_ms) AS BIGINT) FROM analytics_view_renditions r \
             JOIN analytics_views v ON v.view_id = r.view_id {filter} GROUP BY r.rendition ORDER BY 2 DESC"
        ),
        vals,
    )
    .await?
    .into_iter()
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
pub async fn ingest_stats(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<IngestStats>, AppError> {
    let key = auth::api_key(state.db(), &headers).await?;
    key.require(SCOPE_READ)?;
    let a = state.analytics().ok_or(AppError::NotFound)?;
    Ok(Json(a.intake().stats()))
}
