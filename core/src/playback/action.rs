//! What crosses between the player and its driver: the actions the player asks for, and the
//! names the driver uses to report back.

use core::fmt;

use crate::media::{ObjectKind, ObjectNonce};
use crate::presigned::PresignedUrl;

/// A SourceBuffer. Every video rendition goes through the one video buffer (a switch appends
/// the new rendition's init segment first); the audio track, if any, has its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Slot {
    /// The video SourceBuffer.
    Video,
    /// The audio SourceBuffer.
    Audio,
}

/// Names one fetch. Every [`Action::Fetch`] has a fresh id, a retry included, so a late result
/// of an aborted or superseded fetch can never be taken for the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FetchId(pub u64);

impl fmt::Display for FetchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Names one request for presigned URLs ([`Action::RequestUrls`] or
/// [`Action::RenewSession`]): an answer to an earlier one (timed out, say) is not taken for the
/// current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UrlRequestId(pub u64);

/// Presigned URLs the server signed, by object path: from the session's opening answer, a
/// `/urls` answer, or a renewed session's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedUrls {
    /// (object path in the package, its URL).
    pub urls: Vec<(String, PresignedUrl)>,
    /// How long the URLs are accepted from when the server signed them (its
    /// `expires_in_ms`): relative, so no clock but the driver's own matters
    /// ([`crate::presigned`]).
    pub lifetime_ms: u64,
}

/// Why a request for URLs failed, as the driver reads the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlsFailure {
    /// The server says the session expired or is not valid (`session_expired`,
    /// `session_invalid`): the player renews it.
    SessionEnded,
    /// No usable answer: the connection failed.
    Network,
    /// Any other HTTP status.
    Status(u16),
}

/// Why a fetch failed, as the driver saw it (the player decides what it means:
/// [`crate::store`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchFailure {
    /// No usable response: the connection failed or was cut.
    Network,
    /// An HTTP status other than 200.
    Status(u16),
}

/// How a fetch's bytes came, as the driver saw them, on the player's clock (the driver
/// converts another thread's clock: a worker's `performance.timeOrigin` differs from the
/// page's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    /// Bytes that came over the network (0: none, such as an init segment the driver had
    /// opened before).
    pub bytes: u64,
    /// When its request went out. Before the player's [`Action::Fetch`] where the driver sent
    /// it earlier (the start's first objects, asked for from the session's answer): its time
    /// before the player asked cannot be shared out among the fetches then, so it is not
    /// measured.
    pub sent_at: u64,
    /// When its last byte came: its share of the link is counted up to then.
    pub done_at: u64,
    /// When it was opened and the report sent. A report handled more than 100 ms later waited
    /// (a page's thread held, a worker's messages queued): how the link was shared while it
    /// waited is not known, so the fetches out then are not measured.
    pub opened_at: u64,
}

impl Transfer {
    /// Nothing came over the network at `now` (an object the driver holds already).
    pub fn none(now: u64) -> Self {
        Self {
            bytes: 0,
            sent_at: now,
            done_at: now,
            opened_at: now,
        }
    }
}

/// Which object of a track a fetch is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FetchKind {
    /// The track's initialization segment (index 0).
    Init,
    /// A media segment; the index is its position in the track.
    Media,
}

impl FetchKind {
    /// The kind bound into the object's associated data, for
    /// [`open_object`](crate::media::open_object).
    pub fn object_kind(self) -> ObjectKind {
        match self {
            FetchKind::Init => ObjectKind::Init,
            FetchKind::Media => ObjectKind::Media,
        }
    }
}

