//! Where the player's sealed objects are fetched and opened: in a dedicated worker where the
//! browser allows one, else on the page's thread.
//!
//! In the worker, response bodies are read and every object is authenticated and decrypted
//! (WebCrypto or the wasm engine) away from the page's thread; the plaintext comes back as a
//! transferred `ArrayBuffer`, without a copy, for the driver to append. The page keeps the
//! engine's decisions and the `SourceBuffer` calls, which are cheap. Both places run the same
//! [`fetch_and_open`], so they accept and refuse exactly the same bytes.
//!
//! The worker is started by the npm package's JavaScript (where bundlers see and bundle it),
//! when the driver asks for it: once playback can begin ([`Opener::start_worker`]). Until then
//! the page opens every object itself, so the worker's loading (its script, the wasm's
//! instantiation, on a machine with few cores) does not compete with the session and the first
//! segments; what is asked for after that waits for the worker. A worker that cannot start (no
//! module workers, a Content-Security-Policy whose `worker-src` admits neither the SDK's origin
//! nor `blob:`, the wasm failing to load in it) or that dies is given up: what it had in flight
//! is reported as a retryable network failure, and from then on objects are opened on the
//! page's thread. Playback never depends on the worker.
//!
//! Messages are plain objects. To the worker: `{t: "module", module}` (the page's compiled
//! `WebAssembly.Module`) at once, `{t: "key", engine, key, asset, package}` once it is ready,
//! then `{t: "fetch", id, url, track, kind, index, size}` and `{t: "abort", id}`. From
//! it: `{t: "ready"}` once it listens, `{t: "keyfailed"}`, `{t: "failed"}` (it broke and
//! closed), and `{t: "done", id, r, …}` with
//! `r` one of `opened` (with `plain`, `bytes`, and `sentAt`, `doneAt` and `openedAt` in
//! milliseconds since the epoch), `corrupt`, `failed` (with `status`: the HTTP status, `null` for
//! a network failure).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use cinelock_core::media::{ContentKey, ObjectKind, ObjectNonce};
use cinelock_core::playback::FetchFailure;
use futures_channel::mpsc::unbounded;
use futures_util::StreamExt;
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{AbortController, AbortSignal, DedicatedWorkerGlobalScope, MessageEvent, Worker};
use zeroize::Zeroizing;

use crate::SdkError;
use crate::engine::EngineChoice;
use crate::objects::{ObjectCipher, kind_name, parse_kind};
use crate::platform::{self, Listener};

/// How long a worker may take to load the SDK before objects are opened on the page instead
/// (the wasm is usually in the HTTP cache already: the page loaded it).
const START_TIMEOUT_MS: f64 = 5_000.0;

/// What fetching and opening one object came to.
pub(crate) enum FetchResult {
    /// Fetched and opened.
    Opened {
        plain: Uint8Array,
        bytes: u64,
        /// When the GET went out, when its last byte came, and when it was opened (opening
        /// took `opened_at - done_at`; [`platform::now_ms`] of the thread that opened it: a
        /// worker's result is converted to the page's clock).
        sent_at: f64,
        done_at: f64,
        opened_at: f64,
    },
    /// Arrived, but failed authentication (or had another size than listed).
    Corrupt,
    /// No object: the transport failed or the store answered another status (the engine
    /// decides what that means).
    Failed(FetchFailure),
}

const NETWORK: FetchResult = FetchResult::Failed(FetchFailure::Network);

/// Where an object was fetched and opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenedBy {
    /// In the player's worker.
    Worker,
    /// On the page's thread, before the worker was started.
    PageBeforeWorker,
    /// On the page's thread: there is no worker (any more).
    Page,
}

/// One object to fetch and open.
pub(crate) struct FetchJob {
    pub url: String,
    pub track_id: String,
    pub kind: ObjectKind,
    pub index: u32,
    /// The size the manifest lists.
    pub size: u64,
    /// The nonce the manifest lists: the object opens only if it carries it.
    pub nonce: ObjectNonce,
}

/// Fetches and opens the objects of one package, in the worker while it lives.
pub(crate) struct Opener {
    local: Rc<ObjectCipher>,
    remote: Option<Remote>,
}

