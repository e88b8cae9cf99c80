//! [`Upload`]: the state machine that decides what to seal, sign, send, retry and complete.
//!
//! Bookkeeping is kept proportional to the parts in play, not to the object: `todo` lists the
//! parts still to seal in order (a cursor walks it), and `active` the few parts whose bytes the
//! driver holds. Every poll looks at `active` and a batch's worth of `todo`, so a 10,000-part
//! upload costs no more per step than a 3-part one.

use std::collections::VecDeque;

use super::action::{Action, CompleteFailure, PutFailure, SignedPart};
use super::checksum::PartChecksum;
use super::config::UploadConfig;
use super::event::{Event, Progress, RetryReason, UploadState};
use super::growing::GrowingPlan;
use super::part::{Data, Part, Put, Url};
use super::plan::{PartPlan, PartSpec};
use crate::Error;
use crate::backoff::Backoff;
use crate::presigned::UrlLife;

/// Least time between two progress reports caused by bytes sent (ms).
const SENT_REPORT_MS: u64 = 100;
use crate::store::{retryable_status, throttle_status};

/// Successes in a row after which one more PUT may run at once (additive increase).
const GROWTH_STREAK: u32 = 4;

/// The parts an upload is cut into: known from the start, or growing until the stream ends.
#[derive(Debug)]
enum Plan {
    Fixed(PartPlan),
    Growing {
        plan: GrowingPlan,
        /// Parts known to be complete and not the last.
        ready: u32,
        /// Plaintext bytes reported so far.
        available: u64,
    },
}

impl Plan {
    fn part(&self, number: u32) -> Option<PartSpec> {
        match self {
            Plan::Fixed(p) => p.part(number),
            Plan::Growing { plan, ready, .. } if number <= *ready => plan.part(number),
            Plan::Growing { .. } => None,
        }
    }

    /// Parts known so far.
    fn known_parts(&self) -> u32 {
        match self {
            Plan::Fixed(p) => p.part_count(),
            Plan::Growing { ready, .. } => *ready,
        }
    }

    /// Sealed bytes known so far.
    fn known_sealed_len(&self) -> u64 {
        match self {
            Plan::Fixed(p) => p.sealed_len(),
            Plan::Growing { plan, ready, .. } => plan
                .part(*ready)
                .map_or(0, |last_ready| last_ready.sealed.end),
        }
    }
}

/// One multipart upload of a sealed object, driven by a caller that does the I/O.
#[derive(Debug)]
pub struct Upload {
    plan: Plan,
    config: UploadConfig,
    state: UploadState,
    /// Indexed by part number − 1.
    parts: Vec<Part>,
    /// Parts not done when the upload was created, ascending.
    todo: Vec<u32>,
    /// `todo[cursor..]` have never been sealed this session.
    cursor: usize,
    /// Parts whose bytes the driver holds (stale, sealing or sealed), ascending.
    active: Vec<u32>,
    in_flight: usize,
    /// PUTs a pause or a stall cancelled, for [`Action::CancelPut`].
    cancels: VecDeque<(u32, u32)>,
    /// Seals given up for stalling, for [`Action::CancelSeal`].
    seal_cancels: VecDeque<u32>,
    /// The last cancelled PUTs and their URLs' leases: a store's refusal that still comes for
    /// one teaches as much about URL lifetimes as any other.
    cancelled: VecDeque<(u32, u32, crate::presigned::Lease)>,
    /// When progress was last reported for bytes sent (those reports are spaced out).
    sent_reported_at: Option<u64>,
    /// PUTs allowed at once: halved on throttling, grown back on success.
    limit: usize,
    /// The caps set by [`Upload::set_shares`], if any.
    shares: Option<super::Shares>,
    streak: u32,
    done_count: u32,
    sealed_bytes: u64,
    acked_bytes: u64,
    backoff: Backoff,
    rate: super::rate::Rate,
    url_life: UrlLife,
    /// Parts in the signing request that is out.
    signing: Option<Vec<u32>>,
    sign_failures: u32,
    sign_retry_at: Option<u64>,
    complete_in_flight: bool,
    complete_attempts: u32,
    complete_retry_at: Option<u64>,
    abort_pending: bool,
    events: VecDeque<Event>,
}

impl Upload {
    /// Starts (or resumes) uploading `plan`'s parts. `done` lists parts finished in an earlier
    /// session with their ETags, as kept by the driver; they are never sealed or sent again.
    /// `seed` drives the retry jitter. Fails with [`Error::UnexpectedPart`] if `done` names a
    /// part outside the plan (ETags kept for another plan).
    pub fn new(
        plan: PartPlan,
        config: UploadConfig,
        seed: u64,
        done: impl IntoIterator<Item = (u32, String)>,
    ) -> Result<Self, Error> {
        let count = plan.part_count();
        Self::build(Plan::Fixed(plan), count, config, seed, done)
    }