/// Work the driver must do, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Set `MediaSource.duration` (seconds). The first action after
    /// [`Player::handle_start`](super::Player::handle_start).
    SetDuration(f64),
    /// Fetch the object at `path` (relative to the package) from `url`, open it with the
    /// content key as `(track_id, kind, index)`, then report
    /// [`Player::handle_fetched`](super::Player::handle_fetched) (opened: keep the plaintext
    /// until an `Append` or `Abort` names `id`),
    /// [`Player::handle_decrypt_failed`](super::Player::handle_decrypt_failed) (drop the bytes)
    /// or [`Player::handle_fetch_failed`](super::Player::handle_fetch_failed).
    Fetch {
        /// This fetch.
        id: FetchId,
        /// The SourceBuffer its bytes are for.
        slot: Slot,
        /// The track, as in the manifest and the object's associated data.
        track_id: String,
        /// Init or media segment.
        kind: FetchKind,
        /// Segment index (0 for an init segment), as in the associated data.
        index: u32,
        /// The object's path in the package.
        path: String,
        /// Its sealed size in bytes, from the manifest.
        size: u64,
        /// The nonce the manifest lists for it: open it pinned to this nonce
        /// ([`open_pinned_object`](crate::media::open_pinned_object)), so an older object
        /// sealed at the same place is refused.
        nonce: ObjectNonce,
        /// 1 for the first fetch of this object, more for a retry. Drivers fetch every object
        /// past the HTTP cache, so a retry cannot get a damaged copy back from it.
        attempt: u32,
        /// The presigned URL to GET.
        url: PresignedUrl,
    },
    /// Ask the server for presigned URLs of `paths` (at most [`MAX_URL_BATCH`]) in the
    /// session (`POST /v1/play/{asset}/urls`), then report
    /// [`Player::handle_urls`](super::Player::handle_urls) with `Some(id)` or
    /// [`Player::handle_urls_failed`](super::Player::handle_urls_failed). One request for URLs
    /// is out at a time.
    ///
    /// [`MAX_URL_BATCH`]: super::MAX_URL_BATCH
    RequestUrls {
        /// This request.
        id: UrlRequestId,
        /// Object paths in the package, the ones fetches wait for first.
        paths: Vec<String>,
    },
    /// The session ended: open a new one for the same package (with a new player key), keep
    /// its session token for later [`Action::RequestUrls`], and report its URLs through
    /// [`Player::handle_urls`](super::Player::handle_urls) with `Some(id)`, or
    /// [`Player::handle_urls_failed`](super::Player::handle_urls_failed). A refusal (the
    /// viewer's token expired, say) ends playback: that is the driver's error to show.
    RenewSession {
        /// This request.
        id: UrlRequestId,
    },
    /// Forget fetch `id`: cancel it if still in flight (`AbortController`), drop its bytes if
    /// held. Later reports about `id` are ignored. Never names a fetch whose `Append` was given.
    /// A timeout can cross a result the driver has not reported yet: drop that result too,
    /// and ignore an `Abort` of an id no longer held.
    Abort {
        /// The fetch.
        id: FetchId,
    },
    /// Append the plaintext of fetch `id` to `slot`'s SourceBuffer (through that buffer's
    /// operation queue), then drop the bytes and report
    /// [`Player::handle_buffered`](super::Player::handle_buffered) and
    /// [`Player::handle_appended`](super::Player::handle_appended), or
    /// [`Player::handle_append_failed`](super::Player::handle_append_failed) (keep the bytes:
    /// the player appends them again or aborts them). One append per slot is out at a time.
    Append {
        /// The SourceBuffer.
        slot: Slot,
        /// A fetch reported fetched and not aborted.
        id: FetchId,
    },
    /// `SourceBuffer.remove(start, end)` through `slot`'s queue; `end` may be `+∞` (to the
    /// end). Report [`Player::handle_buffered`](super::Player::handle_buffered) when done.
    Remove {
        /// The SourceBuffer.
        slot: Slot,
        /// Seconds.
        start: f64,
        /// Seconds, or `f64::INFINITY`.
        end: f64,
    },
    /// Every slot holds its track's last segment, with nothing missing from the playhead on:
    /// once every SourceBuffer's queue is idle, call `MediaSource.endOfStream()` if the
    /// MediaSource is `open`. Drop it unrun if an `Append` or `Remove` is given, or
    /// [`Player::handle_seek`](super::Player::handle_seek) called, before the queues went idle:
    /// the player gives it again once the end is whole again (an append or remove reopens an
    /// ended MediaSource).
    EndOfStream,
}

/// Why an append failed, as the driver classifies the exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendError {
    /// `QuotaExceededError`: the SourceBuffer is full. The player shrinks its buffer goals
    /// for the rest of the session, keeps nothing behind the playhead until an append
    /// succeeds, removes whatever lies outside the segments from the playhead to the failed
    /// one, and appends the same bytes again once that or the playhead has made room. Fatal
    /// when the buffer cannot hold the segment under the playhead and the next, or after eight
    /// in a row.
    QuotaExceeded,
    /// Anything else (a decode error, a closed MediaSource): fatal.
    Other,
}