impl Opener {
    /// Opens on the page's thread with `local`, or in `remote` once its worker has started
    /// ([`Opener::start_worker`]); `remote` is handed the key now and keeps it for the worker.
    pub(crate) fn new(
        local: ObjectCipher,
        remote: Option<Remote>,
        choice: EngineChoice,
        key: &ContentKey,
        asset_id: &str,
        package_id: &str,
    ) -> Self {
        if let Some(r) = &remote {
            r.send_key(choice, key, asset_id, package_id);
        }
        Self {
            local: Rc::new(local),
            remote,
        }
    }

    /// Starts the worker, if there is one to start: objects asked for from now on are opened
    /// there once it has loaded.
    pub(crate) fn start_worker(&self) {
        if let Some(r) = &self.remote {
            r.start_worker();
        }
    }

    /// `"webcrypto"` or `"wasm"`.
    pub(crate) fn engine(&self) -> &'static str {
        self.local.engine()
    }

    /// The page thread's cipher, for the session's small side objects (poster, captions).
    pub(crate) fn local(&self) -> Rc<ObjectCipher> {
        self.local.clone()
    }

    /// Fetches and opens `job`; `done` gets the outcome and whether the worker did the work.
    /// Dropping the returned [`Aborter`] cancels the fetch (a no-op once it is over).
    pub(crate) fn start(
        &self,
        job: FetchJob,
        done: impl FnOnce(FetchResult, OpenedBy) + 'static,
    ) -> Aborter {
        let (done, by) = match &self.remote {
            Some(remote) => match remote.start(&job, done) {
                Ok(aborter) => return aborter,
                Err((done, Phase::Waiting)) => (done, OpenedBy::PageBeforeWorker),
                Err((done, _)) => (done, OpenedBy::Page),
            },
            None => (Box::new(done) as Done, OpenedBy::Page),
        };
        let controller = AbortController::new().ok();
        let signal = controller.as_ref().map(AbortController::signal);
        let cipher = self.local.clone();
        // The request leaves now, not in a later microtask behind the caller's other work.
        let fetch = Fetch::send(&job.url, signal);
        spawn_local(async move {
            done(fetch.open(&job, &cipher).await, by);
        });
        Aborter::Local(controller)
    }

    /// Opens `job` from `early`, a GET of its object already under way, on the page's thread
    /// (it was sent there); otherwise as [`Opener::start`].
    pub(crate) fn adopt(
        &self,
        job: FetchJob,
        mut early: Early,
        done: impl FnOnce(FetchResult, OpenedBy) + 'static,
    ) -> Aborter {
        let by = match &self.remote {
            Some(r) if r.state.borrow().phase != Phase::Dead => OpenedBy::PageBeforeWorker,
            _ => OpenedBy::Page,
        };
        let controller = early.controller.take();
        let fetch = early.fetch.take();
        let cipher = self.local.clone();
        spawn_local(async move {
            let result = match fetch {
                Some(fetch) => fetch.open(&job, &cipher).await,
                None => NETWORK,
            };
            done(result, by);
        });
        Aborter::Local(controller)
    }
}

/// A GET of an object sent before the engine asked for it: one of the start's first objects,
/// asked for from the session's answer while the key and the manifest are opened. The engine's
/// fetch of the same object takes it over ([`Opener::adopt`]); dropped unadopted, it is aborted.
pub(crate) struct Early {
    fetch: Option<Fetch>,
    controller: Option<AbortController>,
}

impl Early {
    /// Sends the GET of `url` now.
    pub(crate) fn send(url: &str) -> Self {
        let controller = AbortController::new().ok();
        let signal = controller.as_ref().map(AbortController::signal);
        Self {
            fetch: Some(Fetch::send(url, signal)),
            controller,
        }
    }

    /// A GET the page's JavaScript sent at `started` (`performance.now()`), as [`platform::send`]
    /// would have (`no-store`, aborted by `controller`).
    pub(crate) fn sent(sent: js_sys::Promise, controller: AbortController, started: f64) -> Self {
        Self {
            fetch: Some(Fetch {
                sent: Some(sent),
                started,
            }),
            controller: Some(controller),
        }
    }
}

impl Drop for Early {
    fn drop(&mut self) {
        if let Some(c) = self.controller.take() {
            c.abort();
        }
    }
}

/// Cancels a fetch when dropped.
pub(crate) enum Aborter {
    Local(Option<AbortController>),
    Remote {
        state: Weak<RefCell<State>>,
        id: u32,
    },
}

