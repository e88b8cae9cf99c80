//! Playback: asset policies, viewer tokens, and playback sessions (`docs/playback.md`).
//!
//! A session is granted by `cinelock_core::policy::decide` from the facts gathered here
//! (headers, client address, country, password check, clock). A grant carries the content key
//! released to the player's ephemeral key, and presigned GET URLs for the package's sealed
//! objects; a denial is a 403 with a reason and no key material. The server never proxies media.

pub(crate) mod client;
pub mod guesses;
pub(crate) mod session;
pub mod viewer_keys;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, header};
use cinelock_contract::ApiErrorCode;
use cinelock_contract::analytics::BeaconGrant;
use cinelock_contract::captions::TextTrackGrant;
use cinelock_contract::playback::{
    DownloadGrant, MintRequest, MintedToken, PlayAnswer, PlayRequest, PolicyUpdate, PolicyView,
    StartTrack, UrlsAnswer, UrlsRequest,
};
use cinelock_core::RecipientPublicKey;
use cinelock_core::media::{Manifest, Released, seal_content_key, seal_key};
// Most paths one URL request may ask for: the player batches up to it.
use cinelock_core::playback::{MAX_URL_BATCH, PlaybackConfig};
use cinelock_core::policy::{self, AssetPolicy, Claims, Deny, TokenKeys};
use rand::RngCore;
use serde_json::Value;

pub use client::Geo;

use crate::auth::{self, SCOPE_READ, SCOPE_WRITE};
use crate::json::{ApiJson, PlainJson};
use crate::state::AppState;
use crate::{AppError, keys, now_ms};

/// Media segments per track signed up front (the rest on demand, in batches).
const FIRST_SEGMENTS: usize = 3;

pub(crate) fn denied(d: Deny) -> AppError {
    let retry_after_ms = match d {
        Deny::RateLimited { retry_after_ms } => Some(retry_after_ms),
        _ => None,
    };
    AppError::Denied {
        reason: d.reason(),
        retry_after_ms,
    }
}

/// The client's address, by the server's proxy settings.
pub(crate) fn client_address(
    state: &AppState,
    extensions: &Extensions,
    headers: &HeaderMap,
) -> IpAddr {
    client::client_ip(
        extensions,
        headers,
        &state.settings().client_ip_header,
        &state.settings().trusted_proxies,
    )
}

/// The asset's caption tracks for a session: each with a URL that lives as long as the
/// session's others, and the nonce the player checks.
async fn text_tracks(
    state: &AppState,
    id: &str,
    ttl: std::time::Duration,
) -> Result<Vec<TextTrackGrant>, AppError> {
    let storage = state.storage()?;
    let mut out = Vec::new();
    for row in crate::captions::of_asset(state.db(), id).await? {
        out.push(TextTrackGrant {
            url: storage
                .presign_get(&crate::captions::object_key(id, &row.id), ttl)
                .await?,
            kind: row.kind(),
            size: row.size as u64,
            id: row.id,
            language: row.language,
            label: row.label,
            nonce: row.nonce,
        });
    }
    Ok(out)
}

/// Why an asset without a package never will have one (its transcode failed or was
/// cancelled), as the error to answer; `None` while it may still come.
async fn never_ready(state: &AppState, id: &str) -> Result<Option<AppError>, AppError> {
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM assets WHERE id = $1")
        .bind(id)
        .fetch_optional(state.db())
        .await?;
    if !matches!(status.as_deref(), Some("failed" | "cancelled")) {
        return Ok(None);
    }
    let why: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT error_code, error_message FROM jobs WHERE asset_id = $1 AND error_code IS NOT NULL \
         ORDER BY updated_at DESC LIMIT 1",
    )
    .bind(id)
    .fetch_optional(state.db())
    .await?;
    let message = match why {
        Some((Some(code), message)) => format!(
            "this asset will never play: its transcode failed ({code}: {})",
            message.unwrap_or_default()
        ),
        _ => "this asset will never play: its transcode was cancelled".to_owned(),
    };
    Ok(Some(AppError::AssetFailed(message)))
}

