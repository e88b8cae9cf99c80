//! Replay refusal: every sealed source header a worker opens is recorded (its SHA-256, with the
//! asset), and a header already recorded for another asset is refused as `source_replayed`.
//!
//! The format already binds a source to its asset (the asset id is the stream's context, so a
//! copied source fails to open for another asset); this record is the second, independent
//! check, and the one that names the problem. A header is recorded only once it has
//! authenticated for its own asset, so nobody can reserve a header they copied.

use cinelock_contract::ApiErrorCode;
use sha2::{Digest, Sha256};
use sqlx::AnyPool;

use crate::AppError;

/// The hex SHA-256 of a sealed stream header.
pub fn header_hash(header: &[u8]) -> String {
    hex::encode(Sha256::digest(header))
}

/// Refuses a header already recorded for another asset than `asset_id`.
pub async fn check_unseen(db: &AnyPool, asset_id: &str, hash: &str) -> Result<(), AppError> {
    let seen: Option<(String,)> =
        sqlx::query_as("SELECT asset_id FROM source_headers WHERE header_sha256 = $1")
            .bind(hash)
            .fetch_optional(db)
            .await?;
    match seen {
        Some((owner,)) if owner != asset_id => Err(AppError::Transcode {
            code: ApiErrorCode::SourceReplayed,
            message: "this sealed source was already uploaded for another asset; a copy is not transcoded again".into(),
        }),
        _ => Ok(()),
    }
}

/// Records an authenticated header for `asset_id` (a retried job records it again: no-op).
pub async fn record(db: &AnyPool, asset_id: &str, hash: &str) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO source_headers (header_sha256, asset_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (header_sha256) DO NOTHING",
    )
    .bind(hash)
    .bind(asset_id)
    .bind(crate::now_ms())
    .execute(db)
    .await?;
    // A concurrent job of another asset may have won the insert with the same header.
    check_unseen(db, asset_id, hash).await
}
