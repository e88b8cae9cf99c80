//! The transcode job queue, kept in the service's own database (no broker to run).
//!
//! A job is `queued` → `running` → `succeeded` / `failed` / `cancelled`. A worker *claims* the
//! most urgent claimable job (preview before full, then oldest): a queued job whose back-off has
//! passed, or a running job whose lease ran out because its worker died. PostgreSQL claims with
//! `FOR UPDATE SKIP LOCKED`, so many workers never block on or double-claim a row; SQLite has
//! one writer at a time, which gives the same exclusion. Every claim draws a fresh lease token;
//! heartbeats, progress and the final publish all require that token, so a worker that lost its
//! lease (paused, partitioned, presumed dead) can no longer change the job or publish anything.
//! Publishing a package and marking the job succeeded happen in one transaction: an asset is
//! never listed with a package that is not complete in the bucket.

use cinelock_contract::ApiErrorCode;
use cinelock_contract::webhooks::{WebhookData, WebhookEventType};
use serde::Serialize;
use sqlx::AnyPool;

use crate::AppError;
use crate::db::now_ms;
use crate::webhooks::outbox;

/// What a job produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// The first seconds at the lowest rendition, ready fast.
    Preview,
    /// The whole rendition ladder.
    Full,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Preview => "preview",
            JobKind::Full => "full",
        }
    }

    fn parse(s: &str) -> Result<Self, AppError> {
        match s {
            "preview" => Ok(JobKind::Preview),
            "full" => Ok(JobKind::Full),
            other => Err(AppError::Database(format!("unknown job kind {other:?}"))),
        }
    }

    /// Lower runs first: a preview is worth having before the ladder.
    fn priority(self) -> i64 {
        match self {
            JobKind::Preview => 0,
            JobKind::Full => 10,
        }
    }
}

/// Attempts a job gets before it fails for good.
pub const MAX_ATTEMPTS: i64 = 4;

/// A job a worker holds the lease on.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub asset_id: String,
    pub kind: JobKind,
    pub attempt: i64,
    pub max_attempts: i64,
    /// Fences this claim: every later write names it.
    pub lease_token: String,
    /// Where this attempt writes its package (fresh per attempt, so attempts never mix).
    pub package_id: String,
}

pub use cinelock_contract::assets::{JobError, JobView};

