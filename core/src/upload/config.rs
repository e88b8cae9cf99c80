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
        }
    }
}
