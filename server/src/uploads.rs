//! The upload API. A customer's backend (API key) creates an upload and gets a single-upload
//! token for the browser; the browser asks for presigned part URLs (after sealing each part,
//! since the URL signs the part's checksum), lists parts to resume, and completes or aborts.
//! The server checks every part against the plan before completing, and never sees media.
//! Completing queues the asset's transcode jobs in the same transaction.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use cinelock_contract::ApiErrorCode;
use cinelock_contract::uploads::{
    AbortedUpload, CompletePart, CompleteRequest, CompletedUpload, CreateUpload, CreatedUpload,
    PlanView, RecipientView, SignRequest, SignedPartUrl, SignedParts, UploadStatus, UploadView,
};
use cinelock_contract::webhooks::{WebhookData, WebhookEventType};
use cinelock_core::DEFAULT_CHUNK_SIZE;
use cinelock_core::upload::{
    ChecksumAlgorithm, DEFAULT_PART_SIZE, GrowingPlan, MAX_PART_SIZE, MIN_PART_SIZE, PartChecksum,
    PartPlan, PartSpec,
};

use crate::AppError;
use crate::auth::{self, SCOPE_READ, SCOPE_WRITE};
use crate::db::now_ms;
use crate::json::ApiJson;
use crate::metrics::UploadEvent;
use crate::state::AppState;
use crate::storage::FinishedPart;

/// Most part URLs one sign request may ask for.
pub const MAX_SIGN_BATCH: usize = 100;

/// How an upload is cut into parts.
#[derive(Debug, Clone)]
enum StoredPlan {
    /// Created with a size.
    Fixed(PartPlan),
    /// Created without one (a recording): the size comes with `complete`.
    Growing {
        plan: GrowingPlan,
        /// The largest plaintext it may reach.
        max_len: u64,
    },
}

impl StoredPlan {
    fn view(&self) -> PlanView {
        match self {
            StoredPlan::Fixed(p) => PlanView::from(p),
            StoredPlan::Growing { plan, .. } => PlanView::from(plan),
        }
    }

    /// The plan a completion is checked against: a growing upload's, cut at `size`.
    fn for_completion(&self, size: Option<u64>) -> Result<PartPlan, AppError> {
        match (self, size) {
            (StoredPlan::Fixed(p), None) => Ok(p.clone()),
            (StoredPlan::Fixed(p), Some(s)) if s == p.plaintext_len() => Ok(p.clone()),
            (StoredPlan::Fixed(p), Some(s)) => Err(AppError::bad(
                ApiErrorCode::SizeMismatch,
                format!(
                    "the upload was created for {} bytes, not {s}",
                    p.plaintext_len()
                ),
            )),
            (StoredPlan::Growing { .. }, None) => Err(AppError::bad(
                ApiErrorCode::SizeMismatch,
                "a growing upload completes with its size",
            )),
            (StoredPlan::Growing { max_len, .. }, Some(s)) if s > *max_len => Err(AppError::bad(
                ApiErrorCode::TooLong,
                format!("{s} bytes is past the upload's max_size of {max_len}"),
            )),
            (StoredPlan::Growing { plan, .. }, Some(s)) => {
                plan.finish(s).map_err(|e| AppError::bad_core(&e))
            }
        }
    }
}

/// An upload and its asset's owner, as stored.
#[derive(Debug, sqlx::FromRow)]
struct UploadRecord {
    id: String,
    asset_id: String,
    s3_upload_id: String,
    object_key: String,
    status: String,
    owner: String,
    plaintext_len: i64,
    chunk_size: i64,
    chunks_per_part: i64,
    growing: i64,
    max_len: i64,
    part_checksum: String,
}

/// An upload, checked.
#[derive(Debug, Clone)]
struct UploadRow {
    id: String,
    asset_id: String,
    s3_upload_id: String,
    object_key: String,
    status: UploadStatus,
    owner: String,
    plan: StoredPlan,
    part_checksum: ChecksumAlgorithm,
}