impl Drop for Aborter {
    fn drop(&mut self) {
        match self {
            Aborter::Local(controller) => {
                if let Some(c) = controller.take() {
                    c.abort();
                }
            }
            Aborter::Remote { state, id } => {
                let Some(state) = state.upgrade() else { return };
                let mut s = state.borrow_mut();
                // Over already: nothing to cancel, nothing to tell the worker.
                if s.pending.remove(id).is_some() {
                    let msg = message(&[("t", "abort".into()), ("id", (*id).into())]);
                    s.post(msg);
                }
            }
        }
    }
}

type Done = Box<dyn FnOnce(FetchResult, OpenedBy)>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not started yet (see [`Remote::start_worker`]): objects are opened on the page's thread,
    /// and messages wait in the backlog.
    Waiting,
    /// Loading; messages wait in the backlog (a module worker can miss messages that arrive
    /// before its listener exists).
    Starting,
    Ready,
    /// Given up: objects are opened on the page's thread.
    Dead,
}

/// What the worker's event listeners share with the player's side.
pub(crate) struct State {
    /// Once started.
    worker: Option<Worker>,
    phase: Phase,
    backlog: Vec<JsValue>,
    /// By id: when the page asked (its clock), and whom to tell.
    pending: HashMap<u32, (f64, Done)>,
    next_id: u32,
}

impl State {
    fn post(&mut self, msg: JsValue) {
        match (self.phase, &self.worker) {
            (Phase::Waiting | Phase::Starting, _) => self.backlog.push(msg),
            (Phase::Ready, Some(worker)) => post_and_wipe(worker, &msg),
            (Phase::Ready | Phase::Dead, _) => {}
        }
    }
}

/// Posts `msg`, then overwrites the key it may carry: the worker has its own copy by then.
fn post_and_wipe(worker: &Worker, msg: &JsValue) {
    let _ = worker.post_message(msg);
    if let Ok(key) = Reflect::get(msg, &"key".into())
        && let Some(key) = key.dyn_ref::<Uint8Array>()
    {
        key.fill(0, 0, key.length());
    }
}

/// The player's worker, started on demand. Dropping it terminates the worker.
pub(crate) struct Remote {
    state: Rc<RefCell<State>>,
    /// Starts the worker (the npm package's `player-worker.js`, started by the page's
    /// JavaScript: with the literal `new Worker(new URL(...))` bundlers rewrite, or through a
    /// `blob:` module for a page on another origin than the SDK) and returns it; taken when
    /// called.
    start: RefCell<Option<js_sys::Function>>,
    listeners: RefCell<Vec<Listener>>,
}

impl Remote {
    /// A worker that `start` will start when [`Remote::start_worker`] is called; until then
    /// the page opens every object.
    pub(crate) fn new(start: js_sys::Function) -> Self {
        Self {
            state: Rc::new(RefCell::new(State {
                worker: None,
                phase: Phase::Waiting,
                backlog: Vec::new(),
                pending: HashMap::new(),
                next_id: 0,
            })),
            start: RefCell::new(Some(start)),
            listeners: RefCell::new(Vec::new()),
        }
    }

    /// Starts the worker (once; later calls do nothing). What is asked for from now on waits
    /// for it; one that cannot start is given up, and the page goes on opening objects.
    pub(crate) fn start_worker(&self) {
        let Some(start) = self.start.borrow_mut().take() else {
            return;
        };
        let started = start
            .call0(&JsValue::NULL)
            .ok()
            .and_then(|w| w.dyn_into::<Worker>().ok());
        match started.map(|worker| self.attach(worker)) {
            Some(Ok(())) => {}
            Some(Err(_)) | None => give_up(&self.state),
        }
    }

    fn attach(&self, worker: Worker) -> Result<(), SdkError> {
        let platform_error = |e: JsValue| SdkError::Platform(SdkError::describe(&e));
        // The page's compiled module goes first, outside the backlog (the worker's script waits
        // for it): the worker neither fetches nor compiles the wasm again, and finds it even
        // when the page loaded it from elsewhere (`load(url)`).
        let module = message(&[("t", "module".into()), ("module", wasm_bindgen::module())]);
        if let Err(e) = worker.post_message(&module) {
            worker.terminate();
            return Err(platform_error(e));
        }
        {
            let mut s = self.state.borrow_mut();
            s.worker = Some(worker.clone());
            s.phase = Phase::Starting;
        }
        let weak = Rc::downgrade(&self.state);
        let on_message = Listener::new(worker.unchecked_ref(), "message", move |e| {
            if let (Some(state), Ok(e)) = (weak.upgrade(), e.dyn_into::<MessageEvent>()) {
                on_message(&state, &e.data());
            }
        });
        let mut listeners = self.listeners.borrow_mut();
        listeners.push(on_message?);
        for kind in ["error", "messageerror"] {
            let weak = Rc::downgrade(&self.state);
            let listener = Listener::new(worker.unchecked_ref(), kind, move |_| {
                if let Some(state) = weak.upgrade() {
                    give_up(&state);
                }
            });
            listeners.push(listener?);
        }
        let weak = Rc::downgrade(&self.state);
        spawn_local(async move {
            platform::sleep(START_TIMEOUT_MS).await;
            if let Some(state) = weak.upgrade()
                && state.borrow().phase == Phase::Starting
            {
                give_up(&state);
            }
        });
        Ok(())
    }

