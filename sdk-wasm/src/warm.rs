//! `load()`'s rehearsal of a player's start: a real player, on a video element that is never
//! shown, plays a made-up package whose session and objects are answered from this thread's
//! memory ([`platform::answer_locally`]), until its first (made-up, undecodable) media is
//! appended and the element refuses it.
//!
//! Why: the browser compiles WebAssembly functions lazily, on their first call, at tens of
//! megabytes a second; a page's first WebCrypto call starts its crypto thread. A cold page paid
//! for both on the first frame's path: compiling the player's own start (the driver's message
//! handling, the engine's first actions, the session's reading, the MediaSource set-up, the
//! first fetches and appends) made its first task longer, so the page's layout, and with it the
//! session's answer, came later. A second player in the same page had its first frame 10–15 ms
//! sooner on the benchmark's loopback (docs/benchmarks.md). Running one rehearsal through the
//! same code compiles all of it. Nothing touches the network, and nothing outlives it: the
//! key is made for the rehearsal and the element is let go.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cinelock_contract::analytics::BeaconGrant;
use cinelock_contract::playback::{PlayAnswer, PlayRequest, StartTrack, UrlsAnswer, UrlsRequest};
use cinelock_core::RecipientPublicKey;
use cinelock_core::media::{
    ContentKey, MANIFEST_VERSION, Manifest, MediaFile, ObjectKind, ObjectNonce, ObjectRef,
    PackageKind, Segment, Track, TrackKind, seal_content_key, seal_object,
};
use futures_channel::mpsc::unbounded;
use futures_util::StreamExt;
use futures_util::future::select;
use js_sys::{Function, Object, Reflect};
use wasm_bindgen::prelude::{Closure, wasm_bindgen};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{HtmlVideoElement, Response};

use crate::session::{self, PlayTarget};
use crate::{SdkError, beacons, platform};

/// The rehearsal's server, at the local origin.
const ENDPOINT: &str = "cinelock-local://rehearsal";
const ASSET: &str = "rehearsal";
const PACKAGE: &str = "rehearsal";
/// Media segments per track: the engine's start asks for the first one or two.
const SEGMENTS: u32 = 2;
/// What every object holds: no media, so the element refuses the first append.
const NOT_MEDIA: &[u8] = b"not media: load()'s rehearsal";
/// A browser that never reports the refusal does not keep `load()` waiting longer.
const GIVE_UP_MS: f64 = 2_000.0;

/// Rehearses a player's start where there is a document to make a video element in; elsewhere
/// (a worker) there is no player to warm. The SDK's `load()` calls it.
#[wasm_bindgen(js_name = warmUp)]
pub async fn warm_up() -> Result<(), SdkError> {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return Ok(());
    };
    let video: HtmlVideoElement = document
        .create_element("video")
        .and_then(|e| e.dyn_into().map_err(JsValue::from))
        .map_err(|e| SdkError::Platform(SdkError::describe(&e)))?;
    video.set_muted(true);
    let stage = Rc::new(Stage::new()?);
    let answers = stage.clone();
    let _local = platform::answer_locally(
        ENDPOINT,
        Rc::new(move |url, init| answers.answer(url, init)),
    );

    let (tx, mut rx) = unbounded::<()>();
    let on_event = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        let kind = Reflect::get(&event, &"type".into()).ok();
        if kind.and_then(|k| k.as_string()).as_deref() == Some("error") {
            let _ = tx.unbounded_send(());
        }
    });
    let options = Object::new();
    for (k, v) in [
        ("endpoint", JsValue::from(ENDPOINT)),
        ("assetId", ASSET.into()),
        ("startRendition", "v1".into()),
    ] {
        Reflect::set(&options, &k.into(), &v)
            .map_err(|e| SdkError::Platform(SdkError::describe(&e)))?;
    }
    let player = crate::player::start_player(
        video.clone(),
        options.into(),
        on_event.as_ref().unchecked_ref::<Function>().clone(),
        None,
        None,
    )?;
    // As a page does: the element's own events then take the paths they take in a real start.
    if let Ok(playing) = video.play() {
        wasm_bindgen_futures::spawn_local(async move {
            let _ = wasm_bindgen_futures::JsFuture::from(playing).await;
        });
    }
    let refused = rx.next();
    let give_up = Box::pin(platform::sleep(GIVE_UP_MS));
    select(refused, give_up).await;
    player.destroy();
    // The player's loop takes the destroy in a later microtask; its callback lives until then.
    platform::sleep(0.0).await;
    Ok(())
}

/// The made-up package: its key, sealed manifest, tracks (as a session lists them) and sealed
/// objects by path.
struct Stage {
    key: ContentKey,
    manifest_nonce: ObjectNonce,
    manifest: Vec<u8>,
    start: Vec<StartTrack>,
    objects: HashMap<String, Vec<u8>>,
}

