//! The embedded S3 store (s3s-fs 0.14.1) the demo runs on: the upload flow works on it as on
//! any S3 store, it answers browsers' CORS for the allowed origins only, it refuses unsigned
//! and forged requests, the server binary runs the demo's configuration, and the gaps that
//! `server/src/embedded_s3.rs` documents are what the store really does (`gap_*` tests).

mod support;

use std::os::unix::fs::PermissionsExt;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use axum::http::StatusCode;
use cinelock_core::{RecipientPublicKey, RecipientSecretKey, SEED_LEN, SealSeed, open, seal};
use serde_json::{Value, json};
use support::process::{api_url, server, start};
use support::{
    Db, Store, b64crc, call, code, complete_at_the_store_only, complete_one, create, env, env_with,
    get_object, part_bytes, put, s3_client, sealed_round_trip, sign, signed_put, store_ids,
    upload_all, upload_call,
};

#[tokio::test]
async fn sealed_upload_round_trips_through_the_embedded_store() {
    sealed_round_trip(&env(Store::Embedded, Db::Sqlite).await).await;
}

#[tokio::test]
async fn the_embedded_store_answers_cors_for_the_allowed_origins_only() {
    let page = "http://app.example";
    let app_env = env_with(Store::Embedded, Db::Sqlite, &["--allowed-origins", page]).await;
    let c = create(&app_env, 1000).await;
    let signed = sign(&app_env, &c, 1).await;
    let url = signed["url"].as_str().unwrap();
    let client = reqwest::Client::new();
    let preflight = |origin: &str| {
        client
            .request(reqwest::Method::OPTIONS, url)
            .header("origin", origin)
            .header("access-control-request-method", "PUT")
            .header(
                "access-control-request-headers",
                "x-amz-checksum-crc32c,x-amz-sdk-checksum-algorithm",
            )
            .send()
    };
    let res = preflight(page).await.unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], page);
    let methods = h["access-control-allow-methods"].to_str().unwrap();
    assert!(methods.contains("PUT"), "{methods}");
    let headers = h["access-control-allow-headers"].to_str().unwrap();
    assert!(headers.contains("x-amz-checksum-crc32c"), "{headers}");
    // The real PUT from the page: allowed, and the ETag readable by the page's script.
    let mut put = client
        .put(url)
        .header("origin", page)
        .body(part_bytes(&c, 1).to_vec());
    for (k, v) in signed["headers"].as_object().unwrap() {
        put = put.header(k, v.as_str().unwrap());
    }
    let res = put
        .send()
        .await
        .map_err(reqwest::Error::without_url)
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], page);
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(exposed.eq_ignore_ascii_case("etag"), "{exposed}");
    assert!(res.headers().contains_key("etag"));
    // Another site's page gets no permission: its browser blocks the PUT.
    let res = preflight("http://evil.example").await.unwrap();
    assert!(!res.headers().contains_key("access-control-allow-origin"));

    // With no origins configured, any page may upload (the API's rule too).
    let open_env = env(Store::Embedded, Db::Sqlite).await;
    let c = create(&open_env, 1000).await;
    let signed = sign(&open_env, &c, 1).await;
    let res = client
        .request(reqwest::Method::OPTIONS, signed["url"].as_str().unwrap())
        .header("origin", "http://anywhere.example")
        .header("access-control-request-method", "PUT")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn the_embedded_store_refuses_unsigned_and_forged_requests() {
    let env = env(Store::Embedded, Db::Sqlite).await;
    let s = env.storage_settings();
    let c = create(&env, 1000).await;
    let signed = sign(&env, &c, 1).await;
    let url = signed["url"].as_str().unwrap();
    let res = reqwest::get(format!("{}/{}", s.endpoint, s.bucket))
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "anonymous listing");
    // A part URL turned to another part no longer matches its signature.
    assert!(url.contains("partNumber=1&"));
    let mut forged = signed.clone();
    forged["url"] = json!(url.replace("partNumber=1&", "partNumber=2&"));
    let res = put(&forged, part_bytes(&c, 1).to_vec()).await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("SignatureDoesNotMatch"));
    // Credentials other than the ones made at start are refused.
    let mut wrong = s.clone();
    wrong.secret_key = "0".repeat(40);
    let err = s3_client(&wrong)
        .list_objects_v2()
        .bucket(&s.bucket)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"));
    wrong.access_key = "CLKE0000000000000000".into();
    let err = s3_client(&wrong)
        .list_objects_v2()
        .bucket(&s.bucket)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NotSignedUp"), "{err:?}");
    // The generated credentials work.
    s3_client(&s)
        .list_objects_v2()
        .bucket(&s.bucket)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn gap_list_parts_has_no_etags_and_no_order_and_the_server_sorts() {
    let env = env(Store::Embedded, Db::Sqlite).await;
    let s = env.storage_settings();
    let client = s3_client(&s);
    let key = "gaps/list-parts";
    let upload = client
        .create_multipart_upload()
        .bucket(&s.bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    // Scrambled upload order, so that neither creation order, nor its reverse, nor file-name
    // order (part-10 before part-2) is numeric order.
    let order: Vec<i32> = (0..20).map(|i| (i * 7) % 20 + 1).collect();
    for &n in &order {
        let out = client
            .upload_part()
            .bucket(&s.bucket)
            .key(key)
            .upload_id(&upload)
            .part_number(n)
            .body(ByteStream::from(vec![n as u8; 10]))
            .send()
            .await
            .unwrap();
        assert!(
            out.e_tag().is_some_and(|e| !e.is_empty()),
            "UploadPart gives an ETag"
        );
    }
    let listed = client
        .list_parts()
        .bucket(&s.bucket)
        .key(key)
        .upload_id(&upload)
        .send()
        .await
        .unwrap();
    let numbers: Vec<i32> = listed
        .parts()
        .iter()
        .map(|p| p.part_number().unwrap())
        .collect();
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=20).collect::<Vec<_>>());
    assert_ne!(numbers, sorted, "s3s-fs lists parts in directory order");
    assert!(
        listed.parts().iter().all(|p| p.e_tag().is_none()),
        "s3s-fs lists no ETags"
    );
    // The server's listing is in part order, with sizes and no invented ETags.
    let ours = env
        .state
        .storage()
        .unwrap()
        .list_parts(key, &upload)
        .await
        .unwrap()
        .unwrap();
    let ours: Vec<(u32, u64, Option<String>)> = ours
        .into_iter()
        .map(|p| (p.number, p.size, p.etag))
        .collect();
    assert_eq!(ours, (1..=20).map(|n| (n, 10, None)).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_body_that_does_not_match_its_signed_checksum_is_refused_and_not_stored() {
    let env = env(Store::Embedded, Db::Sqlite).await;
    let c = create(&env, 6 * 1024 * 1024).await;
    assert_eq!(c.plan.part_count(), 1);
    let signed = sign(&env, &c, 1).await;
    let mut corrupted = part_bytes(&c, 1).to_vec();
    corrupted[1000] ^= 1;
    // Refused before anything is stored (s3s-fs alone would store it; Garage answers 400
    // InvalidDigest, AWS and this store BadDigest).
    let res = put(&signed, corrupted).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("BadDigest"));
    // The right bytes then go in, and the upload completes intact.
    let res = put(&signed, part_bytes(&c, 1).to_vec()).await;
    assert_eq!(res.status(), 200);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let (st, v) = complete_one(&env, &c, &etag).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let stored = get_object(&env, &c.id).await;
    assert_eq!(stored, c.sealed);
    assert!(open(&env.worker, c.asset_id.as_bytes(), &stored).is_ok());

    // PutObject too is checked before writing: a mismatching body leaves the object as it was.
    let s = env.storage_settings();
    let client = s3_client(&s);
    let key = "checks/put-object";
    client
        .put_object()
        .bucket(&s.bucket)
        .key(key)
        .checksum_crc32_c(b64crc(b"first"))
        .body(ByteStream::from_static(b"first"))
        .send()
        .await
        .unwrap();
    let err = client
        .put_object()
        .bucket(&s.bucket)
        .key(key)
        .checksum_crc32_c(b64crc(b"expected"))
        .body(ByteStream::from_static(b"different"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("BadDigest"), "{err:?}");
    let out = client
        .get_object()
        .bucket(&s.bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        &out.body.collect().await.unwrap().into_bytes()[..],
        b"first"
    );
}

#[tokio::test]
async fn an_aborted_or_unknown_upload_is_no_such_upload_and_abort_is_idempotent() {
    let env = env(Store::Embedded, Db::Sqlite).await;
    let c = create(&env, 6 * 1024 * 1024).await;
    let etag = signed_put(&env, &c, 1).await;
    let (key, s3id) = store_ids(&env, &c.id).await;
    let (st, v) = upload_call(&env, &c, "DELETE").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let s = env.storage_settings();
    let client = s3_client(&s);
    // NoSuchUpload to each of these, as from a real store (s3s-fs itself says AccessDenied).
    let err = client
        .abort_multipart_upload()
        .bucket(&s.bucket)
        .key(&key)
        .upload_id(&s3id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NoSuchUpload"));
    let err = client
        .upload_part()
        .bucket(&s.bucket)
        .key(&key)
        .upload_id(&s3id)
        .part_number(1)
        .body(ByteStream::from_static(b"late"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NoSuchUpload"));
    let parts = aws_sdk_s3::types::CompletedMultipartUpload::builder()
        .parts(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(1)
                .e_tag(&etag)
                .build(),
        )
        .build();
    let err = client
        .complete_multipart_upload()
        .bucket(&s.bucket)
        .key(&key)
        .upload_id(&s3id)
        .multipart_upload(parts)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NoSuchUpload"));
    // Nor for an upload id it never issued.
    let err = client
        .abort_multipart_upload()
        .bucket(&s.bucket)
        .key(&key)
        .upload_id("00000000-0000-4000-8000-000000000000")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NoSuchUpload"));
    // The gap that stays: ListParts of the aborted upload is not an error, just no parts.
    let listed = client
        .list_parts()
        .bucket(&s.bucket)
        .key(&key)
        .upload_id(&s3id)
        .send()
        .await
        .unwrap();
    assert!(listed.parts().is_empty());
    // So the server's abort, which counts NoSuchUpload as already gone, is a no-op when the
    // store is asked twice.
    env.state
        .storage()
        .unwrap()
        .abort(&key, &s3id)
        .await
        .unwrap();
}

#[tokio::test]
async fn completing_again_after_a_lost_answer_finds_the_object_despite_the_gap() {
    let env = env(Store::Embedded, Db::Sqlite).await;
    let c = create(&env, 1000).await;
    let etag = signed_put(&env, &c, 1).await;
    complete_at_the_store_only(&env, &c, &etag).await;
    // ListParts never says NoSuchUpload, but lists no parts: the server checks the object.
    let (st, v) = complete_one(&env, &c, &etag).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "completed");
    assert_eq!(get_object(&env, &c.id).await, c.sealed);
    // An open upload with no parts yet is still just incomplete, not "completed".
    let empty = create(&env, 1000).await;
    let (st, v) = complete_one(&env, &empty, "\"x\"").await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::BAD_REQUEST, "missing_part"),
        "{v}"
    );
}

#[tokio::test]
async fn gap_completion_checks_no_etags() {
    let env = env(Store::Embedded, Db::Sqlite).await;
    let c = create(&env, 12 * 1024 * 1024).await;
    upload_all(&env, &c).await;
    // Garage's listing has ETags, so the server refuses these (etag_mismatch, uploads.rs);
    // here nothing can check them.
    let wrong =
        json!({"parts": [{"number": 1, "etag": "\"wrong\""}, {"number": 2, "etag": "\"wrong\""}]});
    let (st, v) = call(
        &env.state,
        "POST",
        &format!("/v1/uploads/{}/complete", c.id),
        Some(&c.token),
        Some(wrong),
    )
    .await;
    assert_eq!(
        (st, &v["status"]),
        (StatusCode::OK, &json!("completed")),
        "{v}"
    );
    // Harmless: the object is the bytes the store received.
    assert_eq!(get_object(&env, &c.id).await, c.sealed);
}

#[test]
fn embedded_store_settings_are_checked_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let s3_dir = dir.path().join("s3");
    let s3_dir = s3_dir.to_str().unwrap();
    let url = support::sqlite_url(dir.path());
    let pk = RecipientSecretKey::from_seed(&[1; 32])
        .public_key()
        .to_bytes();
    let config = |extra: &[&str]| support::config(dir.path(), &url, None, &pk, extra);

    let s = config(&["--embedded-s3-dir", s3_dir]).validate().unwrap();
    let e = s.embedded_s3.as_ref().unwrap();
    assert!(e.listen.ip().is_loopback() && e.listen.port() == 0);
    assert!(e.credentials.is_none(), "made at start");
    assert!(s.storage.is_none(), "known once started");
    assert!(!s.check_cors, "the store's own CORS layer needs no check");
    // A configured endpoint wins: the demo script's default does not hide a real store.
    let mut c = config(&[
        "--embedded-s3-dir",
        s3_dir,
        "--s3-endpoint",
        "http://127.0.0.1:9",
    ]);
    (c.s3_access_key, c.s3_secret_key) = ("a".into(), "b".into());
    let s = c.validate().unwrap();
    assert!(s.embedded_s3.is_none() && s.storage.is_some() && s.check_cors);
    // Given credentials are used, both or neither.
    let mut c = config(&["--embedded-s3-dir", s3_dir]);
    (c.s3_access_key, c.s3_secret_key) = ("a".into(), "b".into());
    let s = c.validate().unwrap();
    assert_eq!(
        s.embedded_s3.unwrap().credentials,
        Some(("a".into(), "b".into()))
    );
    let mut c = config(&["--embedded-s3-dir", s3_dir]);
    c.s3_access_key = "a".into();
    let err = c.validate().unwrap_err().to_string();
    assert!(err.contains("or neither"), "{err}");

    let err = config(&[
        "--embedded-s3-dir",
        s3_dir,
        "--embedded-s3-listen",
        "0.0.0.0:9000",
    ])
    .validate()
    .unwrap_err()
    .to_string();
    assert!(err.contains("loopback"), "{err}");
    for bucket in ["../etc", "a", "UPPER", ".hidden", "a..b"] {
        let mut c = config(&["--embedded-s3-dir", s3_dir]);
        c.s3_bucket = bucket.into();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("not a valid bucket name"), "{bucket}: {err}");
    }
    // Uploads on the embedded store need the same secrets as on any store.
    let mut c = config(&["--embedded-s3-dir", s3_dir]);
    c.token_secret = String::new();
    let err = c.validate().unwrap_err().to_string();
    assert!(err.contains("CINELOCK_TOKEN_SECRET"), "{err}");
    let mut c = config(&["--embedded-s3-dir", s3_dir]);
    c.worker_public_key = None;
    let err = c.validate().unwrap_err().to_string();
    assert!(err.contains("CINELOCK_WORKER_PUBLIC_KEY"), "{err}");
}

