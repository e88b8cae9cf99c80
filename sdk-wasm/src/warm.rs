//! Warming the player's start path at load: the code a session runs before its first fetch
//! (reading the session's answer, the one-time key pair, opening a released key and a sealed
//! manifest, the playback engine's first actions, a WebCrypto AES-GCM key and an opened
//! object) is run once on throwaway values.
//!
//! Why: the browser compiles WebAssembly functions lazily, on their first call, and a page's
//! first WebCrypto call starts its crypto thread. Without this, a cold page paid both between
//! the session's answer and the first media request (in Chromium, 15–25 ms on the benchmark's
//! loopback). Nothing here touches the network or keeps a key.

use cinelock_core::RecipientSecretKey;
use cinelock_core::media::{
    ContentKey, MANIFEST_VERSION, Manifest, MediaFile, ObjectKind, ObjectNonce, ObjectRef,
    PackageKind, Segment, Track, TrackKind, open_content_key, seal_content_key, seal_object,
};
use cinelock_core::playback::{PlaybackConfig, Player};
use js_sys::Uint8Array;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::engine::EngineChoice;
use crate::objects::ObjectCipher;
use crate::{SdkError, platform};

const ASSET: &str = "warm";
const PACKAGE: &str = "warm";

fn track(id: &str, kind: TrackKind, nonce: ObjectNonce) -> Track {
    Track {
        id: id.into(),
        kind,
        mime: if kind == TrackKind::Video {
            "video/mp4"
        } else {
            "audio/mp4"
        }
        .into(),
        codecs: if kind == TrackKind::Video {
            "avc1.64001f"
        } else {
            "mp4a.40.2"
        }
        .into(),
        bandwidth: 1_000_000,
        width: (kind == TrackKind::Video).then_some(640),
        height: (kind == TrackKind::Video).then_some(360),
        init: MediaFile {
            path: format!("{id}/init.cnls"),
            size: 100,
            nonce,
        },
        segments: (0..2)
            .map(|i| Segment {
                start: f64::from(i) * 4.0,
                duration: 4.0,
                path: format!("{id}/{i:05}.cnls"),
                size: 100,
                nonce,
            })
            .collect(),
    }
}

/// Runs the start path once (see the module docs). The SDK's `load()` calls it.
#[wasm_bindgen(js_name = warmUp)]
pub async fn warm_up() -> Result<(), SdkError> {
    crate::session::warm_up_answers()?;
    let mut seed = [0u8; 64];
    platform::random(&mut seed)?;
    let secret = RecipientSecretKey::from_seed(seed[..32].try_into().expect("32"));
    let key = ContentKey::from_bytes([7; 32]);
    let released = seal_content_key(
        secret.public_key(),
        ASSET,
        &key,
        seed[32..].try_into().expect("32"),
    )?;
    let key = open_content_key(&secret, ASSET, &released)?;

    let nonce = ObjectNonce([1; 12]);
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        asset_id: ASSET.into(),
        package_id: PACKAGE.into(),
        kind: PackageKind::Full,
        duration: 8.0,
        poster: None,
        tracks: vec![
            track("v1", TrackKind::Video, nonce),
            track("a1", TrackKind::Audio, nonce),
        ],
    };
    let json = serde_json::to_vec(&manifest).map_err(|e| SdkError::Platform(e.to_string()))?;
    let at = |track_id, kind| ObjectRef {
        asset_id: ASSET,
        package_id: PACKAGE,
        track_id,
        kind,
        index: 0,
    };
    let sealed = seal_object(&key, &at("", ObjectKind::Manifest), &nonce.0, &json)?;
    let manifest = Manifest::open(&key, ASSET, PACKAGE, &nonce, &sealed)?;

    let mut player = Player::new(manifest, PlaybackConfig::default())
        .map_err(|e| SdkError::Platform(e.to_string()))?;
    player.handle_start(0);
    while player.poll_action(0).is_some() {}

    // The page's engine (WebCrypto where there is one): a key imported, an object opened.
    let cipher = ObjectCipher::new(EngineChoice::Auto, &key, ASSET, PACKAGE).await?;
    let object = seal_object(&key, &at("v1", ObjectKind::Media), &nonce.0, b"warm")?;
    cipher
        .open(
            "v1",
            ObjectKind::Media,
            0,
            &nonce,
            &Uint8Array::from(&object[..]),
        )
        .await?;
    Ok(())
}
