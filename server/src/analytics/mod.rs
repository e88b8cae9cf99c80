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

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use cinelock_core::analytics::beacon::MAX_BATCH_EVENTS;
pub use ingest::MAX_BODY;
pub use service::Analytics;

use crate::state::AppState;

/// `POST /v1/beacons`, for any origin.
pub fn beacon_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ingest::beacon))
}

/// `GET /v1/analytics`, `/v1/analytics/views/{view_id}` and `/v1/analytics/ingest`, with an
/// API key.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report::report))
        .routes(routes!(report::ingest_stats))
        .routes(routes!(report::view))
}