#[test]
fn generate_worker_key_writes_an_owner_only_key_once_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/worker.key");
    let out = server()
        .args(["generate-worker-key", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let public = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(public.len(), 64);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let written = std::fs::read_to_string(&path).unwrap();
    let secret = RecipientSecretKey::from_bytes(&hex::decode(written.trim()).unwrap()).unwrap();
    assert_eq!(hex::encode(secret.public_key().to_bytes()), public);
    // The key works: what is sealed to the printed public key opens with the written secret.
    let pk = RecipientPublicKey::from_bytes(&hex::decode(&public).unwrap()).unwrap();
    let sealed = seal(
        &pk,
        1024,
        &SealSeed::from_bytes(&[7; SEED_LEN]),
        b"a1",
        b"clip",
    )
    .unwrap();
    assert_eq!(open(&secret, b"a1", &sealed).unwrap(), b"clip");

    // Again: the same key, kept.
    let out = server()
        .args(["generate-worker-key", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), public);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), written);

    // A file that is not a key is refused and left alone.
    let other = dir.path().join("notes.txt");
    std::fs::write(&other, "my notes").unwrap();
    let out = server()
        .args(["generate-worker-key", "--out"])
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to overwrite"), "{err}");
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "my notes");
}

#[tokio::test]
async fn the_server_binary_serves_uploads_from_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, sdk) = support::fake_static(dir.path());
    let s3_dir = dir.path().join("s3");
    let worker = RecipientSecretKey::from_seed(&[8; 32]);
    let dev_key = "clk_dev_test_key";
    let mut command = server();
    command
        .env("CINELOCK_LISTEN", "127.0.0.1:0")
        .env("CINELOCK_DEMO_DIR", &demo)
        .env("CINELOCK_SDK_DIR", &sdk)
        .env("CINELOCK_DATABASE_URL", support::sqlite_url(dir.path()))
        .env("CINELOCK_EMBEDDED_S3_DIR", &s3_dir)
        .env("CINELOCK_TOKEN_SECRET", support::TOKEN_SECRET)
        .env(
            "CINELOCK_WORKER_PUBLIC_KEY",
            hex::encode(worker.public_key().to_bytes()),
        )
        .env("CINELOCK_DEV_API_KEY", dev_key);
    let (_child, lines) = start(command).await;
    let api = api_url(&lines);
    let store_line = lines
        .iter()
        .find(|l| l.contains("embedded S3 store serving"))
        .unwrap_or_else(|| panic!("no embedded store line in {lines:?}"));
    assert!(store_line.contains("http://127.0.0.1:"), "{store_line}");
    assert!(s3_dir.join("cinelock").is_dir(), "the bucket's directory");

    let http = reqwest::Client::new();
    let health: Value = http
        .get(format!("{api}/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["storage"], true);
    // Metrics are on the admin address, not on the API's.
    let admin = lines
        .iter()
        .find_map(|l| l.split("admin (metrics) on ").nth(1))
        .unwrap_or_else(|| panic!("no admin line in {lines:?}"))
        .trim()
        .to_owned();
    let metrics = http.get(&admin).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics
            .text()
            .await
            .unwrap()
            .contains("cinelock_transcode_queue_depth")
    );
    let public = http.get(format!("{api}/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404);
    // One whole upload through the process: create, sign, PUT to the store, complete.
    let source = b"a short clip".repeat(100);
    let created: Value = http
        .post(format!("{api}/v1/uploads"))
        .bearer_auth(dev_key)
        .json(&json!({"size": source.len()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, token) = (
        created["upload_id"].as_str().unwrap(),
        created["token"].as_str().unwrap(),
    );
    let chunk = created["plan"]["chunk_size"].as_u64().unwrap() as u32;
    let asset_id = created["asset_id"].as_str().unwrap();
    let sealed = seal(
        worker.public_key(),
        chunk,
        &SealSeed::from_bytes(&[4; SEED_LEN]),
        asset_id.as_bytes(),
        &source,
    )
    .unwrap();
    let signed: Value = http
        .post(format!("{api}/v1/uploads/{id}/sign"))
        .bearer_auth(token)
        .json(&json!({"parts": [{"number": 1, "crc32c": b64crc(&sealed), "size": sealed.len()}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = put(&signed["parts"][0], sealed.clone()).await;
    assert_eq!(res.status(), 200);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let res = http
        .post(format!("{api}/v1/uploads/{id}/complete"))
        .bearer_auth(token)
        .json(&json!({"parts": [{"number": 1, "etag": etag}]}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let done: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{done}");
    let object = s3_dir
        .join("cinelock")
        .join(format!("assets/{asset_id}/source.cnlk"));
    let stored = std::fs::read(object).unwrap();
    assert_eq!(open(&worker, asset_id.as_bytes(), &stored).unwrap(), source);
    // Without credentials the API refuses, on the embedded store as anywhere.
    let res = http
        .post(format!("{api}/v1/uploads"))
        .json(&json!({"size": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let v: Value = res.json().await.unwrap();
    assert_eq!(code(&v), "unauthorized");
}
