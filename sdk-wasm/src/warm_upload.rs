//! `prepareUploads()`'s rehearsal of an upload: the real driver uploads a made-up file of three
//! chunks, in one part, to a made-up server and store at a local origin, whose sign, PUT and
//! completion requests are answered from this thread's memory ([`platform::answer_locally`]).
//!
//! Why: the browser compiles WebAssembly functions lazily, on their first call, and a page's
//! first WebCrypto call starts its crypto thread. A page's first upload paid for both before its
//! first PUT: on the benchmark's loopback its first part was asked to be signed 44 ms after
//! `upload()`, against 12–17 ms for the uploads after it (docs/benchmarks.md). Running one
//! upload through the same code (the options' reading, the engine, the seat among the thread's
//! uploads, the file's reads, sealing, the part's checksum, its Blob, signing, the PUT and the
//! completion) compiles all of it. Nothing touches the network, and nothing outlives it.

use std::rc::Rc;

use cinelock_contract::uploads::{
    PartChecksumView, PlanView, SignRequest, SignedPartUrl, SignedParts,
};
use cinelock_core::upload::PartPlan;
use cinelock_core::{DEFAULT_CHUNK_SIZE, RecipientSecretKey, SEED_LEN};
use futures_util::future::{Either, select};
use js_sys::{Array, Function, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::{Closure, wasm_bindgen};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, Response};

use crate::upload::{Options, start_upload};
use crate::{SdkError, platform, upload_slots};

/// The rehearsal's server and store, at the local origin.
const ENDPOINT: &str = "cinelock-local://upload-rehearsal";
const UPLOAD: &str = "rehearsal";
/// Two full chunks and a short one: every kind of chunk a part seals, in one part (S3's limits
/// allow one short part only as the last).
const LEN: u64 = 7 * DEFAULT_CHUNK_SIZE as u64 + 1_000;
/// A browser that never answers does not keep `prepareUploads()` waiting longer.
const GIVE_UP_MS: f64 = 2_000.0;

/// Rehearses an upload on this thread (the page's, or the upload worker's). The SDK's
/// `prepareUploads()` calls it.
#[wasm_bindgen(js_name = warmUpUpload)]
pub async fn warm_up_upload() -> Result<(), SdkError> {
    let mut bytes = [0u8; 32];
    platform::random(&mut bytes)?;
    let recipient = RecipientSecretKey::from_seed(&bytes);
    let mut seed = [0u8; SEED_LEN];
    platform::random(&mut seed)?;
    let plan = PartPlan::from_parts(LEN, DEFAULT_CHUNK_SIZE, 32)?;
    let options = Options {
        endpoint: ENDPOINT.into(),
        upload_id: UPLOAD.into(),
        asset_id: UPLOAD.into(),
        token: UPLOAD.into(),
        plan: PlanView::from(&plan),
        part_checksum: PartChecksumView::Crc32c,
        recipient_public_key: hex::encode(recipient.public_key().to_bytes()),
        seed: seed.to_vec(),
        recorded: Default::default(),
        reconcile: false,
        max_parallel: None,
        stall_timeout_ms: None,
        engine: None,
    };
    let file =
        Blob::new_with_u8_array_sequence(&Array::of1(&Uint8Array::new_with_length(LEN as u32)))
            .map_err(platform::platform_error)?;
    let _local = platform::answer_locally(ENDPOINT, Rc::new(answer));
    let on_event = Closure::<dyn FnMut(JsValue)>::new(|_: JsValue| {});
    let task = start_upload(
        file,
        platform::to_js(&options),
        on_event.as_ref().unchecked_ref::<Function>().clone(),
    )?;
    let done = JsFuture::from(task.done());
    let give_up = Box::pin(platform::sleep(GIVE_UP_MS));
    let outcome = select(done, give_up).await;
    upload_slots::release_spare_buffers();
    match outcome {
        Either::Left((Ok(_), _)) => Ok(()),
        Either::Left((Err(e), _)) => Err(SdkError::Platform(format!(
            "upload rehearsal failed: {}",
            SdkError::describe(&e)
        ))),
        Either::Right(_) => {
            task.abort();
            Err(SdkError::Platform("upload rehearsal did not finish".into()))
        }
    }
}

/// The rehearsal's server and store: URLs for every part asked for, an ETag for every PUT, and
/// the completion.
fn answer(url: &str, init: &Object) -> Result<Response, JsValue> {
    let route = url.strip_prefix(ENDPOINT).unwrap_or_default();
    let method = Reflect::get(init, &"method".into())?
        .as_string()
        .unwrap_or_default();
    let ok = |body: Option<&str>, etag: Option<&str>| {
        let headers = web_sys::Headers::new()?;
        if let Some(etag) = etag {
            headers.set("etag", etag)?;
        }
        let init = platform::status(200);
        init.set_headers(&headers);
        Response::new_with_opt_str_and_init(body, &init)
    };
    match (method.as_str(), route) {
        ("PUT", r) if r.starts_with("/store/") => ok(None, Some("\"rehearsal\"")),
        ("POST", r) if r == format!("/v1/uploads/{UPLOAD}/sign") => {
            let body = Reflect::get(init, &"body".into())?
                .as_string()
                .unwrap_or_default();
            let asked: SignRequest =
                serde_json::from_str(&body).map_err(|e| JsValue::from(e.to_string()))?;
            let parts = asked
                .parts
                .into_iter()
                .map(|p| SignedPartUrl {
                    number: p.number,
                    url: format!("{ENDPOINT}/store/{}", p.number),
                    headers: Default::default(),
                    expires_at: 0,
                    expires_in_ms: 3_600_000,
                })
                .collect();
            let json = serde_json::to_string(&SignedParts { parts })
                .map_err(|e| JsValue::from(e.to_string()))?;
            ok(Some(&json), None)
        }
        ("POST", r) if r == format!("/v1/uploads/{UPLOAD}/complete") => ok(Some("{}"), None),
        _ => platform::not_found(),
    }
}
