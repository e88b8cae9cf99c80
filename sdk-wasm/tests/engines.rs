//! In headless Chromium: the WebCrypto fast path and the wasm fallback produce the vectors'
//! bytes exactly, open them, reject every negative vector the same way, and stream Blobs across
//! read-window boundaries.

#![cfg(target_arch = "wasm32")]

use cinelock_core::SEED_LEN;
use cinelock_sdk_wasm::api;
use js_sys::{Array, Uint8Array};
use serde_json::Value;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::Blob;

wasm_bindgen_test_configure!(run_in_browser);

const VECTORS: &str = include_str!("../../tests/vectors/stream-v2.json");
const ENGINES: [&str; 2] = ["webcrypto", "wasm"];

fn hexf(v: &Value, field: &str) -> Vec<u8> {
    hex::decode(v[field].as_str().unwrap()).unwrap()
}

fn code(err: cinelock_sdk_wasm::SdkError) -> &'static str {
    err.code().as_str()
}

#[wasm_bindgen_test]
fn auto_resolves_to_webcrypto_in_a_secure_context() {
    assert_eq!(api::resolve_engine(None).unwrap(), "webcrypto");
    assert_eq!(api::resolve_engine(Some("wasm".into())).unwrap(), "wasm");
    assert_eq!(
        code(api::resolve_engine(Some("rot13".into())).unwrap_err()),
        "invalid_argument"
    );
}

#[wasm_bindgen_test]
async fn both_engines_reproduce_and_open_every_positive_vector() {
    let doc: Value = serde_json::from_str(VECTORS).unwrap();
    let pk = hexf(&doc["recipient"], "public_key");
    let sk = hexf(&doc["recipient"], "secret_key");
    for v in doc["positive"].as_array().unwrap() {
        let seed: [u8; SEED_LEN] = hexf(v, "seed").try_into().unwrap();
        let pt = hexf(v, "plaintext");
        let sealed = hexf(v, "sealed");
        let cs = v["chunk_size"].as_u64().unwrap() as u32;
        let context = hexf(v, "context");
        for engine in ENGINES {
            let ours = api::seal_bytes_with_seed(
                &pk,
                Uint8Array::from(&pt[..]),
                cs,
                engine,
                &seed,
                &context,
            )
            .await
            .unwrap();
            assert_eq!(ours.to_vec(), sealed, "{engine}: {}", v["name"]);
            let opened = api::open_bytes(
                sk.clone(),
                Uint8Array::from(&sealed[..]),
                Some(engine.into()),
                Some(context.clone()),
            )
            .await
            .unwrap();
            assert_eq!(opened.to_vec(), pt, "{engine}: {}", v["name"]);
        }
    }
}