async fn load(state: &AppState, id: &str) -> Result<UploadRow, AppError> {
    let row: Option<UploadRecord> = sqlx::query_as(
        "SELECT u.id, u.asset_id, u.s3_upload_id, u.object_key, u.status, a.api_key_id AS owner, \
                u.plaintext_len, u.chunk_size, u.chunks_per_part, u.growing, u.max_len, \
                u.part_checksum \
         FROM uploads u JOIN assets a ON a.id = u.asset_id WHERE u.id = $1",
    )
    .bind(id)
    .fetch_optional(state.db())
    .await?;
    let r = row.ok_or(AppError::UnknownUpload)?;
    let status = UploadStatus::parse(&r.status)
        .ok_or_else(|| AppError::Database(format!("unknown upload status {:?}", r.status)))?;
    let part_checksum = ChecksumAlgorithm::parse(&r.part_checksum).ok_or_else(|| {
        AppError::Database(format!("unknown part checksum {:?}", r.part_checksum))
    })?;
    let stored = |e: cinelock_core::Error| AppError::Database(format!("stored plan invalid: {e}"));
    let plan = if r.growing != 0 {
        StoredPlan::Growing {
            plan: GrowingPlan::from_parts(r.chunk_size as u32, r.chunks_per_part as u64)
                .map_err(stored)?,
            max_len: r.max_len as u64,
        }
    } else {
        StoredPlan::Fixed(
            PartPlan::from_parts(
                r.plaintext_len as u64,
                r.chunk_size as u32,
                r.chunks_per_part as u64,
            )
            .map_err(stored)?,
        )
    };
    Ok(UploadRow {
        id: r.id,
        asset_id: r.asset_id,
        s3_upload_id: r.s3_upload_id,
        object_key: r.object_key,
        status,
        owner: r.owner,
        plan,
        part_checksum,
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

/// A part a sign request names must fit the plan: its number within it and its size the
/// plan's. A growing upload's last part is known only at the end, so any part may also be
/// shorter than a full one; the completion checks every size against the final plan.
fn check_part_size(plan: &StoredPlan, number: u32, size: u64) -> Result<(), AppError> {
    let (spec, may_be_last): (Option<PartSpec>, bool) = match plan {
        StoredPlan::Fixed(p) => (p.part(number), false),
        StoredPlan::Growing { plan, max_len } => {
            let max_parts = max_len.div_ceil(plan.part_plaintext());
            let within = u64::from(number) <= max_parts;
            (plan.part(number).filter(|_| within), true)
        }
    };
    let spec = spec.ok_or_else(|| {
        let range = match plan {
            StoredPlan::Fixed(p) => format!("1..={}", p.part_count()),
            StoredPlan::Growing { plan, max_len } => {
                format!("1..={}", max_len.div_ceil(plan.part_plaintext()))
            }
        };
        AppError::bad(
            ApiErrorCode::PartOutOfRange,
            format!("part {number} is not in {range}"),
        )
    })?;
    let full = spec.sealed_len();
    let smallest = if spec.includes_header {
        cinelock_core::HEADER_LEN as u64 + cinelock_core::TAG_LEN as u64
    } else {
        cinelock_core::TAG_LEN as u64 + 1
    };
    if size == full || (may_be_last && (smallest..full).contains(&size)) {
        return Ok(());
    }
    Err(AppError::bad(
        ApiErrorCode::PartSize,
        format!("part {number} must be {full} sealed bytes, not {size}"),
    ))
}

fn plan_error(e: cinelock_core::Error) -> AppError {
    AppError::bad(ApiErrorCode::InvalidPlan, e.to_string())
}

/// `POST /v1/uploads` (API key, uploads:write).
#[utoipa::path(
    post,
    path = "/uploads",
    tag = "uploads",
    request_body = CreateUpload,
    responses((status = 201, body = CreatedUpload), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
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
    let chunk_size = req.chunk_size.unwrap_or(DEFAULT_CHUNK_SIZE);
    let part_size = req.part_size.unwrap_or(DEFAULT_PART_SIZE);
    // A part size the store cannot take is refused, not quietly replaced by another.
    if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&part_size) {
        return Err(AppError::bad(
            ApiErrorCode::InvalidPlan,
            format!("part_size must be {MIN_PART_SIZE} to {MAX_PART_SIZE} bytes"),
        ));
    }
    let plan = match req.size {
        Some(size) if req.max_size.is_none() => {
            StoredPlan::Fixed(PartPlan::new(size, chunk_size, part_size).map_err(plan_error)?)
        }
        Some(_) => {
            return Err(AppError::bad(
                ApiErrorCode::InvalidPlan,
                "max_size is for growing uploads (created without a size)",
            ));
        }
        None => {
            let plan = GrowingPlan::new(chunk_size, part_size).map_err(plan_error)?;
            let ceiling = state.settings().max_growing_bytes.min(plan.max_plaintext());
            let max_len = req.max_size.unwrap_or(ceiling);
            if max_len == 0 || max_len > ceiling {
                return Err(AppError::bad(
                    ApiErrorCode::InvalidPlan,
                    format!("max_size must be 1 to {ceiling} bytes"),
                ));
            }
            StoredPlan::Growing { plan, max_len }
        }
    };
    if let Some(linked) = &req.linked_to {
        let owner: Option<String> =
            sqlx::query_scalar("SELECT api_key_id FROM assets WHERE id = $1")
                .bind(linked)
                .fetch_optional(state.db())
                .await?;
        if owner.as_deref() != Some(key.id.as_str()) {
            return Err(AppError::bad(
                ApiErrorCode::InvalidLink,
                "linked_to must be an asset of this API key",
            ));
        }
    }
    let (plaintext_len, sealed_len, chunks_per_part, growing, max_len) = match &plan {
        StoredPlan::Fixed(p) => (
            p.plaintext_len(),
            p.sealed_len(),
            p.chunks_per_part(),
            false,
            p.plaintext_len(),
        ),
        StoredPlan::Growing { plan, max_len } => (0, 0, plan.chunks_per_part(), true, *max_len),
    };
    let asset_id = uuid::Uuid::new_v4().to_string();
    let upload_id = uuid::Uuid::new_v4().to_string();
    let object_key = format!("assets/{asset_id}/source.cnlk");
    let part_checksum = state.settings().part_checksum;
    let s3_upload_id = storage.create_upload(&object_key, part_checksum).await?;
    let now = now_ms();
    let mut tx = state.db().begin().await?;
    sqlx::query(
        "INSERT INTO assets (id, api_key_id, status, filename, content_type, object_key, plaintext_len, sealed_len, key_id, created_at, updated_at, linked_to) \
         VALUES ($1, $2, 'uploading', $3, $4, $5, $6, $7, $8, $9, $9, $10)",
    )
    .bind(&asset_id)
    .bind(&key.id)
    .bind(&req.filename)
    .bind(&req.content_type)
    .bind(&object_key)
    .bind(plaintext_len as i64)
    .bind(sealed_len as i64)
    .bind(worker.key_id().to_string())
    .bind(now)
    .bind(&req.linked_to)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO uploads (id, asset_id, s3_upload_id, object_key, plaintext_len, chunk_size, chunks_per_part, status, created_at, updated_at, growing, max_len, part_checksum) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $8, $9, $10, $11)",
    )
    .bind(&upload_id)
    .bind(&asset_id)
    .bind(&s3_upload_id)
    .bind(&object_key)
    .bind(plaintext_len as i64)
    .bind(i64::from(chunk_size))
    .bind(chunks_per_part as i64)
    .bind(now)
    .bind(i64::from(growing))
    .bind(max_len as i64)
    .bind(part_checksum.name())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let expires = now + state.settings().upload_token_ttl.as_millis() as i64;
    let token = state.tokens()?.issue(&upload_id, expires);
    state.metrics().upload(UploadEvent::Created);
    tracing::info!(
        upload_id,
        asset_id,
        size = req.size,
        growing,
        "upload created"
    );
    Ok((
        StatusCode::CREATED,
        Json(CreatedUpload {
            upload_id,
            asset_id,
            token,
            token_expires_at: expires,
            plan: plan.view(),
            part_checksum: part_checksum.into(),
            recipient: RecipientView {
                public_key: hex::encode(worker.to_bytes()),
                key_id: worker.key_id().to_string(),
            },
        }),
    ))
}

