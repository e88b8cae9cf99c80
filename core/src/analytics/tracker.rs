//! [`ViewTracker`]: the player's side of analytics, sans-IO like the engines. The driver reports
//! what the media element and the playback engine did; the tracker keeps the view's running
//! totals, turns the reports into [`BeaconEvent`]s (deriving rebuffers from the engine's stalls,
//! never from seeks), adds a heartbeat every ten seconds without another event while not paused,
//! and decides when a batch goes out: about every five seconds, at once (with `keepalive`) when
//! the page is hidden or left, one at a time, retried with back-off, from a bounded queue.
//! Failing beacons never touch playback: the tracker only ever asks to send.

use std::collections::VecDeque;

use super::beacon::{BeaconEvent, EventKind, MAX_BATCH_EVENTS, Totals};
use crate::backoff::Backoff;
use crate::store::retryable_status;

/// How the tracker batches and retries.
#[derive(Debug, Clone)]
pub struct TrackerConfig {
    /// A heartbeat after this long without another event while not paused.
    pub heartbeat_ms: u64,
    /// A batch goes this long after its first event was queued (sooner when the page hides).
    pub batch_ms: u64,
    /// Events kept while beacons fail; past it the oldest heartbeats go first (the totals they
    /// carry are in every later one).
    pub max_queue: usize,
    pub base_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// Seeds the retry jitter.
    pub retry_seed: u64,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            heartbeat_ms: 10_000,
            batch_ms: 5_000,
            max_queue: 500,
            base_backoff_ms: 2_000,
            max_backoff_ms: 60_000,
            retry_seed: 0,
        }
    }
}

/// A batch to POST to `/v1/beacons`.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Names the batch in [`ViewTracker::handle_sent`] and [`ViewTracker::handle_send_failed`].
    pub id: u64,
    pub events: Vec<BeaconEvent>,
    /// The page is being hidden or left: send with `fetch(…, {keepalive: true})`.
    pub keepalive: bool,
}

/// Why a batch was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFailure {
    /// No answer.
    Network,
    /// An HTTP status other than 2xx.
    Status(u16),
}

/// The video rendition playing.
#[derive(Debug, Clone)]
struct Rendition {
    id: String,
    bitrate: u64,
    width: u32,
    height: u32,
}

/// One view's analytics (see the module docs).
#[derive(Debug)]
pub struct ViewTracker {
    config: TrackerConfig,
    started_at: u64,
    /// Time accounted up to.
    last: u64,
    seq: u32,
    /// A `play` was seen, and when the first one was (startup time runs from it).
    play_at: Option<u64>,
    /// The playhead when play was asked for: the first frame shows when it moves past it.
    play_from_ms: u64,
    first_frame: bool,
    paused: bool,
    seeking: Option<u64>,
    rebuffering: Option<u64>,
    ended: bool,
    /// `viewend` is queued: nothing more is recorded.
    over: bool,
    playhead_ms: u64,
    rendition: Option<Rendition>,
    player: (u32, u32),
    totals: Totals,
    /// Fractions kept exactly; the totals hold them rounded.
    bits: f64,
    upscale: f64,
    downscale: f64,
    queue: VecDeque<BeaconEvent>,
    queued_since: Option<u64>,
    in_flight: Option<(u64, Vec<BeaconEvent>)>,
    next_batch: u64,
    retry_at: Option<u64>,
    failures: u32,
    backoff: Backoff,
    urgent: bool,
    last_event_at: u64,
    dropped: u64,
    /// The server refused the credential: nothing more is sent.
    refused: bool,
}

impl ViewTracker {
    /// A view of media lasting `duration_ms`, beginning at `now` (its `viewstart` is queued).
    pub fn new(config: TrackerConfig, now: u64, duration_ms: u64) -> Self {
        let backoff = Backoff::new(
            config.base_backoff_ms,
            config.max_backoff_ms,
            config.retry_seed,
        );
        let mut t = Self {
            config,
            started_at: now,
            last: now,
            seq: 0,
            play_at: None,
            play_from_ms: 0,
            first_frame: false,
            paused: true,
            seeking: None,
            rebuffering: None,
            ended: false,
            over: false,
            playhead_ms: 0,
            rendition: None,
            player: (0, 0),
            totals: Totals::default(),
            bits: 0.0,
            upscale: 0.0,
            downscale: 0.0,
            queue: VecDeque::new(),
            queued_since: None,
            in_flight: None,
            next_batch: 1,
            retry_at: None,
            failures: 0,
            backoff,
            urgent: false,
            last_event_at: now,
            dropped: 0,
            refused: false,
        };
        t.push(now, EventKind::Viewstart { duration_ms }, false);
        t
    }

