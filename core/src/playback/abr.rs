//! Adaptive bitrate: the bandwidth estimate and the choice of video rendition.
//!
//! **Measuring.** Fetches overlap (several per slot, both slots at once), so one fetch's
//! bytes over its own elapsed time would measure its share of the link, not the link. Each
//! completed fetch instead counts its bytes over *its share of the link's time*: every interval
//! it was out, divided by the fetches out then (the engine keeps the count). Where fetches
//! share the link evenly, every sample is then the link's rate, and the shares add up to the
//! time at least one fetch was out; idle time between fetches (a full buffer) is not counted.
//! (Counting each fetch over the busy time it added since the last completion, as before, gave
//! the second of two fetches that ended close together a rate many times the link's: its bytes
//! over the few milliseconds after the first ended. The averages below are not linear in such
//! samples: in the simulator a steady 1.2 Mbit/s link read as 1.43.) Samples feed two
//! exponentially weighted moving averages weighted by duration (fast and slow half-lives,
//! bias-corrected as in Shaka Player); the estimate is the lower of the two.
//!
//! **Choosing.** Downswitch at once when the current rendition needs more than
//! `estimate × safety_factor`; upswitch only to a rendition within `estimate × upswitch_factor`
//! once that headroom has held for `upswitch_hold_ms` (the first bandwidth switch of a
//! session needs no hold: it corrects a start chosen on a guess). No bandwidth switch is made on the
//! initial estimate alone, except a downswitch forced by a slow fetch in flight (a cap the
//! engine passes in: a real measurement).

use super::config::AbrConfig;
use super::start::{fit, start_rung};

/// Samples shorter than this are stretched to it (a fetch over loopback, or from a cache,
/// would otherwise make a near-infinite rate).
const MIN_SAMPLE_MS: u64 = 50;

/// Seconds of transfer an earlier player's measurement counts as in the averages
/// ([`AbrConfig::measured_bandwidth_bps`]): a few seconds of this player's own fetches outweigh
/// it where the link changed since.
const EARLIER_WEIGHT_S: f64 = 1.0;

/// An exponentially weighted moving average of samples weighted by their duration.
#[derive(Debug, Clone)]
struct Ewma {
    alpha: f64,
    estimate: f64,
    total_weight: f64,
}

impl Ewma {
    fn new(half_life_s: f64) -> Self {
        Self {
            alpha: (0.5f64.ln() / half_life_s).exp(),
            estimate: 0.0,
            total_weight: 0.0,
        }
    }

    fn sample(&mut self, weight: f64, value: f64) {
        let a = self.alpha.powf(weight);
        self.estimate = value * (1.0 - a) + a * self.estimate;
        self.total_weight += weight;
    }

    /// Takes out a sample of `weight` given before all the others, as if it had not been.
    fn remove_first(&mut self, weight: f64, value: f64) {
        let later = (self.total_weight - weight).max(0.0);
        self.estimate -= value * (1.0 - self.alpha.powf(weight)) * self.alpha.powf(later);
        self.total_weight = later;
    }

    /// The average, corrected for starting from zero.
    fn get(&self) -> f64 {
        let zero_factor = 1.0 - self.alpha.powf(self.total_weight);
        if zero_factor > 0.0 {
            self.estimate / zero_factor
        } else {
            0.0
        }
    }
}

/// The estimate and the current video rendition (an index into the ladder, lowest first).
#[derive(Debug, Clone)]
pub(crate) struct Abr {
    config: AbrConfig,
    /// Bits per second of each video rendition, lowest first.
    ladder: Vec<u64>,
    current: usize,
    fast: Ewma,
    slow: Ewma,
    measured_bytes: u64,
    /// An earlier player's measurement ([`AbrConfig::measured_bandwidth_bps`]): the estimate
    /// until this player measures anything, and trusted.
    earlier: Option<f64>,
    /// Since when an upswitch has been possible.
    headroom_since: Option<u64>,
    /// The page chose `current`: neither the estimate nor a stall moves it.
    pinned: bool,
    /// A bandwidth switch was made: later upswitches wait for the hold.
    adapted: bool,
    /// The highest rung the player's size calls for ([`AbrConfig::cap_to_player_size`]); the
    /// ladder's top when not capped.
    top: usize,
}

