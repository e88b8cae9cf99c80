//! What the player tells its driver happened: readiness, rendition switches, stalls, retries
//! and fatal errors.

use core::fmt;

use super::action::FetchKind;

/// Something the driver may show or log.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Every slot has media under the playhead appended, for the first time: playback can
    /// begin (emitted once; seeks do not repeat it).
    Ready,
    /// The video rendition for the next fetches changed (the screen follows once the playhead
    /// reaches the first segment fetched at it). `from` is `None` for the choice at start.
    RenditionChanged {
        /// Track id of the previous rendition.
        from: Option<String>,
        /// Track id of the new rendition.
        to: String,
        /// Why.
        reason: SwitchReason,
    },
    /// The rendition on screen changed: the video segment now under the playhead was
    /// appended at another rendition than the one under it before (the first time: when one
    /// is). It follows a [`Event::RenditionChanged`] once the playhead reaches what was fetched
    /// at the new rendition, and shows the lower segment a seek may take
    /// ([`AbrConfig::seek_budget_s`](super::AbrConfig::seek_budget_s)).
    Showing {
        /// Track id of the rendition on screen.
        track_id: String,
    },
    /// Playback stopped for want of data at `at` seconds (the element's `waiting`, or a
    /// playhead frozen over unbuffered time).
    Stall {
        /// Playhead, seconds.
        at: f64,
    },
    /// The playhead moves again after a [`Event::Stall`]. A seek ends a stall without this
    /// event.
    StallRecovered {
        /// Where the stall was, seconds.
        at: f64,
        /// How long it lasted on the driver's clock.
        stalled_ms: u64,
    },
    /// A fetch failed and will be tried again.
    Retrying {
        /// The object.
        object: ObjectId,
        /// The attempt that comes next (2 for the first retry).
        attempt: u32,
        /// How long until it is made.
        delay_ms: u64,
        /// What went wrong.
        reason: RetryReason,
    },
    /// Playback stopped for good: every fetch still out was aborted and the player does nothing
    /// more.
    Error(PlaybackError),
}

/// Why the rendition changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwitchReason {
    /// The first choice: the configured start rendition, or the one the initial estimate
    /// allows.
    Start,
    /// The bandwidth estimate moved (down at once, up after sustained headroom).
    Bandwidth,
    /// Playback stalled: one rendition down at least.
    Stall,
    /// The page pinned this rendition ([`Player::set_rendition`](super::Player::set_rendition)).
    Manual,
    /// The page let the bandwidth choose again, from this rendition.
    Auto,
    /// The player's size caps the rendition below the one playing
    /// ([`AbrConfig::cap_to_player_size`](super::AbrConfig::cap_to_player_size)).
    Size,
}

/// Why a fetch is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryReason {
    /// The driver reported a retryable failure (network error, 5xx, 429, 408).
    Network,
    /// The fetch was out longer than [`PlaybackConfig::fetch_timeout_ms`](super::PlaybackConfig::fetch_timeout_ms).
    Timeout,
    /// The object failed authentication: fetched once more, bypassing the cache.
    Corrupt,
    /// The store refused the presigned URL (expired): fetched again at once with a new one.
    Expired,
}

/// One object of the package.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectId {
    /// The track.
    pub track_id: String,
    /// Init or media segment.
    pub kind: FetchKind,
    /// Segment index (0 for init).
    pub index: u32,
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            FetchKind::Init => write!(f, "init segment of track {}", self.track_id),
            FetchKind::Media => write!(f, "segment {} of track {}", self.index, self.track_id),
        }
    }
}

/// A fatal error's class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The manifest breaks a rule the player needs (see [`Player::new`](super::Player::new)).
    BadManifest,
    /// An object could not be fetched: a non-retryable failure, or every attempt failed.
    FetchFailed,
    /// An object failed authentication on every fetch: it was tampered with. Never appended.
    Tampered,
    /// The SourceBuffer rejected an append (not for want of room).
    AppendFailed,
    /// The SourceBuffer stayed full however much was evicted.
    QuotaExceeded,
}

impl ErrorCode {
    /// Every code (the contract's enums must hold each).
    pub const ALL: [ErrorCode; 5] = [
        ErrorCode::BadManifest,
        ErrorCode::FetchFailed,
        ErrorCode::Tampered,
        ErrorCode::AppendFailed,
        ErrorCode::QuotaExceeded,
    ];

    /// A stable snake_case name, for JavaScript.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadManifest => "bad_manifest",
            ErrorCode::FetchFailed => "fetch_failed",
            ErrorCode::Tampered => "tampered",
            ErrorCode::AppendFailed => "append_failed",
            ErrorCode::QuotaExceeded => "quota_exceeded",
        }
    }
}

/// A fatal playback error: its class, the object concerned, and a message naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybackError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// The object concerned, when there is one.
    pub object: Option<ObjectId>,
    /// For people: names the track and segment.
    pub message: String,
}

impl fmt::Display for PlaybackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for PlaybackError {}

/// Where the player is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayerState {
    /// Made, waiting for [`Player::handle_start`](super::Player::handle_start).
    Idle,
    /// Fetching, appending and evicting.
    Running,
    /// Stopped by an [`Event::Error`].
    Failed,
}
