//! Caption and subtitle tracks of an asset (`/v1/assets/{id}/captions`, docs/playback.md):
//! checked by the core, sealed here under the asset's content key (a WebVTT file is small text
//! the owner sends once, so the server seals it rather than a worker), stored beside the
//! packages at `assets/{id}/captions/{caption}.cnls`, and listed in every playback session
//! with its nonce. Deleting the asset deletes them with everything else under its prefix.

use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use cinelock_contract::ApiErrorCode;
use cinelock_contract::captions::{AddCaption, CaptionKind, CaptionList, CaptionView};
use cinelock_core::media::{
    MAX_CAPTION_BYTES, MAX_CAPTIONS_PER_ASSET, ObjectRef, check_label, check_language,
    check_webvtt, seal_object,
};
use rand::RngCore;
use sqlx::AnyPool;

use crate::AppError;
use crate::auth::{self, SCOPE_READ, SCOPE_WRITE};
use crate::db::now_ms;
use crate::json::ApiJson;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A request carries one WebVTT file as a JSON string: room for the largest file, escaped.
const BODY_LIMIT: usize = 2 * MAX_CAPTION_BYTES + 4096;

/// The caption routes, under `/v1/assets/{id}/captions`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, add))
        .routes(routes!(remove))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// A caption track as stored.
#[derive(Debug, sqlx::FromRow)]
pub struct CaptionRow {
    pub id: String,
    pub language: String,
    pub label: String,
    pub kind: String,
    pub cues: i64,
    pub nonce: String,
    pub size: i64,
    pub created_at: i64,
}

impl CaptionRow {
    /// The kind as the contract names it (rows hold only the names it writes).
    pub fn kind(&self) -> CaptionKind {
        match self.kind.as_str() {
            "captions" => CaptionKind::Captions,
            _ => CaptionKind::Subtitles,
        }
    }

    fn view(&self) -> CaptionView {
        CaptionView {
            id: self.id.clone(),
            language: self.language.clone(),
            label: self.label.clone(),
            kind: self.kind(),
            cues: u32::try_from(self.cues).unwrap_or(u32::MAX),
            created_at: self.created_at,
        }
    }
}

fn kind_name(kind: CaptionKind) -> &'static str {
    match kind {
        CaptionKind::Subtitles => "subtitles",
        CaptionKind::Captions => "captions",
    }
}

/// Where caption `caption_id` of `asset_id` is stored.
pub fn object_key(asset_id: &str, caption_id: &str) -> String {
    format!("assets/{asset_id}/captions/{caption_id}.cnls")
}

/// The asset's caption tracks, oldest first.
pub async fn of_asset(db: &AnyPool, asset_id: &str) -> Result<Vec<CaptionRow>, AppError> {
    Ok(sqlx::query_as(
        "SELECT id, language, label, kind, cues, nonce, size, created_at FROM captions \
         WHERE asset_id = $1 ORDER BY created_at, id",
    )
    .bind(asset_id)
    .fetch_all(db)
    .await?)
}

/// `GET /v1/assets/{id}/captions` (API key, uploads:read).
#[utoipa::path(
    get,
    path = "/",
    tag = "captions",
    params(("id" = String, Path, description = "The asset id")),
    responses((status = 200, body = CaptionList), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<CaptionList>, AppError> {
    auth::owned_asset(state.db(), &headers, SCOPE_READ, &id).await?;
    let rows = of_asset(state.db(), &id).await?;
    Ok(Json(CaptionList {
        captions: rows.iter().map(CaptionRow::view).collect(),
    }))
}

/// `POST /v1/assets/{id}/captions` (API key, uploads:write): checks, seals and stores one
/// WebVTT file. Any time after the asset is created; players see it from their next session.
#[utoipa::path(
    post,
    path = "/",
    tag = "captions",
    request_body = AddCaption,
    params(("id" = String, Path, description = "The asset id")),
    responses((status = 201, body = CaptionView), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn add(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<AddCaption>,
) -> Result<(StatusCode, Json<CaptionView>), AppError> {
    auth::owned_asset(state.db(), &headers, SCOPE_WRITE, &id).await?;
    check_language(&req.language).map_err(|e| AppError::bad_core(&e))?;
    check_label(&req.label).map_err(|e| AppError::bad_core(&e))?;
    let summary = check_webvtt(req.vtt.as_bytes()).map_err(|e| AppError::bad_core(&e))?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM captions WHERE asset_id = $1")
        .bind(&id)
        .fetch_one(state.db())
        .await?;
    if count >= MAX_CAPTIONS_PER_ASSET as i64 {
        return Err(AppError::bad(
            ApiErrorCode::InvalidCaptions,
            format!("an asset has at most {MAX_CAPTIONS_PER_ASSET} caption tracks"),
        ));
    }
    let storage = state.storage()?;
    let kek = state
        .settings()
        .kek
        .as_ref()
        .ok_or(AppError::KeyUnavailable)?;
    let key = crate::keys::ensure_content_key(state.db(), kek, &id).await?;
    let caption_id = uuid::Uuid::new_v4().to_string();
    let mut nonce = [0u8; 12];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = seal_object(
        &key,
        &ObjectRef::caption(&id, &caption_id),
        &nonce,
        req.vtt.as_bytes(),
    )
    .map_err(|e| AppError::bad_core(&e))?;
    let row = CaptionRow {
        id: caption_id,
        language: req.language,
        label: req.label,
        kind: kind_name(req.kind).to_owned(),
        cues: i64::from(summary.cues),
        nonce: hex::encode(nonce),
        size: sealed.len() as i64,
        created_at: now_ms(),
    };
    // The object first: a row never names an object that is not there.
    storage
        .put_object(&object_key(&id, &row.id), sealed)
        .await?;
    sqlx::query(
        "INSERT INTO captions (id, asset_id, language, label, kind, cues, nonce, size, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&row.id)
    .bind(&id)
    .bind(&row.language)
    .bind(&row.label)
    .bind(&row.kind)
    .bind(row.cues)
    .bind(&row.nonce)
    .bind(row.size)
    .bind(row.created_at)
    .execute(state.db())
    .await?;
    tracing::info!(asset_id = id, caption_id = row.id, "caption track added");
    Ok((StatusCode::CREATED, Json(row.view())))
}

/// `DELETE /v1/assets/{id}/captions/{caption_id}` (API key, uploads:write): the row, then its
/// object. Players stop listing it from their next session.
#[utoipa::path(
    delete,
    path = "/{caption_id}",
    tag = "captions",
    params(("id" = String, Path, description = "The asset id"), ("caption_id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    Path((id, caption_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, AppError> {
    auth::owned_asset(state.db(), &headers, SCOPE_WRITE, &id).await?;
    let gone = sqlx::query("DELETE FROM captions WHERE id = $1 AND asset_id = $2")
        .bind(&caption_id)
        .bind(&id)
        .execute(state.db())
        .await?
        .rows_affected();
    if gone == 0 {
        return Err(AppError::UnknownCaption);
    }
    state
        .storage()?
        .delete_prefix(&object_key(&id, &caption_id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
