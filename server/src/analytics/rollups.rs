//! The per-view rows and the hourly rollups, brought up to date by each flush of the writer
//! ([`super::writer`]): the views of the flush are read as stored, merged with what the flush
//! says ([`ViewRecord::merge`]), written back, and the difference each view's contribution
//! made ([`cinelock_core::analytics::rollup::Contribution::delta`]) is added to its rollup rows, its startup-time histogram
//! bucket and its rendition times; a view's pseudonym, the first time it is seen that day,
//! joins the day's viewers. All in the flush's transaction.

use std::collections::{BTreeMap, HashMap};

use cinelock_core::analytics::Totals;
use cinelock_core::analytics::ViewFacts;
use cinelock_core::analytics::rollup::{SUM_COLUMNS, SUMS, ViewRecord};
use cinelock_core::analytics::salt::day_of;
use sqlx::{Any, FromRow, Transaction};

use super::masked::ViewDims;
use crate::sql::{Val, fetch_tx, insert_rows};

const HOUR_MS: i64 = 3_600_000;

/// A view as stored.
#[derive(Debug, FromRow)]
struct Stored {
    view_id: String,
    asset_id: String,
    tenant: String,
    started_at: i64,
    country: Option<String>,
    browser: String,
    os: String,
    device: String,
    duration_ms: Option<i64>,
    intent: i64,
    startup_ms: Option<i64>,
    failed: i64,
    error_code: Option<String>,
    ended: i64,
    watch_ms: i64,
    playing_ms: i64,
    rebuffer_count: i64,
    rebuffer_ms: i64,
    played_bits: i64,
    upscale_ms: i64,
    downscale_ms: i64,
    seek_count: i64,
    seek_ms: i64,
    max_playhead_ms: i64,
    player_width: i64,
    player_height: i64,
    pseudonym: Option<String>,
    viewer_hash: Option<String>,
}

const STORED: &str = "view_id, asset_id, tenant, started_at, country, browser, os, device, \
    duration_ms, intent, startup_ms, failed, error_code, ended, watch_ms, playing_ms, rebuffer_count, \
    rebuffer_ms, played_bits, upscale_ms, downscale_ms, seek_count, seek_ms, max_playhead_ms, \
    player_width, player_height, pseudonym, viewer_hash";

/// The rollup row a view counts in: who, which hour it started, its coarse dimensions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    tenant: String,
    asset_id: String,
    hour: i64,
    country: String,
    browser: String,
    os: String,
    device: String,
}

impl Key {
    fn vals(&self) -> Vec<Val> {
        vec![
            self.tenant.as_str().into(),
            self.asset_id.as_str().into(),
            self.hour.into(),
            self.country.as_str().into(),
            self.browser.as_str().into(),
            self.os.as_str().into(),
            self.device.as_str().into(),
        ]
    }
}

const KEY: &str = "tenant, asset_id, hour, country, browser, os, device";

fn u(v: i64) -> u64 {
    v.max(0) as u64
}

impl Stored {
    fn record(&self, renditions: BTreeMap<String, u64>) -> ViewRecord {
        ViewRecord {
            duration_ms: self.duration_ms.map(u),
            intent: self.intent != 0,
            startup_ms: self.startup_ms.map(u),
            failed: self.failed != 0,
            error_code: self.error_code.clone(),
            ended: self.ended != 0,
            totals: Totals {
                watch_ms: u(self.watch_ms),
                playing_ms: u(self.playing_ms),
                rebuffer_count: u(self.rebuffer_count) as u32,
                rebuffer_ms: u(self.rebuffer_ms),
                played_bits: u(self.played_bits),
                upscale_ms: u(self.upscale_ms),
                downscale_ms: u(self.downscale_ms),
                seek_count: u(self.seek_count).min(u64::from(u32::MAX)) as u32,
                seek_ms: u(self.seek_ms),
                max_playhead_ms: u(self.max_playhead_ms),
                renditions,
                player_width: u(self.player_width) as u32,
                player_height: u(self.player_height) as u32,
            },
            pseudonym: self.pseudonym.clone(),
            viewer_hash: self.viewer_hash.clone(),
        }
    }

