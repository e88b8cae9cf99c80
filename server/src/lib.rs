//! Cinelock's server: a thin axum service. It signs S3 multipart upload URLs for browsers that
//! seal their own uploads, checks and completes those uploads, serves the SDK and the demo
//! pages, and never handles media bytes. Its transcode workers ([`transcode`], the `worker`
//! subcommand) turn sealed uploads into sealed, adaptive packages.

pub mod admin;
pub mod analytics;
pub mod assets;
pub mod auth;
pub mod captions;
mod config;
mod db;
pub mod deletion;
pub mod embedded_s3;
mod error;
pub mod jobs;
mod json;
pub mod kek;
mod keys;
pub mod metrics;
pub mod openapi;
mod pages;
pub mod playback;
mod presign;
mod routes;
pub mod sdk_files;
mod signed;
mod sql;
mod state;
mod storage;
pub mod transcode;
pub mod uploads;
pub mod webhooks;
pub mod worker_key;

pub use config::{Cli, Command, Config, EmbeddedS3Settings, Role, Settings, StorageSettings};
pub use db::now_ms;
pub use embedded_s3::EmbeddedS3;
pub use error::AppError;
pub use routes::app;
pub use state::AppState;
pub use storage::Storage;
