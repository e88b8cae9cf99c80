//! What the SDK hands to pages: upload events, player event details, renditions and
//! statistics. camelCase, as JavaScript names things.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ErrorCode;

/// An upload's progress (the `progress` event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UploadProgress {
    /// Sealed bytes of the parts sealed so far.
    #[ts(type = "number")]
    pub sealed_bytes: u64,
    /// Sealed bytes the store has acknowledged.
    #[ts(type = "number")]
    pub acked_bytes: u64,
    /// Acknowledged bytes plus what the requests that are out have sent: what a progress bar
    /// shows (it steps back when a request fails or a pause cancels it).
    #[ts(type = "number")]
    pub sent_bytes: u64,
    /// Sealed size of the whole object.
    #[ts(type = "number")]
    pub total_bytes: u64,
    /// Bytes per second acknowledged by the store, over the last few seconds.
    pub rate: f64,
    /// Milliseconds until done at that rate (null until measured).
    #[ts(type = "number | null")]
    pub eta_ms: Option<u64>,
}

/// Why a part (or the signing) is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum UploadRetryReason {
    /// No usable response.
    Network,
    /// A retryable HTTP status (5xx, 429, 408): see `status`.
    Status,
    /// The part's URL expired; it is signed again.
    Expired,
    /// The store rejected the part's checksum; it is sealed again.
    BadDigest,
    /// The server could not sign URLs this time.
    SigningFailed,
    /// The PUT sent nothing and had no answer for the stall timeout (`stallTimeoutMs`), or the
    /// part's read and seal took as long, or the completion had no answer for ten times as
    /// long: it was given up and is tried again.
    Timeout,
}

impl UploadRetryReason {
    /// The reason of the core's upload engine, and the HTTP status for `Status`.
    pub fn of(reason: &cinelock_core::upload::RetryReason) -> (Self, Option<u16>) {
        use cinelock_core::upload::RetryReason as R;
        match reason {
            R::Network => (Self::Network, None),
            R::Status(s) => (Self::Status, Some(*s)),
            R::Expired => (Self::Expired, None),
            R::BadDigest => (Self::BadDigest, None),
            R::SigningFailed => (Self::SigningFailed, None),
            R::Timeout => (Self::Timeout, None),
        }
    }
}

/// Every event of an upload, by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum UploadEvent {
    Progress(UploadProgress),
    /// The store acknowledged a part.
    PartDone {
        number: u32,
        etag: String,
    },
    /// A part (or, with `number` null, the signing) is tried again after `delayMs`.
    Retrying {
        number: Option<u32>,
        attempt: u32,
        #[ts(type = "number")]
        delay_ms: u64,
        reason: UploadRetryReason,
        /// The HTTP status, for `reason: "status"`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        status: Option<u16>,
    },
    Paused,
    Resumed,
    Completed,
    /// The upload failed for good.
    Failed {
        code: ErrorCode,
        message: String,
    },
    Aborted,
}

impl From<&cinelock_core::upload::Event> for UploadEvent {
    /// The event the SDK reports (and the CLI prints) for an engine event.
    fn from(event: &cinelock_core::upload::Event) -> Self {
        use cinelock_core::upload::Event;
        match event {
            Event::Progress(p) => UploadEvent::Progress(UploadProgress {
                sealed_bytes: p.sealed_bytes,
                acked_bytes: p.acked_bytes,
                sent_bytes: p.sent_bytes,
                total_bytes: p.total_bytes,
                rate: p.rate_bytes_per_s,
                eta_ms: p.eta_ms,
            }),
            Event::PartDone { number, etag } => UploadEvent::PartDone {
                number: *number,
                etag: etag.clone(),
            },
            Event::Retrying {
                number,
                attempt,
                delay_ms,
                reason,
            } => {
                let (reason, status) = UploadRetryReason::of(reason);
                UploadEvent::Retrying {
                    number: *number,
                    attempt: *attempt,
                    delay_ms: *delay_ms,
                    reason,
                    status,
                }
            }
            Event::Paused => UploadEvent::Paused,
            Event::Resumed => UploadEvent::Resumed,
            Event::Completed => UploadEvent::Completed,
            Event::Failed(e) => UploadEvent::Failed {
                code: ErrorCode::from_core(e),
                message: e.to_string(),
            },
            Event::Aborted => UploadEvent::Aborted,
        }
    }
}

