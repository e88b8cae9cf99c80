//! Analytics end to end through the router: beacons refused for every bad input (and a flood
//! that leaves the server serving), a scripted view stored masked and reported, unique viewers
//! by address and browser, Do Not Track, salts destroyed after 48 hours, retention, and the
//! database files holding no address, user agent or URL afterwards. On SQLite and PostgreSQL.

mod support;

use std::net::IpAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use cinelock_core::analytics::mask::{coarsen_agent, day_pseudonym};
use cinelock_core::analytics::salt::DAY_MS;
use cinelock_core::analytics::{Batch, TrackerConfig, ViewTracker};
use cinelock_server::analytics::credential;
use cinelock_server::analytics::retention;
use cinelock_server::analytics::salts::Salts;
use serde_json::{Value, json};
use support::*;

const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.86 Safari/537.36";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const PAGE: &str = "https://shop.example/watch/episode-7?session=s3cr3t";

async fn env_for(db: Db) -> Env {
    // The loopback peer is a trusted proxy: clients are told apart by x-forwarded-for.
    env_with(Store::Embedded, db, &["--trusted-proxies", "127.0.0.1"]).await
}

/// A beacon from `ip` with browser `ua` (and more headers); status, JSON, headers.
async fn post(
    env: &Env,
    body: impl Into<Body>,
    ua: &str,
    ip: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, Value, HeaderMap) {
    // The loopback peer is the trusted proxy; the client is what it forwards.
    let mut all = vec![
        ("content-type", "text/plain;charset=UTF-8"),
        ("user-agent", ua),
        ("x-forwarded-for", ip),
        ("origin", "https://shop.example"),
        ("referer", PAGE),
    ];
    all.extend_from_slice(extra);
    request_from(&env.state, "POST", "/v1/beacons", body, &all, "127.0.0.1").await
}

fn body(cred: &str, asset: &str, view: &str, events: Value) -> String {
    json!({"credential": cred, "asset_id": asset, "view_id": view, "events": events}).to_string()
}

/// A fresh credential for `asset`, as a playback session grants one.
async fn cred(env: &Env, asset: &str) -> String {
    let (owner,): (String,) = sqlx::query_as("SELECT api_key_id FROM assets WHERE id = $1")
        .bind(asset)
        .fetch_one(env.state.db())
        .await
        .unwrap();
    let secret = &env.state.settings().token_secret;
    credential::issue(secret, asset, &owner, cinelock_server::now_ms())
}

