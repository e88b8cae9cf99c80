//! Password-guess limiting: a few quick tries, then one per interval, per key (the server
//! chooses the key; asset and client address is the usual one).
//!
//! Each key is a token bucket kept as a single number, the GCRA form: the *theoretical arrival
//! time* (TAT) at which its bucket would be full again. An attempt at `now` is allowed when
//! `TAT - (burst - 1) × interval <= now` and then moves TAT one interval on; a refused attempt
//! changes nothing, so hammering does not lengthen the wait of the person behind the key. A key
//! whose TAT has passed is indistinguishable from a key never seen.
//!
//! Memory is bounded by [`RateConfig::max_keys`]. When a new key arrives at a full table, the
//! key with the earliest TAT is dropped: the one whose bucket is fullest, so the least
//! information is lost (if its TAT has passed, none is). A key that is being throttled has a
//! late TAT and is the last to go, so flooding the table with fresh keys does not reset an
//! attacker's own limit until every tracked key is throttled harder than theirs.
//!
//! Time is the caller's milliseconds; everything is integer arithmetic, so the limiter is
//! deterministic and replayable.

use std::collections::{BTreeMap, BTreeSet};

use super::Deny;

/// How many attempts a key gets, and how much memory the limiter may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateConfig {
    /// Attempts allowed at once from a full bucket (at least 1).
    pub burst: u32,
    /// Milliseconds to earn one more attempt (at least 1).
    pub interval_ms: u64,
    /// Most keys tracked at once (at least 1).
    pub max_keys: usize,
}

impl Default for RateConfig {
    /// 5 quick attempts, then one a minute; 10 000 keys.
    fn default() -> Self {
        Self {
            burst: 5,
            interval_ms: 60_000,
            max_keys: 10_000,
        }
    }
}

impl RateConfig {
    /// One attempt for a key whose theoretical arrival time is `tat` (`None`: never seen) at
    /// `now_ms`: the key's new TAT, or [`Deny::RateLimited`] with the milliseconds until an
    /// attempt is allowed (and the TAT unchanged). The whole limiter in one function, for
    /// callers that keep TATs elsewhere (a database, so that a restart resets nothing).
    pub fn step(&self, tat: Option<u64>, now_ms: u64) -> Result<u64, Deny> {
        let interval = self.interval_ms.max(1);
        let tolerance = interval.saturating_mul(u64::from(self.burst.max(1) - 1));
        let tat = tat.map_or(now_ms, |t| t.max(now_ms));
        let allowed_at = tat.saturating_sub(tolerance);
        if now_ms < allowed_at {
            return Err(Deny::RateLimited {
                retry_after_ms: allowed_at - now_ms,
            });
        }
        Ok(tat.saturating_add(interval))
    }
}

/// A per-key attempt limiter (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct AttemptLimiter<K> {
    config: RateConfig,
    /// `(burst - 1) × interval`: how far TAT may run ahead of now.
    tolerance_ms: u64,
    max_keys: usize,
    tat: BTreeMap<K, u64>,
    /// The same entries ordered by TAT (ties by key), to find the one to evict.
    by_tat: BTreeSet<(u64, K)>,
}

impl<K: Ord + Clone> AttemptLimiter<K> {
    /// An empty limiter; zero values in `config` are raised to 1.
    pub fn new(config: RateConfig) -> Self {
        let interval_ms = config.interval_ms.max(1);
        Self {
            config,
            tolerance_ms: interval_ms.saturating_mul(u64::from(config.burst.max(1) - 1)),
            max_keys: config.max_keys.max(1),
            tat: BTreeMap::new(),
            by_tat: BTreeSet::new(),
        }
    }

    /// Takes one attempt for `key` at `now_ms`, or refuses with [`Deny::RateLimited`] and the
    /// milliseconds until one is allowed.
    ///
    /// Call it *before* checking the password, and for every guess, right or wrong: taking the
    /// attempt up front means concurrent guesses cannot all slip past one check.
    pub fn attempt(&mut self, key: &K, now_ms: u64) -> Result<(), Deny> {
        let next = self.config.step(self.tat.get(key).copied(), now_ms)?;
        match self.tat.get_mut(key) {
            Some(t) => {
                self.by_tat.remove(&(*t, key.clone()));
                *t = next;
            }
            None => {
                if self.tat.len() >= self.max_keys {
                    self.evict_one();
                }
                self.tat.insert(key.clone(), next);
            }
        }
        self.by_tat.insert((next, key.clone()));
        Ok(())
    }

    /// The milliseconds until `key` may attempt at `now_ms` (0: now), without taking an
    /// attempt.
    pub fn retry_after_ms(&self, key: &K, now_ms: u64) -> u64 {
        self.tat.get(key).map_or(0, |&t| {
            t.saturating_sub(self.tolerance_ms).saturating_sub(now_ms)
        })
    }

