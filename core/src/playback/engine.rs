//! [`Player`]: the state machine that decides what to fetch, append and evict.
//!
//! The player keeps its own model of each SourceBuffer: which media segments it appended
//! (`appended`, by index, with their rendition) and which init segment was appended last
//! (`current_init`). Everything it does derives from that model and a *window* around the
//! playhead, computed afresh from the playhead at each step:
//!
//! - `first`: the segment under the playhead;
//! - `fetch_end`: segments from `first` that start within the forward goal are fetched;
//! - `keep_start..=keep_end`: segments within the back buffer and the forward bound are kept.
//!   Appended segments outside are removed; fetches outside are aborted.
//!
//! A seek only moves the playhead: the window follows, useful data (appended, held or in
//! flight within the new window) is kept, the rest is aborted or removed. Appends go in
//! presentation order from `first` (the *cursor* is the first segment of the window not yet
//! appended), one per slot at a time, so a rendition's init segment is appended exactly when
//! the next media segment is of another rendition than the buffer's current init.
//!
//! Bookkeeping is proportional to the window, not to the film: requests are the few fetches in
//! flight or held, `appended` holds at most the kept window, and window lookups are binary
//! searches over the segment list.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use super::abr::Abr;
use super::action::{
    Action, AppendError, FetchFailure, FetchId, FetchKind, SignedUrls, Slot, Transfer,
    UrlRequestId, UrlsFailure,
};
use super::config::PlaybackConfig;
use super::event::{
    ErrorCode, Event, ObjectId, PlaybackError, PlayerState, RetryReason, SwitchReason,
};
use super::start::{Lineup, rung_within, start_within_budget};
use super::urls::{MAX_URL_BATCH, UrlBook};
use crate::backoff::Backoff;
use crate::media::{Manifest, Segment, Track};
use crate::presigned::Lease;
use crate::store::{Refusal, classify_get, retryable_status};

/// Slack when comparing times computed from the manifest's sums.
const TIME_EPS: f64 = 1e-6;
/// How near the playhead buffered data must begin (and how far past it reach) to count as
/// being under it.
const PLAYHEAD_TOL: f64 = 0.1;
/// A playhead change smaller than this is no movement.
const MOVED_EPS: f64 = 1e-3;
/// Video renditions must share segment boundaries within this (seconds).
const BOUNDARY_TOL: f64 = 0.001;
/// Quota errors in a row, each followed by more eviction, before the player gives up.
const MAX_QUOTA_ERRORS: u32 = 8;
/// The buffer goals never shrink below this share of their configured value on quota errors.
const MIN_QUOTA_SCALE: f64 = 0.125;
/// A fetch times out no sooner than this many times its expected duration at the estimate.
const TIMEOUT_MARGIN: f64 = 4.0;
/// Successful fetches in a row after which one more may run at once per slot, after a
/// timeout halved the limit.
const GROWTH_STREAK: u32 = 4;
/// A fetch report handled longer than this after it was sent waited: the page's thread was
/// held (a frozen tab, a long task) or the worker's messages queued. Posting one takes
/// milliseconds.
const LATE_REPORT_MS: u64 = 100;
/// How far the driver's times of one fetch may disagree with its clock (another thread's
/// clock converted, each rounded to a millisecond).
const CLOCK_SKEW_MS: u64 = 2;
/// While less than this many of its durations are buffered before it, the segment the
/// playhead needs next is fetched alone (see `fetch_candidate`).
const ALONE_BELOW_SEGMENTS: f64 = 2.0;

/// An object of a slot: a track's init segment, or the media segment at an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Obj {
    Init(usize),
    Media(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReqState {
    /// Chosen, waiting for a presigned URL (the driver does not know of it yet).
    AwaitingUrl,
    /// The fetch is out since then, with the URL of `lease`.
    InFlight { since: u64, lease: Lease },
    /// Fetched and opened; the driver holds the plaintext.
    Held,
    /// The append is out.
    Appending,
}

impl ReqState {
    /// Chosen and not fetched yet: out, or waiting for its URL.
    fn out(self) -> bool {
        matches!(self, ReqState::AwaitingUrl | ReqState::InFlight { .. })
    }
}

/// A fetch: waiting for its URL, in flight, held, or appending.
#[derive(Debug, Clone)]
struct Request {
    /// Index into `Player::slots`.
    slot: usize,
    /// Index into `manifest.tracks`.
    track: usize,
    obj: Obj,
    size: u64,
    state: ReqState,
    /// When a fetch in flight times out.
    deadline: Option<u64>,
    /// Its share of the link's time while in flight: every interval it was out, divided by
    /// the fetches out then (as far as `Player::account_sharing` has counted).
    share_ms: f64,
    /// Whether `share_ms` can be trusted: not after a report came late while it was out
    /// ([`Player::handle_fetched`]).
    timed: bool,
    /// A seek's segment whose rendition the seek budget chose: it should come within the
    /// budget (`give_up_overdue_seek_segment`).
    budgeted: bool,
}

/// Failures of one object so far, and the end of its backoff.
#[derive(Debug, Clone, Default)]
struct Retry {
    failures: u32,
    corrupt: u32,
    at: Option<u64>,
}

/// The append a slot has out.
#[derive(Debug, Clone)]
struct Appending {
    id: u64,
    obj: Obj,
    /// The buffer's init before this append, restored if it fails.
    prev_init: Option<usize>,
    /// A remove queued after this append covers it: it will not be in the buffer.
    doomed: bool,
    /// A remove was queued after this append: if it fails for room, there may be room now.
    removes_after: bool,
}

/// The player's model of one SourceBuffer.
#[derive(Debug, Clone)]
struct SlotState {
    slot: Slot,
    /// Track whose segments give this slot's timing (video: the lowest rendition; all
    /// renditions share its boundaries).
    reference: usize,
    /// Media segments appended and not removed: index → track.
    appended: BTreeMap<usize, usize>,
    /// The track whose init segment was appended last (as of the actions given so far).
    current_init: Option<usize>,
    appending: Option<Appending>,
    /// Last ranges the driver reported, if any.
    buffered: Option<Vec<(f64, f64)>>,
    /// After a quota error: the segment under the playhead then. Appends wait until a remove
    /// or the playhead entering another segment makes room.
    quota_wait: Option<usize>,
    /// Media segments whose first half may still hold a rendition that was dropped (video
    /// removed from its middle on a switch): not in `appended`, yet to be evicted like it.
    /// A set: a second switch before the first one's leftover is evicted must not forget it.
    leftover: BTreeSet<usize>,
}

/// Segment indices around the playhead for one slot (see the module docs).
#[derive(Debug, Clone, Copy)]
struct Window {
    first: usize,
    /// Exclusive.
    fetch_end: usize,
    keep_start: usize,
    /// Inclusive.
    keep_end: usize,
}

#[derive(Debug, Clone, Copy)]
struct Stalled {
    at: f64,
    since: u64,
}

/// A fetch the player could make next.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    slot: usize,
    track: usize,
    obj: Obj,
    /// The next append waits for it.
    urgent: bool,
    /// Presentation time it serves.
    time: f64,
}

/// Playback of one package through Media Source Extensions, driven by a caller that does the
/// I/O (see the [module docs](super) for the contract).
#[derive(Debug)]
pub struct Player {
    manifest: Manifest,
    config: PlaybackConfig,
    state: PlayerState,
    /// Video first, then audio if the package has it.
    slots: Vec<SlotState>,
    /// Indices of the video tracks in `manifest.tracks`, lowest bandwidth first.
    video: Vec<usize>,
    /// Longest segment of any slot's reference track, seconds.
    longest_segment: f64,
    requests: BTreeMap<u64, Request>,
    retries: HashMap<(usize, Obj), Retry>,
    next_id: u64,
    playhead: f64,
    paused: bool,
    /// When the playhead last moved (or was paused), on the driver's clock.
    last_progress_ms: u64,
    seeking: bool,
    /// Where the last seek to a part not buffered went, until the playhead reaches the
    /// segment after the one there (`track_for`).
    seek_target: Option<f64>,
    /// The seek's segment was out for twice the seek budget at a rendition above the lowest:
    /// it comes at the lowest now (`give_up_overdue_seek_segment`).
    seek_overdue: bool,
    ready: bool,
    /// Until when fetches' shares of the link are counted (`account_sharing`).
    shared_until: u64,
    /// The video rendition of the segment under the playhead, when it was last looked at.
    showing: Option<usize>,
    stall: Option<Stalled>,
    eos_sent: bool,
    /// Shrinks the buffer goals after quota errors.
    quota_scale: f64,
    quota_errors: u32,
    /// Fetches allowed at once per slot: halved on a timeout, grown back on successes.
    fetch_limit: usize,
    streak: u32,
    /// Fetches completed whose transfer was not measured ([`Player::unmeasured_fetches`]).
    unmeasured: u32,
    abr: Abr,
    backoff: Backoff,
    urls: UrlBook,
    out: VecDeque<Action>,
    events: VecDeque<Event>,
}

