//! `DELETE /v1/assets/{id}`: an asset's owner deletes everything about it, so it no longer
//! exists in the cloud.
//!
//! The order is the point. First, in one transaction, the asset is marked `deleting` (every
//! API call about it answers 404 from then on), its jobs are cancelled, and its wrapped content
//! key is destroyed: from that moment every package object left anywhere (a bucket, a CDN
//! cache, a backup) is unreadable (crypto-shredding). The source object holds its own data key,
//! sealed to the workers' key in its header, so it is the first object removed. Then the
//! multipart uploads still open are aborted, every object under the asset's prefix (source,
//! packages, posters) is deleted, its analytics are forgotten, and its rows go, the asset's
//! last. Open playback sessions end with it: they are checked against the asset on every
//! request for URLs.
//!
//! Idempotent: a repeated DELETE by the owner answers the same. A deletion that fails half-way
//! (the store unreachable, say) answers `202 deleting` and [`sweep`] finishes it; the sweep
//! also deletes, for a day, objects that a worker still running at the time wrote afterwards.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use cinelock_contract::assets::{DeletedAsset, DeletionStatus};
use cinelock_contract::webhooks::WebhookEventType;

use crate::AppError;
use crate::auth::{self, SCOPE_WRITE};
use crate::db::now_ms;
use crate::state::AppState;

/// How long after a deletion the sweep looks for objects written late.
const LATE_OBJECTS_MS: i64 = 24 * 3600 * 1000;

/// An asset's deletion as stored.
#[derive(Debug, sqlx::FromRow)]
struct DeletionRow {
    api_key_id: String,
    finished_at: Option<i64>,
}

/// A multipart upload of the asset that the store may still hold.
#[derive(Debug, sqlx::FromRow)]
struct OpenUpload {
    object_key: String,
    s3_upload_id: String,
}

fn answer(asset_id: String, status: DeletionStatus) -> (StatusCode, Json<DeletedAsset>) {
    let code = match status {
        DeletionStatus::Deleted => StatusCode::OK,
        DeletionStatus::Deleting => StatusCode::ACCEPTED,
    };
    (code, Json(DeletedAsset { asset_id, status }))
}

/// `DELETE /v1/assets/{id}` (API key, uploads:write).
#[utoipa::path(
    delete,
    path = "/assets/{id}",
    tag = "assets",
    params(("id" = String, Path, description = "The asset id")),
    responses((status = 200, description = "Deleted", body = DeletedAsset), (status = 202, description = "Deletion under way", body = DeletedAsset), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<DeletedAsset>), AppError> {
    let key = auth::api_key(state.db(), &headers).await?;
    key.require(SCOPE_WRITE)?;
    let earlier: Option<DeletionRow> =
        sqlx::query_as("SELECT api_key_id, finished_at FROM asset_deletions WHERE asset_id = $1")
            .bind(&id)
            .fetch_optional(state.db())
            .await?;
    match earlier {
        // Another customer's asset is indistinguishable from a missing one.
        Some(d) if d.api_key_id != key.id => return Err(AppError::UnknownAsset),
        Some(d) if d.finished_at.is_some() => return Ok(answer(id, DeletionStatus::Deleted)),
        // Asked for before and not finished: finish it now.
        Some(_) => {}
        None => begin(&state, &id, &key.id).await?,
    }
    match destroy(&state, &id).await {
        Ok(()) => Ok(answer(id, DeletionStatus::Deleted)),
        Err(e) => {
            tracing::warn!(asset_id = id, error = %e, "deletion unfinished; the sweep finishes it");
            Ok(answer(id, DeletionStatus::Deleting))
        }
    }
}