    // ---- inputs ----

    /// The element fired `play` (the viewer, or autoplay, asked to play).
    pub fn handle_play(&mut self, now: u64) {
        if self.over {
            return;
        }
        self.advance(now);
        if self.play_at.is_none() {
            self.play_at = Some(now);
            self.play_from_ms = self.playhead_ms;
        }
        // Playing again from the end is the same view.
        self.ended = false;
        self.paused = false;
        self.push(now, EventKind::Play {}, false);
    }

    /// The element's playhead (ms), as often as the driver likes. The first time it moves after
    /// a `play`, the first frame has shown: `playing`, with the startup time.
    pub fn handle_playhead(&mut self, now: u64, playhead_ms: u64) {
        if self.over {
            return;
        }
        self.advance(now);
        self.playhead_ms = playhead_ms;
        self.totals.max_playhead_ms = self.totals.max_playhead_ms.max(playhead_ms);
        if let Some(play_at) = self.play_at
            && !self.first_frame
            && !self.paused
            && playhead_ms > self.play_from_ms
        {
            self.first_frame = true;
            let startup_ms = now.saturating_sub(play_at);
            self.push(now, EventKind::Playing { startup_ms }, false);
        }
    }

    /// The element paused.
    pub fn handle_pause(&mut self, now: u64) {
        if self.over || self.paused {
            return;
        }
        self.advance(now);
        self.end_rebuffer(now);
        self.paused = true;
        self.push(now, EventKind::Pause {}, true);
    }

    /// The element started seeking. A stall under way ends here: what follows is seeking.
    pub fn handle_seeking(&mut self, now: u64) {
        if self.over {
            return;
        }
        self.advance(now);
        self.end_rebuffer(now);
        if self.seeking.is_none() {
            self.seeking = Some(now);
            self.push(now, EventKind::Seeking {}, false);
        }
    }

    /// The seek landed.
    pub fn handle_seeked(&mut self, now: u64) {
        if self.over {
            return;
        }
        self.advance(now);
        if let Some(since) = self.seeking.take() {
            let seek_ms = now.saturating_sub(since);
            self.totals.seek_count += 1;
            self.totals.seek_ms += seek_ms;
            self.push(now, EventKind::Seeked { seek_ms }, false);
        }
    }

    /// The engine reported a stall: a rebuffer, unless playback has not started, is paused or
    /// is seeking.
    pub fn handle_stall(&mut self, now: u64) {
        if self.over {
            return;
        }
        self.advance(now);
        if self.first_frame && !self.paused && self.seeking.is_none() && self.rebuffering.is_none()
        {
            self.rebuffering = Some(now);
            self.totals.rebuffer_count += 1;
            self.push(now, EventKind::Rebufferstart {}, false);
        }
    }

    /// The engine reported the stall over.
    pub fn handle_stall_end(&mut self, now: u64) {
        if self.over {
            return;
        }
        self.advance(now);
        self.end_rebuffer(now);
    }

    /// The video rendition on screen changed (bits per second as the manifest lists it).
    pub fn handle_rendition(&mut self, now: u64, id: &str, bitrate: u64, width: u32, height: u32) {
        if self.over {
            return;
        }
        self.advance(now);
        self.rendition = Some(Rendition {
            id: id.to_owned(),
            bitrate,
            width,
            height,
        });
        self.push(
            now,
            EventKind::Renditionchange {
                rendition: id.to_owned(),
                bitrate,
                width,
                height,
            },
            false,
        );
    }

    /// The player's size in CSS pixels (for upscaling).
    pub fn handle_player_size(&mut self, now: u64, width: u32, height: u32) {
        self.advance(now);
        self.player = (width, height);
        self.totals.player_width = width;
        self.totals.player_height = height;
    }

