//! Finds `crypto` in whatever global scope the SDK runs in (window or worker) and draws
//! randomness from it; clocks, timers, and event listeners that Rust owns; every request the
//! SDK sends, and the local origin `load()`'s rehearsal answers from memory.

use std::cell::RefCell;
use std::rc::Rc;

use cinelock_core::upload::{ChecksumAlgorithm, PartChecksum};
use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Crypto, Response, SubtleCrypto};

use crate::SdkError;

fn crypto() -> Result<Crypto, SdkError> {
    let global = js_sys::global();
    js_sys::Reflect::get(&global, &JsValue::from_str("crypto"))
        .ok()
        .and_then(|c| c.dyn_into::<Crypto>().ok())
        .ok_or_else(|| SdkError::Platform("no crypto.getRandomValues in this context".into()))
}

/// `crypto.subtle`, when this context has it (secure contexts only).
pub(crate) fn subtle() -> Option<SubtleCrypto> {
    let crypto = crypto().ok()?;
    let subtle = js_sys::Reflect::get(&crypto, &JsValue::from_str("subtle")).ok()?;
    subtle.dyn_into::<SubtleCrypto>().ok()
}

/// Fills `buf` from the browser's CSPRNG.
pub(crate) fn random(buf: &mut [u8]) -> Result<(), SdkError> {
    crypto()?
        .get_random_values_with_u8_array(buf)
        .map(drop)
        .map_err(|e| SdkError::Platform(SdkError::describe(&e)))
}

/// `fetch(url, init)` from whatever global scope this is; rejects on network errors.
pub(crate) async fn fetch(url: &str, init: &Object) -> Result<Response, JsValue> {
    response(send(url, init)?).await
}

/// The `Content-Type` of the JSON the player POSTs to the server (sessions, URLs, beacons): a
/// cross-origin `POST` of `text/plain` is a simple request, sent without a CORS preflight. The
/// server reads those bodies as JSON whatever their type (`PlainJson` in the server).
pub(crate) const NO_PREFLIGHT: &str = "text/plain";

/// The scheme of requests answered in this thread's memory, never by the network (see
/// [`answer_locally`]). Not HTTP: no server's URL can start with it.
pub(crate) const LOCAL_ORIGIN: &str = "cinelock-local://";

/// What answers a request to [`LOCAL_ORIGIN`]: its URL and `fetch` init in, a `Response` out.
pub(crate) type LocalAnswers = Rc<dyn Fn(&str, &Object) -> Result<Response, JsValue>>;

