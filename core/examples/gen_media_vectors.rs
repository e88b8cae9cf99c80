//! Writes the known-answer vectors in `tests/vectors/media-v2.json`: sealed media objects,
//! released content keys and package manifests (docs/format.md, "Encrypted media packages").
//!
//! Everything is derived from fixed test patterns, so rerunning reproduces the file byte for
//! byte; the tests check the committed file, never a regenerated one. Run:
//! `cargo run -p cinelock-core --example gen_media_vectors > tests/vectors/media-v2.json`

#[path = "support/forge.rs"]
mod forge;

use cinelock_core::media::{
    ContentKey, KEY_RELEASE_INFO, MANIFEST_VERSION, Manifest, MediaFile, ObjectKind, ObjectNonce,
    ObjectRef, PackageKind, Poster, Released, SEGMENT_HEADER_LEN, Segment, Track, TrackKind,
    seal_key, seal_object,
};
use cinelock_core::{HEADER_LEN, RecipientSecretKey, SEED_LEN, SealSeed, seal};
use serde_json::{Value, json};

/// `pattern(len, salt)[i] = (31·i + salt) mod 256`, as for the sealed stream vectors.
fn bytes(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(31).wrapping_add(u32::from(salt)) as u8)
        .collect()
}

fn array<const N: usize>(salt: u8) -> [u8; N] {
    bytes(N, salt).try_into().unwrap()
}

const ASSET: &str = "0b5e7c1a-9d2f-4e8b-a6c3-1f4d8e2b7a90";
const OTHER_ASSET: &str = "c4a81f6e-3b2d-4f9a-8e71-6d0b5a2c9f34";
const PACKAGE: &str = "6a1d3f9e-2c4b-4d7a-8e5f-0b9c2a7d4e13";
const OTHER_PACKAGE: &str = "e2f47b1c-5a3d-4c8e-9b60-7d1f3a8c2e59";

/// Where an object belongs, owned (an [`ObjectRef`] borrows).
#[derive(Clone)]
struct Place {
    asset: String,
    package: String,
    track: String,
    kind: ObjectKind,
    index: u32,
}

impl Place {
    fn new(asset: &str, package: &str, track: &str, kind: ObjectKind, index: u32) -> Self {
        Self {
            asset: asset.into(),
            package: package.into(),
            track: track.into(),
            kind,
            index,
        }
    }

    fn in_package(track: &str, kind: ObjectKind, index: u32) -> Self {
        Self::new(ASSET, PACKAGE, track, kind, index)
    }

    fn at(&self) -> ObjectRef<'_> {
        ObjectRef {
            asset_id: &self.asset,
            package_id: &self.package,
            track_id: &self.track,
            kind: self.kind,
            index: self.index,
        }
    }

    /// The object's path relative to the package prefix.
    fn path(&self) -> String {
        match self.kind {
            ObjectKind::Manifest => "manifest.cnls".into(),
            ObjectKind::Poster => "poster.cnls".into(),
            ObjectKind::Init => format!("{}/init.cnls", self.track),
            ObjectKind::Media => format!("{}/{:05}.cnls", self.track, self.index),
            _ => unreachable!("no other kinds in v1"),
        }
    }

    fn json(&self) -> Value {
        let kind = match self.kind {
            ObjectKind::Manifest => "manifest",
            ObjectKind::Init => "init",
            ObjectKind::Media => "media",
            ObjectKind::Poster => "poster",
            _ => unreachable!("no other kinds in v1"),
        };
        json!({
            "asset_id": self.asset, "package_id": self.package, "track_id": self.track,
            "kind": kind, "index": self.index,
        })
    }
}

fn merge(mut a: Value, b: Value) -> Value {
    let a_map = a.as_object_mut().unwrap();
    for (k, v) in b.as_object().unwrap() {
        a_map.insert(k.clone(), v.clone());
    }
    a
}

/// A negative object vector: name, key, place to open at, input, expected error.
type NegativeObject = (&'static str, [u8; 32], Place, Vec<u8>, &'static str);

/// The nonce of a sealed object, as a manifest lists it.
fn nonce_of(o: &Sealed) -> ObjectNonce {
    ObjectNonce(o.nonce)
}

struct Sealed {
    name: &'static str,
    place: Place,
    key: [u8; 32],
    nonce: [u8; 12],
    plaintext: Vec<u8>,
    sealed: Vec<u8>,
}

