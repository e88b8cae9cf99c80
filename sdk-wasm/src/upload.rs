//! The browser driver of the core's upload engine: it performs the I/O that
//! [`cinelock_core::upload::Upload`] asks for (read and seal a part, ask the server for part
//! URLs, PUT to S3, complete, abort) and feeds the outcomes back. Every decision (what next,
//! retries, backoff, concurrency, resume) is the engine's.
//!
//! One loop owns the engine. I/O runs in spawned futures that report through one channel, and
//! so do the page's pause/resume/abort calls and the backoff timers, so the engine is never
//! touched from two places. A sealed part stays in memory only until its PUT succeeds, and the
//! engine allows at most `max_parallel + seal_ahead` such parts: memory is flat whatever the
//! file size.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use cinelock_contract::events::UploadEvent;
use cinelock_contract::retryable_status;
use cinelock_contract::uploads::{
    CompleteRequest, PartChecksumView, PlanView, SignRequest, SignedParts, UploadStatus, UploadView,
};
use cinelock_core::upload::{
    Action, ChecksumAlgorithm, CompleteFailure, Event, ListedPart, PartChecksum, PartSpec,
    PutFailure, SignedPart, Upload, UploadConfig, completed_parts, done_parts,
};
use cinelock_core::{HEADER_LEN, RecipientPublicKey, SEED_LEN, SealSeed};
use futures_channel::mpsc::{UnboundedSender, unbounded};
use futures_util::StreamExt;
use futures_util::future::{AbortHandle, abortable};
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{AbortSignal, Blob, Response};

use crate::engine::{Direction, Engine, EngineChoice};
use crate::io::{Grid, Sink, Source, transform};
use crate::platform::platform_error;
use crate::put::PutRequest;
use crate::spool::SpoolBook;
use crate::upload_slots::{Seat, borrow_buffer, return_buffer};
use crate::{SdkError, platform};

/// What the page passes to [`start_upload`] (the server's create response, plus resume state).
/// An upload's rehearsal (`crate::warm_upload`) writes one, and passes it as the page does.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Options {
    pub(crate) endpoint: String,
    pub(crate) upload_id: String,
    /// The asset the upload was created for: the context the stream is sealed for, so the
    /// workers open it as this asset's and no other's.
    pub(crate) asset_id: String,
    pub(crate) token: String,
    pub(crate) plan: PlanView,
    /// The checksum the upload's parts carry (an answer from a server before it names none).
    #[serde(default = "PartChecksumView::unnamed")]
    pub(crate) part_checksum: PartChecksumView,
    pub(crate) recipient_public_key: String,
    /// 71 random bytes (a plain array), kept by the page for resuming: the same seed reseals
    /// identical bytes, so a part sent again is the same part.
    pub(crate) seed: Vec<u8>,
    /// The ETags of the parts the page recorded as done, by part number.
    #[serde(default)]
    pub(crate) recorded: HashMap<String, String>,
    /// Whether to ask the store which parts it holds (a resumed upload) before starting.
    #[serde(default)]
    pub(crate) reconcile: bool,
    pub(crate) max_parallel: Option<usize>,
    pub(crate) stall_timeout_ms: Option<u64>,
    pub(crate) engine: Option<String>,
}

/// The engine's knobs for a browser upload or recording: the page's `maxParallel` (4 unless
/// set, 1–16) and `stallTimeoutMs`, and the upload's part checksum.
pub(crate) fn upload_config(
    max_parallel: Option<usize>,
    stall_timeout_ms: Option<u64>,
    part_checksum: PartChecksumView,
) -> UploadConfig {
    UploadConfig {
        max_parallel: max_parallel.unwrap_or(4).clamp(1, 16),
        part_checksum: part_checksum.into(),
        ..UploadConfig::default()
    }
    .with_stall(stall_timeout_ms)
}