    /// Starts (or resumes) uploading a stream whose length is not known yet (a recording).
    /// Parts become sendable as [`Upload::handle_available`] reports the stream growing; the
    /// upload completes only after it reports the end. `done` lists parts finished in an
    /// earlier session, as for [`Upload::new`]; the last part is always sent once the end is
    /// known, even if a part of that number was sent before (a stream cut short ends in a part
    /// sent earlier without its last flag).
    pub fn growing(
        plan: GrowingPlan,
        config: UploadConfig,
        seed: u64,
        done: impl IntoIterator<Item = (u32, String)>,
    ) -> Result<Self, Error> {
        let max = plan.max_parts();
        let plan = Plan::Growing {
            plan,
            ready: 0,
            available: 0,
        };
        let mut upload = Self::build(plan, 0, config, seed, [])?;
        for (number, etag) in done {
            if number == 0 || number > max {
                return Err(Error::UnexpectedPart(number));
            }
            upload.ensure_parts(number);
            let part = &mut upload.parts[number as usize - 1];
            part.put = Put::Done { etag };
        }
        Ok(upload)
    }

    fn build(
        plan: Plan,
        part_count: u32,
        config: UploadConfig,
        seed: u64,
        done: impl IntoIterator<Item = (u32, String)>,
    ) -> Result<Self, Error> {
        let config = UploadConfig {
            max_parallel: config.max_parallel.max(1),
            max_sealing: config.max_sealing.max(1),
            max_attempts: config.max_attempts.max(1),
            sign_batch: config.sign_batch.max(1),
            ..config
        };
        let mut parts = vec![Part::new(); part_count as usize];
        let (mut done_count, mut acked_bytes) = (0, 0);
        for (number, etag) in done {
            let spec = plan.part(number).ok_or(Error::UnexpectedPart(number))?;
            let part = &mut parts[number as usize - 1];
            if !part.is_done() {
                done_count += 1;
                acked_bytes += spec.sealed_len();
            }
            part.put = Put::Done { etag };
            part.counted = true;
        }
        let todo = (1..=part_count)
            .filter(|&n| !parts[n as usize - 1].is_done())
            .collect();
        Ok(Self {
            state: UploadState::Running,
            parts,
            todo,
            cursor: 0,
            active: Vec::with_capacity(config.max_parallel + config.seal_ahead),
            in_flight: 0,
            cancels: VecDeque::new(),
            seal_cancels: VecDeque::new(),
            cancelled: VecDeque::new(),
            sent_reported_at: None,
            limit: config.max_parallel,
            shares: None,
            streak: 0,
            done_count,
            sealed_bytes: acked_bytes,
            acked_bytes,
            backoff: Backoff::new(config.base_backoff_ms, config.max_backoff_ms, seed),
            rate: super::rate::Rate::new(config.rate_window_ms),
            url_life: UrlLife::new(config.url_refresh_margin_ms),
            signing: None,
            sign_failures: 0,
            sign_retry_at: None,
            complete_in_flight: false,
            complete_attempts: 0,
            complete_retry_at: None,
            abort_pending: false,
            events: VecDeque::new(),
            plan,
            config,
        })
    }

    /// How the upload paces and retries itself (what the driver bounds its requests by).
    pub fn config(&self) -> &UploadConfig {
        &self.config
    }

    /// The plan being uploaded, once the stream's length is known.
    pub fn plan(&self) -> Option<&PartPlan> {
        match &self.plan {
            Plan::Fixed(p) => Some(p),
            Plan::Growing { .. } => None,
        }
    }

    /// Plaintext bytes per chunk.
    pub fn chunk_size(&self) -> u32 {
        match &self.plan {
            Plan::Fixed(p) => p.chunk_size(),
            Plan::Growing { plan, .. } => plan.chunk_size(),
        }
    }

    /// Where the upload is in its life.
    pub fn state(&self) -> UploadState {
        self.state
    }

    /// PUTs currently allowed at once (between 1 and `max_parallel`).
    pub fn concurrency(&self) -> usize {
        self.limit
    }

    /// PUTs out now.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// What it uses and could use now, of the PUT and sealing slots it shares with the other
    /// uploads of its thread ([`share`](super::share) divides them). PUTs: one per part it
    /// still has to send (held, or not read yet), within its concurrency; nothing while paused
    /// or once every part is sent. It does not count on parts being sealed first, since an
    /// upload without a PUT share seals nothing. Seals: the parts it could start sealing now
    /// within what its PUT share lets it hold, and those sealing.
    pub fn demands(&self) -> super::Demands {
        let running = self.state == UploadState::Running;
        let unread = self.todo.len() - self.cursor;
        let puts = if running {
            (self.active.len() + unread).min(self.limit)
        } else {
            0
        };
        let sealing = self.count_active(|p| p.data == Data::Sealing);
        let stale = self.count_active(|p| p.data == Data::Stale);
        let room = self.held_at_most().saturating_sub(self.active.len());
        let seals = if running {
            (sealing + stale + room.min(unread)).min(self.config.max_sealing)
        } else {
            0
        };
        super::Demands {
            puts: super::Demand {
                in_use: self.in_flight,
                wanted: puts.max(self.in_flight),
            },
            seals: super::Demand {
                in_use: sealing,
                wanted: seals.max(sealing),
            },
        }
    }

