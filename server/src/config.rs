//! Configuration: parsed from flags and `CINELOCK_*` environment variables, validated once at
//! start-up into [`Settings`], so that a bad setting stops the server with a clear message
//! instead of failing on the first request.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cinelock_core::RecipientPublicKey;
use cinelock_core::policy::Cidr;
use cinelock_core::upload::ChecksumAlgorithm;
use clap::{Args, Parser, Subcommand};

use crate::AppError;
use crate::kek::Kek;
use crate::transcode::settings::WorkerSettings;

/// `cinelock-server [COMMAND] [FLAGS]`: serves by default.
#[derive(Debug, Clone, Parser)]
#[command(name = "cinelock-server", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

/// One-off administrative commands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Serve the API, the SDK and the demo (the default).
    Serve,
    /// Create an API key for a customer backend and print it (shown once; stored hashed).
    CreateApiKey {
        /// A label for the key.
        #[arg(long)]
        name: String,
        /// Comma-separated scopes: uploads:write, uploads:read.
        #[arg(long, default_value = "uploads:write,uploads:read")]
        scopes: String,
    },
    /// List the API keys (id, name, scopes, created, revoked; never the key), one JSON line each.
    ListApiKeys,
    /// Revoke an API key by id (from list-api-keys): every later request with it gets 401.
    RevokeApiKey {
        /// The key's id.
        #[arg(long)]
        id: String,
    },
    /// Write the bucket CORS rules the browser needs (PUT from the allowed origins, ETag exposed).
    ConfigureBucketCors,
    /// Create the transcode workers' key pair: write the secret key (hex, mode 0600) to `--out`
    /// and print the public key (hex). An existing key file is kept, never overwritten: its
    /// public key is printed instead, so scripts can run this every time.
    GenerateWorkerKey {
        /// Where the secret key goes.
        #[arg(long)]
        out: PathBuf,
    },
    /// Create a key-encryption key file (32 random bytes in hex, mode 0600) that wraps every
    /// asset's content key at rest. An existing file is kept, never overwritten.
    GenerateKek {
        /// Where the key goes.
        #[arg(long)]
        out: PathBuf,
    },
    /// Run transcode workers only (no HTTP): claim jobs from the database, read sealed sources
    /// from the bucket, write sealed packages back. Run as many as you like, anywhere.
    Worker {
        /// Jobs this process works on at once.
        #[arg(long, env = "CINELOCK_WORKER_CONCURRENCY", default_value_t = 1)]
        concurrency: usize,
    },
}

/// What the validated settings are for: web files are only needed to serve, upload tokens
/// only to serve, a worker key only to transcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Serve,
    Worker,
}

