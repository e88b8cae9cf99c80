//! The upload API against a real Garage, on SQLite and on PostgreSQL: a sealed file goes up in
//! presigned parts and comes back byte for byte; every endpoint's deny and bad-input cases
//! answer the documented errors; the reaper aborts abandoned uploads.

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cinelock_core::RecipientSecretKey;
use cinelock_core::upload::ChecksumAlgorithm;
use cinelock_server::{Storage, app, auth, now_ms, uploads};
use serde_json::json;
use support::{
    Db, Store, b64crc, call, code, complete_at_the_store_only, complete_one, create, env, env_with,
    on_each_database, part_bytes, put, sealed_round_trip, sign, signed_put, store_ids, try_put,
    upload_call,
};
use tower::ServiceExt;

on_each_database!(
    sealed_upload_round_trips_through_garage,
    every_endpoint_denies_bad_credentials_and_bad_input,
    the_reaper_aborts_abandoned_uploads_only,
    a_growing_upload_completes_with_its_size,
);

async fn sealed_upload_round_trips_through_garage(db: Db) {
    sealed_round_trip(&env(Store::Garage, db).await).await;
}

#[tokio::test]
async fn garage_rejects_a_part_whose_bytes_do_not_match_the_signed_checksum() {
    let env = env(Store::Garage, Db::Sqlite).await;
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

fn b64sha(data: &[u8]) -> String {
    ChecksumAlgorithm::Sha256.checksum(data).to_base64()
}

/// An upload whose parts carry SHA-256 says so, its parts are signed for SHA-256 and only
/// SHA-256, the store refuses a damaged part, and it completes.
async fn sha256_parts_are_signed_checked_and_completed(env: &support::Env, c: &support::Created) {
    let (st, v) = upload_call(env, c, "GET").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["part_checksum"], "sha256");
    let body = part_bytes(c, 1);
    let sign_uri = format!("/v1/uploads/{}/sign", c.id);
    let crc = json!({"parts": [{"number": 1, "crc32c": b64crc(body), "size": body.len()}]});
    let (st, v) = call(&env.state, "POST", &sign_uri, Some(&c.token), Some(crc)).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::BAD_REQUEST, "invalid_checksum")
    );
    let sha = json!({"parts": [{"number": 1, "sha256": b64sha(body), "size": body.len()}]});
    let (st, v) = call(&env.state, "POST", &sign_uri, Some(&c.token), Some(sha)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let signed = v["parts"][0].clone();
    assert!(
        signed["headers"]
            .as_object()
            .unwrap()
            .contains_key("x-amz-checksum-sha256")
    );
    let mut corrupted = body.to_vec();
    corrupted[1000] ^= 1;
    assert_eq!(put(&signed, corrupted).await.status(), 400);
    let res = put(&signed, body.to_vec()).await;
    assert_eq!(res.status(), 200);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let (st, v) = complete_one(env, c, &etag).await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn a_server_set_to_sha256_creates_uploads_whose_parts_carry_it() {
    let env = env_with(Store::Garage, Db::Sqlite, &["--part-checksum", "sha256"]).await;
    let c = create(&env, 6 * 1024 * 1024).await;
    sha256_parts_are_signed_checked_and_completed(&env, &c).await;
}

#[tokio::test]
async fn an_upload_created_before_crc32c_keeps_sha256() {
    // What migration 0012 leaves an upload that was open across it (its column's default).
    let env = env(Store::Embedded, Db::Sqlite).await;
    let c = create(&env, 6 * 1024 * 1024).await;
    sqlx::query("UPDATE uploads SET part_checksum = $1 WHERE id = $2")
        .bind(ChecksumAlgorithm::Sha256.name())
        .bind(&c.id)
        .execute(env.state.db())
        .await
        .unwrap();
    sha256_parts_are_signed_checked_and_completed(&env, &c).await;
}

#[tokio::test]
async fn an_expired_part_url_is_refused_by_garage() {
    let env = env(Store::Garage, Db::Sqlite).await;
    let c = create(&env, 1000).await;
    let (key, s3id) = store_ids(&env, &c.id).await;
    let storage: &Storage = env.state.storage().unwrap();
    let body = part_bytes(&c, 1).to_vec();
    let signed = storage
        .sign_part(
            &key,
            &s3id,
            1,
            &ChecksumAlgorithm::Crc32c.checksum(&body),
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

async fn every_endpoint_denies_bad_credentials_and_bad_input(db: Db) {
    let env = env(Store::Garage, db).await;
    let c = create(&env, 12 * 1024 * 1024).await;
    let other = create(&env, 100).await;
    let sign_uri = format!("/v1/uploads/{}/sign", c.id);
    let body = part_bytes(&c, 1);
    let good = json!({"parts": [{"number": 1, "crc32c": b64crc(body), "size": body.len()}]});
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
    // Keys without the write scope, and bodies the server cannot take.
    let cases = [
        (
            &read_only,
            json!({"size": 1}),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            &env.key,
            json!({"size": "big"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            &env.key,
            json!({"size": 1, "colour": "red"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            &env.key,
            json!({"size": 1, "chunk_size": 3}),
            StatusCode::BAD_REQUEST,
            "invalid_plan",
        ),
        (
            &env.key,
            json!({"size": 1, "filename": "a\u{0}b"}),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
    ];
    for (key, body, status, error) in cases {
        let (st, v) = call(s, "POST", "/v1/uploads", Some(key), Some(body.clone())).await;
        assert_eq!((st, code(&v)), (status, error), "{body}");
    }
    let req = Request::post("/v1/uploads")
        .header("authorization", format!("Bearer {}", env.key))
        .header("content-type", "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let res = app(s.clone()).oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let huge = json!({"parts": (0..5000).map(|n| json!({"number": n, "crc32c": "x".repeat(8), "size": 1})).collect::<Vec<_>>()});
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
    // Bad sign bodies, each with the code that names the problem.
    let bad_bodies = [
        (
            json!({"parts": [{"number": 3, "crc32c": b64crc(b"x"), "size": 10}]}),
            "part_out_of_range",
        ),
        (
            json!({"parts": [{"number": 0, "crc32c": b64crc(b"x"), "size": 10}]}),
            "part_out_of_range",
        ),
        (
            json!({"parts": [{"number": 1, "crc32c": b64crc(body), "size": body.len() - 1}]}),
            "part_size",
        ),
        (
            json!({"parts": [{"number": 1, "crc32c": "not base64!", "size": body.len()}]}),
            "invalid_checksum",
        ),
        (
            json!({"parts": [{"number": 1, "crc32c": b64crc(b"x")[..4], "size": body.len()}]}),
            "invalid_checksum",
        ),
        // The upload's parts carry CRC32C: a SHA-256 alone, or with it, is refused.
        (
            json!({"parts": [{"number": 1, "sha256": b64sha(body), "size": body.len()}]}),
            "invalid_checksum",
        ),
        (
            json!({"parts": [{"number": 1, "crc32c": b64crc(body), "sha256": b64sha(body), "size": body.len()}]}),
            "invalid_checksum",
        ),
        (
            json!({"parts": [{"number": 1, "size": body.len()}]}),
            "invalid_checksum",
        ),
        (json!({"parts": []}), "batch_size"),
    ];
    for (bad, expected) in bad_bodies {
        let (st, v) = call(s, "POST", &sign_uri, Some(&c.token), Some(bad.clone())).await;
        assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, expected), "{bad}");
    }

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
    let (st, v) = upload_call(&env, &c, "DELETE").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = call(s, "POST", &sign_uri, Some(&c.token), Some(good)).await;
    assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "upload_state"));
}

#[tokio::test]
async fn completing_again_after_a_lost_answer_finds_the_object_on_garage() {
    let env = env(Store::Garage, Db::Sqlite).await;
    let c = create(&env, 1000).await;
    let etag = signed_put(&env, &c, 1).await;
    complete_at_the_store_only(&env, &c, &etag).await;
    // Garage no longer knows the upload (NoSuchUpload); the object has the planned size.
    let (st, v) = complete_one(&env, &c, &etag).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "completed");
    // An upload aborted at the store (not completed) has no object: refused.
    let gone = create(&env, 1000).await;
    let etag = signed_put(&env, &gone, 1).await;
    let (key, s3id) = store_ids(&env, &gone.id).await;
    env.state
        .storage()
        .unwrap()
        .abort(&key, &s3id)
        .await
        .unwrap();
    let (st, v) = complete_one(&env, &gone, &etag).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::CONFLICT, "upload_state"),
        "{v}"
    );
    // And aborting it again at the store is a no-op, as the server relies on.
    env.state
        .storage()
        .unwrap()
        .abort(&key, &s3id)
        .await
        .unwrap();
}

async fn the_reaper_aborts_abandoned_uploads_only(db: Db) {
    let env = env(Store::Garage, db).await;
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
    let (key, s3id) = store_ids(&env, &old.id).await;
    assert_eq!(
        env.state
            .storage()
            .unwrap()
            .list_parts(&key, &s3id)
            .await
            .unwrap(),
        None
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
        err = storage
            .check_cors(std::slice::from_ref(&origin))
            .await
            .unwrap_err();
        if !err.contains("cannot read") || err.contains("NoSuchCORSConfiguration") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(err.contains("configure-bucket-cors"), "{err}");
    for _ in 0..100 {
        if storage
            .configure_cors(std::slice::from_ref(&origin))
            .await
            .is_ok()
        {
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

// ---- growing uploads (recordings: created without a size) ----

/// A growing upload of `source` as the recorder makes it: created without a size, sealed by
/// the core's growing sealer. Its `plan` is the final one (what `complete` is checked against).
async fn create_growing(
    env: &support::Env,
    source: Vec<u8>,
    extra: serde_json::Value,
) -> support::Created {
    use cinelock_core::upload::{GrowingPlan, GrowingSealer};
    let mut body = json!({"filename": "recording.webm"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let (st, v) = call(
        &env.state,
        "POST",
        "/v1/uploads",
        Some(&env.key),
        Some(body),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let p = &v["plan"];
    assert_eq!(
        (p["growing"].as_bool(), p["part_count"].as_u64()),
        (Some(true), Some(0))
    );
    let growing = GrowingPlan::from_parts(
        p["chunk_size"].as_u64().unwrap() as u32,
        p["chunks_per_part"].as_u64().unwrap(),
    )
    .unwrap();
    let asset_id = v["asset_id"].as_str().unwrap().to_owned();
    let pk = cinelock_core::RecipientPublicKey::from_bytes(
        &hex::decode(v["recipient"]["public_key"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let seed = cinelock_core::SealSeed::from_bytes(&[4; cinelock_core::SEED_LEN]);
    let (header, key) = pk
        .seal_header(growing.chunk_size(), &seed, asset_id.as_bytes())
        .unwrap();
    let mut sealer = GrowingSealer::new(&header, &key, growing).unwrap();
    let mut sealed = Vec::new();
    // Pushed in recorder-sized slices.
    for piece in source.chunks(100_000) {
        for a in sealer.push(piece).unwrap() {
            sealed.extend_from_slice(&a.bytes);
        }
    }
    let (last, plan) = sealer.finish().unwrap();
    for a in last {
        sealed.extend_from_slice(&a.bytes);
    }
    assert_eq!(sealed.len() as u64, plan.sealed_len());
    support::Created {
        id: v["upload_id"].as_str().unwrap().into(),
        asset_id,
        token: v["token"].as_str().unwrap().into(),
        plan,
        sealed,
        source,
    }
}

fn source(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2246822519) as u8)
        .collect()
}

async fn complete_with(
    env: &support::Env,
    c: &support::Created,
    body: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    call(
        &env.state,
        "POST",
        &format!("/v1/uploads/{}/complete", c.id),
        Some(&c.token),
        Some(body),
    )
    .await
}

async fn a_growing_upload_completes_with_its_size(db: Db) {
    let env = env(Store::Garage, db).await;
    let c = create_growing(&env, source(12 * 1024 * 1024 + 77), json!({})).await;
    assert_eq!(c.plan.part_count(), 2);
    let etags = support::upload_all(&env, &c).await;
    // Without its size, or with another, it does not complete; nothing is lost by trying.
    let (st, v) = complete_with(&env, &c, json!({"parts": etags})).await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "size_mismatch"));
    let (st, v) = complete_with(
        &env,
        &c,
        json!({"parts": etags, "size": c.source.len() + 1}),
    )
    .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::BAD_REQUEST, "part_size"),
        "{v}"
    );
    let (st, v) = complete_with(&env, &c, json!({"parts": etags, "size": c.source.len()})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["sealed_len"].as_u64(), Some(c.plan.sealed_len()));
    // Completing again answers the same; the upload is now an ordinary one of that size.
    let (st, _) = complete_with(&env, &c, json!({"parts": etags, "size": c.source.len()})).await;
    assert_eq!(st, StatusCode::OK);
    let (st, v) = upload_call(&env, &c, "GET").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["plan"]["growing"], false);
    assert_eq!(
        v["plan"]["plaintext_len"].as_u64(),
        Some(c.source.len() as u64)
    );
    assert_eq!(v["asset"]["size"].as_u64(), Some(c.source.len() as u64));
    assert_eq!(v["asset"]["cut_short"], false);
    let stored = support::get_object(&env, &c.id).await;
    assert_eq!(stored, c.sealed);
    assert_eq!(
        cinelock_core::open(&env.worker, c.asset_id.as_bytes(), &stored).unwrap(),
        c.source
    );
}

#[tokio::test]
async fn growing_uploads_deny_bad_parts_sizes_and_links() {
    let env = env(Store::Garage, Db::Sqlite).await;
    let s = &env.state;
    // A size and a max_size, or a max_size past the server's ceiling: refused.
    let (st, v) = call(
        s,
        "POST",
        "/v1/uploads",
        Some(&env.key),
        Some(json!({"size": 10, "max_size": 10})),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "invalid_plan"));
    let (st, v) = call(
        s,
        "POST",
        "/v1/uploads",
        Some(&env.key),
        Some(json!({"max_size": 1u64 << 50})),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "invalid_plan"));
    let (st, v) = call(
        s,
        "POST",
        "/v1/uploads",
        Some(&env.key),
        Some(json!({"max_size": 0})),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "invalid_plan"));
    // Part sizes the store cannot take are refused, not replaced by another.
    for body in [
        json!({"size": 100, "part_size": 1}),
        json!({"size": 100, "part_size": u64::MAX}),
        json!({"part_size": 1}),
    ] {
        let (st, v) = call(s, "POST", "/v1/uploads", Some(&env.key), Some(body.clone())).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::BAD_REQUEST, "invalid_plan"),
            "{body}"
        );
    }

    // At most 10 MiB: two 8 MiB parts.
    let c = create_growing(
        &env,
        source(9 * 1024 * 1024),
        json!({"max_size": 10 * 1024 * 1024}),
    )
    .await;
    let full = c.plan.part(1).unwrap().sealed_len() as usize;
    // Signing past the limit, or a part larger than the fixed size, is refused.
    let (st, v) = sign_as(s, &c, 3, 100).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::BAD_REQUEST, "part_out_of_range"),
        "{v}"
    );
    let (st, v) = sign_as(s, &c, 0, 100).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::BAD_REQUEST, "part_out_of_range")
    );
    let (st, v) = sign_as(s, &c, 1, full + 1).await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "part_size"));
    let (st, v) = sign_as(s, &c, 1, 10).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::BAD_REQUEST, "part_size"),
        "shorter than a header"
    );
    // A short part might be the last one, so it is signed; a short part *before* the last
    // fails the completion instead.
    let (st, _) = sign_as(s, &c, 1, full - 1000).await;
    assert_eq!(st, StatusCode::OK);
    let short_first = &c.sealed[..full - 1000];
    let signed = support::sign_body(&env, &c, 1, short_first).await;
    let e1 = support::put(&signed, short_first.to_vec()).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let e2 = support::signed_put(&env, &c, 2).await;
    let parts = json!([{"number": 1, "etag": e1}, {"number": 2, "etag": e2}]);
    let (st, v) = complete_with(&env, &c, json!({"parts": parts, "size": c.source.len()})).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::BAD_REQUEST, "part_size"),
        "{v}"
    );
    // Past max_size: refused.
    let (st, v) = complete_with(
        &env,
        &c,
        json!({"parts": parts, "size": 10 * 1024 * 1024 + 1}),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "too_long"), "{v}");
    // The right part 1 replaces the short one and the upload completes, cut short.
    let e1 = support::signed_put(&env, &c, 1).await;
    let parts = json!([{"number": 1, "etag": e1}, {"number": 2, "etag": e2}]);
    let (st, v) = complete_with(
        &env,
        &c,
        json!({"parts": parts, "size": c.source.len(), "cut_short": true}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (_, v) = upload_call(&env, &c, "GET").await;
    assert_eq!(v["asset"]["cut_short"], true);

    // An upload of known size is never cut short, and its size cannot change at completion.
    let fixed = create(&env, 1000).await;
    let etag = signed_put(&env, &fixed, 1).await;
    let one = json!([{"number": 1, "etag": etag}]);
    let (st, v) = complete_with(&env, &fixed, json!({"parts": one, "cut_short": true})).await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "size_mismatch"));
    let (st, v) = complete_with(&env, &fixed, json!({"parts": one, "size": 999})).await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "size_mismatch"));
    let (st, _) = complete_with(&env, &fixed, json!({"parts": one, "size": 1000})).await;
    assert_eq!(st, StatusCode::OK);

    // Links: only to this key's own assets; both sides list them.
    let (st, v) = call(
        s,
        "POST",
        "/v1/uploads",
        Some(&env.key),
        Some(json!({"linked_to": "no-such-asset"})),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "invalid_link"));
    let other = auth::create_api_key(s.db(), "other", "uploads:write,uploads:read")
        .await
        .unwrap();
    let (st, v) = call(
        s,
        "POST",
        "/v1/uploads",
        Some(&other),
        Some(json!({"linked_to": c.asset_id})),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "invalid_link"));
    let (st, v) = call(
        s,
        "POST",
        "/v1/uploads",
        Some(&env.key),
        Some(json!({"linked_to": c.asset_id})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let camera = v["asset_id"].as_str().unwrap().to_owned();
    let (_, a) = call(
        s,
        "GET",
        &format!("/v1/assets/{camera}"),
        Some(&env.key),
        None,
    )
    .await;
    assert_eq!(a["linked"], json!([c.asset_id]));
    let (_, a) = call(
        s,
        "GET",
        &format!("/v1/assets/{}", c.asset_id),
        Some(&env.key),
        None,
    )
    .await;
    assert_eq!(a["linked"], json!([camera]));
}

/// Asks to sign part `number` as `size` sealed bytes.
async fn sign_as(
    s: &cinelock_server::AppState,
    c: &support::Created,
    number: u32,
    size: usize,
) -> (StatusCode, serde_json::Value) {
    let body = json!({"parts": [{"number": number, "crc32c": b64crc(b"x"), "size": size}]});
    let uri = format!("/v1/uploads/{}/sign", c.id);
    call(s, "POST", &uri, Some(&c.token), Some(body)).await
}
