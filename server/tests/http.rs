//! The router driven with `oneshot`: health, static serving, JSON errors, config validation.

use std::fs;
use std::path::Path;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cinelock_server::{AppState, Config, app};
use clap::Parser;
use http_body_util::BodyExt;
use tower::ServiceExt;

fn layout(dir: &Path) {
    fs::create_dir_all(dir.join("demo")).unwrap();
    fs::create_dir_all(dir.join("npm/dist")).unwrap();
    fs::create_dir_all(dir.join("npm/pkg")).unwrap();
    fs::write(dir.join("demo/index.html"), "<h1>demo</h1>").unwrap();
    fs::write(dir.join("npm/dist/index.js"), "export {}").unwrap();
    fs::write(dir.join("npm/pkg/cinelock_sdk_wasm_bg.wasm"), b"\0asm").unwrap();
}

fn config(dir: &Path) -> Result<Config, cinelock_server::AppError> {
    Config::try_parse_from([
        "cinelock-server",
        "--demo-dir",
        dir.join("demo").to_str().unwrap(),
        "--sdk-dir",
        dir.join("npm").to_str().unwrap(),
    ])
    .unwrap()
    .validate()
}

async fn get(dir: &Path, uri: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let res = app(AppState::new(config(dir).unwrap()))
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

#[tokio::test]
async fn health_check_reports_ok() {
    let dir = tempfile::tempdir().unwrap();
    layout(dir.path());
    let (status, _, body) = get(dir.path(), "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["status"], "ok");
}

#[tokio::test]
async fn demo_and_sdk_are_served_with_the_right_types() {
    let dir = tempfile::tempdir().unwrap();
    layout(dir.path());
    let (status, _, body) = get(dir.path(), "/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"<h1>demo</h1>");
    let (status, headers, _) = get(dir.path(), "/sdk/pkg/cinelock_sdk_wasm_bg.wasm").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/wasm");
    assert_eq!(headers["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn unknown_paths_get_a_json_404_and_no_traversal() {
    let dir = tempfile::tempdir().unwrap();
    layout(dir.path());
    fs::write(dir.path().join("secret.txt"), "nope").unwrap();
    let (status, _, body) = get(dir.path(), "/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"]["code"], "not_found");
    let (status, _, body) = get(dir.path(), "/../secret.txt").await;
    assert_ne!(status, StatusCode::OK);
    assert!(!String::from_utf8_lossy(&body).contains("nope"));
    let (status, _, _) = get(dir.path(), "/sdk/dist/../../secret.txt").await;
    assert_ne!(status, StatusCode::OK);
}

#[test]
fn missing_files_are_refused_at_start_up_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let err = config(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("index.html") && err.contains("CINELOCK_DEMO_DIR"),
        "{err}"
    );
    layout(dir.path());
    fs::remove_file(dir.path().join("npm/pkg/cinelock_sdk_wasm_bg.wasm")).unwrap();
    let err = config(dir.path()).unwrap_err().to_string();
    assert!(err.contains("scripts/build-sdk"), "{err}");
    assert!(Config::try_parse_from(["cinelock-server", "--listen", "not-an-address"]).is_err());
}
