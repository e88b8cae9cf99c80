//! The upload API. A customer's backend (API key) creates an upload and gets a single-upload
//! token for the browser; the browser asks for presigned part URLs (after sealing each part,
//! since the URL signs the part's checksum), lists parts to resume, and completes or aborts.
//! The server checks every part against the plan before completing, and never sees media.
//! Completing queues the asset's transcode jobs in the same transaction.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cinelock_contract::ApiErrorCode;
use cinelock_contract::uploads::{
    AbortedUpload, CompletePart, CompleteRequest, CompletedUpload, CreateUpload, CreatedUpload,
    PlanView, RecipientView, SignRequest, SignedPartUrl, SignedParts, UploadStatus, UploadView,
};
use cinelock_core::DEFAULT_CHUNK_SIZE;
use cinelock_core::upload::{DEFAULT_PART_SIZE, PartPlan};

use crate::AppError;
use crate::auth::{self, SCOPE_READ, SCOPE_WRITE};
use crate::db::now_ms;
use crate::json::ApiJson;
use crate::state::AppState;
use crate::storage::FinishedPart;

/// Most part URLs one sign request may ask for.
pub const MAX_SIGN_BATCH: usize = 100;

/// An upload row.
#[derive(Debug, Clone)]
struct UploadRow {
    id: String,
    asset_id: String,
    s3_upload_id: String,
    object_key: String,
    status: UploadStatus,
    owner: String,
    plan: PartPlan,
}

type UploadTuple = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
);

async fn load(state: &AppState, id: &str) -> Result<UploadRow, AppError> {
    let row: Option<UploadTuple> = sqlx::query_as(
        "SELECT u.id, u.asset_id, u.s3_upload_id, u.object_key, u.status, a.api_key_id, \
                u.plaintext_len, u.chunk_size, u.chunks_per_part \
         FROM uploads u JOIN assets a ON a.id = u.asset_id WHERE u.id = $1",
    )
    .bind(id)
    .fetch_optional(state.db())
    .await?;
    let (id, asset_id, s3_upload_id, object_key, status, owner, len, cs, cpp) =
        row.ok_or(AppError::UnknownUpload)?;
    let status = UploadStatus::parse(&status)
        .ok_or_else(|| AppError::Database(format!("unknown upload status {status:?}")))?;
    let plan = PartPlan::from_parts(len as u64, cs as u32, cpp as u64)
        .map_err(|e| AppError::Database(format!("stored plan invalid: {e}")))?;
    Ok(UploadRow {
        id,
        asset_id,
        s3_upload_id,
        object_key,
        status,
        owner,
        plan,
    })
}

/// The bearer is either this upload's token, or an API key with `scope` that owns the upload.
async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    scope: &'static str,
) -> Result<UploadRow, AppError> {
    let is_api_key = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer clk_"));
    if is_api_key {
        let key = auth::api_key(state.db(), headers).await?;
        key.require(scope)?;
        let upload = load(state, id).await?;
        // Another customer's upload is indistinguishable from a missing one.
        if upload.owner != key.id {
            return Err(AppError::UnknownUpload);
        }
        Ok(upload)
    } else {
        state.tokens()?.verify(headers, id, now_ms())?;
        load(state, id).await
    }
}

fn require_open(upload: &UploadRow) -> Result<(), AppError> {
    if upload.status == UploadStatus::Open {
        Ok(())
    } else {
        Err(AppError::Conflict(upload.status.as_str().into()))
    }
}

fn plan_error(e: cinelock_core::Error) -> AppError {
    AppError::bad(ApiErrorCode::InvalidPlan, e.to_string())
}

