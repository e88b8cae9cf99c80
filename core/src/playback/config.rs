//! The knobs of a [`Player`](super::Player), with defaults in the range Shaka Player and hls.js
//! use for video on demand.

/// How a [`Player`](super::Player) buffers, retries and adapts.
///
/// Out-of-range values are clamped when the player is made (a zero becomes one where zero
/// would stop playback, `max_forward_s` is raised to `forward_goal_s`, factors are kept in
/// `(0, 1]`).
#[derive(Debug, Clone, PartialEq)]
pub struct PlaybackConfig {
    /// Seconds of media to have fetched ahead of the playhead: the next segment is fetched
    /// while it starts less than this far ahead.
    pub forward_goal_s: f64,
    /// Hard bound ahead of the playhead: no segment ending further ahead than this is fetched
    /// or kept (the segment under the playhead excepted). Should exceed `forward_goal_s` by a
    /// segment's duration, or the next segment can only be fetched once the playhead nears it.
    pub max_forward_s: f64,
    /// Seconds kept behind the playhead; whole segments older than that are removed.
    pub back_buffer_s: f64,
    /// Most fetches in flight per slot (SourceBuffer).
    pub max_fetches_per_slot: usize,
    /// Bound on sealed bytes in flight, held, or being appended, over all slots. Beyond it go
    /// only, per slot, the segment being appended, the one the next append waits for, and
    /// init segments: so a segment larger than the bound still plays, one at a time. Fetches
    /// past the bound (after a seek) are aborted, furthest ahead first.
    pub max_pending_bytes: u64,
    /// Most failed fetches of one object (network errors, retryable statuses, timeouts) before
    /// the player stops with [`ErrorCode::FetchFailed`](super::ErrorCode::FetchFailed).
    pub max_attempts: u32,
    /// Backoff before the first retry, at most (full jitter).
    pub base_backoff_ms: u64,
    /// Cap on any backoff.
    pub max_backoff_ms: u64,
    /// Seeds the retry jitter. Pass random bits (`crypto.getRandomValues`) so that browsers hit
    /// by the same outage do not retry in lockstep; tests pass a constant.
    pub retry_seed: u64,
    /// A fetch still out after this long, and after four times as long as the bandwidth
    /// estimate says it should take (sharing the link with the fetches already out), is
    /// aborted and retried like a network error; a timeout also halves the fetches allowed at
    /// once per slot until four fetches in a row succeed. A request for URLs out this long
    /// fails the fetches waiting for it the same way. `None`: never.
    pub fetch_timeout_ms: Option<u64>,
    /// A presigned URL this close to its end is renewed rather than used (capped at half its
    /// lifetime: [`crate::presigned`]).
    pub url_refresh_margin_ms: u64,
    /// Refetches of an object that failed authentication before that is fatal
    /// ([`ErrorCode::Tampered`](super::ErrorCode::Tampered)). One by default: a transfer
    /// damaged on the way gets a second chance, a tampered object fails twice.
    pub tamper_refetches: u32,
    /// A playhead that has not moved for this long while playing, with no buffered data under
    /// it, counts as a stall even if the element fired no `waiting`.
    pub stall_threshold_ms: u64,
    /// Adaptive bitrate.
    pub abr: AbrConfig,
}

impl Default for PlaybackConfig {
    fn default() -> Self {
        Self {
            forward_goal_s: 20.0,
            max_forward_s: 30.0,
            back_buffer_s: 10.0,
            max_fetches_per_slot: 2,
            max_pending_bytes: 32 * 1024 * 1024,
            max_attempts: 6,
            base_backoff_ms: 500,
            max_backoff_ms: 8_000,
            retry_seed: 0,
            fetch_timeout_ms: Some(30_000),
            url_refresh_margin_ms: 15_000,
            tamper_refetches: 1,
            stall_threshold_ms: 1_000,
            abr: AbrConfig::default(),
        }
    }
}

