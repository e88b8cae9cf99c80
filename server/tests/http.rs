//! The router driven with `oneshot`, without storage: health, static serving, JSON errors,
//! configuration validation.

mod support;

use std::fs;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cinelock_server::{AppState, Cli, app};
use clap::Parser;
use http_body_util::BodyExt;
use tower::ServiceExt;

const WORKER: [u8; 32] = [9; 32];

async fn get(state: &AppState, uri: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let res = app(state.clone())
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = res.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes().to_vec(),
    )
}

fn worker_pk() -> [u8; 32] {
    cinelock_core::RecipientSecretKey::from_seed(&WORKER)
        .public_key()
        .to_bytes()
}

#[tokio::test]
async fn health_check_reports_ok() {
    let dir = tempfile::tempdir().unwrap();
    let state = support::state(dir.path(), None, &worker_pk()).await;
    let (status, _, body) = get(&state, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["storage"], false);
}

#[tokio::test]
async fn demo_and_sdk_are_served_with_the_right_types() {
    let dir = tempfile::tempdir().unwrap();
    let state = support::state(dir.path(), None, &worker_pk()).await;
    let (status, _, body) = get(&state, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"<h1>demo</h1>");
    let (status, headers, _) = get(&state, "/sdk/pkg/cinelock_sdk_wasm_bg.wasm").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/wasm");
    assert_eq!(headers["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn unknown_paths_get_a_json_404_and_no_traversal() {
    let dir = tempfile::tempdir().unwrap();
    let state = support::state(dir.path(), None, &worker_pk()).await;
    fs::write(dir.path().join("secret.txt"), "nope").unwrap();
    for uri in ["/nope", "/v1/nope"] {
        let (status, _, body) = get(&state, uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], "not_found");
    }
    let (status, _, body) = get(&state, "/../secret.txt").await;
    assert_ne!(status, StatusCode::OK);
    assert!(!String::from_utf8_lossy(&body).contains("nope"));
    let (status, _, _) = get(&state, "/sdk/dist/../../secret.txt").await;
    assert_ne!(status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_methods_and_missing_sdk_files_get_json_errors() {
    let dir = tempfile::tempdir().unwrap();
    let state = support::state(dir.path(), None, &worker_pk()).await;
    for (method, uri, status, code) in [
        (
            "GET",
            "/v1/uploads",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "PUT",
            "/v1/assets/x",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "GET",
            "/v1/play/x",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "GET",
            "/v1/beacons",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "GET",
            "/sdk/dist/no-such-file.js",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "GET",
            "/sdk/pkg/no-such-file.wasm",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "POST",
            "/sdk/pkg/cinelock_sdk_wasm_bg.wasm",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
    ] {
        let res = app(state.clone())
            .oneshot(
                Request::builder()
                    .method(method)
                    .uri(uri)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{method} {uri}");
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| panic!("{method} {uri}: not JSON: {body:?}"));
        assert_eq!(v["error"]["code"], code, "{method} {uri}");
    }
}

#[tokio::test]
async fn upload_api_without_storage_is_a_clear_503() {
    let dir = tempfile::tempdir().unwrap();
    let state = support::state(dir.path(), None, &worker_pk()).await;
    let req = Request::post("/v1/uploads/x/sign")
        .header("authorization", "Bearer clu_whatever")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"parts":[]}"#))
        .unwrap();
    let res = app(state).oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"]["code"], "storage_not_configured");
}

fn parse(args: &[&str]) -> Result<cinelock_server::Settings, String> {
    let mut all = vec!["cinelock-server"];
    all.extend_from_slice(args);
    Cli::try_parse_from(all)
        .map_err(|e| e.to_string())?
        .config
        .validate()
        .map_err(|e| e.to_string())
}

#[test]
fn bad_configuration_is_refused_at_start_up_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let err = parse(&["--demo-dir", dir.path().to_str().unwrap()]).unwrap_err();
    assert!(
        err.contains("index.html") && err.contains("CINELOCK_DEMO_DIR"),
        "{err}"
    );
    let (demo, sdk) = support::fake_static(dir.path());
    let (demo, sdk) = (demo.to_str().unwrap(), sdk.to_str().unwrap());
    fs::remove_file(dir.path().join("npm/pkg/cinelock_sdk_wasm_bg.wasm")).unwrap();
    let err = parse(&["--demo-dir", demo, "--sdk-dir", sdk]).unwrap_err();
    assert!(err.contains("scripts/build-sdk"), "{err}");
    support::fake_static(dir.path());
    assert!(parse(&["--listen", "not-an-address"]).is_err());
    let base = ["--demo-dir", demo, "--sdk-dir", sdk];
    let with = |extra: &[&str]| {
        let mut v = base.to_vec();
        v.extend_from_slice(extra);
        parse(&v)
    };
    assert!(with(&[]).is_ok());
    let err = with(&["--database-url", "mysql://x"]).unwrap_err();
    assert!(err.contains("sqlite: or postgres://"), "{err}");
    // Storage needs credentials, a token secret and the worker key (env vars are unset here).
    let err = with(&["--s3-endpoint", "http://127.0.0.1:1"]).unwrap_err();
    assert!(err.contains("CINELOCK_S3_ACCESS_KEY"), "{err}");
    let err = with(&["--s3-endpoint", "ftp://x"]).unwrap_err();
    assert!(err.contains("http(s) URL"), "{err}");
    let err = with(&["--worker-public-key", "abcd"]).unwrap_err();
    assert!(err.contains("X25519"), "{err}");
    let err = with(&["--worker-public-key", &"00".repeat(32)]).unwrap_err();
    assert!(err.contains("X25519"), "low-order key refused: {err}");
    let err = with(&["--allowed-origins", "example.com"]).unwrap_err();
    assert!(err.contains("http://"), "{err}");
    let err = with(&["--part-url-ttl", "5"]).unwrap_err();
    assert!(err.contains("60 s"), "{err}");
    let err = with(&["--part-checksum", "md5"]).unwrap_err();
    assert!(err.contains("one of crc32c, sha256"), "{err}");
    let sha = with(&["--part-checksum", "sha256"]).unwrap();
    assert_eq!(sha.part_checksum.name(), "sha256");
    assert_eq!(with(&[]).unwrap().part_checksum.name(), "crc32c");
}

#[test]
fn settings_debug_output_hides_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, sdk) = support::fake_static(dir.path());
    let settings = parse(&[
        "--demo-dir",
        demo.to_str().unwrap(),
        "--sdk-dir",
        sdk.to_str().unwrap(),
        "--database-url",
        "postgres://cinelock:hunter2@127.0.0.1/cinelock",
        "--dev-api-key",
        "clk_very_secret_dev_key",
    ])
    .unwrap();
    let shown = format!("{settings:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains("clk_very_secret_dev_key"), "{shown}");
    assert!(shown.contains("<redacted>"));
}