    /// What this upload may use from now on, as its share of the PUT and sealing slots of its
    /// thread ([`share`](super::share)); `None`: no cap but its own configuration. Seals already
    /// out are not cut when a share shrinks, nor PUTs, except when the PUT share falls below
    /// the PUTs out ([`share`](super::share) only does that when its thread's neighbours grow):
    /// the next [`Upload::poll_action`]s then cancel those beyond it. The PUT share also bounds
    /// its memory: it holds at most that many parts plus `seal_ahead`, and with no PUT share it
    /// reads and seals nothing new, so a page's waiting uploads hold no parts.
    pub fn set_shares(&mut self, shares: Option<super::Shares>) {
        self.shares = shares;
    }

    /// The shares last set ([`Upload::set_shares`]).
    pub fn shares(&self) -> Option<super::Shares> {
        self.shares
    }

    fn count_active(&self, pred: impl Fn(&Part) -> bool) -> usize {
        self.active
            .iter()
            .filter(|&&n| pred(&self.parts[n as usize - 1]))
            .count()
    }

    /// The most parts it may hold: its concurrency, or its PUT share, plus the seal-ahead.
    fn held_at_most(&self) -> usize {
        match self.shares {
            Some(s) if s.puts == 0 => 0,
            Some(s) => s.puts.min(self.config.max_parallel) + self.config.seal_ahead,
            None => self.config.max_parallel + self.config.seal_ahead,
        }
    }

    /// Parts whose bytes the driver is holding now (never more than `max_parallel +
    /// seal_ahead`).
    pub fn in_memory(&self) -> usize {
        self.active.len()
    }

    /// Parts acknowledged, including those done before a resume.
    pub fn parts_done(&self) -> u32 {
        self.done_count
    }

    /// Checksum and length of part `number` while it is sealed and held: what the server must
    /// sign into the part's URL under [`UploadConfig::checksum_in_signature`].
    pub fn part_checksum(&self, number: u32) -> Option<(PartChecksum, u64)> {
        let part = self
            .parts
            .get(usize::try_from(number).ok()?.checked_sub(1)?)?;
        match part.data {
            Data::Sealed { checksum, len } => Some((checksum, len)),
            _ => None,
        }
    }

    /// A progress snapshot at `now`.
    pub fn progress(&self, now: u64) -> Progress {
        let rate = self.rate.bytes_per_s(now);
        let total_bytes = self.plan.known_sealed_len();
        let remaining = total_bytes.saturating_sub(self.acked_bytes);
        let running = matches!(self.state, UploadState::Running | UploadState::Completing);
        let growing = matches!(self.plan, Plan::Growing { .. });
        let eta_ms = if growing {
            // The total is not known: no estimate.
            None
        } else if remaining == 0 {
            Some(0)
        } else if running && rate > 0.0 {
            Some((remaining as f64 * 1000.0 / rate).ceil() as u64)
        } else {
            None
        };
        let sending: u64 = self
            .active
            .iter()
            .map(|&n| &self.parts[n as usize - 1])
            .filter(|p| matches!(p.put, Put::InFlight { .. }))
            .map(|p| p.sent)
            .sum();
        Progress {
            sealed_bytes: self.sealed_bytes,
            acked_bytes: self.acked_bytes,
            sent_bytes: self.acked_bytes + sending,
            total_bytes,
            rate_bytes_per_s: rate,
            eta_ms,
        }
    }

    // ---- outputs ----

    /// The next thing the driver should do, or `None` until an input or timeout changes
    /// something. Call it until it returns `None` after every input.
    pub fn poll_action(&mut self, now: u64) -> Option<Action> {
        self.tick(now);
        self.yield_puts_over_share(now);
        if let Some((number, attempt)) = self.cancels.pop_front() {
            return Some(Action::CancelPut { number, attempt });
        }
        if let Some(number) = self.seal_cancels.pop_front() {
            return Some(Action::CancelSeal { number });
        }
        match self.state {
            UploadState::Aborted if self.abort_pending => {
                self.abort_pending = false;
                Some(Action::Abort)
            }
            // Every part is stored: complete, even if the user paused while the last PUTs
            // were finishing (a paused upload with nothing left to send would wait forever).
            UploadState::Running | UploadState::Paused
                if matches!(self.plan, Plan::Fixed(_))
                    && self.done_count == self.plan.known_parts() =>
            {
                self.state = UploadState::Completing;
                self.next_complete()
            }
            UploadState::Running => self
                .next_signature_request(now)
                .or_else(|| self.next_put(now))
                .or_else(|| self.next_seal(now)),
            UploadState::Completing => self.next_complete(),
            _ => None,
        }
    }

