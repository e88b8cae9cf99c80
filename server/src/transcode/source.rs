//! Fetches a sealed source from the bucket and opens it into the worker's private directory,
//! authenticating every chunk on the way (the core's streaming opener). The stream must have
//! been sealed for this asset (its context is the asset id), and its header must not have been
//! seen for another asset ([`super::replay`]). A chunk that fails authentication stops the job
//! for good: the bucket's copy was modified or damaged, and no retry will change that.

use cinelock_contract::ApiErrorCode;
use std::path::Path;

use cinelock_core::{
    DataKey, Error as CoreError, HEADER_LEN, Header, RecipientSecretKey, StreamOpener,
};
use tokio::io::AsyncWriteExt;

use crate::AppError;
use crate::storage::Storage;
use crate::transcode::replay;

/// The sealed source of one asset.
pub struct Source<'a> {
    pub storage: &'a Storage,
    pub db: &'a sqlx::AnyPool,
    /// The asset: also the context the source was sealed for.
    pub asset_id: &'a str,
    pub key: &'a str,
    pub sealed_len: u64,
}

/// Streams the source into `dest` as plaintext; `on_progress` gets the fraction read. Returns
/// the plaintext length and the stream's data key (kept, wrapped, for downloads the policy
/// allows).
pub async fn fetch_and_open(
    source: &Source<'_>,
    secret: &RecipientSecretKey,
    dest: &Path,
    mut on_progress: impl FnMut(f64),
) -> Result<(u64, DataKey), AppError> {
    let context = source.asset_id.as_bytes();
    let mut body = source.storage.get_object(source.key).await?;
    let mut header = Vec::with_capacity(HEADER_LEN);
    // Set once the header has authenticated for this asset and been recorded.
    let mut header_hash: Option<String> = None;
    let mut opener =
        StreamOpener::new(secret.clone(), context).map_err(|_| AppError::Transcode {
            code: ApiErrorCode::SourceUnreadable,
            message: "the asset id is too long to be a stream context".into(),
        })?;
    let mut file = tokio::fs::File::create(dest)
        .await
        .map_err(|e| AppError::Worker(format!("creating {}: {e}", dest.display())))?;
    let mut plain = Vec::with_capacity(1 << 20);
    let mut read = 0u64;
    let mut written = 0u64;
    let refused = |e: CoreError, at: u64| {
        match e {
        CoreError::Decrypt if at < HEADER_LEN as u64 => AppError::Transcode {
            code: ApiErrorCode::SourceTampered,
            message: "the sealed source does not open for this asset: it was sealed for another upload, or its header was modified".into(),
        },
        CoreError::Decrypt => AppError::Transcode {
            code: ApiErrorCode::SourceTampered,
            message: format!(
                "the sealed source failed authentication near byte {at}: it was modified or damaged in storage, so it is not transcoded"
            ),
        },
        other => AppError::Transcode {
            code: ApiErrorCode::SourceUnreadable,
            message: format!("the sealed source cannot be opened: {other}"),
        },
    }
    };
    while let Some(piece) = body.next().await {
        let piece = piece.map_err(|e| AppError::Storage(format!("reading the source: {e}")))?;
        let want = HEADER_LEN - header.len();
        header.extend_from_slice(&piece[..want.min(piece.len())]);
        let header_in = header.len() == HEADER_LEN && header_hash.is_none();
        if header_in {
            // A copy of another asset's source is named as such before any cryptography.
            replay::check_unseen(source.db, source.asset_id, &replay::header_hash(&header)).await?;
        }
        opener
            .push(&piece, &mut plain)
            .map_err(|e| refused(e, if header_in { 0 } else { read }))?;
        if header_in {
            let hash = replay::header_hash(&header);
            replay::record(source.db, source.asset_id, &hash).await?;
            header_hash = Some(hash);
        }
        read += piece.len() as u64;
        write(&mut file, &mut plain, &mut written, dest).await?;
        on_progress(read as f64 / source.sealed_len.max(1) as f64);
    }
    opener.finish(&mut plain).map_err(|e| refused(e, read))?;
    write(&mut file, &mut plain, &mut written, dest).await?;
    file.flush()
        .await
        .map_err(|e| AppError::Worker(format!("writing {}: {e}", dest.display())))?;
    // The opener accepted the header, so it parses and opens again here.
    let data_key = Header::parse(&header)
        .and_then(|h| secret.open_header(&h, context))
        .map_err(|e| refused(e, 0))?;
    Ok((written, data_key))
}

async fn write(
    file: &mut tokio::fs::File,
    plain: &mut Vec<u8>,
    written: &mut u64,
    dest: &Path,
) -> Result<(), AppError> {
    if plain.is_empty() {
        return Ok(());
    }
    file.write_all(plain)
        .await
        .map_err(|e| AppError::Worker(format!("writing {}: {e}", dest.display())))?;
    *written += plain.len() as u64;
    // Plaintext does not linger in freed memory longer than it must.
    zeroize::Zeroize::zeroize(plain);
    plain.clear();
    Ok(())
}