/// Server settings as given (flags win over environment variables).
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port and prints it).
    #[arg(long, env = "CINELOCK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Admin address: `/metrics` (Prometheus) is served there only, never on `CINELOCK_LISTEN`.
    /// The default is a free loopback port, printed at start; set a fixed one in production.
    #[arg(long, env = "CINELOCK_ADMIN_LISTEN", default_value = "127.0.0.1:0")]
    pub admin_listen: SocketAddr,
    /// Directory of the demo pages (served at `/`).
    #[arg(long, env = "CINELOCK_DEMO_DIR", default_value = "player-demo")]
    pub demo_dir: PathBuf,
    /// Directory of the built npm package (its `dist/` and `pkg/` are served under `/sdk/`).
    #[arg(long, env = "CINELOCK_SDK_DIR", default_value = "npm")]
    pub sdk_dir: PathBuf,
    /// Database URL: `sqlite://PATH?mode=rwc` (default) or `postgres://...`.
    #[arg(
        long,
        env = "CINELOCK_DATABASE_URL",
        default_value = "sqlite://.cinelock/cinelock.db?mode=rwc"
    )]
    pub database_url: String,
    /// S3 endpoint URL (AWS or any S3-compatible store). Without it the upload API is off.
    #[arg(long, env = "CINELOCK_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Directory of an embedded S3 store, started in-process when CINELOCK_S3_ENDPOINT is not set
    /// (the demo's: no external service). Not for production.
    #[arg(long, env = "CINELOCK_EMBEDDED_S3_DIR")]
    pub embedded_s3_dir: Option<PathBuf>,
    /// Loopback address of the embedded S3 store (port 0 picks a free port and prints it).
    #[arg(
        long,
        env = "CINELOCK_EMBEDDED_S3_LISTEN",
        default_value = "127.0.0.1:0"
    )]
    pub embedded_s3_listen: SocketAddr,
    /// S3 region (Garage: `garage`).
    #[arg(long, env = "CINELOCK_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    /// Bucket that receives sealed uploads.
    #[arg(long, env = "CINELOCK_S3_BUCKET", default_value = "cinelock")]
    pub s3_bucket: String,
    /// Access key id (environment only, so it stays out of process listings).
    #[arg(skip = std::env::var("CINELOCK_S3_ACCESS_KEY").unwrap_or_default())]
    pub s3_access_key: String,
    /// Secret access key (environment only).
    #[arg(skip = std::env::var("CINELOCK_S3_SECRET_KEY").unwrap_or_default())]
    pub s3_secret_key: String,
    /// Use virtual-hosted-style bucket addressing instead of path-style.
    #[arg(long, env = "CINELOCK_S3_VIRTUAL_HOSTED")]
    pub s3_virtual_hosted: bool,
    /// Browser origins allowed to call the API and PUT to the bucket (comma-separated).
    #[arg(long, env = "CINELOCK_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Hex key (≥ 32 bytes) that signs upload tokens (environment only).
    #[arg(skip = std::env::var("CINELOCK_TOKEN_SECRET").unwrap_or_default())]
    pub token_secret: String,
    /// The transcode workers' X25519 public key (hex): uploads are sealed to it.
    #[arg(long, env = "CINELOCK_WORKER_PUBLIC_KEY")]
    pub worker_public_key: Option<String>,
    /// Lifetime of a browser's upload token, in seconds.
    #[arg(long, env = "CINELOCK_UPLOAD_TOKEN_TTL", default_value_t = 6 * 3600)]
    pub upload_token_ttl: u64,
    /// Lifetime of a presigned part URL, in seconds.
    #[arg(long, env = "CINELOCK_PART_URL_TTL", default_value_t = 900)]
    pub part_url_ttl: u64,
    /// Abort multipart uploads untouched for this many seconds.
    #[arg(long, env = "CINELOCK_ABANDON_AFTER", default_value_t = 24 * 3600)]
    pub abandon_after: u64,
    /// How often the reaper looks for abandoned uploads, in seconds.
    #[arg(long, env = "CINELOCK_REAPER_INTERVAL", default_value_t = 60)]
    pub reaper_interval: u64,
    /// A well-known API key to install for local development. Never in production.
    #[arg(long, env = "CINELOCK_DEV_API_KEY")]
    pub dev_api_key: Option<String>,
    /// Skip the start-up check of the bucket's CORS rules.
    #[arg(long, env = "CINELOCK_SKIP_CORS_CHECK")]
    pub skip_cors_check: bool,
    /// The transcode workers' secret key file (hex; `generate-worker-key` makes it). Needed by
    /// workers, never by a server that runs none.
    #[arg(long, env = "CINELOCK_WORKER_SECRET_KEY_FILE")]
    pub worker_secret_key_file: Option<PathBuf>,
    /// The key-encryption key file (`generate-kek` makes it): wraps content keys at rest.
    #[arg(long, env = "CINELOCK_KEK_FILE")]
    pub kek_file: Option<PathBuf>,
    /// Transcode workers to run inside `serve` (the demo's; production runs `worker` apart).
    #[arg(long, env = "CINELOCK_WORKERS", default_value_t = 0)]
    pub workers: usize,
    /// Where workers keep each job's private plaintext directory.
    #[arg(long, env = "CINELOCK_WORK_DIR", default_value = ".cinelock/work")]
    pub work_dir: PathBuf,
    /// Seconds a job's lease lasts without a heartbeat (a dead worker's job is claimed again
    /// after this).
    #[arg(long, env = "CINELOCK_JOB_LEASE", default_value_t = 30)]
    pub job_lease: u64,
    /// x264 preset for every rendition (slower presets: smaller files, more CPU).
    #[arg(long, env = "CINELOCK_X264_PRESET", default_value = "veryfast")]
    pub x264_preset: String,
    /// Longest source a worker transcodes, in seconds (longer ones fail: source_too_large).
    #[arg(long, env = "CINELOCK_MAX_SOURCE_SECONDS", default_value_t = 4 * 3600)]
    pub max_source_seconds: u64,
    /// Largest source frame a worker transcodes, in pixels (default 4096 × 2304).
    #[arg(long, env = "CINELOCK_MAX_SOURCE_PIXELS", default_value_t = 4096 * 2304)]
    pub max_source_pixels: u64,
    /// Highest source frame rate a worker transcodes, in frames per second.
    #[arg(long, env = "CINELOCK_MAX_SOURCE_FPS", default_value_t = 120)]
    pub max_source_fps: u64,
    /// Wall-clock seconds one transcode attempt may take; past it the job fails for good
    /// (job_timeout). ffmpeg also gets this much CPU time per core, and files of at most 16 GiB.
    #[arg(long, env = "CINELOCK_JOB_TIMEOUT", default_value_t = 6 * 3600)]
    pub job_timeout: u64,
    /// ffmpeg binary.
    #[arg(long, env = "CINELOCK_FFMPEG", default_value = "ffmpeg")]
    pub ffmpeg: String,
    /// ffprobe binary.
    #[arg(long, env = "CINELOCK_FFPROBE", default_value = "ffprobe")]
    pub ffprobe: String,
    /// Secrets (hex, 32+ bytes each, comma-separated; the first mints) that customers' backends
    /// sign viewer tokens with. Several allow rotation (environment only).
    #[arg(skip = std::env::var("CINELOCK_VIEWER_TOKEN_SECRETS").unwrap_or_default())]
    pub viewer_token_secrets: String,
    /// Reverse proxies in front of the server whose forwarded header is believed (comma-separated
    /// addresses or CIDRs, e.g. 10.0.0.0/8). Unset: the client is the socket peer, whatever any
    /// header says.
    #[arg(long, env = "CINELOCK_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// The header those proxies append the client's address to (x-forwarded-for by default).
    /// The rightmost address that is not a trusted proxy is the client.
    #[arg(long, env = "CINELOCK_CLIENT_IP_HEADER")]
    pub client_ip_header: Option<String>,
    /// A MaxMind-format country database (GeoLite2-Country, GeoIP2, DB-IP) for country
    /// allow-lists. Without it, an asset with a country allow-list is denied (geo_unknown).
    #[arg(long, env = "CINELOCK_GEOIP_DB")]
    pub geoip_db: Option<PathBuf>,
    /// Lifetime of a presigned segment URL, in seconds.
    #[arg(long, env = "CINELOCK_PLAY_URL_TTL", default_value_t = 900)]
    pub play_url_ttl: u64,
    /// Lifetime of a playback session (asking for more URLs), in seconds; never longer than
    /// the viewer token it was granted on.
    #[arg(long, env = "CINELOCK_PLAY_SESSION_TTL", default_value_t = 6 * 3600)]
    pub play_session_ttl: u64,
    /// Password hashes (Argon2, about 19 MiB each) checked at once; more guesses at the same
    /// time are answered 429 at once. Default: the number of CPUs.
    #[arg(long, env = "CINELOCK_PASSWORD_HASHES")]
    pub password_hashes: Option<usize>,
    /// Largest plaintext of a growing upload (a recording, created without a size), in bytes:
    /// part URLs past it are refused. Default 20 GiB (about 9 hours at 5 Mbit/s).
    #[arg(long, env = "CINELOCK_MAX_GROWING_BYTES", default_value_t = 20 << 30)]
    pub max_growing_bytes: u64,
    /// The checksum new uploads' parts carry, which the store verifies: `crc32c` (the cheapest
    /// for browser and store) or `sha256`, for a store that verifies no CRC32C. An upload keeps
    /// the one it was created with.
    #[arg(long, env = "CINELOCK_PART_CHECKSUM", default_value_t = ChecksumAlgorithm::default(), value_parser = part_checksum)]
    pub part_checksum: ChecksumAlgorithm,
    /// Let webhook endpoints be on loopback or private addresses (default: refused, so a webhook
    /// cannot reach the server's own network). For development and tests.
    #[arg(long, env = "CINELOCK_WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,
    /// Milliseconds before a failed webhook delivery's first retry (then 4× longer each time, at
    /// most an hour; 8 attempts).
    #[arg(long, env = "CINELOCK_WEBHOOK_RETRY_BASE_MS", default_value_t = 5_000)]
    pub webhook_retry_base_ms: u64,
    /// Playback analytics (beacons from players, `GET /v1/analytics`): on unless `false`.
    #[arg(long, env = "CINELOCK_ANALYTICS", default_value_t = true, action = clap::ArgAction::Set)]
    pub analytics: bool,
    /// Days raw analytics events are kept (1 to 760); per-view rollups are kept 760 days (25
    /// months).
    #[arg(long, env = "CINELOCK_ANALYTICS_RETENTION_DAYS", default_value_t = 90)]
    pub analytics_retention_days: u64,
    /// Analytics events accepted but not yet written that the server holds at most; past it
    /// beacons are answered 503 and the player sends them again later.
    #[arg(long, env = "CINELOCK_ANALYTICS_QUEUE", default_value_t = 100_000)]
    pub analytics_queue: usize,
    /// Also store each view's truncated network (IPv4 /24, IPv6 /48). Off: no address at all.
    #[arg(long, env = "CINELOCK_ANALYTICS_STORE_NETWORK", default_value_t = false, action = clap::ArgAction::Set)]
    pub analytics_store_network: bool,
}