/// Waits until the writer has stored everything accepted.
async fn settled(env: &Env) -> Value {
    for _ in 0..200 {
        let (s, v) = call(
            &env.state,
            "GET",
            "/v1/analytics/ingest",
            Some(&env.key),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        if v["queued_events"] == 0 {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the analytics writer did not catch up");
}

/// Plays a scripted view through the core's tracker and returns its batches: play at 0.5 s,
/// first frame 0.8 s later, 12 s at v360, a 2 s stall, a switch to v240 and 6 s more, pause,
/// play to the end of a 20 s clip.
fn scripted_view() -> Vec<Batch> {
    let mut t = ViewTracker::new(TrackerConfig::default(), 0, 20_000);
    let mut out = Vec::new();
    let mut drain = |t: &mut ViewTracker, now: u64| {
        t.handle_timeout(now);
        while let Some(b) = t.poll_send(now) {
            t.handle_sent(now, b.id);
            out.push(b);
        }
    };
    t.handle_player_size(0, 1280, 720);
    t.handle_rendition(0, "v360", 1_000_000, 640, 360);
    t.handle_play(500);
    t.handle_playhead(1_300, 40);
    let mut now = 1_300;
    while now < 13_300 {
        now += 250;
        t.handle_playhead(now, now - 1_260);
        drain(&mut t, now);
    }
    t.handle_stall(now);
    now += 2_000;
    t.handle_stall_end(now);
    t.handle_rendition(now, "v240", 400_000, 426, 240);
    for _ in 0..24 {
        now += 250;
        t.handle_playhead(now, now - 3_260);
        drain(&mut t, now);
    }
    t.handle_pause(now);
    // A seek while paused: 500 ms to land.
    t.handle_seeking(now + 1_000);
    t.handle_seeked(now + 1_500);
    now += 3_000;
    t.handle_play(now);
    t.handle_playhead(now + 1_000, 20_000);
    t.handle_ended(now + 1_000);
    t.handle_end(now + 1_000);
    drain(&mut t, now + 1_000);
    out
}

async fn send_view(env: &Env, asset: &str, view: &str, ua: &str, ip: &str, extra: &[(&str, &str)]) {
    let c = cred(env, asset).await;
    for b in scripted_view() {
        let events = serde_json::to_value(&b.events).unwrap();
        let (s, v, _) = post(env, body(&c, asset, view, events), ua, ip, extra).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        assert_eq!(v["accepted"], b.events.len());
    }
}

async fn report(env: &Env, query: &str) -> Value {
    let (s, v) = call(
        &env.state,
        "GET",
        &format!("/v1/analytics?{query}"),
        Some(&env.key),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

fn view_id(n: u8) -> String {
    format!("{n:02x}").repeat(16)
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_beacons_are_refused_and_a_flood_leaves_the_server_serving() {
    let env = env_for(Db::Sqlite).await;
    let a = create(&env, 100).await.asset_id;
    let b = create(&env, 100).await.asset_id;
    let good = cred(&env, &a).await;
    let ev = json!([{"seq": 0, "at_ms": 0, "playhead_ms": 0, "event": {"type": "viewstart", "duration_ms": 1000}}]);
    let view = view_id(1);
    let refused = |(s, v, _): (StatusCode, Value, HeaderMap), status: StatusCode, code: &str| {
        assert_eq!(s, status, "{v}");
        assert_eq!(v["error"]["code"], code, "{v}");
    };
    // No, a forged, an expired, or a session's credential: 401.
    for c in [
        "".to_string(),
        good.replace("clb1", "clb2"),
        credential::issue(&env.state.settings().token_secret, &a, "t", 0),
        format!("{good}x"),
    ] {
        refused(
            post(
                &env,
                body(&c, &a, &view, ev.clone()),
                CHROME,
                "203.0.113.9",
                &[],
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "beacon_credential",
        );
    }
    // Another asset's credential: 403.
    refused(
        post(
            &env,
            body(&good, &b, &view, ev.clone()),
            CHROME,
            "203.0.113.9",
            &[],
        )
        .await,
        StatusCode::FORBIDDEN,
        "beacon_asset",
    );
    // Too big: 413.
    let big = body(
        &good,
        &a,
        &view,
        json!([{"seq": 0, "at_ms": 0, "playhead_ms": 0, "event": {"type": "error", "code": "x".repeat(70_000), "fatal": false}}]),
    );
    refused(
        post(&env, big, CHROME, "203.0.113.9", &[]).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    );
    // Malformed: 400, each with its code.
    refused(
        post(&env, "{not json", CHROME, "203.0.113.9", &[]).await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    );
    let unknown = json!([{"seq": 0, "at_ms": 0, "playhead_ms": 0, "event": {"type": "teleport"}}]);
    refused(
        post(
            &env,
            body(&good, &a, &view, unknown),
            CHROME,
            "203.0.113.9",
            &[],
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    let extra_field =
        json!({"credential": good, "asset_id": a, "view_id": view, "events": ev, "url": PAGE})
            .to_string();
    refused(
        post(&env, extra_field, CHROME, "203.0.113.9", &[]).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    let absurd = json!([{"seq": 0, "at_ms": 100, "playhead_ms": 0, "event": {"type": "playing", "startup_ms": 90_000_000}}]);
    refused(
        post(
            &env,
            body(&good, &a, &view, absurd),
            CHROME,
            "203.0.113.9",
            &[],
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_beacon",
    );
    refused(
        post(
            &env,
            body(&good, &a, "NOT-HEX", ev.clone()),
            CHROME,
            "203.0.113.9",
            &[],
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_beacon",
    );
    refused(
        post(
            &env,
            body(&good, &a, &view, json!([])),
            CHROME,
            "203.0.113.9",
            &[],
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_beacon",
    );
    // Nothing refused was kept.
    assert_eq!(settled(&env).await["accepted_events"], 0);
    // A flood from one session: 20 taken at once, then 429 with a Retry-After.
    let mut statuses = Vec::new();
    for i in 0..40u32 {
        let e = json!([{"seq": i, "at_ms": i, "playhead_ms": 0, "event": {"type": "heartbeat"}}]);
        let (s, _, h) = post(&env, body(&good, &a, &view, e), CHROME, "203.0.113.9", &[]).await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(h["retry-after"], "5");
        }
        statuses.push(s);
    }
    assert!(
        statuses[..20].iter().all(|s| *s == StatusCode::ACCEPTED),
        "{statuses:?}"
    );
    assert!(
        statuses[20..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // Another session is not held back by it, and the server goes on serving.
    let other = cred(&env, &a).await;
    let (s, _, _) = post(
        &env,
        body(&other, &a, &view_id(2), ev.clone()),
        CHROME,
        "203.0.113.9",
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _) = call(
        &env.state,
        "GET",
        &format!("/v1/assets/{a}"),
        Some(&env.key),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let stats = settled(&env).await;
    assert_eq!(stats["accepted_events"], 21);
    assert_eq!(stats["stored_events"], 21);
}

/// What a view row keeps of the request.
#[derive(sqlx::FromRow)]
struct StoredView {
    country: Option<String>,
    browser: String,
    os: String,
    device: String,
    referrer: Option<String>,
    network: Option<String>,
    pseudonym: Option<String>,
}

async fn masked_view_flow(db: Db) {
    let env = env_for(db).await;
    let a = create(&env, 100).await.asset_id;
    send_view(&env, &a, &view_id(7), CHROME, "198.51.100.77", &[]).await;
    let stats = settled(&env).await;
    assert_eq!(stats["accepted_events"], stats["stored_events"]);
    let r = report(&env, &format!("asset={a}&breakdown=browser")).await;
    let t = &r["totals"];
    assert_eq!(t["views"], 1, "{r}");
    assert_eq!(t["unique_viewers"], 1);
    // Percentiles come from a histogram of 10 %-wide buckets: 800 ms reads as its bucket's top.
    let median = t["startup_time_median_ms"].as_u64().unwrap();
    assert!((800..=880).contains(&median), "{median}");
    assert_eq!(t["startup_time_p95_ms"], median);
    assert_eq!(t["playback_failure_pct"], 0.0);
    assert_eq!(t["exits_before_start_pct"], 0.0);
    assert_eq!(t["completion_pct"], 100.0);
    // One rebuffer of 2 s.
    let watch = t["watch_time_ms"].as_f64().unwrap();
    assert!(
        (t["rebuffer_pct"].as_f64().unwrap() - 200_000.0 / watch).abs() < 1e-6,
        "{t}"
    );
    assert!(t["rebuffers_per_minute"].as_f64().unwrap() > 0.0);
    // Rendition time: about 12 s at v360, 6 s at v240 (and the last second at v240).
    let rend: Vec<(String, u64)> = r["renditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["rendition"].as_str().unwrap().to_owned(),
                x["playing_time_ms"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rend[0].0, "v360");
    assert!((11_900..=12_100).contains(&rend[0].1), "{rend:?}");
    assert_eq!(rend[1].0, "v240");
    assert!((6_900..=7_100).contains(&rend[1].1), "{rend:?}");
    let bitrate = t["weighted_bitrate_bps"].as_f64().unwrap();
    assert!((700_000.0..800_000.0).contains(&bitrate), "{bitrate}");
    assert!(t["upscale_pct"].as_f64().unwrap() > 100.0);
    // Renditions smaller than the player: no downscale; one seek of 500 ms.
    assert_eq!(t["downscale_pct"], 0.0);
    assert_eq!(t["seek_latency_avg_ms"], 500.0);
    assert_eq!(r["breakdown"][0]["value"], "Chrome 131");
    assert_eq!(r["breakdown_by"], "browser");
    // The series puts the view in the bucket it started in.
    let views: u64 = r["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metrics"]["views"].as_u64().unwrap())
        .sum();
    assert_eq!(views, 1);
    // Another key sees none of it, and not the asset.
    let other = cinelock_server::auth::create_api_key(env.state.db(), "other", "uploads:read")
        .await
        .unwrap();
    let (s, v) = call(&env.state, "GET", "/v1/analytics", Some(&other), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["totals"]["views"], 0);
    let (s, _) = call(
        &env.state,
        "GET",
        &format!("/v1/analytics?asset={a}"),
        Some(&other),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The view's timeline, for its owner only.
    let path = format!("/v1/analytics/views/{}", view_id(7));
    let (s, v) = call(&env.state, "GET", &path, Some(&env.key), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let kinds: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"viewstart"));
    assert_eq!(kinds.last(), Some(&"viewend"));
    assert!(
        kinds.contains(&"rebufferstart") && kinds.contains(&"ended"),
        "{kinds:?}"
    );
    let (s, _) = call(&env.state, "GET", &path, Some(&other), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = call(
        &env.state,
        "GET",
        "/v1/analytics?from=10&to=5",
        Some(&env.key),
        None,
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );
    let (s, _) = call(&env.state, "GET", "/v1/analytics", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // What the view row holds of the request: coarse and masked.
    let row: StoredView = sqlx::query_as(
        "SELECT country, browser, os, device, referrer, network, pseudonym FROM analytics_views",
    )
    .fetch_one(env.state.db())
    .await
    .unwrap();
    assert_eq!(
        (row.browser.as_str(), row.os.as_str(), row.device.as_str()),
        ("Chrome 131", "Linux", "desktop")
    );
    assert_eq!(row.referrer.as_deref(), Some("shop.example"));
    assert_eq!((row.country, row.network), (None, None));
    assert_eq!(row.pseudonym.unwrap().len(), 16);
    // The database files hold no address, no user agent, no URL of the page.
    env.state.db().close().await;
    let files = env.sqlite_files();
    let on_sqlite = matches!(db, Db::Sqlite);
    assert_eq!(
        files.iter().any(|(f, _)| f.ends_with("db.sqlite")),
        on_sqlite
    );
    for (f, bytes) in files {
        let text = String::from_utf8_lossy(&bytes);
        for needle in [
            "198.51.100.77",
            "198.51.100.",
            CHROME,
            "Mozilla/5.0",
            "Safari/537",
            PAGE,
            "episode-7",
            "s3cr3t",
            "https://shop",
        ] {
            assert!(!text.contains(needle), "{} holds {needle:?}", f.display());
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_view_is_stored_masked_and_reported_on_sqlite() {
    masked_view_flow(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_view_is_stored_masked_and_reported_on_postgres() {
    masked_view_flow(Db::Postgres).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unique_viewers_follow_network_and_browser_and_dnt_keeps_no_pseudonym() {
    let env = env_for(Db::Sqlite).await;
    let a = create(&env, 100).await.asset_id;
    // Same /24 and browser: one viewer. Another browser, or another network: another.
    send_view(&env, &a, &view_id(1), CHROME, "203.0.113.5", &[]).await;
    send_view(&env, &a, &view_id(2), CHROME, "203.0.113.99", &[]).await;
    send_view(&env, &a, &view_id(3), FIREFOX, "203.0.113.5", &[]).await;
    send_view(&env, &a, &view_id(4), CHROME, "192.0.2.5", &[]).await;
    // Do Not Track and Global Privacy Control: counted as views, with no pseudonym.
    send_view(&env, &a, &view_id(5), CHROME, "198.18.0.1", &[("dnt", "1")]).await;
    send_view(
        &env,
        &a,
        &view_id(6),
        CHROME,
        "198.18.0.2",
        &[("sec-gpc", "1")],
    )
    .await;
    settled(&env).await;
    let r = report(&env, &format!("asset={a}")).await;
    assert_eq!(r["totals"]["views"], 6);
    assert_eq!(r["totals"]["unique_viewers"], 3);
    let kept: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT view_id, pseudonym FROM analytics_views ORDER BY view_id")
            .fetch_all(env.state.db())
            .await
            .unwrap();
    assert_eq!(kept[0].1, kept[1].1);
    assert_ne!(kept[0].1, kept[2].1);
    assert_ne!(kept[0].1, kept[3].1);
    assert_eq!((kept[4].1.as_ref(), kept[5].1.as_ref()), (None, None));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_salt_is_destroyed_after_48_hours_and_its_pseudonyms_with_it() {
    let env = env_for(Db::Sqlite).await;
    let db = env.state.db();
    let salts = Salts::default();
    let day0 = 20_000 * DAY_MS + 3_600_000;
    let ip: IpAddr = "203.0.113.5".parse().unwrap();
    let agent = coarsen_agent(CHROME);
    let s0 = salts.today(db, day0).await.unwrap();
    let p0 = day_pseudonym(&s0, "t", "", ip, &agent);
    // The same all day, in this process and in another (a restart).
    assert_eq!(salts.today(db, day0 + 20 * 3_600_000).await.unwrap(), s0);
    assert_eq!(Salts::default().today(db, day0).await.unwrap(), s0);
    // The next day: a new salt, and the same viewer is another pseudonym.
    let s1 = salts.today(db, day0 + DAY_MS).await.unwrap();
    assert_ne!(s1, s0);
    assert_ne!(day_pseudonym(&s1, "t", "", ip, &agent), p0);
    // Yesterday's salt lives through today...
    retention::purge(db, &salts, 90 * DAY_MS, day0 + DAY_MS)
        .await
        .unwrap();
    let days: Vec<(i64,)> = sqlx::query_as("SELECT day FROM analytics_salts ORDER BY day")
        .fetch_all(db)
        .await
        .unwrap();
    assert_eq!(days, [(20_000,), (20_001,)]);
    // ...and is gone two days after its own began: nothing left can recompute p0.
    let purged = retention::purge(db, &salts, 90 * DAY_MS, day0 + 2 * DAY_MS)
        .await
        .unwrap();
    assert_eq!(purged.salts, 1);
    let left: Vec<(i64, String)> = sqlx::query_as("SELECT day, salt FROM analytics_salts")
        .fetch_all(db)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].0, 20_001);
    for (_, salt) in &left {
        let bytes: [u8; 32] = hex::decode(salt).unwrap().try_into().unwrap();
        assert_ne!(day_pseudonym(&bytes, "t", "", ip, &agent), p0);
    }
    let s2 = salts.today(db, day0 + 2 * DAY_MS).await.unwrap();
    assert!(s2 != s0 && s2 != s1);
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_deletes_old_events_and_a_deleted_assets_analytics_go_with_it() {
    let env = env_for(Db::Sqlite).await;
    let a = create(&env, 100).await.asset_id;
    let b = create(&env, 100).await.asset_id;
    send_view(&env, &a, &view_id(1), CHROME, "203.0.113.5", &[]).await;
    send_view(&env, &b, &view_id(2), CHROME, "203.0.113.5", &[]).await;
    settled(&env).await;
    let db = env.state.db();
    let count = |table: &'static str| async move {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(db)
            .await
            .unwrap();
        n
    };
    let events = count("analytics_events").await;
    assert!(events > 10);
    // Nothing is old yet.
    let now = cinelock_server::now_ms();
    let p = retention::purge(db, &Salts::default(), 90 * DAY_MS, now)
        .await
        .unwrap();
    assert_eq!((p.events, p.views), (0, 0));
    // 91 days on, raw events go; views stay (25 months).
    let p = retention::purge(db, &Salts::default(), 90 * DAY_MS, now + 91 * DAY_MS)
        .await
        .unwrap();
    assert_eq!(p.events as i64, events);
    assert_eq!(count("analytics_views").await, 2);
    let p = retention::purge(db, &Salts::default(), 90 * DAY_MS, now + 761 * DAY_MS)
        .await
        .unwrap();
    assert_eq!(p.views, 2);
    assert_eq!(count("analytics_view_renditions").await, 0);
    // An asset's own analytics go with it, the other's stay.
    send_view(&env, &a, &view_id(3), CHROME, "203.0.113.5", &[]).await;
    send_view(&env, &b, &view_id(4), CHROME, "203.0.113.5", &[]).await;
    settled(&env).await;
    // Deleting the asset (the owner's DELETE) deletes them.
    let (st, v) = call(
        &env.state,
        "DELETE",
        &format!("/v1/assets/{a}"),
        Some(&env.key),
        None,
    )
    .await;
    assert_eq!(
        (st, &v["status"]),
        (StatusCode::OK, &json!("deleted")),
        "{v}"
    );
    let left: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT asset_id FROM analytics_events")
        .fetch_all(db)
        .await
        .unwrap();
    assert_eq!(left, [(b.clone(),)]);
    let left: Vec<(String,)> = sqlx::query_as("SELECT asset_id FROM analytics_views")
        .fetch_all(db)
        .await
        .unwrap();
    assert_eq!(left, [(b,)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn startup_percentiles_come_within_ten_percent_and_views_need_a_play() {
    let env = env_for(Db::Sqlite).await;
    let a = create(&env, 100).await.asset_id;
    let c = cred(&env, &a).await;
    // Twenty views starting in 100, 200, ... 2000 ms.
    for i in 1..=20u64 {
        let events = json!([
            {"seq": 0, "at_ms": 0, "playhead_ms": 0, "event": {"type": "viewstart", "duration_ms": 60000}},
            {"seq": 1, "at_ms": 10, "playhead_ms": 0, "event": {"type": "play"}},
            {"seq": 2, "at_ms": 10 + i * 100, "playhead_ms": 40, "event": {"type": "playing", "startup_ms": i * 100}},
        ]);
        let (s, v, _) = post(
            &env,
            body(&c, &a, &view_id(i as u8), events),
            CHROME,
            "203.0.113.5",
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    }
    // A player that loaded and was never played makes no view.
    let idle = json!([{"seq": 0, "at_ms": 0, "playhead_ms": 0, "event": {"type": "viewstart", "duration_ms": 60000}}]);
    let (s, _, _) = post(
        &env,
        body(&cred(&env, &a).await, &a, &view_id(99), idle),
        CHROME,
        "203.0.113.5",
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    settled(&env).await;
    let r = report(&env, &format!("asset={a}&breakdown=device")).await;
    let t = &r["totals"];
    assert_eq!(t["views"], 20, "{r}");
    // ceil(0.5 × 20) = 10th, ceil(0.95 × 20) = 19th, read from 10 %-wide histogram buckets.
    let median = t["startup_time_median_ms"].as_u64().unwrap();
    let p95 = t["startup_time_p95_ms"].as_u64().unwrap();
    assert!((1_000..=1_100).contains(&median), "{median}");
    assert!((1_900..=2_090).contains(&p95), "{p95}");
    assert_eq!(r["breakdown"][0]["value"], "desktop");
    assert_eq!(
        r["breakdown"][0]["metrics"]["startup_time_median_ms"],
        median
    );
    // None reached the end: no completion, and none exited before starting.
    assert_eq!(t["completion_pct"], 0.0);
    assert_eq!(t["exits_before_start_pct"], 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn rollups_match_the_views_however_beacons_repeat_or_split() {
    let env = env_for(Db::Sqlite).await;
    let a = create(&env, 100).await.asset_id;
    send_view(&env, &a, &view_id(1), CHROME, "203.0.113.5", &[]).await;
    send_view(&env, &a, &view_id(2), FIREFOX, "198.51.100.5", &[]).await;
    settled(&env).await;
    let first = report(&env, &format!("asset={a}&breakdown=browser")).await;
    // Every beacon of view 1 again (a retry after a lost answer): nothing changes.
    send_view(&env, &a, &view_id(1), CHROME, "203.0.113.5", &[]).await;
    settled(&env).await;
    let again = report(&env, &format!("asset={a}&breakdown=browser")).await;
    assert_eq!(first["totals"], again["totals"]);
    assert_eq!(first["renditions"], again["renditions"]);
    assert_eq!(first["breakdown"], again["breakdown"]);
    // The rollups hold exactly the views' sums.
    let (views, watch, playing, rebuffers): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(SUM(watch_ms) AS BIGINT), CAST(SUM(playing_ms) AS BIGINT), \
         CAST(SUM(rebuffer_count) AS BIGINT) FROM analytics_views WHERE intent = 1",
    )
    .fetch_one(env.state.db())
    .await
    .unwrap();
    let t = &again["totals"];
    assert_eq!(t["views"], views);
    assert_eq!(t["watch_time_ms"], watch);
    assert_eq!(t["playing_time_ms"], playing);
    assert_eq!(again["breakdown"].as_array().unwrap().len(), 2);
    assert_eq!(views, 2);
    assert_eq!(rebuffers, 2);
    assert_eq!(t["unique_viewers"], 2);
}
