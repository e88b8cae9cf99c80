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
    get_with(state, uri, &[]).await
}

/// GET `uri` with request headers (the SDK's caching and compression).
async fn get_with(
    state: &AppState,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = app(state.clone())
        .oneshot(req.body(Body::empty()).unwrap())
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

/// A module big enough to be worth compressing.
fn module_text(mark: &str) -> String {
    format!(
        "export const mark = \"{mark}\";\n{}",
        "// padding\n".repeat(400)
    )
}

/// `module_text("one")` as `scripts/compress-sdk.mjs` writes it (node's brotli, quality 11).
const MODULE_ONE_BR: &str = "1b4a11e01da7c39a93b4321ba1d253e4a5a714760aa40c1c72c0feed1a471201578d580b6c371c5f0c5124670b1d53a5fc1c1c0100";

#[tokio::test]
async fn the_sdk_is_one_build_cached_for_good_behind_revalidated_names() {
    let dir = tempfile::tempdir().unwrap();
    let settings = support::settings(dir.path(), None, &worker_pk(), &[]);
    let sdk = dir.path().join("npm");
    fs::write(
        sdk.join("dist/index.js"),
        "export * from \"./internal/a.js\";",
    )
    .unwrap();
    fs::create_dir_all(sdk.join("dist/internal")).unwrap();
    fs::write(sdk.join("dist/internal/a.js"), module_text("one")).unwrap();
    let br = hex::decode(MODULE_ONE_BR).unwrap();
    fs::write(sdk.join("dist/internal/a.js.br"), &br).unwrap();
    fs::write(
        sdk.join("pkg/glue.js"),
        "export { initSync, __wbg_init as default };",
    )
    .unwrap();
    let state = AppState::new(settings).await.unwrap();
    let build = state.sdk().build().to_owned();
    let etag = format!("\"{build}\"");

    // The name a snippet uses: a pointer into the build, revalidated on every use.
    let (status, h, body) = get(&state, "/sdk/dist/index.js").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h["cache-control"], "no-cache");
    assert_eq!(h["etag"], etag.as_str());
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let pointer = String::from_utf8(body).unwrap();
    // It asks for the whole graph at once: what the module imports comes first, in the order
    // it runs.
    let deep = pointer
        .find(&format!("import \"../{build}/dist/internal/a.js\";"))
        .unwrap_or_else(|| panic!("{pointer}"));
    let entry = pointer
        .find(&format!("export * from \"../{build}/dist/index.js\";"))
        .unwrap_or_else(|| panic!("{pointer}"));
    assert!(deep < entry, "{pointer}");
    let (status, h, body) =
        get_with(&state, "/sdk/dist/index.js", &[("if-none-match", &etag)]).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(h["etag"], etag.as_str());
    assert!(body.is_empty());
    // Deeper modules point into the build too, and the glue keeps its default export.
    let (_, _, body) = get(&state, "/sdk/dist/internal/a.js").await;
    let body = String::from_utf8(body).unwrap();
    assert!(
        body.contains(&format!("\"../../{build}/dist/internal/a.js\"")),
        "{body}"
    );
    let (_, _, body) = get(&state, "/sdk/pkg/glue.js").await;
    let body = String::from_utf8(body).unwrap();
    assert!(
        body.contains(&format!(
            "export {{ default }} from \"../{build}/pkg/glue.js\";"
        )),
        "{body}"
    );
    // Other files under those names are the files, revalidated.
    let (status, h, body) = get(&state, "/sdk/pkg/cinelock_sdk_wasm_bg.wasm").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h["content-type"], "application/wasm");
    assert_eq!(h["cache-control"], "no-cache");
    assert_eq!(body, b"\0asm");

    // The build's own names: the files themselves, immutable, gzipped where accepted.
    let versioned = format!("/sdk/{build}/dist/internal/a.js");
    let (status, h, body) = get(&state, &versioned).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(h["vary"], "accept-encoding");
    assert!(!h.contains_key("content-encoding"));
    assert_eq!(String::from_utf8(body).unwrap(), module_text("one"));
    // brotli where the build has a copy that opens to the file, else gzip; the copy itself is
    // no file of the build.
    let (_, h, body) = get_with(
        &state,
        &versioned,
        &[("accept-encoding", "gzip, deflate, br, zstd")],
    )
    .await;
    assert_eq!(h["content-encoding"], "br");
    assert_eq!(body, br);
    let (status, _, _) = get(&state, &format!("{versioned}.br")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, h, body) = get_with(&state, &versioned, &[("accept-encoding", "gzip, deflate")]).await;
    assert_eq!(h["content-encoding"], "gzip");
    assert!(
        body.len() < module_text("one").len() / 4,
        "{} bytes",
        body.len()
    );
    let mut plain = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut plain)
        .unwrap();
    assert_eq!(plain, module_text("one"));
    let (status, _, body) = get(&state, &format!("/sdk/{build}/dist/index.js")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"export * from \"./internal/a.js\";");

    // One byte changed anywhere: a new build, and the old one is no longer served.
    let settings = support::settings(dir.path(), None, &worker_pk(), &[]);
    fs::write(sdk.join("dist/internal/a.js"), module_text("two")).unwrap();
    let next = AppState::new(settings).await.unwrap();
    let next_build = next.sdk().build().to_owned();
    assert_ne!(next_build, build);
    let (status, _, body) = get(&next, &versioned).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"]["code"], "not_found");
    let (status, _, body) =
        get_with(&next, "/sdk/dist/index.js", &[("if-none-match", &etag)]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8(body).unwrap().contains(&next_build));
    let (_, _, body) = get(&next, &format!("/sdk/{next_build}/dist/internal/a.js")).await;
    assert_eq!(String::from_utf8(body).unwrap(), module_text("two"));
    // The brotli copy left from the build before does not open to the new file: not sent.
    let (_, h, _) = get_with(
        &next,
        &format!("/sdk/{next_build}/dist/internal/a.js"),
        &[("accept-encoding", "br, gzip")],
    )
    .await;
    assert_eq!(h["content-encoding"], "gzip");
}

#[tokio::test]
async fn a_worker_reads_no_sdk() {
    let dir = tempfile::tempdir().unwrap();
    let url = support::sqlite_url(dir.path());
    let (sk, kek) = (dir.path().join("worker.key"), dir.path().join("kek.key"));
    let (pk, _) = cinelock_server::worker_key::ensure(&sk).unwrap();
    cinelock_server::kek::ensure_file(&kek).unwrap();
    let (sk, kek) = (sk.to_str().unwrap(), kek.to_str().unwrap());
    let flags = ["--worker-secret-key-file", sk, "--kek-file", kek];
    // A worker needs a store to start; nothing is asked of it here.
    let mut config = support::config(dir.path(), &url, None, &pk.to_bytes(), &flags);
    config.s3_endpoint = Some("http://127.0.0.1:9".into());
    config.s3_access_key = "GK0".into();
    config.s3_secret_key = "0".into();
    let settings = config.validate_for(cinelock_server::Role::Worker).unwrap();
    assert_eq!(settings.sdk_dir, None);
    let state = AppState::new(settings).await.unwrap();
    let (status, _, _) = get(&state, "/sdk/dist/index.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The same files, for a server: read.
    let state = support::state(dir.path(), None, &worker_pk()).await;
    let (status, _, _) = get(&state, "/sdk/dist/index.js").await;
    assert_eq!(status, StatusCode::OK);
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
