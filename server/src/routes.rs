//! The router: `app(state)` builds every route, so tests drive it with `oneshot`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::{AppError, Config};

/// Shared, read-only state handed to every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Config>,
}

impl AppState {
    /// State for a validated configuration.
    pub fn new(config: Config) -> Self {
        Self {
            inner: Arc::new(config),
        }
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &Config {
        &self.inner
    }
}

/// Every route of the service.
pub fn app(state: AppState) -> Router {
    let cfg = state.config();
    let sdk = Router::new()
        .nest_service("/dist", ServeDir::new(cfg.sdk_dir.join("dist")))
        .nest_service("/pkg", ServeDir::new(cfg.sdk_dir.join("pkg")))
        // The SDK is fetched by pages on other origins (the embed snippet).
        .layer(SetResponseHeaderLayer::overriding(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ));
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/sdk", sdk)
        .fallback_service(ServeDir::new(&cfg.demo_dir).fallback(get(not_found)))
        .with_state(state)
}

async fn healthz(State(_): State<AppState>) -> Json<Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

async fn not_found() -> AppError {
    AppError::NotFound
}