/// Messages into the loop that owns the engine.
pub(crate) enum Msg {
    Sealed {
        number: u32,
        /// What the PUT sends: a Blob of the sealed bytes, or a spooled (disk-backed) Blob.
        body: Blob,
        /// The buffer the part was sealed in, free again: the Blob holds a copy.
        spent: Option<Uint8Array>,
        len: u64,
        checksum: PartChecksum,
    },
    SealFailed(SdkError),
    Signed(Vec<(SignedPart, Vec<(String, String)>)>),
    SignFailed {
        retryable: bool,
    },
    Put {
        number: u32,
        attempt: u32,
        result: Result<String, PutFailure>,
    },
    /// Bytes of a PUT sent so far.
    PutProgress {
        number: u32,
        attempt: u32,
        sent: u64,
    },
    Completed(Result<(), CompleteFailure>),
    Timer,
    Pause,
    Resume,
    Abort,
    /// A growing stream now holds this many plaintext bytes (`ended`: and no more).
    Available {
        len: u64,
        ended: bool,
    },
    /// The upload's shares of the PUT and sealing slots changed ([`Seat`]).
    Share,
}

/// Where parts' sealed bytes come from.
pub(crate) enum PartSource {
    /// A file, sealed part by part on demand.
    File {
        file: Blob,
        recipient: RecipientPublicKey,
        seed: [u8; SEED_LEN],
        choice: EngineChoice,
    },
    /// A recording's spool, which its sealer filled already.
    Spool(Rc<SpoolBook>),
}

/// What the driver tells its owner: the engine's events, as they come.
pub(crate) type EventSink = Box<dyn Fn(&Event)>;

/// A running upload, as the page sees it.
#[wasm_bindgen]
pub struct UploadTask {
    tx: UnboundedSender<Msg>,
    done: Promise,
}

#[wasm_bindgen]
impl UploadTask {
    /// Stops starting new work; PUTs in flight finish.
    pub fn pause(&self) {
        let _ = self.tx.unbounded_send(Msg::Pause);
    }

    /// Continues after [`UploadTask::pause`].
    pub fn resume(&self) {
        let _ = self.tx.unbounded_send(Msg::Resume);
    }

    /// Aborts the upload: the server aborts the multipart upload and the parts are deleted.
    pub fn abort(&self) {
        let _ = self.tx.unbounded_send(Msg::Abort);
    }

    /// Resolves when the upload completes; rejects with a CinelockError if it fails or is aborted.
    #[wasm_bindgen(getter)]
    pub fn done(&self) -> Promise {
        self.done.clone()
    }
}

/// Starts uploading `file`: sealed part by part, each PUT straight to S3.
/// `on_event` receives plain objects: `{type: "progress" | "partDone" | "retrying" | "paused" |
/// "resumed" | "completed" | "failed" | "aborted", ...}`.
#[wasm_bindgen(js_name = startUpload)]
pub fn start_upload(
    file: Blob,
    options: JsValue,
    on_event: Function,
) -> Result<UploadTask, SdkError> {
    let o: Options = serde_wasm_bindgen::from_value(options)
        .map_err(|e| SdkError::InvalidArgument(format!("upload options: {e}")))?;
    let seed: [u8; SEED_LEN] = o
        .seed
        .as_slice()
        .try_into()
        .map_err(|_| SdkError::InvalidArgument(format!("seed must be {SEED_LEN} bytes")))?;
    let recipient = hex::decode(&o.recipient_public_key)
        .ok()
        .and_then(|b| RecipientPublicKey::from_bytes(&b).ok())
        .ok_or_else(|| {
            SdkError::InvalidArgument(
                "recipientPublicKey must be a 32-byte X25519 key in hex".into(),
            )
        })?;
    let plan = o.plan.to_plan()?;
    if plan.plaintext_len() != file.size() as u64 {
        return Err(SdkError::InvalidArgument(format!(
            "the file has {} bytes but the upload was created for {}",
            file.size(),
            plan.plaintext_len()
        )));
    }
    let config = upload_config(o.max_parallel, o.stall_timeout_ms, o.part_checksum);
    let jitter_seed = platform::jitter_seed()?;
    let recorded: BTreeMap<u32, String> = o
        .recorded
        .into_iter()
        .filter_map(|(n, etag)| n.parse().ok().map(|n| (n, etag)))
        .collect();
    let choice = EngineChoice::parse(o.engine)?;
    let (tx, rx) = unbounded();
    let sink: EventSink = Box::new(move |event: &Event| {
        // A throwing listener must not stop the upload.
        let _ = on_event.call1(&JsValue::NULL, &platform::to_js(&UploadEvent::from(event)));
    });
    let driver = Driver::new(
        tx.clone(),
        Api::new(&o.endpoint, o.upload_id, o.token),
        PartSource::File {
            file,
            recipient,
            seed,
            choice,
        },
        o.asset_id,
        sink,
    );
    let reconcile = o.reconcile || !recorded.is_empty();
    let done = wasm_bindgen_futures::future_to_promise(async move {
        // Which parts need no PUT: the core reconciles what the page recorded with what the
        // store holds.
        let view = if reconcile {
            driver.api.view().await?
        } else {
            None
        };
        let done = match view.as_ref().map(|v| v.status) {
            Some(UploadStatus::Completed) => completed_parts(&plan, &recorded),
            // Aborted since (by another tab, or the server's reaper): nothing can continue it,
            // and the page forgets it as any aborted upload.
            Some(UploadStatus::Aborted) => return Err(JsValue::from(SdkError::Aborted)),
            _ => done_parts(&plan, &listed_parts(view.as_ref()), &recorded),
        };
        let upload = Upload::new(plan, config, jitter_seed, done)
            .map_err(|e| JsValue::from(SdkError::from(e)))?;
        driver
            .run(upload, rx)
            .await
            .map(|()| JsValue::UNDEFINED)
            .map_err(JsValue::from)
    });
    Ok(UploadTask { tx, done })
}