impl Abr {
    pub(crate) fn new(config: &AbrConfig, ladder: Vec<u64>) -> Self {
        let mut abr = Self {
            config: config.clone(),
            current: 0,
            fast: Ewma::new(config.fast_half_life_s),
            slow: Ewma::new(config.slow_half_life_s),
            measured_bytes: 0,
            earlier: config.measured_bandwidth_bps,
            headroom_since: None,
            pinned: false,
            // A start on a measurement is no guess to correct: its upswitches wait for the
            // hold as any later one does.
            adapted: config.measured_bandwidth_bps.is_some(),
            top: ladder.len().saturating_sub(1),
            ladder,
        };
        if let Some(bps) = abr.earlier {
            abr.fast.sample(EARLIER_WEIGHT_S, bps);
            abr.slow.sample(EARLIER_WEIGHT_S, bps);
        }
        abr.current = start_rung(config, &abr.ladder);
        abr
    }

    pub(crate) fn current(&self) -> usize {
        self.current
    }

    /// The pinned rendition, if the page chose one.
    pub(crate) fn pinned(&self) -> Option<usize> {
        self.pinned.then_some(self.current)
    }

    /// Pins rendition `to` (clamped to the ladder), or with `None` lets the estimate choose
    /// again from the current one. Measuring goes on while pinned, so an unpinned player
    /// starts from a fresh estimate.
    pub(crate) fn pin(&mut self, to: Option<usize>) {
        self.headroom_since = None;
        self.pinned = to.is_some();
        match to {
            Some(i) => self.current = i.min(self.ladder.len() - 1),
            // Unpinned above the player's size: down to it at once, measured or not.
            None => self.current = self.current.min(self.top),
        }
    }

    /// Caps the rendition at rung `top` (the player's size calls for no more). Returns the new
    /// rendition if the current one was above it: it comes down at once, unless pinned. A
    /// higher cap lets the estimate climb at its next decision.
    pub(crate) fn set_top(&mut self, top: usize) -> Option<usize> {
        self.top = top.min(self.ladder.len().saturating_sub(1));
        if self.pinned || self.current <= self.top {
            return None;
        }
        self.current = self.top;
        Some(self.top)
    }

    /// A fetch of `bytes` completed, having had `share_ms` of the link's time.
    pub(crate) fn sample(&mut self, bytes: u64, share_ms: f64) {
        if bytes < self.config.min_sample_bytes {
            // Latency dominates it: a small underestimate of the rest, on the safe side.
            return;
        }
        let ms = share_ms.max(MIN_SAMPLE_MS as f64);
        let bps = bytes as f64 * 8000.0 / ms;
        self.fast.sample(ms / 1000.0, bps);
        self.slow.sample(ms / 1000.0, bps);
        self.measured_bytes = self.measured_bytes.saturating_add(bytes);
    }

    /// Whether this player measured enough to trust its own averages.
    fn measured_enough(&self) -> bool {
        self.measured_bytes >= self.config.min_total_bytes
    }

    /// Whether the estimate is a measurement, this player's or an earlier one's, rather than
    /// the initial guess.
    pub(crate) fn trusted(&self) -> bool {
        self.earlier.is_some() || self.measured_enough()
    }

    /// Bits per second.
    pub(crate) fn estimate(&self) -> f64 {
        match self.earlier {
            // Exactly what the start was chosen by ([`super::start_tracks`]), until a sample.
            Some(bps) if self.measured_bytes == 0 => bps,
            Some(_) => self.fast.get().min(self.slow.get()),
            None if self.measured_enough() => self.fast.get().min(self.slow.get()),
            None => self.config.initial_bandwidth_bps,
        }
    }