/// The policy of asset `id`, or `None` if there is no such asset.
pub(crate) async fn stored_policy(
    state: &AppState,
    id: &str,
) -> Result<Option<AssetPolicy>, AppError> {
    if crate::db::asset_owner(state.db(), id).await?.is_none() {
        return Ok(None);
    }
    Ok(Some(load_policy(state, id).await?.policy))
}

/// An asset's stored policy.
struct Stored {
    policy: AssetPolicy,
    password_hash: Option<String>,
    /// Bumped by every change; sessions carry it.
    epoch: i64,
}

#[derive(sqlx::FromRow)]
struct PolicyRow {
    policy: String,
    password_hash: Option<String>,
    epoch: i64,
}

/// An asset's policy (private by default), its password hash and its epoch.
async fn load_policy(state: &AppState, id: &str) -> Result<Stored, AppError> {
    let row: Option<PolicyRow> = sqlx::query_as(
        "SELECT policy, password_hash, epoch FROM asset_policies WHERE asset_id = $1",
    )
    .bind(id)
    .fetch_optional(state.db())
    .await?;
    match row {
        None => Ok(Stored {
            policy: AssetPolicy::default(),
            password_hash: None,
            epoch: 0,
        }),
        Some(row) => {
            let policy = serde_json::from_str(&row.policy)
                .map_err(|e| AppError::Database(format!("stored policy unreadable: {e}")))?;
            Ok(Stored {
                policy,
                password_hash: row.password_hash,
                epoch: row.epoch,
            })
        }
    }
}

fn policy_view(policy: AssetPolicy, password_set: bool) -> PolicyView {
    PolicyView {
        policy,
        password_set,
    }
}