    /// The earliest time at which [`Upload::handle_timeout`] has something to do: a backoff
    /// ending, a waiting part's URL coming due for renewal, or a PUT's or a seal's stall
    /// timeout.
    pub fn poll_timeout(&self) -> Option<u64> {
        match self.state {
            UploadState::Running => {
                let parts = self.active.iter().map(|&n| &self.parts[n as usize - 1]);
                let url_due = parts
                    .clone()
                    .filter(|p| p.put == Put::Idle)
                    .filter_map(|p| p.url.as_ref().map(|u| self.url_life.usable_until(&u.lease)));
                let stall_due = parts
                    .clone()
                    .flat_map(|p| [self.put_stall_due(p), self.seal_stall_due(p)])
                    .flatten();
                parts
                    .filter_map(|p| p.retry_at)
                    .chain(url_due)
                    .chain(stall_due)
                    .chain(self.sign_retry_at)
                    .min()
            }
            UploadState::Completing => self.complete_retry_at,
            _ => None,
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ---- inputs ----

    /// Time passed: backoffs may have ended, URLs come due and PUTs stalled.
    pub fn handle_timeout(&mut self, now: u64) {
        self.tick(now);
    }

    /// The server signed URLs (in answer to [`Action::RequestSignatures`]).
    pub fn handle_signed(&mut self, now: u64, signed: Vec<SignedPart>) {
        self.tick(now);
        if self.is_over() {
            return;
        }
        let requested = self.signing.take();
        let mut any_usable = false;
        let checksum_in_signature = self.config.checksum_in_signature;
        for s in signed {
            let lease = self.url_life.lease(now, s.lifetime_ms);
            // Borrows `parts` alone: the lease is checked against `url_life` below.
            let index = usize::try_from(s.number)
                .ok()
                .and_then(|n| n.checked_sub(1));
            let Some(part) = index.and_then(|i| self.parts.get_mut(i)) else {
                continue;
            };
            // Under checksum signing, a URL not asked for covers no known checksum.
            if part.is_done() || (checksum_in_signature && part.requested_for.is_none()) {
                continue;
            }
            let signed_for = part.requested_for.filter(|_| checksum_in_signature);
            part.url = Some(Url {
                url: s.url,
                signed_for,
                lease,
            });
            any_usable |= part.url_usable(&self.url_life, now);
        }
        for &n in requested.iter().flatten() {
            let part = &mut self.parts[n as usize - 1];
            part.requested = false;
            part.requested_for = None;
        }
        match requested {
            // A server that answers only with dead URLs (a skewed clock) would otherwise be
            // asked again at once, forever.
            Some(_) if !any_usable => self.sign_failed(now, true),
            Some(_) => self.sign_failures = 0,
            None => {}
        }
    }

    /// The signing request failed; `retryable` for network errors and 5xx.
    pub fn handle_sign_failed(&mut self, now: u64, retryable: bool) {
        self.tick(now);
        if self.is_over() {
            return;
        }
        let Some(requested) = self.signing.take() else {
            return;
        };
        for n in requested {
            let part = &mut self.parts[n as usize - 1];
            part.requested = false;
            part.requested_for = None;
        }
        self.sign_failed(now, retryable);
    }

    /// The driver sealed part `number` into memory (in answer to [`Action::Seal`]), with the
    /// checksum of the algorithm the action named.
    pub fn handle_sealed(
        &mut self,
        now: u64,
        number: u32,
        checksum: PartChecksum,
        sealed_len: u64,
    ) {
        self.tick(now);
        if self.is_over() {
            return;
        }
        let Some(spec) = self.plan.part(number) else {
            return;
        };
        let part = &mut self.parts[number as usize - 1];
        if part.data != Data::Sealing {
            return;
        }
        if sealed_len != spec.sealed_len() {
            // The driver sealed something else than the plan's part: nothing sent can be trusted.
            return self.fail(Error::PartSize {
                part: number,
                expected: spec.sealed_len(),
                found: sealed_len,
            });
        }
        if checksum.algorithm() != self.config.part_checksum {
            // A URL signed for it would be refused by the store, every time.
            return self.fail(Error::Malformed(
                "the part's checksum is not of the upload's algorithm",
            ));
        }
        part.data = Data::Sealed {
            checksum,
            len: sealed_len,
        };
        if !part.counted {
            part.counted = true;
            self.sealed_bytes += sealed_len;
            self.push_progress(now);
        }
    }

    /// A PUT finished (in answer to [`Action::Put`] with this `attempt`). Results of an
    /// attempt that is no longer current, or after the upload ended, are ignored.
    pub fn handle_put_result(
        &mut self,
        now: u64,
        number: u32,
        attempt: u32,
        result: Result<String, PutFailure>,
    ) {
        self.tick(now);
        if !matches!(self.state, UploadState::Running | UploadState::Paused) {
            return;
        }
        let Some(part) = self.part_mut(number) else {
            return;
        };
        let lease = match part.put {
            Put::InFlight {
                attempt: a, lease, ..
            } if a == attempt => lease,
            _ => return self.handle_cancelled_result(now, number, attempt, &result),
        };
        part.put = Put::Idle;
        part.sent = 0;
        self.in_flight -= 1;
        match result {
            Ok(etag) => self.part_done(now, number, etag),
            Err(failure) => {
                if failure == PutFailure::Expired {
                    self.url_life.handle_refused(&lease, now);
                }
                self.put_failed(now, number, failure)
            }
        }
    }

    /// The answer to a PUT a pause cancelled (the abort came too late) counts for nothing,
    /// except a refused URL: its lifetime is learnt, and the part asks for another.
    fn handle_cancelled_result(
        &mut self,
        now: u64,
        number: u32,
        attempt: u32,
        result: &Result<String, PutFailure>,
    ) {
        let Some(i) = self
            .cancelled
            .iter()
            .position(|&(n, a, _)| (n, a) == (number, attempt))
        else {
            return;
        };
        let (_, _, lease) = self.cancelled.remove(i).expect("found");
        if *result == Err(PutFailure::Expired) {
            self.url_life.handle_refused(&lease, now);
            if let Some(part) = self.part_mut(number)
                && part.url.as_ref().is_some_and(|u| u.lease == lease)
            {
                part.url = None;
            }
        }
    }

    /// The driver has sent `sent` bytes of part `number`'s PUT made as `attempt` (upload
    /// progress, so a part's bytes show while they go rather than when the store answers).
    pub fn handle_put_progress(&mut self, now: u64, number: u32, attempt: u32, sent: u64) {
        let Some(part) = self.part_mut(number) else {
            return;
        };
        let Put::InFlight {
            attempt: a,
            ref mut active_at,
            ..
        } = part.put
        else {
            return;
        };
        let len = match part.data {
            Data::Sealed { len, .. } => len,
            _ => 0,
        };
        if a != attempt || sent <= part.sent {
            return;
        }
        *active_at = now;
        part.sent = sent.min(len);
        // A report at most every 100 ms: a browser tells of every few kilobytes.
        if self
            .sent_reported_at
            .is_none_or(|t| now.saturating_sub(t) >= SENT_REPORT_MS)
        {
            self.sent_reported_at = Some(now);
            self.push_progress(now);
        }
    }

    /// The completion request finished (in answer to [`Action::Complete`]).
    pub fn handle_complete_result(&mut self, now: u64, result: Result<(), CompleteFailure>) {
        self.tick(now);
        if self.state != UploadState::Completing || !self.complete_in_flight {
            return;
        }
        self.complete_in_flight = false;
        let failure = match result {
            Ok(()) => {
                self.state = UploadState::Completed;
                self.push_progress(now);
                self.events.push_back(Event::Completed);
                return;
            }
            Err(failure) => failure,
        };
        let (status, reason) = match failure {
            CompleteFailure::Status(404) => return self.fail(Error::NoSuchUpload),
            CompleteFailure::Status(s) if !retryable_status(s) => {
                return self.fail(Error::CompleteFailed { status: Some(s) });
            }
            CompleteFailure::Status(s) => (Some(s), RetryReason::Status(s)),
            CompleteFailure::Network => (None, RetryReason::Network),
            CompleteFailure::Timeout => (None, RetryReason::Timeout),
        };
        if self.complete_attempts >= self.config.max_attempts {
            return self.fail(Error::CompleteFailed { status });
        }
        let delay_ms = self.backoff.delay(self.complete_attempts);
        self.complete_retry_at = Some(now.saturating_add(delay_ms));
        self.events.push_back(Event::Retrying {
            number: None,
            attempt: self.complete_attempts + 1,
            delay_ms,
            reason,
        });
    }

    /// The stream of a [`growing`](Upload::growing) upload now holds `plaintext_len` bytes;
    /// `ended` when it will not grow again. Parts that became complete join the queue; at the
    /// end the last part does too and the upload completes once every part is sent. A length
    /// shorter than one reported before, past the plan's limit, or reported for a fixed plan
    /// fails the upload ([`Error::InvalidPlan`]).
    pub fn handle_available(&mut self, now: u64, plaintext_len: u64, ended: bool) {
        self.tick(now);
        if self.is_over() {
            return;
        }
        let (plan, ready, available) = match &mut self.plan {
            Plan::Growing {
                plan,
                ready,
                available,
            } => (*plan, ready, available),
            Plan::Fixed(_) => {
                return self.fail(Error::InvalidPlan("the upload's length is fixed"));
            }
        };
        if plaintext_len < *available {
            return self.fail(Error::InvalidPlan("a growing stream cannot shrink"));
        }
        if plaintext_len > plan.max_plaintext() {
            return self.fail(Error::TooLong);
        }
        *available = plaintext_len;
        let before = *ready;
        let now_ready = plan.parts_ready(plaintext_len);
        *ready = now_ready;
        for n in before + 1..=now_ready {
            self.enqueue(n);
        }
        if ended {
            let finished = match plan.finish(plaintext_len) {
                Ok(p) => p,
                Err(e) => return self.fail(e),
            };
            let count = finished.part_count();
            // Parts recorded as done past the end belong to no stream.
            if let Some(extra) = (count + 1..=self.parts.len() as u32)
                .find(|&n| self.parts[n as usize - 1].is_done())
            {
                return self.fail(Error::UnexpectedPart(extra));
            }
            self.parts.truncate(count as usize);
            self.ensure_parts(count);
            // The last part only now carries the last flag: whatever was sent under its
            // number before is replaced.
            self.parts[count as usize - 1] = Part::new();
            self.plan = Plan::Fixed(finished);
            for n in now_ready + 1..=count {
                self.enqueue(n);
            }
        }
        self.push_progress(now);
    }

    /// Stops starting new seals, PUTs and signing requests, and cancels the PUTs that are out
    /// ([`Action::CancelPut`]): a pause stops the network at once. Their parts stay sealed and
    /// are sent again after [`Upload::resume`]; a cancelled PUT is not a failed attempt. Seals
    /// and signing requests already out finish, and their results are taken. Only a running
    /// upload pauses.
    pub fn pause(&mut self, now: u64) {
        if self.state != UploadState::Running {
            return;
        }
        self.state = UploadState::Paused;
        for i in 0..self.active.len() {
            self.take_back_put(self.active[i]);
        }
        self.events.push_back(Event::Paused);
        // The cancelled PUTs' bytes no longer count as sent.
        self.push_progress(now);
    }

    /// Picks up where [`Upload::pause`] stopped.
    pub fn resume(&mut self, now: u64) {
        if self.state == UploadState::Paused {
            self.tick(now);
            self.state = UploadState::Running;
            self.events.push_back(Event::Resumed);
        }
    }

    /// Gives up: the next [`Upload::poll_action`] is [`Action::Abort`] (once) and every later
    /// result is ignored. A failed upload can be aborted too, to free the store's space.
    pub fn abort(&mut self) {
        if !matches!(self.state, UploadState::Completed | UploadState::Aborted) {
            self.state = UploadState::Aborted;
            self.abort_pending = true;
            self.events.push_back(Event::Aborted);
        }
    }

    // ---- internals ----

    fn is_over(&self) -> bool {
        matches!(
            self.state,
            UploadState::Completed | UploadState::Failed | UploadState::Aborted
        )
    }

    fn ensure_parts(&mut self, count: u32) {
        if self.parts.len() < count as usize {
            self.parts.resize(count as usize, Part::new());
        }
    }

    /// Part `number` became known: counted if an earlier session sent it, queued otherwise.
    fn enqueue(&mut self, number: u32) {
        self.ensure_parts(number);
        let len = self.plan.part(number).map_or(0, |spec| spec.sealed_len());
        let part = &mut self.parts[number as usize - 1];
        if part.is_done() {
            if !part.counted {
                part.counted = true;
                self.done_count += 1;
                self.acked_bytes += len;
                self.sealed_bytes += len;
            }
        } else {
            // `todo` stays ascending: parts become known in order.
            self.todo.push(number);
        }
    }

    fn part_mut(&mut self, number: u32) -> Option<&mut Part> {
        let i = usize::try_from(number).ok()?.checked_sub(1)?;
        self.parts.get_mut(i)
    }

    /// Ends the timers that are due, so that [`Upload::poll_timeout`] never reports a time
    /// already past and the driver never spins.
    fn tick(&mut self, now: u64) {
        self.rate.observe(now);
        for &n in &self.active {
            let part = &mut self.parts[n as usize - 1];
            if part.retry_at.is_some_and(|t| t <= now) {
                part.retry_at = None;
            }
            if part
                .url
                .as_ref()
                .is_some_and(|u| !self.url_life.usable(&u.lease, now))
            {
                part.url = None;
            }
        }
        if self.sign_retry_at.is_some_and(|t| t <= now) {
            self.sign_retry_at = None;
        }
        if self.complete_retry_at.is_some_and(|t| t <= now) {
            self.complete_retry_at = None;
        }
        self.end_stalled_puts(now);
        self.end_stalled_seals(now);
    }

    /// Gives up the seals that have been out for the seal stall timeout: each part is sealed
    /// again (its memory slot stays counted), until it has stalled as often as a part may be
    /// tried.
    fn end_stalled_seals(&mut self, now: u64) {
        for number in self.stalled(now, Self::seal_stall_due) {
            if self.is_over() {
                return;
            }
            let part = &mut self.parts[number as usize - 1];
            part.data = Data::Stale;
            part.seal_stalls += 1;
            let attempts = part.seal_stalls;
            self.seal_cancels.push_back(number);
            if attempts >= self.config.max_attempts {
                return self.fail(Error::RetriesExhausted {
                    part: number,
                    attempts,
                });
            }
            self.events.push_back(Event::Retrying {
                number: Some(number),
                attempt: attempts + 1,
                delay_ms: 0,
                reason: RetryReason::Timeout,
            });
        }
    }

    /// Aborts the PUTs that sent nothing and had no answer for the stall timeout, and retries
    /// them as network failures.
    fn end_stalled_puts(&mut self, now: u64) {
        for number in self.stalled(now, Self::put_stall_due) {
            if self.is_over() {
                return;
            }
            self.cancel_put(number);
            // A silent connection says the link carries less than is being sent.
            self.limit = (self.limit / 2).max(1);
            self.retry_put(now, number, PutFailure::Network, RetryReason::Timeout);
        }
    }

    /// When the PUT out for `part` counts as stalled, if one is out and stalls are timed.
    fn put_stall_due(&self, part: &Part) -> Option<u64> {
        let stall = self.config.put_stall_ms?;
        match part.put {
            Put::InFlight { active_at, .. } => Some(active_at.saturating_add(stall)),
            _ => None,
        }
    }

    /// When the seal out for `part` counts as stalled, if one is out and stalls are timed.
    fn seal_stall_due(&self, part: &Part) -> Option<u64> {
        let stall = self.config.seal_stall_ms?;
        (part.data == Data::Sealing).then(|| part.sealing_since.saturating_add(stall))
    }

    /// The parts in memory whose `due` time has come, while the upload runs (a paused one
    /// times nothing: its PUTs are cancelled, and a seal that stalled meanwhile is found on
    /// resume).
    fn stalled(&self, now: u64, due: fn(&Self, &Part) -> Option<u64>) -> Vec<u32> {
        if self.state != UploadState::Running {
            return Vec::new();
        }
        self.active
            .iter()
            .copied()
            .filter(|&n| due(self, &self.parts[n as usize - 1]).is_some_and(|t| t <= now))
            .collect()
    }

    /// Takes part `number`'s PUT out of flight and has the driver abort it
    /// ([`Action::CancelPut`]): its attempt and its URL's lease, if one was out. Its bytes no
    /// longer count as sent.
    fn cancel_put(&mut self, number: u32) -> Option<(u32, crate::presigned::Lease)> {
        let part = &mut self.parts[number as usize - 1];
        let Put::InFlight { attempt, lease, .. } = part.put else {
            return None;
        };
        part.put = Put::Idle;
        part.sent = 0;
        self.in_flight -= 1;
        self.cancels.push_back((number, attempt));
        Some((attempt, lease))
    }

    /// Cancels part `number`'s PUT, if one is out, without counting it as a failed attempt (a
    /// pause, or a share taken back): the part stays sealed and goes again later. A late answer
    /// to it counts for nothing.
    fn take_back_put(&mut self, number: u32) {
        if let Some((attempt, lease)) = self.cancel_put(number) {
            self.parts[number as usize - 1].cancelled += 1;
            self.cancelled.push_back((number, attempt, lease));
            let keep = 2 * self.config.max_parallel;
            while self.cancelled.len() > keep {
                self.cancelled.pop_front();
            }
        }
    }

    /// Cancels the PUTs out beyond its PUT share, those that have sent least first, once the
    /// share fell below them: a player came to the page (or another thread began to upload), and
    /// the browser's connections it needs are given back now, not as the PUTs end (seconds each
    /// on a slow uplink). Not failed attempts; their parts go again once the share allows.
    fn yield_puts_over_share(&mut self, now: u64) {
        let Some(share) = self.shares.map(|s| s.puts) else {
            return;
        };
        if self.state != UploadState::Running || self.in_flight <= share {
            return;
        }
        let mut out: Vec<(u64, u32)> = self
            .active
            .iter()
            .filter(|&&n| matches!(self.parts[n as usize - 1].put, Put::InFlight { .. }))
            .map(|&n| (self.parts[n as usize - 1].sent, n))
            .collect();
        out.sort_unstable();
        let over = self.in_flight - share;
        for &(_, n) in out.iter().take(over) {
            self.take_back_put(n);
        }
        self.push_progress(now);
    }

    /// Asks for URLs once a part in memory, or one of the next to be sealed, lacks one; the
    /// batch is filled with the parts after them so most parts cost no round trip of their own.
    fn next_signature_request(&mut self, now: u64) -> Option<Action> {
        if self.signing.is_some() || self.sign_retry_at.is_some() {
            return None;
        }
        let batch = self.config.sign_batch as usize;
        let soon = self.config.max_parallel;
        let checksums = self.config.checksum_in_signature;
        let mut want = Vec::with_capacity(batch);
        let mut urgent = false;
        // Parts ready to go first, then the rest in memory.
        for ready in [true, false] {
            for &n in &self.active {
                let part = &self.parts[n as usize - 1];
                if part.ready_to_put() == ready && part.wants_url(&self.url_life, now, checksums) {
                    want.push(n);
                    urgent = true;
                }
            }
        }
        // Unsealed parts have no checksum to sign yet.
        let upcoming = if checksums {
            &[][..]
        } else {
            &self.todo[self.cursor..]
        };
        for (i, &n) in upcoming.iter().enumerate() {
            if want.len() >= batch {
                break;
            }
            if self.parts[n as usize - 1].wants_url(&self.url_life, now, false) {
                want.push(n);
                urgent |= i < soon;
            }
        }
        if !urgent {
            return None;
        }
        want.truncate(batch);
        for &n in &want {
            let part = &mut self.parts[n as usize - 1];
            part.requested = true;
            part.requested_for = part.sealed_checksum();
        }
        self.signing = Some(want.clone());
        Some(Action::RequestSignatures { parts: want })
    }

    fn next_put(&mut self, now: u64) -> Option<Action> {
        if self.in_flight >= self.limit.min(self.shares.map_or(usize::MAX, |s| s.puts)) {
            return None;
        }
        let number = *self.active.iter().find(|&&n| {
            let part = &self.parts[n as usize - 1];
            part.ready_to_put() && part.url_usable(&self.url_life, now)
        })?;
        let part = &mut self.parts[number as usize - 1];
        let Data::Sealed { checksum, len } = part.data else {
            unreachable!("ready_to_put checks the part is sealed");
        };
        let Url { url, lease, .. } = part.url.clone().expect("url_usable checked");
        part.attempts += 1;
        part.put = Put::InFlight {
            attempt: part.attempts,
            lease,
            active_at: now,
        };
        self.in_flight += 1;
        Some(Action::Put {
            number,
            attempt: part.attempts,
            url,
            checksum,
            len,
        })
    }

    /// Reseals rejected bytes first (their slot is already counted), then the next part if a
    /// memory slot is free: the only place memory use grows, hence the constant-memory bound.
    fn next_seal(&mut self, now: u64) -> Option<Action> {
        let sealing = self.count_active(|p| p.data == Data::Sealing);
        let max_sealing = self
            .config
            .max_sealing
            .min(self.shares.map_or(usize::MAX, |s| s.seals));
        if sealing >= max_sealing {
            return None;
        }
        let stale = self
            .active
            .iter()
            .copied()
            .find(|&n| self.parts[n as usize - 1].data == Data::Stale);
        let number = match stale {
            Some(n) => n,
            None if self.active.len() < self.held_at_most() => {
                let n = *self.todo.get(self.cursor)?;
                self.cursor += 1;
                // `todo` is ascending and feeds `active` in order, so pushing keeps it sorted.
                self.active.push(n);
                n
            }
            None => return None,
        };
        let part = &mut self.parts[number as usize - 1];
        part.data = Data::Sealing;
        part.sealing_since = now;
        let spec = self.plan.part(number).expect("parts come from the plan");
        Some(Action::Seal {
            number,
            spec,
            checksum: self.config.part_checksum,
        })
    }

    fn next_complete(&mut self) -> Option<Action> {
        if self.complete_in_flight || self.complete_retry_at.is_some() {
            return None;
        }
        self.complete_in_flight = true;
        self.complete_attempts += 1;
        let parts = self
            .parts
            .iter()
            .zip(1..)
            .map(|(p, n)| match &p.put {
                Put::Done { etag } => (n, etag.clone()),
                _ => unreachable!("completing only once every part is done"),
            })
            .collect();
        Some(Action::Complete { parts })
    }

    fn part_done(&mut self, now: u64, number: u32, etag: String) {
        let len = self.plan.part(number).expect("in plan").sealed_len();
        let part = &mut self.parts[number as usize - 1];
        part.put = Put::Done { etag: etag.clone() };
        part.data = Data::Absent;
        part.url = None;
        part.retry_at = None;
        self.active.retain(|&n| n != number);
        self.done_count += 1;
        self.acked_bytes += len;
        self.rate.record(now, len);
        self.streak += 1;
        if self.streak >= GROWTH_STREAK && self.limit < self.config.max_parallel {
            self.limit += 1;
            self.streak = 0;
        }
        self.events.push_back(Event::PartDone { number, etag });
        self.push_progress(now);
    }

    fn put_failed(&mut self, now: u64, number: u32, failure: PutFailure) {
        let reason = match failure {
            PutFailure::Network => RetryReason::Network,
            PutFailure::Expired => RetryReason::Expired,
            PutFailure::BadDigest => RetryReason::BadDigest,
            PutFailure::Status(s) if retryable_status(s) => RetryReason::Status(s),
            PutFailure::Status(404) => return self.fail(Error::NoSuchUpload),
            PutFailure::Status(status) => {
                return self.fail(Error::UploadRejected {
                    part: number,
                    status,
                });
            }
        };
        if let PutFailure::Status(s) = failure
            && throttle_status(s)
        {
            // Multiplicative decrease: the store asked for fewer requests.
            self.limit = (self.limit / 2).max(1);
        }
        self.retry_put(now, number, failure, reason);
    }

    /// Part `number`'s PUT failed for `reason`: it is tried again after a backoff (at once
    /// with a new URL if it expired; sealed again if its bytes were refused), or the upload
    /// fails once the part has used up its attempts.
    fn retry_put(&mut self, now: u64, number: u32, failure: PutFailure, reason: RetryReason) {
        self.streak = 0;
        let attempts = self.parts[number as usize - 1].failures();
        if attempts >= self.config.max_attempts {
            return self.fail(Error::RetriesExhausted {
                part: number,
                attempts,
            });
        }
        let delay_ms = match failure {
            // Waiting longer would not help: the new URL is the fix, and signing takes a
            // round trip anyway.
            PutFailure::Expired => 0,
            _ => self.backoff.delay(attempts),
        };
        let part = &mut self.parts[number as usize - 1];
        match failure {
            PutFailure::Expired => part.url = None,
            PutFailure::BadDigest => part.data = Data::Stale,
            _ => {}
        }
        if delay_ms > 0 {
            part.retry_at = Some(now.saturating_add(delay_ms));
        }
        self.events.push_back(Event::Retrying {
            number: Some(number),
            attempt: attempts + 1,
            delay_ms,
            reason,
        });
    }

    fn sign_failed(&mut self, now: u64, retryable: bool) {
        self.sign_failures += 1;
        if !retryable || self.sign_failures >= self.config.max_attempts {
            return self.fail(Error::SigningFailed);
        }
        let delay_ms = self.backoff.delay(self.sign_failures);
        self.sign_retry_at = Some(now.saturating_add(delay_ms));
        self.events.push_back(Event::Retrying {
            number: None,
            attempt: self.sign_failures + 1,
            delay_ms,
            reason: RetryReason::SigningFailed,
        });
    }

    fn fail(&mut self, error: Error) {
        self.state = UploadState::Failed;
        self.events.push_back(Event::Failed(error));
    }

    fn push_progress(&mut self, now: u64) {
        let progress = self.progress(now);
        self.events.push_back(Event::Progress(progress));
    }
}