    /// A fetch chosen on the earlier player's measurement came far slower than it said: the
    /// measurement is dropped, as if it had never been given. The estimate is this player's
    /// own from then on, or the initial guess until it has measured enough, and the rendition
    /// comes down to what that allows. Returns the new rendition if it changed.
    pub(crate) fn earlier_refuted(&mut self) -> Option<usize> {
        (self.fast, self.slow) = self.own_averages();
        self.earlier.take()?;
        if self.pinned {
            return None;
        }
        let to = self
            .current
            .min(self.fit(self.estimate() * self.config.safety_factor));
        (to < self.current).then(|| {
            self.current = to;
            self.adapted = true;
            self.headroom_since = None;
            to
        })
    }

    /// This player's own estimate (without an earlier player's measurement), once it has
    /// measured enough for it to be worth keeping.
    pub(crate) fn measured(&self) -> Option<f64> {
        if !self.measured_enough() {
            return None;
        }
        let (fast, slow) = self.own_averages();
        Some(fast.get().min(slow.get()))
    }

    /// The two averages without an earlier player's measurement in them.
    fn own_averages(&self) -> (Ewma, Ewma) {
        let (mut fast, mut slow) = (self.fast.clone(), self.slow.clone());
        if let Some(bps) = self.earlier {
            fast.remove_first(EARLIER_WEIGHT_S, bps);
            slow.remove_first(EARLIER_WEIGHT_S, bps);
        }
        (fast, slow)
    }

    /// The highest rendition within `bps`, or the lowest.
    fn fit(&self, bps: f64) -> usize {
        fit(&self.ladder, bps)
    }

    /// When a pending upswitch comes due, for the driver's timer.
    /// How long headroom must hold before an upswitch.
    fn hold_ms(&self) -> u64 {
        if self.adapted {
            self.config.upswitch_hold_ms
        } else {
            0
        }
    }

    pub(crate) fn next_decision_at(&self) -> Option<u64> {
        if self.current >= self.top {
            // Capped: the headroom is kept, but no upswitch can come due until the cap lifts.
            return None;
        }
        self.headroom_since
            .map(|t| t.saturating_add(self.hold_ms()))
    }

    /// Re-evaluates the rendition at `now`; `cap` bounds the estimate from fetches still out.
    /// Returns the new rendition if it changed.
    pub(crate) fn decide(&mut self, now: u64, cap: Option<f64>, allow_up: bool) -> Option<usize> {
        if self.pinned {
            return None;
        }
        let measured = self.trusted().then(|| self.estimate());
        let est = match (measured, cap) {
            (Some(m), Some(c)) => m.min(c),
            (Some(m), None) => m,
            (None, Some(c)) => c,
            (None, None) => {
                self.headroom_since = None;
                return None;
            }
        };
        let cur = self.current;
        if self.ladder[cur] as f64 > est * self.config.safety_factor {
            self.headroom_since = None;
            let to = self.fit(est * self.config.safety_factor);
            return (to < cur).then(|| {
                self.current = to;
                self.adapted = true;
                to
            });
        }
        let up = self.fit(est * self.config.upswitch_factor);
        if !allow_up || measured.is_none() || up <= cur {
            self.headroom_since = None;
            return None;
        }
        // The headroom is the estimate's, cap or not: a player that grows (full screen) after
        // it held climbs at once.
        let since = *self.headroom_since.get_or_insert(now);
        let up = up.min(self.top);
        if up <= cur || now.saturating_sub(since) < self.hold_ms() {
            return None;
        }
        self.headroom_since = None;
        self.current = up;
        self.adapted = true;
        Some(up)
    }

