//! The asset API: an asset's processing state, its jobs (with progress and errors) and its
//! published packages, for the customer's backend (API key) and the uploading browser (the
//! upload's token, through `GET /v1/uploads/{id}`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use cinelock_contract::assets::{AssetView, PackageView};

use crate::auth::{self, SCOPE_READ, SCOPE_WRITE};
use crate::state::AppState;
use crate::{AppError, jobs};

/// An asset as stored (what the view needs of it).
#[derive(Debug, sqlx::FromRow)]
struct AssetRecord {
    status: String,
    api_key_id: String,
    filename: Option<String>,
    plaintext_len: i64,
    created_at: i64,
    cut_short: i64,
    linked_to: Option<String>,
}

/// The asset's status, jobs and packages; `owner` restricts to one API key's assets.
pub async fn describe(
    state: &AppState,
    id: &str,
    owner: Option<&str>,
) -> Result<AssetView, AppError> {
    let row: Option<AssetRecord> = sqlx::query_as(
        "SELECT status, api_key_id, filename, plaintext_len, created_at, cut_short, linked_to \
         FROM assets WHERE id = $1 AND status <> 'deleting'",
    )
    .bind(id)
    .fetch_optional(state.db())
    .await?;
    let row = row.ok_or(AppError::UnknownAsset)?;
    if owner.is_some_and(|o| o != row.api_key_id) {
        return Err(AppError::UnknownAsset);
    }
    // Links go both ways: the asset this one was made to go with, and those made for it.
    let mut linked: Vec<String> =
        sqlx::query_scalar("SELECT id FROM assets WHERE linked_to = $1 ORDER BY created_at")
            .bind(id)
            .fetch_all(state.db())
            .await?;
    linked.splice(0..0, row.linked_to);
    let jobs = jobs::for_asset(state.db(), id).await?;
    let packages: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT id, kind, duration_ms, created_at FROM packages WHERE asset_id = $1 ORDER BY created_at",
    )
    .bind(id)
    .fetch_all(state.db())
    .await?;
    let packages: Vec<PackageView> = packages
        .into_iter()
        .map(|(package_id, kind, duration_ms, created_at)| PackageView {
            package_id,
            kind,
            duration_ms,
            created_at,
        })
        .collect();
    Ok(AssetView {
        asset_id: id.to_owned(),
        status: row.status,
        filename: row.filename,
        size: row.plaintext_len,
        created_at: row.created_at,
        cut_short: row.cut_short != 0,
        linked,
        preview_ready: packages.iter().any(|p| p.kind == "preview"),
        jobs,
        packages,
    })
}

/// `GET /v1/assets/{id}` (API key, uploads:read).
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<AssetView>, AppError> {
    let key = auth::api_key(state.db(), &headers).await?;
    key.require(SCOPE_READ)?;
    Ok(Json(describe(&state, &id, Some(&key.id)).await?))
}

/// `POST /v1/assets/{id}/cancel` (API key, uploads:write): cancels the asset's unfinished jobs.
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<AssetView>, AppError> {
    let key = auth::api_key(state.db(), &headers).await?;
    key.require(SCOPE_WRITE)?;
    describe(&state, &id, Some(&key.id)).await?;
    let mut cancelled = false;
    for job in jobs::for_asset(state.db(), &id).await? {
        cancelled |= jobs::cancel(state.db(), &job.id).await?;
    }
    if cancelled {
        sqlx::query(
            "UPDATE assets SET status = 'cancelled', updated_at = $1 WHERE id = $2 AND status IN ('uploaded', 'processing')",
        )
        .bind(crate::now_ms())
        .bind(&id)
        .execute(state.db())
        .await?;
    }
    Ok(Json(describe(&state, &id, Some(&key.id)).await?))
}
