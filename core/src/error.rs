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
    /// A multipart part plan breaks the store's limits (part count, minimum or maximum part
    /// size), or no plan within them exists for this object.
    #[error("invalid part plan: {0}")]
    InvalidPlan(&'static str),
    /// A completion list lacks a planned part.
    #[error("part {0} is missing")]
    MissingPart(u32),
    /// A completion list, or the parts given as already done, names a part the plan lacks.
    #[error("part {0} is not in the plan")]
    UnexpectedPart(u32),
    /// A completion list names the same part twice.
    #[error("part {0} is listed twice")]
    DuplicatePart(u32),
    /// A part's sealed size differs from the plan's.
    #[error("part {part} is {found} bytes, the plan says {expected}")]
    PartSize {
        /// The part number.
        part: u32,
        /// Sealed bytes the plan gives the part.
        expected: u64,
        /// Sealed bytes reported.
        found: u64,
    },
    /// The store refused a part for good (a 4xx other than an expired URL or a throttle).
    #[error("the store rejected part {part} with HTTP {status}")]
    UploadRejected {
        /// The part number.
        part: u32,
        /// The HTTP status the store answered.
        status: u16,
    },
    /// The multipart upload no longer exists (aborted, or expired by a lifecycle rule).
    #[error("the multipart upload no longer exists")]
    NoSuchUpload,
    /// A part kept failing with retryable errors until its attempts ran out.
    #[error("part {part} still failing after {attempts} attempts")]
    RetriesExhausted {
        /// The part number.
        part: u32,
        /// PUTs made for it.
        attempts: u32,
    },
    /// The server would not sign part URLs (refused, or kept failing).
    #[error("the server did not sign part URLs")]
    SigningFailed,
    /// Completing the multipart upload failed for good, or kept failing.
    #[error("completing the upload failed (HTTP status {status:?})")]
    CompleteFailed {
        /// The last HTTP status, or `None` for a network failure.
        status: Option<u16>,
    },
    /// A package manifest breaks the format's rules.
    #[error("invalid manifest: {0}")]
    Manifest(String),
    /// A caption track (WebVTT file, language or label) the server does not accept.
    #[error("invalid captions: {0}")]
    Captions(String),
}

impl Error {
    /// Every code [`Error::code`] gives (the contract's enums must hold each).
    pub const CODES: &'static [&'static str] = &[
        "decrypt",
        "malformed",
        "unsupported",
        "chunk_size",
        "wrong_recipient",
        "invalid_key",
        "too_long",
        "invalid_plan",
        "missing_part",
        "unexpected_part",
        "duplicate_part",
        "part_size",
        "upload_rejected",
        "no_such_upload",
        "retries_exhausted",
        "signing_failed",
        "complete_failed",
        "invalid_manifest",
        "invalid_captions",
    ];

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
            Error::InvalidPlan(_) => "invalid_plan",
            Error::MissingPart(_) => "missing_part",
            Error::UnexpectedPart(_) => "unexpected_part",
            Error::DuplicatePart(_) => "duplicate_part",
            Error::PartSize { .. } => "part_size",
            Error::UploadRejected { .. } => "upload_rejected",
            Error::NoSuchUpload => "no_such_upload",
            Error::RetriesExhausted { .. } => "retries_exhausted",
            Error::SigningFailed => "signing_failed",
            Error::CompleteFailed { .. } => "complete_failed",
            Error::Manifest(_) => "invalid_manifest",
            Error::Captions(_) => "invalid_captions",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of every variant: a new variant breaks the match below until it is added here and
    /// its code to [`Error::CODES`].
    fn every_variant() -> Vec<Error> {
        vec![
            Error::Decrypt,
            Error::Malformed("x"),
            Error::Unsupported {
                version: 9,
                suite: 9,
            },
            Error::ChunkSize(1),
            Error::WrongRecipient {
                expected: crate::KeyId([0; 8]),
                found: crate::KeyId([1; 8]),
            },
            Error::InvalidKey,
            Error::TooLong,
            Error::InvalidPlan("x"),
            Error::MissingPart(1),
            Error::UnexpectedPart(1),
            Error::DuplicatePart(1),
            Error::PartSize {
                part: 1,
                expected: 1,
                found: 2,
            },
            Error::UploadRejected {
                part: 1,
                status: 400,
            },
            Error::NoSuchUpload,
            Error::RetriesExhausted {
                part: 1,
                attempts: 3,
            },
            Error::SigningFailed,
            Error::CompleteFailed { status: None },
            Error::Manifest("x".into()),
            Error::Captions("x".into()),
        ]
    }

    #[test]
    fn codes_lists_every_code() {
        let all = every_variant();
        for e in &all {
            match e {
                Error::Decrypt
                | Error::Malformed(_)
                | Error::Unsupported { .. }
                | Error::ChunkSize(_)
                | Error::WrongRecipient { .. }
                | Error::InvalidKey
                | Error::TooLong
                | Error::InvalidPlan(_)
                | Error::MissingPart(_)
                | Error::UnexpectedPart(_)
                | Error::DuplicatePart(_)
                | Error::PartSize { .. }
                | Error::UploadRejected { .. }
                | Error::NoSuchUpload
                | Error::RetriesExhausted { .. }
                | Error::SigningFailed
                | Error::CompleteFailed { .. }
                | Error::Manifest(_)
                | Error::Captions(_) => assert!(Error::CODES.contains(&e.code()), "{e:?}"),
            }
        }
        assert_eq!(all.len(), Error::CODES.len());
    }
}
