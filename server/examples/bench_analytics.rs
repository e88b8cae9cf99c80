//! The analytics intake under load, on loopback (`scripts/bench-analytics`, figures in
//! `docs/benchmarks.md`). For SQLite, and for PostgreSQL when `initdb` is installed:
//!
//! 1. **raw**: the writer's own batched transaction ([`writer::write`]) called directly on a
//!    fresh database, as fast as it goes: the limit the database sets.
//! 2. **http**: the real server (in this process, listening on 127.0.0.1) taking beacons from
//!    concurrent clients for a fixed time, then draining its queue: events per second from the
//!    first beacon to the last event stored, its ratio to **raw**, and a check that every
//!    event answered 202 was stored (refused ones are counted as shed, never lost silently).
//! 3. **query**: `GET /v1/analytics` (with a breakdown) over a database of ten million events.
//!
//! Arguments: `[seconds per load run (default 10)] [events per beacon (default 50)]
//! [events for the query run (default 10 000 000)]`.

#[path = "../tests/support/postgres.rs"]
#[allow(dead_code)]
mod postgres;

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cinelock_core::analytics::{BeaconEvent, EventKind, Totals};
use cinelock_server::analytics::credential;
use cinelock_server::analytics::masked::{Item, ViewDims};
use cinelock_server::analytics::writer;
use cinelock_server::{AppState, Cli, app, auth, now_ms};
use clap::Parser;
use serde_json::json;

const SECRET: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const CLIENTS: usize = 32;
const SESSIONS: usize = 4_000;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `n` events of one view, from `seq` on: a start, then heartbeats with their totals.
fn events(seq: u32, n: usize) -> Vec<BeaconEvent> {
    (0..n as u32)
        .map(|i| {
            let seq = seq + i;
            let at_ms = u64::from(seq) * 10_000 + 1_000;
            let (event, totals) = match seq {
                0 => (
                    EventKind::Viewstart {
                        duration_ms: 3_600_000,
                    },
                    None,
                ),
                1 => (EventKind::Playing { startup_ms: 700 }, None),
                _ => {
                    let playing = at_ms - 1_000;
                    let t = Totals {
                        watch_ms: at_ms - 500,
                        playing_ms: playing,
                        played_bits: playing * 1_000,
                        max_playhead_ms: playing,
                        renditions: [("v360".to_string(), playing)].into(),
                        player_width: 640,
                        player_height: 360,
                        ..Totals::default()
                    };
                    (EventKind::Heartbeat {}, Some(t))
                }
            };
            BeaconEvent {
                seq,
                at_ms,
                playhead_ms: at_ms,
                event,
                totals,
            }
        })
        .collect()
}

fn view_id(n: u64) -> String {
    format!("{n:032x}")
}

async fn state(url: &str, dir: &std::path::Path) -> AppState {
    // Stand-ins for the demo pages and the SDK, which the configuration checks for.
    for d in ["demo", "npm/dist", "npm/pkg"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::write(dir.join("demo/index.html"), "").unwrap();
    std::fs::write(dir.join("npm/dist/index.js"), "").unwrap();
    std::fs::write(dir.join("npm/pkg/cinelock_sdk_wasm_bg.wasm"), "").unwrap();
    let args = [
        "cinelock-server",
        "--demo-dir",
        &dir.join("demo").display().to_string(),
        "--sdk-dir",
        &dir.join("npm").display().to_string(),
        "--database-url",
        url,
        "--analytics-queue",
        "200000",
    ]
    .map(String::from);
    let mut config = Cli::try_parse_from(args).unwrap().config;
    config.token_secret = SECRET.into();
    AppState::new(config.validate().unwrap()).await.unwrap()
}

/// An API key and an asset it owns; the key and its id.
async fn tenant(state: &AppState) -> (String, String, String) {
    let key = auth::create_api_key(state.db(), "bench", "uploads:read")
        .await
        .unwrap();
    let (id,): (String,) = sqlx::query_as("SELECT id FROM api_keys WHERE name = 'bench'")
        .fetch_one(state.db())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO assets (id, api_key_id, status, object_key, plaintext_len, sealed_len, key_id, created_at, updated_at) \
         VALUES ('asset-bench', $1, 'ready', 'k', 0, 0, 'k', 0, 0)",
    )
    .bind(&id)
    .execute(state.db())
    .await
    .unwrap();
    (key, id, "asset-bench".into())
}

fn dims(view: u64, tenant: &str) -> ViewDims {
    ViewDims {
        view_id: view_id(view),
        asset_id: "asset-bench".into(),
        tenant: tenant.into(),
        received_at: now_ms(),
        country: Some("FR".into()),
        browser: "Chrome 131".into(),
        os: "Linux".into(),
        device: "desktop".into(),
        referrer: None,
        network: None,
        pseudonym: Some(format!("{:016x}", view % 5_000)),
        viewer_hash: None,
    }
}

/// Writes `total` events straight through the writer, 512 beacons of `per` events per flush;
/// events per second.
async fn raw(state: &AppState, tenant: &str, total: u64, per: usize, first_view: u64) -> f64 {
    let started = Instant::now();
    let mut written = 0u64;
    let mut view = first_view;
    while written < total {
        let items: Vec<Item> = (0..512)
            .map(|_| {
                view += 1;
                Item {
                    view: dims(view, tenant),
                    events: events(0, per),
                }
            })
            .collect();
        written += writer::write(state.db(), &items).await.unwrap();
    }
    written as f64 / started.elapsed().as_secs_f64()
}