fn now() -> u64 {
    js_sys::Date::now() as u64
}

/// The Cinelock server's upload endpoints, for one upload.
pub(crate) struct Api {
    endpoint: String,
    upload_id: String,
    token: String,
}

/// How a file's parts are sealed: the engine and the header that leads part 1.
struct Sealing {
    engine: Rc<Engine>,
    header: Rc<[u8; HEADER_LEN]>,
}

pub(crate) struct Driver {
    tx: UnboundedSender<Msg>,
    api: Rc<Api>,
    source: PartSource,
    context: String,
    sink: EventSink,
    /// Sealed parts kept until their PUT succeeds (at most `max_parallel + seal_ahead`, the
    /// engine's limit), as Blobs.
    parts: HashMap<u32, Blob>,
    /// Headers each part's URL was signed with (the checksum).
    headers: HashMap<u32, Vec<(String, String)>>,
    /// The PUTs that are out, by part: their attempt, and the request (aborted on drop).
    puts: HashMap<u32, (u32, PutRequest)>,
    /// The seals that are out, by part: aborting one drops its reads (the stream is cancelled).
    seals: HashMap<u32, AbortHandle>,
    timer_at: Option<u64>,
    /// The completion says the stream was cut short (a recording finished after a reload).
    cut_short: bool,
    /// Its place among the uploads sharing this thread's PUT and sealing slots.
    seat: Seat,
}

/// An upload that ends (completed, failed, aborted) stops its seals as its PUTs: nothing is
/// left reading the file.
impl Drop for Driver {
    fn drop(&mut self) {
        for seal in self.seals.values() {
            seal.abort();
        }
    }
}

impl Driver {
    pub(crate) fn new(
        tx: UnboundedSender<Msg>,
        api: Api,
        source: PartSource,
        context: String,
        sink: EventSink,
    ) -> Self {
        Driver {
            seat: {
                let tx = tx.clone();
                Seat::take(move || {
                    let _ = tx.unbounded_send(Msg::Share);
                })
            },
            tx,
            api: Rc::new(api),
            source,
            context,
            sink,
            parts: HashMap::new(),
            headers: HashMap::new(),
            puts: HashMap::new(),
            seals: HashMap::new(),
            timer_at: None,
            cut_short: false,
        }
    }

    /// The completion will mark the asset as cut short.
    pub(crate) fn cut_short(mut self) -> Self {
        self.cut_short = true;
        self
    }