/// Records the deletion, hides the asset, cancels its jobs and destroys its content key, in
/// one transaction.
async fn begin(state: &AppState, id: &str, owner: &str) -> Result<(), AppError> {
    if crate::db::asset_owner(state.db(), id).await?.as_deref() != Some(owner) {
        return Err(AppError::UnknownAsset);
    }
    let now = now_ms();
    let mut tx = state.db().begin().await?;
    sqlx::query(
        "INSERT INTO asset_deletions (asset_id, api_key_id, requested_at) VALUES ($1, $2, $3)",
    )
    .bind(id)
    .bind(owner)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    crate::db::set_asset_status(&mut tx, id, "deleting", now).await?;
    crate::webhooks::outbox::emit(
        &mut tx,
        WebhookEventType::AssetDeleted,
        crate::webhooks::outbox::about(id),
        now,
    )
    .await?;
    sqlx::query(
        "UPDATE jobs SET status = 'cancelled', finished_at = $1, updated_at = $1, lease_token = NULL, \
         lease_expires_at = NULL WHERE asset_id = $2 AND status IN ('queued', 'running')",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    // Crypto-shredding: without its wrapped content key no package object opens again.
    sqlx::query("DELETE FROM asset_keys WHERE asset_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(
        asset_id = id,
        "asset deletion started; content key destroyed"
    );
    Ok(())
}

/// Everything after the keys: objects, analytics, rows. Safe to run again.
async fn destroy(state: &AppState, id: &str) -> Result<(), AppError> {
    let storage = state.storage()?;
    // The source first: its header holds its data key.
    storage
        .delete_prefix(&format!("assets/{id}/source"))
        .await?;
    let open: Vec<OpenUpload> = sqlx::query_as(
        "SELECT object_key, s3_upload_id FROM uploads WHERE asset_id = $1 AND status = 'open'",
    )
    .bind(id)
    .fetch_all(state.db())
    .await?;
    for u in open {
        storage.abort(&u.object_key, &u.s3_upload_id).await?;
    }
    let objects = storage.delete_prefix(&format!("assets/{id}/")).await?;
    crate::analytics::retention::forget_asset(state.db(), id).await?;
    let mut tx = state.db().begin().await?;
    for statement in [
        "DELETE FROM upload_parts WHERE upload_id IN (SELECT id FROM uploads WHERE asset_id = $1)",
        "DELETE FROM uploads WHERE asset_id = $1",
        "DELETE FROM jobs WHERE asset_id = $1",
        "DELETE FROM packages WHERE asset_id = $1",
        "DELETE FROM captions WHERE asset_id = $1",
        "DELETE FROM asset_keys WHERE asset_id = $1",
        "DELETE FROM asset_policies WHERE asset_id = $1",
        "DELETE FROM source_headers WHERE asset_id = $1",
        "UPDATE assets SET linked_to = NULL WHERE linked_to = $1",
        "DELETE FROM assets WHERE id = $1",
    ] {
        sqlx::query(statement).bind(id).execute(&mut *tx).await?;
    }
    sqlx::query("UPDATE asset_deletions SET finished_at = $1 WHERE asset_id = $2")
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(asset_id = id, objects, "asset deleted");
    Ok(())
}

/// Finishes deletions that stopped half-way, and removes objects written under a deleted
/// asset's prefix since (a worker that was still running). Returns the deletions finished.
pub async fn sweep(state: &AppState) -> Result<usize, AppError> {
    let unfinished: Vec<String> =
        sqlx::query_scalar("SELECT asset_id FROM asset_deletions WHERE finished_at IS NULL")
            .fetch_all(state.db())
            .await?;
    let mut finished = 0;
    for id in unfinished {
        match destroy(state, &id).await {
            Ok(()) => finished += 1,
            Err(e) => tracing::warn!(asset_id = id, error = %e, "deletion still unfinished"),
        }
    }
    let recent: Vec<String> = sqlx::query_scalar(
        "SELECT asset_id FROM asset_deletions WHERE finished_at IS NOT NULL AND finished_at > $1",
    )
    .bind(now_ms() - LATE_OBJECTS_MS)
    .fetch_all(state.db())
    .await?;
    let storage = state.storage()?;
    for id in recent {
        let late = storage.delete_prefix(&format!("assets/{id}/")).await?;
        if late > 0 {
            tracing::info!(
                asset_id = id,
                objects = late,
                "late objects of a deleted asset removed"
            );
        }
    }
    Ok(finished)
}
