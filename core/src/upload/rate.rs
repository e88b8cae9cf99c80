//! The upload rate: acknowledged bytes over a sliding window of the driver's clock.
//!
//! Parts finish in bursts (a whole part at a time), so the rate is bytes acknowledged in the
//! last window divided by the window, or by the time since the session started while that is
//! shorter. When a long backoff empties the window, the session's average stands in, so the
//! ETA does not vanish while the upload is still running.

use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub(crate) struct Rate {
    window_ms: u64,
    started_at: Option<u64>,
    session_bytes: u64,
    samples: VecDeque<(u64, u64)>,
}

impl Rate {
    pub(crate) fn new(window_ms: u64) -> Self {
        Self {
            window_ms: window_ms.max(1),
            started_at: None,
            session_bytes: 0,
            samples: VecDeque::new(),
        }
    }

    /// Notes the driver's clock: the first time seen starts the session.
    pub(crate) fn observe(&mut self, now: u64) {
        self.started_at.get_or_insert(now);
    }

    pub(crate) fn record(&mut self, now: u64, bytes: u64) {
        self.observe(now);
        self.session_bytes += bytes;
        self.samples.push_back((now, bytes));
        while let Some(&(t, _)) = self.samples.front() {
            if t.saturating_add(self.window_ms) > now {
                break;
            }
            self.samples.pop_front();
        }
    }

    /// Bytes per second at `now`.
    pub(crate) fn bytes_per_s(&self, now: u64) -> f64 {
        let Some(start) = self.started_at else {
            return 0.0;
        };
        let elapsed = now.saturating_sub(start);
        if elapsed == 0 {
            return 0.0;
        }
        let recent: u64 = self
            .samples
            .iter()
            .filter(|(t, _)| t.saturating_add(self.window_ms) > now)
            .map(|(_, b)| b)
            .sum();
        if recent > 0 {
            recent as f64 * 1000.0 / elapsed.min(self.window_ms) as f64
        } else {
            self.session_bytes as f64 * 1000.0 / elapsed as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Rate;

    #[test]
    fn rate_is_over_the_window_then_falls_back_to_the_average() {
        let mut r = Rate::new(1_000);
        assert_eq!(r.bytes_per_s(5), 0.0);
        r.observe(0);
        r.record(500, 1_000);
        // Half a second into the session: 1000 bytes over 0.5 s.
        assert_eq!(r.bytes_per_s(500), 2_000.0);
        r.record(1_000, 1_000);
        assert_eq!(r.bytes_per_s(1_000), 2_000.0);
        // The first sample has left the window.
        assert_eq!(r.bytes_per_s(1_600), 1_000.0);
        // Window empty: the session average (2000 bytes over 4 s).
        assert_eq!(r.bytes_per_s(4_000), 500.0);
    }
}
