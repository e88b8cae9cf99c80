//! Credentials. API keys belong to a customer's backend: random, stored only as SHA-256 hashes,
//! scoped. Upload tokens are what the backend hands a browser: HMAC-signed, short-lived, and
//! good for one upload only.

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cinelock_contract::ApiErrorCode;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::AnyPool;
use subtle::ConstantTimeEq;

use crate::AppError;
use crate::db::now_ms;

/// Scope to create uploads.
pub const SCOPE_WRITE: &str = "uploads:write";
/// Scope to read upload state.
pub const SCOPE_READ: &str = "uploads:read";
const SCOPES: [&str; 2] = [SCOPE_WRITE, SCOPE_READ];

const KEY_PREFIX: &str = "clk_";
const TOKEN_PREFIX: &str = "clu_";
const TOKEN_DOMAIN: &[u8] = b"cinelock upload token v1";

/// An authenticated API key.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: String,
    scopes: Vec<String>,
}

impl ApiKey {
    /// Fails unless this key has `scope`.
    pub fn require(&self, scope: &'static str) -> Result<(), AppError> {
        if self.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(AppError::MissingScope(scope))
        }
    }
}

fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn bearer(headers: &HeaderMap) -> Result<&str, AppError> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(AppError::Unauthorized("missing bearer credentials"))
}

/// Stores a key (hashed) with its scopes; returns its id.
pub async fn store_api_key(
    db: &AnyPool,
    name: &str,
    key: &str,
    scopes: &str,
) -> Result<String, AppError> {
    let scopes: Vec<&str> = scopes
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if scopes.is_empty() || scopes.iter().any(|s| !SCOPES.contains(s)) {
        return Err(AppError::bad(
            ApiErrorCode::InvalidScope,
            format!("scopes must be among {SCOPES:?}"),
        ));
    }
    let hash = hash_key(key);
    let existing: Option<(String,)> = sqlx::query_as("SELECT id FROM api_keys WHERE key_hash = $1")
        .bind(&hash)
        .fetch_optional(db)
        .await?;
    if let Some((id,)) = existing {
        return Ok(id);
    }
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO api_keys (id, name, key_hash, scopes, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(name)
    .bind(&hash)
    .bind(scopes.join(","))
    .bind(now_ms())
    .execute(db)
    .await?;
    Ok(id)
}

/// Installs the well-known development key (marked as such, and live again if a server
/// without it revoked it).
pub async fn store_dev_api_key(db: &AnyPool, key: &str) -> Result<String, AppError> {
    let id = store_api_key(
        db,
        "development",
        key,
        &format!("{SCOPE_WRITE},{SCOPE_READ}"),
    )
    .await?;
    sqlx::query("UPDATE api_keys SET dev = 1, revoked_at = NULL WHERE id = $1")
        .bind(&id)
        .execute(db)
        .await?;
    Ok(id)
}

/// Revokes every development key still live; returns how many.
pub async fn revoke_dev_api_keys(db: &AnyPool) -> Result<u64, AppError> {
    Ok(
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE dev = 1 AND revoked_at IS NULL")
            .bind(now_ms())
            .execute(db)
            .await?
            .rows_affected(),
    )
}

/// Revokes the key `id`; false if there is no such live key.
pub async fn revoke_api_key(db: &AnyPool, id: &str) -> Result<bool, AppError> {
    Ok(
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(id)
            .execute(db)
            .await?
            .rows_affected()
            == 1,
    )
}

/// An API key as listed: never the key itself (only its hash is stored).
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct ApiKeyInfo {
    pub id: String,
    pub name: String,
    pub scopes: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    /// 1 for the well-known development key.
    pub dev: i64,
}

/// Every API key, oldest first.
pub async fn list_api_keys(db: &AnyPool) -> Result<Vec<ApiKeyInfo>, AppError> {
    Ok(sqlx::query_as(
        "SELECT id, name, scopes, created_at, revoked_at, dev FROM api_keys ORDER BY created_at, id",
    )
    .fetch_all(db)
    .await?)
}

/// Creates a fresh random key, stores its hash and returns the key (the only time it is seen).
pub async fn create_api_key(db: &AnyPool, name: &str, scopes: &str) -> Result<String, AppError> {
    let mut secret = [0u8; 24];
    rand::rng().fill_bytes(&mut secret);
    let key = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
    store_api_key(db, name, &key, scopes).await?;
    Ok(key)
}

/// Authenticates the `Authorization: Bearer clk_...` header.
pub async fn api_key(db: &AnyPool, headers: &HeaderMap) -> Result<ApiKey, AppError> {
    let key = bearer(headers)?;
    if !key.starts_with(KEY_PREFIX) {
        return Err(AppError::Unauthorized("not an API key"));
    }
    let row: Option<(String, String, Option<i64>)> =
        sqlx::query_as("SELECT id, scopes, revoked_at FROM api_keys WHERE key_hash = $1")
            .bind(hash_key(key))
            .fetch_optional(db)
            .await?;
    match row {
        Some((id, scopes, None)) => Ok(ApiKey {
            id,
            scopes: scopes.split(',').map(String::from).collect(),
        }),
        Some((_, _, Some(_))) => Err(AppError::Unauthorized("API key revoked")),
        None => Err(AppError::Unauthorized("unknown API key")),
    }
}

/// The owner check of the API-key endpoints about one asset: the key must have `scope`, and
/// the asset must be the key's (any other asset, or one being deleted, is unknown to it).
/// Returns the key, whose other scopes some endpoints look at.
pub async fn owned_asset(
    db: &AnyPool,
    headers: &HeaderMap,
    scope: &'static str,
    id: &str,
) -> Result<ApiKey, AppError> {
    let key = api_key(db, headers).await?;
    key.require(scope)?;
    match crate::db::asset_owner(db, id).await? {
        Some(owner) if owner == key.id => Ok(key),
        _ => Err(AppError::UnknownAsset),
    }
}

/// Signs and checks upload tokens.
#[derive(Clone)]
pub struct TokenSigner {
    secret: Vec<u8>,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner(..)")
    }
}

