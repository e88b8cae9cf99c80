//! The analytics part of the server's state: the intake queue and its writer, the day's salts,
//! and the per-session beacon rate.

use std::sync::Mutex;

use cinelock_contract::ApiErrorCode;
use cinelock_core::policy::{AttemptLimiter, RateConfig};
use sqlx::AnyPool;

use super::salts::Salts;
use super::writer::Intake;
use crate::AppError;

/// Beacons one session may send: 20 at once, then one every two seconds (a player sends one
/// about every five).
const BEACON_RATE: RateConfig = RateConfig {
    burst: 20,
    interval_ms: 2_000,
    max_keys: 100_000,
};

/// The analytics part of the server's state.
#[derive(Debug)]
pub struct Analytics {
    intake: Intake,
    salts: Salts,
    limiter: Mutex<AttemptLimiter<String>>,
}

impl Analytics {
    /// Starts the writer on `db`.
    pub fn start(db: AnyPool, queue_events: usize) -> Self {
        Self {
            intake: Intake::start(db, queue_events),
            salts: Salts::default(),
            limiter: Mutex::new(AttemptLimiter::new(BEACON_RATE)),
        }
    }

    pub fn intake(&self) -> &Intake {
        &self.intake
    }

    pub fn salts(&self) -> &Salts {
        &self.salts
    }

    /// One beacon of session `nonce` at `now_ms`, or 429.
    pub(super) fn admit(&self, nonce: &str, now_ms: i64) -> Result<(), AppError> {
        self.limiter
            .lock()
            .expect("limiter lock")
            .attempt(&nonce.to_owned(), now_ms.max(0) as u64)
            .map_err(|_| AppError::Beacon(ApiErrorCode::TooManyBeacons))
    }
}
