//! Viewer-token secrets per API key owner (tenant). A customer's backend mints `clv2` tokens
//! with its own secrets, named by key id; a token is checked only against the secrets of the
//! asset's owner, so one customer's secret never opens another customer's asset. Secrets are
//! stored wrapped by the KEK (they must be usable to check a MAC, so they cannot be hashed),
//! shown once at creation, and revoked by id; several live ones at once allow rotation.
//!
//! The operator's secrets (`CINELOCK_VIEWER_TOKEN_SECRETS`, `clv1` tokens) open every asset of
//! the server: they are for the operator's own backend, never for a customer.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use cinelock_contract::playback::{
    CreatedViewerKey, RevokedViewerKey, ViewerKeyList, ViewerKeyView,
};
use cinelock_core::media::ContentKey;
use cinelock_core::policy::{self, TokenKeys};
use rand::RngCore;
use sqlx::AnyPool;

use crate::auth::{self, SCOPE_READ, SCOPE_WRITE};
use crate::kek::Kek;
use crate::state::AppState;
use crate::{AppError, now_ms};

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: String,
    created_at: i64,
    revoked_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Wrapped {
    id: String,
    wrapped_secret: String,
    kek_id: String,
}

fn label(kid: &str) -> String {
    format!("viewer-token-key/{kid}")
}

fn kek(state: &AppState) -> Result<&Kek, AppError> {
    state.settings().kek.as_ref().ok_or_else(|| {
        AppError::Config("viewer-token keys need a KEK (CINELOCK_KEK_FILE) to be stored".into())
    })
}

async fn unwrap(kek: &Kek, row: &Wrapped) -> Result<ContentKey, AppError> {
    if row.kek_id != kek.id() {
        return Err(AppError::KeyUnavailable);
    }
    kek.unwrap(&label(&row.id), &row.wrapped_secret).await
}

/// Makes a new secret for `owner`; returns its key id and the secret (shown only now).
pub async fn create(state: &AppState, owner: &str) -> Result<(String, ContentKey), AppError> {
    let kek = kek(state)?;
    let mut raw = [0u8; 8];
    rand::rng().fill_bytes(&mut raw);
    let kid = format!("vk_{}", hex::encode(raw));
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(&mut *bytes);
    let secret = ContentKey::from_bytes(*bytes);
    let wrapped = kek.wrap(&label(&kid), &secret).await?;
    sqlx::query(
        "INSERT INTO viewer_token_keys (id, owner, wrapped_secret, kek_id, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&kid)
    .bind(owner)
    .bind(&wrapped)
    .bind(kek.id())
    .bind(now_ms())
    .execute(state.db())
    .await?;
    Ok((kid, secret))
}

/// The newest live secret of `owner`, made when it has none (what the mint endpoint signs
/// with).
pub async fn newest(state: &AppState, owner: &str) -> Result<(String, ContentKey), AppError> {
    let row: Option<Wrapped> = sqlx::query_as(
        "SELECT id, wrapped_secret, kek_id FROM viewer_token_keys \
         WHERE owner = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(owner)
    .fetch_optional(state.db())
    .await?;
    match row {
        Some(row) => Ok((row.id.clone(), unwrap(kek(state)?, &row).await?)),
        None => create(state, owner).await,
    }
}

/// The keys a token for an asset of `owner` is checked against: the operator's secrets, and
/// the live secret of the key id the token names if `owner` holds it.
pub async fn for_owner(
    state: &AppState,
    owner: &str,
    token: Option<&str>,
) -> Result<TokenKeys, AppError> {
    let mut keys = state.viewer_keys().clone();
    let Some(kid) = token.and_then(policy::key_id) else {
        return Ok(keys);
    };
    let row: Option<Wrapped> = sqlx::query_as(
        "SELECT id, wrapped_secret, kek_id FROM viewer_token_keys \
         WHERE id = $1 AND owner = $2 AND revoked_at IS NULL",
    )
    .bind(kid)
    .bind(owner)
    .fetch_optional(state.db())
    .await?;
    if let Some(row) = row {
        let secret = unwrap(kek(state)?, &row).await?;
        keys = keys
            .with_key_id(&row.id, secret.as_bytes())
            .map_err(|e| AppError::Database(format!("stored viewer-token key: {e}")))?;
    }
    Ok(keys)
}

async fn list(db: &AnyPool, owner: &str) -> Result<Vec<ViewerKeyView>, AppError> {
    let rows: Vec<KeyRow> = sqlx::query_as(
        "SELECT id, created_at, revoked_at FROM viewer_token_keys WHERE owner = $1 \
         ORDER BY created_at, id",
    )
    .bind(owner)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ViewerKeyView {
            id: r.id,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
        })
        .collect())
}

/// `POST /v1/viewer-token-keys` (API key, uploads:write): a new secret for this key's owner.
#[utoipa::path(
    post,
    path = "/viewer-token-keys",
    tag = "viewer-tokens",
    responses((status = 201, body = CreatedViewerKey), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn create_handler(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<CreatedViewerKey>), AppError> {
    let key = auth::api_key(state.db(), &headers).await?;
    key.require(SCOPE_WRITE)?;
    let (id, secret) = create(&state, &key.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedViewerKey {
            id,
            secret: hex::encode(secret.as_bytes()),
        }),
    ))
}

/// `GET /v1/viewer-token-keys` (API key, uploads:read): this owner's key ids.
#[utoipa::path(
    get,
    path = "/viewer-token-keys",
    tag = "viewer-tokens",
    responses((status = 200, body = ViewerKeyList), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn list_handler(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<ViewerKeyList>, AppError> {
    let key = auth::api_key(state.db(), &headers).await?;
    key.require(SCOPE_READ)?;
    let keys = list(state.db(), &key.id).await?;
    Ok(Json(ViewerKeyList { keys }))
}

/// `DELETE /v1/viewer-token-keys/{id}` (API key, uploads:write): tokens of this key id stop
/// opening anything.
#[utoipa::path(
    delete,
    path = "/viewer-token-keys/{id}",
    tag = "viewer-tokens",
    params(("id" = String, Path, description = "The key id")),
    responses((status = 200, body = RevokedViewerKey), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn revoke_handler(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<RevokedViewerKey>, AppError> {
    let key = auth::api_key(state.db(), &headers).await?;
    key.require(SCOPE_WRITE)?;
    let done = sqlx::query(
        "UPDATE viewer_token_keys SET revoked_at = $1 WHERE id = $2 AND owner = $3 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(&id)
    .bind(&key.id)
    .execute(state.db())
    .await?;
    if done.rows_affected() == 0 {
        // Another owner's key, an unknown one, or one revoked already: all look the same.
        let known: Option<(String,)> =
            sqlx::query_as("SELECT id FROM viewer_token_keys WHERE id = $1 AND owner = $2")
                .bind(&id)
                .bind(&key.id)
                .fetch_optional(state.db())
                .await?;
        if known.is_none() {
            return Err(AppError::NotFound);
        }
    }
    Ok(Json(RevokedViewerKey { id, revoked: true }))
}
