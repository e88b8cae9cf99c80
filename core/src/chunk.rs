//! One chunk's AES-256-GCM seal and open, with the STREAM nonce and the header binding.
//!
//! nonce = nonce prefix (7) ‖ chunk counter (u32 BE) ‖ last flag (0x00 or 0x01);
//! associated data = SHA-256(header). The data key is used directly as the AES-256 key.
//! The WebCrypto fast path in the browser asks this type for the same nonce and associated data,
//! so both paths produce identical bytes.

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use sha2::{Digest, Sha256};

use crate::{DataKey, Error, HEADER_LEN, Header};

/// AES-GCM tag length appended to every chunk.
pub const TAG_LEN: usize = 16;

/// Seals and opens the chunks of one stream.
#[derive(Clone)]
pub struct ChunkCipher {
    aead: Aes256Gcm,
    nonce_prefix: [u8; 7],
    aad: [u8; 32],
}

impl core::fmt::Debug for ChunkCipher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ChunkCipher").finish_non_exhaustive()
    }
}

impl ChunkCipher {
    /// A cipher for the stream that `header` starts, under `key`.
    pub fn new(header: &Header, key: &DataKey) -> Self {
        Self::from_header_bytes(&header.to_bytes(), header.nonce_prefix, key)
    }

    pub(crate) fn from_header_bytes(
        header: &[u8; HEADER_LEN],
        nonce_prefix: [u8; 7],
        key: &DataKey,
    ) -> Self {
        Self {
            aead: Aes256Gcm::new(key.as_bytes().into()),
            nonce_prefix,
            aad: Sha256::digest(header).into(),
        }
    }

    /// The 12-byte nonce of chunk `index`.
    pub fn nonce(&self, index: u32, last: bool) -> [u8; 12] {
        let mut n = [0u8; 12];
        n[..7].copy_from_slice(&self.nonce_prefix);
        n[7..11].copy_from_slice(&index.to_be_bytes());
        n[11] = u8::from(last);
        n
    }

    /// The associated data every chunk is authenticated with: SHA-256 of the header.
    pub fn associated_data(&self) -> [u8; 32] {
        self.aad
    }

    /// Encrypts `buf` in place and returns its tag.
    pub fn seal_detached(&self, index: u32, last: bool, buf: &mut [u8]) -> [u8; TAG_LEN] {
        let nonce = Nonce::from(self.nonce(index, last));
        self.aead
            .encrypt_inout_detached(&nonce, &self.aad, buf.into())
            .expect("chunk sizes are far below AES-GCM's limit")
            .into()
    }

    /// Encrypts the plaintext in `buf` in place and appends the tag.
    pub fn seal_chunk(&self, index: u32, last: bool, buf: &mut Vec<u8>) {
        let tag = self.seal_detached(index, last, buf);
        buf.extend_from_slice(&tag);
    }

    /// Opens a sealed chunk (ciphertext ‖ tag) in place; on success returns the plaintext
    /// prefix of `buf`. On failure the buffer is zeroed, so no unauthenticated plaintext is left.
    pub fn open_chunk<'a>(
        &self,
        index: u32,
        last: bool,
        buf: &'a mut [u8],
    ) -> Result<&'a mut [u8], Error> {
        let split = buf.len().checked_sub(TAG_LEN).ok_or(Error::Decrypt)?;
        let (body, tag) = buf.split_at_mut(split);
        let tag = Tag::try_from(&*tag).map_err(|_| Error::Decrypt)?;
        let nonce = Nonce::from(self.nonce(index, last));
        match self
            .aead
            .decrypt_inout_detached(&nonce, &self.aad, body.into(), &tag)
        {
            Ok(()) => Ok(body),
            Err(_) => {
                body.fill(0);
                Err(Error::Decrypt)
            }
        }
    }
}