    /// Playback stalled: one rendition down at least, further if the estimate says so.
    pub(crate) fn stalled(&mut self, cap: Option<f64>) -> Option<usize> {
        self.headroom_since = None;
        if self.current == 0 || self.pinned {
            return None;
        }
        let mut to = self.current - 1;
        let est = match (self.trusted().then(|| self.estimate()), cap) {
            (Some(m), Some(c)) => Some(m.min(c)),
            (m, c) => m.or(c),
        };
        if let Some(est) = est {
            to = to.min(self.fit(est * self.config.safety_factor));
        }
        self.current = to;
        Some(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn abr(initial: f64) -> Abr {
        let config = AbrConfig {
            initial_bandwidth_bps: initial,
            ..AbrConfig::default()
        };
        Abr::new(&config, vec![400_000, 1_000_000, 2_500_000, 5_000_000])
    }

    #[test]
    fn starts_from_the_initial_estimate_or_the_configured_rendition() {
        assert_eq!(abr(100_000.0).current(), 0);
        assert_eq!(abr(1_500_000.0).current(), 1);
        assert_eq!(abr(100_000_000.0).current(), 3);
        let config = AbrConfig {
            start_rendition: Some(9),
            ..AbrConfig::default()
        };
        assert_eq!(Abr::new(&config, vec![1, 2, 3]).current(), 2);
    }

    #[test]
    fn estimate_tracks_a_steady_link_and_counts_overlap_once() {
        let mut a = abr(1_000_000.0);
        // 8 Mbit/s link = 1000 bytes per ms. Two fetches of 200 kB each sharing it, both
        // out for 400 ms: each had half of it. Idle time between is not counted.
        for _ in 0..20 {
            a.sample(200_000, 200.0);
            a.sample(200_000, 200.0);
        }
        let est = a.estimate();
        assert!((est - 8_000_000.0).abs() < 8_000_000.0 * 0.2, "{est}");
    }

    #[test]
    fn corrects_the_start_at_once_drops_fast_and_then_upswitches_only_after_the_hold() {
        let mut a = abr(100_000.0);
        assert_eq!(a.current(), 0);
        let mut t = 0u64;
        // 20 Mbit/s: 250 kB in 100 ms. The first switch corrects a guess: no hold.
        let mut switched_at = None;
        for _ in 0..60 {
            t += 100;
            a.sample(250_000, 100.0);
            if let Some(to) = a.decide(t, None, true) {
                switched_at.get_or_insert((t, to));
            }
        }
        let (at, to) = switched_at.expect("upswitch");
        assert_eq!(to, 3);
        assert!(at <= 200, "as soon as the estimate is trusted: {at}");
        // The link collapses to 1 Mbit/s: 125 kB per second.
        let dropped_at = t;
        let mut down = None;
        for _ in 0..10 {
            t += 1_000;
            a.sample(125_000, 1_000.0);
            if let Some(to) = a.decide(t, None, true) {
                down.get_or_insert((t, to));
            }
        }
        let (at, to) = down.expect("downswitch");
        // The fast average crosses the safety margin within about two half-lives.
        assert!(
            to < 3 && at <= dropped_at + 5_000,
            "quick downswitch: {at} {to}"
        );
        // Back to 20 Mbit/s: now the upswitch waits for the hold.
        let recovered_at = t;
        let mut up = None;
        for _ in 0..200 {
            t += 100;
            a.sample(250_000, 100.0);
            if let Some(to) = a.decide(t, None, true) {
                up.get_or_insert((t, to));
            }
        }
        let (at, _) = up.expect("upswitch again");
        assert!(at >= recovered_at + 3_000, "waited for the hold: {at}");
    }

    #[test]
    fn an_earlier_measurement_is_trusted_at_once_and_then_outweighed() {
        let config = AbrConfig {
            measured_bandwidth_bps: Some(3_000_000.0),
            ..AbrConfig::default()
        };
        let mut a = Abr::new(&config, vec![400_000, 1_000_000, 2_500_000, 5_000_000]);
        // 3 Mbit/s × 0.8 allows 1 Mbit/s; the start is not a guess to correct.
        assert_eq!(a.current(), 1);
        assert!(a.trusted());
        assert_eq!(a.estimate(), 3_000_000.0);
        assert_eq!(a.measured(), None, "nothing of its own to remember yet");
        assert_eq!(a.decide(0, None, true), None);
        // The link is at 1 Mbit/s now: 125 kB a second. Within four seconds of transfer the
        // estimate is below what 1 Mbit/s needs with the safety factor (1.25 Mbit/s), though
        // the earlier measurement was three times that. (In the engine a fetch out for more
        // than a second caps the estimate sooner.)
        let mut t = 0;
        let mut down = None;
        for _ in 0..8 {
            t += 500;
            a.sample(62_500, 500.0);
            down = down.or(a.decide(t, None, true).map(|to| (t, to)));
        }
        let (at, to) = down.expect("a downswitch");
        assert!(at <= 4_000 && to == 0, "{at} {to}");
        // What it passes on is its own: the link's 1 Mbit/s, not a mix with the 3.
        let m = a.measured().expect("measured enough");
        assert!((m - 1_000_000.0).abs() < 1_000.0, "{m}");
    }

    #[test]
    fn a_refuted_earlier_measurement_leaves_no_trace() {
        let earlier = AbrConfig {
            measured_bandwidth_bps: Some(20_000_000.0),
            ..AbrConfig::default()
        };
        let ladder = vec![400_000, 1_000_000, 2_500_000, 5_000_000];
        let mut a = Abr::new(&earlier, ladder.clone());
        assert_eq!(a.current(), 3);
        // Nothing of its own yet: back to the guess (1 Mbit/s × 0.8: the lowest).
        assert_eq!(a.earlier_refuted(), Some(0));
        assert!(!a.trusted());
        assert_eq!(a.estimate(), 1_000_000.0);
        assert_eq!(a.earlier_refuted(), None, "once");
        // With samples of its own: the same estimate as a player that never had it.
        let mut a = Abr::new(&earlier, ladder.clone());
        let mut b = Abr::new(&AbrConfig::default(), ladder);
        for x in [&mut a, &mut b] {
            x.sample(100_000, 400.0);
            x.sample(150_000, 500.0);
        }
        assert_eq!(a.earlier_refuted(), Some(1));
        let (ea, eb) = (a.estimate(), b.estimate());
        assert!((ea - eb).abs() < eb * 1e-9, "{ea} against {eb}");
    }

    #[test]
    fn a_cap_holds_the_rendition_down_and_a_raised_cap_climbs_at_once() {
        let mut a = abr(100_000.0);
        assert_eq!(a.set_top(1), None, "at the lowest: nothing to bring down");
        // 20 Mbit/s, enough for the top: the first switch stops at the cap.
        let mut t = 0;
        let mut switches = Vec::new();
        for _ in 0..60 {
            t += 100;
            a.sample(250_000, 100.0);
            switches.extend(a.decide(t, None, true));
        }
        assert_eq!(switches, [1]);
        // Capped, no upswitch comes due: no timer for one.
        assert_eq!(a.next_decision_at(), None);
        // The player grows: the headroom held all along, so the climb needs no new hold.
        a.set_top(3);
        assert_eq!(a.decide(t + 1, None, true), Some(3));
        // It shrinks: down at once, however good the link.
        assert_eq!(a.set_top(0), Some(0));
        assert_eq!(a.decide(t + 2, None, true), None);
        // A pinned rendition stays where the page put it, and comes down to the cap when the
        // estimate chooses again.
        a.pin(Some(2));
        assert_eq!(a.set_top(1), None);
        assert_eq!(a.current(), 2);
        a.pin(None);
        assert_eq!(a.current(), 1);
        // So does one pinned before anything was measured.
        let mut b = abr(100_000.0);
        b.pin(Some(3));
        b.set_top(1);
        b.pin(None);
        assert_eq!(b.current(), 1);
        assert!(!b.trusted());
    }

    #[test]
    fn a_slow_fetch_in_flight_caps_the_estimate_and_stalls_step_down() {
        let mut a = abr(10_000_000.0);
        assert_eq!(a.current(), 3);
        // Untrusted estimate: no switch on it alone...
        assert_eq!(a.decide(0, None, true), None);
        // ... but a cap is a measurement.
        assert_eq!(a.decide(0, Some(1_500_000.0), true), Some(1));
        assert_eq!(a.stalled(None), Some(0));
        assert_eq!(a.stalled(None), None);
    }
}