/// The bandwidth estimate and the rendition choice.
///
/// The estimate is the lower of two exponentially weighted moving averages of the measured
/// throughput, a fast and a slow one, each sample weighted by its duration (as in Shaka Player
/// and hls.js): it drops quickly and recovers slowly.
#[derive(Debug, Clone, PartialEq)]
pub struct AbrConfig {
    /// Half-life of the fast average, in seconds of transfer.
    pub fast_half_life_s: f64,
    /// Half-life of the slow average, in seconds of transfer.
    pub slow_half_life_s: f64,
    /// Bits per second assumed until `min_total_bytes` have been measured: a guess.
    pub initial_bandwidth_bps: f64,
    /// Bits per second an earlier player measured on the same link (the SDK passes the one the
    /// page handed over, `measuredBandwidth`, else what the page's last player of the same
    /// server measured, kept in memory only: [`AbrConfig::apply`]). Where set, it
    /// replaces the guess and is trusted from the start: the estimate begins at it (weighted
    /// as a second of transfer, so this player's own fetches soon outweigh it where the link
    /// changed), the rendition chosen is the highest within it times `safety_factor`, and
    /// the first two video segments come as after a seek (`seek_budget_s`): the first at the
    /// highest rendition up to that one whose first segment comes within the budget, so the
    /// first frame does not wait for a large segment; its first upswitch waits for
    /// `upswitch_hold_ms`, as it corrects no guess. Ignored where `start_rendition` is set.
    pub measured_bandwidth_bps: Option<f64>,
    /// Start at this video rendition (0 = lowest bandwidth) instead of the one the initial
    /// estimate allows. Clamped to the ladder.
    pub start_rendition: Option<usize>,
    /// Downswitch as soon as the current rendition needs more than `estimate × safety_factor`,
    /// to the highest rendition within it.
    pub safety_factor: f64,
    /// Upswitch only to renditions within `estimate × upswitch_factor` (below
    /// `safety_factor`, so a fresh upswitch is not undone by the next sample).
    pub upswitch_factor: f64,
    /// ... and only once that headroom has held this long. The first bandwidth switch of a
    /// session needs no hold: the start rendition came from a guess, the estimate is a
    /// measurement.
    pub upswitch_hold_ms: u64,
    /// Transfers smaller than this are not measured (latency dominates them).
    pub min_sample_bytes: u64,
    /// The estimate replaces `initial_bandwidth_bps` once this many bytes were measured.
    pub min_total_bytes: u64,
    /// A video segment in flight for longer than this caps the estimate at its size over its
    /// share of the link's time so far (the rate it would have had if it finished now), so a
    /// collapsing link is seen before the slow fetch completes.
    pub slow_fetch_ms: u64,
    /// On a bandwidth upswitch, video buffered at a lower rendition is replaced from the first
    /// segment that starts later than the time to fetch one segment at the new rendition plus
    /// this margin (as hls.js does; as many segments as a slot fetches at once where the
    /// refetches would go out together): what plays until then stays, so the switch never stalls,
    /// and the better picture shows within a segment or two instead of after the forward
    /// buffer has played out. `None`: buffered video is never replaced on an upswitch.
    pub replace_margin_s: Option<f64>,
    /// After a seek to a part not buffered, the video segment under the new playhead is
    /// fetched at the highest rendition, up to the current one, whose segment there the
    /// estimate (times `safety_factor`) brings in within this many seconds, or at the lowest;
    /// the next one, unless paused, at the highest that comes within the media left to play
    /// before it (so that it does not stall), and the segments after those at the current
    /// rendition. So on a link where the current rendition's segment takes seconds, the
    /// picture after a seek comes sooner (the segment itself within about this long, unless
    /// even the lowest takes longer), lower for a segment or two. Not before anything was
    /// measured, and a pinned rendition is always kept. The segment under the target still
    /// out after twice this long, at a rendition above the lowest, is given up and fetched at
    /// the lowest: the link is slower than the estimate said.
    /// `None` (or a value not above zero): both at the current rendition, however long they
    /// take.
    pub seek_budget_s: Option<f64>,
    /// No rendition above what the player shows ([`Player::handle_player_size`](super::Player::handle_player_size)):
    /// the lowest whose picture is at least as wide or as high as the player's box in device
    /// pixels, so it is not upscaled (as hls.js's `capLevelToPlayerSize` and Shaka's
    /// `restrictToElementSize`). Renditions above it would be scaled down on screen: bandwidth
    /// with nothing to show for it. A player that grows (full screen) climbs at once where the
    /// estimate allows. Off by default: an element sized by its video would cap itself at
    /// whatever it shows first.
    pub cap_to_player_size: bool,
}

impl Default for AbrConfig {
    fn default() -> Self {
        Self {
            fast_half_life_s: 2.0,
            slow_half_life_s: 5.0,
            initial_bandwidth_bps: 1_000_000.0,
            measured_bandwidth_bps: None,
            start_rendition: None,
            safety_factor: 0.8,
            upswitch_factor: 0.7,
            upswitch_hold_ms: 3_000,
            min_sample_bytes: 16_000,
            min_total_bytes: 128_000,
            slow_fetch_ms: 1_000,
            replace_margin_s: Some(1.0),
            seek_budget_s: Some(1.0),
            cap_to_player_size: false,
        }
    }
}

/// What a page asked of a player's start, beside `start_rendition` (the npm options
/// `initialBandwidth`, `measuredBandwidth` and `seekBudget`), read by one rule for the player
/// and for the server that predicts its first objects (`PlayRequest`): a value that is not a
/// finite number counts as absent, as JSON carries it (`NaN` and infinities become `null`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StartOptions {
    pub initial_bandwidth_bps: Option<f64>,
    /// An earlier player's measurement the page kept; also absent where not above zero.
    pub measured_bandwidth_bps: Option<f64>,
    /// `0` or less: no seek budget (absent: the default, 1 s).
    pub seek_budget_s: Option<f64>,
}

