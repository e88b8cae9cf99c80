//! Retry delays: capped exponential backoff with full jitter, from a seeded PRNG.
//!
//! Full jitter (a uniform delay in `[0, min(max, base·2^(retry-1))]`) spreads the retries of
//! many browsers hit by the same outage instead of having them return in lockstep. The core
//! draws no randomness of its own, so the jitter comes from splitmix64 over the caller's seed:
//! the same seed and inputs give the same delays, which the simulation tests rely on.

/// Jittered delays for one upload or one player.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base_ms: u64,
    max_ms: u64,
    state: u64,
}

impl Backoff {
    pub(crate) fn new(base_ms: u64, max_ms: u64, seed: u64) -> Self {
        Self {
            base_ms,
            max_ms,
            state: seed,
        }
    }

    /// The delay before retry number `retry` (1 for the first retry).
    pub(crate) fn delay(&mut self, retry: u32) -> u64 {
        let factor = 1u64
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u64::MAX);
        let cap = self.base_ms.saturating_mul(factor).min(self.max_ms);
        match cap.checked_add(1) {
            Some(span) => self.next_u64() % span,
            None => self.next_u64(),
        }
    }

    /// splitmix64: tiny, fast, and good enough to decorrelate retries (this is no secret).
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::Backoff;

    #[test]
    fn delays_stay_under_the_growing_cap() {
        let mut b = Backoff::new(500, 30_000, 42);
        for retry in 1..40 {
            let cap = (500u64 << (retry - 1).min(20)).min(30_000);
            for _ in 0..50 {
                assert!(b.delay(retry) <= cap, "retry {retry}");
            }
        }
    }

    #[test]
    fn delays_are_jittered_and_reproducible() {
        let draw = |seed| {
            let mut b = Backoff::new(500, 30_000, seed);
            (0..32).map(|_| b.delay(6)).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let d = draw(7);
        // Spread over the range rather than pinned to one value.
        assert!(d.iter().any(|&x| x < 8_000) && d.iter().any(|&x| x > 8_000));
    }
}
