//! The knobs of an upload, with defaults suited to a browser on a home connection.

/// How an [`Upload`](super::Upload) paces and retries itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadConfig {
    /// Most PUTs at once.
    pub max_parallel: usize,
    /// Parts sealed ahead beyond the PUTs out: when a PUT finishes, its slot finds the next
    /// part sealed (and signed) rather than leaving the link idle while that part is read,
    /// sealed, hashed and signed. Memory use is bounded by `max_parallel + seal_ahead` parts.
    pub seal_ahead: usize,
    /// Most parts being read and sealed at once. A browser seals on one thread, where more at
    /// once only holds more buffers; a native client sets its core count.
    pub max_sealing: usize,
    /// Most PUTs per part (and most tries of the signing and completion requests) before the
    /// upload fails.
    pub max_attempts: u32,
    /// Backoff before the first retry, at most (full jitter).
    pub base_backoff_ms: u64,
    /// Cap on any backoff.
    pub max_backoff_ms: u64,
    /// How many part URLs to ask the server for at once.
    pub sign_batch: u32,
    /// A URL expiring within this margin is signed again rather than used. Capped at half the
    /// URL's lifetime as it arrived, so short-lived URLs stay usable.
    pub url_refresh_margin_ms: u64,
    /// Window over which the progress rate is measured.
    pub rate_window_ms: u64,
    /// The presigned URLs sign each part's `x-amz-checksum-*` header, as AWS S3 requires (it
    /// refuses unsigned `x-amz-*` headers on presigned requests: 403 `HeadersNotSigned`).
    /// Signatures are then asked for only once a part is sealed, and the driver sends the
    /// server each part's checksum and length from
    /// [`Upload::part_checksum`](super::Upload::part_checksum). A URL then serves only bytes
    /// with the checksum it was signed for.
    pub checksum_in_signature: bool,
    /// The checksum parts are sealed with: the upload's, as the server created it (S3 takes
    /// only that algorithm's parts). [`Action::Seal`](super::Action::Seal) names it.
    pub part_checksum: super::ChecksumAlgorithm,
    /// A PUT that has sent nothing more and had no answer for this long is aborted
    /// ([`Action::CancelPut`](super::Action::CancelPut)) and retried like a network failure,
    /// and one fewer PUT runs at once. A connection that went silent (a network switched, a
    /// proxy that holds requests) would otherwise hold its part, and the upload, forever.
    /// Progress comes from [`Upload::handle_put_progress`](super::Upload::handle_put_progress):
    /// a driver that reports none sets `None` and bounds its requests itself.
    pub put_stall_ms: Option<u64>,
    /// A signing request with no answer for this long fails like a network error (and is
    /// retried). The driver bounds the request by it; the engine expects one answer per
    /// request, so an answer that comes late cannot be taken for the next request's.
    pub sign_timeout_ms: Option<u64>,
    /// A part being read and sealed that has not been reported sealed for this long is given
    /// up ([`Action::CancelSeal`](super::Action::CancelSeal)) and sealed again: a file read
    /// that never settles (a browser's stream, a network share gone quiet) would otherwise hold
    /// the upload forever. Sealing a browser part takes well under a second; a driver that
    /// seals parts of any size sets `None`.
    pub seal_stall_ms: Option<u64>,
    /// A completion request with no answer for this long fails with
    /// [`CompleteFailure::Timeout`](super::CompleteFailure::Timeout) and is retried (the server
    /// completes idempotently). The driver bounds the request by it, as a signing request. The
    /// server answers only once the store has put the object together from its parts, which
    /// can take minutes for a large object, so this is far longer than the stall timeouts.
    pub complete_timeout_ms: Option<u64>,
}

/// The least stall timeout a caller may set (ms): below it, a busy browser's gap between two
/// progress reports could pass for a silent connection.
pub const MIN_STALL_MS: u64 = 1_000;

/// How many stall timeouts a completion request is given
/// ([`complete_timeout_ms`](UploadConfig::complete_timeout_ms)): the store puts the object
/// together before the server answers.
pub const COMPLETE_TIMEOUT_STALLS: u64 = 10;

impl UploadConfig {
    /// With the stall timeout a caller asked for, for PUTs ([`put_stall_ms`](Self::put_stall_ms)),
    /// signing requests ([`sign_timeout_ms`](Self::sign_timeout_ms)) and seals
    /// ([`seal_stall_ms`](Self::seal_stall_ms)) alike, and [`COMPLETE_TIMEOUT_STALLS`] times it
    /// for the completion request ([`complete_timeout_ms`](Self::complete_timeout_ms)):
    /// `Some(0)` turns them off, less than [`MIN_STALL_MS`] is raised to it, and `None` keeps
    /// the defaults.
    pub fn with_stall(self, ms: Option<u64>) -> Self {
        let Some(ms) = ms else {
            return self;
        };
        let stall = (ms > 0).then(|| ms.max(MIN_STALL_MS));
        Self {
            put_stall_ms: stall,
            sign_timeout_ms: stall,
            seal_stall_ms: stall,
            complete_timeout_ms: stall.map(|ms| ms.saturating_mul(COMPLETE_TIMEOUT_STALLS)),
            ..self
        }
    }
}

impl Default for UploadConfig {
    fn default() -> Self {
        Self {
            max_parallel: 4,
            seal_ahead: 1,
            max_sealing: 2,
            max_attempts: 8,
            base_backoff_ms: 500,
            max_backoff_ms: 30_000,
            sign_batch: 8,
            url_refresh_margin_ms: 30_000,
            rate_window_ms: 5_000,
            // Real stores (AWS, Garage) verify a part's x-amz-checksum-* header only when the
            // signature covers it, so URLs are signed for sealed parts by default.
            checksum_in_signature: true,
            part_checksum: super::ChecksumAlgorithm::default(),
            // As the player's fetches, and Uppy's uploads: long enough for any store to answer
            // a whole part, short enough that a user is not left waiting on a dead connection.
            put_stall_ms: Some(30_000),
            // The server answers in milliseconds; this is for a connection that went silent.
            sign_timeout_ms: Some(30_000),
            seal_stall_ms: Some(30_000),
            // Ten stall timeouts: AWS documents that completing can take several minutes.
            complete_timeout_ms: Some(30_000 * COMPLETE_TIMEOUT_STALLS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callers_stall_timeout_is_kept_raised_or_turned_off() {
        let default = UploadConfig::default();
        assert_eq!(default.clone().with_stall(None), default);
        let all = |c: UploadConfig| {
            (
                c.put_stall_ms,
                c.sign_timeout_ms,
                c.seal_stall_ms,
                c.complete_timeout_ms,
            )
        };
        assert_eq!(
            all(default.clone().with_stall(Some(0))),
            (None, None, None, None)
        );
        let min = Some(MIN_STALL_MS);
        assert_eq!(
            all(default.clone().with_stall(Some(10))),
            (min, min, min, Some(10 * MIN_STALL_MS))
        );
        let long = Some(90_000);
        assert_eq!(
            all(default.clone().with_stall(Some(90_000))),
            (long, long, long, Some(900_000))
        );
        // The default is what a caller asking for the default stall timeout gets.
        assert_eq!(default.clone().with_stall(Some(30_000)), default);
    }
}