impl Player {
    /// A player for `manifest`, idle until [`Player::handle_start`].
    ///
    /// Fails with [`ErrorCode::BadManifest`] if the manifest breaks its own rules
    /// ([`Manifest::validate`]) or its video renditions do not share segment boundaries (same
    /// count, starts within a millisecond): switching at a boundary needs them aligned.
    pub fn new(manifest: Manifest, config: PlaybackConfig) -> Result<Self, PlaybackError> {
        let bad = |message: String| PlaybackError {
            code: ErrorCode::BadManifest,
            object: None,
            message,
        };
        manifest.validate().map_err(|e| bad(e.to_string()))?;
        let config = config.sanitized();
        let Lineup { video, audio } = Lineup::new(manifest.tracks.iter().map(|t| t.kind));
        let reference = &manifest.tracks[video[0]];
        for &v in &video[1..] {
            let t = &manifest.tracks[v];
            let aligned = t.segments.len() == reference.segments.len()
                && t.segments
                    .iter()
                    .zip(&reference.segments)
                    .all(|(a, b)| (a.start - b.start).abs() <= BOUNDARY_TOL);
            if !aligned {
                return Err(bad(format!(
                    "video track {} does not share the segment boundaries of {}",
                    t.id, reference.id
                )));
            }
        }
        let mut slots = vec![SlotState::new(Slot::Video, video[0])];
        slots.extend(audio.map(|a| SlotState::new(Slot::Audio, a)));
        let longest_segment = slots
            .iter()
            .flat_map(|s| &manifest.tracks[s.reference].segments)
            .map(|s| s.duration)
            .fold(0.0, f64::max);
        let ladder = video
            .iter()
            .map(|&i| manifest.tracks[i].bandwidth)
            .collect();
        Ok(Self {
            abr: Abr::new(&config.abr, ladder),
            backoff: Backoff::new(
                config.base_backoff_ms,
                config.max_backoff_ms,
                config.retry_seed,
            ),
            urls: UrlBook::new(config.url_refresh_margin_ms),
            state: PlayerState::Idle,
            slots,
            video,
            longest_segment,
            requests: BTreeMap::new(),
            retries: HashMap::new(),
            next_id: 1,
            playhead: 0.0,
            paused: false,
            last_progress_ms: 0,
            seeking: false,
            seek_target: None,
            seek_overdue: false,
            ready: false,
            shared_until: 0,
            showing: None,
            stall: None,
            eos_sent: false,
            quota_scale: 1.0,
            quota_errors: 0,
            fetch_limit: config.max_fetches_per_slot,
            streak: 0,
            unmeasured: 0,
            out: VecDeque::new(),
            events: VecDeque::new(),
            manifest,
            config,
        })
    }

    /// The package being played.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The settings in force (after clamping).
    pub fn config(&self) -> &PlaybackConfig {
        &self.config
    }

    /// Where the player is in its life.
    pub fn state(&self) -> PlayerState {
        self.state
    }

    /// The slots to create SourceBuffers for, each with the track whose `mime` and `codecs`
    /// to create it with (video: the lowest rendition).
    pub fn slots(&self) -> impl Iterator<Item = (Slot, &Track)> {
        self.slots
            .iter()
            .map(|s| (s.slot, &self.manifest.tracks[s.reference]))
    }

    /// The playhead as last reported, seconds.
    pub fn playhead(&self) -> f64 {
        self.playhead
    }

    /// The video rendition new fetches use.
    pub fn rendition(&self) -> &Track {
        &self.manifest.tracks[self.video[self.abr.current()]]
    }

    /// The bandwidth estimate, bits per second.
    pub fn bandwidth_estimate(&self) -> f64 {
        self.abr.estimate()
    }

    /// The bandwidth estimate in bits per second, once this player has measured enough for
    /// a later player on the same link to start from it
    /// ([`AbrConfig::measured_bandwidth_bps`](super::AbrConfig::measured_bandwidth_bps)).
    pub fn measured_bandwidth(&self) -> Option<f64> {
        self.abr.measured()
    }

    /// Fetches completed whose transfer did not feed the estimate: sent before the player asked
    /// for them (the start's first objects), or out while a report waited
    /// ([`Player::handle_fetched`]). A page that sees most of its fetches here has an estimate
    /// that learns little from them.
    pub fn unmeasured_fetches(&self) -> u32 {
        self.unmeasured
    }

    /// Whether playback is stalled (between [`Event::Stall`] and its end).
    pub fn is_stalled(&self) -> bool {
        self.stall.is_some()
    }

    /// Fetches out now, or chosen and waiting for a URL.
    pub fn in_flight(&self) -> usize {
        self.requests.values().filter(|r| r.state.out()).count()
    }

    /// Sealed bytes in flight, held, or being appended.
    pub fn pending_bytes(&self) -> u64 {
        self.requests.values().map(|r| r.size).sum()
    }

    /// Seconds of media appended in every slot from the playhead on without a gap (by the
    /// player's model: what it appended and did not remove).
    pub fn buffered_ahead(&self) -> f64 {
        (0..self.slots.len())
            .map(|si| {
                let w = self.window(si);
                let segs = self.segments(si);
                let appended = &self.slots[si].appended;
                segs.iter()
                    .enumerate()
                    .skip(w.first)
                    .take_while(|(i, _)| appended.contains_key(i))
                    .last()
                    .map_or(0.0, |(_, s)| (seg_end(s) - self.playhead).max(0.0))
            })
            .fold(f64::INFINITY, f64::min)
    }

    // ---- outputs ----

    /// The next thing the driver should do, or `None` until an input or timeout changes
    /// something. Call it until it returns `None` after every input.
    pub fn poll_action(&mut self, now: u64) -> Option<Action> {
        self.tick(now);
        if let Some(action) = self.out.pop_front() {
            return Some(action);
        }
        if self.state != PlayerState::Running {
            return None;
        }
        self.next_abort()
            .or_else(|| self.next_remove())
            .or_else(|| self.next_append())
            .or_else(|| self.next_end_of_stream())
            .or_else(|| self.next_dispatch(now))
            .or_else(|| self.next_fetch(now))
            .or_else(|| self.next_url_request(now))
    }

