//! The multipart upload engine: how a sealed object gets into S3 through presigned part URLs.
//!
//! [`PartPlan`] cuts the sealed object into parts on chunk boundaries within S3's limits.
//! [`Upload`] is a sans-IO state machine in the manner of quinn-proto: the driver (wasm in the
//! browser, or a test's simulation) feeds it outcomes through `handle_*`, asks it what to do
//! through [`Upload::poll_action`], [`Upload::poll_timeout`] and [`Upload::poll_event`], and does
//! the I/O itself. Time comes in as milliseconds on the driver's clock and the retry jitter from
//! a seed, so every run is reproducible.
//!
//! The driver's side of the contract:
//!
//! - After every input, call `poll_action` until it returns `None`, then drain `poll_event`,
//!   then wait for an I/O result or the time `poll_timeout` names (and call `handle_timeout`).
//! - Hold a part's sealed bytes from its [`Action::Seal`] until its PUT succeeds, it is sealed
//!   again (the new bytes replace the old), or the upload ends. The engine never has more than
//!   `max_parallel + seal_ahead` parts sealing or sealed, so this keeps memory within that many
//!   parts whatever the object's size.
//! - Persist every [`Event::PartDone`] ETag: after a reload, [`done_parts`] reconciles them with
//!   the store's listing, and the result goes to [`Upload::new`] so those parts are skipped (a
//!   store's ListParts may not return ETags).
//! - Resealing a part must reproduce the same bytes: use the stream's own header and data key
//!   (see [`StreamSealer::with_key`](crate::StreamSealer::with_key)).
//! - Against AWS S3, set [`UploadConfig::checksum_in_signature`] and send the server each
//!   requested part's [`Upload::part_checksum`]: S3 only accepts an `x-amz-checksum-*` header
//!   on a presigned PUT when the signature covers it. Seal with the algorithm
//!   [`Action::Seal`] names (the upload's, [`UploadConfig::part_checksum`]).
//! - On [`UploadState::Completed`], [`UploadState::Failed`] or [`UploadState::Aborted`], drop
//!   every part still held.
//! - Uploads side by side in one browser share its connections: divide them with
//!   [`share`] and give each upload its [`Upload::set_shares`]. Beside a player, or another
//!   thread's uploads, they take fewer ([`puts_at_once`]).

mod action;
mod checksum;
mod config;
mod engine;
mod event;
mod growing;
mod growing_sealer;
mod part;
mod plan;
mod rate;
mod resume;
mod seal;
mod share;

pub use action::{Action, CompleteFailure, PutFailure, SignedPart};
pub use checksum::{ChecksumAlgorithm, PartChecksum, PartHasher};
pub use config::{COMPLETE_TIMEOUT_STALLS, MIN_STALL_MS, UploadConfig};
pub use engine::Upload;
pub use event::{Event, Progress, RetryReason, UploadState};
pub use growing::GrowingPlan;
pub use growing_sealer::{
    Append, CutShort, GrowingSealer, cut_short_end, cut_short_plan, end_cut_short,
};
pub use plan::{
    DEFAULT_PART_SIZE, MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE, PartLimits, PartPlan, PartSpec,
};
pub use resume::{ListedPart, completed_parts, done_parts};
pub use seal::{SealedPart, seal_part};
pub use share::{
    BROWSER_PUTS_AT_ONCE, BROWSER_SEALS_AT_ONCE, Demand, Demands, Neighbours, PUTS_LEFT_TO_PLAYERS,
    Shares, cut_to, puts_at_once, share, share_slots,
};
