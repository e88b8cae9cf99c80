//! In headless Chromium: the player's object opener, on the WebCrypto fast path and on the wasm
//! fallback, opens every positive media vector (`tests/vectors/media-v2.json`) to its plaintext
//! and refuses every negative one with the vector's error, exactly as the core does. And the
//! warm-up `load()` runs over the player's start path succeeds: the SDK ignores its failure, so
//! only this would show one.

#![cfg(target_arch = "wasm32")]

use cinelock_sdk_wasm::{open_media_object, warm_up};
use js_sys::Uint8Array;
use serde_json::Value;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const VECTORS: &str = include_str!("../../tests/vectors/media-v2.json");
const ENGINES: [&str; 2] = ["webcrypto", "wasm"];

fn hexf(v: &Value, field: &str) -> Vec<u8> {
    hex::decode(v[field].as_str().unwrap()).unwrap()
}

async fn open(engine: &str, v: &Value) -> Result<Vec<u8>, &'static str> {
    let sealed = hexf(v, "sealed");
    // The player always pins the manifest's nonce. Vectors without `pinned_nonce` pin the
    // object's own (so only their other faults count); too short for a nonce: any.
    let nonce: [u8; 12] = match v.get("pinned_nonce") {
        Some(_) => hexf(v, "pinned_nonce").try_into().unwrap(),
        None => sealed.get(6..18).map_or([0; 12], |n| n.try_into().unwrap()),
    };
    open_media_object(
        engine,
        &hexf(v, "key"),
        v["asset_id"].as_str().unwrap(),
        v["package_id"].as_str().unwrap(),
        v["track_id"].as_str().unwrap(),
        v["kind"].as_str().unwrap(),
        v["index"].as_u64().unwrap() as u32,
        &nonce,
        &Uint8Array::from(&sealed[..]),
    )
    .await
    .map(|b| b.to_vec())
    .map_err(|e| e.code().as_str())
}

#[wasm_bindgen_test]
async fn both_engines_open_every_positive_object() {
    let doc: Value = serde_json::from_str(VECTORS).unwrap();
    for v in doc["objects"]["positive"].as_array().unwrap() {
        for engine in ENGINES {
            assert_eq!(
                open(engine, v).await,
                Ok(hexf(v, "plaintext")),
                "{engine}: {}",
                v["name"]
            );
        }
    }
}

#[wasm_bindgen_test]
async fn both_engines_refuse_every_negative_object_with_its_error() {
    let doc: Value = serde_json::from_str(VECTORS).unwrap();
    for v in doc["objects"]["negative"].as_array().unwrap() {
        let want = v["error"].as_str().unwrap();
        for engine in ENGINES {
            assert_eq!(open(engine, v).await, Err(want), "{engine}: {}", v["name"]);
        }
    }
}

#[wasm_bindgen_test]
async fn the_start_path_warm_up_runs_to_its_end() {
    // Twice: the second run is the warm one, and must succeed as well.
    for _ in 0..2 {
        warm_up().await.expect("the warm-up fails");
    }
}
