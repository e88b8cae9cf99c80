//! The state every handler shares ([`AppState`]): settings, the database, the object store,
//! the token signers, the country database, the password-hash bound and analytics. Handlers
//! take it as `State<AppState>`; it depends on no handler, so nothing imports in a circle.

use std::sync::Arc;

use cinelock_core::RecipientPublicKey;
use cinelock_core::policy::TokenKeys;
use sqlx::AnyPool;

use crate::AppError;
use crate::analytics::service::Analytics;
use crate::auth::TokenSigner;
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::playback::client::Geo;
use crate::playback::guesses::Hashers;
use crate::sdk_files::SdkFiles;
use crate::storage::Storage;

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
    metrics: Metrics,
    /// The SDK's files, read at start (sdk_files.rs).
    sdk: Arc<SdkFiles>,
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
        let sdk_dir = settings.sdk_dir.clone();
        let sdk = tokio::task::spawn_blocking(move || SdkFiles::load(sdk_dir.as_deref()))
            .await
            .map_err(|e| AppError::Config(format!("reading the SDK: {e}")))??
            .into();
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
                metrics: Metrics::default(),
                sdk,
            }),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The SDK's files as served (`/sdk/…`).
    pub fn sdk(&self) -> &Arc<SdkFiles> {
        &self.inner.sdk
    }

    pub fn db(&self) -> &AnyPool {
        &self.inner.db
    }

    /// This process's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
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
