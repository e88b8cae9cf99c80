//! What crosses between the engine and its driver: the actions the engine asks for and the
//! outcomes the driver reports back.
//!
//! Presigned URLs are bearer credentials for one part, so the `Debug` output of every type here
//! that carries one prints `<redacted>` in its place.

use core::fmt;

use crate::store::Refusal;

use super::checksum::{ChecksumAlgorithm, PartChecksum};
use super::plan::PartSpec;

/// Work the driver must do.
#[derive(Clone, PartialEq, Eq)]
pub enum Action {
    /// Ask the server for presigned PUT URLs for these parts (most urgent first); answer with
    /// [`Upload::handle_signed`](super::Upload::handle_signed) or
    /// [`Upload::handle_sign_failed`](super::Upload::handle_sign_failed).
    RequestSignatures {
        /// Part numbers.
        parts: Vec<u32>,
    },
    /// Read and seal this part into memory, then report
    /// [`Upload::handle_sealed`](super::Upload::handle_sealed). Sealing a part again replaces
    /// the bytes the driver held for it.
    Seal {
        /// Part number.
        number: u32,
        /// Which chunks, and whether the header leads.
        spec: PartSpec,
        /// The checksum to report with the sealed bytes (the upload's).
        checksum: ChecksumAlgorithm,
    },
    /// PUT the sealed part to `url` with the headers its URL was signed with (the checksum), then report
    /// [`Upload::handle_put_result`](super::Upload::handle_put_result) with this `attempt`.
    Put {
        /// Part number.
        number: u32,
        /// Which attempt this is (1 for the first), to tell late results apart.
        attempt: u32,
        /// Presigned URL (a secret).
        url: String,
        /// Checksum of the sealed part, as reported when it was sealed.
        checksum: PartChecksum,
        /// Sealed bytes in the part.
        len: u64,
    },
    /// Abort the PUT of part `number` made as `attempt`: the upload was paused (the part is
    /// sent again after a resume), or the PUT stalled (it is retried). Its result, if one
    /// still comes, is ignored.
    CancelPut {
        /// Part number.
        number: u32,
        /// The attempt to abort.
        attempt: u32,
    },
    /// Give up the seal of part `number` that is out (it stalled) and drop what it read; a
    /// `Seal` of the same part follows. A result that still comes for it may be taken for the
    /// new seal's: the same part sealed the same way.
    CancelSeal {
        /// Part number.
        number: u32,
    },
    /// Ask the server to complete the multipart upload with these parts (ascending), then
    /// report [`Upload::handle_complete_result`](super::Upload::handle_complete_result).
    Complete {
        /// Part number and ETag of every part.
        parts: Vec<(u32, String)>,
    },
    /// Ask the server to abort the multipart upload. Emitted once.
    Abort,
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::RequestSignatures { parts } => f
                .debug_struct("RequestSignatures")
                .field("parts", parts)
                .finish(),
            Action::Seal {
                number,
                spec,
                checksum,
            } => f
                .debug_struct("Seal")
                .field("number", number)
                .field("spec", spec)
                .field("checksum", checksum)
                .finish(),
            Action::Put {
                number,
                attempt,
                len,
                ..
            } => f
                .debug_struct("Put")
                .field("number", number)
                .field("attempt", attempt)
                .field("url", &Redacted)
                .field("len", len)
                .finish_non_exhaustive(),
            Action::CancelPut { number, attempt } => f
                .debug_struct("CancelPut")
                .field("number", number)
                .field("attempt", attempt)
                .finish(),
            Action::CancelSeal { number } => f
                .debug_struct("CancelSeal")
                .field("number", number)
                .finish(),
            Action::Complete { parts } => f.debug_struct("Complete").field("parts", parts).finish(),
            Action::Abort => f.write_str("Abort"),
        }
    }
}

/// A presigned URL for one part, as the server returns it.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedPart {
    /// Part number.
    pub number: u32,
    /// Presigned PUT URL (a secret).
    pub url: String,
    /// How long the signature is accepted from when the server signed it (its
    /// `expires_in_ms`): relative, so no clock but the driver's own matters
    /// ([`crate::presigned`]).
    pub lifetime_ms: u64,
}

impl fmt::Debug for SignedPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedPart")
            .field("number", &self.number)
            .field("url", &Redacted)
            .field("lifetime_ms", &self.lifetime_ms)
            .finish()
    }
}

/// Why a part's PUT failed, as the driver classifies the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutFailure {
    /// No usable response: connection cut, reset or timed out. (S3's `400 RequestTimeout`,
    /// an idle upload socket, belongs here too.)
    Network,
    /// Any other HTTP status.
    Status(u16),
    /// The store says the signature expired (AWS: 403 "Request has expired"; Garage: 400 "Date
    /// is too old"). The engine signs the part again.
    Expired,
    /// The store's checksum of the body differs from the checksum header: the bytes were damaged
    /// on the way (or in memory). The engine has the part sealed again.
    BadDigest,
}

impl PutFailure {
    /// Reads the store's refusal of a PUT: its status and (S3 XML) body.
    pub fn from_response(status: u16, body: &str) -> Self {
        match crate::store::classify_put(status, body) {
            Refusal::Expired => Self::Expired,
            Refusal::BadDigest => Self::BadDigest,
            Refusal::Timeout => Self::Network,
            Refusal::Status(s) => Self::Status(s),
        }
    }
}

/// Why completing the multipart upload failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompleteFailure {
    /// No usable response.
    Network,
    /// An HTTP status from the server.
    Status(u16),
    /// No answer within [`complete_timeout_ms`](super::UploadConfig::complete_timeout_ms): the
    /// driver gave the request up.
    Timeout,
}

/// Placeholder printed where a URL would be.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}