    /// The earliest time at which [`Player::handle_timeout`] has something to do: a backoff
    /// ending, a fetch timing out, or an upswitch coming due.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.state != PlayerState::Running {
            return None;
        }
        let deadlines = self.requests.values().filter_map(|r| r.deadline);
        self.retries
            .values()
            .filter_map(|r| r.at)
            .chain(deadlines)
            .chain(self.abr.next_decision_at())
            .chain(self.urls.deadline())
            .chain(self.seek_segment_overdue_at())
            .min()
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ---- inputs ----

    /// Starts playback from the playhead (0, or where [`Player::handle_seek`] put it): the
    /// next action is [`Action::SetDuration`]. Started on an earlier player's measurement
    /// ([`AbrConfig::measured_bandwidth_bps`](super::AbrConfig::measured_bandwidth_bps)), the
    /// start is a seek: its first video segment comes within the seek budget, the next within
    /// the media before it.
    pub fn handle_start(&mut self, now: u64) {
        if self.state != PlayerState::Idle {
            return;
        }
        self.state = PlayerState::Running;
        self.last_progress_ms = now;
        if start_within_budget(&self.config.abr) && self.abr.pinned().is_none() {
            // Started on an earlier player's measurement at a rendition whose first segment
            // may take seconds: the first two come as a seek's do (`track_for`).
            self.seeking = true;
            self.seek_target = Some(self.playhead);
        }
        self.out
            .push_back(Action::SetDuration(self.manifest.duration));
        self.events.push_back(Event::RenditionChanged {
            from: None,
            to: self.rendition().id.clone(),
            reason: SwitchReason::Start,
        });
        self.tick(now);
    }

    /// The page pins the video rendition to ladder rung `pin` (lowest first; past the top is
    /// the top), or with `None` lets the bandwidth choose again, starting from the current
    /// rung. Pinned, neither the estimate nor a stall moves it.
    ///
    /// The switch shows within a segment and without a rebuffer: the segment under the
    /// playhead stays, and later video at another rendition (appended, held or in flight) is
    /// dropped and fetched again at the pinned one. Audio is untouched. Before
    /// [`Player::handle_start`] it only sets where playback starts. Asking for what is already
    /// so (the same pin, or none while none) does nothing.
    pub fn set_rendition(&mut self, now: u64, pin: Option<usize>) {
        if self.video.is_empty() || self.state == PlayerState::Failed {
            return;
        }
        let pin = pin.map(|i| i.min(self.video.len() - 1));
        if pin == self.abr.pinned() {
            return;
        }
        let from = self.abr.current();
        self.abr.pin(pin);
        if self.state == PlayerState::Idle {
            return;
        }
        // Before the pin aborts fetches: the time since the last input was shared by all.
        self.account_sharing(now);
        self.events.push_back(Event::RenditionChanged {
            from: Some(self.manifest.tracks[self.video[from]].id.clone()),
            to: self.rendition().id.clone(),
            // Unpinned above the player's size: at the cap, as `Auto`.
            reason: if pin.is_some() {
                SwitchReason::Manual
            } else {
                SwitchReason::Auto
            },
        });
        if pin.is_some() {
            let chosen = self.video[self.abr.current()];
            self.drop_later_video(|_, track| track != chosen, |_, first| first);
        }
        self.tick(now);
    }

    /// The rung [`Player::set_rendition`] pinned, if any.
    pub fn pinned(&self) -> Option<usize> {
        self.abr.pinned()
    }

    /// The player's box in device pixels (CSS size × `devicePixelRatio`), whenever it changes.
    /// With [`AbrConfig::cap_to_player_size`](super::AbrConfig::cap_to_player_size), no
    /// rendition is chosen above the lowest whose picture is at least as wide or as high as
    /// the box (the one that fills it without upscaling; of renditions that size, the highest),
    /// or above the top where none is. A box of no size (a hidden or detached element) is no
    /// reading: the cap stays as it was (none before any reading). A rendition above a lower cap
    /// comes down at once; what is buffered, and fetches already out, stay. Before
    /// [`Player::handle_start`] it caps the start.
    pub fn handle_player_size(&mut self, now: u64, width: u32, height: u32) {
        if !self.config.abr.cap_to_player_size || self.video.is_empty() {
            return;
        }
        if width == 0 || height == 0 {
            return;
        }
        let top = self.video.len() - 1;
        let sizes: Option<Vec<(u32, u32)>> = self
            .video
            .iter()
            .map(|&t| {
                Some((
                    self.manifest.tracks[t].width?,
                    self.manifest.tracks[t].height?,
                ))
            })
            .collect();
        let cap = match sizes {
            Some(sizes) => sizes
                .iter()
                .position(|&(w, h)| w >= width || h >= height)
                // Of renditions of that size, the highest bitrate.
                .map_or(top, |i| {
                    i + sizes[i..].iter().take_while(|s| **s == sizes[i]).count() - 1
                }),
            // The manifest has every video rendition's size: not reached.
            None => top,
        };
        let from = self.abr.current();
        if let Some(to) = self.abr.set_top(cap)
            && self.state == PlayerState::Running
        {
            self.switched(from, to, SwitchReason::Size);
        }
        self.tick(now);
    }

    /// Time passed: backoffs may have ended, fetches timed out, an upswitch come due.
    pub fn handle_timeout(&mut self, now: u64) {
        self.tick(now);
    }

    /// The element's `currentTime` (seconds) and `paused`, as often as the driver likes
    /// (`timeupdate`, `requestAnimationFrame`). Moves the window: eviction and fetching follow.
    pub fn handle_playhead(&mut self, now: u64, current_time: f64, paused: bool) {
        if !current_time.is_finite() {
            return;
        }
        // Before a stall aborts fetches: the time since the last input was shared by all.
        self.account_sharing(now);
        let t = current_time.clamp(0.0, self.manifest.duration);
        let moved = (t - self.playhead).abs() > MOVED_EPS;
        self.playhead = t;
        self.paused = paused;
        if moved || paused {
            self.last_progress_ms = now;
        }
        if moved
            && !paused
            && let Some(stall) = self.stall.take()
        {
            self.events.push_back(Event::StallRecovered {
                at: stall.at,
                stalled_ms: now.saturating_sub(stall.since),
            });
        }
        if !moved
            && !paused
            && now.saturating_sub(self.last_progress_ms) >= self.config.stall_threshold_ms
            && self.starved()
        {
            self.enter_stall(now);
        }
        self.update_status();
        self.tick(now);
    }

    /// The user (or the page) seeked to `t` seconds (call it on the element's `seeking`).
    /// Fetches and held segments outside the new window are aborted, appended data outside
    /// it removed; data inside is kept. Ends a stall (without [`Event::StallRecovered`]).
    pub fn handle_seek(&mut self, now: u64, t: f64) {
        if !t.is_finite() {
            return;
        }
        self.playhead = t.clamp(0.0, self.manifest.duration);
        self.last_progress_ms = now;
        self.seeking = true;
        self.seek_target = Some(self.playhead);
        self.seek_overdue = false;
        self.stall = None;
        // The driver drops an EndOfStream it has not run yet: give it again if still due.
        self.eos_sent = false;
        // A wait for room was for the old position.
        for slot in &mut self.slots {
            slot.quota_wait = None;
        }
        self.update_status();
        self.tick(now);
    }

    /// The element fired `waiting`: if playback was under way (not before [`Event::Ready`],
    /// not during a seek), it stalled. The player repairs its model against the buffered
    /// ranges, moves the segment under the playhead to the front, and steps down a rendition.
    pub fn handle_waiting(&mut self, now: u64) {
        self.tick(now);
        if !self.paused {
            self.enter_stall(now);
        }
        self.tick(now);
    }

    /// `slot`'s `SourceBuffer.buffered` after an append or remove (or whenever it changes).
    pub fn handle_buffered(&mut self, slot: Slot, ranges: &[(f64, f64)]) {
        let Some(si) = self.slot_index(slot) else {
            return;
        };
        let mut ranges: Vec<(f64, f64)> = ranges
            .iter()
            .copied()
            .filter(|(a, b)| a.is_finite() && b.is_finite() && b > a)
            .collect();
        ranges.sort_by(|a, b| a.0.total_cmp(&b.0));
        self.slots[si].buffered = Some(ranges);
    }

    /// Fetch `id` completed and its object opened (authenticated): the driver holds the
    /// plaintext. `transfer` says when its bytes came, which feeds the bandwidth estimate: the
    /// fetch's share of the link's time is counted up to its last byte, not to the report.
    /// Reports about unknown or aborted ids are ignored.
    ///
    /// Not measured: a fetch the driver sent before the player asked for it, and any fetch
    /// whose share of a report's wait cannot be told (see [`Transfer`]).
    pub fn handle_fetched(&mut self, id: FetchId, now: u64, transfer: Transfer) {
        if self.state != PlayerState::Running {
            return;
        }
        // Counted up to its last byte: after it, the link was the other fetches'. Inputs
        // handled since (while it was opened, or while its report waited) counted it as out.
        let overshoot = self.shared_until.saturating_sub(transfer.done_at);
        let late = now.saturating_sub(transfer.opened_at) > LATE_REPORT_MS;
        self.account_sharing(transfer.done_at.min(now));
        let Some(&Request {
            state: ReqState::InFlight { since, .. },
            ..
        }) = self.requests.get(&id.0)
        else {
            return;
        };
        self.give_back_overshoot(id.0, overshoot.min(self.shared_until.saturating_sub(since)));
        let Some(req) = self.requests.get_mut(&id.0) else {
            return;
        };
        req.state = ReqState::Held;
        req.deadline = None;
        // An overshoot while it was opened is a share of the opening's time: small. One while
        // its report waited may be the whole wait.
        let measured = req.timed
            && !(late && overshoot > LATE_REPORT_MS)
            && transfer.sent_at.saturating_add(CLOCK_SKEW_MS) >= since;
        // The driver's time is the transfer's own; the engine's count starts when it asked.
        let elapsed_ms = transfer.done_at.saturating_sub(transfer.sent_at);
        let share_ms = req.share_ms.min(elapsed_ms as f64);
        let key = (req.slot, req.obj);
        if late {
            // The thread was held, or the report queued, since it was sent: the fetches still
            // out had the link to themselves for some of that wait, or not at all.
            for r in self.requests.values_mut() {
                if matches!(r.state, ReqState::InFlight { .. }) {
                    r.timed = false;
                }
            }
        }
        self.retries.remove(&key);
        self.streak += 1;
        if self.streak >= GROWTH_STREAK && self.fetch_limit < self.config.max_fetches_per_slot {
            self.fetch_limit += 1;
            self.streak = 0;
        }
        if measured {
            self.abr.sample(transfer.bytes, share_ms);
        } else {
            self.unmeasured += 1;
        }
        self.tick(now);
    }

    /// Fetch `id` failed. Network errors and retryable statuses (5xx, 429, 408:
    /// [`crate::store`]) are retried after a backoff until [`PlaybackConfig::max_attempts`];
    /// a refused URL (400, 401, 403: expired, as stores say it) is renewed and tried again at
    /// once, and teaches how long URLs really last ([`crate::presigned`]); any other status
    /// is fatal.
    pub fn handle_fetch_failed(&mut self, id: FetchId, now: u64, failure: FetchFailure) {
        if self.state != PlayerState::Running {
            return;
        }
        self.account_sharing(now);
        // The report first: a timeout due now must not take this fetch for a hung one.
        let Some(req) = self.requests.get(&id.0) else {
            return self.tick(now);
        };
        let ReqState::InFlight { lease, .. } = req.state else {
            return self.tick(now);
        };
        match failure {
            FetchFailure::Network => self.fetch_failed(now, id.0, true, RetryReason::Network),
            FetchFailure::Status(status) => match classify_get(status) {
                Refusal::Expired => {
                    let path = self.object_path(req).to_owned();
                    self.urls.refused(&path, &lease, now);
                    self.fetch_failed(now, id.0, true, RetryReason::Expired);
                }
                _ => self.fetch_failed(now, id.0, retryable_status(status), RetryReason::Network),
            },
        }
        self.tick(now);
    }

    /// Presigned URLs arrived at `now`: the session's own (`answer_to` `None`, before or after
    /// [`Player::handle_start`]), or the answer to [`Action::RequestUrls`] or
    /// [`Action::RenewSession`]. The fetches waiting for them start; one whose URL was asked
    /// for and is not among them fails. A late answer's URLs are kept all the same.
    pub fn handle_urls(&mut self, now: u64, answer_to: Option<UrlRequestId>, signed: SignedUrls) {
        if self.state == PlayerState::Failed {
            return;
        }
        self.urls.add(now, signed);
        if let Some(asked) = answer_to.and_then(|id| self.urls.answered(id)) {
            self.urls.note_declined(&asked, now);
            let unsigned: Vec<u64> = self
                .requests
                .iter()
                .filter(|(_, r)| r.state == ReqState::AwaitingUrl)
                .filter(|(_, r)| {
                    let path = self.object_path(r);
                    asked.paths.contains(path) && self.urls.fresh(path, now).is_none()
                })
                .map(|(&id, _)| id)
                .collect();
            for id in unsigned {
                // The server would not sign it (or signs dead URLs): asking again would not help.
                self.fetch_failed(now, id, false, RetryReason::Network);
            }
        }
        self.tick(now);
    }

    /// The request for URLs `id` failed. A session that ended is renewed; otherwise the
    /// fetches waiting for URLs fail like fetches (retried after a backoff if the failure is
    /// retryable).
    pub fn handle_urls_failed(&mut self, now: u64, id: UrlRequestId, failure: UrlsFailure) {
        if self.state != PlayerState::Running {
            return;
        }
        let Some(asked) = self.urls.answered(id) else {
            return;
        };
        let retryable = match failure {
            UrlsFailure::SessionEnded if !asked.renewal => {
                self.urls.session_ended();
                return self.tick(now);
            }
            // A renewal's own session ended: odd, but worth another try.
            UrlsFailure::SessionEnded | UrlsFailure::Network => true,
            UrlsFailure::Status(status) => retryable_status(status),
        };
        if asked.renewal {
            self.urls.session_ended();
        }
        self.fail_awaiting(now, retryable, RetryReason::Network);
        self.tick(now);
    }

    /// Fetch `id` arrived but failed authentication: damaged in transit, or tampered with.
    /// The driver drops the bytes; they are never appended. The object is fetched again
    /// [`PlaybackConfig::tamper_refetches`] times (one by default); failing again is fatal
    /// ([`ErrorCode::Tampered`], naming the track and segment).
    pub fn handle_decrypt_failed(&mut self, id: FetchId) {
        if self.state != PlayerState::Running {
            return;
        }
        let Some(req) = self.requests.get(&id.0) else {
            return;
        };
        if matches!(req.state, ReqState::Appending | ReqState::AwaitingUrl) {
            return;
        }
        let req = self.requests.remove(&id.0).expect("just looked up");
        let object = self.object_id(&req);
        let retry = self.retries.entry((req.slot, req.obj)).or_default();
        retry.corrupt += 1;
        retry.at = None;
        let (corrupt, attempt) = (retry.corrupt, retry.failures + retry.corrupt + 1);
        if corrupt > self.config.tamper_refetches {
            return self.fail(
                ErrorCode::Tampered,
                Some(object.clone()),
                format!("{object} failed authentication {corrupt} times: it was tampered with"),
            );
        }
        self.events.push_back(Event::Retrying {
            object,
            attempt,
            delay_ms: 0,
            reason: RetryReason::Corrupt,
        });
    }

    /// The append of fetch `id` to `slot` completed (report `slot`'s buffered ranges first).
    pub fn handle_appended(&mut self, slot: Slot, id: FetchId) {
        let Some(si) = self.slot_index(slot) else {
            return;
        };
        if self.slots[si]
            .appending
            .as_ref()
            .is_none_or(|a| a.id != id.0)
        {
            return;
        }
        let appending = self.slots[si].appending.take().expect("checked");
        let Some(req) = self.requests.remove(&id.0) else {
            return;
        };
        self.quota_errors = 0;
        if let Obj::Media(i) = appending.obj
            && !appending.doomed
        {
            self.slots[si].appended.insert(i, req.track);
        }
        self.update_status();
    }

    /// The append out on `slot` failed. On [`AppendError::QuotaExceeded`] the driver keeps
    /// the bytes: the player evicts more and appends them again; any other error is fatal.
    pub fn handle_append_failed(&mut self, slot: Slot, error: AppendError) {
        if self.state != PlayerState::Running {
            return;
        }
        let Some(si) = self.slot_index(slot) else {
            return;
        };
        let Some(appending) = self.slots[si].appending.take() else {
            return;
        };
        let Some(req) = self.requests.get_mut(&appending.id) else {
            return;
        };
        req.state = ReqState::Held;
        req.deadline = None;
        let req = req.clone();
        if let Obj::Init(_) = appending.obj {
            self.slots[si].current_init = appending.prev_init;
        }
        let object = self.object_id(&req);
        match error {
            AppendError::QuotaExceeded => {
                self.quota_errors += 1;
                self.quota_scale = (self.quota_scale * 0.5).max(MIN_QUOTA_SCALE);
                if appending.removes_after {
                    // A remove queued behind the append may have made room: try again.
                    return;
                }
                if self.quota_errors > MAX_QUOTA_ERRORS {
                    return self.fail(
                        ErrorCode::QuotaExceeded,
                        Some(object.clone()),
                        format!("no room in the {slot:?} buffer for {object} after eviction"),
                    );
                }
                self.make_room(si, appending.obj, &object);
            }
            AppendError::Other => self.fail(
                ErrorCode::AppendFailed,
                Some(object.clone()),
                format!("the {slot:?} buffer rejected {object}"),
            ),
        }
    }

    /// The append of `obj` to slot `si` failed for room: evict all but the segments from the
    /// playhead to the append point and try again; or, if that is all the buffer holds, wait
    /// for the playhead to leave its segment (back-eviction then makes room). A buffer that
    /// cannot hold the segment under the playhead and the next is a fatal error.
    fn make_room(&mut self, si: usize, obj: Obj, object: &ObjectId) {
        let w = self.window(si);
        let c = match obj {
            Obj::Media(c) => c,
            Obj::Init(_) => self.cursor(si, &w).unwrap_or(w.first),
        };
        let segs = self.segments(si);
        let (first_start, c_start) = (segs[w.first].start, segs[c].start);
        let slot = &mut self.slots[si];
        let behind = slot.appended.range(..w.first).next().is_some();
        let ahead = slot.appended.range(c + 1..).next().is_some();
        if behind {
            slot.appended = slot.appended.split_off(&w.first);
            self.out.push_back(Action::Remove {
                slot: slot.slot,
                start: 0.0,
                end: first_start,
            });
        }
        if ahead {
            slot.appended.split_off(&(c + 1));
            self.out.push_back(Action::Remove {
                slot: slot.slot,
                start: c_start,
                end: f64::INFINITY,
            });
        }
        if behind || ahead {
            self.eos_sent = false;
        } else if c >= w.first + 2 {
            slot.quota_wait = Some(w.first);
        } else {
            let name = slot.slot;
            self.fail(
                ErrorCode::QuotaExceeded,
                Some(object.clone()),
                format!(
                    "the {name:?} buffer cannot hold the segment under the playhead and {object}"
                ),
            );
        }
    }

    // ---- internals: the window ----

    fn slot_index(&self, slot: Slot) -> Option<usize> {
        self.slots.iter().position(|s| s.slot == slot)
    }

    fn segments(&self, si: usize) -> &[Segment] {
        &self.manifest.tracks[self.slots[si].reference].segments
    }

    /// The track new fetches for slot `si` use.
    fn chosen(&self, si: usize) -> usize {
        match self.slots[si].slot {
            Slot::Video => self.video[self.abr.current()],
            Slot::Audio => self.slots[si].reference,
        }
    }

    /// The track slot `si` fetches media segment `i` at: the chosen one, except for the first
    /// two video segments of a seek to a part not buffered ([`AbrConfig::seek_budget_s`]).
    /// Each comes at the highest rendition, up to the chosen one, that the estimate (times the
    /// safety factor) brings in within its time, or at the lowest: the segment under the
    /// target within the budget (while the seek lasts), the next within the media left to
    /// play before it (until the playhead reaches it, retries included: it goes once the
    /// first is in, as playback resumes, and must not stall). Paused, the next has no such
    /// deadline. Not before anything was measured: a start at a position is a seek too, and
    /// the initial estimate is a guess the start rendition already answers. A start from an
    /// earlier player's measurement is a seek to 0 ([`Player::handle_start`]).
    ///
    /// [`AbrConfig::seek_budget_s`]: super::AbrConfig::seek_budget_s
    fn track_for(&self, si: usize, i: usize) -> usize {
        if self.seek_overdue && self.seek_segment(si) == Some(i) {
            return self.video[0];
        }
        let Some(within_s) = self.seek_deadline_s(si, i) else {
            return self.chosen(si);
        };
        let bps = self.abr.estimate() * self.config.abr.safety_factor;
        let rung = rung_within(self.abr.current(), within_s, bps, |r| {
            self.manifest.tracks[self.video[r]].segments[i].size
        });
        self.video[rung]
    }

    /// The segment a seek waits for (the video segment under its target), while it lasts.
    fn seek_segment(&self, si: usize) -> Option<usize> {
        let target = self.seek_target?;
        (self.seeking && self.slots[si].slot == Slot::Video)
            .then(|| segment_index(self.segments(si), target))
    }

    /// How long media segment `i` of slot `si` may take to come, where a seek's rules choose
    /// its rendition ([`Player::track_for`]): the seek's segment within the budget, the next
    /// one within the media before it.
    fn seek_deadline_s(&self, si: usize, i: usize) -> Option<f64> {
        let (Some(budget), Some(target)) = (self.config.abr.seek_budget_s, self.seek_target) else {
            return None;
        };
        if self.slots[si].slot != Slot::Video || self.abr.pinned().is_some() || !self.abr.trusted()
        {
            return None;
        }
        let segs = self.segments(si);
        let under = segment_index(segs, target);
        if i == under && self.seeking {
            Some(budget)
        } else if i == under + 1 && !self.paused {
            Some((segs[i].start - self.playhead).max(0.0))
        } else {
            None
        }
    }

    /// The path of media segment `i` of slot `si`, at the track it is fetched at.
    fn segment_path(&self, si: usize, i: usize) -> &str {
        &self.manifest.tracks[self.track_for(si, i)].segments[i].path
    }

    /// A buffer goal after quota errors: scaled down, but never below `floor` (unless
    /// configured below it).
    fn scaled(&self, value: f64, floor: f64) -> f64 {
        (value * self.quota_scale).max(floor.min(value))
    }

    fn window(&self, si: usize) -> Window {
        let segs = self.segments(si);
        let n = segs.len();
        let t = self.playhead;
        let goal = self.scaled(self.config.forward_goal_s, self.longest_segment);
        let max_forward = self
            .scaled(self.config.max_forward_s, 2.0 * self.longest_segment)
            .max(goal);
        // Short of room, nothing is kept behind the playhead.
        let back = if self.quota_errors > 0 {
            0.0
        } else {
            self.scaled(self.config.back_buffer_s, 0.0)
        };
        let first = segment_index(segs, t);
        let mut keep_end = first;
        while keep_end + 1 < n && seg_end(&segs[keep_end + 1]) <= t + max_forward + TIME_EPS {
            keep_end += 1;
        }
        let mut fetch_end = first + 1;
        while fetch_end <= keep_end && segs[fetch_end].start < t + goal - TIME_EPS {
            fetch_end += 1;
        }
        let keep_start = segment_index(segs, (t - back).max(0.0)).min(first);
        Window {
            first,
            fetch_end,
            keep_start,
            keep_end,
        }
    }

    /// The first segment of the kept window not appended: where the next append goes.
    fn cursor(&self, si: usize, w: &Window) -> Option<usize> {
        let appended = &self.slots[si].appended;
        (w.first..=w.keep_end).find(|i| !appended.contains_key(i))
    }

    /// The first segment from the playhead's on that slot `si` has neither appended nor
    /// fetched.
    fn next_needed(&self, si: usize, w: &Window) -> Option<usize> {
        (w.first..self.segments(si).len()).find(|&i| {
            !self.slots[si].appended.contains_key(&i)
                && self.pending_media(si, i).is_none_or(|r| r.state.out())
        })
    }

    /// Whether slot `si`'s segment under the playhead is asked for and not here yet.
    fn playhead_segment_out(&self, si: usize) -> bool {
        let first = segment_index(self.segments(si), self.playhead);
        !self.slots[si].appended.contains_key(&first)
            && self.pending_media(si, first).is_some_and(|r| r.state.out())
    }

    fn pending_media(&self, si: usize, i: usize) -> Option<&Request> {
        self.requests
            .values()
            .find(|r| r.slot == si && r.obj == Obj::Media(i))
    }

    /// The id of `track`'s init segment in slot `si`, if it is fetched and opened.
    fn held_init(&self, si: usize, track: usize) -> Option<u64> {
        self.requests
            .iter()
            .find(|(_, r)| r.slot == si && r.obj == Obj::Init(track) && r.state == ReqState::Held)
            .map(|(&id, _)| id)
    }

    fn init_pending(&self, si: usize, track: usize) -> bool {
        self.requests
            .values()
            .any(|r| r.slot == si && r.obj == Obj::Init(track))
    }

    fn blocked(&self, si: usize, obj: Obj) -> bool {
        self.retries.get(&(si, obj)).is_some_and(|r| r.at.is_some())
    }

    fn object_id(&self, req: &Request) -> ObjectId {
        let (kind, index) = match req.obj {
            Obj::Init(_) => (FetchKind::Init, 0),
            Obj::Media(i) => (FetchKind::Media, index_u32(i)),
        };
        ObjectId {
            track_id: self.manifest.tracks[req.track].id.clone(),
            kind,
            index,
        }
    }

    /// Whether a fetch (in flight or held) still serves the window.
    fn wanted(&self, r: &Request) -> bool {
        let slot = &self.slots[r.slot];
        match r.obj {
            Obj::Media(i) => {
                let w = self.window(r.slot);
                (w.first..=w.keep_end).contains(&i) && !slot.appended.contains_key(&i)
            }
            Obj::Init(t) => self.needed_inits(r.slot).contains(&t),
        }
    }

    /// The init segments the appends to come will need, in order: walking the window from
    /// the cursor in append order (segments fetched or in flight at their rendition, missing
    /// ones within the goal at the chosen rendition), every change of rendition from the
    /// buffer's current init needs the new rendition's init.
    fn needed_inits(&self, si: usize) -> Vec<usize> {
        let w = self.window(si);
        let slot = &self.slots[si];
        let mut current = slot.current_init;
        let mut needed = Vec::new();
        for i in w.first..=w.keep_end {
            if slot.appended.contains_key(&i) {
                continue;
            }
            let track = match self.pending_media(si, i) {
                // Its init went in before it.
                Some(r) if r.state == ReqState::Appending => continue,
                Some(r) => r.track,
                None if i < w.fetch_end => self.track_for(si, i),
                None => break,
            };
            if current != Some(track) {
                if !needed.contains(&track) {
                    needed.push(track);
                }
                current = Some(track);
            }
        }
        needed
    }

    // ---- internals: actions ----

    /// Drops fetches the window no longer wants (a seek, a switch), and the retry records of
    /// objects out of the window.
    fn next_abort(&mut self) -> Option<Action> {
        let windows: Vec<Window> = (0..self.slots.len()).map(|si| self.window(si)).collect();
        self.retries.retain(|&(si, obj), _| match obj {
            Obj::Media(i) => (windows[si].first..=windows[si].keep_end).contains(&i),
            Obj::Init(_) => true,
        });
        let unwanted = self
            .requests
            .iter()
            .find(|(_, r)| r.state != ReqState::Appending && !self.wanted(r))
            .map(|(&id, _)| id);
        // Over the memory bound (a seek made an urgent fetch ordinary): shed the media fetch
        // furthest ahead that no append waits for.
        let shed = || {
            let cursors: Vec<Option<usize>> = (0..self.slots.len())
                .map(|si| self.cursor(si, &windows[si]))
                .collect();
            self.requests
                .iter()
                .filter(|(_, r)| r.state != ReqState::Appending)
                .filter_map(|(&id, r)| match r.obj {
                    Obj::Media(i) if Some(i) != cursors[r.slot] => {
                        Some((id, self.segments(r.slot)[i].start))
                    }
                    _ => None,
                })
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(id, _)| id)
        };
        let id = unwanted.or_else(|| {
            (self.pending_bytes() > self.config.max_pending_bytes)
                .then(shed)
                .flatten()
        })?;
        // A fetch still waiting for its URL goes without a word: look for the next.
        self.forget(id).or_else(|| self.next_abort())
    }

    /// Drops request `id`: the `Abort` to give if the driver knows of it.
    fn forget(&mut self, id: u64) -> Option<Action> {
        let req = self.requests.remove(&id)?;
        (req.state != ReqState::AwaitingUrl).then_some(Action::Abort { id: FetchId(id) })
    }

    /// Removes appended segments behind the back buffer, then those past the forward bound.
    fn next_remove(&mut self) -> Option<Action> {
        for si in 0..self.slots.len() {
            let w = self.window(si);
            let segs = self.segments(si);
            let behind_end = segs[w.keep_start].start;
            let ahead_start = segs.get(w.keep_end + 1).map(|s| s.start);
            let slot = &mut self.slots[si];
            let remove = |slot: &mut SlotState, start: f64, end: f64| {
                if let Some(a) = &mut slot.appending {
                    a.removes_after = true;
                }
                slot.quota_wait = None;
                Some(Action::Remove {
                    slot: slot.slot,
                    start,
                    end,
                })
            };
            if slot.appended.range(..w.keep_start).next().is_some()
                || slot.leftover.range(..w.keep_start).next().is_some()
            {
                slot.appended = slot.appended.split_off(&w.keep_start);
                slot.leftover = slot.leftover.split_off(&w.keep_start);
                if let Some(a) = &mut slot.appending
                    && matches!(a.obj, Obj::Media(i) if i < w.keep_start)
                {
                    a.doomed = true;
                }
                self.eos_sent = false;
                return remove(slot, 0.0, behind_end);
            }
            if let Some(start) = ahead_start
                && (slot.appended.range(w.keep_end + 1..).next().is_some()
                    || slot.leftover.range(w.keep_end + 1..).next().is_some())
            {
                slot.appended.split_off(&(w.keep_end + 1));
                slot.leftover.split_off(&(w.keep_end + 1));
                if let Some(a) = &mut slot.appending
                    && matches!(a.obj, Obj::Media(i) if i > w.keep_end)
                {
                    a.doomed = true;
                }
                self.eos_sent = false;
                return remove(slot, start, f64::INFINITY);
            }
        }
        None
    }

    /// Appends the cursor's segment if it is held, after its rendition's init if the buffer
    /// has another.
    fn next_append(&mut self) -> Option<Action> {
        for si in 0..self.slots.len() {
            let w = self.window(si);
            if self.slots[si].appending.is_some() || self.slots[si].quota_wait == Some(w.first) {
                continue;
            }
            let Some(c) = self.cursor(si, &w) else {
                continue;
            };
            let prev_init = self.slots[si].current_init;
            let held = self
                .requests
                .iter()
                .find(|(_, r)| r.slot == si && r.obj == Obj::Media(c) && r.state == ReqState::Held)
                .map(|(&id, r)| (id, r.track));
            // The rendition the cursor's segment is of: the held one's, or, while the buffer
            // has no init yet, the one on its way. A buffer's first init goes in as soon as it
            // is here, not with the segment after it: the element sets up its decoders and
            // audio output (about 70 ms in Chromium) once every buffer has its first init, so
            // the first frame waits for the last of them.
            let track = match held {
                Some((_, track)) => track,
                None if prev_init.is_none() => match self.pending_media(si, c) {
                    Some(r) if r.state.out() => r.track,
                    _ => continue,
                },
                None => continue,
            };
            let (id, obj) = match held {
                Some((id, _)) if prev_init == Some(track) => (id, Obj::Media(c)),
                _ => match self.held_init(si, track) {
                    Some(init_id) => (init_id, Obj::Init(track)),
                    None => continue,
                },
            };
            self.requests.get_mut(&id).expect("found").state = ReqState::Appending;
            let slot = &mut self.slots[si];
            if let Obj::Init(t) = obj {
                slot.current_init = Some(t);
            }
            slot.appending = Some(Appending {
                id,
                obj,
                prev_init,
                doomed: false,
                removes_after: false,
            });
            self.eos_sent = false;
            return Some(Action::Append {
                slot: slot.slot,
                id: FetchId(id),
            });
        }
        None
    }

    fn next_end_of_stream(&mut self) -> Option<Action> {
        if self.eos_sent {
            return None;
        }
        for si in 0..self.slots.len() {
            let w = self.window(si);
            if self.slots[si].appending.is_some()
                || w.keep_end + 1 < self.segments(si).len()
                || self.cursor(si, &w).is_some()
            {
                return None;
            }
        }
        self.eos_sent = true;
        Some(Action::EndOfStream)
    }

    /// Chooses fetches, the most urgent of any slot first (one the next append waits for,
    /// else the one for the earliest time), and starts the first whose URL is fresh; the
    /// others wait for URLs.
    fn next_fetch(&mut self, now: u64) -> Option<Action> {
        while let Some(best) = (0..self.slots.len())
            .filter_map(|si| self.fetch_candidate(si))
            .min_by(|a, b| (!a.urgent).cmp(&!b.urgent).then(a.time.total_cmp(&b.time)))
        {
            let id = self.next_id;
            self.next_id += 1;
            let track = &self.manifest.tracks[best.track];
            let size = match best.obj {
                Obj::Init(_) => track.init.size,
                Obj::Media(i) => track.segments[i].size,
            };
            let budgeted = match best.obj {
                Obj::Media(i) => {
                    self.seek_segment(best.slot) == Some(i)
                        && !self.seek_overdue
                        && self.seek_deadline_s(best.slot, i).is_some()
                }
                Obj::Init(_) => false,
            };
            self.requests.insert(
                id,
                Request {
                    slot: best.slot,
                    track: best.track,
                    obj: best.obj,
                    size,
                    state: ReqState::AwaitingUrl,
                    deadline: None,
                    share_ms: 0.0,
                    timed: true,
                    budgeted,
                },
            );
            if let Some(action) = self.start_fetch(now, id) {
                return Some(action);
            }
        }
        None
    }

    /// The fetches waiting for a URL, in the order they were chosen.
    fn awaiting_url(&self) -> Vec<u64> {
        self.requests
            .iter()
            .filter(|(_, r)| r.state == ReqState::AwaitingUrl)
            .map(|(&id, _)| id)
            .collect()
    }

    /// Starts the fetches that waited for URLs, in the order they were chosen.
    fn next_dispatch(&mut self, now: u64) -> Option<Action> {
        let waiting = self.awaiting_url();
        waiting.into_iter().find_map(|id| self.start_fetch(now, id))
    }

    /// Asks for the URLs waiting fetches need, with the later segments of their tracks in the
    /// same batch so that most segments cost no round trip of their own.
    fn next_url_request(&mut self, now: u64) -> Option<Action> {
        if self.urls.busy() {
            return None;
        }
        let waiting: Vec<&Request> = self
            .requests
            .values()
            .filter(|r| r.state == ReqState::AwaitingUrl)
            .collect();
        if waiting.is_empty() {
            return self.url_request_ahead(now);
        }
        let mut seen = HashSet::new();
        let mut paths: Vec<String> = Vec::new();
        for r in &waiting {
            let path = self.object_path(r);
            if seen.insert(path) {
                paths.push(path.to_owned());
            }
        }
        // The segments after a waiting one, or from the playhead's for an init, at the
        // renditions they will be fetched at (the chosen one, but for a seek's first two).
        'tracks: for r in &waiting {
            let from = match r.obj {
                Obj::Init(_) => self.window(r.slot).first,
                Obj::Media(i) => i + 1,
            };
            for j in from..self.segments(r.slot).len() {
                if paths.len() >= MAX_URL_BATCH {
                    break 'tracks;
                }
                let path = self.segment_path(r.slot, j);
                if self.urls.fresh(path, now).is_none() && seen.insert(path) {
                    paths.push(path.to_owned());
                }
            }
        }
        paths.truncate(MAX_URL_BATCH);
        let deadline = self.config.fetch_timeout_ms.map(|t| now.saturating_add(t));
        Some(self.urls.ask(paths, deadline))
    }

    /// Asks, before any fetch waits, for the URLs of the segments after the last one fetched
    /// on a slot once one of the next [`PlaybackConfig::max_fetches_per_slot`] + 1 has none:
    /// the request's round trip then overlaps the fetches out instead of stalling the next ones
    /// (with the session's first URLs, the fourth segment of every start waited for it). One
    /// more than may be out at once, since the segment under the playhead goes alone and the
    /// next ones follow it together.
    fn url_request_ahead(&mut self, now: u64) -> Option<Action> {
        let mut paths: Vec<String> = Vec::new();
        for si in 0..self.slots.len() {
            let Some(last) = self
                .requests
                .values()
                .filter(|r| r.slot == si)
                .filter_map(|r| match r.obj {
                    Obj::Media(i) => Some(i),
                    Obj::Init(_) => None,
                })
                .max()
            else {
                continue;
            };
            // At the renditions they will be fetched at: the last fetch may be of a lower one
            // (after a seek).
            let n = self.segments(si).len();
            let runway = self.config.max_fetches_per_slot.max(1) + 1;
            if !(last + 1..n)
                .take(runway)
                .any(|j| self.urls.worth_asking(self.segment_path(si, j), now))
            {
                continue;
            }
            let room = MAX_URL_BATCH.saturating_sub(paths.len());
            paths.extend(
                (last + 1..n)
                    .map(|j| self.segment_path(si, j))
                    .filter(|p| self.urls.worth_asking(p, now))
                    .map(str::to_owned)
                    .take(room),
            );
        }
        if paths.is_empty() {
            return None;
        }
        let deadline = self.config.fetch_timeout_ms.map(|t| now.saturating_add(t));
        Some(self.urls.ask(paths, deadline))
    }

    /// Starts waiting fetch `id` if its URL is fresh at `now`.
    fn start_fetch(&mut self, now: u64, id: u64) -> Option<Action> {
        let req = self.requests.get(&id)?;
        let (url, lease) = self.urls.fresh(self.object_path(req), now)?;
        let track = &self.manifest.tracks[req.track];
        let (kind, index, path, size, nonce) = match req.obj {
            Obj::Init(_) => (
                FetchKind::Init,
                0,
                &track.init.path,
                track.init.size,
                track.init.nonce,
            ),
            Obj::Media(i) => {
                let s = &track.segments[i];
                (FetchKind::Media, index_u32(i), &s.path, s.size, s.nonce)
            }
        };
        let attempt = self
            .retries
            .get(&(req.slot, req.obj))
            .map_or(0, |r| r.failures + r.corrupt)
            + 1;
        let action = Action::Fetch {
            id: FetchId(id),
            slot: self.slots[req.slot].slot,
            track_id: track.id.clone(),
            kind,
            index,
            path: path.clone(),
            size,
            nonce,
            attempt,
            url,
        };
        // A slow link is no hung fetch: allow a margin over the time the estimate gives
        // this fetch, sharing the link with those already out.
        let sharing = (self.transfers() + 1) as f64;
        let expected_ms = req.size as f64 * 8000.0 / self.abr.estimate().max(1_000.0) * sharing;
        let deadline = self.config.fetch_timeout_ms.map(|t| {
            now.saturating_add(t.max((expected_ms * TIMEOUT_MARGIN).min(u64::MAX as f64) as u64))
        });
        let req = self.requests.get_mut(&id).expect("looked up");
        req.state = ReqState::InFlight { since: now, lease };
        req.deadline = deadline;
        Some(action)
    }

    /// The package path of `req`'s object.
    fn object_path(&self, req: &Request) -> &str {
        let track = &self.manifest.tracks[req.track];
        match req.obj {
            Obj::Init(_) => &track.init.path,
            Obj::Media(i) => &track.segments[i].path,
        }
    }

    fn fetch_candidate(&self, si: usize) -> Option<Candidate> {
        let slot = &self.slots[si];
        let in_flight = self
            .requests
            .values()
            .filter(|r| r.slot == si && r.state.out())
            .count();
        if in_flight >= self.fetch_limit {
            return None;
        }
        let w = self.window(si);
        let segs = self.segments(si);
        let cursor = self.cursor(si, &w);
        // Init segments first (small, and an append may wait on one), in the order needed;
        // but while the segment the next append needs is not asked for, only its own init
        // goes before it (after a seek at a lower rendition, the current rendition's init is
        // needed only after it, and would take its place in the fetches allowed at once).
        let cursor_track = cursor
            .filter(|&c| self.pending_media(si, c).is_none())
            .map(|c| self.track_for(si, c));
        if let Some(&track) = self
            .needed_inits(si)
            .iter()
            .find(|&&t| !self.init_pending(si, t))
            && cursor_track.is_none_or(|c| c == track)
        {
            return (!self.blocked(si, Obj::Init(track))).then_some(Candidate {
                slot: si,
                track,
                obj: Obj::Init(track),
                urgent: true,
                time: cursor.map_or(0.0, |c| segs[c].start),
            });
        }
        // The segment the playhead needs next goes alone while less than two of its durations
        // are buffered before it (at the start, after a seek, when the buffer runs low): the
        // picture waits for it, and a fetch beside it would share the link (on loopback, the
        // machine) with it. With more buffered, more at once fill a link with latency better.
        if let Some(m) = self.next_needed(si, &w)
            && self.pending_media(si, m).is_some_and(|r| r.state.out())
            && segs[m].start - self.playhead < ALONE_BELOW_SEGMENTS * segs[m].duration
        {
            return None;
        }
        // While another slot's segment under the playhead is on its way, this slot fetches no
        // later segment than its own under the playhead: playback begins (or goes on) only once
        // every slot has that one, and a later one here would share the link with it (at the
        // start on a 5 Mbit/s link, the second audio segment held the first video segment, and
        // the first frame, back by about 100 ms).
        let others_wait = (0..self.slots.len()).any(|sj| sj != si && self.playhead_segment_out(sj));
        for (i, seg) in segs.iter().enumerate().take(w.fetch_end).skip(w.first) {
            if slot.appended.contains_key(&i) || self.pending_media(si, i).is_some() {
                continue;
            }
            if others_wait && i != w.first {
                return None;
            }
            // In order: nothing past a segment that is backing off.
            if self.blocked(si, Obj::Media(i)) {
                return None;
            }
            let track = self.track_for(si, i);
            let size = self.manifest.tracks[track].segments[i].size;
            let urgent = cursor == Some(i);
            if !urgent && self.pending_bytes().saturating_add(size) > self.config.max_pending_bytes
            {
                return None;
            }
            return Some(Candidate {
                slot: si,
                track,
                obj: Obj::Media(i),
                urgent,
                time: seg.start,
            });
        }
        None
    }

    // ---- internals: state changes ----

    /// Ends due timers, times out fetches, and re-evaluates the rendition, so that
    /// [`Player::poll_timeout`] never names a time already past.
    fn tick(&mut self, now: u64) {
        self.account_sharing(now);
        if self.state != PlayerState::Running {
            return;
        }
        for r in self.retries.values_mut() {
            if r.at.is_some_and(|t| t <= now) {
                r.at = None;
            }
        }
        let expired: Vec<u64> = self
            .requests
            .iter()
            .filter(|(_, r)| r.deadline.is_some_and(|d| d <= now))
            .map(|(&id, _)| id)
            .collect();
        for id in expired {
            // Fewer fetches at once share the link better.
            self.fetch_limit = (self.fetch_limit / 2).max(1);
            self.streak = 0;
            self.out.push_back(Action::Abort { id: FetchId(id) });
            self.fetch_failed(now, id, true, RetryReason::Timeout);
            if self.state != PlayerState::Running {
                return;
            }
        }
        if let Some(asked) = self.urls.timed_out(now) {
            if asked.renewal {
                self.urls.session_ended();
            }
            self.fail_awaiting(now, true, RetryReason::Timeout);
            if self.state != PlayerState::Running {
                return;
            }
        }
        self.give_up_overdue_seek_segment(now);
        self.adapt(now);
    }

    /// The fetch of a seek's segment (the video segment under the target, while the seek
    /// lasts) whose rendition the budget chose above the lowest, and when it is overdue: out
    /// for twice the budget. It was chosen to come within the budget, so the link is slower
    /// than the estimate said (an earlier player's measurement of a link that has fallen
    /// since, or a link that fell at the seek).
    fn overdue_seek_fetch(&self) -> Option<(u64, u64)> {
        let budget = self.config.abr.seek_budget_s?;
        if self.seek_overdue {
            return None;
        }
        let si = self.slot_index(Slot::Video)?;
        let under = self.seek_segment(si)?;
        self.requests.iter().find_map(|(&id, r)| match r.state {
            ReqState::InFlight { since, .. }
                if r.budgeted && r.obj == Obj::Media(under) && r.track != self.video[0] =>
            {
                Some((id, since.saturating_add((2000.0 * budget) as u64)))
            }
            _ => None,
        })
    }

    fn seek_segment_overdue_at(&self) -> Option<u64> {
        self.overdue_seek_fetch().map(|(_, at)| at)
    }

    /// An overdue seek's segment ([`Player::overdue_seek_fetch`]) is dropped and fetched
    /// again at the lowest rendition, as a stall would drop it: the picture then waits for a
    /// lowest segment more, not for however long the larger one still takes. Where the
    /// estimate still holds an earlier player's measurement (a start on it), that is dropped
    /// too: the rendition comes down to what this player's own measurements (or the guess)
    /// allow, and video fetches above it, chosen on the same measurement, go with it.
    fn give_up_overdue_seek_segment(&mut self, now: u64) {
        let Some((overdue, at)) = self.overdue_seek_fetch() else {
            return;
        };
        if now < at {
            return;
        }
        self.seek_overdue = true;
        let from = self.abr.current();
        let mut drop = vec![overdue];
        if let Some(to) = self.abr.earlier_refuted() {
            self.switched(from, to, SwitchReason::Bandwidth);
            let si = self.requests[&overdue].slot;
            let ceiling = self.manifest.tracks[self.chosen(si)].bandwidth;
            drop.extend(
                self.requests
                    .iter()
                    .filter(|&(&id, r)| {
                        id != overdue
                            && r.slot == si
                            && r.state.out()
                            && matches!(r.obj, Obj::Media(_))
                            && self.manifest.tracks[r.track].bandwidth > ceiling
                    })
                    .map(|(&id, _)| id),
            );
        }
        for id in drop {
            let abort = self.forget(id);
            self.out.extend(abort);
        }
    }

    fn fetch_failed(&mut self, now: u64, id: u64, retryable: bool, reason: RetryReason) {
        let Some(req) = self.requests.remove(&id) else {
            return;
        };
        let object = self.object_id(&req);
        if !retryable {
            return self.fail(
                ErrorCode::FetchFailed,
                Some(object.clone()),
                format!("{object} could not be fetched"),
            );
        }
        let retry = self.retries.entry((req.slot, req.obj)).or_default();
        retry.failures += 1;
        let (failures, attempt) = (retry.failures, retry.failures + retry.corrupt + 1);
        if failures >= self.config.max_attempts {
            return self.fail(
                ErrorCode::FetchFailed,
                Some(object.clone()),
                format!("{object} could not be fetched in {failures} attempts"),
            );
        }
        // A refused URL is renewed at once: waiting would not help, and asking takes a round
        // trip anyway.
        let delay_ms = match reason {
            RetryReason::Expired => 0,
            _ => self.backoff.delay(failures),
        };
        self.retries
            .get_mut(&(req.slot, req.obj))
            .expect("inserted")
            .at = (delay_ms > 0).then(|| now.saturating_add(delay_ms));
        self.events.push_back(Event::Retrying {
            object,
            attempt,
            delay_ms,
            reason,
        });
    }

    /// The fetches waiting for URLs fail like fetches.
    fn fail_awaiting(&mut self, now: u64, retryable: bool, reason: RetryReason) {
        let waiting = self.awaiting_url();
        for id in waiting {
            if self.state != PlayerState::Running {
                return;
            }
            self.fetch_failed(now, id, retryable, reason);
        }
    }

    fn fail(&mut self, code: ErrorCode, object: Option<ObjectId>, message: String) {
        self.state = PlayerState::Failed;
        for (&id, r) in &self.requests {
            if matches!(r.state, ReqState::InFlight { .. } | ReqState::Held) {
                self.out.push_back(Action::Abort { id: FetchId(id) });
            }
        }
        self.requests.clear();
        self.retries.clear();
        self.stall = None;
        self.events.push_back(Event::Error(PlaybackError {
            code,
            object,
            message,
        }));
    }

    /// After a pin: aborts video fetches of later segments at another rendition, and drops
    /// appended video from the first later segment `k` at another rendition on (the segment
    /// under the playhead stays). The window refetches them at the chosen rendition.
    /// Video segments after the one `keep` names (given the player and the segment under the
    /// playhead) whose track `replace` picks go: fetches are aborted, appended ones removed, so
    /// the window fetches them again at the chosen rendition.
    fn drop_later_video(
        &mut self,
        replace: impl Fn(&Self, usize) -> bool,
        keep: impl Fn(&Self, usize) -> usize,
    ) {
        let Some(si) = self.slot_index(Slot::Video) else {
            return;
        };
        let first = keep(self, self.window(si).first);
        let replaced: Vec<bool> = (0..self.manifest.tracks.len())
            .map(|t| replace(self, t))
            .collect();
        let other = |r: &Request| replaced[r.track] && matches!(r.obj, Obj::Media(i) if i > first);
        let abort: Vec<u64> = self
            .requests
            .iter()
            .filter(|(_, r)| r.slot == si && r.state != ReqState::Appending && other(r))
            .map(|(&id, _)| id)
            .collect();
        for id in abort {
            let abort = self.forget(id);
            self.out.extend(abort);
        }
        let slot = &self.slots[si];
        let appending = slot.appending.as_ref().and_then(|a| match a.obj {
            Obj::Media(i) => self.requests.get(&a.id).filter(|r| other(r)).map(|_| i),
            Obj::Init(_) => None,
        });
        let Some(k) = slot
            .appended
            .range(first + 1..)
            .filter(|&(_, &track)| replaced[track])
            .map(|(&i, _)| i)
            .chain(appending)
            .min()
        else {
            return;
        };
        // From the middle of segment `k`, not its start: its first frames stay until the new
        // rendition's segment `k` is appended over them. A remove at the boundary itself takes
        // the last frames of segment `k - 1` too (their presentation times reach past it when
        // frames are reordered), leaving a gap before the new rendition's first frame that
        // playback does not cross.
        let seg = &self.segments(si)[k];
        let start = seg.start + seg.duration / 2.0;
        let slot = &mut self.slots[si];
        slot.appended.split_off(&k);
        slot.leftover.insert(k);
        if let Some(a) = &mut slot.appending {
            a.removes_after = true;
            if matches!(a.obj, Obj::Media(i) if i >= k) {
                a.doomed = true;
            }
        }
        slot.quota_wait = None;
        self.eos_sent = false;
        self.out.push_back(Action::Remove {
            slot: Slot::Video,
            start,
            end: f64::INFINITY,
        });
    }

    /// Re-evaluates the video rendition from the estimate, capped by slow fetches in flight.
    fn adapt(&mut self, now: u64) {
        if self.state != PlayerState::Running || self.video.len() < 2 {
            return;
        }
        let from = self.abr.current();
        let cap = self.inflight_cap(now);
        // No climb on less than a segment's worth of buffer (before the first is in, after a
        // seek): the next segment, fetched alone at a higher rendition, would take longer than
        // what is left to play.
        let allow_up =
            self.stall.is_none() && self.buffered_ahead() + TIME_EPS >= self.longest_segment;
        if let Some(to) = self.abr.decide(now, cap, allow_up) {
            self.switched(from, to, SwitchReason::Bandwidth);
            if to > from
                && let Some(margin) = self.config.abr.replace_margin_s
            {
                self.replace_lower_video(to, margin);
            }
        }
    }

    /// After an upswitch to rung `to`: video buffered ahead at lower rungs is fetched again at
    /// `to`, except what plays while the first refetches come in, plus `margin` seconds.
    fn replace_lower_video(&mut self, to: usize, margin: f64) {
        let lower = |p: &Self, track: usize| p.video[..to].contains(&track);
        let keep = |p: &Self, first: usize| {
            let Some(si) = p.slot_index(Slot::Video) else {
                return first;
            };
            let segs = p.segments(si);
            let track = &p.manifest.tracks[p.video[to]];
            let rate = p.abr.estimate() * p.config.abr.safety_factor;
            // The last segment kept if the first refetch lands after `n` fetches' time at the
            // estimate.
            let kept = |n: usize| {
                let bytes: u64 = (first + 1..)
                    .take(n)
                    .filter_map(|i| track.segments.get(i))
                    .map(|s| s.size)
                    .sum();
                let fetch_s = bytes as f64 * 8.0 / rate.max(1.0);
                segment_index(segs, p.playhead + fetch_s + margin.max(0.0)).max(first)
            };
            // The first refetch goes alone while it starts less than `ALONE_BELOW_SEGMENTS` of
            // its durations ahead (`fetch_candidate`), so it lands after one fetch. Further
            // ahead, the refetches go out as many at once as a slot allows and share the link:
            // the first lands about when they all do. (The sizes are those of the segments
            // after `first`, near enough for the ones refetched.)
            let alone = kept(1);
            match segs.get(alone + 1) {
                Some(s) if s.start - p.playhead >= ALONE_BELOW_SEGMENTS * s.duration => {
                    kept(p.fetch_limit.max(1))
                }
                _ => alone,
            }
        };
        self.drop_later_video(lower, keep);
    }

    /// Fetches on the link now (not those waiting for a URL).
    fn transfers(&self) -> usize {
        self.requests
            .values()
            .filter(|r| matches!(r.state, ReqState::InFlight { .. }))
            .count()
    }

    /// Adds the time since the last call to the share of every fetch in flight, split evenly
    /// among them. Called on every input with a clock before it changes what is in flight
    /// (through `tick`, and first in the reports of fetches, up to their last byte). Time
    /// counted already is not counted again: a report whose last byte came before it leaves
    /// the count where it is.
    fn account_sharing(&mut self, now: u64) {
        if now <= self.shared_until {
            return;
        }
        let since = std::mem::replace(&mut self.shared_until, now);
        let out = self.transfers();
        if out == 0 {
            return;
        }
        let each = (now - since) as f64 / out as f64;
        for r in self.requests.values_mut() {
            if matches!(r.state, ReqState::InFlight { .. }) {
                r.share_ms += each;
            }
        }
    }

    /// Fetch `id`, still counted as out for the last `overshoot_ms` after its last byte, gives
    /// its share of that time to the fetches out beside it, as if it had not been out (the
    /// fetches out then taken to be those out now).
    fn give_back_overshoot(&mut self, id: u64, overshoot_ms: u64) {
        let out = self.transfers();
        if overshoot_ms == 0 || out == 0 {
            return;
        }
        let Some(req) = self.requests.get_mut(&id) else {
            return;
        };
        let excess = (overshoot_ms as f64 / out as f64).min(req.share_ms);
        req.share_ms -= excess;
        if out > 1 {
            let each = excess / (out - 1) as f64;
            for (&other, r) in self.requests.iter_mut() {
                if other != id && matches!(r.state, ReqState::InFlight { .. }) {
                    r.share_ms += each;
                }
            }
        }
    }

    /// An upper bound on the link's rate from video fetches out longer than
    /// `slow_fetch_ms`: each has had its share of the link's time so far (as the estimate
    /// counts it) and has not finished, so its share carried less than its size. Its whole
    /// time out would not do: a fetch that shared the link and then ran alone would read far
    /// below the link (`a_steady_link_keeps_the_rendition_it_climbed_to`). Its callers (`tick`,
    /// `handle_playhead`) have counted the shares up to `now`.
    fn inflight_cap(&self, now: u64) -> Option<f64> {
        debug_assert_eq!(self.shared_until, now, "shares counted up to now");
        self.requests
            .values()
            .filter(|r| r.slot == 0 && r.timed && matches!(r.obj, Obj::Media(_)))
            .filter_map(|r| match r.state {
                ReqState::InFlight { since, .. } => (now.saturating_sub(since)
                    >= self.config.abr.slow_fetch_ms.max(1))
                .then(|| r.size as f64 * 8000.0 / r.share_ms.max(1.0)),
                _ => None,
            })
            .reduce(f64::min)
    }

    fn switched(&mut self, from: usize, to: usize, reason: SwitchReason) {
        self.events.push_back(Event::RenditionChanged {
            from: Some(self.manifest.tracks[self.video[from]].id.clone()),
            to: self.manifest.tracks[self.video[to]].id.clone(),
            reason,
        });
    }

    /// Whether some slot's reported buffer lacks data under the playhead.
    fn starved(&self) -> bool {
        self.slots.iter().any(|s| {
            s.buffered.as_ref().is_some_and(|r| {
                !has_data_at(r, self.playhead, self.manifest.tracks[s.reference].end())
            })
        })
    }

    fn at_end(&self) -> bool {
        self.playhead + PLAYHEAD_TOL >= self.manifest.duration
    }

    fn enter_stall(&mut self, now: u64) {
        if self.state != PlayerState::Running
            || !self.ready
            || self.seeking
            || self.stall.is_some()
            || self.at_end()
        {
            return;
        }
        self.stall = Some(Stalled {
            at: self.playhead,
            since: now,
        });
        self.events.push_back(Event::Stall { at: self.playhead });
        // The browser may have evicted what the model says is there (coded frame eviction):
        // segments from the playhead on whose middle is no longer buffered are forgotten, and
        // what is left of them removed, so the buffer never holds what the model does not know
        // (eviction works from the model). They are fetched again.
        for si in 0..self.slots.len() {
            let w = self.window(si);
            let Some(ranges) = self.slots[si].buffered.clone() else {
                continue;
            };
            let segs = self.segments(si);
            let lost: Vec<(f64, f64, usize)> = self.slots[si]
                .appended
                .range(w.first..)
                .map(|(&i, _)| (segs[i].start, seg_end(&segs[i]), i))
                .filter(|&(a, b, _)| {
                    let mid = (a + b) / 2.0;
                    !ranges.iter().any(|&(s, e)| s <= mid && mid < e)
                })
                .collect();
            let slot = self.slots[si].slot;
            for (start, end, i) in lost {
                self.slots[si].appended.remove(&i);
                if let Some(a) = &mut self.slots[si].appending {
                    a.removes_after = true;
                }
                self.out.push_back(Action::Remove { slot, start, end });
                self.eos_sent = false;
            }
        }
        let from = self.abr.current();
        if let Some(to) = self.abr.stalled(self.inflight_cap(now)) {
            self.switched(from, to, SwitchReason::Stall);
        }
        // Put the segment under the playhead first: drop fetches of later segments that
        // compete with it for the link, and a fetch of it at a rendition above the new one.
        for si in 0..self.slots.len() {
            let w = self.window(si);
            let Some(c) = self.cursor(si, &w) else {
                continue;
            };
            let chosen = self.chosen(si);
            let bandwidth = |t: usize| self.manifest.tracks[t].bandwidth;
            let cursor_ok = self
                .pending_media(si, c)
                .is_some_and(|r| !r.state.out() || bandwidth(r.track) <= bandwidth(chosen));
            if cursor_ok {
                continue;
            }
            let drop: Vec<u64> = self
                .requests
                .iter()
                .filter(|(_, r)| r.slot == si && r.state.out())
                .filter(|(_, r)| matches!(r.obj, Obj::Media(i) if i >= c))
                .map(|(&id, _)| id)
                .collect();
            for id in drop {
                let abort = self.forget(id);
                self.out.extend(abort);
            }
        }
    }

    /// Ready and the end of a seek: every slot has the segment under the playhead appended.
    fn update_status(&mut self) {
        if self.state != PlayerState::Running {
            return;
        }
        let all = (0..self.slots.len()).all(|si| {
            let w = self.window(si);
            self.slots[si].appended.contains_key(&w.first)
        });
        if let Some(target) = self.seek_target
            && let Some(si) = self.slot_index(Slot::Video)
        {
            let segs = self.segments(si);
            let next = segment_index(segs, target) + 1;
            if segs
                .get(next)
                .is_none_or(|s| self.playhead + TIME_EPS >= s.start)
            {
                self.seek_target = None;
            }
        }
        if all {
            self.seeking = false;
            self.seek_overdue = false;
            if !self.ready {
                self.ready = true;
                self.events.push_back(Event::Ready);
            }
        }
        self.update_showing();
    }

    /// Says when the video segment under the playhead, appended, is of another rendition than
    /// the one before ([`Event::Showing`]).
    fn update_showing(&mut self) {
        let Some(si) = self.slot_index(Slot::Video) else {
            return;
        };
        let first = segment_index(self.segments(si), self.playhead);
        let Some(&track) = self.slots[si].appended.get(&first) else {
            return;
        };
        if self.showing != Some(track) {
            self.showing = Some(track);
            self.events.push_back(Event::Showing {
                track_id: self.manifest.tracks[track].id.clone(),
            });
        }
    }
}