    /// An error by code; a fatal one ends the view.
    pub fn handle_error(&mut self, now: u64, code: &str, fatal: bool) {
        if self.over {
            return;
        }
        self.advance(now);
        self.push(
            now,
            EventKind::Error {
                code: code.to_owned(),
                fatal,
            },
            true,
        );
        if fatal {
            self.handle_end(now);
        }
    }

    /// Playback reached the end.
    pub fn handle_ended(&mut self, now: u64) {
        if self.over || self.ended {
            return;
        }
        self.advance(now);
        self.end_rebuffer(now);
        self.ended = true;
        self.push(now, EventKind::Ended {}, true);
    }

    /// The page is being hidden: send what is queued now, with `keepalive`.
    pub fn handle_hidden(&mut self, now: u64) {
        self.advance(now);
        self.urgent = !self.queue.is_empty();
    }

    /// The view is over (the player destroyed, the page left): `viewend`, sent at once.
    pub fn handle_end(&mut self, now: u64) {
        if self.over {
            return;
        }
        self.advance(now);
        self.end_rebuffer(now);
        self.push(now, EventKind::Viewend {}, true);
        self.over = true;
        self.urgent = true;
    }

    /// Time passed: a heartbeat or a batch may be due.
    pub fn handle_timeout(&mut self, now: u64) {
        self.advance(now);
        if self.heartbeat_at().is_some_and(|t| t <= now) {
            self.push(now, EventKind::Heartbeat {}, true);
        }
    }

    /// Batch `id` was taken (2xx).
    pub fn handle_sent(&mut self, _now: u64, id: u64) {
        if self.in_flight.as_ref().is_some_and(|(i, _)| *i == id) {
            self.in_flight = None;
            self.failures = 0;
            self.retry_at = None;
            if self.queue.is_empty() {
                self.urgent = false;
            }
        }
    }

    /// Batch `id` failed. Network errors, 5xx, 429 and 408 are retried after a back-off (the
    /// events go back to the front of the queue); a refused credential (401, 403) stops the
    /// beacons; any other status drops the batch.
    pub fn handle_send_failed(&mut self, now: u64, id: u64, failure: SendFailure) {
        let Some((_, events)) = self.in_flight.take_if(|(i, _)| *i == id) else {
            return;
        };
        let retryable = match failure {
            SendFailure::Network => true,
            SendFailure::Status(s) => retryable_status(s),
        };
        if retryable {
            for e in events.into_iter().rev() {
                self.queue.push_front(e);
            }
            self.bound_queue();
            self.failures += 1;
            let delay = self.backoff.delay(self.failures).max(1);
            self.retry_at = Some(now.saturating_add(delay));
            self.queued_since.get_or_insert(now);
        } else if matches!(failure, SendFailure::Status(401 | 403)) {
            self.refused = true;
            self.dropped += (events.len() + self.queue.len()) as u64;
            self.queue.clear();
            self.queued_since = None;
        } else {
            self.dropped += events.len() as u64;
        }
    }

    // ---- outputs ----

    /// The next batch to send, if one is due.
    pub fn poll_send(&mut self, now: u64) -> Option<Batch> {
        if self.refused || self.in_flight.is_some() || self.queue.is_empty() {
            return None;
        }
        if self.retry_at.is_some_and(|t| now < t) {
            return None;
        }
        let due = self
            .queued_since
            .is_some_and(|t| now >= t + self.config.batch_ms);
        if !self.urgent && !due {
            return None;
        }
        self.retry_at = None;
        let n = self.queue.len().min(MAX_BATCH_EVENTS);
        let events: Vec<BeaconEvent> = self.queue.drain(..n).collect();
        self.queued_since = (!self.queue.is_empty()).then_some(now);
        let id = self.next_batch;
        self.next_batch += 1;
        self.in_flight = Some((id, events.clone()));
        Some(Batch {
            id,
            events,
            keepalive: self.urgent,
        })
    }

