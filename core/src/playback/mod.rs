//! The player's brain: what to fetch, append and evict, and at which rendition.
//!
//! [`Player`] is a sans-IO state machine in the manner of the [upload engine](crate::upload):
//! the driver (the wasm SDK in the browser, or a test's simulation) feeds it what happened
//! through `handle_*`, asks what to do through [`Player::poll_action`],
//! [`Player::poll_timeout`] and [`Player::poll_event`], and does the I/O itself: fetching
//! sealed objects, opening them (WebCrypto), and driving one `SourceBuffer` per [`Slot`].
//! Time comes in as milliseconds on the driver's clock (media time as seconds), and the retry
//! jitter from [`PlaybackConfig::retry_seed`], so every run is reproducible.
//!
//! The driver's side of the contract:
//!
//! - Make a `MediaSource`, and for each of [`Player::slots`] a `SourceBuffer` with that
//!   track's `mime; codecs="…"`. Renditions whose `codecs` differ from the first need
//!   `SourceBuffer.changeType` before their init segment is appended (the [`Action::Fetch`]
//!   of every init names its track).
//! - Hand over the URLs the session's answer carried with [`Player::handle_urls`] (`None`: no
//!   request of the player's).
//! - Once the MediaSource is open, call [`Player::handle_start`]. After every input, call
//!   `poll_action` until it returns `None`, then drain `poll_event`, then wait for an I/O
//!   result or the time `poll_timeout` names (and call [`Player::handle_timeout`]).
//! - [`Action::Fetch`]: fetch its URL and **open** the object before reporting:
//!   [`Player::handle_fetched`] means the bytes authenticated and the plaintext is held;
//!   [`Player::handle_decrypt_failed`] means they did not (drop them);
//!   [`Player::handle_fetch_failed`] reports the transport failure or the status as it was
//!   (the player decides what it means). The player times fetches out itself
//!   ([`PlaybackConfig::fetch_timeout_ms`]): the driver needs no timeout of its own. Hold each
//!   fetch's plaintext until an [`Action::Append`] has run or an [`Action::Abort`] names it.
//!   The player bounds what is held (see [`PlaybackConfig::max_pending_bytes`]).
//! - [`Action::RequestUrls`]: ask the server for those paths' URLs in the session;
//!   [`Action::RenewSession`]: open a new session for the same package. Report the URLs with
//!   [`Player::handle_urls`], a failure with [`Player::handle_urls_failed`]
//!   ([`UrlsFailure::SessionEnded`] when the server says the session is over).
//! - Run `Append` and `Remove` through a per-`SourceBuffer` FIFO queue, in the order given.
//!   When one completes (`updateend`), report [`Player::handle_buffered`] with the buffer's
//!   ranges, then (for an append) [`Player::handle_appended`] or
//!   [`Player::handle_append_failed`]. The player keeps at most one append per slot out.
//! - [`Action::EndOfStream`]: call `endOfStream()` once every queue is idle (if the
//!   MediaSource is `open`); drop it unrun if an `Append` or `Remove` comes, or you call
//!   [`Player::handle_seek`], before that.
//! - Report the element: [`Player::handle_playhead`] on `timeupdate` (or more often),
//!   [`Player::handle_seek`] on `seeking`, [`Player::handle_waiting`] on `waiting`.
//! - After [`Event::Error`], drop every held fetch (the player also aborts them) and stop.
//!
//! What the player decides:
//!
//! - **URLs**: a fetch starts only with a URL fresh by [`crate::presigned`] (lifetimes are
//!   relative, so the browser's clock does not matter; the store's refusals shorten them).
//!   Fetches without one wait while one request asks for their paths and the later segments
//!   of their tracks (up to [`MAX_URL_BATCH`]); so that they rarely have to, the same request
//!   goes out ahead, while fetches are out, once one of a slot's next
//!   [`PlaybackConfig::max_fetches_per_slot`] segments after its last fetch has no URL. A
//!   path asked for and not signed fails its fetch; a session the server calls over is
//!   renewed; a refused URL is renewed and the object fetched again at once.
//! - **Fetching**: per slot, in presentation order from the segment under the playhead, while
//!   the next segment starts within [`PlaybackConfig::forward_goal_s`] and ends within
//!   [`PlaybackConfig::max_forward_s`]; at most [`PlaybackConfig::max_fetches_per_slot`] at
//!   once, and one alone while less than two segment durations are buffered before it (at
//!   the start, after a seek, when the buffer runs low: what plays next should not share the
//!   link). The most urgent fetch of any slot goes first.
//! - **Appending**: in presentation order, one at a time per slot; a rendition's init segment
//!   goes in before its first media segment and again after every switch (init segments are
//!   fetched again each time: the driver may cache them by path). A buffer's first init goes
//!   in as soon as it is held, not with the segment after it: the element sets itself up once
//!   every buffer has one.
//! - **Evicting**: whole segments older than [`PlaybackConfig::back_buffer_s`], and anything
//!   past the forward bound (after a backward seek), with [`Action::Remove`].
//! - **Seeking**: the window moves; fetches and held segments outside it are aborted, data
//!   inside it is kept, fetching resumes from the segment under the new playhead. That video
//!   segment, if it must be fetched, may come at a lower rendition than the current one
//!   ([`AbrConfig::seek_budget_s`]); the segments after it at the current rendition.
//! - **Adapting** (video only; renditions share segment boundaries, so a switch takes effect at
//!   the next segment): see [`AbrConfig`]. No climb with less than a segment's duration
//!   buffered.
//! - **Stalls**: on `waiting` (or a playhead frozen over unbuffered time), the model is checked
//!   against the reported buffer, the segment under the playhead is put first (later fetches
//!   of that slot, and a fetch of it at a higher rendition, are aborted) and the rendition
//!   steps down.
//! - **Room**: on `QuotaExceededError` the buffer goals shrink for the session, what lies
//!   outside the segments from the playhead to the failed one is removed, and the append is
//!   tried again (see [`AppendError::QuotaExceeded`]).
//! - **Failures**: transport failures and timeouts are retried with jittered exponential
//!   backoff up to [`PlaybackConfig::max_attempts`] per object; a timeout also halves the
//!   fetches allowed at once. An object failing authentication is fetched once more
//!   ([`PlaybackConfig::tamper_refetches`]) and is fatal the second time, even far ahead of
//!   the playhead: the package is compromised. Nothing that failed authentication is ever
//!   appended.

mod abr;
mod action;
mod config;
mod engine;
mod event;
mod start;
mod urls;

pub use action::{
    Action, AppendError, FetchFailure, FetchId, FetchKind, SignedUrls, Slot, Transfer,
    UrlRequestId, UrlsFailure,
};
pub use config::{AbrConfig, PlaybackConfig, StartOptions};
pub use engine::Player;
pub use event::{
    ErrorCode, Event, ObjectId, PlaybackError, PlayerState, RetryReason, SwitchReason,
};
pub use start::{TrackStart, start_tracks};
pub use urls::MAX_URL_BATCH;
