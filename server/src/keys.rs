//! Content keys at rest: made once per asset, stored wrapped by the KEK, unwrapped on use.
//! Workers and caption uploads seal with them; the playback endpoint releases them to players.

use cinelock_core::media::ContentKey;
use sqlx::AnyPool;

use crate::AppError;
use crate::kek::Kek;

/// The asset's content key, unwrapped; [`AppError::KeyUnavailable`] if it has none or it does
/// not unwrap under this KEK.
pub async fn content_key(db: &AnyPool, kek: &Kek, asset_id: &str) -> Result<ContentKey, AppError> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT kek_id, wrapped_key FROM asset_keys WHERE asset_id = $1")
            .bind(asset_id)
            .fetch_optional(db)
            .await?;
    let (kek_id, wrapped) = row.ok_or(AppError::KeyUnavailable)?;
    if kek_id != kek.id() {
        tracing::error!(
            asset_id,
            kek_id,
            "content key wrapped by another KEK than the configured one"
        );
        return Err(AppError::KeyUnavailable);
    }
    kek.unwrap(asset_id, &wrapped).await
}

/// The asset's content key, made (and stored wrapped) by the first caller that needs it: a
/// transcode job, or the first caption track. Every later caller unwraps the same one.
pub async fn ensure_content_key(
    db: &AnyPool,
    kek: &Kek,
    asset_id: &str,
) -> Result<ContentKey, AppError> {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut *bytes);
    let fresh = ContentKey::from_bytes(*bytes);
    let wrapped = kek.wrap(asset_id, &fresh).await?;
    sqlx::query(
        "INSERT INTO asset_keys (asset_id, kek_id, wrapped_key, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (asset_id) DO NOTHING",
    )
    .bind(asset_id)
    .bind(kek.id())
    .bind(&wrapped)
    .bind(crate::now_ms())
    .execute(db)
    .await?;
    content_key(db, kek, asset_id).await
}

/// The label the source's data key is wrapped and released under (`{asset}/source`), so it can
/// never be taken for the asset's content key.
pub fn source_label(asset_id: &str) -> String {
    format!("{asset_id}/source")
}

/// The sealed source's data key, unwrapped (for a download the policy allows).
pub async fn source_key(db: &AnyPool, kek: &Kek, asset_id: &str) -> Result<ContentKey, AppError> {
    let row: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT kek_id, source_key FROM asset_keys WHERE asset_id = $1")
            .bind(asset_id)
            .fetch_optional(db)
            .await?;
    let (kek_id, wrapped) = row.ok_or(AppError::KeyUnavailable)?;
    let wrapped = wrapped.ok_or(AppError::KeyUnavailable)?;
    if kek_id != kek.id() {
        return Err(AppError::KeyUnavailable);
    }
    kek.unwrap(&source_label(asset_id), &wrapped).await
}