/// `POST /v1/uploads` (API key, uploads:write).
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CreateUpload>,
) -> Result<(StatusCode, Json<CreatedUpload>), AppError> {
    let key = auth::api_key(state.db(), &headers).await?;
    key.require(SCOPE_WRITE)?;
    let storage = state.storage()?;
    let worker = state.worker_key()?;
    for (field, v) in [
        ("filename", &req.filename),
        ("content_type", &req.content_type),
    ] {
        if v.as_ref()
            .is_some_and(|s| s.len() > 255 || s.chars().any(char::is_control))
        {
            return Err(AppError::bad(
                ApiErrorCode::InvalidField,
                format!("{field} must be at most 255 printable characters"),
            ));
        }
    }
    let plan = PartPlan::new(
        req.size,
        req.chunk_size.unwrap_or(DEFAULT_CHUNK_SIZE),
        req.part_size.unwrap_or(DEFAULT_PART_SIZE),
    )
    .map_err(plan_error)?;
    let asset_id = uuid::Uuid::new_v4().to_string();
    let upload_id = uuid::Uuid::new_v4().to_string();
    let object_key = format!("assets/{asset_id}/source.cnlk");
    let s3_upload_id = storage.create_upload(&object_key).await?;
    let now = now_ms();
    let mut tx = state.db().begin().await?;
    sqlx::query(
        "INSERT INTO assets (id, api_key_id, status, filename, content_type, object_key, plaintext_len, sealed_len, key_id, created_at, updated_at) \
         VALUES ($1, $2, 'uploading', $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(&asset_id)
    .bind(&key.id)
    .bind(&req.filename)
    .bind(&req.content_type)
    .bind(&object_key)
    .bind(plan.plaintext_len() as i64)
    .bind(plan.sealed_len() as i64)
    .bind(worker.key_id().to_string())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO uploads (id, asset_id, s3_upload_id, object_key, plaintext_len, chunk_size, chunks_per_part, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $8)",
    )
    .bind(&upload_id)
    .bind(&asset_id)
    .bind(&s3_upload_id)
    .bind(&object_key)
    .bind(plan.plaintext_len() as i64)
    .bind(i64::from(plan.chunk_size()))
    .bind(plan.chunks_per_part() as i64)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let expires = now + state.settings().upload_token_ttl.as_millis() as i64;
    let token = state.tokens()?.issue(&upload_id, expires);
    tracing::info!(
        upload_id,
        asset_id,
        size = req.size,
        parts = plan.part_count(),
        "upload created"
    );
    Ok((
        StatusCode::CREATED,
        Json(CreatedUpload {
            upload_id,
            asset_id,
            token,
            token_expires_at: expires,
            plan: PlanView::from(&plan),
            recipient: RecipientView {
                public_key: hex::encode(worker.to_bytes()),
                key_id: worker.key_id().to_string(),
            },
        }),
    ))
}