    /// Runs `upload` to its end, taking inputs from `rx`.
    pub(crate) async fn run(
        mut self,
        mut upload: Upload,
        mut rx: futures_channel::mpsc::UnboundedReceiver<Msg>,
    ) -> Result<(), SdkError> {
        let sealing = match &self.source {
            PartSource::File {
                recipient,
                seed,
                choice,
                ..
            } => {
                let (header, key) = recipient.seal_header(
                    upload.chunk_size(),
                    &SealSeed::from_bytes(seed),
                    self.context.as_bytes(),
                )?;
                Some(Sealing {
                    engine: Rc::new(Engine::new(*choice, &header, &key).await?),
                    header: Rc::new(header.to_bytes()),
                })
            }
            PartSource::Spool(_) => None,
        };
        loop {
            let t = now();
            // Until it asks for nothing more: what it starts changes what it and the other
            // uploads on this thread may start.
            loop {
                self.settle_shares(&mut upload);
                let mut acted = false;
                while let Some(action) = upload.poll_action(t) {
                    acted = true;
                    if matches!(action, Action::Abort) {
                        // Awaited, not spawned: the upload ends right after, and a worker
                        // running it may be terminated then; the server must hear of the abort
                        // first.
                        let _ = self.api.request("DELETE", "", None).await;
                        continue;
                    }
                    self.dispatch(action, &upload, sealing.as_ref());
                }
                if !acted {
                    break;
                }
            }
            while let Some(event) = upload.poll_event() {
                (self.sink)(&event);
                let finished =
                    matches!(event, Event::Completed | Event::Failed(_) | Event::Aborted);
                match event {
                    Event::Completed => return Ok(()),
                    Event::Failed(e) => return Err(e.into()),
                    Event::Aborted => return Err(SdkError::Aborted),
                    _ => debug_assert!(!finished),
                }
            }
            self.schedule_timer(upload.poll_timeout());
            let Some(msg) = rx.next().await else {
                return Err(SdkError::Aborted);
            };
            let t = now();
            match msg {
                Msg::Sealed {
                    number,
                    body,
                    spent,
                    len,
                    checksum,
                } => {
                    // Each part is copied into its Blob once sealed: its buffer serves the
                    // next seal of any upload on this thread.
                    if let Some(buffer) = spent {
                        return_buffer(buffer);
                    }
                    self.parts.insert(number, body);
                    upload.handle_sealed(t, number, checksum, len);
                }
                Msg::SealFailed(e) => {
                    upload.abort();
                    if upload
                        .poll_action(now())
                        .is_some_and(|a| matches!(a, Action::Abort))
                    {
                        let _ = self.api.request("DELETE", "", None).await;
                    }
                    return Err(e);
                }
                Msg::Signed(parts) => {
                    let mut signed = Vec::with_capacity(parts.len());
                    for (part, headers) in parts {
                        self.headers.insert(part.number, headers);
                        signed.push(part);
                    }
                    upload.handle_signed(t, signed);
                }
                Msg::SignFailed { retryable } => upload.handle_sign_failed(t, retryable),
                Msg::PutProgress {
                    number,
                    attempt,
                    sent,
                } => upload.handle_put_progress(t, number, attempt, sent),
                Msg::Put {
                    number,
                    attempt,
                    result,
                } => {
                    // A cancelled attempt's late answer changes nothing (the engine ignores
                    // it too): the part's bytes stay for the PUT after the resume.
                    let current = self.puts.get(&number).is_some_and(|(a, _)| *a == attempt);
                    if current {
                        self.puts.remove(&number);
                    }
                    if current && result.is_ok() {
                        self.parts.remove(&number);
                        self.seals.remove(&number);
                        if let PartSource::Spool(book) = &self.source {
                            let book = book.clone();
                            spawn_local(async move { book.part_sent(number).await });
                        }
                    }
                    upload.handle_put_result(t, number, attempt, result);
                }
                Msg::Completed(result) => upload.handle_complete_result(t, result),
                Msg::Timer => {
                    self.timer_at = None;
                    upload.handle_timeout(t);
                }
                Msg::Pause => upload.pause(t),
                Msg::Resume => upload.resume(t),
                Msg::Abort => upload.abort(),
                Msg::Available { len, ended } => upload.handle_available(t, len, ended),
                // Taken at the top of the loop.
                Msg::Share => {}
            }
        }
    }

