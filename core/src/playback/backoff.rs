//! Retry delays: capped exponential backoff with full jitter, from a seeded PRNG.
//!
//! The same scheme as the upload engine's (`upload/backoff.rs`, private to that module): a
//! uniform delay in `[0, min(max, base·2^(retry-1))]`, jitter from splitmix64 over the seed the
//! driver passes in, so the same seed and inputs give the same delays.

/// Jittered delays for one player.
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
    fn delays_are_capped_jittered_and_reproducible() {
        let draw = |seed| {
            let mut b = Backoff::new(500, 8_000, seed);
            (1..=40).map(|r| b.delay(r.min(6))).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        assert!(draw(7).iter().all(|&d| d <= 8_000));
        let mut b = Backoff::new(500, 8_000, 1);
        assert!((0..50).all(|_| b.delay(1) <= 500));
    }
}