    fn key(&self) -> Key {
        Key {
            tenant: self.tenant.clone(),
            asset_id: self.asset_id.clone(),
            hour: self.started_at.div_euclid(HOUR_MS),
            country: self.country.clone().unwrap_or_default(),
            browser: self.browser.clone(),
            os: self.os.clone(),
            device: self.device.clone(),
        }
    }
}

fn key_of(d: &ViewDims) -> Key {
    Key {
        tenant: d.tenant.clone(),
        asset_id: d.asset_id.clone(),
        hour: d.received_at.div_euclid(HOUR_MS),
        country: d.country.clone().unwrap_or_default(),
        browser: d.browser.clone(),
        os: d.os.clone(),
        device: d.device.clone(),
    }
}

/// Brings the flush's views and their rollups up to date. `per`: rows per statement.
pub(super) async fn apply(
    tx: &mut Transaction<'_, Any>,
    postgres: bool,
    views: &[(&ViewDims, ViewFacts)],
    per: usize,
) -> Result<(), sqlx::Error> {
    let (stored, stored_renditions) = read(tx, postgres, views, per).await?;
    let mut view_rows = Vec::new();
    let mut rendition_rows = Vec::new();
    let mut sums: BTreeMap<Key, [i64; SUMS]> = BTreeMap::new();
    let mut startups: BTreeMap<(Key, u32), i64> = BTreeMap::new();
    let mut renditions: BTreeMap<(Key, String), i64> = BTreeMap::new();
    let mut viewers = Vec::new();
    for (d, f) in views {
        let old = stored.get(d.view_id.as_str());
        // A view id is the player's random draw: another asset's beacons never touch it.
        if old.is_some_and(|s| s.asset_id != d.asset_id || s.tenant != d.tenant) {
            continue;
        }
        let mut record = old.map_or_else(ViewRecord::default, |s| {
            s.record(
                stored_renditions
                    .get(d.view_id.as_str())
                    .cloned()
                    .unwrap_or_default(),
            )
        });
        let before = record.contribution();
        let had_pseudonym = record.pseudonym.is_some();
        record.merge(f, d.pseudonym.as_deref(), d.viewer_hash.as_deref());
        let delta = record.contribution().delta(&before);
        let key = old.map_or_else(|| key_of(d), Stored::key);
        let started_at = old.map_or(d.received_at, |s| s.started_at);
        if !delta.is_empty() {
            let row = sums.entry(key.clone()).or_default();
            for (r, v) in row.iter_mut().zip(delta.sums) {
                *r += v;
            }
            for (b, v) in delta.startups {
                *startups.entry((key.clone(), b)).or_default() += v;
            }
            for (r, v) in delta.renditions {
                *renditions.entry((key.clone(), r)).or_default() += v;
            }
        }
        if let (false, Some(p)) = (had_pseudonym, &record.pseudonym) {
            viewers.push((key.clone(), day_of(started_at), p.clone()));
        }
        for (r, ms) in &record.totals.renditions {
            rendition_rows.push(vec![
                Val::from(d.view_id.as_str()),
                r.as_str().into(),
                (*ms as i64).into(),
            ]);
        }
        view_rows.push(view_row(d, old, started_at, &record));
    }
    for chunk in chunked(view_rows, (per / 3).max(1)) {
        insert_rows(tx, VIEW_COLUMNS, chunk, &view_update()).await?;
    }
    for chunk in chunked(rendition_rows, per) {
        insert_rows(
            tx,
            "analytics_view_renditions (view_id, rendition, playing_ms)",
            chunk,
            "ON CONFLICT (view_id, rendition) DO UPDATE SET playing_ms = excluded.playing_ms",
        )
        .await?;
    }
    let rollup_rows = sums
        .into_iter()
        .map(|(k, s)| {
            let mut row = k.vals();
            row.extend(s.into_iter().map(Val::Int));
            row
        })
        .collect();
    let add = |cols: &[&str], table: &str| {
        cols.iter()
            .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for chunk in chunked(rollup_rows, (per / 3).max(1)) {
        insert_rows(
            tx,
            &format!("analytics_rollup ({KEY}, {})", SUM_COLUMNS.join(", ")),
            chunk,
            &format!(
                "ON CONFLICT ({KEY}) DO UPDATE SET {}",
                add(&SUM_COLUMNS, "analytics_rollup")
            ),
        )
        .await?;
    }
    let startup_rows = startups
        .into_iter()
        .filter(|(_, n)| *n != 0)
        .map(|((k, b), n)| {
            let mut row = k.vals();
            row.extend([Val::Int(i64::from(b)), Val::Int(n)]);
            row
        })
        .collect();
    for chunk in chunked(startup_rows, per) {
        insert_rows(
            tx,
            &format!("analytics_rollup_startup ({KEY}, bucket, views)"),
            chunk,
            &format!(
                "ON CONFLICT ({KEY}, bucket) DO UPDATE SET {}",
                add(&["views"], "analytics_rollup_startup")
            ),
        )
        .await?;
    }
    let rendition_rollup = renditions
        .into_iter()
        .filter(|(_, ms)| *ms != 0)
        .map(|((k, r), ms)| {
            vec![
                Val::from(k.tenant.as_str()),
                k.asset_id.as_str().into(),
                k.hour.into(),
                r.into(),
                ms.into(),
            ]
        })
        .collect();
    for chunk in chunked(rendition_rollup, per) {
        insert_rows(
            tx,
            "analytics_rollup_renditions (tenant, asset_id, hour, rendition, playing_ms)",
            chunk,
            &format!(
                "ON CONFLICT (tenant, asset_id, hour, rendition) DO UPDATE SET {}",
                add(&["playing_ms"], "analytics_rollup_renditions")
            ),
        )
        .await?;
    }
    let viewer_rows = viewers
        .into_iter()
        .map(|(k, day, p)| {
            vec![
                Val::from(k.tenant.as_str()),
                k.asset_id.as_str().into(),
                day.into(),
                p.into(),
                k.hour.into(),
                k.country.as_str().into(),
                k.browser.as_str().into(),
                k.os.as_str().into(),
                k.device.as_str().into(),
            ]
        })
        .collect();
    for chunk in chunked(viewer_rows, per) {
        insert_rows(
            tx,
            "analytics_daily_viewers (tenant, asset_id, day, pseudonym, hour, country, browser, os, device)",
            chunk,
            "ON CONFLICT (tenant, asset_id, day, pseudonym) DO NOTHING",
        )
        .await?;
    }
    Ok(())
}

fn chunked(rows: Vec<Vec<Val>>, n: usize) -> Vec<Vec<Vec<Val>>> {
    let mut out = Vec::new();
    let mut it = rows.into_iter().peekable();
    while it.peek().is_some() {
        out.push(it.by_ref().take(n).collect());
    }
    out
}

/// The stored rows (and rendition times) of the flush's views; locked on PostgreSQL, where
/// another server process may write the same view.
async fn read(
    tx: &mut Transaction<'_, Any>,
    postgres: bool,
    views: &[(&ViewDims, ViewFacts)],
    per: usize,
) -> Result<
    (
        HashMap<String, Stored>,
        HashMap<String, BTreeMap<String, u64>>,
    ),
    sqlx::Error,
> {
    let mut stored = HashMap::new();
    let mut renditions: HashMap<String, BTreeMap<String, u64>> = HashMap::new();
    let ids: Vec<&str> = views.iter().map(|(d, _)| d.view_id.as_str()).collect();
    let lock = if postgres { " FOR UPDATE" } else { "" };
    for chunk in ids.chunks(per.max(1)) {
        let list = (1..=chunk.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let vals: Vec<Val> = chunk.iter().map(|v| Val::from(*v)).collect();
        let rows: Vec<Stored> = fetch_tx(
            tx,
            &format!("SELECT {STORED} FROM analytics_views WHERE view_id IN ({list}){lock}"),
            vals.clone(),
        )
        .await?;
        stored.extend(rows.into_iter().map(|s| (s.view_id.clone(), s)));
        let rows: Vec<(String, String, i64)> = fetch_tx(
            tx,
            &format!(
                "SELECT view_id, rendition, playing_ms FROM analytics_view_renditions WHERE view_id IN ({list})"
            ),
            vals,
        )
        .await?;
        for (v, r, ms) in rows {
            renditions.entry(v).or_default().insert(r, u(ms));
        }
    }
    Ok((stored, renditions))
}

const VIEW_COLUMNS: &str = "analytics_views (view_id, asset_id, tenant, started_at, day, last_seen, \
    country, browser, os, device, referrer, network, pseudonym, viewer_hash, duration_ms, intent, \
    startup_ms, failed, error_code, ended, watch_ms, playing_ms, rebuffer_count, rebuffer_ms, \
    played_bits, upscale_ms, downscale_ms, seek_count, seek_ms, max_playhead_ms, player_width, \
    player_height)";

/// On a stored view, what the merge decided replaces the stored values; the view's start,
/// dimensions and referrer stay.
fn view_update() -> String {
    let set: Vec<String> = [
        "last_seen",
        "pseudonym",
        "viewer_hash",
        "duration_ms",
        "intent",
        "startup_ms",
        "failed",
        "error_code",
        "ended",
        "watch_ms",
        "playing_ms",
        "rebuffer_count",
        "rebuffer_ms",
        "played_bits",
        "upscale_ms",
        "downscale_ms",
        "seek_count",
        "seek_ms",
        "max_playhead_ms",
        "player_width",
        "player_height",
    ]
    .iter()
    .map(|c| format!("{c} = excluded.{c}"))
    .collect();
    format!("ON CONFLICT (view_id) DO UPDATE SET {}", set.join(", "))
}

fn view_row(d: &ViewDims, old: Option<&Stored>, started_at: i64, r: &ViewRecord) -> Vec<Val> {
    let t = &r.totals;
    let n = |v: u64| Val::Int(v as i64);
    let b = |v: bool| Val::Int(i64::from(v));
    vec![
        Val::from(d.view_id.as_str()),
        d.asset_id.as_str().into(),
        d.tenant.as_str().into(),
        started_at.into(),
        day_of(started_at).into(),
        d.received_at.into(),
        old.map_or(d.country.clone(), |s| s.country.clone()).into(),
        old.map_or(d.browser.as_str(), |s| s.browser.as_str())
            .into(),
        old.map_or(d.os.as_str(), |s| s.os.as_str()).into(),
        old.map_or(d.device.as_str(), |s| s.device.as_str()).into(),
        d.referrer.clone().into(),
        d.network.clone().into(),
        r.pseudonym.clone().into(),
        r.viewer_hash.clone().into(),
        r.duration_ms.map(|v| v as i64).into(),
        b(r.intent),
        r.startup_ms.map(|v| v as i64).into(),
        b(r.failed),
        r.error_code.clone().into(),
        b(r.ended),
        n(t.watch_ms),
        n(t.playing_ms),
        Val::Int(i64::from(t.rebuffer_count)),
        n(t.rebuffer_ms),
        n(t.played_bits),
        n(t.upscale_ms),
        n(t.downscale_ms),
        Val::Int(i64::from(t.seek_count)),
        n(t.seek_ms),
        n(t.max_playhead_ms),
        Val::Int(i64::from(t.player_width)),
        Val::Int(i64::from(t.player_height)),
    ]
}
