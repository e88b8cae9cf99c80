//! What the engine tells its driver happened: progress, finished parts, retries, and the
//! upload's lifecycle.

use crate::Error;

/// Something the driver may show or must persist.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Bytes sealed and acknowledged so far.
    Progress(Progress),
    /// The store acknowledged a part. Persist `etag` (IndexedDB) so a reload can resume
    /// without sending this part again.
    PartDone {
        /// Part number.
        number: u32,
        /// The store's ETag for it.
        etag: String,
    },
    /// A request failed and will be tried again.
    Retrying {
        /// The part whose PUT is retried; `None` for the signing request (reason
        /// [`RetryReason::SigningFailed`]) or the completion request.
        number: Option<u32>,
        /// The attempt that comes next (2 for the first retry).
        attempt: u32,
        /// How long until it is made (0 for an expired URL, which waits for a new one).
        delay_ms: u64,
        /// What went wrong.
        reason: RetryReason,
    },
    /// [`Upload::pause`](super::Upload::pause) took effect.
    Paused,
    /// [`Upload::resume`](super::Upload::resume) took effect.
    Resumed,
    /// The multipart upload is complete: the object exists.
    Completed,
    /// The upload stopped for good; the driver may still abort it to free the store's space.
    Failed(Error),
    /// The upload was aborted.
    Aborted,
}

/// Why a request is being retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryReason {
    /// No usable response.
    Network,
    /// A retryable HTTP status (5xx, 429, 408).
    Status(u16),
    /// The part's URL expired; it is being signed again.
    Expired,
    /// The store rejected the part's checksum; it is being sealed again.
    BadDigest,
    /// The server could not sign URLs this time.
    SigningFailed,
    /// The PUT sent nothing and had no answer for
    /// [`put_stall_ms`](super::UploadConfig::put_stall_ms), or the part's seal did not finish
    /// within [`seal_stall_ms`](super::UploadConfig::seal_stall_ms): it was given up. Or the
    /// completion request had no answer within
    /// [`complete_timeout_ms`](super::UploadConfig::complete_timeout_ms).
    Timeout,
}

/// A snapshot of how far the upload is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Sealed bytes of the parts sealed at least once (or done before a resume).
    pub sealed_bytes: u64,
    /// Sealed bytes the store has acknowledged, parts done before a resume included.
    pub acked_bytes: u64,
    /// Acknowledged bytes plus what the PUTs that are out have sent so far (as the driver
    /// reports it): what a progress bar shows. It goes back when a PUT fails or a pause
    /// cancels it, since those bytes are sent again.
    pub sent_bytes: u64,
    /// Sealed size of the whole object.
    pub total_bytes: u64,
    /// Acknowledged bytes per second over the recent window (this session's parts only).
    pub rate_bytes_per_s: f64,
    /// Time left at that rate, while the upload runs and a rate is known.
    pub eta_ms: Option<u64>,
}

/// Where the upload is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadState {
    /// Sealing and sending parts.
    Running,
    /// No new seals or PUTs; results of PUTs already sent are still taken.
    Paused,
    /// Every part is acknowledged; the completion request is out or being retried.
    Completing,
    /// The object exists.
    Completed,
    /// Stopped by an error (see [`Event::Failed`]).
    Failed,
    /// Aborted by the driver.
    Aborted,
}