/// `PUT /v1/assets/{id}/policy` (API key, uploads:write): replaces the asset's policy
/// whole: a field left out takes its default (the most closed), and no password clears it.
#[utoipa::path(
    put,
    path = "/assets/{id}/policy",
    tag = "policy",
    request_body = cinelock_contract::playback::PolicyUpdate,
    params(("id" = String, Path, description = "The asset id")),
    responses((status = 200, body = PolicyView), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn put_policy(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<PolicyView>, AppError> {
    auth::owned_asset(state.db(), &headers, SCOPE_WRITE, &id).await?;
    let PolicyUpdate { policy, password } = serde_json::from_value(body).map_err(policy_error)?;
    let hash = match password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    store_policy(&state, &id, policy, hash).await
}

/// `PATCH /v1/assets/{id}/policy` (API key, uploads:write): changes the fields given and keeps
/// the others, the password included unless `password` is given (`""` or `null` clears it).
#[utoipa::path(
    patch,
    path = "/assets/{id}/policy",
    tag = "policy",
    request_body = cinelock_contract::playback::PolicyUpdate,
    params(("id" = String, Path, description = "The asset id")),
    responses((status = 200, body = PolicyView), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn patch_policy(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<PolicyView>, AppError> {
    auth::owned_asset(state.db(), &headers, SCOPE_WRITE, &id).await?;
    let Value::Object(changes) = body else {
        return Err(AppError::bad(
            ApiErrorCode::InvalidPolicy,
            "a policy change is a JSON object",
        ));
    };
    let stored = load_policy(&state, &id).await?;
    let Ok(Value::Object(mut merged)) = serde_json::to_value(&stored.policy) else {
        return Err(AppError::Database("stored policy unreadable".into()));
    };
    // The flag follows the password, which the update says or the stored hash keeps.
    merged.remove("password_required");
    let keeps_password = !changes.contains_key("password");
    merged.extend(changes);
    let PolicyUpdate {
        mut policy,
        password,
    } = serde_json::from_value(Value::Object(merged)).map_err(policy_error)?;
    let hash = match password {
        Some(p) => Some(hash_password(p).await?),
        None if keeps_password => stored.password_hash,
        None => None,
    };
    policy.password_required = hash.is_some();
    store_policy(&state, &id, policy, hash).await
}

fn policy_error(e: serde_json::Error) -> AppError {
    AppError::bad(ApiErrorCode::InvalidPolicy, e.to_string())
}

/// An Argon2 hash of a policy's password, off the async threads.
async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).expect("16-byte salt");
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| AppError::Worker(e.to_string()))?
    .map_err(|e| AppError::Worker(format!("argon2: {e}")))
}

/// Stores a policy; a new epoch ends every session granted under the old one.
async fn store_policy(
    state: &AppState,
    id: &str,
    policy: AssetPolicy,
    hash: Option<String>,
) -> Result<Json<PolicyView>, AppError> {
    sqlx::query(
        "INSERT INTO asset_policies (asset_id, policy, password_hash, updated_at, epoch) VALUES ($1, $2, $3, $4, 1) \
         ON CONFLICT (asset_id) DO UPDATE SET policy = excluded.policy, password_hash = excluded.password_hash, \
             updated_at = excluded.updated_at, epoch = asset_policies.epoch + 1",
    )
    .bind(id)
    .bind(serde_json::to_string(&policy).expect("policy serialises"))
    .bind(&hash)
    .bind(now_ms())
    .execute(state.db())
    .await?;
    Ok(Json(policy_view(policy, hash.is_some())))
}

/// `GET /v1/assets/{id}/policy` (API key, uploads:read).
#[utoipa::path(
    get,
    path = "/assets/{id}/policy",
    tag = "policy",
    params(("id" = String, Path, description = "The asset id")),
    responses((status = 200, body = PolicyView), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn get_policy(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<PolicyView>, AppError> {
    auth::owned_asset(state.db(), &headers, SCOPE_READ, &id).await?;
    let stored = load_policy(&state, &id).await?;
    Ok(Json(policy_view(
        stored.policy,
        stored.password_hash.is_some(),
    )))
}

/// `POST /v1/assets/{id}/viewer-tokens` (API key, uploads:read; uploads:write for a token that
/// may download or skip the password): mints a `clv2` viewer token with the owner's newest
/// secret (made on first use).
#[utoipa::path(
    post,
    path = "/assets/{id}/viewer-tokens",
    tag = "viewer-tokens",
    request_body = MintRequest,
    params(("id" = String, Path, description = "The asset id")),
    responses((status = 200, body = MintedToken), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn mint_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<MintRequest>,
) -> Result<Json<MintedToken>, AppError> {
    let key = auth::owned_asset(state.db(), &headers, SCOPE_READ, &id).await?;
    // Playing is a read; handing out rights beyond the policy's defaults is a write.
    if req.download || req.skip_password {
        key.require(SCOPE_WRITE)?;
    }
    if req.ttl == 0 || req.ttl > 30 * 24 * 3600 {
        return Err(AppError::bad(
            ApiErrorCode::InvalidTtl,
            "ttl must be 1 s to 30 days",
        ));
    }
    let now = (now_ms() / 1000) as u64;
    let mut claims = Claims::new(id, now + req.ttl);
    claims.viewer = req.viewer;
    claims.download = req.download;
    claims.skip_password = req.skip_password;
    claims.iat = Some(now);
    let (kid, secret) = viewer_keys::newest(&state, &key.id).await?;
    let token = policy::token::mint_with_key_id(secret.as_bytes(), &kid, &claims)
        .map_err(|e| AppError::bad_policy(&e))?;
    Ok(Json(MintedToken {
        token,
        expires_at: claims.exp,
    }))
}

/// Decides, spending a rate-limit slot and an Argon2 check only when the password is all that
/// is missing.
async fn decide(
    state: &AppState,
    keys: &TokenKeys,
    policy: &AssetPolicy,
    hash: Option<String>,
    mut facts: policy::Request<'_>,
    password: Option<String>,
) -> Result<policy::Grant, AppError> {
    match policy::decide(policy, &facts, keys) {
        Err(Deny::PasswordRequired) if password.is_some() => {
            // Shed before spending anything when every hashing slot is taken.
            let _slot = state.password_hashers().try_hash()?;
            guesses::spend(state.db(), facts.asset_id, facts.client_ip, now_ms() as u64).await?;
            let ok = match (hash, password) {
                (Some(hash), Some(p)) => tokio::task::spawn_blocking(move || {
                    PasswordHash::new(&hash)
                        .map(|h| Argon2::default().verify_password(p.as_bytes(), &h).is_ok())
                        .unwrap_or(false)
                })
                .await
                .unwrap_or(false),
                _ => false,
            };
            facts.password_ok = Some(ok);
            policy::decide(policy, &facts, keys).map_err(denied)
        }
        other => other.map_err(denied),
    }
}

/// `POST /v1/play/{id}`: a playback session, if the asset's policy admits this request.
#[utoipa::path(
    post,
    path = "/{id}",
    tag = "playback",
    request_body = PlayRequest,
    params(("id" = String, Path, description = "The asset id")),
    responses((status = 200, body = PlayAnswer), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody))
)]
pub async fn play(
    State(state): State<AppState>,
    Path(id): Path<String>,
    extensions: Extensions,
    headers: HeaderMap,
    PlainJson(req): PlainJson<PlayRequest>,
) -> Result<Json<PlayAnswer>, AppError> {
    let answer = grant(&state, id, extensions, headers, req).await;
    // Key releases granted and denied by reason, for the operator's metrics.
    match &answer {
        Ok(_) => state.metrics().release(None),
        Err(AppError::Denied { reason, .. }) => state.metrics().release(Some(reason)),
        Err(_) => {}
    }
    answer
}