    /// Reports what the upload uses and wants, and gives it its shares of this thread's slots,
    /// until they agree: what it may hold decides what it could seal. The others hear of theirs.
    fn settle_shares(&self, upload: &mut Upload) {
        // Its demands depend on its shares only through what it may hold (the PUT share), so
        // two rounds settle them; the bound is for safety.
        for _ in 0..4 {
            let shares = self.seat.shares(upload.demands());
            if upload.shares() == Some(shares) {
                return;
            }
            upload.set_shares(Some(shares));
        }
    }

    fn schedule_timer(&mut self, at: Option<u64>) {
        let Some(at) = at else { return };
        if self.timer_at.is_some_and(|t| t <= at) {
            return;
        }
        self.timer_at = Some(at);
        let tx = self.tx.clone();
        let delay = at.saturating_sub(now());
        spawn_local(async move {
            sleep(delay).await;
            let _ = tx.unbounded_send(Msg::Timer);
        });
    }

    fn dispatch(&mut self, action: Action, upload: &Upload, sealing: Option<&Sealing>) {
        let tx = self.tx.clone();
        let api = self.api.clone();
        match action {
            Action::Seal {
                number,
                spec,
                checksum,
            } => {
                let job = match (&self.source, sealing) {
                    (PartSource::File { file, .. }, Some(s)) => {
                        let (engine, header, file) =
                            (s.engine.clone(), s.header.clone(), file.clone());
                        let reuse = borrow_buffer();
                        futures_util::future::Either::Left(async move {
                            let (bytes, checksum) =
                                seal_part(&engine, &header, &file, &spec, checksum, reuse).await?;
                            let len = u64::from(bytes.length());
                            // Sent as a Blob: the browser streams it to the network instead of
                            // copying an array on this thread at send() (about 30 ms per 8 MiB
                            // here, docs/benchmarks.md), it lives in the browser's blob store
                            // rather than this heap, and the buffer is free for the next part.
                            let body = Blob::new_with_u8_array_sequence(&Array::of1(&bytes))
                                .map_err(platform_error)?;
                            let spent = Uint8Array::new(&bytes.buffer());
                            Ok::<_, SdkError>((body, Some(spent), len, checksum))
                        })
                    }
                    (PartSource::Spool(book), _) => {
                        let book = book.clone();
                        futures_util::future::Either::Right(async move {
                            let (blob, checksum) = book.part_body(&spec, checksum).await?;
                            let len = blob.size() as u64;
                            Ok((blob, None, len, checksum))
                        })
                    }
                    (PartSource::File { .. }, None) => unreachable!("files are sealed"),
                };
                let (job, handle) = abortable(job);
                self.seals.insert(number, handle);
                spawn_local(async move {
                    // Given up by the engine (`CancelSeal`): it hears nothing more of it.
                    let Ok(result) = job.await else { return };
                    let msg = match result {
                        Ok((body, spent, len, checksum)) => Msg::Sealed {
                            number,
                            body,
                            spent,
                            len,
                            checksum,
                        },
                        Err(e) => Msg::SealFailed(e),
                    };
                    let _ = tx.unbounded_send(msg);
                });
            }
            Action::CancelSeal { number } => {
                if let Some(seal) = self.seals.remove(&number) {
                    seal.abort();
                }
            }
            Action::RequestSignatures { parts } => {
                let body = SignRequest::for_parts(upload, &parts);
                let timeout_ms = upload.config().sign_timeout_ms;
                spawn_local(async move {
                    let msg = match api.sign(&body, timeout_ms).await {
                        Ok(signed) => Msg::Signed(signed),
                        Err(retryable) => Msg::SignFailed { retryable },
                    };
                    let _ = tx.unbounded_send(msg);
                });
            }
            Action::Put {
                number,
                attempt,
                url,
                ..
            } => {
                let Some(body) = self.parts.get(&number).cloned() else {
                    // The engine only asks to PUT sealed parts; a missing one is a driver bug.
                    let _ = tx.unbounded_send(Msg::Put {
                        number,
                        attempt,
                        result: Err(PutFailure::Status(0)),
                    });
                    return;
                };
                let headers = self.headers.get(&number).cloned().unwrap_or_default();
                let progress_tx = tx.clone();
                let progress = move |sent| {
                    let _ = progress_tx.unbounded_send(Msg::PutProgress {
                        number,
                        attempt,
                        sent,
                    });
                };
                let done_tx = tx.clone();
                let done = move |result| {
                    let _ = done_tx.unbounded_send(Msg::Put {
                        number,
                        attempt,
                        result,
                    });
                };
                match PutRequest::start(&url, &headers, &body, progress, done) {
                    Ok(request) => {
                        self.puts.insert(number, (attempt, request));
                    }
                    // The request could not even be made: a network failure to the engine.
                    Err(_) => {
                        let _ = tx.unbounded_send(Msg::Put {
                            number,
                            attempt,
                            result: Err(PutFailure::Network),
                        });
                    }
                }
            }
            Action::CancelPut { number, attempt } => {
                // Dropped: aborted.
                if self.puts.get(&number).is_some_and(|(a, _)| *a == attempt) {
                    self.puts.remove(&number);
                }
            }
            Action::Complete { parts } => {
                // A growing upload says its size (the engine's plan has it by now).
                let size = match &self.source {
                    PartSource::Spool(_) => upload.plan().map(|p| p.plaintext_len()),
                    PartSource::File { .. } => None,
                };
                let cut_short = self.cut_short;
                let timeout_ms = upload.config().complete_timeout_ms;
                spawn_local(async move {
                    let result = api.complete(&parts, size, cut_short, timeout_ms).await;
                    let _ = tx.unbounded_send(Msg::Completed(result));
                });
            }
            // Handled in `run`, which awaits it.
            Action::Abort => {}
        }
    }
}

