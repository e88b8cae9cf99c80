//! What the server keeps per view, and what each view adds to the hourly rollups the reports
//! read. Beacons arrive in pieces; each flush merges them into the view's record
//! ([`ViewRecord::merge`]: totals only grow, the first startup time and error stay), and the
//! rollups take the difference between the view's contribution after and before
//! ([`Contribution::delta`]), so they stay exact sums however a view's beacons are split. A
//! report then reads a few rows per hour instead of every view.
//!
//! Startup times go into a histogram of [`STARTUP_BUCKETS`] buckets, 10 % wide, from which
//! percentiles are read to within 10 %.

use std::collections::BTreeMap;

use super::beacon::{Totals, ViewFacts};

/// A view's record as the server keeps it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewRecord {
    pub duration_ms: Option<u64>,
    pub intent: bool,
    pub startup_ms: Option<u64>,
    pub failed: bool,
    pub error_code: Option<String>,
    pub ended: bool,
    pub totals: Totals,
    pub pseudonym: Option<String>,
    pub viewer_hash: Option<String>,
}

impl ViewRecord {
    /// Takes a flush's facts about the view.
    pub fn merge(&mut self, f: &ViewFacts, pseudonym: Option<&str>, viewer_hash: Option<&str>) {
        self.duration_ms = self.duration_ms.or(f.duration_ms);
        self.intent |= f.intent;
        self.startup_ms = self.startup_ms.or(f.startup_ms);
        self.failed |= f.failed;
        if self.error_code.is_none() {
            self.error_code.clone_from(&f.error_code);
        }
        self.ended |= f.ended;
        if let Some(t) = &f.totals {
            self.totals.merge(t);
        }
        if self.pseudonym.is_none() {
            self.pseudonym = pseudonym.map(str::to_owned);
        }
        if self.viewer_hash.is_none() {
            self.viewer_hash = viewer_hash.map(str::to_owned);
        }
    }

    /// Whether the view played to the end, or to 90 % of the media.
    fn completed(&self) -> bool {
        let near_end = self
            .duration_ms
            .is_some_and(|d| d > 0 && self.totals.max_playhead_ms * 10 >= d * 9);
        self.startup_ms.is_some() && (self.ended || near_end)
    }

    /// What the view adds to a rollup. A view counts once play was asked for (Mux's view is
    /// an attempt to play): before that it adds nothing.
    pub fn contribution(&self) -> Contribution {
        if !self.intent {
            return Contribution::default();
        }
        let t = &self.totals;
        let n = |v: u64| v as i64;
        Contribution {
            views: 1,
            watch_ms: n(t.watch_ms),
            playing_ms: n(t.playing_ms),
            failed: i64::from(self.failed),
            ebvs: i64::from(self.startup_ms.is_none() && !self.failed),
            rebuffer_ms: n(t.rebuffer_ms),
            rebuffer_count: i64::from(t.rebuffer_count),
            played_bits: n(t.played_bits),
            upscale_ms: n(t.upscale_ms),
            started: i64::from(self.startup_ms.is_some()),
            completed: i64::from(self.completed()),
            downscale_ms: n(t.downscale_ms),
            seek_count: i64::from(t.seek_count),
            seek_ms: n(t.seek_ms),
            startup_bucket: self.startup_ms.map(startup_bucket),
            renditions: t
                .renditions
                .iter()
                .map(|(r, ms)| (r.clone(), n(*ms)))
                .collect(),
        }
    }
}

/// The sums a view adds to its rollup row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contribution {
    pub views: i64,
    pub watch_ms: i64,
    pub playing_ms: i64,
    pub failed: i64,
    /// Play asked for, no first frame, no failure (yet).
    pub ebvs: i64,
    pub rebuffer_ms: i64,
    pub rebuffer_count: i64,
    pub played_bits: i64,
    pub upscale_ms: i64,
    /// Reached the first frame.
    pub started: i64,
    pub completed: i64,
    pub downscale_ms: i64,
    pub seek_count: i64,
    pub seek_ms: i64,
    /// Its startup time's histogram bucket.
    pub startup_bucket: Option<u32>,
    /// Playing time per rendition.
    pub renditions: BTreeMap<String, i64>,
}

