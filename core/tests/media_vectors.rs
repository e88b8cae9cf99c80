//! Known-answer vectors from `tests/vectors/media-v2.json` (docs/format.md, "Encrypted media
//! packages"): sealed media objects, released content keys and package manifests, checked
//! against the core API. Also runs in wasm (`--target wasm32-unknown-unknown --test media_vectors`).

mod support;

use cinelock_core::RecipientSecretKey;
use cinelock_core::media::{
    ContentKey, KEY_RELEASE_INFO, KEY_RELEASE_LEN, Manifest, ObjectKind, ObjectNonce, ObjectRef,
    Released, SEGMENT_HEADER_LEN, SEGMENT_MAGIC, SEGMENT_OVERHEAD, SOURCE_RELEASE_INFO,
    open_content_key, open_key, open_object, open_pinned_object, seal_key, seal_object,
};
use serde_json::Value;
use support::hexf;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const VECTORS: &str = include_str!("../../tests/vectors/media-v2.json");

fn doc() -> Value {
    serde_json::from_str(VECTORS).expect("vectors parse")
}

fn key(v: &Value, field: &str) -> ContentKey {
    ContentKey::from_bytes(hexf(v, field).try_into().expect("32-byte key"))
}

fn s<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("missing {field}"))
}

fn kind(name: &str) -> ObjectKind {
    match name {
        "manifest" => ObjectKind::Manifest,
        "init" => ObjectKind::Init,
        "media" => ObjectKind::Media,
        "poster" => ObjectKind::Poster,
        _ => panic!("unknown kind {name}"),
    }
}

/// The place a vector names.
fn place(v: &Value) -> ObjectRef<'_> {
    ObjectRef {
        asset_id: s(v, "asset_id"),
        package_id: s(v, "package_id"),
        track_id: s(v, "track_id"),
        kind: kind(s(v, "kind")),
        index: v["index"].as_u64().unwrap().try_into().unwrap(),
    }
}