async fn grant(
    state: &AppState,
    id: String,
    extensions: Extensions,
    headers: HeaderMap,
    req: PlayRequest,
) -> Result<Json<PlayAnswer>, AppError> {
    let player = hex::decode(req.public_key.trim())
        .ok()
        .and_then(|b| RecipientPublicKey::from_bytes(&b).ok())
        .ok_or_else(|| {
            AppError::bad(
                ApiErrorCode::InvalidPublicKey,
                "public_key must be a 32-byte X25519 public key in hex",
            )
        })?;
    let storage = state.storage()?;
    let owner = crate::db::asset_owner(state.db(), &id)
        .await?
        .ok_or(AppError::UnknownAsset)?;
    let Stored {
        policy,
        password_hash: hash,
        epoch,
    } = load_policy(state, &id).await?;
    let keys = viewer_keys::for_owner(state, &owner, req.token.as_deref()).await?;
    let ip = client_address(state, &extensions, &headers);
    let country = state.geo().and_then(|g| g.country(ip));
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    let mut facts = policy::Request::new(&id, ip, (now_ms() / 1000) as u64);
    facts.origin = text(header::ORIGIN);
    facts.referer = text(header::REFERER);
    facts.country = country.as_deref();
    facts.token = req.token.as_deref();
    facts.wants_download = req.download;
    let page_start = req.start_options();
    let grant = decide(state, &keys, &policy, hash, facts, req.password).await?;

    let packages: Vec<PackageRow> = sqlx::query_as(
        "SELECT id, kind, prefix, manifest, manifest_nonce, manifest_sealed FROM packages \
         WHERE asset_id = $1",
    )
    .bind(&id)
    .fetch_all(state.db())
    .await?;
    let wanted = req.package.as_deref();
    if wanted.is_some_and(|w| w != "full" && w != "preview") {
        return Err(AppError::bad(
            ApiErrorCode::InvalidPackage,
            "package must be \"full\" or \"preview\"",
        ));
    }
    let pick = |kind: &str| packages.iter().find(|p| p.kind == kind);
    let picked = match wanted {
        Some(kind) => pick(kind),
        None => pick("full").or_else(|| pick("preview")),
    }
    .cloned()
    .ok_or(AppError::NotReady);
    let PackageRow {
        id: package_id,
        kind,
        prefix,
        manifest,
        manifest_nonce,
        manifest_sealed,
    } = match picked {
        Ok(p) => p,
        Err(e) => return Err(never_ready(state, &id).await?.unwrap_or(e)),
    };
    let manifest_nonce = manifest_nonce
        .as_deref()
        .ok_or_else(|| AppError::Database("package without its manifest nonce".into()))?;
    let manifest = Manifest::from_json(manifest.as_bytes())
        .map_err(|e| AppError::Database(format!("stored manifest unreadable: {e}")))?;
    let kek = state
        .settings()
        .kek
        .as_ref()
        .ok_or(AppError::KeyUnavailable)?;
    let content_key = keys::content_key(state.db(), kek, &id).await?;
    let mut eph = zeroize::Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(&mut *eph);
    let released =
        seal_content_key(&player, &id, &content_key, &eph).map_err(|_| AppError::KeyUnavailable)?;

    let ttl = state.settings().play_url_ttl;
    let expires_ms = now_ms() + ttl.as_millis() as i64;
    let mut first: Vec<&str> = Vec::new();
    for t in &manifest.tracks {
        first.push(&t.init.path);
        first.extend(
            t.segments
                .iter()
                .take(FIRST_SEGMENTS)
                .map(|s| s.path.as_str()),
        );
    }
    if let Some(p) = &manifest.poster {
        first.push(&p.path);
    }
    let urls = sign_paths(state, &prefix, &first, ttl).await?;
    // What a player started as the request says fetches first (for the npm package's
    // JavaScript, which asks before the wasm that knows the rule has loaded).
    let start = StartTrack::list(&manifest);
    let mut config = PlaybackConfig::default();
    config.abr.apply(page_start, None);
    let first = StartTrack::first_paths(&start, &config, req.start_rendition.as_ref())
        .unwrap_or_default()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let session_ttl = state.settings().play_session_ttl;
    // A session ends no later than the token it was granted on.
    let mut session_end = now_ms() + session_ttl.as_millis() as i64;
    if let Some(exp) = grant.token_exp {
        session_end = session_end.min(i64::try_from(exp.saturating_mul(1000)).unwrap_or(i64::MAX));
    }
    let session = session::issue(
        state.token_secret(),
        &session::Session {
            asset_id: id.clone(),
            package_id: package_id.clone(),
            policy_epoch: epoch,
            expires_ms: session_end,
        },
    );
    let mut answer = PlayAnswer {
        asset_id: id.clone(),
        package_id: package_id.clone(),
        kind: kind.clone(),
        key: hex::encode(released),
        manifest_url: storage
            .presign_get(&format!("{prefix}manifest.cnls"), ttl)
            .await?,
        manifest_nonce: manifest_nonce.to_owned(),
        manifest: manifest_sealed,
        urls,
        first,
        start,
        session,
        expires_at: expires_ms,
        expires_in_ms: ttl.as_millis() as u64,
        viewer: grant.viewer,
        text_tracks: text_tracks(state, &id, ttl).await?,
        download: None,
        beacon: state.analytics().map(|_| BeaconGrant {
            credential: crate::analytics::credential::issue(
                state.token_secret(),
                &id,
                &owner,
                now_ms(),
            ),
        }),
    };
    if req.download {
        // decide() refused the request unless the policy and the token allow downloads.
        let (object_key, filename, size): (String, Option<String>, i64) =
            sqlx::query_as("SELECT object_key, filename, plaintext_len FROM assets WHERE id = $1")
                .bind(&id)
                .fetch_one(state.db())
                .await?;
        let source_key = keys::source_key(state.db(), kek, &id).await?;
        rand::rng().fill_bytes(&mut *eph);
        let released = seal_key(Released::SourceKey, &player, &id, &source_key, &eph)
            .map_err(|_| AppError::KeyUnavailable)?;
        answer.download = Some(DownloadGrant {
            url: storage.presign_get(&object_key, ttl).await?,
            key: hex::encode(released),
            filename,
            size,
        });
    }
    tracing::info!(
        asset_id = id,
        kind,
        download = req.download,
        "playback session granted"
    );
    Ok(Json(answer))
}