#[wasm_bindgen_test]
async fn both_engines_reject_every_negative_vector_alike() {
    let doc: Value = serde_json::from_str(VECTORS).unwrap();
    let sk = hexf(&doc["recipient"], "secret_key");
    for v in doc["negative"].as_array().unwrap() {
        let sealed = hexf(v, "sealed");
        for engine in ENGINES {
            let err = api::open_bytes(
                sk.clone(),
                Uint8Array::from(&sealed[..]),
                Some(engine.into()),
                Some(hexf(v, "context")),
            )
            .await
            .expect_err(v["name"].as_str().unwrap());
            assert_eq!(
                code(err),
                v["error"].as_str().unwrap(),
                "{engine}: {}",
                v["name"]
            );
        }
    }
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

async fn blob_bytes(blob: &Blob) -> Vec<u8> {
    let buf = JsFuture::from(blob.array_buffer()).await.unwrap();
    Uint8Array::new(&buf).to_vec()
}

#[wasm_bindgen_test]
async fn blobs_round_trip_across_read_windows_with_both_engines() {
    let keys = api::generate_recipient_key().unwrap();
    // 8 MiB read windows: 9 MiB + 123 bytes crosses one, and ends in a short chunk.
    for (engine, len, cs) in [
        ("webcrypto", (9 << 20) + 123, 256 * 1024),
        ("wasm", (1 << 20) + 5, 64 * 1024),
    ] {
        let pt = pattern(len);
        let parts = Array::of1(&Uint8Array::from(&pt[..]));
        let blob = Blob::new_with_u8_array_sequence(&parts).unwrap();
        let sealed = api::seal_blob(
            keys.public_key(),
            blob,
            Some(cs),
            Some(engine.into()),
            Some(b"asset-1".to_vec()),
        )
        .await
        .unwrap();
        let sealed_bytes = blob_bytes(&sealed).await;
        assert_eq!(
            sealed_bytes.len() as u64,
            cinelock_core::Layout::new(cs)
                .unwrap()
                .sealed_len(len as u64)
                .unwrap()
        );
        // Ciphertext holds no 64-byte window of the plaintext.
        assert!(!sealed_bytes.windows(64).any(|w| w == &pt[4096..4160]));
        // Sealed by one engine, opened by the other.
        let other = if engine == "wasm" {
            "webcrypto"
        } else {
            "wasm"
        };
        let opened = api::open_blob(
            keys.secret_key(),
            sealed.clone(),
            Some(other.into()),
            Some(b"asset-1".to_vec()),
        )
        .await
        .unwrap();
        assert_eq!(blob_bytes(&opened).await, pt, "{engine}");
        // Opened for another context (asset): refused.
        let err = api::open_blob(
            keys.secret_key(),
            sealed,
            Some(other.into()),
            Some(b"asset-2".to_vec()),
        )
        .await
        .unwrap_err();
        assert_eq!(code(err), "decrypt");
        // One flipped bit in the last chunk: nothing comes back.
        let mut bad = sealed_bytes.clone();
        let n = bad.len();
        bad[n - 20] ^= 4;
        let bad_blob =
            Blob::new_with_u8_array_sequence(&Array::of1(&Uint8Array::from(&bad[..]))).unwrap();
        let err = api::open_blob(
            keys.secret_key(),
            bad_blob,
            Some(engine.into()),
            Some(b"asset-1".to_vec()),
        )
        .await
        .unwrap_err();
        assert_eq!(code(err), "decrypt");
    }
}

#[wasm_bindgen_test]
async fn empty_input_round_trips_and_bad_keys_are_clear_errors() {
    let keys = api::generate_recipient_key().unwrap();
    let sealed = api::seal_bytes(
        keys.public_key(),
        Uint8Array::new_with_length(0),
        None,
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(sealed.length() as usize, cinelock_core::HEADER_LEN + 16);
    let opened = api::open_bytes(keys.secret_key(), sealed, None, None)
        .await
        .unwrap();
    assert_eq!(opened.length(), 0);
    let err = api::seal_bytes(
        vec![1, 2, 3],
        Uint8Array::new_with_length(4),
        None,
        None,
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(code(err), "invalid_key");
    let err = api::seal_bytes(
        keys.public_key(),
        Uint8Array::new_with_length(4),
        Some(10),
        None,
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(code(err), "chunk_size");
    let other = api::generate_recipient_key().unwrap();
    let sealed = api::seal_bytes(
        keys.public_key(),
        Uint8Array::new_with_length(9),
        None,
        None,
        None,
    )
    .await
    .unwrap();
    let err = api::open_bytes(other.secret_key(), sealed, None, None)
        .await
        .unwrap_err();
    assert_eq!(code(err), "wrong_recipient");
    // The JS error carries the code.
    let js: wasm_bindgen::JsValue =
        cinelock_sdk_wasm::SdkError::Core(cinelock_core::Error::Decrypt).into();
    let e = js.dyn_into::<js_sys::Error>().unwrap();
    assert_eq!(String::from(e.name()), "CinelockError");
    assert_eq!(
        js_sys::Reflect::get(&e, &"code".into())
            .unwrap()
            .as_string()
            .unwrap(),
        "decrypt"
    );
}
