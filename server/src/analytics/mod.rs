//! Playback analytics (`docs/analytics.md`, `docs/privacy.md`): players report their views
//! with beacons ([`ingest`]), personal data is masked before anything is stored, a single
//! writer keeps raw events and per-view rows ([`writer`]), and `GET /v1/analytics` reads the
//! metrics ([`report`]). Salts ([`salts`]) and retention ([`retention`]) bound what is kept.

pub mod credential;
mod ingest;
pub mod masked;
mod report;
pub mod retention;
mod rollups;
pub mod salts;
pub mod service;
pub mod writer;

use axum::Router;
use axum::routing::{get, post};

pub use cinelock_core::analytics::beacon::MAX_BATCH_EVENTS;
pub use ingest::MAX_BODY;
pub use service::Analytics;

use crate::state::AppState;

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
