//! Prometheus metrics: the registry and what is counted (served by [`crate::admin`] on the
//! admin address, never on the public one).
//!
//! Counted as they happen: HTTP requests by route pattern, method and status, with latency
//! histograms; uploads created, completed, aborted and abandoned, and sealed bytes completed;
//! key releases granted and denied by reason. Read from the database at each scrape, so
//! separate worker processes count too: jobs by state, the queue depth, and the transcode
//! seconds of finished jobs. Labels hold route patterns (`/v1/assets/{id}`), never paths,
//! ids, addresses or query strings.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

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
    /// Sets the figures read from the database: jobs by state, the queue depth, and the
    /// seconds finished jobs took.
    pub fn set_jobs(&self, by_state: &[(&str, i64)], queue_depth: i64, job_seconds: f64) {
        for (state, n) in by_state {
            self.jobs
                .get_or_create(&StateLabels {
                    state: (*state).to_owned(),
                })
                .set(*n);
        }
        self.queue_depth.set(queue_depth);
        self.transcode_seconds.set(job_seconds);
    }

    /// The metrics in Prometheus' text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String does not fail");
        out
    }

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

    /// Counts a request answered with `status` after `seconds`, by its route pattern.
    pub fn request(&self, route: &str, method: &str, status: u16, seconds: f64) {
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
