//! Fetches a sealed source from the bucket and opens it into the worker's private directory,
//! authenticating every chunk on the way (the core's streaming opener). A chunk that fails
//! authentication stops the job for good: the bucket's copy was modified or damaged, and no
//! retry will change that.

use std::path::Path;

use cinelock_core::{
    DataKey, Error as CoreError, HEADER_LEN, Header, RecipientSecretKey, StreamOpener,
};
use tokio::io::AsyncWriteExt;

use crate::AppError;
use crate::storage::Storage;

/// Streams `key` into `dest` as plaintext; `on_progress` gets the fraction read. Returns the
/// plaintext length and the stream's data key (kept, wrapped, for downloads the policy allows).
pub async fn fetch_and_open(
    storage: &Storage,
    key: &str,
    sealed_len: u64,
    secret: &RecipientSecretKey,
    dest: &Path,
    mut on_progress: impl FnMut(f64),
) -> Result<(u64, DataKey), AppError> {
    let mut body = storage.get_object(key).await?;
    let mut header = Vec::with_capacity(HEADER_LEN);
    let mut opener = StreamOpener::new(secret.clone());
    let mut file = tokio::fs::File::create(dest)
        .await
        .map_err(|e| AppError::Worker(format!("creating {}: {e}", dest.display())))?;
    let mut plain = Vec::with_capacity(1 << 20);
    let mut read = 0u64;
    let mut written = 0u64;
    let refused = |e: CoreError, at: u64| match e {
        CoreError::Decrypt => AppError::Transcode {
            code: "source_tampered",
            message: format!(
                "the sealed source failed authentication near byte {at}: it was modified or damaged in storage, so it is not transcoded"
            ),
        },
        other => AppError::Transcode {
            code: "source_unreadable",
            message: format!("the sealed source cannot be opened: {other}"),
        },
    };
    while let Some(piece) = body.next().await {
        let piece = piece.map_err(|e| AppError::Storage(format!("reading the source: {e}")))?;
        let want = HEADER_LEN - header.len();
        header.extend_from_slice(&piece[..want.min(piece.len())]);
        opener
            .push(&piece, &mut plain)
            .map_err(|e| refused(e, read))?;
        read += piece.len() as u64;
        write(&mut file, &mut plain, &mut written, dest).await?;
        on_progress(read as f64 / sealed_len.max(1) as f64);
    }
    opener.finish(&mut plain).map_err(|e| refused(e, read))?;
    write(&mut file, &mut plain, &mut written, dest).await?;
    file.flush()
        .await
        .map_err(|e| AppError::Worker(format!("writing {}: {e}", dest.display())))?;
    // The opener accepted the header, so it parses and opens again here.
    let data_key = Header::parse(&header)
        .and_then(|h| secret.open_header(&h))
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
