//! How long analytics live: raw events for the configured retention (90 days by default),
//! per-view rows, rendition times and the hourly rollups at most 25 months ([`ROLLUP_RETENTION_MS`], the CNIL's
//! bound), salts 48 hours ([`super::salts`]). An asset's analytics go with the asset.

use sqlx::AnyPool;

use super::salts::Salts;
use crate::AppError;

/// The hourly rollups (and the day's viewers), kept as long as the views.
const ROLLUPS: [&str; 4] = [
    "analytics_rollup",
    "analytics_rollup_startup",
    "analytics_rollup_renditions",
    "analytics_daily_viewers",
];

/// Per-view rows are kept at most 760 days (25 months).
pub const ROLLUP_RETENTION_MS: i64 = 760 * 86_400_000;

/// What a purge deleted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub events: u64,
    pub views: u64,
    pub salts: u64,
}

/// Deletes what is past its time at `now_ms`.
pub async fn purge(
    db: &AnyPool,
    salts: &Salts,
    events_retention_ms: i64,
    now_ms: i64,
) -> Result<Purged, AppError> {
    let events = sqlx::query("DELETE FROM analytics_events WHERE received_at < $1")
        .bind(now_ms - events_retention_ms)
        .execute(db)
        .await?
        .rows_affected();
    let cutoff = now_ms - ROLLUP_RETENTION_MS;
    sqlx::query(
        "DELETE FROM analytics_view_renditions WHERE view_id IN \
         (SELECT view_id FROM analytics_views WHERE started_at < $1)",
    )
    .bind(cutoff)
    .execute(db)
    .await?;
    let views = sqlx::query("DELETE FROM analytics_views WHERE started_at < $1")
        .bind(cutoff)
        .execute(db)
        .await?
        .rows_affected();
    let hour = cutoff.div_euclid(3_600_000);
    for table in ROLLUPS {
        sqlx::query(&format!("DELETE FROM {table} WHERE hour < $1"))
            .bind(hour)
            .execute(db)
            .await?;
    }
    let salts = salts.purge(db, now_ms).await?;
    Ok(Purged {
        events,
        views,
        salts,
    })
}

/// Deletes every analytics row of an asset (when the asset itself is deleted).
pub async fn forget_asset(db: &AnyPool, asset_id: &str) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM analytics_events WHERE asset_id = $1")
        .bind(asset_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "DELETE FROM analytics_view_renditions WHERE view_id IN \
         (SELECT view_id FROM analytics_views WHERE asset_id = $1)",
    )
    .bind(asset_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM analytics_views WHERE asset_id = $1")
        .bind(asset_id)
        .execute(&mut *tx)
        .await?;
    for table in ROLLUPS {
        sqlx::query(&format!("DELETE FROM {table} WHERE asset_id = $1"))
            .bind(asset_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