impl AbrConfig {
    /// Applies a page's start options; `remembered` (what the page's last player of the same
    /// server measured) stands in for a measurement the page did not hand over.
    pub fn apply(&mut self, page: StartOptions, remembered: Option<f64>) {
        let finite = |v: Option<f64>| v.filter(|v| v.is_finite());
        if let Some(bps) = finite(page.initial_bandwidth_bps) {
            self.initial_bandwidth_bps = bps;
        }
        self.measured_bandwidth_bps = finite(page.measured_bandwidth_bps)
            .filter(|b| *b > 0.0)
            .or(remembered);
        if let Some(s) = finite(page.seek_budget_s) {
            // Not above zero turns it off (`sanitized` reads it so).
            self.seek_budget_s = Some(s);
        }
    }
}

impl PlaybackConfig {
    /// The same settings with every value in a range the player can work with.
    pub(crate) fn sanitized(self) -> Self {
        let positive = |v: f64, fallback: f64| {
            if v.is_finite() && v > 0.0 {
                v
            } else {
                fallback
            }
        };
        let factor = |v: f64, fallback: f64| {
            if v.is_finite() && v > 0.0 {
                v.min(1.0)
            } else {
                fallback
            }
        };
        let d = PlaybackConfig::default();
        let forward_goal_s = positive(self.forward_goal_s, d.forward_goal_s);
        let max_forward_s = positive(self.max_forward_s, d.max_forward_s).max(forward_goal_s);
        let back_buffer_s = if self.back_buffer_s.is_finite() {
            self.back_buffer_s.max(0.0)
        } else {
            d.back_buffer_s
        };
        let da = AbrConfig::default();
        let abr = AbrConfig {
            fast_half_life_s: positive(self.abr.fast_half_life_s, da.fast_half_life_s),
            slow_half_life_s: positive(self.abr.slow_half_life_s, da.slow_half_life_s),
            initial_bandwidth_bps: positive(
                self.abr.initial_bandwidth_bps,
                da.initial_bandwidth_bps,
            ),
            // A start the page chose is no seek, and its estimate starts on the guess.
            measured_bandwidth_bps: self
                .abr
                .measured_bandwidth_bps
                .filter(|b| b.is_finite() && *b > 0.0 && self.abr.start_rendition.is_none()),
            safety_factor: factor(self.abr.safety_factor, da.safety_factor),
            upswitch_factor: factor(self.abr.upswitch_factor, da.upswitch_factor),
            seek_budget_s: self.abr.seek_budget_s.filter(|s| s.is_finite() && *s > 0.0),
            ..self.abr
        };
        Self {
            forward_goal_s,
            max_forward_s,
            back_buffer_s,
            max_fetches_per_slot: self.max_fetches_per_slot.max(1),
            max_attempts: self.max_attempts.max(1),
            abr,
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(page: StartOptions, remembered: Option<f64>) -> AbrConfig {
        let mut c = PlaybackConfig::default();
        c.abr.apply(page, remembered);
        c.sanitized().abr
    }

    #[test]
    fn a_page_start_option_that_is_no_finite_number_counts_as_absent_as_json_carries_it() {
        let d = AbrConfig::default();
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let page = StartOptions {
                initial_bandwidth_bps: Some(bad),
                measured_bandwidth_bps: Some(bad),
                seek_budget_s: Some(bad),
            };
            // What the server reads from the same options sent as JSON (`null`).
            assert_eq!(applied(page, None), applied(StartOptions::default(), None));
            let a = applied(page, Some(4e6));
            assert_eq!(a.measured_bandwidth_bps, Some(4e6), "{bad}");
            assert_eq!(a.seek_budget_s, d.seek_budget_s, "{bad}");
            assert_eq!(a.initial_bandwidth_bps, d.initial_bandwidth_bps, "{bad}");
        }
    }

    #[test]
    fn a_measurement_the_page_kept_wins_over_the_remembered_one_unless_it_is_not_above_zero() {
        let kept = |bps| StartOptions {
            measured_bandwidth_bps: Some(bps),
            ..StartOptions::default()
        };
        assert_eq!(
            applied(kept(9e6), Some(4e6)).measured_bandwidth_bps,
            Some(9e6)
        );
        assert_eq!(
            applied(kept(0.0), Some(4e6)).measured_bandwidth_bps,
            Some(4e6)
        );
        assert_eq!(applied(kept(-1.0), None).measured_bandwidth_bps, None);
        // A seek budget of 0 turns it off; a start rendition drops the measurement.
        let off = StartOptions {
            seek_budget_s: Some(0.0),
            ..kept(9e6)
        };
        assert_eq!(applied(off, None).seek_budget_s, None);
        let mut c = PlaybackConfig::default();
        c.abr.start_rendition = Some(0);
        c.abr.apply(kept(9e6), None);
        assert_eq!(c.sanitized().abr.measured_bandwidth_bps, None);
    }
}