    fn send_key(&self, choice: EngineChoice, key: &ContentKey, asset_id: &str, package_id: &str) {
        let msg = message(&[
            ("t", "key".into()),
            ("engine", choice.name().into()),
            ("key", Uint8Array::from(&key.as_bytes()[..]).into()),
            ("asset", asset_id.into()),
            ("package", package_id.into()),
        ]);
        self.state.borrow_mut().post(msg);
    }

    /// Hands `job` to the worker; gives `done` back, with the phase, when the worker has been
    /// given up or is not started yet (what the first frame waits for is not held back behind
    /// the worker's start).
    fn start(
        &self,
        job: &FetchJob,
        done: impl FnOnce(FetchResult, OpenedBy) + 'static,
    ) -> Result<Aborter, (Done, Phase)> {
        let mut s = self.state.borrow_mut();
        match s.phase {
            phase @ (Phase::Dead | Phase::Waiting) => return Err((Box::new(done), phase)),
            Phase::Starting | Phase::Ready => {}
        }
        let id = s.next_id;
        s.next_id = s.next_id.wrapping_add(1);
        s.pending.insert(id, (platform::now_ms(), Box::new(done)));
        let msg = message(&[
            ("t", "fetch".into()),
            ("id", id.into()),
            ("url", job.url.as_str().into()),
            ("track", job.track_id.as_str().into()),
            ("kind", kind_name(job.kind).into()),
            ("index", job.index.into()),
            ("size", (job.size as f64).into()),
            ("nonce", hex::encode(job.nonce.0).into()),
        ]);
        s.post(msg);
        Ok(Aborter::Remote {
            state: Rc::downgrade(&self.state),
            id,
        })
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        let mut s = self.state.borrow_mut();
        s.phase = Phase::Dead;
        if let Some(w) = &s.worker {
            w.terminate();
        }
    }
}

fn on_message(state: &Rc<RefCell<State>>, data: &JsValue) {
    match get_str(data, "t").as_deref() {
        Some("ready") => {
            let mut s = state.borrow_mut();
            if s.phase != Phase::Starting {
                return;
            }
            s.phase = Phase::Ready;
            if let Some(worker) = s.worker.clone() {
                for msg in std::mem::take(&mut s.backlog) {
                    post_and_wipe(&worker, &msg);
                }
            }
        }
        Some("done") => {
            let id = get_f64(data, "id") as u32;
            let done = state.borrow_mut().pending.remove(&id);
            if let Some((asked, done)) = done {
                done(decode_result(data, asked), OpenedBy::Worker);
            }
        }
        // `keyfailed` (it could not use the key) or `failed` (it broke): it is of no use.
        _ => give_up(state),
    }
}

/// Stops using the worker: what it had in flight fails as a network error the engine retries,
/// on the page's thread this time.
fn give_up(state: &Rc<RefCell<State>>) {
    let pending = {
        let mut s = state.borrow_mut();
        if s.phase == Phase::Dead {
            return;
        }
        s.phase = Phase::Dead;
        s.backlog.clear();
        if let Some(w) = &s.worker {
            w.terminate();
        }
        std::mem::take(&mut s.pending)
    };
    for (_, (_, done)) in pending {
        done(NETWORK, OpenedBy::Page);
    }
}