/// A change to a rollup row: `after - before`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delta {
    /// In [`Contribution`]'s order: views, watch, playing, failed, ebvs, rebuffer ms,
    /// rebuffers, bits, upscale, started, completed, downscale, seeks, seek ms
    /// ([`SUM_COLUMNS`]).
    pub sums: [i64; SUMS],
    /// Histogram buckets to add to (+1) or take from (−1).
    pub startups: Vec<(u32, i64)>,
    /// Playing time per rendition to add.
    pub renditions: BTreeMap<String, i64>,
}

impl Delta {
    /// Nothing changes.
    pub fn is_empty(&self) -> bool {
        self.sums.iter().all(|v| *v == 0) && self.startups.is_empty() && self.renditions.is_empty()
    }
}

/// How many sums a rollup row keeps.
pub const SUMS: usize = 14;

/// The rollup's columns of [`Delta::sums`], in order.
pub const SUM_COLUMNS: [&str; SUMS] = [
    "views",
    "watch_ms",
    "playing_ms",
    "failed",
    "ebvs",
    "rebuffer_ms",
    "rebuffer_count",
    "played_bits",
    "upscale_ms",
    "started",
    "completed",
    "downscale_ms",
    "seek_count",
    "seek_ms",
];

impl Contribution {
    fn sums(&self) -> [i64; SUMS] {
        [
            self.views,
            self.watch_ms,
            self.playing_ms,
            self.failed,
            self.ebvs,
            self.rebuffer_ms,
            self.rebuffer_count,
            self.played_bits,
            self.upscale_ms,
            self.started,
            self.completed,
            self.downscale_ms,
            self.seek_count,
            self.seek_ms,
        ]
    }

    /// What changing from `before` to `self` does to the rollups.
    pub fn delta(&self, before: &Contribution) -> Delta {
        let (a, b) = (self.sums(), before.sums());
        let mut startups = Vec::new();
        if self.startup_bucket != before.startup_bucket {
            startups.extend(before.startup_bucket.map(|x| (x, -1)));
            startups.extend(self.startup_bucket.map(|x| (x, 1)));
        }
        let mut renditions = BTreeMap::new();
        for r in self.renditions.keys().chain(before.renditions.keys()) {
            let d = self.renditions.get(r).copied().unwrap_or(0)
                - before.renditions.get(r).copied().unwrap_or(0);
            if d != 0 {
                renditions.insert(r.clone(), d);
            }
        }
        Delta {
            sums: std::array::from_fn(|i| a[i] - b[i]),
            startups,
            renditions,
        }
    }
}

/// Buckets of the startup-time histogram.
pub const STARTUP_BUCKETS: u32 = 100;
/// The first bucket holds times up to this.
const FIRST_MS: f64 = 50.0;
/// Each bucket is this much wider than the one before.
const RATIO: f64 = 1.1;

/// The histogram bucket of a startup time: 0 up to 50 ms, then 10 % wider each, the last
/// open-ended (past about 11 minutes).
pub fn startup_bucket(ms: u64) -> u32 {
    if (ms as f64) <= FIRST_MS {
        return 0;
    }
    let b = ((ms as f64 / FIRST_MS).ln() / RATIO.ln()).ceil() as u32;
    b.min(STARTUP_BUCKETS - 1)
}

/// The largest time of bucket `b` (what a percentile read from the histogram reports).
pub fn bucket_upper_ms(b: u32) -> u64 {
    (FIRST_MS * RATIO.powi(b as i32)).round() as u64
}

