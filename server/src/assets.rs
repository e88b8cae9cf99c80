//! The asset API: an asset's processing state, its jobs (with progress and errors) and its
//! published packages, for the customer's backend (API key) and the uploading browser (the
//! upload's token, through `GET /v1/uploads/{id}`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cinelock_contract::ApiErrorCode;
use cinelock_contract::assets::{
    AssetList, AssetPatch, AssetQuery, AssetSummary, AssetView, PackageView,
};

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
    title: Option<String>,
    external_id: Option<String>,
    metadata: Option<String>,
}

/// Stored metadata (a JSON object of strings; none stored is none set).
fn metadata_of(stored: Option<&str>) -> BTreeMap<String, String> {
    stored
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or_default()
}

/// The asset's status, jobs and packages; `owner` restricts to one API key's assets.
pub async fn describe(
    state: &AppState,
    id: &str,
    owner: Option<&str>,
) -> Result<AssetView, AppError> {
    let row: Option<AssetRecord> = sqlx::query_as(
        "SELECT status, api_key_id, filename, plaintext_len, created_at, cut_short, linked_to, \
                title, external_id, metadata \
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
        metadata: metadata_of(row.metadata.as_deref()),
        title: row.title,
        external_id: row.external_id,
        cut_short: row.cut_short != 0,
        linked,
        preview_ready: packages.iter().any(|p| p.kind == "preview"),
        jobs,
        packages,
    })
}

/// `GET /v1/assets/{id}` (API key, uploads:read).
#[utoipa::path(
    get,
    path = "/assets/{id}",
    tag = "assets",
    params(("id" = String, Path, description = "The asset id")),
    responses((status = 200, body = AssetView), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
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
#[utoipa::path(
    post,
    path = "/assets/{id}/cancel",
    tag = "assets",
    params(("id" = String, Path, description = "The asset id")),
    responses((status = 200, body = AssetView), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
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

/// A row of the listing.
#[derive(Debug, sqlx::FromRow)]
struct SummaryRecord {
    id: String,
    status: String,
    title: Option<String>,
    external_id: Option<String>,
    filename: Option<String>,
    plaintext_len: i64,
    created_at: i64,
    cut_short: i64,
}

/// Most assets on one page of the listing.
const MAX_PAGE: u32 = 100;

/// A listing position: after the asset created at `created_at` with id `id` (newest first).
fn cursor(created_at: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{created_at}.{id}"))
}

fn parse_cursor(c: &str) -> Option<(i64, String)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(c).ok()?).ok()?;
    let (at, id) = text.split_once('.')?;
    Some((at.parse().ok()?, id.to_owned()))
}

/// `GET /v1/assets` (API key, uploads:read): the key's assets, newest first, a page at a time
/// (`cursor` from `next_cursor`), filtered by status, creation time and external id.
#[utoipa::path(
    get,
    path = "/assets",
    tag = "assets",
    params(AssetQuery),
    responses((status = 200, body = AssetList), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<AssetQuery>, QueryRejection>,
) -> Result<Json<AssetList>, AppError> {
    use crate::sql::{Val, fetch_all};
    let key = auth::api_key(state.db(), &headers).await?;
    key.require(SCOPE_READ)?;
    let Query(q) = query.map_err(|e| AppError::bad(ApiErrorCode::InvalidQuery, e.body_text()))?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::bad(
            ApiErrorCode::InvalidQuery,
            format!("limit must be 1 to {MAX_PAGE}"),
        ));
    }
    let mut sql = String::from(
        "SELECT id, status, title, external_id, filename, plaintext_len, created_at, cut_short \
         FROM assets WHERE api_key_id = $1 AND status <> 'deleting'",
    );
    let mut vals: Vec<Val> = vec![key.id.clone().into()];
    let mut and = |clause: &str, v: Val, vals: &mut Vec<Val>| {
        vals.push(v);
        sql.push_str(&clause.replace('?', &format!("${}", vals.len())));
    };
    if let Some(status) = q.status {
        and(" AND status = ?", status.into(), &mut vals);
    }
    if let Some(after) = q.created_after {
        and(" AND created_at >= ?", after.into(), &mut vals);
    }
    if let Some(before) = q.created_before {
        and(" AND created_at < ?", before.into(), &mut vals);
    }
    if let Some(external) = q.external_id {
        and(" AND external_id = ?", external.into(), &mut vals);
    }
    if let Some(c) = &q.cursor {
        let (at, id) = parse_cursor(c).ok_or_else(|| {
            AppError::bad(ApiErrorCode::InvalidQuery, "cursor is not one of ours")
        })?;
        and(" AND (created_at < ?", at.into(), &mut vals);
        and(" OR (created_at = ?", at.into(), &mut vals);
        and(" AND id < ?))", id.into(), &mut vals);
    }
    // One more than the page says whether there is a next one.
    sql.push_str(&format!(
        " ORDER BY created_at DESC, id DESC LIMIT {}",
        limit + 1
    ));
    let mut rows: Vec<SummaryRecord> = fetch_all(state.db(), &sql, vals).await?;
    let next_cursor = (rows.len() > limit as usize).then(|| {
        rows.truncate(limit as usize);
        let last = rows.last().expect("a full page");
        cursor(last.created_at, &last.id)
    });
    let assets = rows
        .into_iter()
        .map(|r| AssetSummary {
            asset_id: r.id,
            status: r.status,
            title: r.title,
            external_id: r.external_id,
            filename: r.filename,
            size: r.plaintext_len,
            created_at: r.created_at,
            cut_short: r.cut_short != 0,
        })
        .collect();
    Ok(Json(AssetList {
        assets,
        next_cursor,
    }))
}

/// `PATCH /v1/assets/{id}` (API key, uploads:write): the owner's title, external id and
/// metadata. An external id another of the key's assets has is refused (`external_id_taken`).
#[utoipa::path(
    patch,
    path = "/assets/{id}",
    tag = "assets",
    request_body = AssetPatch,
    params(("id" = String, Path, description = "The asset id")),
    responses((status = 200, body = AssetView), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn patch(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    crate::json::ApiJson(p): crate::json::ApiJson<AssetPatch>,
) -> Result<Json<AssetView>, AppError> {
    let key = auth::api_key(state.db(), &headers).await?;
    key.require(SCOPE_WRITE)?;
    describe(&state, &id, Some(&key.id)).await?;
    if let Some(problem) = p.problem() {
        return Err(AppError::bad(ApiErrorCode::InvalidField, problem));
    }
    if let Some(Some(external)) = &p.external_id {
        let taken: Option<String> = sqlx::query_scalar(
            "SELECT id FROM assets WHERE api_key_id = $1 AND external_id = $2 AND id <> $3",
        )
        .bind(&key.id)
        .bind(external)
        .bind(&id)
        .fetch_optional(state.db())
        .await?;
        if taken.is_some() {
            return Err(AppError::ExternalIdTaken);
        }
    }
    let mut tx = state.db().begin().await?;
    if let Some(title) = &p.title {
        sqlx::query("UPDATE assets SET title = $1 WHERE id = $2")
            .bind(title)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(external) = &p.external_id {
        sqlx::query("UPDATE assets SET external_id = $1 WHERE id = $2")
            .bind(external)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(metadata) = &p.metadata {
        let stored = (!metadata.is_empty())
            .then(|| serde_json::to_string(metadata).expect("strings serialise"));
        sqlx::query("UPDATE assets SET metadata = $1 WHERE id = $2")
            .bind(stored)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Json(describe(&state, &id, Some(&key.id)).await?))
}