/// `POST /v1/uploads/{id}/sign` (upload token): presigned URLs for sealed parts.
#[utoipa::path(
    post,
    path = "/uploads/{id}/sign",
    tag = "uploads",
    request_body = SignRequest,
    params(("id" = String, Path, description = "The upload id")),
    responses((status = 200, body = SignedParts), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("upload_token" = []))
)]
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
    let mut checked = Vec::with_capacity(req.parts.len());
    for p in &req.parts {
        check_part_size(&upload.plan, p.number, p.size)?;
        let checksum = p
            .checksum(upload.part_checksum)
            .map_err(|message| AppError::bad(ApiErrorCode::InvalidChecksum, message))?;
        checked.push((p, checksum));
    }
    for (p, checksum) in checked {
        sqlx::query(
            "INSERT INTO upload_parts (upload_id, number, checksum, size, signed_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (upload_id, number) DO UPDATE SET checksum = excluded.checksum, size = excluded.size, signed_at = excluded.signed_at",
        )
        .bind(&upload.id)
        .bind(i64::from(p.number))
        .bind(checksum.to_base64())
        .bind(p.size as i64)
        .bind(now)
        .execute(state.db())
        .await?;
        let signed = storage
            .sign_part(
                &upload.object_key,
                &upload.s3_upload_id,
                p.number,
                &checksum,
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
#[utoipa::path(
    get,
    path = "/uploads/{id}",
    tag = "uploads",
    params(("id" = String, Path, description = "The upload id")),
    responses((status = 200, body = UploadView), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("upload_token" = []))
)]
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
        plan: upload.plan.view(),
        part_checksum: upload.part_checksum.into(),
        parts,
        asset,
    }))
}