impl SlotState {
    fn new(slot: Slot, reference: usize) -> Self {
        Self {
            slot,
            reference,
            appended: BTreeMap::new(),
            current_init: None,
            appending: None,
            buffered: None,
            quota_wait: None,
            leftover: BTreeSet::new(),
        }
    }
}

fn seg_end(s: &Segment) -> f64 {
    s.start + s.duration
}

/// The segment holding time `t` (the last one past the end), as [`Track::segment_at`] but by
/// binary search.
fn segment_index(segs: &[Segment], t: f64) -> usize {
    segs.partition_point(|s| seg_end(s) <= t)
        .min(segs.len().saturating_sub(1))
}

/// Whether buffered `ranges` have data under `t` (a track ending at `end`).
fn has_data_at(ranges: &[(f64, f64)], t: f64, end: f64) -> bool {
    let need = (t + PLAYHEAD_TOL).min(end - PLAYHEAD_TOL);
    ranges
        .iter()
        .any(|&(a, b)| a <= t + PLAYHEAD_TOL && b > need)
}

fn index_u32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{MediaFile, ObjectNonce, PackageKind, TrackKind};

    fn manifest(durations: &[f64]) -> Manifest {
        let track = |id: &str, kind, bw| {
            let mut start = 0.0;
            let segments = durations
                .iter()
                .enumerate()
                .map(|(i, &d)| {
                    let s = Segment {
                        start,
                        duration: d,
                        path: format!("{id}/{i}.cnls"),
                        size: (bw as f64 * d / 8.0) as u64,
                        nonce: ObjectNonce([i as u8; 12]),
                    };
                    start += d;
                    s
                })
                .collect();
            Track {
                id: id.into(),
                kind,
                mime: "video/mp4".into(),
                codecs: "avc1".into(),
                bandwidth: bw,
                width: Some(640),
                height: Some(360),
                init: MediaFile {
                    path: format!("{id}/init.cnls"),
                    size: 900,
                    nonce: ObjectNonce([0xee; 12]),
                },
                segments,
            }
        };
        Manifest {
            version: crate::media::MANIFEST_VERSION,
            asset_id: "a".into(),
            package_id: "p".into(),
            kind: PackageKind::Full,
            duration: durations.iter().sum(),
            poster: None,
            tracks: vec![
                track("v1", TrackKind::Video, 500_000),
                track("v2", TrackKind::Video, 2_000_000),
            ],
        }
    }

    #[test]
    fn segment_index_matches_the_manifest_lookup() {
        let m = manifest(&[4.0, 4.0, 3.0, 2.5]);
        let t = &m.tracks[0];
        for x in [
            0.0, 1.0, 3.999, 4.0, 7.9, 8.0, 10.9, 11.0, 13.4, 13.5, 99.0, -1.0,
        ] {
            assert_eq!(segment_index(&t.segments, x), t.segment_at(x), "{x}");
        }
    }

    #[test]
    fn window_respects_goal_and_bounds() {
        let m = manifest(&[4.0; 20]);
        let config = PlaybackConfig {
            forward_goal_s: 10.0,
            max_forward_s: 14.0,
            back_buffer_s: 6.0,
            ..PlaybackConfig::default()
        };
        let mut p = Player::new(m, config).unwrap();
        p.playhead = 21.0;
        let w = p.window(0);
        assert_eq!(w.first, 5);
        // Starts before 31: 24, 28 → segments 6 and 7.
        assert_eq!(w.fetch_end, 8);
        // Ends by 35: 28..32 is segment 7, 32..36 is not.
        assert_eq!(w.keep_end, 7);
        // 15 is in segment 3.
        assert_eq!(w.keep_start, 3);
    }

    #[test]
    fn misaligned_renditions_are_refused() {
        let mut m = manifest(&[4.0, 4.0]);
        m.tracks[1].segments[1].start = 3.0;
        m.tracks[1].segments[0].duration = 3.0;
        let err = Player::new(m, PlaybackConfig::default()).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadManifest);
    }

    #[test]
    fn buffered_data_under_the_playhead() {
        assert!(has_data_at(&[(0.0, 8.0)], 3.0, 20.0));
        assert!(has_data_at(&[(0.04, 8.0)], 0.0, 20.0));
        assert!(!has_data_at(&[(0.0, 3.05)], 3.0, 20.0));
        assert!(!has_data_at(&[(4.0, 8.0)], 3.0, 20.0));
        // At the end of the track, data to the end is enough.
        assert!(has_data_at(&[(10.0, 20.0)], 19.95, 20.0));
    }
}
