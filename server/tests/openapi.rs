//! The OpenAPI document at `/v1/openapi.json`: it describes every route the server serves, and
//! every operation it describes is served.
//!
//! API routes are registered with their description in one `routes!` call, so they cannot be
//! left out of the document; what could is a route registered the plain axum way. The source
//! test below fails on any such route but the few pages and files that are not API.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use support::{Db, Store, env};
use tower::ServiceExt;

/// Routes registered without a description: the document itself, the embed page, the SDK's
/// files, and the admin listener's metrics.
const NOT_API: [&str; 4] = [
    "crate::openapi::PATH",
    "\"/embed.html\"",
    "\"/{*path}\"",
    "\"/metrics\"",
];

async fn document(state: &cinelock_server::AppState) -> Value {
    let res = cinelock_server::app(state.clone())
        .oneshot(
            Request::get("/v1/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/json");
    serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_route_is_registered_without_its_description() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut plain = Vec::new();
    let mut seen = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (at, _) in text.match_indices(".route(") {
            let first_arg = text[at + ".route(".len()..]
                .split(',')
                .next()
                .unwrap()
                .trim()
                .to_owned();
            if NOT_API.contains(&first_arg.as_str()) {
                seen.insert(first_arg);
            } else {
                plain.push(format!("{}: .route({first_arg}, …)", file.display()));
            }
        }
    }
    assert!(
        plain.is_empty(),
        "routes registered without an OpenAPI description (register them with \
         `.routes(routes!(handler))` and a #[utoipa::path] on the handler): {plain:#?}"
    );
    // The scan reads what it should: each allowed route is found where it is.
    assert_eq!(seen.len(), NOT_API.len(), "{seen:?}");
}

#[tokio::test]
async fn the_document_describes_every_route_and_each_is_served() {
    let env = env(Store::Embedded, Db::Sqlite).await;
    let doc = document(&env.state).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "Cinelock API");
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = Vec::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            operations.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    // Every resource of the API, spot-checked by name.
    for (method, path) in [
        ("POST", "/v1/uploads"),
        ("POST", "/v1/uploads/{id}/sign"),
        ("POST", "/v1/uploads/{id}/complete"),
        ("GET", "/v1/assets"),
        ("PATCH", "/v1/assets/{id}"),
        ("DELETE", "/v1/assets/{id}"),
        ("PATCH", "/v1/assets/{id}/policy"),
        ("POST", "/v1/assets/{id}/captions"),
        ("DELETE", "/v1/assets/{id}/captions/{caption_id}"),
        ("POST", "/v1/play/{id}"),
        ("POST", "/v1/beacons"),
        ("GET", "/v1/analytics"),
        ("POST", "/v1/webhooks"),
        ("GET", "/v1/webhooks/{id}/deliveries"),
        ("DELETE", "/v1/viewer-token-keys/{id}"),
        ("GET", "/healthz"),
    ] {
        assert!(
            operations.iter().any(|(m, p, _)| m == method && p == path),
            "{method} {path} is not in the document"
        );
    }
    assert!(operations.len() >= 30, "{} operations", operations.len());
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for (method, path, op) in &operations {
        // Described: a summary, a group, and its answers with their schemas.
        assert!(op["summary"].is_string(), "{method} {path} has no summary");
        assert!(op["tags"][0].is_string(), "{method} {path} has no tag");
        let responses = op["responses"].as_object().unwrap();
        assert!(
            path == "/healthz" || responses.contains_key("4XX"),
            "{method} {path}: no error answer"
        );
        for r in responses.values() {
            if let Some(name) = r["content"]["application/json"]["schema"]["$ref"].as_str() {
                let name = name.trim_start_matches("#/components/schemas/");
                assert!(
                    schemas.contains_key(name),
                    "{method} {path}: {name} is not defined"
                );
            }
        }
        // Served: a request without credentials reaches the handler, which answers (most often
        // 401, or 400 for its body), never the router's "no such route" or "wrong method".
        let uri = path.replace('{', "x").replace('}', "");
        let req = Request::builder()
            .method(method.as_str())
            .uri(&uri)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let res = cinelock_server::app(env.state.clone())
            .oneshot(req)
            .await
            .unwrap();
        let status = res.status();
        let body: Value =
            serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes())
                .unwrap_or(Value::Null);
        let code = body["error"]["code"].as_str().unwrap_or("");
        assert!(
            !matches!(code, "not_found" | "method_not_allowed"),
            "{method} {uri}: the router does not serve it ({status} {body})"
        );
    }
    // And the router's own answer, for comparison, is what the loop would have caught.
    let res = cinelock_server::app(env.state.clone())
        .oneshot(
            Request::get("/v1/no-such-resource")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = cinelock_server::app(env.state.clone())
        .oneshot(Request::put("/v1/uploads").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
}

/// Browsers on other origins reach the API (preflight and request) as before the routes
/// carried their descriptions: the CORS layers still wrap every route, allow every method the
/// routes take, and say how long a preflight's answer holds.
#[tokio::test]
async fn the_api_answers_preflights_from_other_origins() {
    let env = env(Store::Embedded, Db::Sqlite).await;
    for (path, method) in [
        ("/v1/uploads/x/sign", "POST"),
        ("/v1/assets", "GET"),
        ("/v1/play/x", "POST"),
        ("/v1/beacons", "POST"),
        // Every method the API's routes take, PUT included (a policy's replacement).
        ("/v1/assets/x/policy", "PUT"),
        ("/v1/assets/x/policy", "PATCH"),
        ("/v1/assets/x", "DELETE"),
    ] {
        let req = Request::builder()
            .method("OPTIONS")
            .uri(path)
            .header("origin", "http://app.example")
            .header("access-control-request-method", method)
            .header("access-control-request-headers", "content-type")
            .body(Body::empty())
            .unwrap();
        let res = cinelock_server::app(env.state.clone())
            .oneshot(req)
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        assert!(
            res.headers().contains_key("access-control-allow-origin"),
            "{path}: {:?}",
            res.headers()
        );
        let allowed = res.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap();
        assert!(
            allowed.split(',').any(|m| m.trim() == method),
            "{method} {path}: allowed {allowed}"
        );
        // Remembered for an hour, not Chromium's default 5 s: an upload's signings from another
        // origin do not each pay a preflight.
        assert_eq!(res.headers()["access-control-max-age"], "3600", "{path}");
    }
}