impl TokenSigner {
    pub fn new(secret: Vec<u8>) -> Self {
        Self { secret }
    }

    fn mac(&self, upload_id: &str, expires_ms: i64) -> [u8; 32] {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(TOKEN_DOMAIN);
        mac.update(&(upload_id.len() as u64).to_be_bytes());
        mac.update(upload_id.as_bytes());
        mac.update(&expires_ms.to_be_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A token for one upload, valid until `expires_ms`.
    pub fn issue(&self, upload_id: &str, expires_ms: i64) -> String {
        let mut body = Vec::with_capacity(upload_id.len() + 40);
        body.extend_from_slice(&expires_ms.to_be_bytes());
        body.extend_from_slice(&self.mac(upload_id, expires_ms));
        body.extend_from_slice(upload_id.as_bytes());
        format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(body))
    }

    /// Checks the bearer token names `upload_id`, is authentic and has not expired.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        upload_id: &str,
        now_ms: i64,
    ) -> Result<(), AppError> {
        let token = bearer(headers)?;
        let body = token
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|t| URL_SAFE_NO_PAD.decode(t).ok())
            .filter(|b| b.len() > 40)
            .ok_or(AppError::Unauthorized("malformed upload token"))?;
        let expires_ms = i64::from_be_bytes(body[..8].try_into().expect("8 bytes"));
        let (mac, id) = body[8..].split_at(32);
        let expected = self.mac(upload_id, expires_ms);
        // Constant-time, and the id must match too: a token opens exactly one upload.
        if !bool::from(expected.ct_eq(mac)) || id != upload_id.as_bytes() {
            return Err(AppError::Unauthorized("invalid upload token"));
        }
        if now_ms >= expires_ms {
            return Err(AppError::Unauthorized("upload token expired"));
        }
        Ok(())
    }
}