impl Stage {
    fn new() -> Result<Self, SdkError> {
        let mut bytes = [0u8; 32];
        platform::random(&mut bytes)?;
        let key = ContentKey::from_bytes(bytes);
        let mut objects = HashMap::new();
        let mut nonces = (1u8..).map(|n| ObjectNonce([n; 12]));
        let mut seal = |track_id: &str, kind, index, path: String| {
            let nonce = nonces.next().expect("endless");
            let at = ObjectRef {
                asset_id: ASSET,
                package_id: PACKAGE,
                track_id,
                kind,
                index,
            };
            let sealed = seal_object(&key, &at, &nonce.0, NOT_MEDIA)?;
            let file = MediaFile {
                path: path.clone(),
                size: sealed.len() as u64,
                nonce,
            };
            objects.insert(path, sealed);
            Ok::<_, SdkError>(file)
        };
        let mut tracks = Vec::new();
        for (id, kind, mime, codecs) in [
            ("v1", TrackKind::Video, "video/mp4", "avc1.64001f"),
            ("a1", TrackKind::Audio, "audio/mp4", "mp4a.40.2"),
        ] {
            let init = seal(id, ObjectKind::Init, 0, format!("{id}/init.cnls"))?;
            let segments = (0..SEGMENTS)
                .map(|i| {
                    let f = seal(id, ObjectKind::Media, i, format!("{id}/{i:05}.cnls"))?;
                    Ok(Segment {
                        start: f64::from(i) * 4.0,
                        duration: 4.0,
                        path: f.path,
                        size: f.size,
                        nonce: f.nonce,
                    })
                })
                .collect::<Result<Vec<_>, SdkError>>()?;
            let video = kind == TrackKind::Video;
            tracks.push(Track {
                id: id.into(),
                kind,
                mime: mime.into(),
                codecs: codecs.into(),
                bandwidth: 1_000_000,
                width: video.then_some(640),
                height: video.then_some(360),
                init,
                segments,
            });
        }
        let manifest = Manifest {
            version: MANIFEST_VERSION,
            asset_id: ASSET.into(),
            package_id: PACKAGE.into(),
            kind: PackageKind::Full,
            duration: f64::from(SEGMENTS) * 4.0,
            poster: None,
            tracks,
        };
        let json = serde_json::to_vec(&manifest).map_err(|e| SdkError::Platform(e.to_string()))?;
        let start = StartTrack::list(&manifest);
        let manifest_nonce = ObjectNonce([0; 12]);
        let at = ObjectRef {
            asset_id: ASSET,
            package_id: PACKAGE,
            track_id: "",
            kind: ObjectKind::Manifest,
            index: 0,
        };
        let manifest = seal_object(&key, &at, &manifest_nonce.0, &json)?;
        Ok(Self {
            key,
            manifest_nonce,
            manifest,
            start,
            objects,
        })
    }

    /// The rehearsal server's answer to one request: a session, more URLs, or an object.
    fn answer(&self, url: &str, init: &Object) -> Result<Response, JsValue> {
        let route = url.strip_prefix(ENDPOINT).unwrap_or_default();
        let body = || {
            Reflect::get(init, &"body".into())
                .ok()
                .and_then(|b| b.as_string())
                .unwrap_or_default()
        };
        let bad = |e: &dyn std::fmt::Display| JsValue::from(e.to_string());
        if let Some(path) = route.strip_prefix("/o/") {
            return match self.objects.get(path) {
                Some(sealed) => Response::new_with_opt_buffer_source_and_init(
                    Some(&js_sys::Uint8Array::from(&sealed[..])),
                    &platform::status(200),
                ),
                None => platform::not_found(),
            };
        }
        let target = PlayTarget {
            endpoint: ENDPOINT.into(),
            asset_id: ASSET.into(),
            token: None,
            password: None,
            package: None,
        };
        let json = match url {
            u if u == session::session_url(&target) => {
                let asked: PlayRequest = serde_json::from_str(&body()).map_err(|e| bad(&e))?;
                serde_json::to_string(&self.session(&asked).map_err(|e| bad(&e))?)
            }
            u if u == session::urls_url(&target) => {
                let asked: UrlsRequest = serde_json::from_str(&body()).map_err(|e| bad(&e))?;
                serde_json::to_string(&UrlsAnswer {
                    urls: urls(asked.paths),
                    expires_at: 0,
                    expires_in_ms: 3_600_000,
                })
            }
            // Taken, and forgotten: no view of the rehearsal is recorded anywhere.
            u if u == beacons::url(ENDPOINT) => Ok("{}".to_owned()),
            _ => return platform::not_found(),
        }
        .map_err(|e| bad(&e))?;
        Response::new_with_opt_str_and_init(Some(&json), &platform::status(200))
    }

    /// A session for the player's one-time key, granting every object of the package.
    fn session(&self, asked: &PlayRequest) -> Result<PlayAnswer, SdkError> {
        let public = hex::decode(&asked.public_key)
            .map_err(|_| cinelock_core::Error::InvalidKey)
            .and_then(|b| RecipientPublicKey::from_bytes(&b))?;
        let mut ephemeral = [0u8; 32];
        platform::random(&mut ephemeral)?;
        let released = seal_content_key(&public, ASSET, &self.key, &ephemeral)?;
        Ok(PlayAnswer {
            asset_id: ASSET.into(),
            package_id: PACKAGE.into(),
            kind: "full".into(),
            key: hex::encode(released),
            manifest_url: format!("{ENDPOINT}/o/manifest.cnls"),
            manifest_nonce: hex::encode(self.manifest_nonce.0),
            manifest: Some(BASE64.encode(&self.manifest)),
            urls: urls(self.objects.keys().cloned()),
            start: self.start.clone(),
            first: Vec::new(),
            session: "rehearsal".into(),
            expires_at: 0,
            expires_in_ms: 3_600_000,
            viewer: None,
            download: None,
            text_tracks: Vec::new(),
            beacon: Some(BeaconGrant {
                credential: "rehearsal".into(),
            }),
        })
    }
}

/// Each path's URL at the rehearsal's server.
fn urls(paths: impl IntoIterator<Item = String>) -> BTreeMap<String, String> {
    paths
        .into_iter()
        .map(|p| {
            let url = format!("{ENDPOINT}/o/{p}");
            (p, url)
        })
        .collect()
}