/// Serves the page's player from inside its worker (`player-worker.js` calls this once the
/// wasm is loaded). Runs as long as the worker does.
#[doc(hidden)]
#[wasm_bindgen(js_name = serveOpener)]
pub async fn serve_opener() -> Result<(), SdkError> {
    let scope: DedicatedWorkerGlobalScope = js_sys::global()
        .dyn_into()
        .map_err(|_| SdkError::Platform("serveOpener runs in a dedicated worker".into()))?;
    let (tx, mut rx) = unbounded::<JsValue>();
    let _listener = Listener::new(scope.unchecked_ref(), "message", move |e| {
        if let Ok(e) = e.dyn_into::<MessageEvent>() {
            let _ = tx.unbounded_send(e.data());
        }
    })?;
    let _ = scope.post_message(&message(&[("t", "ready".into())]));
    let mut cipher: Option<Rc<ObjectCipher>> = None;
    // The fetches under way, by id; an entry is removed when its fetch is aborted.
    let aborts: Rc<RefCell<HashMap<u32, Option<AbortController>>>> = Rc::default();
    // One message at a time: a fetch that follows the key finds it imported.
    while let Some(data) = rx.next().await {
        match get_str(&data, "t").as_deref() {
            Some("key") => {
                cipher = worker_cipher(&data).await.ok().map(Rc::new);
                if cipher.is_none() {
                    let _ = scope.post_message(&message(&[("t", "keyfailed".into())]));
                }
            }
            Some("fetch") => {
                let id = get_f64(&data, "id") as u32;
                let kind = parse_kind(&get_str(&data, "kind").unwrap_or_default()).ok();
                let nonce = ObjectNonce::parse(&get_str(&data, "nonce").unwrap_or_default());
                let (Some(kind), Some(nonce)) = (kind, nonce) else {
                    // No request could be made of it: status 0, which nothing retries.
                    post_result(&scope, id, FetchResult::Failed(FetchFailure::Status(0)));
                    continue;
                };
                let job = FetchJob {
                    url: get_str(&data, "url").unwrap_or_default(),
                    track_id: get_str(&data, "track").unwrap_or_default(),
                    kind,
                    index: get_f64(&data, "index") as u32,
                    size: get_f64(&data, "size") as u64,
                    nonce,
                };
                let controller = AbortController::new().ok();
                let signal = controller.as_ref().map(AbortController::signal);
                aborts.borrow_mut().insert(id, controller);
                let (scope, aborts, cipher) = (scope.clone(), aborts.clone(), cipher.clone());
                spawn_local(async move {
                    let result = match &cipher {
                        Some(cipher) => fetch_and_open(&job, signal, cipher).await,
                        None => NETWORK,
                    };
                    // Aborted: the page no longer waits for it.
                    if aborts.borrow_mut().remove(&id).is_some() {
                        post_result(&scope, id, result);
                    }
                });
            }
            Some("abort") => {
                let id = get_f64(&data, "id") as u32;
                if let Some(Some(c)) = aborts.borrow_mut().remove(&id) {
                    c.abort();
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The cipher a `key` message describes; the message's copy of the key is wiped.
async fn worker_cipher(data: &JsValue) -> Result<ObjectCipher, SdkError> {
    let bytes: Uint8Array = Reflect::get(data, &"key".into())
        .ok()
        .and_then(|k| k.dyn_into().ok())
        .ok_or_else(|| SdkError::InvalidArgument("no key".into()))?;
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.length() != 32 {
        return Err(SdkError::InvalidArgument(
            "content key must be 32 bytes".into(),
        ));
    }
    bytes.copy_to(&mut key[..]);
    bytes.fill(0, 0, 32);
    let choice = EngineChoice::parse(get_str(data, "engine"))?;
    ObjectCipher::new(
        choice,
        &ContentKey::from_bytes(*key),
        &get_str(data, "asset").unwrap_or_default(),
        &get_str(data, "package").unwrap_or_default(),
    )
    .await
}

fn post_result(scope: &DedicatedWorkerGlobalScope, id: u32, result: FetchResult) {
    let (t, id) = (("t", "done".into()), ("id", id.into()));
    let _ = match result {
        FetchResult::Opened {
            plain,
            bytes,
            sent_at,
            done_at,
            opened_at,
        } => {
            let buffer = plain.buffer();
            // Since the epoch: the page counts from its own time origin.
            let origin = platform::time_origin();
            let msg = message(&[
                t,
                id,
                ("r", "opened".into()),
                ("plain", plain.into()),
                ("bytes", (bytes as f64).into()),
                ("sentAt", (origin + sent_at).into()),
                ("doneAt", (origin + done_at).into()),
                ("openedAt", (origin + opened_at).into()),
            ]);
            // Transferred, not copied: the worker keeps no plaintext.
            scope.post_message_with_transfer(&msg, &Array::of1(&buffer))
        }
        FetchResult::Corrupt => scope.post_message(&message(&[t, id, ("r", "corrupt".into())])),
        FetchResult::Failed(failure) => {
            let status = match failure {
                FetchFailure::Network => JsValue::NULL,
                FetchFailure::Status(s) => s.into(),
            };
            scope.post_message(&message(&[
                t,
                id,
                ("r", "failed".into()),
                ("status", status),
            ]))
        }
    };
}

/// The worker's report of a fetch the page asked for at `asked`.
fn decode_result(data: &JsValue, asked: f64) -> FetchResult {
    match get_str(data, "r").as_deref() {
        Some("opened") => {
            match Reflect::get(data, &"plain".into()).map(JsCast::dyn_into::<Uint8Array>) {
                Ok(Ok(plain)) => {
                    // On the page's clock, and within what the page saw: the two time origins
                    // are each rounded, and a clock's rate can be adjusted between them.
                    let (origin, now) = (platform::time_origin(), platform::now_ms());
                    // Each within what comes before it and `now`; a time missing is its bound
                    // (a GET sent when the page asked, done and opened as the report came).
                    let within = |field: &str, from: f64, missing: f64| match get_f64(data, field)
                        - origin
                    {
                        t if t.is_finite() => t.clamp(from, now.max(from)),
                        _ => missing,
                    };
                    let sent_at = within("sentAt", asked, asked);
                    let done_at = within("doneAt", sent_at, now.max(sent_at));
                    FetchResult::Opened {
                        plain,
                        bytes: get_f64(data, "bytes") as u64,
                        sent_at,
                        done_at,
                        opened_at: within("openedAt", done_at, now.max(done_at)),
                    }
                }
                _ => NETWORK,
            }
        }
        Some("corrupt") => FetchResult::Corrupt,
        Some("failed") => match Reflect::get(data, &"status".into())
            .ok()
            .and_then(|v| v.as_f64())
        {
            Some(status) => FetchResult::Failed(FetchFailure::Status(status as u16)),
            None => NETWORK,
        },
        _ => NETWORK,
    }
}

fn message(fields: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in fields {
        let _ = Reflect::set(&o, &(*k).into(), v);
    }
    o.into()
}

fn get_str(data: &JsValue, field: &str) -> Option<String> {
    Reflect::get(data, &field.into()).ok()?.as_string()
}

fn get_f64(data: &JsValue, field: &str) -> f64 {
    Reflect::get(data, &field.into())
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(f64::NAN)
}

/// Fetches `job.url` and opens it as `job`'s object. `signal` aborts the fetch.
pub(crate) async fn fetch_and_open(
    job: &FetchJob,
    signal: Option<AbortSignal>,
    cipher: &ObjectCipher,
) -> FetchResult {
    Fetch::send(&job.url, signal).open(job, cipher).await
}

/// A GET of an object, on its way.
struct Fetch {
    sent: Option<js_sys::Promise>,
    started: f64,
}

impl Fetch {
    /// Sends the GET of `url` now; `signal` aborts it.
    fn send(url: &str, signal: Option<AbortSignal>) -> Self {
        let init = platform::no_store();
        if let Some(s) = &signal {
            let _ = Reflect::set(&init, &"signal".into(), s);
        }
        Self {
            started: platform::now_ms(),
            sent: platform::send(url, &init).ok(),
        }
    }

    /// What the GET brought, opened as `job`'s object.
    async fn open(self, job: &FetchJob, cipher: &ObjectCipher) -> FetchResult {
        let Some(sent) = self.sent else {
            return NETWORK;
        };
        let Ok(response) = platform::response(sent).await else {
            return NETWORK;
        };
        let status = response.status();
        if status != 200 {
            return FetchResult::Failed(FetchFailure::Status(status));
        }
        let Ok(promise) = response.array_buffer() else {
            return NETWORK;
        };
        let Ok(buf) = JsFuture::from(promise).await else {
            return NETWORK;
        };
        let done_at = platform::now_ms();
        let sealed = Uint8Array::new(&buf);
        let bytes = u64::from(sealed.length());
        // A length other than the manifest's is treated like a failed open (format.md §14.5.4).
        if bytes != job.size {
            return FetchResult::Corrupt;
        }
        match cipher
            .open(&job.track_id, job.kind, job.index, &job.nonce, &sealed)
            .await
        {
            Ok(plain) => FetchResult::Opened {
                plain,
                bytes,
                sent_at: self.started,
                done_at,
                opened_at: platform::now_ms(),
            },
            Err(_) => FetchResult::Corrupt,
        }
    }
}