/// A published package, as a session needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
struct PackageRow {
    id: String,
    kind: String,
    prefix: String,
    manifest: String,
    manifest_nonce: Option<String>,
    manifest_sealed: Option<String>,
}

async fn sign_paths(
    state: &AppState,
    prefix: &str,
    paths: &[&str],
    ttl: Duration,
) -> Result<BTreeMap<String, String>, AppError> {
    let storage = state.storage()?;
    let mut urls = BTreeMap::new();
    for p in paths {
        urls.insert(
            (*p).to_owned(),
            storage.presign_get(&format!("{prefix}{p}"), ttl).await?,
        );
    }
    Ok(urls)
}

/// `POST /v1/play/{id}/urls`: more presigned URLs for a session's package.
#[utoipa::path(
    post,
    path = "/{id}/urls",
    tag = "playback",
    request_body = UrlsRequest,
    params(("id" = String, Path, description = "The asset id")),
    responses((status = 200, body = UrlsAnswer), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody))
)]
pub async fn urls(
    State(state): State<AppState>,
    Path(id): Path<String>,
    PlainJson(req): PlainJson<UrlsRequest>,
) -> Result<Json<UrlsAnswer>, AppError> {
    let s =
        session::verify(state.token_secret(), &req.session, now_ms()).map_err(AppError::Session)?;
    if s.asset_id != id {
        return Err(AppError::Session(ApiErrorCode::SessionInvalid));
    }
    // A deleted asset's sessions end with it.
    if crate::db::asset_owner(state.db(), &id).await?.is_none() {
        return Err(AppError::UnknownAsset);
    }
    // The policy changed since the grant: the session is over (the player asks for a new one,
    // which the new policy decides).
    if load_policy(&state, &id).await?.epoch != s.policy_epoch {
        return Err(AppError::Session(ApiErrorCode::SessionExpired));
    }
    if req.paths.is_empty() || req.paths.len() > MAX_URL_BATCH {
        return Err(AppError::bad(
            ApiErrorCode::BatchSize,
            format!("ask for 1 to {MAX_URL_BATCH} paths at a time"),
        ));
    }
    let (prefix, manifest): (String, String) =
        sqlx::query_as("SELECT prefix, manifest FROM packages WHERE id = $1 AND asset_id = $2")
            .bind(&s.package_id)
            .bind(&id)
            .fetch_optional(state.db())
            .await?
            .ok_or(AppError::Session(ApiErrorCode::SessionInvalid))?;
    let manifest = Manifest::from_json(manifest.as_bytes())
        .map_err(|e| AppError::Database(format!("stored manifest unreadable: {e}")))?;
    let listed = |p: &str| {
        p == "manifest.cnls"
            || manifest.poster.as_ref().is_some_and(|x| x.path == p)
            || manifest
                .tracks
                .iter()
                .any(|t| t.init.path == p || t.segments.iter().any(|s| s.path == p))
    };
    if let Some(bad) = req.paths.iter().find(|p| !listed(p)) {
        return Err(AppError::bad(
            ApiErrorCode::UnknownPath,
            format!("{bad} is not in this package"),
        ));
    }
    let ttl = state.settings().play_url_ttl;
    let paths: Vec<&str> = req.paths.iter().map(String::as_str).collect();
    let urls = sign_paths(&state, &prefix, &paths, ttl).await?;
    Ok(Json(UrlsAnswer {
        urls,
        expires_at: now_ms() + ttl.as_millis() as i64,
        expires_in_ms: ttl.as_millis() as u64,
    }))
}