impl Sealed {
    fn new(name: &'static str, place: Place, key: [u8; 32], nonce: [u8; 12], pt: Vec<u8>) -> Self {
        let sealed = seal_object(&ContentKey::from_bytes(key), &place.at(), &nonce, &pt).unwrap();
        Self {
            name,
            place,
            key,
            nonce,
            plaintext: pt,
            sealed,
        }
    }

    fn json(&self) -> Value {
        let header: [u8; SEGMENT_HEADER_LEN] =
            self.sealed[..SEGMENT_HEADER_LEN].try_into().unwrap();
        let aad = self.place.at().associated_data(&header).unwrap();
        merge(
            json!({
                "name": self.name,
                "key": hex::encode(self.key),
                "nonce": hex::encode(self.nonce),
                "plaintext": hex::encode(&self.plaintext),
                "associated_data": hex::encode(aad),
                "sealed": hex::encode(&self.sealed),
                "path": self.place.path(),
            }),
            self.place.json(),
        )
    }
}

/// `text` with its one occurrence of `from` replaced.
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from}");
    text.replacen(from, to, 1)
}

fn player(salt: u8) -> (RecipientSecretKey, Value) {
    let ikm: [u8; 32] = array(salt);
    let sk = RecipientSecretKey::from_seed(&ikm);
    let v = json!({
        "ikm": hex::encode(ikm),
        "secret_key": hex::encode(sk.to_bytes()),
        "public_key": hex::encode(sk.public_key().to_bytes()),
    });
    (sk, v)
}

/// An object's sealed size, as the manifest lists it.
fn sealed_len(o: &Sealed) -> u64 {
    o.sealed.len() as u64
}

