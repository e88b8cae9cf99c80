//! The upload flow as a customer backend and a browser drive it: create an upload through
//! `app` (oneshot), seal the source, sign each part, PUT it to the presigned URL with the
//! returned headers, complete, and read the object back from the store.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cinelock_core::upload::{ChecksumAlgorithm, PartPlan};
use cinelock_core::{RecipientSecretKey, SEED_LEN, SealSeed, open, seal};
use cinelock_server::{AppState, EmbeddedS3, StorageSettings, app, auth, embedded_s3};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use super::{Garage, Postgres};

/// The database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// The S3 store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Garage,
    /// The embedded s3s-fs store, started the way `main` starts it.
    Embedded,
}

/// Keeps a test's store running.
enum StoreGuard {
    Garage(Garage),
    Embedded(EmbeddedS3),
}

/// An app on a store and a database, with an API key and the workers' secret key.
pub struct Env {
    pub state: AppState,
    pub key: String,
    pub worker: RecipientSecretKey,
    _store: StoreGuard,
    _postgres: Option<Postgres>,
    _dir: tempfile::TempDir,
}

pub async fn env(store: Store, db: Db) -> Env {
    env_with(store, db, &[]).await
}

/// [`env`] with extra flags.
pub async fn env_with(store: Store, db: Db, extra: &[&str]) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let worker = RecipientSecretKey::from_seed(&[5; 32]);
    let pk = worker.public_key().to_bytes();
    let postgres = (db == Db::Postgres).then(Postgres::start);
    let url = match &postgres {
        Some(pg) => pg.url.clone(),
        None => super::sqlite_url(dir.path()),
    };
    let garage = (store == Store::Garage).then(Garage::start);
    let s3_dir = dir.path().join("s3").display().to_string();
    let mut flags = extra.to_vec();
    if store == Store::Embedded {
        flags.extend(["--embedded-s3-dir", &s3_dir]);
    }
    let mut settings = super::config(dir.path(), &url, garage.as_ref(), &pk, &flags)
        .validate()
        .unwrap();
    let embedded = embedded_s3::start_if_configured(&mut settings)
        .await
        .unwrap();
    let state = AppState::new(settings).await.unwrap();
    if db == Db::Postgres {
        // The point of these runs: the same SQL on the other database, not SQLite again.
        let (version,): (String,) = sqlx::query_as("SELECT version()")
            .fetch_one(state.db())
            .await
            .unwrap();
        assert!(version.starts_with("PostgreSQL"), "{version}");
    }
    let guard = match (garage, embedded) {
        (Some(g), _) => {
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
            StoreGuard::Garage(g)
        }
        (None, Some(e)) => StoreGuard::Embedded(e),
        (None, None) => unreachable!("every Store starts one"),
    };
    let key = auth::create_api_key(state.db(), "test", "uploads:write,uploads:read")
        .await
        .unwrap();
    Env {
        state,
        key,
        worker,
        _store: guard,
        _postgres: postgres,
        _dir: dir,
    }
}

impl Env {
    /// The SQLite database files (the database, its WAL and shared memory) with their bytes,
    /// when on SQLite.
    pub fn sqlite_files(&self) -> Vec<(std::path::PathBuf, Vec<u8>)> {
        // SQLite removes `-wal` and `-shm` when its last connection closes, which may happen
        // between listing and reading: a file gone by then holds nothing.
        ["db.sqlite", "db.sqlite-wal", "db.sqlite-shm"]
            .iter()
            .map(|f| self._dir.path().join(f))
            .filter_map(|p| std::fs::read(&p).ok().map(|bytes| (p, bytes)))
            .collect()
    }

    /// How to reach the store (endpoint, region, credentials).
    pub fn storage_settings(&self) -> StorageSettings {
        self.state.settings().storage.clone().unwrap()
    }
}

/// A request through the router from client address `peer` (the socket peer the server sees),
/// with `headers` (repeated names are separate lines): status, JSON answer (`Null` if none),
/// and the answer's headers.
pub async fn request_from(
    state: &AppState,
    method: &str,
    uri: &str,
    body: impl Into<Body>,
    headers: &[(&str, &str)],
    peer: &str,
) -> (StatusCode, Value, axum::http::HeaderMap) {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(body.into()).unwrap();
    let addr = std::net::SocketAddr::new(peer.parse().unwrap(), 40000);
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    let res = app(state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        headers,
    )
}

/// One API request through the router; the JSON answer (`Null` if none).
pub async fn call(
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

/// The error code of a JSON error answer.
pub fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<none>")
}

/// An upload created through the API, with its source sealed the way the browser seals it.
#[derive(Clone)]
pub struct Created {
    pub id: String,
    /// The asset the upload was created for: the context its source is sealed for.
    pub asset_id: String,
    pub token: String,
    pub plan: PartPlan,
    pub sealed: Vec<u8>,
    pub source: Vec<u8>,
}