/// `POST /v1/uploads/{id}/sign` (upload token): presigned URLs for sealed parts.
pub async fn sign(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SignRequest>,
) -> Result<Json<SignedParts>, AppError> {
    let upload = authorize(&state, &headers, &id, SCOPE_WRITE).await?;
    require_open(&upload)?;
    if req.parts.is_empty() || req.parts.len() > MAX_SIGN_BATCH {
        return Err(AppError::bad(
            ApiErrorCode::BatchSize,
            format!("ask for 1 to {MAX_SIGN_BATCH} parts at a time"),
        ));
    }
    let storage = state.storage()?;
    let ttl = state.settings().part_url_ttl;
    let now = now_ms();
    let mut out = Vec::with_capacity(req.parts.len());
    for p in &req.parts {
        let spec = upload.plan.part(p.number).ok_or_else(|| {
            AppError::bad(
                ApiErrorCode::PartOutOfRange,
                format!(
                    "part {} is not in 1..={}",
                    p.number,
                    upload.plan.part_count()
                ),
            )
        })?;
        if p.size != spec.sealed_len() {
            return Err(AppError::bad(
                ApiErrorCode::PartSize,
                format!(
                    "part {} must be {} sealed bytes, not {}",
                    p.number,
                    spec.sealed_len(),
                    p.size
                ),
            ));
        }
        if STANDARD.decode(&p.sha256).map(|d| d.len()) != Ok(32) {
            return Err(AppError::bad(
                ApiErrorCode::InvalidChecksum,
                format!("part {}: sha256 must be 32 bytes in base64", p.number),
            ));
        }
    }
    for p in &req.parts {
        sqlx::query(
            "INSERT INTO upload_parts (upload_id, number, sha256, size, signed_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (upload_id, number) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size, signed_at = excluded.signed_at",
        )
        .bind(&upload.id)
        .bind(i64::from(p.number))
        .bind(&p.sha256)
        .bind(p.size as i64)
        .bind(now)
        .execute(state.db())
        .await?;
        let signed = storage
            .sign_part(
                &upload.object_key,
                &upload.s3_upload_id,
                p.number,
                &p.sha256,
                p.size,
                ttl,
            )
            .await?;
        out.push(SignedPartUrl {
            number: p.number,
            url: signed.url,
            headers: signed.headers.into_iter().collect(),
            expires_at: signed.expires_at_ms,
            expires_in_ms: signed.lifetime_ms,
        });
    }
    sqlx::query("UPDATE uploads SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(&upload.id)
        .execute(state.db())
        .await?;
    Ok(Json(SignedParts { parts: out }))
}

/// `GET /v1/uploads/{id}` (upload token, or API key with uploads:read): state and stored parts.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<UploadView>, AppError> {
    let upload = authorize(&state, &headers, &id, SCOPE_READ).await?;
    let parts = if upload.status == UploadStatus::Open {
        // An upload the store forgot has no parts to resume from.
        state
            .storage()?
            .list_parts(&upload.object_key, &upload.s3_upload_id)
            .await?
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    // The uploading page follows transcoding through its upload token.
    let asset = crate::assets::describe(&state, &upload.asset_id, None).await?;
    Ok(Json(UploadView {
        upload_id: upload.id,
        asset_id: upload.asset_id,
        status: upload.status,
        plan: PlanView::from(&upload.plan),
        parts,
        asset,
    }))
}

/// `POST /v1/uploads/{id}/complete` (upload token): verifies every part against the plan,
/// then completes. Idempotent: completing a completed upload answers the same.
pub async fn complete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CompleteRequest>,
) -> Result<Json<CompletedUpload>, AppError> {
    let upload = authorize(&state, &headers, &id, SCOPE_WRITE).await?;
    let done = || {
        Json(CompletedUpload {
            upload_id: upload.id.clone(),
            asset_id: upload.asset_id.clone(),
            status: UploadStatus::Completed,
            sealed_len: upload.plan.sealed_len(),
        })
    };
    if upload.status == UploadStatus::Completed {
        return Ok(done());
    }
    require_open(&upload)?;
    let storage = state.storage()?;
    let listed = storage
        .list_parts(&upload.object_key, &upload.s3_upload_id)
        .await?;
    // The store no longer knows the upload, or (s3s-fs never says NoSuchUpload) lists no
    // parts: an earlier attempt may have completed it and lost its answer. The object tells.
    if listed.as_ref().is_none_or(Vec::is_empty)
        && storage.object_size(&upload.object_key).await? == Some(upload.plan.sealed_len())
    {
        completed(&state, &upload).await?;
        return Ok(done());
    }
    let listed = listed.ok_or_else(gone_from_store)?;
    let sizes: Vec<(u32, u64)> = listed.iter().map(|p| (p.number, p.size)).collect();
    upload
        .plan
        .verify_completion(&sizes)
        .map_err(|e| AppError::bad_core(&e))?;
    let mut claimed: Vec<&CompletePart> = req.parts.iter().collect();
    claimed.sort_by_key(|p| p.number);
    let numbers: Vec<u32> = claimed.iter().map(|p| p.number).collect();
    if numbers != (1..=upload.plan.part_count()).collect::<Vec<_>>() {
        return Err(AppError::bad(
            ApiErrorCode::PartsMismatch,
            "complete must list every part 1..=n exactly once",
        ));
    }
    let checksums: Vec<(i64, String)> = sqlx::query_as(
        "SELECT number, sha256 FROM upload_parts WHERE upload_id = $1 ORDER BY number",
    )
    .bind(&upload.id)
    .fetch_all(state.db())
    .await?;
    let mut finished = Vec::with_capacity(claimed.len());
    for (p, stored) in claimed.iter().zip(&listed) {
        if let Some(etag) = &stored.etag
            && etag.trim_matches('"') != p.etag.trim_matches('"')
        {
            return Err(AppError::bad(
                ApiErrorCode::EtagMismatch,
                format!("part {}: ETag differs from the store's", p.number),
            ));
        }
        let sha = checksums
            .iter()
            .find(|(n, _)| *n == i64::from(p.number))
            .map(|(_, s)| s.clone())
            .ok_or_else(|| {
                AppError::bad(
                    ApiErrorCode::MissingPart,
                    format!("part {} was never signed", p.number),
                )
            })?;
        finished.push(FinishedPart {
            number: p.number,
            etag: p.etag.clone(),
            sha256_b64: sha,
        });
    }
    let done_now = storage
        .complete(&upload.object_key, &upload.s3_upload_id, &finished)
        .await?;
    if !done_now {
        // The store forgot the upload since the listing: fine only if it was completed.
        let size = storage.object_size(&upload.object_key).await?;
        if size != Some(upload.plan.sealed_len()) {
            return Err(gone_from_store());
        }
    }
    completed(&state, &upload).await?;
    Ok(done())
}