struct Load {
    accepted: u64,
    stored: u64,
    shed: u64,
    refused: u64,
    events_per_s: f64,
}

/// Concurrent clients POST beacons for `seconds`; then the queue drains.
async fn http(state: &AppState, tenant: &str, seconds: u64, per: usize) -> Load {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    // Many sessions, as many players make: each is rate-limited on its own.
    let secret = state.settings().token_secret.clone();
    let creds: Arc<Vec<String>> = Arc::new(
        (0..SESSIONS)
            .map(|_| credential::issue(&secret, "asset-bench", tenant, now_ms()))
            .collect(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let url = format!("http://{addr}/v1/beacons");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, url, creds) = (client.clone(), url.clone(), creds.clone());
            let (stop, refused, next) = (stop.clone(), refused.clone(), next.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let body = json!({
                        "credential": creds[n as usize % creds.len()],
                        "asset_id": "asset-bench",
                        "view_id": view_id(1_000_000_000 + n),
                        "events": events(0, per),
                    });
                    let res = client
                        .post(&url)
                        .header("content-type", "text/plain")
                        .header(
                            "user-agent",
                            "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36",
                        )
                        .body(body.to_string())
                        .send()
                        .await
                        .unwrap();
                    let refused_now = res.status() != 202;
                    let _ = res.bytes().await;
                    if refused_now {
                        // As the SDK does (after its Retry-After, here shortened): back off.
                        refused.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    // Drained: everything accepted is stored.
    let stats = loop {
        let s = state.analytics().unwrap().intake().stats();
        if s.queued_events == 0 {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let elapsed = started.elapsed().as_secs_f64();
    Load {
        accepted: stats.accepted_events,
        stored: stats.stored_events,
        shed: stats.shed_events,
        refused: refused.load(Ordering::Relaxed),
        events_per_s: stats.stored_events as f64 / elapsed,
    }
}

/// Median of three `GET /v1/analytics?breakdown=country` over the tenant's views (ms).
async fn query(state: &AppState, key: &str) -> f64 {
    use tower::ServiceExt;
    let mut times = Vec::new();
    for _ in 0..3 {
        let req = axum::http::Request::builder()
            .uri(format!(
                "/v1/analytics?from={}&to={}&interval=day&breakdown=country",
                now_ms() - 30 * 86_400_000,
                now_ms() + 1
            ))
            .header("authorization", format!("Bearer {key}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let t = Instant::now();
        let res = app(state.clone()).oneshot(req).await.unwrap();
        assert_eq!(res.status(), 200);
        let _ = http_body_util::BodyExt::collect(res.into_body())
            .await
            .unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    times[1]
}

async fn run(
    name: &str,
    mut url_for: impl FnMut(&str) -> String,
    seconds: u64,
    per: usize,
    query_events: u64,
) {
    let dir = tempfile::tempdir().unwrap();
    // Raw first, on its own database.
    let s = state(&url_for("raw"), dir.path()).await;
    let (_, tenant_id, _) = tenant(&s).await;
    let limit = raw(&s, &tenant_id, (seconds * 60_000).min(2_000_000), per, 0).await;
    drop(s);
    let s = state(&url_for("http"), dir.path()).await;
    let (key, tenant_id, _) = tenant(&s).await;
    let load = http(&s, &tenant_id, seconds, per).await;
    println!(
        "{name:<10} raw {:>9.0} ev/s | http {:>9.0} ev/s = {:.2} × raw | accepted {} stored {} ({}) shed {} refused {}",
        limit,
        load.events_per_s,
        load.events_per_s / limit,
        load.accepted,
        load.stored,
        if load.accepted == load.stored {
            "all"
        } else {
            "LOST SOME"
        },
        load.shed,
        load.refused,
    );
    // Top the http database up to `query_events` and time the report.
    let have = load.stored;
    if query_events > have {
        raw(&s, &tenant_id, query_events - have, 100, 10_000_000_000).await;
    }
    let (views,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM analytics_views")
        .fetch_one(s.db())
        .await
        .unwrap();
    let (events,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM analytics_events")
        .fetch_one(s.db())
        .await
        .unwrap();
    println!(
        "{name:<10} query over {events} events ({views} views): {:.0} ms (median of 3)",
        query(&s, &key).await
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    let per: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(50);
    let query_events: u64 = args
        .get(3)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    println!("{CLIENTS} clients, {per} events per beacon, {seconds} s per load run");
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().to_owned();
    run(
        "sqlite",
        move |n| format!("sqlite://{}/{n}.sqlite?mode=rwc", base.display()),
        seconds,
        per,
        query_events,
    )
    .await;
    let pg = postgres::Postgres::start();
    let url = pg.url.clone();
    let mut made = std::collections::HashSet::new();
    run(
        "postgres",
        move |n| {
            // One database per run on the same cluster.
            let n = n.to_owned();
            if made.insert(n.clone()) {
                let admin = url.clone();
                let n = n.clone();
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Runtime::new().unwrap();
                    rt.block_on(async {
                        sqlx::any::install_default_drivers();
                        let pool = sqlx::AnyPool::connect(&admin).await.unwrap();
                        let _ = sqlx::query(&format!("CREATE DATABASE bench_{n}"))
                            .execute(&pool)
                            .await;
                    })
                })
                .join()
                .unwrap();
            }
            let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
            format!("{base}/bench_{n}")
        },
        seconds,
        per,
        query_events,
    )
    .await;
}
