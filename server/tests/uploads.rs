//! The upload API against a real Garage: a sealed file goes up in presigned parts and comes back
//! byte for byte; every endpoint's deny and bad-input cases answer the documented errors.

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cinelock_core::upload::PartPlan;
use cinelock_core::{RecipientSecretKey, SEED_LEN, SealSeed, open, seal};
use cinelock_server::{AppState, Storage, app, auth, now_ms, uploads};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

struct Env {
    _garage: support::Garage,
    _dir: tempfile::TempDir,
    state: AppState,
    key: String,
    worker: RecipientSecretKey,
}

async fn env() -> Env {
    let garage = support::Garage::start();
    let dir = tempfile::tempdir().unwrap();
    let worker = RecipientSecretKey::from_seed(&[5; 32]);
    let state = support::state(dir.path(), Some(&garage), &worker.public_key().to_bytes()).await;
    let storage = state.storage().unwrap();
    // Garage creates the bucket on start; wait until it answers.
    for _ in 0..100 {
        if storage.configure_cors(&["*".into()]).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    storage
        .check_cors(&["http://127.0.0.1:1234".into()])
        .await
        .unwrap();
    let key = auth::create_api_key(state.db(), "test", "uploads:write,uploads:read")
        .await
        .unwrap();
    Env {
        _garage: garage,
        _dir: dir,
        state,
        key,
        worker,
    }
}

async fn call(
    state: &AppState,
    method: &str,
    uri: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(b) = bearer {
        req = req.header("authorization", format!("Bearer {b}"));
    }
    let req = match body {
        Some(v) => req
            .header("content-type", "application/json")
            .body(Body::from(v.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let res = app(state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<none>")
}

struct Created {
    id: String,
    token: String,
    plan: PartPlan,
    sealed: Vec<u8>,
    source: Vec<u8>,
}

/// Creates an upload of `len` bytes and seals a source for it the way the browser would.
async fn create(env: &Env, len: usize) -> Created {
    let (status, v) = call(
        &env.state,
        "POST",
        "/v1/uploads",
        Some(&env.key),
        Some(json!({"size": len, "filename": "clip.mp4"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let pk = hex::decode(v["recipient"]["public_key"].as_str().unwrap()).unwrap();
    assert_eq!(pk, env.worker.public_key().to_bytes());
    let p = &v["plan"];
    let plan = PartPlan::from_parts(
        len as u64,
        p["chunk_size"].as_u64().unwrap() as u32,
        p["chunks_per_part"].as_u64().unwrap(),
    )
    .unwrap();
    assert_eq!(
        p["part_count"].as_u64().unwrap(),
        u64::from(plan.part_count())
    );
    let source: Vec<u8> = (0..len)
        .map(|i| (i as u32).wrapping_mul(2654435761) as u8)
        .collect();
    let pkr = cinelock_core::RecipientPublicKey::from_bytes(&pk).unwrap();
    let sealed = seal(
        &pkr,
        plan.chunk_size(),
        &SealSeed::from_bytes(&[3; SEED_LEN]),
        &source,
    )
    .unwrap();
    assert_eq!(sealed.len() as u64, plan.sealed_len());
    Created {
        id: v["upload_id"].as_str().unwrap().into(),
        token: v["token"].as_str().unwrap().into(),
        plan,
        sealed,
        source,
    }
}

fn part_bytes(c: &Created, n: u32) -> &[u8] {
    let spec = c.plan.part(n).unwrap();
    &c.sealed[spec.sealed.start as usize..spec.sealed.end as usize]
}

fn b64sha(data: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(data))
}

async fn sign(env: &Env, c: &Created, n: u32) -> Value {
    let body = part_bytes(c, n);
    let (status, v) = call(
        &env.state,
        "POST",
        &format!("/v1/uploads/{}/sign", c.id),
        Some(&c.token),
        Some(json!({"parts": [{"number": n, "sha256": b64sha(body), "size": body.len()}]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["parts"][0].clone()
}

/// PUTs to a presigned URL. Errors drop the URL: a presigned query string is never printed.
async fn try_put(signed: &Value, body: Vec<u8>) -> Result<reqwest::Response, reqwest::Error> {
    let mut req = reqwest::Client::new()
        .put(signed["url"].as_str().unwrap())
        .body(body);
    for (k, v) in signed["headers"].as_object().unwrap() {
        req = req.header(k, v.as_str().unwrap());
    }
    req.send().await.map_err(reqwest::Error::without_url)
}

async fn put(signed: &Value, body: Vec<u8>) -> reqwest::Response {
    try_put(signed, body).await.unwrap()
}

async fn upload_all(env: &Env, c: &Created) -> Vec<Value> {
    let mut etags = Vec::new();
    for n in 1..=c.plan.part_count() {
        let signed = sign(env, c, n).await;
        assert!(
            signed["headers"]
                .as_object()
                .unwrap()
                .contains_key("x-amz-checksum-sha256")
        );
        let res = put(&signed, part_bytes(c, n).to_vec()).await;
        assert_eq!(res.status(), 200);
        let etag = res.headers()["etag"].to_str().unwrap().to_owned();
        etags.push(json!({"number": n, "etag": etag}));
    }
    etags
}

async fn get_object(env: &Env, upload_id: &str) -> Vec<u8> {
    let (object_key,): (String,) = sqlx::query_as("SELECT object_key FROM uploads WHERE id = $1")
        .bind(upload_id)
        .fetch_one(env.state.db())
        .await
        .unwrap();
    let s = &env.state.settings().storage.clone().unwrap();
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .endpoint_url(&s.endpoint)
        .region(aws_sdk_s3::config::Region::new("garage"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            &s.access_key,
            &s.secret_key,
            None,
            None,
            "t",
        ))
        .force_path_style(true)
        .build();
    let out = aws_sdk_s3::Client::from_conf(conf)
        .get_object()
        .bucket(&s.bucket)
        .key(object_key)
        .send()
        .await
        .unwrap();
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

#[tokio::test]
async fn sealed_upload_round_trips_through_garage_and_the_object_is_ciphertext() {
    let env = env().await;
    let c = create(&env, 12 * 1024 * 1024 + 77).await;
    assert_eq!(c.plan.part_count(), 2);
    let etags = upload_all(&env, &c).await;
    // Resume support: the store lists both parts with their sizes.
    let (status, v) = call(
        &env.state,
        "GET",
        &format!("/v1/uploads/{}", c.id),
        Some(&c.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["parts"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["parts"][0]["size"].as_u64().unwrap(),
        c.plan.part(1).unwrap().sealed_len()
    );
    let (status, v) = call(
        &env.state,
        "POST",
        &format!("/v1/uploads/{}/complete", c.id),
        Some(&c.token),
        Some(json!({"parts": etags})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "completed");
    // Completing again answers the same (a lost response may be retried).
    let (status, _) = call(
        &env.state,
        "POST",
        &format!("/v1/uploads/{}/complete", c.id),
        Some(&c.token),
        Some(json!({"parts": etags})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let stored = get_object(&env, &c.id).await;
    assert_eq!(stored, c.sealed);
    assert!(
        !stored.windows(32).any(|w| w == &c.source[5000..5032]),
        "plaintext visible in the bucket"
    );
    assert_eq!(
        Sha256::digest(open(&env.worker, &stored).unwrap()),
        Sha256::digest(&c.source)
    );
    // A completed upload takes no more signatures, and cannot be aborted.
    let body = part_bytes(&c, 1);
    let (status, v) = call(
        &env.state,
        "POST",
        &format!("/v1/uploads/{}/sign", c.id),
        Some(&c.token),
        Some(json!({"parts": [{"number": 1, "sha256": b64sha(body), "size": body.len()}]})),
    )
    .await;
    assert_eq!((status, code(&v)), (StatusCode::CONFLICT, "upload_state"));
    let (status, _) = call(
        &env.state,
        "DELETE",
        &format!("/v1/uploads/{}", c.id),
        Some(&c.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn garage_rejects_a_part_whose_bytes_do_not_match_the_signed_checksum() {
    let env = env().await;
    let c = create(&env, 6 * 1024 * 1024).await;
    let signed = sign(&env, &c, 1).await;
    let mut corrupted = part_bytes(&c, 1).to_vec();
    corrupted[1000] ^= 1;
    let res = put(&signed, corrupted).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("InvalidDigest"));
    // Without the checksum header the signature does not match.
    let mut no_header = signed.clone();
    no_header["headers"] = json!({});
    // Garage may refuse before reading the body and close the connection: also a refusal.
    match try_put(&no_header, part_bytes(&c, 1).to_vec()).await {
        Ok(res) => assert!(res.status().is_client_error(), "{}", res.status()),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    // The correct bytes still go through on the same URL.
    assert_eq!(put(&signed, part_bytes(&c, 1).to_vec()).await.status(), 200);
}

#[tokio::test]
async fn an_expired_part_url_is_refused_by_garage() {
    let env = env().await;
    let c = create(&env, 1000).await;
    let (key, s3id): (String, String) =
        sqlx::query_as("SELECT object_key, s3_upload_id FROM uploads WHERE id = $1")
            .bind(&c.id)
            .fetch_one(env.state.db())
            .await
            .unwrap();
    let storage: &Storage = env.state.storage().unwrap();
    let body = part_bytes(&c, 1).to_vec();
    let signed = storage
        .sign_part(
            &key,
            &s3id,
            1,
            &b64sha(&body),
            body.len() as u64,
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let mut req = reqwest::Client::new().put(&signed.url).body(body);
    for (k, v) in &signed.headers {
        req = req.header(k, v);
    }
    let res = req
        .send()
        .await
        .map_err(reqwest::Error::without_url)
        .unwrap();
    // Garage says 400 "Date is too old"; AWS says 403 "Request has expired". The SDK treats both
    // as expiry and asks for a new URL.
    assert!(
        matches!(res.status().as_u16(), 400 | 403),
        "{}",
        res.status()
    );
    let text = res.text().await.unwrap();
    assert!(
        text.contains("too old") || text.contains("expired"),
        "{text}"
    );
}

#[tokio::test]
async fn every_endpoint_denies_bad_credentials_and_bad_input() {
    let env = env().await;
    let c = create(&env, 12 * 1024 * 1024).await;
    let other = create(&env, 100).await;
    let sign_uri = format!("/v1/uploads/{}/sign", c.id);
    let body = part_bytes(&c, 1);
    let good = json!({"parts": [{"number": 1, "sha256": b64sha(body), "size": body.len()}]});
    let s = &env.state;

    // Creating: API key required, with the write scope, and a sane body.
    let (st, v) = call(s, "POST", "/v1/uploads", None, Some(json!({"size": 1}))).await;
    assert_eq!((st, code(&v)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    let (st, v) = call(
        s,
        "POST",
        "/v1/uploads",
        Some("clk_not-a-real-key"),
        Some(json!({"size": 1})),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    let (st, _) = call(
        s,
        "POST",
        "/v1/uploads",
        Some(&c.token),
        Some(json!({"size": 1})),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::UNAUTHORIZED,
        "an upload token cannot create uploads"
    );
    let read_only = auth::create_api_key(s.db(), "reader", "uploads:read")
        .await
        .unwrap();
    let (st, v) = call(
        s,
        "POST",
        "/v1/uploads",
        Some(&read_only),
        Some(json!({"size": 1})),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (st, v) = call(
        s,
        "POST",
        "/v1/uploads",
        Some(&env.key),
        Some(json!({"size": "big"})),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "invalid_body"));
    let (st, v) = call(
        s,
        "POST",
        "/v1/uploads",
        Some(&env.key),
        Some(json!({"size": 1, "colour": "red"})),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "invalid_body"));
    let (st, v) = call(
        s,
        "POST",
        "/v1/uploads",
        Some(&env.key),
        Some(json!({"size": 1, "chunk_size": 3})),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "invalid_plan"));
    let (st, v) = call(
        s,
        "POST",
        "/v1/uploads",
        Some(&env.key),
        Some(json!({"size": 1, "filename": "a\u{0}b"})),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "invalid_field"));
    let req = Request::post("/v1/uploads")
        .header("authorization", format!("Bearer {}", env.key))
        .header("content-type", "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let res = app(s.clone()).oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let huge = json!({"parts": (0..5000).map(|n| json!({"number": n, "sha256": "x".repeat(44), "size": 1})).collect::<Vec<_>>()});
    let (st, v) = call(s, "POST", &sign_uri, Some(&c.token), Some(huge)).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
    );

    // Signing: this upload's token only.
    let (st, _) = call(s, "POST", &sign_uri, None, Some(good.clone())).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, v) = call(s, "POST", &sign_uri, Some(&other.token), Some(good.clone())).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::UNAUTHORIZED, "unauthorized"),
        "another upload's token"
    );
    let mut forged = c.token.clone();
    forged.pop();
    forged.push(if c.token.ends_with('A') { 'B' } else { 'A' });
    let (st, _) = call(s, "POST", &sign_uri, Some(&forged), Some(good.clone())).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let expired =
        cinelock_server::auth::TokenSigner::new(hex::decode(support::TOKEN_SECRET).unwrap())
            .issue(&c.id, now_ms() - 1);
    let (st, v) = call(s, "POST", &sign_uri, Some(&expired), Some(good.clone())).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(v["error"]["message"].as_str().unwrap().contains("expired"));
    let (st, v) = call(
        s,
        "POST",
        "/v1/uploads/no-such-upload/sign",
        Some(&env.key),
        Some(good.clone()),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "unknown_upload"));
    let (st, v) = call(
        s,
        "POST",
        &sign_uri,
        Some(&c.token),
        Some(json!({"parts": [{"number": 3, "sha256": b64sha(b"x"), "size": 10}]})),
    )
    .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::BAD_REQUEST, "part_out_of_range")
    );
    let (st, v) = call(
        s,
        "POST",
        &sign_uri,
        Some(&c.token),
        Some(json!({"parts": [{"number": 0, "sha256": b64sha(b"x"), "size": 10}]})),
    )
    .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::BAD_REQUEST, "part_out_of_range")
    );
    let (st, v) = call(
        s,
        "POST",
        &sign_uri,
        Some(&c.token),
        Some(json!({"parts": [{"number": 1, "sha256": b64sha(body), "size": body.len() - 1}]})),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "part_size"));
    let (st, v) = call(
        s,
        "POST",
        &sign_uri,
        Some(&c.token),
        Some(json!({"parts": [{"number": 1, "sha256": "not base64!", "size": body.len()}]})),
    )
    .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::BAD_REQUEST, "invalid_checksum")
    );
    let (st, v) = call(
        s,
        "POST",
        &sign_uri,
        Some(&c.token),
        Some(json!({"parts": []})),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "batch_size"));

    // Reading: the token, or the owning API key with the read scope; not another customer's key.
    let show = format!("/v1/uploads/{}", c.id);
    let (st, _) = call(s, "GET", &show, Some(&read_only), None).await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "a key that does not own the upload sees nothing"
    );
    let (st, _) = call(s, "GET", &show, Some(&env.key), None).await;
    assert_eq!(st, StatusCode::OK);

    // Completing: every part must be there with the planned size.
    signed_put(&env, &c, 1).await;
    let (st, v) = call(
        s,
        "POST",
        &format!("/v1/uploads/{}/complete", c.id),
        Some(&c.token),
        Some(json!({"parts": [{"number": 1, "etag": "x"}]})),
    )
    .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::BAD_REQUEST, "missing_part"),
        "{v}"
    );
    signed_put(&env, &c, 2).await;
    let (st, v) = call(
        s,
        "POST",
        &format!("/v1/uploads/{}/complete", c.id),
        Some(&c.token),
        Some(json!({"parts": [{"number": 1, "etag": "x"}]})),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "parts_mismatch"));
    let (st, v) = call(s, "POST", &format!("/v1/uploads/{}/complete", c.id), Some(&c.token),
        Some(json!({"parts": [{"number": 1, "etag": "\"wrong\""}, {"number": 2, "etag": "\"wrong\""}]}))).await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "etag_mismatch"));

    // Aborting: then nothing more is accepted.
    let (st, v) = call(
        s,
        "DELETE",
        &format!("/v1/uploads/{}", c.id),
        Some(&c.token),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = call(s, "POST", &sign_uri, Some(&c.token), Some(good)).await;
    assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "upload_state"));
}

async fn signed_put(env: &Env, c: &Created, n: u32) {
    let signed = sign(env, c, n).await;
    assert_eq!(put(&signed, part_bytes(c, n).to_vec()).await.status(), 200);
}

#[tokio::test]
async fn the_reaper_aborts_abandoned_uploads_only() {
    let env = env().await;
    let old = create(&env, 6 * 1024 * 1024).await;
    signed_put(&env, &old, 1).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let cutoff = now_ms();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let fresh = create(&env, 100).await;
    assert_eq!(
        uploads::reap_abandoned(&env.state, cutoff).await.unwrap(),
        1
    );
    let (_, v) = call(
        &env.state,
        "GET",
        &format!("/v1/uploads/{}", old.id),
        Some(&old.token),
        None,
    )
    .await;
    assert_eq!(v["status"], "abandoned");
    let (_, v) = call(
        &env.state,
        "GET",
        &format!("/v1/uploads/{}", fresh.id),
        Some(&fresh.token),
        None,
    )
    .await;
    assert_eq!(v["status"], "open");
    // The store no longer has the multipart upload.
    let (key, s3id): (String, String) =
        sqlx::query_as("SELECT object_key, s3_upload_id FROM uploads WHERE id = $1")
            .bind(&old.id)
            .fetch_one(env.state.db())
            .await
            .unwrap();
    assert!(
        env.state
            .storage()
            .unwrap()
            .list_parts(&key, &s3id)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn start_up_cors_check_names_the_missing_rule() {
    let garage = support::Garage::start();
    let dir = tempfile::tempdir().unwrap();
    let worker = RecipientSecretKey::from_seed(&[6; 32]);
    let state = support::state(dir.path(), Some(&garage), &worker.public_key().to_bytes()).await;
    let storage = state.storage().unwrap();
    let origin = "http://app.example".to_owned();
    // A fresh bucket has no CORS rules: refused, with the fix in the message.
    let mut err = String::new();
    for _ in 0..100 {
        err = storage.check_cors(std::slice::from_ref(&origin)).await.unwrap_err();
        if !err.contains("cannot read") || err.contains("NoSuchCORSConfiguration") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(err.contains("configure-bucket-cors"), "{err}");
    for _ in 0..100 {
        if storage.configure_cors(std::slice::from_ref(&origin)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    storage.check_cors(&[origin]).await.unwrap();
    let err = storage
        .check_cors(&["http://other.example".into()])
        .await
        .unwrap_err();
    assert!(
        err.contains("http://other.example") && err.contains("ETag"),
        "{err}"
    );
}