fn gone_from_store() -> AppError {
    AppError::Conflict("gone from the store (aborted or expired)".into())
}

/// Records a completion the store has made.
async fn completed(state: &AppState, upload: &UploadRow) -> Result<(), AppError> {
    mark(state, upload, UploadStatus::Completed, "uploaded").await?;
    tracing::info!(
        upload_id = upload.id,
        asset_id = upload.asset_id,
        "upload completed"
    );
    Ok(())
}

/// `DELETE /v1/uploads/{id}` (upload token, or API key with uploads:write).
pub async fn abort(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<AbortedUpload>, AppError> {
    let upload = authorize(&state, &headers, &id, SCOPE_WRITE).await?;
    if upload.status == UploadStatus::Completed {
        return Err(AppError::Conflict(UploadStatus::Completed.as_str().into()));
    }
    if upload.status == UploadStatus::Open {
        state
            .storage()?
            .abort(&upload.object_key, &upload.s3_upload_id)
            .await?;
        mark(&state, &upload, UploadStatus::Aborted, "aborted").await?;
    }
    Ok(Json(AbortedUpload {
        upload_id: upload.id,
        status: UploadStatus::Aborted,
    }))
}

async fn mark(
    state: &AppState,
    upload: &UploadRow,
    status: UploadStatus,
    asset_status: &str,
) -> Result<(), AppError> {
    let now = now_ms();
    let mut tx = state.db().begin().await?;
    sqlx::query("UPDATE uploads SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(now)
        .bind(&upload.id)
        .execute(&mut *tx)
        .await?;
    crate::db::set_asset_status(&mut tx, &upload.asset_id, asset_status, now).await?;
    if status == UploadStatus::Completed {
        crate::jobs::enqueue(&mut tx, &upload.asset_id, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Aborts open uploads untouched since `older_than_ms`; returns how many.
pub async fn reap_abandoned(state: &AppState, older_than_ms: i64) -> Result<usize, AppError> {
    let storage = state.storage()?;
    let stale: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM uploads WHERE status = 'open' AND updated_at < $1")
            .bind(older_than_ms)
            .fetch_all(state.db())
            .await?;
    let mut reaped = 0;
    for (id,) in stale {
        let upload = load(state, &id).await?;
        storage
            .abort(&upload.object_key, &upload.s3_upload_id)
            .await?;
        mark(state, &upload, UploadStatus::Abandoned, "abandoned").await?;
        tracing::info!(upload_id = id, "abandoned upload aborted");
        reaped += 1;
    }
    Ok(reaped)
}