/// `POST /v1/uploads/{id}/complete` (upload token): verifies every part against the plan,
/// then completes. Idempotent: completing a completed upload answers the same.
#[utoipa::path(
    post,
    path = "/uploads/{id}/complete",
    tag = "uploads",
    request_body = CompleteRequest,
    params(("id" = String, Path, description = "The upload id")),
    responses((status = 200, body = CompletedUpload), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("upload_token" = []))
)]
pub async fn complete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CompleteRequest>,
) -> Result<Json<CompletedUpload>, AppError> {
    let upload = authorize(&state, &headers, &id, SCOPE_WRITE).await?;
    let plan = upload.plan.for_completion(req.size)?;
    if req.cut_short && !matches!(upload.plan, StoredPlan::Growing { .. }) {
        return Err(AppError::bad(
            ApiErrorCode::SizeMismatch,
            "only a growing upload can be cut short",
        ));
    }
    let done = || {
        Json(CompletedUpload {
            upload_id: upload.id.clone(),
            asset_id: upload.asset_id.clone(),
            status: UploadStatus::Completed,
            sealed_len: plan.sealed_len(),
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
        && storage.object_size(&upload.object_key).await? == Some(plan.sealed_len())
    {
        completed(&state, &upload, &plan, req.cut_short).await?;
        return Ok(done());
    }
    let listed = listed.ok_or_else(gone_from_store)?;
    let sizes: Vec<(u32, u64)> = listed.iter().map(|p| (p.number, p.size)).collect();
    plan.verify_completion(&sizes)
        .map_err(|e| AppError::bad_core(&e))?;
    let mut claimed: Vec<&CompletePart> = req.parts.iter().collect();
    claimed.sort_by_key(|p| p.number);
    let numbers: Vec<u32> = claimed.iter().map(|p| p.number).collect();
    if numbers != (1..=plan.part_count()).collect::<Vec<_>>() {
        return Err(AppError::bad(
            ApiErrorCode::PartsMismatch,
            "complete must list every part 1..=n exactly once",
        ));
    }
    let checksums: Vec<SignedChecksum> = sqlx::query_as(
        "SELECT number, checksum FROM upload_parts WHERE upload_id = $1 ORDER BY number",
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
        let signed = checksums
            .iter()
            .find(|c| c.number == i64::from(p.number))
            .ok_or_else(|| {
                AppError::bad(
                    ApiErrorCode::MissingPart,
                    format!("part {} was never signed", p.number),
                )
            })?;
        let checksum = PartChecksum::from_base64(upload.part_checksum, &signed.checksum)
            .ok_or_else(|| {
                AppError::Database(format!("part {}: stored checksum invalid", p.number))
            })?;
        finished.push(FinishedPart {
            number: p.number,
            etag: p.etag.clone(),
            checksum,
        });
    }
    let done_now = storage
        .complete(&upload.object_key, &upload.s3_upload_id, &finished)
        .await?;
    if !done_now {
        // The store forgot the upload since the listing: fine only if it was completed.
        let size = storage.object_size(&upload.object_key).await?;
        if size != Some(plan.sealed_len()) {
            return Err(gone_from_store());
        }
    }
    completed(&state, &upload, &plan, req.cut_short).await?;
    Ok(done())
}

/// A part's checksum as signed, base64.
#[derive(Debug, sqlx::FromRow)]
struct SignedChecksum {
    number: i64,
    checksum: String,
}

fn gone_from_store() -> AppError {
    AppError::Conflict("gone from the store (aborted or expired)".into())
}

/// Records a completion the store has made; a growing upload's size becomes its plan's.
async fn completed(
    state: &AppState,
    upload: &UploadRow,
    plan: &PartPlan,
    cut_short: bool,
) -> Result<(), AppError> {
    if matches!(upload.plan, StoredPlan::Growing { .. }) {
        let mut tx = state.db().begin().await?;
        sqlx::query("UPDATE uploads SET plaintext_len = $1, growing = 0 WHERE id = $2")
            .bind(plan.plaintext_len() as i64)
            .bind(&upload.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE assets SET plaintext_len = $1, sealed_len = $2, cut_short = $3 WHERE id = $4",
        )
        .bind(plan.plaintext_len() as i64)
        .bind(plan.sealed_len() as i64)
        .bind(i64::from(cut_short))
        .bind(&upload.asset_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    mark(state, upload, UploadStatus::Completed, "uploaded").await?;
    state.metrics().upload(UploadEvent::Completed {
        sealed_bytes: plan.sealed_len(),
    });
    tracing::info!(
        upload_id = upload.id,
        asset_id = upload.asset_id,
        "upload completed"
    );
    Ok(())
}

/// `DELETE /v1/uploads/{id}` (upload token, or API key with uploads:write).
#[utoipa::path(
    delete,
    path = "/uploads/{id}",
    tag = "uploads",
    params(("id" = String, Path, description = "The upload id")),
    responses((status = 200, body = AbortedUpload), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("upload_token" = []))
)]
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
        state.metrics().upload(UploadEvent::Aborted);
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
        let data = WebhookData {
            upload_id: Some(upload.id.clone()),
            ..crate::webhooks::outbox::about(&upload.asset_id)
        };
        crate::webhooks::outbox::emit(&mut tx, WebhookEventType::UploadCompleted, data, now)
            .await?;
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
        state.metrics().upload(UploadEvent::Abandoned);
        tracing::info!(upload_id = id, "abandoned upload aborted");
        reaped += 1;
    }
    Ok(reaped)
}