    /// When [`ViewTracker::handle_timeout`] has something to do: a heartbeat, a batch, a retry.
    pub fn poll_timeout(&self) -> Option<u64> {
        let batch = if self.refused || self.in_flight.is_some() || self.queue.is_empty() {
            None
        } else {
            let at = self.queued_since.map(|t| t + self.config.batch_ms);
            match (self.urgent, self.retry_at) {
                (_, Some(r)) => Some(r),
                (true, None) => Some(self.last),
                (false, None) => at,
            }
        };
        [self.heartbeat_at(), batch].into_iter().flatten().min()
    }

    /// The view's totals so far.
    pub fn totals(&self) -> &Totals {
        &self.totals
    }

    /// Events given up (refused, or pushed out of a full queue).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// `viewend` is queued and everything has been sent (or given up).
    pub fn is_done(&self) -> bool {
        self.over && (self.refused || (self.queue.is_empty() && self.in_flight.is_none()))
    }

    // ---- internals ----

    fn heartbeat_at(&self) -> Option<u64> {
        let watching = self.play_at.is_some() && !self.paused && !self.ended && !self.over;
        watching.then(|| self.last_event_at + self.config.heartbeat_ms)
    }

    fn end_rebuffer(&mut self, now: u64) {
        if let Some(since) = self.rebuffering.take() {
            let rebuffer_ms = now.saturating_sub(since);
            self.push(now, EventKind::Rebufferend { rebuffer_ms }, false);
        }
    }

    /// Adds the time since the last report to the totals, by the state it was spent in.
    fn advance(&mut self, now: u64) {
        let dt = now.saturating_sub(self.last);
        self.last = self.last.max(now);
        if dt == 0 {
            return;
        }
        let watching = self.play_at.is_some() && !self.paused && !self.ended && !self.over;
        if !watching {
            return;
        }
        self.totals.watch_ms += dt;
        if self.rebuffering.is_some() {
            self.totals.rebuffer_ms += dt;
        }
        let playing = self.first_frame && self.seeking.is_none() && self.rebuffering.is_none();
        if !playing {
            return;
        }
        self.totals.playing_ms += dt;
        if let Some(r) = &self.rendition {
            *self.totals.renditions.entry(r.id.clone()).or_insert(0) += dt;
            self.bits += r.bitrate as f64 * dt as f64 / 1000.0;
            let (pw, ph) = self.player;
            if r.width > 0 && r.height > 0 && pw > 0 && ph > 0 {
                // Mux's upscale: the stretch in the dimension that fills the player first.
                let scale =
                    (f64::from(pw) / f64::from(r.width)).min(f64::from(ph) / f64::from(r.height));
                // At most 31, as the downscale below: what a beacon may carry.
                self.upscale += (scale - 1.0).clamp(0.0, 31.0) * dt as f64;
                // The reverse: the picture's stretch over the player's, at most 31 (a player
                // of a few pixels says nothing more).
                self.downscale += (1.0 / scale - 1.0).clamp(0.0, 31.0) * dt as f64;
            }
            self.totals.played_bits = self.bits as u64;
            self.totals.upscale_ms = self.upscale as u64;
            self.totals.downscale_ms = self.downscale as u64;
        }
    }

    fn push(&mut self, now: u64, event: EventKind, with_totals: bool) {
        let e = BeaconEvent {
            seq: self.seq,
            at_ms: now.saturating_sub(self.started_at),
            playhead_ms: self.playhead_ms,
            event,
            totals: with_totals.then(|| self.totals.clone()),
        };
        self.seq += 1;
        self.queue.push_back(e);
        self.queued_since.get_or_insert(now);
        self.last_event_at = now;
        self.bound_queue();
    }

    /// Over the bound: the oldest heartbeat goes, else the oldest event but `viewstart`.
    fn bound_queue(&mut self) {
        while self.queue.len() > self.config.max_queue.max(2) {
            let victim = self
                .queue
                .iter()
                .position(|e| e.event == EventKind::Heartbeat {})
                .or_else(|| {
                    self.queue
                        .iter()
                        .position(|e| !matches!(e.event, EventKind::Viewstart { .. }))
                })
                .unwrap_or(0);
            self.queue.remove(victim);
            self.dropped += 1;
        }
    }
}