/// Queues a preview and a full transcode for an uploaded asset, inside the caller's
/// transaction. Queuing twice is harmless.
pub async fn enqueue(
    tx: &mut sqlx::AnyConnection,
    asset_id: &str,
    now: i64,
) -> Result<(), AppError> {
    for kind in [JobKind::Preview, JobKind::Full] {
        sqlx::query(
            "INSERT INTO jobs (id, asset_id, kind, priority, status, max_attempts, run_after, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'queued', $5, $6, $6, $6) ON CONFLICT (asset_id, kind) DO NOTHING",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(asset_id)
        .bind(kind.as_str())
        .bind(kind.priority())
        .bind(MAX_ATTEMPTS)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Claims the most urgent claimable job for `owner`, leasing it until `now + lease_ms`.
pub async fn claim(db: &AnyPool, owner: &str, lease_ms: i64) -> Result<Option<Claimed>, AppError> {
    loop {
        let now = now_ms();
        let lock = if crate::db::is_postgres(db) {
            "FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let token = uuid::Uuid::new_v4().to_string();
        let package_id = uuid::Uuid::new_v4().simple().to_string();
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_token = $1, lease_owner = $2, \
                 lease_expires_at = $3, package_id = $4, progress = 0, started_at = COALESCE(started_at, $5), updated_at = $5 \
             WHERE id = (SELECT id FROM jobs \
                         WHERE (status = 'queued' AND run_after <= $5) OR (status = 'running' AND lease_expires_at < $5) \
                         ORDER BY priority, created_at LIMIT 1 {lock}) \
             RETURNING id, asset_id, kind, attempts, max_attempts"
        );
        let row: Option<(String, String, String, i64, i64)> = sqlx::query_as(&sql)
            .bind(&token)
            .bind(owner)
            .bind(now + lease_ms)
            .bind(&package_id)
            .bind(now)
            .fetch_optional(db)
            .await?;
        let Some((id, asset_id, kind, attempt, max_attempts)) = row else {
            return Ok(None);
        };
        let job = Claimed {
            id,
            asset_id,
            kind: JobKind::parse(&kind)?,
            attempt,
            max_attempts,
            lease_token: token,
            package_id,
        };
        // A job whose worker died on its last attempt has nothing left to try.
        if attempt > max_attempts {
            let e = AppError::Transcode {
                code: ApiErrorCode::AttemptsExhausted,
                message: format!("gave up after {max_attempts} attempts (workers kept stopping)"),
            };
            fail(db, &job, &e, false).await?;
            continue;
        }
        sqlx::query("UPDATE assets SET status = 'processing', updated_at = $1 WHERE id = $2 AND status = 'uploaded'")
            .bind(now)
            .bind(&job.asset_id)
            .execute(db)
            .await?;
        return Ok(Some(job));
    }
}

/// Renews the lease and records progress; [`AppError::LeaseLost`] if the job is no longer
/// this claim's (lease taken over, or the job cancelled).
pub async fn heartbeat(
    db: &AnyPool,
    job: &Claimed,
    progress: i64,
    lease_ms: i64,
) -> Result<(), AppError> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE jobs SET lease_expires_at = $1, progress = $2, updated_at = $3 \
         WHERE id = $4 AND lease_token = $5 AND status = 'running'",
    )
    .bind(now + lease_ms)
    .bind(progress.clamp(0, 99))
    .bind(now)
    .bind(&job.id)
    .bind(&job.lease_token)
    .execute(db)
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(AppError::LeaseLost)
    }
}

/// A package ready to publish: every object is already in the bucket.
#[derive(Debug, Clone)]
pub struct Publish {
    pub prefix: String,
    pub manifest_json: String,
    /// The sealed manifest object's nonce, in hex: sessions pin it.
    pub manifest_nonce: String,
    /// The sealed manifest object, in base64.
    pub manifest_sealed: String,
    pub duration_ms: i64,
}

/// Marks the job succeeded and publishes its package, atomically, if the lease still holds.
pub async fn succeed(db: &AnyPool, job: &Claimed, package: &Publish) -> Result<(), AppError> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE jobs SET status = 'succeeded', progress = 100, finished_at = $1, updated_at = $1, \
             lease_token = NULL, lease_expires_at = NULL, error_code = NULL, error_message = NULL \
         WHERE id = $2 AND lease_token = $3 AND status = 'running'",
    )
    .bind(now)
    .bind(&job.id)
    .bind(&job.lease_token)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(AppError::LeaseLost);
    }
    sqlx::query(
        "INSERT INTO packages (id, asset_id, kind, prefix, manifest, manifest_nonce, manifest_sealed, duration_ms, \
             created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&job.package_id)
    .bind(&job.asset_id)
    .bind(job.kind.as_str())
    .bind(&package.prefix)
    .bind(&package.manifest_json)
    .bind(&package.manifest_nonce)
    .bind(&package.manifest_sealed)
    .bind(package.duration_ms)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if job.kind == JobKind::Full {
        crate::db::set_asset_status(&mut tx, &job.asset_id, "ready", now).await?;
    }
    let event = match job.kind {
        JobKind::Preview => WebhookEventType::AssetPreviewReady,
        JobKind::Full => WebhookEventType::AssetReady,
    };
    outbox::emit(&mut tx, event, outbox::about(&job.asset_id), now).await?;
    tx.commit().await?;
    Ok(())
}

/// Back-off before attempt `n + 1`: 5 s, 20 s, 80 s, … capped at 10 minutes.
pub fn backoff_ms(attempt: i64) -> i64 {
    let exp = u32::try_from(attempt.clamp(1, 8) - 1).unwrap_or(0);
    (5_000i64 * 4i64.pow(exp)).min(600_000)
}