/// Analytics settings.
#[derive(Debug, Clone)]
pub struct AnalyticsSettings {
    pub enabled: bool,
    pub retention: Duration,
    pub queue_events: usize,
    pub store_network: bool,
}

/// Where sealed uploads go.
#[derive(Clone)]
pub struct StorageSettings {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    pub path_style: bool,
}

impl std::fmt::Debug for StorageSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageSettings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("path_style", &self.path_style)
            .finish_non_exhaustive()
    }
}

/// The embedded S3 store's settings; it is started by [`crate::embedded_s3`], which then
/// fills in [`Settings::storage`].
#[derive(Clone)]
pub struct EmbeddedS3Settings {
    pub dir: PathBuf,
    pub listen: SocketAddr,
    pub bucket: String,
    /// `(access key, secret key)` from the environment; random ones are made at start if absent.
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for EmbeddedS3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedS3Settings")
            .field("dir", &self.dir)
            .field("listen", &self.listen)
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

/// Validated settings: everything typed and checked. Its `Debug` output hides secrets.
#[derive(Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    pub demo_dir: PathBuf,
    /// The built SDK to serve; none for a worker, which serves no web files (and so does not
    /// read and compress them at start).
    pub sdk_dir: Option<PathBuf>,
    pub database_url: String,
    /// The S3 endpoint in use: configured, or (once started) the embedded store's.
    pub storage: Option<StorageSettings>,
    /// An embedded store to start (only when no endpoint is configured).
    pub embedded_s3: Option<EmbeddedS3Settings>,
    pub allowed_origins: Vec<String>,
    pub token_secret: Vec<u8>,
    pub worker_key: Option<RecipientPublicKey>,
    pub upload_token_ttl: Duration,
    pub part_url_ttl: Duration,
    pub abandon_after: Duration,
    pub reaper_interval: Duration,
    pub dev_api_key: Option<String>,
    pub check_cors: bool,
    /// The KEK, when configured (workers wrap content keys with it; playback unwraps).
    pub kek: Option<Kek>,
    /// Worker settings, when this process may transcode.
    pub worker: Option<Arc<WorkerSettings>>,
    /// Workers to run inside `serve`.
    pub workers: usize,
    pub viewer_token_secrets: Vec<Vec<u8>>,
    /// Proxies whose forwarded header is believed (none: the socket peer is the client).
    pub trusted_proxies: Vec<Cidr>,
    /// The header trusted proxies append the client's address to.
    pub client_ip_header: String,
    pub geoip_db: Option<PathBuf>,
    pub play_url_ttl: Duration,
    pub play_session_ttl: Duration,
    pub password_hashes: usize,
    pub max_growing_bytes: u64,
    /// The checksum new uploads' parts carry.
    pub part_checksum: ChecksumAlgorithm,
    pub webhooks: WebhookSettings,
    pub analytics: AnalyticsSettings,
}