/// A video rendition of the package, lowest bandwidth first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Rendition {
    pub id: String,
    pub width: u32,
    pub height: u32,
    /// Peak bits per second.
    #[ts(type = "number")]
    pub bandwidth: u64,
    pub codecs: String,
}

/// Why the rendition changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum RenditionChangeReason {
    /// The first rendition.
    Start,
    /// The bandwidth estimate moved.
    Bandwidth,
    /// Playback stalled.
    Stall,
    /// The page pinned a rendition.
    Manual,
    /// The page went back to automatic choice.
    Auto,
    /// The player's size capped it (`capToPlayerSize`).
    Size,
}

/// The `renditionchange` event: the rendition of the next segments changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RenditionChange {
    pub from: Option<String>,
    pub to: String,
    pub reason: RenditionChangeReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub bandwidth: Option<u64>,
}

/// The `playing` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Playing {
    pub current_time: f64,
}

/// The `stall` event: playback stopped for want of data at `at` seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Stall {
    pub at: f64,
}

/// A caption or subtitle track the player holds (`player.textTracks()`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TextTrackInfo {
    pub id: String,
    /// BCP 47 language tag.
    pub language: String,
    pub label: String,
    pub kind: crate::captions::CaptionKind,
    /// Whether its cues are on screen now.
    pub showing: bool,
}

/// The `texttracks` event: the asset's caption tracks are loaded, or which one shows changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TextTracks {
    pub tracks: Vec<TextTrackInfo>,
}

/// The `stallend` event: playback moves again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StallEnd {
    pub at: f64,
    #[ts(type = "number")]
    pub stalled_ms: u64,
}

/// Which object of a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum ObjectKindName {
    Init,
    Media,
}

/// Why an object is fetched again (`corrupt`: it failed authentication).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum PlayerRetryReason {
    Network,
    Timeout,
    Corrupt,
    /// The store refused the presigned URL (expired): fetched again at once with a new one.
    Expired,
}

/// The player's `retrying` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PlayerRetrying {
    pub track: String,
    pub kind: ObjectKindName,
    pub index: u32,
    pub attempt: u32,
    #[ts(type = "number")]
    pub delay_ms: u64,
    pub reason: PlayerRetryReason,
}

/// Where the SDK's work runs: its worker, or (when the worker could not start, or was not
/// asked for) the page's thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum WorkerState {
    /// No worker was asked for (or none exists here).
    Off,
    /// Asked for, not running yet: it is started once playback can begin, then loads.
    Starting,
    /// The worker runs.
    Running,
    /// The worker could not start or broke: the work runs on the page's thread.
    Failed,
}