/// Reads and seals one part into `reuse` (the buffer of a part already sent) or a fresh buffer;
/// returns the part's bytes with their `checksum`.
async fn seal_part(
    engine: &Engine,
    header: &[u8; HEADER_LEN],
    file: &Blob,
    spec: &PartSpec,
    checksum: ChecksumAlgorithm,
    reuse: Option<Uint8Array>,
) -> Result<(Uint8Array, PartChecksum), SdkError> {
    let mut sink = Sink::reusing(reuse, spec.sealed_len())?;
    if spec.includes_header {
        sink.write(&Uint8Array::from(&header[..])).await?;
    }
    let grid = Grid {
        start: spec.plaintext.start,
        stride: u64::from(engine.chunk_size()),
        count: spec.chunks.end - spec.chunks.start,
        end: spec.plaintext.end,
        first_index: spec.chunks.start,
        ends_stream: spec.last,
    };
    transform(
        engine,
        Direction::Seal,
        &Source::Blob(file.clone()),
        &grid,
        &mut sink,
    )
    .await?;
    let bytes: Uint8Array = sink.finish()?.unchecked_into();
    let checksum = platform::part_checksum(checksum, &bytes).await?;
    Ok((bytes, checksum))
}

impl Api {
    pub(crate) fn new(endpoint: &str, upload_id: String, token: String) -> Self {
        Api {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            upload_id,
            token,
        }
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<Response, JsValue> {
        self.request_within(method, path, body, None).await
    }

    /// A request aborted (rejected, like a network error) after `timeout_ms`, body included.
    async fn request_within(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        timeout_ms: Option<u64>,
    ) -> Result<Response, JsValue> {
        let init = Object::new();
        if let Some(ms) = timeout_ms {
            let ms = u32::try_from(ms).unwrap_or(u32::MAX);
            Reflect::set(&init, &"signal".into(), &AbortSignal::timeout_with_u32(ms))?;
        }
        let headers = Object::new();
        Reflect::set(
            &headers,
            &"authorization".into(),
            &format!("Bearer {}", self.token).into(),
        )?;
        if body.is_some() {
            Reflect::set(&headers, &"content-type".into(), &"application/json".into())?;
        }
        Reflect::set(&init, &"method".into(), &method.into())?;
        Reflect::set(&init, &"headers".into(), &headers)?;
        if let Some(b) = body {
            Reflect::set(&init, &"body".into(), &b.into())?;
        }
        platform::fetch(
            &format!("{}/v1/uploads/{}{path}", self.endpoint, self.upload_id),
            &init,
        )
        .await
    }

    /// Asks for URLs within `timeout_ms`; `Err(retryable)` on failure.
    async fn sign(
        &self,
        request: &SignRequest,
        timeout_ms: Option<u64>,
    ) -> Result<Vec<(SignedPart, Vec<(String, String)>)>, bool> {
        let body = serde_json::to_string(request).map_err(|_| false)?;
        let response = self
            .request_within("POST", "/sign", Some(body), timeout_ms)
            .await
            .map_err(|_| true)?;
        let status = response.status();
        if status != 200 {
            return Err(retryable_status(status));
        }
        let answer: SignedParts = read_json(&response).await.map_err(|_| true)?;
        Ok(answer.into_engine())
    }

    /// Asks the server to complete the upload, giving the request up after `timeout_ms`.
    async fn complete(
        &self,
        parts: &[(u32, String)],
        size: Option<u64>,
        cut_short: bool,
        timeout_ms: Option<u64>,
    ) -> Result<(), CompleteFailure> {
        let request = CompleteRequest::of(parts, size, cut_short);
        let body = serde_json::to_string(&request).map_err(|_| CompleteFailure::Network)?;
        match self
            .request_within("POST", "/complete", Some(body), timeout_ms)
            .await
        {
            Ok(r) if r.status() == 200 => Ok(()),
            Ok(r) => Err(CompleteFailure::Status(r.status())),
            // `AbortSignal.timeout` rejects with a DOMException named TimeoutError.
            Err(e) if platform::error_name(&e) == "TimeoutError" => Err(CompleteFailure::Timeout),
            Err(_) => Err(CompleteFailure::Network),
        }
    }

    /// The upload as the server sees it; `None` when it does not answer with it.
    pub(crate) async fn view(&self) -> Result<Option<UploadView>, SdkError> {
        let response = self
            .request("GET", "", None)
            .await
            .map_err(|e| SdkError::Network(SdkError::describe(&e)))?;
        if response.status() != 200 {
            return Ok(None);
        }
        read_json(&response).await.map(Some)
    }
}

/// The parts the store holds for an upload (what a resumed upload may skip), as `view` lists
/// them; none without a view: every part is sent (again).
pub(crate) fn listed_parts(view: Option<&UploadView>) -> Vec<ListedPart> {
    view.map(|v| {
        v.parts
            .iter()
            .map(|p| ListedPart {
                number: p.number,
                size: p.size,
                etag: p.etag.clone(),
            })
            .collect()
    })
    .unwrap_or_default()
}

/// Reads a JSON body into a contract type.
async fn read_json<T: for<'de> serde::Deserialize<'de>>(
    response: &Response,
) -> Result<T, SdkError> {
    let promise = response
        .text()
        .map_err(|e| SdkError::Platform(SdkError::describe(&e)))?;
    let text = JsFuture::from(promise)
        .await
        .map_err(|e| SdkError::Network(SdkError::describe(&e)))?
        .as_string()
        .unwrap_or_default();
    serde_json::from_str(&text)
        .map_err(|e| SdkError::server(response.status(), None, e.to_string()))
}

/// Resolves after `ms` milliseconds (window or worker).
async fn sleep(ms: u64) {
    let promise = Promise::new(&mut |resolve, _| {
        let set_timeout = Reflect::get(&js_sys::global(), &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        if let Some(f) = set_timeout {
            let _ = f.call2(&JsValue::NULL, &resolve, &JsValue::from(ms as f64));
        }
    });
    let _ = JsFuture::from(promise).await;
}
