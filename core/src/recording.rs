//! [`Recording`]: the decisions of an in-browser recording that are not about bytes: how long it
//! has been recording (pauses excluded), and when it must stop (the user, a limit, or the
//! browser ending the source, as "Stop sharing" does).
//!
//! Sans-IO like the engines: the driver reports what happened with its clock's time and asks
//! [`Recording::poll_stop`] whether to stop, and [`Recording::poll_timeout`] when to ask again.

/// Limits a recording stops at by itself. `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordingLimits {
    /// Recorded time (pauses excluded), in milliseconds.
    pub max_duration_ms: Option<u64>,
    /// Recorded bytes (before sealing). The data that crosses the limit is kept: the
    /// recording stops right after it, at most one recorder slice over.
    pub max_bytes: Option<u64>,
}

/// Why a recording stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The page called `stop()`.
    Requested,
    /// [`RecordingLimits::max_duration_ms`] was reached.
    MaxDuration,
    /// [`RecordingLimits::max_bytes`] was reached.
    MaxBytes,
    /// The browser ended the source (the user stopped sharing, a camera went away).
    SourceEnded,
}

impl StopReason {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Requested => "requested",
            StopReason::MaxDuration => "max_duration",
            StopReason::MaxBytes => "max_bytes",
            StopReason::SourceEnded => "source_ended",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Recording { since: u64 },
    Paused,
    Stopped,
}

/// One recording's clock and stop decision.
#[derive(Debug)]
pub struct Recording {
    limits: RecordingLimits,
    state: State,
    /// Recorded time before the current stretch.
    banked_ms: u64,
    bytes: u64,
    stop: Option<StopReason>,
    stop_reported: bool,
}

impl Recording {
    /// A recording that has not started.
    pub fn new(limits: RecordingLimits) -> Self {
        Self {
            limits,
            state: State::Idle,
            banked_ms: 0,
            bytes: 0,
            stop: None,
            stop_reported: false,
        }
    }

    /// Recording began at `now`.
    pub fn handle_started(&mut self, now: u64) {
        if self.state == State::Idle {
            self.state = State::Recording { since: now };
        }
    }

    /// Paused at `now` (no effect unless recording).
    pub fn handle_paused(&mut self, now: u64) {
        if let State::Recording { since } = self.state {
            self.banked_ms += now.saturating_sub(since);
            self.state = State::Paused;
        }
    }

    /// Resumed at `now` (no effect unless paused).
    pub fn handle_resumed(&mut self, now: u64) {
        if self.state == State::Paused {
            self.state = State::Recording { since: now };
        }
    }

    /// The recorder produced `len` more bytes.
    pub fn handle_data(&mut self, len: u64) {
        self.bytes = self.bytes.saturating_add(len);
        if self.limits.max_bytes.is_some_and(|max| self.bytes >= max) {
            self.request(StopReason::MaxBytes);
        }
    }

    /// The page asked to stop.
    pub fn handle_stop(&mut self) {
        self.request(StopReason::Requested);
    }

    /// The browser ended the source.
    pub fn handle_source_ended(&mut self) {
        self.request(StopReason::SourceEnded);
    }

    /// The recorder has stopped at `now`: the clock stops too.
    pub fn handle_stopped(&mut self, now: u64) {
        self.handle_paused(now);
        self.state = State::Stopped;
    }

    /// Recorded time at `now`, pauses excluded.
    pub fn elapsed_ms(&self, now: u64) -> u64 {
        match self.state {
            State::Recording { since } => self.banked_ms + now.saturating_sub(since),
            _ => self.banked_ms,
        }
    }

    /// Bytes recorded so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Whether the recorder should stop now, and why: reported once.
    pub fn poll_stop(&mut self, now: u64) -> Option<StopReason> {
        if self.stop.is_none()
            && self
                .limits
                .max_duration_ms
                .is_some_and(|max| self.elapsed_ms(now) >= max)
        {
            self.stop = Some(StopReason::MaxDuration);
        }
        match self.stop {
            Some(reason) if !self.stop_reported => {
                self.stop_reported = true;
                Some(reason)
            }
            _ => None,
        }
    }

    /// Why it stopped, once it has been told to.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.stop
    }

    /// When [`Recording::poll_stop`] may have something new: the duration limit, while
    /// recording.
    pub fn poll_timeout(&self) -> Option<u64> {
        match (self.state, self.limits.max_duration_ms, self.stop) {
            (State::Recording { since }, Some(max), None) => {
                Some(since + max.saturating_sub(self.banked_ms))
            }
            _ => None,
        }
    }

    fn request(&mut self, reason: StopReason) {
        if self.stop.is_none() && self.state != State::Stopped {
            self.stop = Some(reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_do_not_count_and_the_duration_limit_stops_it_once() {
        let mut r = Recording::new(RecordingLimits {
            max_duration_ms: Some(10_000),
            max_bytes: None,
        });
        assert_eq!(r.poll_timeout(), None);
        r.handle_started(1_000);
        assert_eq!(r.poll_timeout(), Some(11_000));
        r.handle_paused(4_000);
        assert_eq!(r.elapsed_ms(9_000), 3_000);
        assert_eq!(r.poll_timeout(), None);
        r.handle_resumed(20_000);
        assert_eq!(r.poll_timeout(), Some(27_000));
        assert_eq!(r.poll_stop(26_999), None);
        assert_eq!(r.poll_stop(27_000), Some(StopReason::MaxDuration));
        assert_eq!(r.poll_stop(28_000), None);
        r.handle_stopped(27_500);
        assert_eq!(r.elapsed_ms(40_000), 10_500);
        assert_eq!(r.stop_reason(), Some(StopReason::MaxDuration));
    }

    #[test]
    fn the_first_reason_wins() {
        let mut r = Recording::new(RecordingLimits {
            max_duration_ms: None,
            max_bytes: Some(100),
        });
        r.handle_started(0);
        r.handle_data(60);
        assert_eq!(r.poll_stop(1), None);
        r.handle_data(60);
        r.handle_stop();
        r.handle_source_ended();
        assert_eq!(r.poll_stop(2), Some(StopReason::MaxBytes));
        assert_eq!(r.bytes(), 120);
        let mut r = Recording::new(RecordingLimits::default());
        r.handle_started(0);
        r.handle_source_ended();
        r.handle_stop();
        assert_eq!(r.poll_stop(5), Some(StopReason::SourceEnded));
        assert_eq!(r.poll_timeout(), None);
    }
}