/// Records a failed attempt: queued again after a back-off when `retryable` and attempts
/// remain, failed for good otherwise (a failed full transcode fails the asset). Does nothing
/// if the lease was lost (the new holder owns the job).
pub async fn fail(
    db: &AnyPool,
    job: &Claimed,
    error: &AppError,
    retryable: bool,
) -> Result<(), AppError> {
    let now = now_ms();
    let again = retryable && job.attempt < job.max_attempts;
    let (status, run_after) = if again {
        ("queued", now + backoff_ms(job.attempt))
    } else {
        ("failed", now)
    };
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE jobs SET status = $1, run_after = $2, error_code = $3, error_message = $4, updated_at = $5, \
             finished_at = CASE WHEN $1 = 'failed' THEN $5 ELSE NULL END, lease_token = NULL, lease_expires_at = NULL \
         WHERE id = $6 AND lease_token = $7 AND status = 'running'",
    )
    .bind(status)
    .bind(run_after)
    .bind(error.code().as_str())
    .bind(public_message(error))
    .bind(now)
    .bind(&job.id)
    .bind(&job.lease_token)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 1 && !again && job.kind == JobKind::Full {
        crate::db::set_asset_status(&mut tx, &job.asset_id, "failed", now).await?;
        let data = WebhookData {
            error: Some(JobError {
                code: error.code(),
                message: public_message(error),
            }),
            ..outbox::about(&job.asset_id)
        };
        outbox::emit(&mut tx, WebhookEventType::AssetErrored, data, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// What an uploader is told about a failed attempt: the reason for a failure the worker
/// understood (its own words, which name no path or key), a plain sentence otherwise. The
/// detail (ffmpeg's output, file names) stays in the worker's log.
pub fn public_message(error: &AppError) -> String {
    match error {
        AppError::Transcode { message, .. } => message.clone(),
        AppError::Storage(_) => "the object store failed while transcoding; it is retried".into(),
        AppError::Database(_) => "the database failed while transcoding; it is retried".into(),
        AppError::Config(_) => "the transcode workers are misconfigured".into(),
        _ => "the transcode failed in the worker; it is retried".into(),
    }
}

/// Cancels a queued or running job (a running worker notices at its next heartbeat).
pub async fn cancel(db: &AnyPool, job_id: &str) -> Result<bool, AppError> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE jobs SET status = 'cancelled', finished_at = $1, updated_at = $1, lease_token = NULL, lease_expires_at = NULL \
         WHERE id = $2 AND status IN ('queued', 'running')",
    )
    .bind(now)
    .bind(job_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

type JobRow = (
    String,
    String,
    String,
    i64,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

/// An asset's jobs, preview first.
pub async fn for_asset(db: &AnyPool, asset_id: &str) -> Result<Vec<JobView>, AppError> {
    let rows: Vec<JobRow> = sqlx::query_as(
        "SELECT id, kind, status, progress, attempts, max_attempts, error_code, error_message, started_at, finished_at \
         FROM jobs WHERE asset_id = $1 ORDER BY priority",
    )
    .bind(asset_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                kind,
                status,
                progress,
                attempts,
                max_attempts,
                code,
                message,
                started_at,
                finished_at,
            )| JobView {
                id,
                kind,
                status,
                progress,
                attempts,
                max_attempts,
                // Codes are stored as the contract writes them; an unknown one (an older
                // server's) reads as the generic worker failure.
                error: code.map(|code| JobError {
                    code: ApiErrorCode::parse(&code).unwrap_or(ApiErrorCode::Worker),
                    message: message.unwrap_or_default(),
                }),
                started_at,
                finished_at,
            },
        )
        .collect())
}

/// Package ids that are published or being written by a live claim (everything else under an
/// asset's `packages/` prefix is debris from a dead attempt).
pub async fn live_package_ids(db: &AnyPool, asset_id: &str) -> Result<Vec<String>, AppError> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM packages WHERE asset_id = $1 \
         UNION SELECT package_id FROM jobs WHERE asset_id = $1 AND status = 'running' AND package_id IS NOT NULL",
    )
    .bind(asset_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}