/// An object's path relative to its package prefix (docs/format.md).
fn path(at: &ObjectRef<'_>) -> String {
    match at.kind {
        ObjectKind::Manifest => "manifest.cnls".into(),
        ObjectKind::Poster => "poster.cnls".into(),
        ObjectKind::Init => format!("{}/init.cnls", at.track_id),
        ObjectKind::Media => format!("{}/{:05}.cnls", at.track_id, at.index),
        _ => unreachable!(),
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn constants_match_the_spec() {
    assert_eq!(&SEGMENT_MAGIC, b"CNLS");
    assert_eq!(SEGMENT_HEADER_LEN, 18);
    assert_eq!(SEGMENT_OVERHEAD, 34);
    assert_eq!(KEY_RELEASE_INFO, b"cinelock content key release v1");
    assert_eq!(SOURCE_RELEASE_INFO, b"cinelock source key release v1");
    assert_eq!(KEY_RELEASE_LEN, 80);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn positive_objects_seal_and_open_exactly() {
    let doc = doc();
    let positive = doc["objects"]["positive"].as_array().unwrap();
    assert!(positive.len() >= 12);
    for v in positive {
        let name = s(v, "name");
        let at = place(v);
        let key = key(v, "key");
        let nonce: [u8; 12] = hexf(v, "nonce").try_into().unwrap();
        let pt = hexf(v, "plaintext");
        let sealed = hexf(v, "sealed");
        let ours = seal_object(&key, &at, &nonce, &pt).unwrap();
        assert_eq!(ours, sealed, "{name}: sealing differs from the vector");
        assert_eq!(sealed.len(), pt.len() + SEGMENT_OVERHEAD, "{name}");
        let header: [u8; SEGMENT_HEADER_LEN] = sealed[..SEGMENT_HEADER_LEN].try_into().unwrap();
        assert_eq!(
            at.associated_data(&header).unwrap(),
            hexf(v, "associated_data"),
            "{name}: associated data"
        );
        assert_eq!(open_object(&key, &at, &sealed).unwrap(), pt, "{name}");
        assert_eq!(
            open_pinned_object(&key, &at, &nonce, &sealed).unwrap(),
            pt,
            "{name}: pinned"
        );
        assert_eq!(path(&at), s(v, "path"), "{name}: path");
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn negative_objects_are_rejected_with_the_expected_error() {
    let doc = doc();
    let negative = doc["objects"]["negative"].as_array().unwrap();
    assert!(negative.len() >= 25);
    let mut pinned = 0;
    for v in negative {
        let name = s(v, "name");
        let (k, at, sealed) = (key(v, "key"), place(v), hexf(v, "sealed"));
        let err = match v.get("pinned_nonce") {
            Some(_) => {
                // Authentic at its place: only the pinned nonce refuses it.
                assert!(open_object(&k, &at, &sealed).is_ok(), "{name}");
                pinned += 1;
                let nonce: [u8; 12] = hexf(v, "pinned_nonce").try_into().unwrap();
                open_pinned_object(&k, &at, &nonce, &sealed).expect_err(name)
            }
            None => open_object(&k, &at, &sealed).expect_err(name),
        };
        assert_eq!(err.code(), s(v, "error"), "{name}: got {err:?}");
    }
    assert_eq!(pinned, 1);
}

fn released_kind(v: &Value) -> Released {
    match s(v, "kind") {
        "content" => Released::ContentKey,
        "source" => Released::SourceKey,
        other => panic!("unknown release kind {other}"),
    }
}

fn player(v: &Value) -> RecipientSecretKey {
    let ikm: [u8; 32] = hexf(v, "ikm").try_into().unwrap();
    let sk = RecipientSecretKey::from_seed(&ikm);
    assert_eq!(sk.to_bytes().to_vec(), hexf(v, "secret_key"));
    assert_eq!(sk.public_key().to_bytes().to_vec(), hexf(v, "public_key"));
    let parsed = RecipientSecretKey::from_bytes(&hexf(v, "secret_key")).unwrap();
    assert_eq!(parsed.public_key(), sk.public_key());
    parsed
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn released_keys_seal_and_open_exactly() {
    let doc = doc();
    let r = &doc["key_release"];
    let sk = player(&r["player"]);
    let other = player(&r["other_player"]);
    for v in r["positive"].as_array().unwrap() {
        let name = s(v, "name");
        let asset = s(v, "asset_id");
        let what = released_kind(v);
        let released_key = key(v, "key");
        let ephemeral: [u8; 32] = hexf(v, "ephemeral").try_into().unwrap();
        let released = hexf(v, "released");
        let ours = seal_key(what, sk.public_key(), asset, &released_key, &ephemeral).unwrap();
        assert_eq!(ours.to_vec(), released, "{name}: sealing differs");
        assert_eq!(
            open_key(what, &sk, asset, &released).unwrap(),
            released_key,
            "{name}"
        );
        assert_eq!(
            open_key(what, &other, asset, &released).unwrap_err().code(),
            "decrypt",
            "{name}: other player"
        );
    }
    let negative = r["negative"].as_array().unwrap();
    assert!(negative.len() >= 15);
    for v in negative {
        let name = s(v, "name");
        let err = open_key(
            released_kind(v),
            &sk,
            s(v, "asset_id"),
            &hexf(v, "released"),
        )
        .expect_err(name);
        assert_eq!(err.code(), s(v, "error"), "{name}: got {err:?}");
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn released_key_opens_the_package() {
    let doc = doc();
    let r = &doc["key_release"];
    let sk = player(&r["player"]);
    let v = &r["positive"][0];
    assert_eq!(s(v, "kind"), "content");
    let content_key = open_content_key(&sk, s(v, "asset_id"), &hexf(v, "released")).unwrap();
    assert_eq!(content_key, key(&doc, "content_key"));
    assert_eq!(s(v, "asset_id"), s(&doc["package"], "asset_id"));
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn package_opens_from_its_manifest() {
    let doc = doc();
    let package = &doc["package"];
    let (asset, package_id) = (s(package, "asset_id"), s(package, "package_id"));
    let content_key = key(&doc, "content_key");
    let positive = doc["objects"]["positive"].as_array().unwrap();
    let members: Vec<&Value> = package["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| positive.iter().find(|v| v["name"] == *n).unwrap())
        .collect();
    let by_path = |p: &str| -> Vec<u8> {
        let found: Vec<_> = members.iter().filter(|v| s(v, "path") == p).collect();
        assert_eq!(found.len(), 1, "{p}");
        hexf(found[0], "sealed")
    };

    // The manifest opens at its own place and is the package's manifest text.
    let at = |track_id, kind, index| ObjectRef {
        asset_id: asset,
        package_id,
        track_id,
        kind,
        index,
    };
    let json = open_object(
        &content_key,
        &at("", ObjectKind::Manifest, 0),
        &by_path("manifest.cnls"),
    )
    .unwrap();
    assert_eq!(json, s(package, "manifest").as_bytes());
    let m = Manifest::from_json(&json).unwrap();
    assert_eq!(
        (m.asset_id.as_str(), m.package_id.as_str()),
        (asset, package_id)
    );

    // Every object it lists has the listed sealed size and opens at the place the manifest's
    // structure gives it: the track id, and the segment's position in the track.
    let mut opened = 1;
    let mut check = |p: &str, size: u64, nonce: &ObjectNonce, at: ObjectRef<'_>| {
        let sealed = by_path(p);
        assert_eq!(sealed.len() as u64, size, "{p}");
        assert_eq!(path(&at), p);
        open_pinned_object(&content_key, &at, &nonce.0, &sealed).unwrap();
        opened += 1;
    };
    let poster = m.poster.as_ref().unwrap();
    check(
        &poster.path,
        poster.size,
        &poster.nonce,
        at("", ObjectKind::Poster, 0),
    );
    for t in &m.tracks {
        check(
            &t.init.path,
            t.init.size,
            &t.init.nonce,
            at(&t.id, ObjectKind::Init, 0),
        );
        for (i, seg) in t.segments.iter().enumerate() {
            check(
                &seg.path,
                seg.size,
                &seg.nonce,
                at(&t.id, ObjectKind::Media, i.try_into().unwrap()),
            );
        }
    }
    assert_eq!(opened, members.len(), "every package object is listed once");
    assert_eq!(m.video().count(), 2);
    assert_eq!(m.audio().unwrap().id, "a128");
    assert!((m.duration - m.tracks.iter().map(|t| t.end()).fold(0.0, f64::max)).abs() < 1e-9);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn manifest_variants_are_accepted_or_rejected() {
    let doc = doc();
    let valid = doc["manifests"]["valid"].as_array().unwrap();
    assert!(valid.len() >= 10);
    for v in valid {
        let name = s(v, "name");
        if let Err(e) = Manifest::from_json(s(v, "json").as_bytes()) {
            panic!("{name}: rejected: {e}");
        }
    }
    let invalid = doc["manifests"]["invalid"].as_array().unwrap();
    assert!(invalid.len() >= 40);
    for v in invalid {
        let name = s(v, "name");
        let err = Manifest::from_json(s(v, "json").as_bytes()).expect_err(name);
        assert_eq!(err.code(), s(v, "error"), "{name}: got {err:?}");
    }
}