/// The nearest-rank percentile `p` (0 to 1) of a histogram (bucket → count), as its bucket's
/// upper bound: at most 10 % above the exact value.
pub fn histogram_percentile(hist: &BTreeMap<u32, i64>, p: f64) -> Option<u64> {
    let n: i64 = hist.values().filter(|c| **c > 0).sum();
    if n == 0 {
        return None;
    }
    let rank = ((p * n as f64).ceil() as i64).max(1);
    let mut seen = 0;
    hist.iter()
        .find(|(_, c)| {
            seen += (**c).max(0);
            seen >= rank
        })
        .map(|(b, _)| bucket_upper_ms(*b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::beacon::{BeaconEvent, EventKind};

    fn facts(events: Vec<EventKind>, totals: Option<Totals>) -> ViewFacts {
        let mut evs: Vec<BeaconEvent> = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| BeaconEvent {
                seq: i as u32,
                at_ms: 0,
                playhead_ms: 0,
                event,
                totals: None,
            })
            .collect();
        if let Some(e) = evs.last_mut() {
            e.totals = totals;
        }
        ViewFacts::of(&evs)
    }

    #[test]
    fn buckets_are_ten_percent_wide() {
        assert_eq!(startup_bucket(0), 0);
        assert_eq!(startup_bucket(50), 0);
        for ms in [51, 100, 999, 1_000, 1_900, 12_345, 300_000] {
            let b = startup_bucket(ms);
            let (lo, hi) = (bucket_upper_ms(b - 1), bucket_upper_ms(b));
            assert!(lo <= ms && ms <= hi + 1, "{ms} in ({lo}, {hi}]");
            assert!(hi as f64 <= ms as f64 * 1.1 + 1.0);
        }
        assert_eq!(startup_bucket(u64::MAX), STARTUP_BUCKETS - 1);
    }

    #[test]
    fn percentiles_from_the_histogram_are_within_ten_percent() {
        let mut hist = BTreeMap::new();
        for i in 1..=20u64 {
            *hist.entry(startup_bucket(i * 100)).or_insert(0) += 1;
        }
        let median = histogram_percentile(&hist, 0.5).unwrap();
        let p95 = histogram_percentile(&hist, 0.95).unwrap();
        assert!((1_000..=1_100).contains(&median), "{median}");
        assert!((1_900..=2_090).contains(&p95), "{p95}");
        assert_eq!(histogram_percentile(&BTreeMap::new(), 0.5), None);
    }

    #[test]
    fn deltas_sum_to_the_final_contribution_however_a_view_arrives() {
        let t = |watch, playing, v360| Totals {
            watch_ms: watch,
            playing_ms: playing,
            renditions: [("v360".to_string(), v360)].into(),
            ..Totals::default()
        };
        // Three flushes: the start, a heartbeat, the end.
        let parts = [
            facts(
                vec![
                    EventKind::Viewstart {
                        duration_ms: 10_000,
                    },
                    EventKind::Play {},
                ],
                None,
            ),
            facts(
                vec![
                    EventKind::Playing { startup_ms: 700 },
                    EventKind::Heartbeat {},
                ],
                Some(t(5_000, 4_000, 4_000)),
            ),
            facts(
                vec![EventKind::Ended {}, EventKind::Viewend {}],
                Some(t(11_000, 10_000, 10_000)),
            ),
        ];
        let mut record = ViewRecord::default();
        let mut rollup = [0i64; SUMS];
        let mut startups: BTreeMap<u32, i64> = BTreeMap::new();
        let mut renditions: BTreeMap<String, i64> = BTreeMap::new();
        for f in &parts {
            let before = record.contribution();
            record.merge(f, Some("p1"), None);
            let d = record.contribution().delta(&before);
            for (r, v) in rollup.iter_mut().zip(d.sums) {
                *r += v;
            }
            for (b, v) in d.startups {
                *startups.entry(b).or_default() += v;
            }
            for (r, v) in d.renditions {
                *renditions.entry(r).or_default() += v;
            }
        }
        // After the first flush the view was an exit before start; in the end it is not.
        let last = record.contribution();
        assert_eq!(rollup, last.sums());
        assert_eq!(last.views, 1);
        assert_eq!((last.ebvs, last.started, last.completed), (0, 1, 1));
        assert_eq!(startups.get(&startup_bucket(700)), Some(&1));
        assert_eq!(startups.values().sum::<i64>(), 1);
        assert_eq!(renditions["v360"], 10_000);
        // A flush sent twice changes nothing.
        let before = record.contribution();
        record.merge(&parts[1], Some("p1"), None);
        assert!(record.contribution().delta(&before).is_empty());
        // A view never asked to play adds nothing.
        let mut idle = ViewRecord::default();
        idle.merge(
            &facts(vec![EventKind::Viewstart { duration_ms: 1 }], None),
            None,
            None,
        );
        assert_eq!(idle.contribution(), Contribution::default());
    }
}