    /// Forgets `key`, giving it a full bucket again (after a correct password, say).
    pub fn reset(&mut self, key: &K) {
        if let Some(t) = self.tat.remove(key) {
            self.by_tat.remove(&(t, key.clone()));
        }
    }

    /// Drops every key whose bucket is full at `now_ms` (it behaves as unseen anyway), to
    /// give the memory back between bursts.
    pub fn purge(&mut self, now_ms: u64) {
        while let Some((t, _)) = self.by_tat.first() {
            if *t > now_ms {
                break;
            }
            let (_, key) = self.by_tat.pop_first().expect("just seen");
            self.tat.remove(&key);
        }
    }

    /// How many keys are tracked.
    pub fn len(&self) -> usize {
        self.tat.len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.tat.is_empty()
    }

    fn evict_one(&mut self) {
        if let Some((_, key)) = self.by_tat.pop_first() {
            self.tat.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(burst: u32, interval_ms: u64, max_keys: usize) -> AttemptLimiter<&'static str> {
        AttemptLimiter::new(RateConfig {
            burst,
            interval_ms,
            max_keys,
        })
    }

    #[test]
    fn a_burst_then_one_per_interval() {
        let mut l = limiter(3, 1_000, 10);
        for _ in 0..3 {
            assert_eq!(l.attempt(&"k", 0), Ok(()));
        }
        assert_eq!(
            l.attempt(&"k", 0),
            Err(Deny::RateLimited {
                retry_after_ms: 1_000
            })
        );
        assert_eq!(l.retry_after_ms(&"k", 0), 1_000);
        assert_eq!(
            l.attempt(&"k", 400),
            Err(Deny::RateLimited {
                retry_after_ms: 600
            })
        );
        assert_eq!(l.attempt(&"k", 1_000), Ok(()));
        assert_eq!(l.retry_after_ms(&"k", 1_000), 1_000);
        assert!(l.attempt(&"k", 1_999).is_err());
        assert_eq!(l.attempt(&"k", 2_000), Ok(()));
        // A long pause refills the bucket, up to the burst and no further.
        for _ in 0..3 {
            assert_eq!(l.attempt(&"k", 100_000), Ok(()));
        }
        assert!(l.attempt(&"k", 100_000).is_err());
    }

    #[test]
    fn refused_attempts_do_not_extend_the_wait() {
        let mut l = limiter(1, 1_000, 10);
        assert_eq!(l.attempt(&"k", 0), Ok(()));
        for t in (1..1_000).step_by(7) {
            assert!(l.attempt(&"k", t).is_err());
        }
        assert_eq!(l.attempt(&"k", 1_000), Ok(()));
    }

    #[test]
    fn keys_are_independent() {
        let mut l = limiter(1, 1_000, 10);
        assert_eq!(l.attempt(&"a", 0), Ok(()));
        assert!(l.attempt(&"a", 0).is_err());
        assert_eq!(l.attempt(&"b", 0), Ok(()));
        assert_eq!(l.retry_after_ms(&"c", 0), 0);
        assert_eq!(l.len(), 2);
    }

    #[test]
    fn reset_gives_a_full_bucket() {
        let mut l = limiter(2, 1_000, 10);
        l.attempt(&"k", 0).unwrap();
        l.attempt(&"k", 0).unwrap();
        assert!(l.attempt(&"k", 0).is_err());
        l.reset(&"k");
        assert!(l.is_empty());
        assert_eq!(l.attempt(&"k", 0), Ok(()));
        assert_eq!(l.attempt(&"k", 0), Ok(()));
        l.reset(&"never seen");
    }

    #[test]
    fn a_full_table_evicts_the_fullest_bucket() {
        let mut l = limiter(3, 1_000, 2);
        // "hot" is throttled; "cold" made one attempt long ago.
        l.attempt(&"cold", 0).unwrap();
        for _ in 0..3 {
            l.attempt(&"hot", 5_000).unwrap();
        }
        assert!(l.attempt(&"hot", 5_000).is_err());
        // A newcomer pushes "cold" out, not "hot".
        l.attempt(&"new", 5_000).unwrap();
        assert_eq!(l.len(), 2);
        assert!(l.attempt(&"hot", 5_000).is_err());
        assert_eq!(l.retry_after_ms(&"cold", 5_000), 0);
        // A flood of fresh keys never frees "hot" while it is the most throttled.
        for k in ["f1", "f2", "f3", "f4"] {
            l.attempt(&k, 5_000).unwrap();
            assert_eq!(l.len(), 2);
            assert!(l.attempt(&"hot", 5_000).is_err());
        }
    }

    #[test]
    fn purge_drops_only_full_buckets() {
        let mut l = limiter(2, 1_000, 10);
        l.attempt(&"a", 0).unwrap();
        l.attempt(&"b", 0).unwrap();
        l.attempt(&"b", 0).unwrap();
        l.purge(999);
        assert_eq!(l.len(), 2);
        l.purge(1_000);
        assert_eq!(l.len(), 1);
        assert_eq!(l.retry_after_ms(&"b", 1_000), 0);
        assert!(l.attempt(&"b", 1_000).is_ok());
        assert!(l.attempt(&"b", 1_000).is_err());
        l.purge(u64::MAX);
        assert!(l.is_empty());
    }

    #[test]
    fn zero_config_is_raised_to_one() {
        let mut l = limiter(0, 0, 0);
        assert_eq!(l.attempt(&"a", 0), Ok(()));
        assert_eq!(
            l.attempt(&"a", 0),
            Err(Deny::RateLimited { retry_after_ms: 1 })
        );
        assert_eq!(l.attempt(&"b", 0), Ok(()));
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn huge_times_and_intervals_do_not_overflow() {
        let mut l = limiter(u32::MAX, u64::MAX, 10);
        assert_eq!(l.attempt(&"a", 0), Ok(()));
        assert_eq!(l.attempt(&"a", u64::MAX), Ok(()));
        let mut l = limiter(1, u64::MAX / 2, 10);
        assert_eq!(l.attempt(&"a", 1), Ok(()));
        assert_eq!(
            l.attempt(&"a", 1),
            Err(Deny::RateLimited {
                retry_after_ms: u64::MAX / 2
            })
        );
        assert_eq!(l.retry_after_ms(&"a", u64::MAX), 0);
    }

    #[test]
    fn default_config() {
        let mut l = AttemptLimiter::new(RateConfig::default());
        for _ in 0..5 {
            l.attempt(&("asset-1", [10, 0, 0, 1]), 0).unwrap();
        }
        assert_eq!(
            l.attempt(&("asset-1", [10, 0, 0, 1]), 0),
            Err(Deny::RateLimited {
                retry_after_ms: 60_000
            })
        );
        assert!(l.attempt(&("asset-2", [10, 0, 0, 1]), 0).is_ok());
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Over any span of time, one key gets at most `burst` attempts plus one per interval
        /// elapsed, and a refusal's delay is exact: earlier is refused, then is allowed.
        #[test]
        fn never_more_than_the_budget(
            burst in 1u32..6,
            interval in 1u64..500,
            steps in prop::collection::vec(0u64..400, 1..120),
        ) {
            let mut l = AttemptLimiter::new(RateConfig { burst, interval_ms: interval, max_keys: 4 });
            let mut now = 0;
            let mut allowed: Vec<u64> = Vec::new();
            for step in steps {
                now += step;
                match l.attempt(&0u8, now) {
                    Ok(()) => allowed.push(now),
                    Err(Deny::RateLimited { retry_after_ms }) => {
                        prop_assert!(retry_after_ms > 0);
                        prop_assert_eq!(l.retry_after_ms(&0u8, now), retry_after_ms);
                        let mut probe = l.clone();
                        prop_assert!(probe.clone().attempt(&0u8, now + retry_after_ms - 1).is_err());
                        prop_assert!(probe.attempt(&0u8, now + retry_after_ms).is_ok());
                    }
                    Err(other) => prop_assert!(false, "unexpected {other:?}"),
                }
            }
            for (i, &start) in allowed.iter().enumerate() {
                for (j, &end) in allowed.iter().enumerate().skip(i) {
                    let budget = u64::from(burst) + (end - start) / interval;
                    prop_assert!((j - i + 1) as u64 <= budget, "{} attempts in [{start}, {end}]", j - i + 1);
                }
            }
        }

        /// The table never outgrows its cap, and both indexes always agree.
        #[test]
        fn memory_is_bounded(
            max_keys in 1usize..8,
            ops in prop::collection::vec((0u8..20, 0u64..50, any::<bool>()), 1..200),
        ) {
            let mut l = AttemptLimiter::new(RateConfig { burst: 2, interval_ms: 100, max_keys });
            let mut now = 0;
            for (key, step, reset) in ops {
                now += step;
                if reset { l.reset(&key) } else { let _ = l.attempt(&key, now); }
                prop_assert!(l.len() <= max_keys);
                prop_assert_eq!(l.tat.len(), l.by_tat.len());
                for (k, t) in &l.tat {
                    prop_assert!(l.by_tat.contains(&(*t, *k)));
                }
            }
        }
    }
}