/// Webhook delivery settings.
#[derive(Debug, Clone, Copy)]
pub struct WebhookSettings {
    pub allow_private: bool,
    pub retry_base_ms: u64,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A database URL may carry a password; token secret and dev key are credentials.
        let db = if self.database_url.contains('@') {
            "<redacted>"
        } else {
            self.database_url.as_str()
        };
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("admin_listen", &self.admin_listen)
            .field("demo_dir", &self.demo_dir)
            .field("sdk_dir", &self.sdk_dir)
            .field("database_url", &db)
            .field("storage", &self.storage)
            .field("embedded_s3", &self.embedded_s3)
            .field("allowed_origins", &self.allowed_origins)
            .field("token_secret", &"<redacted>")
            .field("worker_key", &self.worker_key)
            .field("upload_token_ttl", &self.upload_token_ttl)
            .field("part_url_ttl", &self.part_url_ttl)
            .field("abandon_after", &self.abandon_after)
            .field("reaper_interval", &self.reaper_interval)
            .field(
                "dev_api_key",
                &self.dev_api_key.as_ref().map(|_| "<redacted>"),
            )
            .field("check_cors", &self.check_cors)
            .field("kek", &self.kek)
            .field("worker", &self.worker)
            .field("workers", &self.workers)
            .field("viewer_token_secrets", &self.viewer_token_secrets.len())
            .field("trusted_proxies", &self.trusted_proxies)
            .field("client_ip_header", &self.client_ip_header)
            .field("geoip_db", &self.geoip_db)
            .field("play_url_ttl", &self.play_url_ttl)
            .field("play_session_ttl", &self.play_session_ttl)
            .field("password_hashes", &self.password_hashes)
            .field("max_growing_bytes", &self.max_growing_bytes)
            .field("part_checksum", &self.part_checksum)
            .field("webhooks", &self.webhooks)
            .field("analytics", &self.analytics)
            .finish()
    }
}

