//! Prometheus metrics, served at `/metrics` on the admin address (`CINELOCK_ADMIN_LISTEN`,
//! loopback by default), never on the public one.
//!
//! Counted as they happen: HTTP requests by route pattern, method and status, with latency
//! histograms; uploads created, completed, aborted and abandoned, and sealed bytes completed;
//! key releases granted and denied by reason. Read from the database at each scrape, so
//! separate worker processes count too: jobs by state, the queue depth, and the transcode
//! seconds of finished jobs. Labels hold route patterns (`/v1/assets/{id}`), never paths,
//! ids, addresses or query strings.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::AppError;
use crate::state::AppState;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    event: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReleaseLabels {
    outcome: &'static str,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

/// Every metric of one server process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    uploads: Family<EventLabels, Counter>,
    upload_bytes: Counter,
    releases: Family<ReleaseLabels, Counter>,
    jobs: Family<StateLabels, Gauge>,
    queue_depth: Gauge,
    transcode_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("cinelock");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route pattern, method and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 1 ms to about 16 s.
            Histogram::new(exponential_buckets(0.001, 2.0, 15))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route pattern and method",
            latency.clone(),
        );
        let uploads = Family::<EventLabels, Counter>::default();
        registry.register(
            "uploads",
            "Uploads by event: created, completed, aborted, abandoned",
            uploads.clone(),
        );
        let upload_bytes = Counter::default();
        registry.register(
            "upload_sealed_bytes",
            "Sealed bytes of completed uploads",
            upload_bytes.clone(),
        );
        let releases = Family::<ReleaseLabels, Counter>::default();
        registry.register(
            "key_releases",
            "Playback sessions (content key releases) granted, and denied by reason",
            releases.clone(),
        );
        let jobs = Family::<StateLabels, Gauge>::default();
        registry.register(
            "transcode_jobs",
            "Transcode jobs by state (read from the database at each scrape)",
            jobs.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "transcode_queue_depth",
            "Queued transcode jobs whose back-off is over",
            queue_depth.clone(),
        );
        let transcode_seconds = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "transcode_job_seconds",
            "Seconds the stored finished jobs took, all workers together",
            transcode_seconds.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            uploads,
            upload_bytes,
            releases,
            jobs,
            queue_depth,
            transcode_seconds,
        }
    }
}

/// An upload's life event.
#[derive(Debug, Clone, Copy)]
pub enum UploadEvent {
    Created,
    Completed { sealed_bytes: u64 },
    Aborted,
    Abandoned,
}

impl Metrics {
    /// Counts an upload event.
    pub fn upload(&self, event: UploadEvent) {
        let name = match event {
            UploadEvent::Created => "created",
            UploadEvent::Completed { sealed_bytes } => {
                self.upload_bytes.inc_by(sealed_bytes);
                "completed"
            }
            UploadEvent::Aborted => "aborted",
            UploadEvent::Abandoned => "abandoned",
        };
        self.uploads
            .get_or_create(&EventLabels { event: name })
            .inc();
    }

    /// Counts a key release: granted, or denied for `reason`.
    pub fn release(&self, denied: Option<&'static str>) {
        let labels = match denied {
            None => ReleaseLabels {
                outcome: "granted",
                reason: "",
            },
            Some(reason) => ReleaseLabels {
                outcome: "denied",
                reason,
            },
        };
        self.releases.get_or_create(&labels).inc();
    }

    fn request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method: method.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
                method: method.to_owned(),
            })
            .observe(seconds);
    }
}

/// Counts every request of the router it wraps, by its route pattern.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let response = next.run(req).await;
    state.metrics().request(
        &route,
        &method,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

#[derive(Debug, sqlx::FromRow)]
struct JobCount {
    status: String,
    n: i64,
}

/// The metrics in Prometheus' text format, with the database's figures read now.
pub async fn render(state: &AppState) -> Result<String, AppError> {
    let m = state.metrics();
    let counts: Vec<JobCount> =
        sqlx::query_as("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")
            .fetch_all(state.db())
            .await?;
    for state_name in ["queued", "running", "succeeded", "failed", "cancelled"] {
        let n = counts
            .iter()
            .find(|c| c.status == state_name)
            .map_or(0, |c| c.n);
        m.jobs
            .get_or_create(&StateLabels {
                state: state_name.to_owned(),
            })
            .set(n);
    }
    let now = crate::db::now_ms();
    let depth: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status = 'queued' AND run_after <= $1")
            .bind(now)
            .fetch_one(state.db())
            .await?;
    m.queue_depth.set(depth);
    let ms: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(SUM(finished_at - started_at) AS BIGINT) FROM jobs \
         WHERE status = 'succeeded' AND started_at IS NOT NULL AND finished_at IS NOT NULL",
    )
    .fetch_one(state.db())
    .await?;
    m.transcode_seconds.set(ms.unwrap_or(0) as f64 / 1000.0);
    let mut out = String::new();
    encode(&mut out, &m.registry).map_err(|e| AppError::Config(format!("metrics: {e}")))?;
    Ok(out)
}

/// The admin router: `/metrics`.
pub fn admin_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(serve))
        .with_state(state)
}

async fn serve(State(state): State<AppState>) -> Result<Response, AppError> {
    let body = render(&state).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response())
}
