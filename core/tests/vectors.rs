//! Known-answer vectors from `tests/vectors/stream-v2.json`, checked natively and (with
//! `--target wasm32-unknown-unknown`) inside headless Chromium, so both builds agree byte for byte.

mod support;

use cinelock_core::{
    ChunkCipher, Header, Layout, RecipientPublicKey, RecipientSecretKey, SEED_LEN, SealSeed,
    StreamOpener, open, seal,
};
use serde_json::Value;
use support::hexf;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const VECTORS: &str = include_str!("../../tests/vectors/stream-v2.json");

fn doc() -> Value {
    serde_json::from_str(VECTORS).expect("vectors parse")
}

fn secret(doc: &Value) -> RecipientSecretKey {
    let r = &doc["recipient"];
    let ikm: [u8; 32] = hexf(r, "ikm").try_into().unwrap();
    let sk = RecipientSecretKey::from_seed(&ikm);
    assert_eq!(sk.to_bytes().to_vec(), hexf(r, "secret_key"));
    assert_eq!(sk.public_key().to_bytes().to_vec(), hexf(r, "public_key"));
    assert_eq!(
        sk.public_key().key_id().to_string(),
        r["key_id"].as_str().unwrap()
    );
    let parsed = RecipientSecretKey::from_bytes(&hexf(r, "secret_key")).unwrap();
    assert_eq!(parsed.public_key(), sk.public_key());
    sk
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn positive_vectors_seal_and_open_exactly() {
    let doc = doc();
    let sk = secret(&doc);
    let positive = doc["positive"].as_array().unwrap();
    assert!(positive.len() >= 8);
    for v in positive {
        let name = v["name"].as_str().unwrap();
        let seed: [u8; SEED_LEN] = hexf(v, "seed").try_into().unwrap();
        let pt = hexf(v, "plaintext");
        let sealed = hexf(v, "sealed");
        let chunk_size = v["chunk_size"].as_u64().unwrap() as u32;
        let context = hexf(v, "context");
        let ours = seal(
            sk.public_key(),
            chunk_size,
            &SealSeed::from_bytes(&seed),
            &context,
            &pt,
        )
        .unwrap();
        assert_eq!(ours, sealed, "{name}: sealing differs from the vector");
        assert_eq!(
            open(&sk, &context, &sealed).unwrap(),
            pt,
            "{name}: opening differs"
        );
        let layout = Layout::new(chunk_size).unwrap();
        assert_eq!(
            layout.sealed_len(pt.len() as u64).unwrap(),
            sealed.len() as u64,
            "{name}"
        );
        assert_eq!(
            layout.plaintext_len(sealed.len() as u64).unwrap(),
            pt.len() as u64,
            "{name}"
        );
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn positive_vectors_open_chunk_by_chunk_at_random() {
    let doc = doc();
    let sk = secret(&doc);
    for v in doc["positive"].as_array().unwrap() {
        let sealed = hexf(v, "sealed");
        let pt = hexf(v, "plaintext");
        let header = Header::parse(&sealed).unwrap();
        let key = sk.open_header(&header, &hexf(v, "context")).unwrap();
        let cipher = ChunkCipher::new(&header, &key);
        let layout = header.layout();
        let n = layout.chunk_count(pt.len() as u64).unwrap();
        // Last chunk first: random access needs no earlier chunk.
        for i in (0..n).rev() {
            let start = layout.chunk_offset(i) as usize;
            let end = (start + layout.sealed_chunk_size() as usize).min(sealed.len());
            let mut buf = sealed[start..end].to_vec();
            let plain = cipher.open_chunk(i as u32, i == n - 1, &mut buf).unwrap();
            let p0 = layout.plaintext_offset(i) as usize;
            assert_eq!(plain, &pt[p0..p0 + plain.len()]);
            // The same chunk with the wrong last flag is rejected.
            let mut again = sealed[start..end].to_vec();
            assert!(cipher.open_chunk(i as u32, i != n - 1, &mut again).is_err());
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn positive_vectors_open_when_fed_one_byte_at_a_time() {
    let doc = doc();
    let sk = secret(&doc);
    for v in doc["positive"].as_array().unwrap() {
        let sealed = hexf(v, "sealed");
        let mut opener = StreamOpener::new(sk.clone(), &hexf(v, "context")).unwrap();
        let mut out = Vec::new();
        for b in sealed.chunks(1) {
            opener.push(b, &mut out).unwrap();
        }
        opener.finish(&mut out).unwrap();
        assert_eq!(out, hexf(v, "plaintext"), "{}", v["name"]);
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn negative_vectors_are_rejected_with_the_expected_error() {
    let doc = doc();
    let sk = secret(&doc);
    let negative = doc["negative"].as_array().unwrap();
    assert!(negative.len() >= 20);
    for v in negative {
        let name = v["name"].as_str().unwrap();
        let context = hexf(v, "context");
        let err = open(&sk, &context, &hexf(v, "sealed")).expect_err(name);
        assert_eq!(
            err.code(),
            v["error"].as_str().unwrap(),
            "{name}: got {err:?}"
        );
        // The streaming opener fed in odd-sized pieces agrees, and never releases a byte of
        // plaintext from a chunk it has not authenticated.
        let sealed = hexf(v, "sealed");
        let mut opener = StreamOpener::new(sk.clone(), &context).unwrap();
        let mut out = Vec::new();
        let mut failed = false;
        for piece in sealed.chunks(7) {
            if opener.push(piece, &mut out).is_err() {
                failed = true;
                break;
            }
        }
        if !failed {
            assert!(
                opener.finish(&mut out).is_err(),
                "{name}: streaming opener accepted it"
            );
        }
        assert_eq!(
            out.len() % 64,
            0,
            "{name}: only whole authenticated chunks are released"
        );
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn other_recipient_opens_only_its_own_stream() {
    let doc = doc();
    let r = &doc["other_recipient"];
    let other = RecipientSecretKey::from_bytes(&hexf(r, "secret_key")).unwrap();
    let pk = RecipientPublicKey::from_bytes(&hexf(r, "public_key")).unwrap();
    assert_eq!(other.public_key(), &pk);
    let v = doc["negative"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["error"] == "wrong_recipient")
        .unwrap();
    let context = hexf(v, "context");
    assert!(
        !open(&other, &context, &hexf(v, "sealed"))
            .unwrap()
            .is_empty()
    );
    let sk = secret(&doc);
    let mine = &doc["positive"][4];
    assert_eq!(
        open(&other, &hexf(mine, "context"), &hexf(mine, "sealed"))
            .unwrap_err()
            .code(),
        "wrong_recipient"
    );
    assert_eq!(
        RecipientPublicKey::from_bytes(&[0u8; 31])
            .unwrap_err()
            .code(),
        "invalid_key"
    );
    drop(sk);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn contexts_longer_than_255_bytes_are_refused() {
    let doc = doc();
    let sk = secret(&doc);
    let seed = SealSeed::from_bytes(&[7; SEED_LEN]);
    let err = seal(sk.public_key(), 64, &seed, &[b'a'; 256], b"x").unwrap_err();
    assert_eq!(err.code(), "malformed");
    let err = StreamOpener::new(sk.clone(), &[b'a'; 256]).unwrap_err();
    assert_eq!(err.code(), "malformed");
    assert!(seal(sk.public_key(), 64, &seed, &[b'a'; 255], b"x").is_ok());
}