/// `CINELOCK_PART_CHECKSUM`: an algorithm the core knows, by its name.
fn part_checksum(name: &str) -> Result<ChecksumAlgorithm, String> {
    ChecksumAlgorithm::parse(name).ok_or_else(|| {
        let names: Vec<&str> = ChecksumAlgorithm::ALL.iter().map(|a| a.name()).collect();
        format!("one of {}", names.join(", "))
    })
}

impl Config {
    /// Checks everything a server needs once and produces typed [`Settings`].
    pub fn validate(self) -> Result<Settings, AppError> {
        self.validate_for(Role::Serve)
    }

    /// Checks everything `role` needs once and produces typed [`Settings`].
    pub fn validate_for(self, role: Role) -> Result<Settings, AppError> {
        let bad = |m: String| Err(AppError::Config(m));
        let web_files = [
            (
                self.demo_dir.join("index.html"),
                "the demo pages (CINELOCK_DEMO_DIR)",
            ),
            (
                self.sdk_dir.join("dist/index.js"),
                "the built SDK (CINELOCK_SDK_DIR; run scripts/build-sdk)",
            ),
            (
                self.sdk_dir.join("pkg/cinelock_sdk_wasm_bg.wasm"),
                "the SDK's wasm (run scripts/build-sdk)",
            ),
        ];
        let must_exist = if role == Role::Serve {
            &web_files[..]
        } else {
            &[]
        };
        for (path, what) in must_exist {
            if !path.is_file() {
                return bad(format!("{} not found: {what}", path.display()));
            }
        }
        if !(self.database_url.starts_with("sqlite:") || self.database_url.starts_with("postgres"))
        {
            return bad("CINELOCK_DATABASE_URL must start with sqlite: or postgres://".into());
        }
        // A configured endpoint wins over the embedded store, so a script that asks for the
        // embedded store by default (scripts/demo) still uses a real store when one is set.
        let (storage, embedded_s3) = match (self.s3_endpoint, self.embedded_s3_dir) {
            (Some(endpoint), _) => {
                if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                    return bad(format!(
                        "CINELOCK_S3_ENDPOINT must be an http(s) URL, not {endpoint:?}"
                    ));
                }
                if self.s3_access_key.is_empty() || self.s3_secret_key.is_empty() {
                    return bad("CINELOCK_S3_ACCESS_KEY and CINELOCK_S3_SECRET_KEY must be set with CINELOCK_S3_ENDPOINT".into());
                }
                if self.s3_bucket.is_empty() {
                    return bad("CINELOCK_S3_BUCKET must not be empty".into());
                }
                let storage = StorageSettings {
                    endpoint,
                    region: self.s3_region,
                    bucket: self.s3_bucket,
                    access_key: self.s3_access_key,
                    secret_key: self.s3_secret_key,
                    path_style: !self.s3_virtual_hosted,
                };
                (Some(storage), None)
            }
            (None, Some(dir)) => {
                if !self.embedded_s3_listen.ip().is_loopback() {
                    return bad(format!(
                        "the embedded S3 store is for local use: CINELOCK_EMBEDDED_S3_LISTEN must be a loopback address, not {}",
                        self.embedded_s3_listen
                    ));
                }
                // The embedded store keeps a bucket as a directory: only plain names.
                let b = &self.s3_bucket;
                let plain = b.bytes().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.'
                });
                if !(3..=63).contains(&b.len()) || !plain || b.starts_with('.') || b.contains("..")
                {
                    return bad(format!(
                        "CINELOCK_S3_BUCKET {b:?} is not a valid bucket name (3 to 63 of a-z 0-9 . -)"
                    ));
                }
                let credentials = match (self.s3_access_key.is_empty(), self.s3_secret_key.is_empty()) {
                    (true, true) => None,
                    (false, false) => Some((self.s3_access_key, self.s3_secret_key)),
                    _ => return bad("set both CINELOCK_S3_ACCESS_KEY and CINELOCK_S3_SECRET_KEY, or neither (the embedded store then makes its own)".into()),
                };
                let embedded = EmbeddedS3Settings {
                    dir,
                    listen: self.embedded_s3_listen,
                    bucket: self.s3_bucket,
                    credentials,
                };
                (None, Some(embedded))
            }
            (None, None) => (None, None),
        };
        let uploads_on = storage.is_some() || embedded_s3.is_some();
        let token_secret =
            if uploads_on && role == Role::Serve {
                match hex::decode(self.token_secret.trim()) {
                    Ok(k) if k.len() >= 32 => k,
                    _ => return bad(
                        "CINELOCK_TOKEN_SECRET must be at least 32 bytes of hex (64+ hex digits)"
                            .into(),
                    ),
                }
            } else {
                Vec::new()
            };
        let mut worker_key = match self.worker_public_key.as_deref() {
            // A worker derives it from its secret key below.
            None if uploads_on && role == Role::Serve => {
                return bad(
                    "CINELOCK_WORKER_PUBLIC_KEY is required with storage: uploads are sealed to it"
                        .into(),
                );
            }
            None => None,
            Some(h) => match hex::decode(h.trim())
                .ok()
                .and_then(|b| RecipientPublicKey::from_bytes(&b).ok())
            {
                Some(k) => Some(k),
                None => return bad(
                    "CINELOCK_WORKER_PUBLIC_KEY is not a valid 32-byte X25519 public key in hex"
                        .into(),
                ),
            },
        };
        for origin in &self.allowed_origins {
            if origin != "*" && !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return bad(format!(
                    "allowed origin {origin:?} must be \"*\" or start with http:// or https://"
                ));
            }
        }
        if self.part_url_ttl < 60 || self.part_url_ttl > 7 * 24 * 3600 {
            return bad("CINELOCK_PART_URL_TTL must be between 60 s and 7 days".into());
        }
        if self.upload_token_ttl < self.part_url_ttl {
            return bad(
                "CINELOCK_UPLOAD_TOKEN_TTL must not be shorter than CINELOCK_PART_URL_TTL".into(),
            );
        }
        if self.reaper_interval == 0 {
            return bad("CINELOCK_REAPER_INTERVAL must be at least 1 s".into());
        }
        let kek = self.kek_file.as_deref().map(Kek::from_file).transpose()?;
        let mut viewer_token_secrets = Vec::new();
        for (i, h) in self
            .viewer_token_secrets
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .enumerate()
        {
            match hex::decode(h) {
                Ok(k) if k.len() >= 32 => viewer_token_secrets.push(k),
                _ => {
                    return bad(format!(
                        "CINELOCK_VIEWER_TOKEN_SECRETS entry {} is not 32+ bytes of hex",
                        i + 1
                    ));
                }
            }
        }
        if !(30..=7 * 24 * 3600).contains(&self.play_url_ttl) {
            return bad("CINELOCK_PLAY_URL_TTL must be between 30 s and 7 days".into());
        }
        if self.play_session_ttl < self.play_url_ttl {
            return bad(
                "CINELOCK_PLAY_SESSION_TTL must not be shorter than CINELOCK_PLAY_URL_TTL".into(),
            );
        }
        let mut trusted_proxies = Vec::new();
        for entry in self
            .trusted_proxies
            .iter()
            .map(|e| e.trim())
            .filter(|e| !e.is_empty())
        {
            match entry.parse::<Cidr>() {
                Ok(c) => trusted_proxies.push(c),
                Err(e) => return bad(format!("CINELOCK_TRUSTED_PROXIES: {e}")),
            }
        }
        if self.client_ip_header.is_some() && trusted_proxies.is_empty() {
            return bad("CINELOCK_CLIENT_IP_HEADER needs CINELOCK_TRUSTED_PROXIES: a forwarded header is believed only from the proxies listed there".into());
        }
        let client_ip_header = self
            .client_ip_header
            .unwrap_or_else(|| "x-forwarded-for".into())
            .to_ascii_lowercase();
        if axum::http::HeaderName::from_bytes(client_ip_header.as_bytes()).is_err() {
            return bad(format!(
                "CINELOCK_CLIENT_IP_HEADER {client_ip_header:?} is not a header name"
            ));
        }
        if let Some(db) = &self.geoip_db
            && !db.is_file()
        {
            return bad(format!("CINELOCK_GEOIP_DB {} does not exist", db.display()));
        }
        if !(1..=760).contains(&self.analytics_retention_days) {
            return bad("CINELOCK_ANALYTICS_RETENTION_DAYS must be between 1 and 760".into());
        }
        if self.analytics_queue < cinelock_core::analytics::beacon::MAX_BATCH_EVENTS {
            return bad(format!(
                "CINELOCK_ANALYTICS_QUEUE must hold at least one beacon ({} events)",
                cinelock_core::analytics::beacon::MAX_BATCH_EVENTS
            ));
        }
        let password_hashes = match self.password_hashes {
            Some(0) => return bad("CINELOCK_PASSWORD_HASHES must be at least 1".into()),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(2, |n| n.get()),
        };
        if self.max_growing_bytes == 0 {
            return bad("CINELOCK_MAX_GROWING_BYTES must be at least 1".into());
        }
        let transcodes = role == Role::Worker || self.workers > 0;
        let worker = if transcodes {
            let (Some(sk_file), Some(kek)) = (&self.worker_secret_key_file, &kek) else {
                return bad(
                    "transcode workers need CINELOCK_WORKER_SECRET_KEY_FILE and CINELOCK_KEK_FILE"
                        .into(),
                );
            };
            if !uploads_on {
                return bad("transcode workers need storage (CINELOCK_S3_ENDPOINT)".into());
            }
            let secret_key = crate::worker_key::load_secret(sk_file)?;
            match &worker_key {
                Some(public) if secret_key.public_key() != public => {
                    return bad(format!(
                        "{} does not belong to CINELOCK_WORKER_PUBLIC_KEY: uploads sealed to that key could not be opened",
                        sk_file.display()
                    ));
                }
                Some(_) => {}
                None => worker_key = Some(secret_key.public_key().clone()),
            }
            if !(5..=3600).contains(&self.job_lease) {
                return bad("CINELOCK_JOB_LEASE must be between 5 and 3600 seconds".into());
            }
            const PRESETS: [&str; 9] = [
                "ultrafast",
                "superfast",
                "veryfast",
                "faster",
                "fast",
                "medium",
                "slow",
                "slower",
                "veryslow",
            ];
            if self.max_source_seconds == 0
                || self.max_source_pixels == 0
                || self.max_source_fps == 0
            {
                return bad(
                    "CINELOCK_MAX_SOURCE_SECONDS, _PIXELS and _FPS must be at least 1".into(),
                );
            }
            if self.job_timeout == 0 {
                return bad("CINELOCK_JOB_TIMEOUT must be at least 1 s".into());
            }
            if !PRESETS.contains(&self.x264_preset.as_str()) {
                return bad(format!(
                    "CINELOCK_X264_PRESET must be one of {}",
                    PRESETS.join(", ")
                ));
            }
            Some(Arc::new(WorkerSettings {
                secret_key,
                kek: kek.clone(),
                work_dir: self.work_dir,
                lease: Duration::from_secs(self.job_lease),
                poll: Duration::from_millis(500),
                ffmpeg: self.ffmpeg,
                ffprobe: self.ffprobe,
                preset: self.x264_preset,
                limits: crate::transcode::ladder::Limits {
                    max_seconds: self.max_source_seconds as f64,
                    max_pixels: self.max_source_pixels,
                    max_fps: self.max_source_fps as f64,
                },
                job_timeout: Duration::from_secs(self.job_timeout),
            }))
        } else {
            None
        };
        Ok(Settings {
            listen: self.listen,
            admin_listen: self.admin_listen,
            demo_dir: self.demo_dir,
            sdk_dir: (role == Role::Serve).then_some(self.sdk_dir),
            database_url: self.database_url,
            storage,
            // The embedded store answers CORS itself, for the allowed origins (its own layer).
            check_cors: !self.skip_cors_check && embedded_s3.is_none(),
            embedded_s3,
            allowed_origins: self.allowed_origins,
            token_secret,
            worker_key,
            upload_token_ttl: Duration::from_secs(self.upload_token_ttl),
            part_url_ttl: Duration::from_secs(self.part_url_ttl),
            abandon_after: Duration::from_secs(self.abandon_after),
            reaper_interval: Duration::from_secs(self.reaper_interval),
            dev_api_key: self.dev_api_key,
            kek,
            worker,
            workers: self.workers,
            viewer_token_secrets,
            trusted_proxies,
            client_ip_header,
            geoip_db: self.geoip_db,
            play_url_ttl: Duration::from_secs(self.play_url_ttl),
            play_session_ttl: Duration::from_secs(self.play_session_ttl),
            password_hashes,
            max_growing_bytes: self.max_growing_bytes,
            part_checksum: self.part_checksum,
            webhooks: WebhookSettings {
                allow_private: self.webhook_allow_private,
                retry_base_ms: self.webhook_retry_base_ms.max(1),
            },
            analytics: AnalyticsSettings {
                enabled: self.analytics,
                retention: Duration::from_secs(self.analytics_retention_days * 86_400),
                queue_events: self.analytics_queue,
                store_network: self.analytics_store_network,
            },
        })
    }
}
