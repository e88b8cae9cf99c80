//! The router: `app(state)` builds every route, so tests drive it with `oneshot`.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{HeaderValue, Method, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use cinelock_contract::Health;
use cinelock_core::RecipientPublicKey;
use cinelock_core::policy::TokenKeys;
use sqlx::AnyPool;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::analytics::{self, Analytics};
use crate::auth::TokenSigner;
use crate::config::Settings;
use crate::playback::Geo;
use crate::playback::guesses::Hashers;
use crate::storage::Storage;
use crate::{AppError, assets, pages, playback, uploads};

/// JSON bodies of the API are small; anything bigger is refused before parsing.
const API_BODY_LIMIT: usize = 64 * 1024;

/// Shared state handed to every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: Settings,
    db: AnyPool,
    storage: Option<Storage>,
    tokens: TokenSigner,
    viewer_keys: TokenKeys,
    geo: Option<Geo>,
    /// Argon2 hashes allowed at once.
    password_hashers: Hashers,
    /// Beacon intake and its writer (`None` when analytics are off).
    analytics: Option<Analytics>,
}

impl AppState {
    /// State for validated settings: opens the database (applying migrations) and, when
    /// storage is configured, the S3 client.
    pub async fn new(settings: Settings) -> Result<Self, AppError> {
        let db = crate::db::connect(&settings.database_url).await?;
        let storage = settings.storage.as_ref().map(Storage::new);
        let tokens = TokenSigner::new(settings.token_secret.clone());
        let viewer_keys = TokenKeys::new(&settings.viewer_token_secrets)
            .map_err(|e| AppError::Config(format!("CINELOCK_VIEWER_TOKEN_SECRETS: {e}")))?;
        let geo = settings.geoip_db.as_deref().map(Geo::open).transpose()?;
        let settings_hashes = settings.password_hashes;
        let analytics = settings
            .analytics
            .enabled
            .then(|| Analytics::start(db.clone(), settings.analytics.queue_events));
        Ok(Self {
            inner: Arc::new(Inner {
                settings,
                db,
                storage,
                tokens,
                viewer_keys,
                geo,
                password_hashers: Hashers::new(settings_hashes),
                analytics,
            }),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn db(&self) -> &AnyPool {
        &self.inner.db
    }

    /// The object store, or a 503 when none is configured.
    pub fn storage(&self) -> Result<&Storage, AppError> {
        self.inner
            .storage
            .as_ref()
            .ok_or(AppError::StorageNotConfigured)
    }

    pub(crate) fn tokens(&self) -> Result<&TokenSigner, AppError> {
        self.storage()?;
        Ok(&self.inner.tokens)
    }

    pub(crate) fn viewer_keys(&self) -> &TokenKeys {
        &self.inner.viewer_keys
    }

    pub(crate) fn geo(&self) -> Option<&Geo> {
        self.inner.geo.as_ref()
    }

    /// Analytics, when on.
    pub fn analytics(&self) -> Option<&Analytics> {
        self.inner.analytics.as_ref()
    }

    /// The bound on Argon2 hashes running at once.
    pub fn password_hashers(&self) -> &Hashers {
        &self.inner.password_hashers
    }

    /// The secret that signs upload tokens and playback sessions.
    pub(crate) fn token_secret(&self) -> &[u8] {
        &self.inner.settings.token_secret
    }

    pub(crate) fn worker_key(&self) -> Result<&RecipientPublicKey, AppError> {
        self.inner
            .settings
            .worker_key
            .as_ref()
            .ok_or(AppError::StorageNotConfigured)
    }
}

/// Every route of the service.
pub fn app(state: AppState) -> Router {
    let cfg = state.settings();
    let sdk = Router::new()
        .nest_service("/dist", ServeDir::new(cfg.sdk_dir.join("dist")))
        .nest_service("/pkg", ServeDir::new(cfg.sdk_dir.join("pkg")))
        // The SDK is fetched by pages on other origins (the embed snippet).
        .layer(SetResponseHeaderLayer::overriding(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ));
    let api = Router::new()
        .route("/uploads", post(uploads::create))
        .route("/uploads/{id}", get(uploads::show).delete(uploads::abort))
        .route("/uploads/{id}/sign", post(uploads::sign))
        .route("/uploads/{id}/complete", post(uploads::complete))
        .route("/assets/{id}", get(assets::show))
        .route("/assets/{id}/cancel", post(assets::cancel))
        .route(
            "/assets/{id}/policy",
            get(playback::get_policy).put(playback::put_policy),
        )
        .route("/assets/{id}/viewer-tokens", post(playback::mint_token))
        .route(
            "/viewer-token-keys",
            post(playback::viewer_keys::create_handler).get(playback::viewer_keys::list_handler),
        )
        .route(
            "/viewer-token-keys/{id}",
            axum::routing::delete(playback::viewer_keys::revoke_handler),
        )
        .nest("/analytics", analytics::api_routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(API_BODY_LIMIT))
        .layer(
            CorsLayer::new()
                .allow_origin(allow_origin(&cfg.allowed_origins))
                .allow_methods([Method::GET, Method::POST, Method::DELETE])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]),
        );
    // Players embedded on any site ask for sessions: the asset's policy (origin allow-list
    // included) decides, not CORS.
    let play = Router::new()
        .route("/{id}", post(playback::play))
        .route("/{id}/urls", post(playback::urls))
        .layer(DefaultBodyLimit::max(API_BODY_LIMIT))
        .layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::any())
                .allow_methods([Method::POST])
                .allow_headers([header::CONTENT_TYPE]),
        );
    // Players on any site report their views; the credential decides, not CORS. Beacons are
    // `text/plain`, so browsers send them without a preflight.
    let beacons = analytics::beacon_routes().layer(
        CorsLayer::new()
            .allow_origin(AllowOrigin::any())
            .allow_methods([Method::POST])
            .allow_headers([header::CONTENT_TYPE]),
    );
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/v1/beacons", beacons)
        .route("/embed.html", get(pages::embed))
        .nest("/v1/play", play)
        .nest("/v1", api)
        .nest("/sdk", sdk)
        .fallback_service(ServeDir::new(&cfg.demo_dir).fallback(get(not_found)))
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            pages::with_page_headers,
        ))
        .with_state(state)
}

/// The configured browser origins (none, or `*`: any origin). Shared with the embedded S3
/// store, which must admit the same pages.
pub(crate) fn allow_origin(allowed: &[String]) -> AllowOrigin {
    let origins: Vec<HeaderValue> = allowed.iter().filter_map(|o| o.parse().ok()).collect();
    if origins.is_empty() || allowed.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins)
    }
}

async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        storage: state.inner.storage.is_some(),
    })
}

async fn not_found() -> AppError {
    AppError::NotFound
}
