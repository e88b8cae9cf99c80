//! Cinelock's wire contract, defined once: every JSON body the server and the browser SDK
//! exchange, the events and statistics the SDK hands to pages, and the error codes of both.
//!
//! - The server answers with these types (axum's `Json`) and reads its requests into them.
//! - The SDK (`sdk-wasm`) reads the server's answers into them, writes its requests from them,
//!   and builds its events and errors from them.
//! - The npm package's TypeScript declarations (`npm/src/generated/contract.ts`) are generated
//!   from them ([`typescript`]); a test fails when the checked-in file is not what the types
//!   generate, so the TypeScript cannot drift from the Rust.
//!
//! Field names are the wire names: snake_case in the HTTP API, camelCase in what the SDK hands
//! to JavaScript (events, statistics). Numbers that are sizes or times fit a JavaScript number
//! (below 2^53) and are declared as `number`.

pub mod analytics;
pub mod assets;
pub mod captions;
mod codes;
pub mod errors;
pub mod events;
#[cfg(feature = "openapi")]
mod openapi;
pub mod playback;
pub mod typescript;
pub mod uploads;
pub mod webhooks;

pub use errors::{ApiErrorCode, ErrorBody, ErrorCode, ErrorDetail};

/// Whether an HTTP status is worth retrying (the core's one rule, for the SDK's API calls).
pub use cinelock_core::store::retryable_status;

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// The server's version.
    pub version: String,
    /// Whether an object store is configured (uploads and playback on).
    pub storage: bool,
}
