//! Cinelock's server: a thin axum service. It never handles media bytes; today it answers
//! health checks and serves the SDK and the demo pages.

mod config;
mod error;
mod routes;

pub use config::Config;
pub use error::AppError;
pub use routes::{AppState, app};