/// A player's counters since its start.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PlayerStats {
    /// `webcrypto` or `wasm` (empty before the session).
    pub engine: String,
    pub package_kind: String,
    pub package_id: String,
    pub duration: f64,
    /// Bits per second.
    pub bandwidth_estimate: f64,
    /// Bits per second the player measured of its own fetches, once it has measured enough
    /// (`null` before: the estimate above starts on the guess or on an earlier player's
    /// measurement, which this leaves out). A page that keeps it (in its own storage, under its
    /// own consent: the player stores nothing) can hand it to a player of a later visit as
    /// `measuredBandwidth`.
    pub measured_bandwidth: Option<f64>,
    /// Fetches completed that did not feed the estimate: the start's first objects (asked for
    /// before the player's engine, so their timing says little of the link) and those out while
    /// the page's thread was held (their reports came late).
    pub unmeasured_fetches: u32,
    pub objects: u32,
    #[ts(type = "number")]
    pub sealed_bytes: u64,
    #[ts(type = "number")]
    pub plain_bytes: u64,
    pub fetch_ms: f64,
    pub decrypt_ms: f64,
    pub decrypt_failures: u32,
    pub appends: u32,
    pub url_requests: u32,
    /// Objects fetched and opened in the player's worker.
    pub worker_objects: u32,
    /// Objects fetched and opened on the page's thread before the worker was started: what
    /// was asked for before playback could begin (the worker starts then, so that its loading
    /// does not compete with the first frame's fetches).
    pub objects_before_worker: u32,
    /// Sessions opened: the first, and one per renewal.
    pub sessions: u32,
    /// The start's first objects (its tracks' init segments and first segments), asked for
    /// straight from the session's answer while the key and the manifest were opened, that the
    /// engine's first fetches took over.
    pub early_objects: u32,
    /// ... and those aborted unused (a page that moved the start after asking).
    pub early_objects_unused: u32,
    /// The analytics view (32 hex digits, drawn per view, never stored by the browser);
    /// `null` when analytics are off.
    pub view_id: Option<String>,
    /// Analytics beacons taken by the server, the events in them, and beacons that failed.
    pub beacons_sent: u32,
    pub beacon_events: u32,
    pub beacons_failed: u32,
}

/// A recording's progress (the recorder's `progress` event). Sizes are bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RecorderProgress {
    /// Recorded time, pauses excluded.
    #[ts(type = "number")]
    pub elapsed_ms: u64,
    /// What the browser's recorder produced.
    #[ts(type = "number")]
    pub recorded_bytes: u64,
    /// Sealed and kept (in the browser's storage until sent).
    #[ts(type = "number")]
    pub sealed_bytes: u64,
    /// Stored in the bucket.
    #[ts(type = "number")]
    pub uploaded_bytes: u64,
    /// Sealed but not yet stored: what a slow network leaves waiting.
    #[ts(type = "number")]
    pub backlog_bytes: u64,
}

/// Why a recording stopped (`cinelock_core::recording::StopReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecorderStopReason {
    Requested,
    MaxDuration,
    MaxBytes,
    SourceEnded,
}

impl From<cinelock_core::recording::StopReason> for RecorderStopReason {
    fn from(r: cinelock_core::recording::StopReason) -> Self {
        use cinelock_core::recording::StopReason as S;
        match r {
            S::Requested => Self::Requested,
            S::MaxDuration => Self::MaxDuration,
            S::MaxBytes => Self::MaxBytes,
            S::SourceEnded => Self::SourceEnded,
        }
    }
}

/// Every event of a recording, by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum RecorderEvent {
    /// The browser's recorder runs, in this format.
    /// `persistent`: sealed parts wait in the browser's storage (OPFS), so a closed tab can be
    /// finished later; otherwise in memory.
    Started {
        mime_type: String,
        persistent: bool,
    },
    Paused,
    Resumed,
    Progress(RecorderProgress),
    /// The store acknowledged a part (kept to finish the recording after a reload).
    PartDone {
        number: u32,
        etag: String,
    },
    /// The recorder stopped; what is left goes up now.
    Stopped {
        reason: RecorderStopReason,
        #[ts(type = "number")]
        elapsed_ms: u64,
        #[ts(type = "number")]
        recorded_bytes: u64,
    },
    /// The whole recording is stored and its upload completed.
    Uploaded {
        asset_id: String,
        upload_id: String,
        /// Finished from what was sealed before its page went away.
        cut_short: bool,
        #[ts(type = "number")]
        plaintext_bytes: u64,
    },
    /// An upload step is tried again after `delayMs` (as for uploads).
    Retrying {
        #[ts(type = "number")]
        delay_ms: u64,
        reason: UploadRetryReason,
    },
    /// The recording failed for good.
    Error {
        code: ErrorCode,
        message: String,
    },
    /// `cancel()`: nothing is kept.
    Cancelled,
}
