//! The crate's one error type.

/// Everything that can go wrong in the core.
///
/// Anything cryptographic (a flipped bit, a swapped, dropped, reordered or appended chunk, a
/// truncated stream, a header from another stream) is the single opaque [`Error::Decrypt`]: the
/// caller learns nothing about *why*, and never receives unauthenticated plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Authentication failed somewhere in the stream or in the sealed data key.
    #[error("decryption failed")]
    Decrypt,
    /// The bytes are not a Cinelock sealed stream, or the header is cut short.
    #[error("not a Cinelock sealed stream: {0}")]
    Malformed(&'static str),
    /// A newer format version or cipher suite than this build understands.
    #[error("unsupported sealed stream (version {version}, suite {suite})")]
    Unsupported {
        /// Version byte found in the header.
        version: u8,
        /// Suite byte found in the header.
        suite: u8,
    },
    /// The chunk size is outside the range the format allows.
    #[error("chunk size {0} is outside {min}..={max}", min = crate::MIN_CHUNK_SIZE, max = crate::MAX_CHUNK_SIZE)]
    ChunkSize(u32),
    /// The stream was sealed for another recipient key.
    #[error("sealed for recipient key {found}, not {expected}")]
    WrongRecipient {
        /// Key id this opener holds.
        expected: crate::KeyId,
        /// Key id named in the header.
        found: crate::KeyId,
    },
    /// A public or secret key has the wrong length or is not a valid X25519 key.
    #[error("invalid recipient key")]
    InvalidKey,
    /// The plaintext would need more chunks than the 32-bit counter allows.
    #[error("stream too long for its chunk size")]
    TooLong,
}

impl Error {
    /// A stable, machine-readable name for the error's kind (for JSON and JS error codes).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Decrypt => "decrypt",
            Error::Malformed(_) => "malformed",
            Error::Unsupported { .. } => "unsupported",
            Error::ChunkSize(_) => "chunk_size",
            Error::WrongRecipient { .. } => "wrong_recipient",
            Error::InvalidKey => "invalid_key",
            Error::TooLong => "too_long",
        }
    }
}
