//! Cinelock's sans-IO core.
//!
//! This crate owns the *sealed stream format* shared by the browser SDK, the server's transcode
//! workers and the player: a header carrying an HPKE-sealed data key, followed by AES-256-GCM
//! chunks in a STREAM construction (see `docs/format.md`). It performs no I/O, reads no clock and
//! draws no randomness: callers pass random bytes in ([`SealSeed`], [`RecipientSecretKey::from_seed`]),
//! so every result here is deterministic and testable natively and in wasm alike.
//!
//! [`upload`] holds the multipart upload engine: where a sealed object is cut into S3 parts,
//! and the state machine that seals, signs, sends, retries and completes them. [`media`] holds
//! encrypted media packages (sealed segments and their manifest) and content key release.

pub mod analytics;
mod backoff;
mod chunk;
mod error;
mod format;
mod keys;
pub mod media;
pub mod playback;
pub mod policy;
pub mod presigned;
pub mod recording;
mod rng;
pub mod store;
mod stream;
pub mod upload;
pub mod webhook;

pub use chunk::{ChunkCipher, TAG_LEN};
pub use error::Error;
pub use format::{
    DEFAULT_CHUNK_SIZE, HEADER_LEN, Header, Layout, MAGIC, MAX_CHUNK_SIZE, MAX_CONTEXT_LEN,
    MAX_STREAM_PLAINTEXT, MIN_CHUNK_SIZE, SUITE, VERSION,
};
pub use keys::{
    DataKey, HPKE_INFO, KeyId, RecipientPublicKey, RecipientSecretKey, SEED_LEN, SealSeed,
};
pub use stream::{StreamOpener, StreamSealer, open, seal};

/// SHA-256 of `data` (key ids, file names, and the part checksums of uploads created with SHA-256).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}