fn main() {
    let content_key: [u8; 32] = array(50);
    let other_content_key: [u8; 32] = array(51);

    // ---- The package: poster, three tracks (two video renditions and audio), manifest. ----
    // (name, track, kind, index, plaintext length); the k-th object has nonce pattern(12, 20 + k)
    // and plaintext pattern(len, 100 + k).
    let layout: &[(&str, &str, ObjectKind, u32, usize)] = &[
        ("poster", "", ObjectKind::Poster, 0, 700),
        ("v240 init segment", "v240", ObjectKind::Init, 0, 96),
        ("v240 media segment 0", "v240", ObjectKind::Media, 0, 1500),
        ("v240 media segment 1", "v240", ObjectKind::Media, 1, 1100),
        ("v360 init segment", "v360", ObjectKind::Init, 0, 96),
        ("v360 media segment 0", "v360", ObjectKind::Media, 0, 2600),
        (
            "v360 media segment 1 (multi-KiB)",
            "v360",
            ObjectKind::Media,
            1,
            6000,
        ),
        ("a128 init segment", "a128", ObjectKind::Init, 0, 64),
        ("a128 media segment 0", "a128", ObjectKind::Media, 0, 800),
        ("a128 media segment 1", "a128", ObjectKind::Media, 1, 150),
    ];
    let mut objects: Vec<Sealed> = layout
        .iter()
        .enumerate()
        .map(|(k, &(name, track, kind, index, len))| {
            Sealed::new(
                name,
                Place::in_package(track, kind, index),
                content_key,
                array(20 + k as u8),
                bytes(len, 100 + k as u8),
            )
        })
        .collect();
    let find = |objects: &[Sealed], name: &str| -> usize {
        objects.iter().position(|o| o.name == name).unwrap()
    };

    // Segment times (seconds) per track; sizes come from the sealed objects above.
    let times: &[(&str, &[(f64, f64)])] = &[
        ("v240", &[(0.0, 4.0), (4.0, 3.3)]),
        ("v360", &[(0.0, 4.0), (4.0, 3.3)]),
        ("a128", &[(0.0, 4.011), (4.011, 3.3)]),
    ];
    let track = |objects: &[Sealed], id: &str, kind: TrackKind| -> Track {
        let t = times.iter().find(|t| t.0 == id).unwrap().1;
        let init = objects
            .iter()
            .find(|o| o.place.track == id && o.place.kind == ObjectKind::Init)
            .unwrap();
        let segments: Vec<Segment> = t
            .iter()
            .enumerate()
            .map(|(i, &(start, duration))| {
                let o = objects
                    .iter()
                    .find(|o| {
                        o.place.track == id
                            && o.place.kind == ObjectKind::Media
                            && o.place.index == i as u32
                    })
                    .unwrap();
                Segment {
                    start,
                    duration,
                    path: o.place.path(),
                    size: sealed_len(o),
                    nonce: nonce_of(o),
                }
            })
            .collect();
        // Peak bits per second over the sealed segments.
        let bandwidth = segments
            .iter()
            .map(|s| (s.size as f64 * 8.0 / s.duration).ceil() as u64)
            .max()
            .unwrap();
        let (mime, codecs, width, height) = match (kind, id) {
            (TrackKind::Video, "v240") => ("video/mp4", "avc1.64001e", Some(426), Some(240)),
            (TrackKind::Video, _) => ("video/mp4", "avc1.64001e", Some(640), Some(360)),
            (TrackKind::Audio, _) => ("audio/mp4", "mp4a.40.2", None, None),
        };
        Track {
            id: id.into(),
            kind,
            mime: mime.into(),
            codecs: codecs.into(),
            bandwidth,
            width,
            height,
            init: MediaFile {
                path: init.place.path(),
                size: sealed_len(init),
                nonce: nonce_of(init),
            },
            segments,
        }
    };
    let tracks = vec![
        track(&objects, "v240", TrackKind::Video),
        track(&objects, "v360", TrackKind::Video),
        track(&objects, "a128", TrackKind::Audio),
    ];
    let duration = tracks.iter().map(Track::end).fold(0.0, f64::max);
    let poster = &objects[find(&objects, "poster")];
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        asset_id: ASSET.into(),
        package_id: PACKAGE.into(),
        kind: PackageKind::Full,
        duration,
        poster: Some(Poster {
            path: poster.place.path(),
            size: sealed_len(poster),
            nonce: nonce_of(poster),
            mime: "image/jpeg".into(),
            width: 640,
            height: 360,
        }),
        tracks,
    };
    let manifest_json = manifest.to_json().unwrap();
    let manifest_text = String::from_utf8(manifest_json.clone()).unwrap();
    objects.push(Sealed::new(
        "manifest",
        Place::in_package("", ObjectKind::Manifest, 0),
        content_key,
        array(20 + layout.len() as u8),
        manifest_json,
    ));
    let package_count = objects.len();

    // ---- Objects outside the package, for the edges of the associated data. ----
    objects.push(Sealed::new(
        "empty plaintext",
        Place::new(ASSET, OTHER_PACKAGE, "v240", ObjectKind::Media, 0),
        content_key,
        array(40),
        Vec::new(),
    ));
    objects.push(Sealed::new(
        "index above 2^24 (big-endian index)",
        Place::new(ASSET, OTHER_PACKAGE, "v360", ObjectKind::Media, 0x0102_0304),
        content_key,
        array(41),
        bytes(33, 141),
    ));
    let (long_a, long_p, long_t) = ("a".repeat(255), "b".repeat(255), "c".repeat(255));
    objects.push(Sealed::new(
        "255-byte ids",
        Place::new(&long_a, &long_p, &long_t, ObjectKind::Init, 0),
        content_key,
        array(42),
        bytes(17, 142),
    ));
    objects.push(Sealed::new(
        "non-ASCII track id (lengths count UTF-8 bytes)",
        Place::new(ASSET, OTHER_PACKAGE, "vidéo-1", ObjectKind::Media, 1),
        content_key,
        array(43),
        bytes(40, 143),
    ));
    objects.push(Sealed::new(
        "another content key",
        Place::new(OTHER_ASSET, PACKAGE, "v240", ObjectKind::Media, 0),
        other_content_key,
        array(44),
        bytes(64, 144),
    ));

    // ---- Negative objects. Most start from the base object "a128 media segment 1". ----
    let base_i = find(&objects, "a128 media segment 1");
    let base = &objects[base_i];
    let bp = base.place.clone();
    let bs = base.sealed.clone();
    let with = |f: &dyn Fn(&mut Place)| {
        let mut p = bp.clone();
        f(&mut p);
        p
    };
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = bs.clone();
        f(&mut b);
        b
    };
    let get = |name: &str| &objects[find(&objects, name)];
    let mut neg: Vec<NegativeObject> = vec![
        (
            "index changed",
            content_key,
            with(&|p| p.index = 2),
            bs.clone(),
            "decrypt",
        ),
        (
            "kind changed to init",
            content_key,
            with(&|p| p.kind = ObjectKind::Init),
            bs.clone(),
            "decrypt",
        ),
        (
            "track id changed",
            content_key,
            with(&|p| p.track = "v240".into()),
            bs.clone(),
            "decrypt",
        ),
        (
            "package id changed",
            content_key,
            with(&|p| p.package = OTHER_PACKAGE.into()),
            bs.clone(),
            "decrypt",
        ),
        (
            "asset id changed",
            content_key,
            with(&|p| p.asset = OTHER_ASSET.into()),
            bs.clone(),
            "decrypt",
        ),
        (
            "asset id one byte longer",
            content_key,
            with(&|p| p.asset = format!("{ASSET}0")),
            bs.clone(),
            "decrypt",
        ),
        (
            "a byte moved from the package id to the asset id",
            content_key,
            with(&|p| {
                p.asset = format!("{ASSET}{}", &PACKAGE[..1]);
                p.package = PACKAGE[1..].into();
            }),
            bs.clone(),
            "decrypt",
        ),
        (
            "a byte moved from the track id to the package id",
            content_key,
            with(&|p| {
                p.package = format!("{PACKAGE}a");
                p.track = "128".into();
            }),
            bs.clone(),
            "decrypt",
        ),
        (
            "wrong content key",
            other_content_key,
            bp.clone(),
            bs.clone(),
            "decrypt",
        ),
        (
            "segments 0 and 1 swapped",
            content_key,
            bp.clone(),
            get("a128 media segment 0").sealed.clone(),
            "decrypt",
        ),
        (
            "segment of another track at the same index",
            content_key,
            bp.clone(),
            get("v240 media segment 1").sealed.clone(),
            "decrypt",
        ),
        (
            "init segment presented as media segment 0",
            content_key,
            Place::in_package("v240", ObjectKind::Media, 0),
            get("v240 init segment").sealed.clone(),
            "decrypt",
        ),
        (
            "init segment of another track",
            content_key,
            Place::in_package("v360", ObjectKind::Init, 0),
            get("v240 init segment").sealed.clone(),
            "decrypt",
        ),
        (
            "manifest presented as poster",
            content_key,
            Place::in_package("", ObjectKind::Poster, 0),
            get("manifest").sealed.clone(),
            "decrypt",
        ),
        (
            "poster presented as manifest",
            content_key,
            Place::in_package("", ObjectKind::Manifest, 0),
            get("poster").sealed.clone(),
            "decrypt",
        ),
        (
            "manifest opened with a track id",
            content_key,
            Place::in_package("v240", ObjectKind::Manifest, 0),
            get("manifest").sealed.clone(),
            "decrypt",
        ),
        (
            "flipped bit in the nonce",
            content_key,
            bp.clone(),
            edit(&|b| b[10] ^= 0x01),
            "decrypt",
        ),
        (
            "flipped bit in the ciphertext",
            content_key,
            bp.clone(),
            edit(&|b| b[SEGMENT_HEADER_LEN + 5] ^= 0x01),
            "decrypt",
        ),
        (
            "flipped bit in the tag",
            content_key,
            bp.clone(),
            edit(&|b| *b.last_mut().unwrap() ^= 0x80),
            "decrypt",
        ),
        (
            "truncated by one byte",
            content_key,
            bp.clone(),
            bs[..bs.len() - 1].to_vec(),
            "decrypt",
        ),
        (
            "ciphertext dropped (header and tag only)",
            content_key,
            bp.clone(),
            [&bs[..SEGMENT_HEADER_LEN], &bs[bs.len() - 16..]].concat(),
            "decrypt",
        ),
        (
            "shorter than the overhead (33 bytes)",
            content_key,
            bp.clone(),
            bs[..33].to_vec(),
            "decrypt",
        ),
        (
            "empty input",
            content_key,
            bp.clone(),
            Vec::new(),
            "decrypt",
        ),
        (
            "one byte appended",
            content_key,
            bp.clone(),
            [&bs[..], &[0]].concat(),
            "decrypt",
        ),
        (
            "bad magic",
            content_key,
            bp.clone(),
            edit(&|b| b[0] = b'X'),
            "decrypt",
        ),
        (
            "sealed stream magic CNLK",
            content_key,
            bp.clone(),
            edit(&|b| b[3] = b'K'),
            "decrypt",
        ),
        (
            "unknown version",
            content_key,
            bp.clone(),
            edit(&|b| b[4] = 2),
            "unsupported",
        ),
        (
            "unknown suite",
            content_key,
            bp.clone(),
            edit(&|b| b[5] = 2),
            "unsupported",
        ),
        (
            "unknown version on an input shorter than the overhead",
            content_key,
            bp.clone(),
            edit(&|b| {
                b[4] = 2;
                b.truncate(20);
            }),
            "decrypt",
        ),
        (
            "empty object with a flipped tag bit",
            content_key,
            get("empty plaintext").place.clone(),
            {
                let mut b = get("empty plaintext").sealed.clone();
                b[SEGMENT_HEADER_LEN] ^= 0x01;
                b
            },
            "decrypt",
        ),
        (
            "track id longer than 255 bytes",
            content_key,
            with(&|p| p.track = "c".repeat(256)),
            bs.clone(),
            "malformed",
        ),
    ];
    // The base object with another object's nonce in its header: the nonce is both the GCM
    // nonce and part of the associated data, so the tag no longer verifies.
    let mut renonced = bs.clone();
    renonced[6..SEGMENT_HEADER_LEN].copy_from_slice(&get("a128 media segment 0").nonce);
    neg.push((
        "nonce replaced by another object's",
        content_key,
        bp.clone(),
        renonced,
        "decrypt",
    ));
    let mut negative: Vec<Value> = neg
        .into_iter()
        .map(|(name, key, place, sealed, error)| {
            merge(
                json!({
                    "name": name, "key": hex::encode(key), "sealed": hex::encode(sealed),
                    "error": error,
                }),
                place.json(),
            )
        })
        .collect();
    // An older object sealed at the base's place (another attempt: other bytes, other nonce).
    // It is authentic at that place, so it opens unless the reader pins the nonce the manifest
    // lists: `pinned_nonce` is that nonce.
    let older = Sealed::new(
        "older object at the same place",
        bp.clone(),
        content_key,
        array(45),
        bytes(150, 145),
    );
    negative.push(merge(
        json!({
            "name": "older object at the same place (another nonce than the manifest lists)",
            "key": hex::encode(content_key), "sealed": hex::encode(&older.sealed),
            "pinned_nonce": hex::encode(base.nonce), "error": "decrypt",
        }),
        bp.json(),
    ));

    // ---- Content key release. ----
    let (player_sk, player_json) = player(60);
    let (other_player, other_player_json) = player(61);
    let release_as = |what: Released,
                      pk: &cinelock_core::RecipientPublicKey,
                      asset: &str,
                      key: [u8; 32],
                      eph: u8| {
        let e: [u8; 32] = array(eph);
        let r = seal_key(what, pk, asset, &ContentKey::from_bytes(key), &e).unwrap();
        (e, r)
    };
    let release = |pk: &cinelock_core::RecipientPublicKey, asset: &str, key: [u8; 32], eph: u8| {
        release_as(Released::ContentKey, pk, asset, key, eph)
    };
    let (e1, r1) = release(player_sk.public_key(), ASSET, content_key, 70);
    let (e2, r2) = release(player_sk.public_key(), OTHER_ASSET, other_content_key, 71);
    let (_, r_other) = release(other_player.public_key(), ASSET, content_key, 72);
    let source_key: [u8; 32] = array(52);
    let (e3, r_source) = release_as(
        Released::SourceKey,
        player_sk.public_key(),
        ASSET,
        source_key,
        74,
    );
    let release_positive = vec![
        json!({"name": "the package's content key", "kind": "content", "asset_id": ASSET,
               "key": hex::encode(content_key), "ephemeral": hex::encode(e1),
               "released": hex::encode(r1)}),
        json!({"name": "another asset's content key", "kind": "content", "asset_id": OTHER_ASSET,
               "key": hex::encode(other_content_key), "ephemeral": hex::encode(e2),
               "released": hex::encode(r2)}),
        json!({"name": "the asset's source key (a download)", "kind": "source", "asset_id": ASSET,
               "key": hex::encode(source_key), "ephemeral": hex::encode(e3),
               "released": hex::encode(r_source)}),
    ];
    // A release forged with the all-zero (low-order) enc: its tag is valid under the shared
    // secret an all-zero X25519 result gives, so only the all-zero check refuses it.
    let forged = [
        &[0u8; 32][..],
        &forge::wrap_under_zero_secret(
            &player_sk.public_key().to_bytes(),
            KEY_RELEASE_INFO,
            ASSET.as_bytes(),
            &content_key,
        ),
    ]
    .concat();
    let flip = |at: usize| {
        let mut b = r1.to_vec();
        b[at] ^= 0x01;
        b
    };
    // A sealed stream's wrapped data key has the same shape (enc ‖ 32 B ‖ tag) but another info
    // and associated data: it must not open as a released content key.
    let stream = seal(
        player_sk.public_key(),
        64,
        &SealSeed::from_bytes(&array::<SEED_LEN>(73)),
        ASSET.as_bytes(),
        b"",
    )
    .unwrap();
    let stream_key = stream[27..HEADER_LEN].to_vec();
    let content_negative = [
        ("another asset's id", OTHER_ASSET.to_string(), r1.to_vec()),
        (
            "asset id one byte shorter",
            ASSET[..ASSET.len() - 1].to_string(),
            r1.to_vec(),
        ),
        ("asset id in upper case", ASSET.to_uppercase(), r1.to_vec()),
        ("empty asset id", String::new(), r1.to_vec()),
        ("sealed to another player", ASSET.into(), r_other.to_vec()),
        ("flipped bit in enc", ASSET.into(), flip(5)),
        ("flipped bit in the sealed key", ASSET.into(), flip(40)),
        ("flipped bit in the tag", ASSET.into(), flip(79)),
        ("truncated by one byte", ASSET.into(), r1[..79].to_vec()),
        ("one byte appended", ASSET.into(), [&r1[..], &[0]].concat()),
        ("empty input", ASSET.into(), Vec::new()),
        (
            "enc replaced by a low-order point (all zero)",
            ASSET.into(),
            [&[0u8; 32][..], &r1[32..]].concat(),
        ),
        (
            "enc of another release",
            ASSET.into(),
            [&r2[..32], &r1[32..]].concat(),
        ),
        (
            "a sealed stream's wrapped data key (other info and aad)",
            ASSET.into(),
            stream_key,
        ),
        (
            "forged with a low-order enc (valid tag under the all-zero secret)",
            ASSET.into(),
            forged,
        ),
        ("a source key release", ASSET.into(), r_source.to_vec()),
        (
            "a source key release, for the asset id + \"/source\"",
            format!("{ASSET}/source"),
            r_source.to_vec(),
        ),
    ]
    .into_iter()
    .map(|(name, asset, released)| ("content", name, asset, released));
    let source_negative = [
        ("a content key release", ASSET.to_string(), r1.to_vec()),
        (
            "another asset's id",
            OTHER_ASSET.to_string(),
            r_source.to_vec(),
        ),
    ]
    .into_iter()
    .map(|(name, asset, released)| ("source", name, asset, released));
    let release_negative: Vec<Value> = content_negative
        .chain(source_negative)
        .map(|(kind, name, asset, released)| {
            json!({"name": name, "kind": kind, "asset_id": asset,
                   "released": hex::encode(released), "error": "decrypt"})
        })
        .collect();

    // ---- Manifest variants. ----
    let m: Value = serde_json::from_slice(manifest_text.as_bytes()).unwrap();
    let variant = |f: &dyn Fn(&mut Value)| {
        let mut v = m.clone();
        f(&mut v);
        serde_json::to_string(&v).unwrap()
    };
    let audio_track = m["tracks"][2].clone();
    let manifest_valid: Vec<Value> = [
        (
            "poster absent",
            variant(&|v| {
                v.as_object_mut().unwrap().remove("poster");
            }),
        ),
        ("poster null", variant(&|v| v["poster"] = Value::Null)),
        (
            "no audio track",
            variant(&|v| {
                v["tracks"].as_array_mut().unwrap().pop();
            }),
        ),
        (
            "audio track first",
            variant(&|v| {
                let t = v["tracks"].as_array_mut().unwrap();
                let a = t.pop().unwrap();
                t.insert(0, a);
            }),
        ),
        (
            "equal video bandwidths",
            variant(&|v| v["tracks"][1]["bandwidth"] = v["tracks"][0]["bandwidth"].clone()),
        ),
        (
            "segment start 0.9 ms after the previous end",
            variant(&|v| v["tracks"][0]["segments"][1]["start"] = json!(4.0009)),
        ),
        (
            "first segment starts 0.9 ms before zero",
            variant(&|v| v["tracks"][0]["segments"][0]["start"] = json!(-0.0009)),
        ),
        (
            "audio track with a width and a null height",
            variant(&|v| {
                v["tracks"][2]["width"] = json!(1);
                v["tracks"][2]["height"] = Value::Null;
            }),
        ),
        (
            "package kind preview",
            variant(&|v| v["kind"] = json!("preview")),
        ),
        (
            "path with dots inside components",
            variant(&|v| v["tracks"][0]["init"]["path"] = json!("v240/.init..cnls/...")),
        ),
        (
            "128-byte path",
            variant(&|v| v["tracks"][0]["init"]["path"] = json!("p".repeat(128))),
        ),
        (
            "segment size one above the overhead",
            variant(&|v| v["tracks"][0]["segments"][0]["size"] = json!(35)),
        ),
        (
            "escaped characters in strings",
            replace_once(
                &manifest_text,
                "\"v240/init.cnls\"",
                "\"v240\\/init\\u002ecnls\"",
            ),
        ),
        (
            "surrounding whitespace",
            format!(" \n\t{manifest_text}\r\n"),
        ),
    ]
    .into_iter()
    .map(|(name, text)| json!({"name": name, "json": text}))
    .collect();

    let manifest_invalid: Vec<Value> = [
        ("version 1", variant(&|v| v["version"] = json!(1))),
        ("version 3", variant(&|v| v["version"] = json!(3))),
        ("version 2.0", variant(&|v| v["version"] = json!(2.0))),
        (
            "version as a string",
            variant(&|v| v["version"] = json!("2")),
        ),
        (
            "nonce in upper case",
            variant(&|v| {
                let n = v["tracks"][0]["init"]["nonce"]
                    .as_str()
                    .unwrap()
                    .to_uppercase();
                v["tracks"][0]["init"]["nonce"] = json!(n);
            }),
        ),
        (
            "nonce of 23 hex digits",
            variant(&|v| {
                let n = v["tracks"][0]["segments"][1]["nonce"].as_str().unwrap()[1..].to_owned();
                v["tracks"][0]["segments"][1]["nonce"] = json!(n);
            }),
        ),
        (
            "nonce as an array of numbers",
            variant(&|v| v["poster"]["nonce"] = json!(vec![0; 12])),
        ),
        (
            "segment missing its nonce",
            variant(&|v| {
                v["tracks"][2]["segments"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("nonce");
            }),
        ),
        (
            "asset id with upper case",
            variant(&|v| v["asset_id"] = json!("ABC")),
        ),
        (
            "asset id of 65 bytes",
            variant(&|v| v["asset_id"] = json!("a".repeat(65))),
        ),
        (
            "empty package id",
            variant(&|v| v["package_id"] = json!("")),
        ),
        (
            "package id with a slash",
            variant(&|v| v["package_id"] = json!("p/1")),
        ),
        (
            "unknown package kind",
            variant(&|v| v["kind"] = json!("Full")),
        ),
        ("duration zero", variant(&|v| v["duration"] = json!(0))),
        (
            "duration negative",
            variant(&|v| v["duration"] = json!(-7.3)),
        ),
        (
            "duration out of range",
            replace_once(
                &manifest_text,
                &format!("\"duration\":{}", m["duration"]),
                "\"duration\":1e400",
            ),
        ),
        (
            "poster with an absolute path",
            variant(&|v| v["poster"]["path"] = json!("/poster.cnls")),
        ),
        (
            "poster size equal to the overhead",
            variant(&|v| v["poster"]["size"] = json!(34)),
        ),
        (
            "poster missing its mime",
            variant(&|v| {
                v["poster"].as_object_mut().unwrap().remove("mime");
            }),
        ),
        ("no tracks", variant(&|v| v["tracks"] = json!([]))),
        (
            "audio only",
            variant(&|v| v["tracks"] = json!([audio_track.clone()])),
        ),
        (
            "two audio tracks",
            variant(&|v| {
                let mut a2 = audio_track.clone();
                a2["id"] = json!("a64");
                v["tracks"].as_array_mut().unwrap().push(a2);
            }),
        ),
        (
            "unknown track kind",
            variant(&|v| v["tracks"][2]["kind"] = json!("subtitles")),
        ),
        (
            "track id of 33 bytes",
            variant(&|v| v["tracks"][0]["id"] = json!("v".repeat(33))),
        ),
        (
            "track id with a dot",
            variant(&|v| v["tracks"][0]["id"] = json!("v.240")),
        ),
        (
            "track id repeated",
            variant(&|v| v["tracks"][1]["id"] = json!("v240")),
        ),
        (
            "video bandwidths decreasing",
            variant(&|v| v["tracks"][0]["bandwidth"] = json!(100_000_000)),
        ),
        (
            "video track without width",
            variant(&|v| {
                v["tracks"][1].as_object_mut().unwrap().remove("width");
            }),
        ),
        (
            "video track with height zero",
            variant(&|v| v["tracks"][0]["height"] = json!(0)),
        ),
        (
            "bandwidth zero on the audio track",
            variant(&|v| v["tracks"][2]["bandwidth"] = json!(0)),
        ),
        (
            "empty codecs",
            variant(&|v| v["tracks"][2]["codecs"] = json!("")),
        ),
        (
            "empty mime",
            variant(&|v| v["tracks"][0]["mime"] = json!("")),
        ),
        (
            "init path with a .. component",
            variant(&|v| v["tracks"][0]["init"]["path"] = json!("v240/../init.cnls")),
        ),
        (
            "init path with a . component",
            variant(&|v| v["tracks"][0]["init"]["path"] = json!("./v240/init.cnls")),
        ),
        (
            "init path with an empty component",
            variant(&|v| v["tracks"][0]["init"]["path"] = json!("v240//init.cnls")),
        ),
        (
            "init path with a trailing slash",
            variant(&|v| v["tracks"][0]["init"]["path"] = json!("v240/")),
        ),
        (
            "path with a backslash",
            variant(&|v| v["tracks"][0]["segments"][0]["path"] = json!("v240\\00000.cnls")),
        ),
        (
            "path with a space",
            variant(&|v| v["tracks"][0]["segments"][0]["path"] = json!("v240/0 .cnls")),
        ),
        (
            "path with a non-ASCII letter",
            variant(&|v| v["tracks"][0]["segments"][0]["path"] = json!("vidéo/00000.cnls")),
        ),
        (
            "path of 129 bytes",
            variant(&|v| v["tracks"][0]["init"]["path"] = json!("p".repeat(129))),
        ),
        (
            "empty path",
            variant(&|v| v["tracks"][0]["init"]["path"] = json!("")),
        ),
        (
            "init size equal to the overhead",
            variant(&|v| v["tracks"][1]["init"]["size"] = json!(34)),
        ),
        (
            "negative size",
            variant(&|v| v["tracks"][1]["init"]["size"] = json!(-1000)),
        ),
        (
            "track without segments",
            variant(&|v| v["tracks"][2]["segments"] = json!([])),
        ),
        (
            "segment size zero",
            variant(&|v| v["tracks"][0]["segments"][1]["size"] = json!(0)),
        ),
        (
            "segment duration zero",
            variant(&|v| v["tracks"][0]["segments"][1]["duration"] = json!(0)),
        ),
        (
            "segment start 1.1 ms after the previous end",
            variant(&|v| v["tracks"][0]["segments"][1]["start"] = json!(4.0011)),
        ),
        (
            "first segment starts at 0.1 s",
            variant(&|v| v["tracks"][1]["segments"][0]["start"] = json!(0.1)),
        ),
        (
            "segments overlapping",
            variant(&|v| v["tracks"][2]["segments"][1]["start"] = json!(3.9)),
        ),
        (
            "unknown top-level member",
            variant(&|v| v["drm"] = json!("none")),
        ),
        (
            "unknown member in a segment",
            variant(&|v| v["tracks"][0]["segments"][0]["index"] = json!(0)),
        ),
        (
            "missing tracks",
            variant(&|v| {
                v.as_object_mut().unwrap().remove("tracks");
            }),
        ),
        (
            "missing segment start",
            variant(&|v| {
                v["tracks"][0]["segments"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("start");
            }),
        ),
        (
            "duplicate member",
            replace_once(
                &manifest_text,
                "{\"version\":2,",
                "{\"version\":2,\"version\":2,",
            ),
        ),
        ("trailing characters", format!("{manifest_text} x")),
        ("byte order mark", format!("\u{feff}{manifest_text}")),
        ("not JSON", "version=1".to_string()),
        (
            "lone surrogate escape in a string",
            replace_once(&manifest_text, "\"mp4a.40.2\"", "\"mp4a.40.2\\ud800\""),
        ),
    ]
    .into_iter()
    .map(|(name, text)| json!({"name": name, "json": text, "error": "invalid_manifest"}))
    .collect();

    let positive: Vec<Value> = objects.iter().map(Sealed::json).collect();
    let doc = json!({
        "format": "cinelock encrypted media package v2 (docs/format.md)",
        "content_key": hex::encode(content_key),
        "other_content_key": hex::encode(other_content_key),
        "package": {
            "asset_id": ASSET,
            "package_id": PACKAGE,
            "objects": objects[..package_count].iter().map(|o| o.name).collect::<Vec<_>>(),
            "manifest": manifest_text,
        },
        "objects": {"positive": positive, "negative": negative},
        "key_release": {
            "player": player_json,
            "other_player": other_player_json,
            "positive": release_positive,
            "negative": release_negative,
        },
        "manifests": {"valid": manifest_valid, "invalid": manifest_invalid},
    });
    println!("{}", serde_json::to_string_pretty(&doc).unwrap());
}
