//! Webhooks on SQLite and PostgreSQL (Garage): endpoints registered, listed and removed with
//! every deny and bad-input case; events written with the change they report and delivered
//! to a real receiver on loopback, signed, retried after failures, in order per asset; an
//! endpoint on a private address refused when the server does not allow it.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use cinelock_server::webhooks::delivery;
use serde_json::{Value, json};
use support::{
    Db, Store, call, code, complete_one, create, env, env_with, on_each_database, signed_put,
};

on_each_database!(
    endpoints_allow_and_deny,
    events_are_signed_retried_and_in_order
);

/// What the receiver saw: (headers, body) per request.
type Seen = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A receiver on loopback that answers 500 to its first `fail` requests, then 204.
async fn receiver(fail: usize) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let s = s.clone();
            async move {
                let mut seen = s.lock().unwrap();
                seen.push((headers, body));
                if seen.len() <= fail {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

async fn endpoints_allow_and_deny(db: Db) {
    let env = env(Store::Garage, db).await;
    let s = &env.state;
    // Without CINELOCK_WEBHOOK_ALLOW_PRIVATE, loopback and private targets are refused.
    for url in [
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/",
        "http://localhost/x",
        "ftp://example.com/",
        "nope",
    ] {
        let (st, v) = call(
            s,
            "POST",
            "/v1/webhooks",
            Some(&env.key),
            Some(json!({"url": url})),
        )
        .await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::BAD_REQUEST, "invalid_webhook_url"),
            "{url}"
        );
    }
    let (st, v) = call(
        s,
        "POST",
        "/v1/webhooks",
        Some(&env.key),
        Some(json!({"url": "https://hooks.example.com/a", "events": ["asset.nope"]})),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "invalid_body"));
    let (st, v) = call(
        s,
        "POST",
        "/v1/webhooks",
        Some(&env.key),
        Some(json!({"url": "https://hooks.example.com/a", "events": []})),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "invalid_body"));
    let (st, created) = call(
        s,
        "POST",
        "/v1/webhooks",
        Some(&env.key),
        Some(json!({"url": "https://hooks.example.com/a", "events": ["asset.ready", "asset.errored"]})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    let id = created["id"].as_str().unwrap();
    let (st, list) = call(s, "GET", "/v1/webhooks", Some(&env.key), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        list["webhooks"][0]["events"],
        json!(["asset.ready", "asset.errored"])
    );
    assert!(
        list["webhooks"][0].get("secret").is_none(),
        "the secret is shown once"
    );
    // Scopes and owners.
    let (st, v) = call(s, "GET", "/v1/webhooks", None, None).await;
    assert_eq!((st, code(&v)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    let reader = cinelock_server::auth::create_api_key(s.db(), "reader", "uploads:read")
        .await
        .unwrap();
    let (st, v) = call(
        s,
        "POST",
        "/v1/webhooks",
        Some(&reader),
        Some(json!({"url": "https://hooks.example.com/b"})),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (st, v) = call(
        s,
        "DELETE",
        &format!("/v1/webhooks/{id}"),
        Some(&reader),
        None,
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let other =
        cinelock_server::auth::create_api_key(s.db(), "other", "uploads:write,uploads:read")
            .await
            .unwrap();
    let (_, v) = call(s, "GET", "/v1/webhooks", Some(&other), None).await;
    assert_eq!(v["webhooks"], json!([]));
    for (method, path) in [
        ("DELETE", format!("/v1/webhooks/{id}")),
        ("GET", format!("/v1/webhooks/{id}/deliveries")),
    ] {
        let (st, v) = call(s, method, &path, Some(&other), None).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::NOT_FOUND, "unknown_webhook"),
            "{method} {path}"
        );
    }
    let (st, _) = call(
        s,
        "DELETE",
        &format!("/v1/webhooks/{id}"),
        Some(&env.key),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (_, v) = call(s, "GET", "/v1/webhooks", Some(&env.key), None).await;
    assert_eq!(v["webhooks"], json!([]));
    let (st, _) = call(
        s,
        "DELETE",
        &format!("/v1/webhooks/{id}"),
        Some(&env.key),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

/// Runs delivery passes until `done` holds (or 10 s pass).
async fn deliver_until(env: &support::Env, done: impl Fn() -> bool) {
    for _ in 0..200 {
        delivery::pass(&env.state).await.unwrap();
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("deliveries did not arrive");
}

async fn events_are_signed_retried_and_in_order(db: Db) {
    let env = env_with(
        Store::Garage,
        db,
        &[
            "--webhook-allow-private",
            "true",
            "--webhook-retry-base-ms",
            "100",
        ],
    )
    .await;
    let s = &env.state;
    let (url, seen) = receiver(2).await;
    let (st, created) = call(
        s,
        "POST",
        "/v1/webhooks",
        Some(&env.key),
        Some(json!({"url": url})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    let hook = created["id"].as_str().unwrap().to_owned();
    // An upload completes, then its asset is deleted: two events about one asset.
    let c = create(&env, 1000).await;
    let etag = signed_put(&env, &c, 1).await;
    assert_eq!(complete_one(&env, &c, &etag).await.0, StatusCode::OK);
    let (st, _) = call(
        s,
        "DELETE",
        &format!("/v1/assets/{}", c.asset_id),
        Some(&env.key),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    // The first attempts fail twice; the retries deliver both, in order.
    deliver_until(&env, || seen.lock().unwrap().len() >= 4).await;
    let seen = seen.lock().unwrap().clone();
    let types: Vec<String> = seen
        .iter()
        .map(|(_, b)| {
            serde_json::from_str::<Value>(b).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        types,
        [
            "upload.completed",
            "upload.completed",
            "upload.completed",
            "asset.deleted"
        ]
    );
    // The same message id on every retry, and a signature that verifies.
    let ids: Vec<&str> = seen
        .iter()
        .map(|(h, _)| h["webhook-id"].to_str().unwrap())
        .collect();
    assert_eq!((ids[0], ids[0]), (ids[1], ids[2]));
    assert_ne!(ids[2], ids[3]);
    for (h, body) in &seen {
        let ts: i64 = h["webhook-timestamp"].to_str().unwrap().parse().unwrap();
        let expected = cinelock_core::webhook::signature(
            &secret,
            h["webhook-id"].to_str().unwrap(),
            ts,
            body.as_bytes(),
        )
        .unwrap();
        assert_eq!(h["webhook-signature"].to_str().unwrap(), expected);
        assert!((cinelock_server::now_ms() / 1000 - ts).abs() < 60);
    }
    let completed: Value = serde_json::from_str(&seen[2].1).unwrap();
    assert_eq!(
        completed["data"],
        json!({"asset_id": c.asset_id, "upload_id": c.id})
    );
    // The log says so.
    let (st, log) = call(
        s,
        "GET",
        &format!("/v1/webhooks/{hook}/deliveries"),
        Some(&env.key),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let log = log["deliveries"].as_array().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(
        (
            log[1]["event_type"].as_str(),
            log[1]["attempts"].as_u64(),
            log[1]["status"].as_str()
        ),
        (Some("upload.completed"), Some(3), Some("delivered"))
    );
    assert_eq!(log[1]["last_status"], 204);
    assert_eq!(
        (log[0]["event_type"].as_str(), log[0]["attempts"].as_u64()),
        (Some("asset.deleted"), Some(1))
    );
}

#[tokio::test]
async fn a_delivery_to_a_private_address_is_refused_when_not_allowed() {
    let env = env(Store::Garage, Db::Sqlite).await;
    let s = &env.state;
    let (url, seen) = receiver(0).await;
    // An endpoint that got in by a name that now resolves to loopback, as it were.
    let (owner,): (String,) =
        sqlx::query_as("SELECT id FROM api_keys WHERE revoked_at IS NULL LIMIT 1")
            .fetch_one(s.db())
            .await
            .unwrap();
    sqlx::query("INSERT INTO webhook_endpoints (id, api_key_id, url, secret, events, created_at) VALUES ('wh_x', $1, $2, $3, 'upload.completed', 0)")
        .bind(&owner)
        .bind(&url)
        .bind(cinelock_core::webhook::secret_from(&[1; 24]))
        .execute(s.db())
        .await
        .unwrap();
    let c = create(&env, 1000).await;
    let etag = signed_put(&env, &c, 1).await;
    assert_eq!(complete_one(&env, &c, &etag).await.0, StatusCode::OK);
    delivery::pass(s).await.unwrap();
    assert!(
        seen.lock().unwrap().is_empty(),
        "nothing reached the loopback receiver"
    );
    let (status, error): (Option<i64>, Option<String>) = sqlx::query_as(
        "SELECT failed_at, last_error FROM webhook_deliveries WHERE endpoint_id = 'wh_x'",
    )
    .fetch_one(s.db())
    .await
    .unwrap();
    assert!(status.is_some());
    assert!(error.unwrap().contains("private"));
}