thread_local! {
    /// By the origin they answer (`cinelock-local://<name>`): a player's and an upload's
    /// rehearsal may run on one thread at once.
    static LOCAL: RefCell<Vec<(&'static str, LocalAnswers)>> = const { RefCell::new(Vec::new()) };
}

/// Answers requests to `origin` (under [`LOCAL_ORIGIN`]) with `answers` until the guard is
/// dropped (the rehearsals of `crate::warm` and `crate::warm_upload`); a request to a local
/// origin nobody answers fails like an unreachable host.
pub(crate) fn answer_locally(origin: &'static str, answers: LocalAnswers) -> LocalGuard {
    debug_assert!(origin.starts_with(LOCAL_ORIGIN));
    LOCAL.with(|l| l.borrow_mut().push((origin, answers)));
    LocalGuard(origin)
}

/// Keeps [`answer_locally`]'s answers installed; dropping it removes them.
pub(crate) struct LocalGuard(&'static str);

impl Drop for LocalGuard {
    fn drop(&mut self) {
        LOCAL.with(|l| l.borrow_mut().retain(|(origin, _)| *origin != self.0));
    }
}

/// A local answer's status, for [`answer_locally`]'s answers.
pub(crate) fn status(code: u16) -> web_sys::ResponseInit {
    let init = web_sys::ResponseInit::new();
    init.set_status(code);
    init
}

/// A local answer to a request no rehearsal expects.
pub(crate) fn not_found() -> Result<Response, JsValue> {
    Response::new_with_opt_str_and_init(None, &status(404))
}

/// Whether `url` is answered in this thread's memory rather than by the network.
pub(crate) fn is_local(url: &str) -> bool {
    url.starts_with(LOCAL_ORIGIN)
}

/// `fetch(url, init)` called now: the request is on its way when this returns, and
/// [`response`] awaits what it brings.
pub(crate) fn send(url: &str, init: &Object) -> Result<Promise, JsValue> {
    if is_local(url) {
        let answers = LOCAL.with(|l| {
            l.borrow()
                .iter()
                .find(|(origin, _)| {
                    url.strip_prefix(origin)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
                })
                .map(|(_, answers)| answers.clone())
        });
        let answer = match answers {
            Some(answer) => answer(url, init)?,
            None => {
                return Ok(Promise::reject(
                    &js_sys::TypeError::new("no local answers").into(),
                ));
            }
        };
        return Ok(Promise::resolve(&JsValue::from(answer)));
    }
    let fetch: Function = Reflect::get(&js_sys::global(), &"fetch".into())?.dyn_into()?;
    fetch.call2(&JsValue::NULL, &url.into(), init)?.dyn_into()
}

/// The response a [`send`] brings; rejects on network errors.
pub(crate) async fn response(sent: Promise) -> Result<Response, JsValue> {
    JsFuture::from(sent).await?.dyn_into()
}

/// A `fetch` init that goes past the browser's HTTP cache, both ways (`cache: "no-store"`).
/// For a session's sealed objects: a presigned URL is that session's alone, so a stored copy
/// could serve no other session, and writing every segment to the disk cache competed with the
/// first segments' fetches (first frame 110 -> 94 ms, docs/benchmarks.md). A retry thus never
/// gets a damaged copy back from the cache either.
pub(crate) fn no_store() -> Object {
    let init = Object::new();
    let _ = Reflect::set(&init, &"cache".into(), &"no-store".into());
    init
}

/// The checksum of a sealed part, in the upload's algorithm. CRC32C runs in the core (no
/// WebCrypto for it), fed in pieces through one small buffer so the module's memory does not
/// grow by a part; SHA-256 through WebCrypto where available.
pub(crate) async fn part_checksum(
    algorithm: ChecksumAlgorithm,
    data: &Uint8Array,
) -> Result<PartChecksum, SdkError> {
    match algorithm {
        ChecksumAlgorithm::Sha256 => Ok(PartChecksum::Sha256(sha256(data).await?)),
        ChecksumAlgorithm::Crc32c => {
            const PIECE: u32 = 256 * 1024;
            let len = data.length();
            let mut hasher = algorithm.hasher();
            let mut buf = vec![0u8; PIECE.min(len) as usize];
            let mut at = 0;
            while at < len {
                let end = len.min(at + PIECE);
                let piece = &mut buf[..(end - at) as usize];
                data.subarray(at, end).copy_to(piece);
                hasher.update(piece);
                at = end;
            }
            Ok(hasher.finish())
        }
    }
}

/// SHA-256 of `data`: WebCrypto where available, else the core's software hash.
async fn sha256(data: &Uint8Array) -> Result<[u8; 32], SdkError> {
    if let Some(subtle) = subtle() {
        let promise = subtle
            .digest_with_str_and_buffer_source("SHA-256", data)
            .map_err(|e| SdkError::Platform(SdkError::describe(&e)))?;
        let digest = JsFuture::from(promise)
            .await
            .map_err(|e| SdkError::Platform(SdkError::describe(&e)))?;
        let mut out = [0u8; 32];
        Uint8Array::new(&digest).copy_to(&mut out);
        return Ok(out);
    }
    Ok(cinelock_core::sha256(&data.to_vec()))
}

/// The `name` of a thrown error (`TypeError`, `AbortError`, `QuotaExceededError`, …), or "".
pub(crate) fn error_name(e: &JsValue) -> String {
    Reflect::get(e, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default()
}

/// The global `performance` (window or worker), where there is one.
fn performance() -> Option<web_sys::Performance> {
    Reflect::get(&js_sys::global(), &"performance".into())
        .ok()?
        .dyn_into()
        .ok()
}

/// Milliseconds on a monotonic clock (`performance.now()`), the player's clock.
pub(crate) fn now_ms() -> f64 {
    performance().map_or_else(js_sys::Date::now, |p| p.now())
}

/// `performance.timeOrigin`: what [`now_ms`] counts from, in milliseconds since the epoch (0
/// where [`now_ms`] falls back to the epoch's own clock). A worker's differs from its page's;
/// `time_origin() + now_ms()` is the same instant in both.
pub(crate) fn time_origin() -> f64 {
    performance().map_or(0.0, |p| p.time_origin())
}

/// Resolves after `ms` milliseconds (window or worker). Needs no closure: `setTimeout` calls
/// the promise's own resolve function.
pub(crate) async fn sleep(ms: f64) {
    let promise = Promise::new(&mut |resolve, _| {
        let set_timeout = Reflect::get(&js_sys::global(), &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        if let Some(f) = set_timeout {
            let _ = f.call2(&JsValue::NULL, &resolve, &JsValue::from(ms.max(0.0)));
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// An event listener owned by Rust: added when made, removed (and its closure freed) on drop.
pub(crate) struct Listener {
    target: web_sys::EventTarget,
    kind: &'static str,
    closure: Closure<dyn FnMut(web_sys::Event)>,
}

impl Listener {
    pub(crate) fn new(
        target: &web_sys::EventTarget,
        kind: &'static str,
        f: impl FnMut(web_sys::Event) + 'static,
    ) -> Result<Self, SdkError> {
        let closure = Closure::<dyn FnMut(web_sys::Event)>::new(f);
        target
            .add_event_listener_with_callback(kind, closure.as_ref().unchecked_ref())
            .map_err(|e| SdkError::Platform(SdkError::describe(&e)))?;
        Ok(Self {
            target: target.clone(),
            kind,
            closure,
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.kind, self.closure.as_ref().unchecked_ref());
    }
}

/// A contract value as a plain JavaScript object (maps as objects, 64-bit numbers as numbers).
pub(crate) fn to_js<T: serde::Serialize>(value: &T) -> JsValue {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    value.serialize(&serializer).unwrap_or(JsValue::NULL)
}

/// A seed for an engine's retry jitter.
pub(crate) fn jitter_seed() -> Result<u64, SdkError> {
    let mut seed = [0u8; 8];
    random(&mut seed)?;
    Ok(u64::from_le_bytes(seed))
}

/// A browser API's failure.
pub(crate) fn platform_error(e: JsValue) -> SdkError {
    SdkError::Platform(SdkError::describe(&e))
}

/// A Blob's bytes.
pub(crate) async fn read_blob(blob: &web_sys::Blob) -> Result<Uint8Array, SdkError> {
    let buffer = JsFuture::from(blob.array_buffer())
        .await
        .map_err(|e| SdkError::Read(SdkError::describe(&e)))?;
    Ok(Uint8Array::new(&buffer))
}