/// Creates an upload of `len` bytes and seals a source for it the way the browser would.
pub async fn create(env: &Env, len: usize) -> Created {
    let source: Vec<u8> = (0..len)
        .map(|i| (i as u32).wrapping_mul(2654435761) as u8)
        .collect();
    create_with(env, source).await
}

/// Creates an upload of `source` and seals it the way the browser would.
pub async fn create_with(env: &Env, source: Vec<u8>) -> Created {
    create_as(env, &env.key, source).await
}

/// [`create_with`] with the API key `key` (another customer's, say).
pub async fn create_as(env: &Env, key: &str, source: Vec<u8>) -> Created {
    let len = source.len();
    let (status, v) = call(
        &env.state,
        "POST",
        "/v1/uploads",
        Some(key),
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
    let pkr = cinelock_core::RecipientPublicKey::from_bytes(&pk).unwrap();
    let asset_id = v["asset_id"].as_str().unwrap();
    let sealed = seal(
        &pkr,
        plan.chunk_size(),
        &SealSeed::from_bytes(&[3; SEED_LEN]),
        asset_id.as_bytes(),
        &source,
    )
    .unwrap();
    assert_eq!(sealed.len() as u64, plan.sealed_len());
    Created {
        id: v["upload_id"].as_str().unwrap().into(),
        asset_id: asset_id.into(),
        token: v["token"].as_str().unwrap().into(),
        plan,
        sealed,
        source,
    }
}

/// The sealed bytes of part `n`.
pub fn part_bytes(c: &Created, n: u32) -> &[u8] {
    let spec = c.plan.part(n).unwrap();
    &c.sealed[spec.sealed.start as usize..spec.sealed.end as usize]
}

/// Base64 CRC32C of `data`: the checksum parts of new uploads are signed for.
pub fn b64crc(data: &[u8]) -> String {
    ChecksumAlgorithm::Crc32c.checksum(data).to_base64()
}

/// Signs part `n` with the upload's token: `{number, url, headers, expires_at, expires_in_ms}`.
pub async fn sign(env: &Env, c: &Created, n: u32) -> Value {
    sign_body(env, c, n, part_bytes(c, n)).await
}

/// Signs part `n` for `body` (which need not be the plan's part).
pub async fn sign_body(env: &Env, c: &Created, n: u32, body: &[u8]) -> Value {
    let (status, v) = call(
        &env.state,
        "POST",
        &format!("/v1/uploads/{}/sign", c.id),
        Some(&c.token),
        Some(json!({"parts": [{"number": n, "crc32c": b64crc(body), "size": body.len()}]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let part = v["parts"][0].clone();
    // The lifetime comes both ways: absolute on the server's clock, and from signing (what
    // clients time URLs with).
    let ttl_ms = env.state.settings().part_url_ttl.as_millis() as i64;
    assert_eq!(part["expires_in_ms"].as_i64(), Some(ttl_ms), "{part}");
    let left = part["expires_at"].as_i64().unwrap() - cinelock_server::now_ms();
    assert!((ttl_ms - 60_000..=ttl_ms).contains(&left), "{left}");
    part
}

/// PUTs to a presigned URL. Errors drop the URL: a presigned query string is never printed.
pub async fn try_put(signed: &Value, body: Vec<u8>) -> Result<reqwest::Response, reqwest::Error> {
    let mut req = reqwest::Client::new()
        .put(signed["url"].as_str().unwrap())
        .body(body);
    for (k, v) in signed["headers"].as_object().unwrap() {
        req = req.header(k, v.as_str().unwrap());
    }
    req.send().await.map_err(reqwest::Error::without_url)
}

pub async fn put(signed: &Value, body: Vec<u8>) -> reqwest::Response {
    try_put(signed, body).await.unwrap()
}

/// Signs and PUTs part `n`; it must be accepted.
pub async fn signed_put(env: &Env, c: &Created, n: u32) -> String {
    let signed = sign(env, c, n).await;
    let res = put(&signed, part_bytes(c, n).to_vec()).await;
    assert_eq!(res.status(), 200);
    res.headers()["etag"].to_str().unwrap().to_owned()
}

/// Uploads every part and completes the upload (which queues its transcode).
pub async fn upload_and_complete(env: &Env, c: &Created) {
    let etags = upload_all(env, c).await;
    let (status, v) = call(
        &env.state,
        "POST",
        &format!("/v1/uploads/{}/complete", c.id),
        Some(&c.token),
        Some(json!({ "parts": etags })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

/// Signs and PUTs every part; the `{number, etag}` list that completes the upload.
pub async fn upload_all(env: &Env, c: &Created) -> Vec<Value> {
    let mut etags = Vec::new();
    for n in 1..=c.plan.part_count() {
        let signed = sign(env, c, n).await;
        assert!(
            signed["headers"]
                .as_object()
                .unwrap()
                .contains_key("x-amz-checksum-crc32c")
        );
        let res = put(&signed, part_bytes(c, n).to_vec()).await;
        assert_eq!(res.status(), 200);
        let etag = res.headers()["etag"].to_str().unwrap().to_owned();
        etags.push(json!({"number": n, "etag": etag}));
    }
    etags
}

/// `(object key, the store's multipart upload id)` of an upload.
pub async fn store_ids(env: &Env, upload_id: &str) -> (String, String) {
    sqlx::query_as("SELECT object_key, s3_upload_id FROM uploads WHERE id = $1")
        .bind(upload_id)
        .fetch_one(env.state.db())
        .await
        .unwrap()
}

/// A plain S3 client for the store, as another S3 user would see it.
pub fn s3_client(s: &StorageSettings) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .endpoint_url(&s.endpoint)
        .region(aws_sdk_s3::config::Region::new(s.region.clone()))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            &s.access_key,
            &s.secret_key,
            None,
            None,
            "test",
        ))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// The stored object of an upload.
pub async fn get_object(env: &Env, upload_id: &str) -> Vec<u8> {
    let (object_key, _) = store_ids(env, upload_id).await;
    let s = env.storage_settings();
    let out = s3_client(&s)
        .get_object()
        .bucket(&s.bucket)
        .key(object_key)
        .send()
        .await
        .unwrap();
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

/// The whole flow on `env`'s store: a two-part sealed file goes up, is listed for resuming,
/// completes (twice: a lost answer may be retried), and comes back as ciphertext that the
/// workers' key opens to the source; a completed upload then takes no more signatures and
/// cannot be aborted.
/// `method` on `/v1/uploads/{id}` with the upload's own token: its status and answer.
pub async fn upload_call(env: &Env, c: &Created, method: &str) -> (StatusCode, Value) {
    call(
        &env.state,
        method,
        &format!("/v1/uploads/{}", c.id),
        Some(&c.token),
        None,
    )
    .await
}

pub async fn sealed_round_trip(env: &Env) {
    let c = create(env, 12 * 1024 * 1024 + 77).await;
    assert_eq!(c.plan.part_count(), 2);
    let etags = upload_all(env, &c).await;
    // Resume support: the store lists both parts with their sizes, in order.
    let (status, v) = upload_call(env, &c, "GET").await;
    assert_eq!(status, StatusCode::OK);
    let listed: Vec<(u64, u64)> = v["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["number"].as_u64().unwrap(), p["size"].as_u64().unwrap()))
        .collect();
    let planned: Vec<(u64, u64)> = (1..=2)
        .map(|n| (u64::from(n), c.plan.part(n).unwrap().sealed_len()))
        .collect();
    assert_eq!(listed, planned);
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
    let (status, _) = call(
        &env.state,
        "POST",
        &format!("/v1/uploads/{}/complete", c.id),
        Some(&c.token),
        Some(json!({"parts": etags})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let stored = get_object(env, &c.id).await;
    assert_eq!(stored, c.sealed);
    assert!(
        !stored.windows(32).any(|w| w == &c.source[5000..5032]),
        "plaintext visible in the bucket"
    );
    assert_eq!(
        Sha256::digest(open(&env.worker, c.asset_id.as_bytes(), &stored).unwrap()),
        Sha256::digest(&c.source)
    );
    let body = part_bytes(&c, 1);
    let (status, v) = call(
        &env.state,
        "POST",
        &format!("/v1/uploads/{}/sign", c.id),
        Some(&c.token),
        Some(json!({"parts": [{"number": 1, "crc32c": b64crc(body), "size": body.len()}]})),
    )
    .await;
    assert_eq!((status, code(&v)), (StatusCode::CONFLICT, "upload_state"));
    let (status, _) = upload_call(env, &c, "DELETE").await;
    assert_eq!(status, StatusCode::CONFLICT);
}

/// Completes a one-part upload at the store only, as if the server's first attempt had
/// succeeded there and its answer (or its database write) had been lost.
/// `POST /v1/uploads/{id}/complete` for a one-part upload with `etag`.
pub async fn complete_one(env: &Env, c: &Created, etag: &str) -> (StatusCode, Value) {
    call(
        &env.state,
        "POST",
        &format!("/v1/uploads/{}/complete", c.id),
        Some(&c.token),
        Some(json!({"parts": [{"number": 1, "etag": etag}]})),
    )
    .await
}

pub async fn complete_at_the_store_only(env: &Env, c: &Created, etag: &str) {
    assert_eq!(c.plan.part_count(), 1);
    let (key, s3id) = store_ids(env, &c.id).await;
    let s = env.storage_settings();
    let parts = aws_sdk_s3::types::CompletedMultipartUpload::builder()
        .parts(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(1)
                .e_tag(etag)
                .checksum_crc32_c(b64crc(part_bytes(c, 1)))
                .build(),
        )
        .build();
    s3_client(&s)
        .complete_multipart_upload()
        .bucket(&s.bucket)
        .key(&key)
        .upload_id(&s3id)
        .multipart_upload(parts)
        .send()
        .await
        .unwrap();
}
