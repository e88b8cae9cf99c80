//! The key-encryption key (KEK): content keys are stored only wrapped by it. By default the KEK
//! is 32 random bytes in a file (`cinelock-server generate-kek`, mode 0600); [`Kek`] is an enum
//! so that a KMS-backed variant (wrap and unwrap as remote calls) slots in beside the file one
//! without touching its callers, which already await it.
//!
//! Wrapped form (hex): nonce (12) ‖ AES-256-GCM(KEK, nonce, content key, aad) with
//! aad = `"cinelock kek wrap v1"` ‖ asset id, so a wrapped key cannot be moved to another asset.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use cinelock_core::media::ContentKey;
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::AppError;

const WRAP_DOMAIN: &[u8] = b"cinelock kek wrap v1";

/// A key-encryption key.
#[derive(Clone)]
#[non_exhaustive]
pub enum Kek {
    /// A 256-bit key read from a file.
    File(FileKek),
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Kek::File(k) => write!(f, "Kek::File({})", k.id),
        }
    }
}

/// The file-backed KEK.
#[derive(Clone)]
pub struct FileKek {
    key: Zeroizing<[u8; 32]>,
    id: String,
}

impl Kek {
    /// Reads a KEK file (64 hex digits).
    pub fn from_file(path: &Path) -> Result<Self, AppError> {
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            AppError::Config(format!("cannot read the KEK file {}: {e}", path.display()))
        })?);
        let bytes = Zeroizing::new(hex::decode(text.trim()).unwrap_or_default());
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            AppError::Config(format!(
                "{} is not a 32-byte key in hex (64 hex digits)",
                path.display()
            ))
        })?;
        Ok(Self::from_key(key))
    }

    /// A file-style KEK from key bytes (tests).
    pub fn from_key(key: [u8; 32]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"cinelock kek id v1")
            .chain_update(key)
            .finalize();
        Kek::File(FileKek {
            key: Zeroizing::new(key),
            id: format!("file:{}", hex::encode(&digest[..8])),
        })
    }

    /// Names the KEK (stored beside each wrapped key, for rotation).
    pub fn id(&self) -> &str {
        match self {
            Kek::File(k) => &k.id,
        }
    }

    /// Wraps an asset's content key.
    pub async fn wrap(&self, asset_id: &str, key: &ContentKey) -> Result<String, AppError> {
        match self {
            Kek::File(k) => {
                let mut nonce = [0u8; 12];
                rand::rng().fill_bytes(&mut nonce);
                let aad = [WRAP_DOMAIN, asset_id.as_bytes()].concat();
                let ct = Aes256Gcm::new((&*k.key).into())
                    .encrypt(
                        &Nonce::from(nonce),
                        Payload {
                            msg: key.as_bytes(),
                            aad: &aad,
                        },
                    )
                    .map_err(|_| AppError::Config("key wrap failed".into()))?;
                Ok(hex::encode([&nonce[..], &ct].concat()))
            }
        }
    }

    /// Unwraps an asset's content key. A wrong KEK, asset or a damaged value is one error.
    pub async fn unwrap(&self, asset_id: &str, wrapped: &str) -> Result<ContentKey, AppError> {
        let fail = || AppError::KeyUnavailable;
        match self {
            Kek::File(k) => {
                let bytes = hex::decode(wrapped).map_err(|_| fail())?;
                if bytes.len() != 12 + 32 + 16 {
                    return Err(fail());
                }
                let aad = [WRAP_DOMAIN, asset_id.as_bytes()].concat();
                let nonce: [u8; 12] = bytes[..12].try_into().expect("12");
                let key = Zeroizing::new(
                    Aes256Gcm::new((&*k.key).into())
                        .decrypt(
                            &Nonce::from(nonce),
                            Payload {
                                msg: &bytes[12..],
                                aad: &aad,
                            },
                        )
                        .map_err(|_| fail())?,
                );
                let key: [u8; 32] = key.as_slice().try_into().map_err(|_| fail())?;
                Ok(ContentKey::from_bytes(key))
            }
        }
    }
}

/// Creates a KEK file (mode 0600) if `path` does not exist; an existing one is kept.
pub fn ensure_file(path: &Path) -> Result<bool, AppError> {
    if path.exists() {
        Kek::from_file(path)?;
        return Ok(false);
    }
    let mut key = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(&mut *key);
    crate::worker_key::write_secret_file(path, &hex::encode(*key))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wrap_is_bound_to_the_kek_and_the_asset() {
        let kek = Kek::from_key([1; 32]);
        let ck = ContentKey::from_bytes([9; 32]);
        let wrapped = kek.wrap("a1", &ck).await.unwrap();
        assert!(!wrapped.contains(&hex::encode([9u8; 32])));
        assert_eq!(kek.unwrap("a1", &wrapped).await.unwrap(), ck);
        assert!(kek.unwrap("a2", &wrapped).await.is_err());
        assert!(Kek::from_key([2; 32]).unwrap("a1", &wrapped).await.is_err());
        assert!(kek.unwrap("a1", &wrapped[2..]).await.is_err());
        assert_ne!(kek.id(), Kek::from_key([2; 32]).id());
    }
}
