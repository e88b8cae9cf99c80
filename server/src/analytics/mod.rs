//! Playback analytics (`docs/analytics.md`, `docs/privacy.md`): players report their views
//! with beacons ([`ingest`]), personal data is masked before anything is stored, a single
//! writer keeps raw events and per-view rows ([`writer`]), and `GET /v1/analytics` reads the
//! metrics ([`report`]). Salts ([`salts`]) and retention ([`retention`]) bound what is kept.

pub mod credential;
mod ingest;
mod report;
pub mod retention;
mod rollups;
pub mod salts;
mod sql;
pub mod writer;

use std::sync::Mutex;

use axum::Router;
use axum::routing::{get, post};
use cinelock_contract::ApiErrorCode;
use cinelock_core::policy::{AttemptLimiter, RateConfig};
use sqlx::AnyPool;

pub use cinelock_core::analytics::beacon::MAX_BATCH_EVENTS;
pub use ingest::MAX_BODY;

use crate::AppError;
use crate::routes::AppState;
use salts::Salts;
use writer::Intake;

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
    fn admit(&self, nonce: &str, now_ms: i64) -> Result<(), AppError> {
        self.limiter
            .lock()
            .expect("limiter lock")
            .attempt(&nonce.to_owned(), now_ms.max(0) as u64)
            .map_err(|_| AppError::Beacon(ApiErrorCode::TooManyBeacons))
    }
}

/// `POST /v1/beacons`, for any origin.
pub fn beacon_routes() -> Router<AppState> {
    Router::new().route("/", post(ingest::beacon))
}

/// `GET /v1/analytics`, `/v1/analytics/views/{view_id}` and `/v1/analytics/ingest`, with an
/// API key.
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(report::report))
        .route("/ingest", get(report::ingest_stats))
        .route("/views/{view_id}", get(report::view))
}
