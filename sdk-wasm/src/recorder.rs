//! The browser driver of a recording: `MediaRecorder`'s output, sealed as it comes
//! (`cinelock_core::upload::GrowingSealer`), spooled in the browser's storage ([`Spool`]) and
//! sent by the upload driver as a growing upload while the recording goes on.
//!
//! One loop owns the recording: the recorder's slices, the page's pause/resume/stop/cancel,
//! the duration timer and the upload's events all arrive through one channel. The decisions
//! are the core's: when to stop ([`Recording`]), where parts end and when one is ready
//! ([`GrowingSealer`], [`Upload::growing`]). What this module does is I/O: read slices, write
//! sealed pieces and the tail, and tell the upload how far the stream has grown.
//!
//! Memory stays flat: a slice is sealed and written to the spool, then dropped; a part's PUT
//! body is a Blob of spooled files, read from disk by the browser.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use cinelock_contract::events::{RecorderEvent, RecorderProgress, UploadRetryReason};
use cinelock_contract::uploads::{PartChecksumView, PlanView, UploadStatus};
use cinelock_core::recording::{Recording, RecordingLimits};
use cinelock_core::upload::{
    Event, GrowingPlan, GrowingSealer, Upload, UploadConfig, cut_short_end, done_parts,
};
use cinelock_core::{RecipientPublicKey, SEED_LEN, SealSeed};
use futures_channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use futures_util::StreamExt;
use js_sys::{Array, Function, Promise};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{Blob, MediaRecorder, MediaRecorderOptions, MediaStream, MediaStreamTrack};

use crate::platform::{self, Listener};
use crate::spool::{Spool, SpoolBook};
use crate::upload::{Api, Driver, Msg, PartSource, upload_config};
use crate::{SdkError, upload};

/// Formats asked of `MediaRecorder`, best first: WebM (VP9, then VP8, with Opus) is what
/// Chromium and Firefox record well; MP4 is Safari's.
const MIME_TYPES: &[&str] = &[
    "video/webm;codecs=vp9,opus",
    "video/webm;codecs=vp8,opus",
    "video/webm",
    "video/mp4;codecs=avc1,mp4a",
    "video/mp4",
];

/// What the page passes to [`start_recording`]: the growing upload its backend created, and
/// the recorder's settings.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Options {
    endpoint: String,
    upload_id: String,
    asset_id: String,
    token: String,
    plan: PlanView,
    /// The checksum the upload's parts carry (an answer from a server before it names none).
    #[serde(default = "PartChecksumView::unnamed")]
    part_checksum: PartChecksumView,
    recipient_public_key: String,
    /// 71 random bytes, kept by the page with the upload (see `upload`).
    seed: Vec<u8>,
    mime_type: Option<String>,
    timeslice_ms: Option<u32>,
    video_bits_per_second: Option<u32>,
    audio_bits_per_second: Option<u32>,
    max_duration_ms: Option<u64>,
    max_bytes: Option<u64>,
    max_parallel: Option<usize>,
    stall_timeout_ms: Option<u64>,
}

/// What the page passes to [`finish_recording`].
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FinishOptions {
    endpoint: String,
    upload_id: String,
    asset_id: String,
    token: String,
    plan: PlanView,
    /// The checksum the upload's parts carry (see [`Options`]).
    #[serde(default = "PartChecksumView::unnamed")]
    part_checksum: PartChecksumView,
    /// ETags the page recorded, by part number.
    #[serde(default)]
    recorded: HashMap<String, String>,
}

/// Messages into a recording's loop.
enum RecMsg {
    Data(Blob),
    RecorderStopped,
    RecorderFailed(String),
    SourceEnded,
    Pause,
    Resume,
    Stop,
    Cancel,
    Timer,
    Upload(Event),
    UploadDone(Result<(), SdkError>),
}

/// A recording, as the page holds it.
#[wasm_bindgen]
pub struct RecordingTask {
    tx: UnboundedSender<RecMsg>,
    done: Promise,
    mime_type: String,
}

#[wasm_bindgen]
impl RecordingTask {
    /// Pauses the recorder (what is sealed keeps uploading).
    pub fn pause(&self) {
        let _ = self.tx.unbounded_send(RecMsg::Pause);
    }

    /// Continues after [`RecordingTask::pause`].
    pub fn resume(&self) {
        let _ = self.tx.unbounded_send(RecMsg::Resume);
    }

    /// Stops recording; the rest is sealed, sent, and the upload completed.
    pub fn stop(&self) {
        let _ = self.tx.unbounded_send(RecMsg::Stop);
    }

    /// Stops and throws everything away: the upload is aborted, the spool deleted.
    pub fn cancel(&self) {
        let _ = self.tx.unbounded_send(RecMsg::Cancel);
    }

    /// The format the browser records in.
    #[wasm_bindgen(getter, js_name = mimeType)]
    pub fn mime_type(&self) -> String {
        self.mime_type.clone()
    }

    /// Resolves with the `uploaded` event's details once the recording is stored; rejects with
    /// a CinelockError if it fails or is cancelled.
    #[wasm_bindgen(getter)]
    pub fn done(&self) -> Promise {
        self.done.clone()
    }
}

fn recipient_of(hex_key: &str) -> Result<RecipientPublicKey, SdkError> {
    hex::decode(hex_key)
        .ok()
        .and_then(|b| RecipientPublicKey::from_bytes(&b).ok())
        .ok_or_else(|| {
            SdkError::InvalidArgument(
                "recipientPublicKey must be a 32-byte X25519 key in hex".into(),
            )
        })
}

fn growing_plan(plan: &PlanView) -> Result<GrowingPlan, SdkError> {
    plan.to_growing()
        .ok_or_else(|| {
            SdkError::InvalidArgument(
                "a recording needs a growing upload (created without a size)".into(),
            )
        })?
        .map_err(SdkError::from)
}

/// Starts recording `stream` into the growing upload in `options`; `on_event` receives the
/// contract's `RecorderEvent`s as plain objects.
#[wasm_bindgen(js_name = startRecording)]
pub fn start_recording(
    stream: MediaStream,
    options: JsValue,
    on_event: Function,
) -> Result<RecordingTask, SdkError> {
    let o: Options = serde_wasm_bindgen::from_value(options)
        .map_err(|e| SdkError::InvalidArgument(format!("recording options: {e}")))?;
    let seed: [u8; SEED_LEN] = o
        .seed
        .as_slice()
        .try_into()
        .map_err(|_| SdkError::InvalidArgument(format!("seed must be {SEED_LEN} bytes")))?;
    let recipient = recipient_of(&o.recipient_public_key)?;
    let plan = growing_plan(&o.plan)?;
    let (header, key) = recipient.seal_header(
        plan.chunk_size(),
        &SealSeed::from_bytes(&seed),
        o.asset_id.as_bytes(),
    )?;
    let sealer = GrowingSealer::new(&header, &key, plan)?;
    let mime_type = match &o.mime_type {
        Some(m) if MediaRecorder::is_type_supported(m) => m.clone(),
        Some(m) => {
            return Err(SdkError::Recorder(format!(
                "this browser cannot record {m}"
            )));
        }
        None => MIME_TYPES
            .iter()
            .find(|m| MediaRecorder::is_type_supported(m))
            .map(|m| (*m).to_owned())
            .ok_or_else(|| SdkError::Recorder("this browser records no known format".into()))?,
    };
    let opts = MediaRecorderOptions::new();
    opts.set_mime_type(&mime_type);
    if let Some(v) = o.video_bits_per_second {
        opts.set_video_bits_per_second(v);
    }
    if let Some(a) = o.audio_bits_per_second {
        opts.set_audio_bits_per_second(a);
    }
    let recorder = MediaRecorder::new_with_media_stream_and_media_recorder_options(&stream, &opts)
        .map_err(|e| SdkError::Recorder(SdkError::describe(&e)))?;
    let (tx, rx) = unbounded();
    let listeners = listen(&recorder, &stream, &tx)?;
    let timeslice = o.timeslice_ms.unwrap_or(1000).clamp(100, 10_000);
    recorder
        .start_with_time_slice(timeslice as i32)
        .map_err(|e| SdkError::Recorder(SdkError::describe(&e)))?;
    let limits = RecordingLimits {
        max_duration_ms: o.max_duration_ms,
        max_bytes: o.max_bytes,
    };
    let ids = (o.upload_id.clone(), o.asset_id.clone());
    let config = upload_config(o.max_parallel, o.stall_timeout_ms, o.part_checksum);
    let api = Api::new(&o.endpoint, o.upload_id.clone(), o.token.clone());
    let tx2 = tx.clone();
    let actual_mime = recorder.mime_type();
    let mime_type = if actual_mime.is_empty() {
        mime_type
    } else {
        actual_mime
    };
    let session = Session {
        tx: tx.clone(),
        on_event,
        clock: Recording::new(limits),
        acked_bytes: 0,
        sealed_bytes: 0,
        timer_at: None,
    };
    let done = wasm_bindgen_futures::future_to_promise(async move {
        let result = session
            .record(
                recorder, stream, listeners, sealer, plan, config, api, ids, rx, tx2,
            )
            .await;
        result.map_err(JsValue::from)
    });
    Ok(RecordingTask {
        tx,
        done,
        mime_type,
    })
}

/// Listens to the recorder and the stream's tracks; the listeners go when dropped.
fn listen(
    recorder: &MediaRecorder,
    stream: &MediaStream,
    tx: &UnboundedSender<RecMsg>,
) -> Result<Vec<Listener>, SdkError> {
    let mut listeners = Vec::new();
    let t = tx.clone();
    listeners.push(Listener::new(recorder, "dataavailable", move |e| {
        if let Some(blob) = e
            .dyn_ref::<web_sys::BlobEvent>()
            .and_then(web_sys::BlobEvent::data)
        {
            let _ = t.unbounded_send(RecMsg::Data(blob));
        }
    })?);
    let t = tx.clone();
    listeners.push(Listener::new(recorder, "stop", move |_| {
        let _ = t.unbounded_send(RecMsg::RecorderStopped);
    })?);
    let t = tx.clone();
    listeners.push(Listener::new(recorder, "error", move |e| {
        let _ = t.unbounded_send(RecMsg::RecorderFailed(SdkError::describe(&e)));
    })?);
    // "Stop sharing" in the browser's bar, or a camera unplugged, ends a track.
    for track in stream.get_tracks().iter() {
        let track: MediaStreamTrack = track.unchecked_into();
        let t = tx.clone();
        listeners.push(Listener::new(&track, "ended", move |_| {
            let _ = t.unbounded_send(RecMsg::SourceEnded);
        })?);
    }
    Ok(listeners)
}

struct Session {
    tx: UnboundedSender<RecMsg>,
    on_event: Function,
    clock: Recording,
    acked_bytes: u64,
    sealed_bytes: u64,
    timer_at: Option<u64>,
}

fn now() -> u64 {
    js_sys::Date::now() as u64
}

/// The upload's events as the recording's; `None` for those it reports itself.
fn recorder_event(event: &Event) -> Option<RecorderEvent> {
    match event {
        Event::PartDone { number, etag } => Some(RecorderEvent::PartDone {
            number: *number,
            etag: etag.clone(),
        }),
        Event::Retrying {
            delay_ms, reason, ..
        } => Some(RecorderEvent::Retrying {
            delay_ms: *delay_ms,
            reason: UploadRetryReason::of(reason).0,
        }),
        _ => None,
    }
}

/// Starts the upload driver on the spool; its events and its end come back through `tx`.
fn spawn_upload(
    api: Api,
    book: Rc<SpoolBook>,
    context: String,
    upload: Upload,
    cut_short: bool,
    tx: UnboundedSender<RecMsg>,
) -> UnboundedSender<Msg> {
    let (up_tx, up_rx) = unbounded();
    let events = tx.clone();
    let sink: upload::EventSink = Box::new(move |e: &Event| {
        let _ = events.unbounded_send(RecMsg::Upload(e.clone()));
    });
    let mut driver = Driver::new(up_tx.clone(), api, PartSource::Spool(book), context, sink);
    if cut_short {
        driver = driver.cut_short();
    }
    spawn_local(async move {
        let result = driver.run(upload, up_rx).await;
        let _ = tx.unbounded_send(RecMsg::UploadDone(result));
    });
    up_tx
}

impl Session {
    fn emit(&self, event: &RecorderEvent) {
        // A throwing listener must not stop the recording.
        let _ = self.on_event.call1(&JsValue::NULL, &platform::to_js(event));
    }

    fn progress(&self) {
        let t = now();
        self.emit(&RecorderEvent::Progress(RecorderProgress {
            elapsed_ms: self.clock.elapsed_ms(t),
            recorded_bytes: self.clock.bytes(),
            sealed_bytes: self.sealed_bytes,
            uploaded_bytes: self.acked_bytes,
            backlog_bytes: self.sealed_bytes.saturating_sub(self.acked_bytes),
        }));
    }

    fn schedule_timer(&mut self) {
        let Some(at) = self.clock.poll_timeout() else {
            return;
        };
        if self.timer_at == Some(at) {
            return;
        }
        self.timer_at = Some(at);
        let tx = self.tx.clone();
        spawn_local(async move {
            platform::sleep(at.saturating_sub(now()) as f64).await;
            let _ = tx.unbounded_send(RecMsg::Timer);
        });
    }

    /// Writes what the sealer produced to the spool, with the tail, then tells the upload.
    async fn spool(
        &mut self,
        book: &SpoolBook,
        sealer: &GrowingSealer,
        appends: Vec<cinelock_core::upload::Append>,
        tail_before: u64,
    ) -> Result<(), SdkError> {
        self.sealed_bytes += book.append(appends).await?;
        let sealed = sealer.sealed_chunks();
        if sealed > tail_before {
            // The newest chunk's last-flagged twin, for a recording cut short; the older one goes.
            book.spool()
                .write(&format!("tail-{:010}", sealed - 1), sealer.tail())
                .await?;
            if tail_before > 0 {
                book.spool()
                    .remove(&format!("tail-{:010}", tail_before - 1))
                    .await;
            }
            if let Some(part) = sealer.tail_part() {
                book.keep_from(part).await;
            }
        }
        Ok(())
    }

    /// Seals the rest as the stream's end, spools it, and tells the upload the stream ended.
    async fn end_stream(
        &mut self,
        book: &SpoolBook,
        sealer: GrowingSealer,
    ) -> Result<u64, SdkError> {
        let (appends, plan) = sealer.finish()?;
        self.sealed_bytes += book.append(appends).await?;
        // After a reload this says the recording ended normally, not cut short.
        book.spool()
            .write(&format!("end-{}", plan.plaintext_len()), &[])
            .await?;
        book.keep_from(plan.part_count()).await;
        Ok(plan.plaintext_len())
    }

    #[allow(clippy::too_many_arguments)]
    async fn record(
        mut self,
        recorder: MediaRecorder,
        stream: MediaStream,
        listeners: Vec<Listener>,
        sealer: GrowingSealer,
        plan: GrowingPlan,
        config: UploadConfig,
        api: Api,
        (upload_id, asset_id): (String, String),
        mut rx: UnboundedReceiver<RecMsg>,
        tx: UnboundedSender<RecMsg>,
    ) -> Result<JsValue, SdkError> {
        let spool = Spool::open(&upload_id).await;
        let book = Rc::new(SpoolBook::new(spool.clone()));
        let upload = Upload::growing(plan, config, platform::jitter_seed()?, [])?;
        let up_tx = spawn_upload(api, book.clone(), asset_id.clone(), upload, false, tx);
        let stop_tracks = || {
            for track in stream.get_tracks().iter() {
                track.unchecked_into::<MediaStreamTrack>().stop();
            }
        };
        self.clock.handle_started(now());
        self.emit(&RecorderEvent::Started {
            mime_type: recorder.mime_type(),
            persistent: spool.persistent(),
        });
        let mut sealer = Some(sealer);
        let mut cancelled = false;
        let mut failure: Option<SdkError> = None;
        let mut plaintext_len = 0u64;
        let mut listeners = Some(listeners);
        loop {
            if self.clock.poll_stop(now()).is_some()
                && recorder.state() != web_sys::RecordingState::Inactive
            {
                // The recorder hands over its last slice, then says it stopped.
                let _ = recorder.stop();
            }
            self.schedule_timer();
            let Some(msg) = rx.next().await else {
                return Err(SdkError::Aborted);
            };
            match msg {
                RecMsg::Data(blob) => {
                    let Some(s) = sealer.as_mut().filter(|_| !cancelled && failure.is_none())
                    else {
                        continue;
                    };
                    let bytes = platform::read_blob(&blob).await?.to_vec();
                    self.clock.handle_data(bytes.len() as u64);
                    let tail_before = s.sealed_chunks();
                    let step = match s.push(&bytes) {
                        Ok(appends) => self.spool(&book, s, appends, tail_before).await,
                        Err(e) => Err(e.into()),
                    };
                    match step {
                        Ok(()) => {
                            let _ = up_tx.unbounded_send(Msg::Available {
                                len: s.plaintext_len(),
                                ended: false,
                            });
                            self.progress();
                        }
                        Err(e) => {
                            failure = Some(e);
                            self.clock.handle_stop();
                            let _ = up_tx.unbounded_send(Msg::Abort);
                        }
                    }
                }
                RecMsg::RecorderStopped => {
                    let t = now();
                    self.clock.handle_stopped(t);
                    stop_tracks();
                    let Some(s) = sealer.take().filter(|_| !cancelled && failure.is_none()) else {
                        continue;
                    };
                    self.emit(&RecorderEvent::Stopped {
                        reason: self
                            .clock
                            .stop_reason()
                            .unwrap_or(cinelock_core::recording::StopReason::Requested)
                            .into(),
                        elapsed_ms: self.clock.elapsed_ms(t),
                        recorded_bytes: self.clock.bytes(),
                    });
                    match self.end_stream(&book, s).await {
                        Ok(len) => {
                            plaintext_len = len;
                            let _ = up_tx.unbounded_send(Msg::Available { len, ended: true });
                            self.progress();
                        }
                        Err(e) => {
                            failure = Some(e);
                            let _ = up_tx.unbounded_send(Msg::Abort);
                        }
                    }
                }
                RecMsg::RecorderFailed(message) => {
                    if failure.is_none() {
                        failure = Some(SdkError::Recorder(message));
                    }
                    stop_tracks();
                    let _ = up_tx.unbounded_send(Msg::Abort);
                }
                RecMsg::SourceEnded => self.clock.handle_source_ended(),
                RecMsg::Pause => {
                    if recorder.state() == web_sys::RecordingState::Recording
                        && recorder.pause().is_ok()
                    {
                        self.clock.handle_paused(now());
                        self.emit(&RecorderEvent::Paused);
                    }
                }
                RecMsg::Resume => {
                    if recorder.state() == web_sys::RecordingState::Paused
                        && recorder.resume().is_ok()
                    {
                        self.clock.handle_resumed(now());
                        self.emit(&RecorderEvent::Resumed);
                    }
                }
                RecMsg::Stop => self.clock.handle_stop(),
                RecMsg::Cancel => {
                    cancelled = true;
                    self.clock.handle_stop();
                    let _ = up_tx.unbounded_send(Msg::Abort);
                }
                RecMsg::Timer => self.timer_at = None,
                RecMsg::Upload(event) => {
                    if let Event::Progress(p) = &event {
                        self.acked_bytes = p.acked_bytes;
                        self.progress();
                    }
                    if let Some(e) = recorder_event(&event) {
                        self.emit(&e);
                    }
                }
                RecMsg::UploadDone(result) => {
                    listeners.take();
                    stop_tracks();
                    if recorder.state() != web_sys::RecordingState::Inactive {
                        let _ = recorder.stop();
                    }
                    // A failure of the recording itself aborted the upload: nothing to keep.
                    if failure.is_some() {
                        spool.destroy(&upload_id).await;
                    }
                    let outcome = match (result, failure) {
                        (_, Some(e)) => Err(e),
                        (Err(_), None) if cancelled => Err(SdkError::Aborted),
                        (Err(e), None) => Err(e),
                        (Ok(()), None) => Ok(()),
                    };
                    return finish(
                        &self.on_event,
                        outcome,
                        &spool,
                        &upload_id,
                        &asset_id,
                        plaintext_len,
                        false,
                    )
                    .await;
                }
            }
        }
    }
}

/// The end of a recording's upload: the spool goes (unless a failure leaves something to
/// finish later), and the page hears `uploaded`, `cancelled` or `failed`.
async fn finish(
    on_event: &Function,
    outcome: Result<(), SdkError>,
    spool: &Spool,
    upload_id: &str,
    asset_id: &str,
    plaintext_bytes: u64,
    cut_short: bool,
) -> Result<JsValue, SdkError> {
    let emit = |e: &RecorderEvent| {
        let _ = on_event.call1(&JsValue::NULL, &platform::to_js(e));
    };
    match outcome {
        Ok(()) => {
            spool.destroy(upload_id).await;
            let uploaded = RecorderEvent::Uploaded {
                asset_id: asset_id.to_owned(),
                upload_id: upload_id.to_owned(),
                cut_short,
                plaintext_bytes,
            };
            emit(&uploaded);
            Ok(platform::to_js(&uploaded))
        }
        Err(SdkError::Aborted) => {
            spool.destroy(upload_id).await;
            emit(&RecorderEvent::Cancelled);
            Err(SdkError::Aborted)
        }
        Err(e) => {
            emit(&RecorderEvent::Error {
                code: e.code(),
                message: e.to_string(),
            });
            Err(e)
        }
    }
}

/// Finishes a recording its page left unfinished (closed, reloaded, crashed): from what its
/// spool holds, it sends what the store lacks and completes the upload, marked cut short
/// unless the recording had stopped normally. Needs no key: the spool holds only ciphertext,
/// and the tail that ends a cut-short stream was sealed while recording.
#[wasm_bindgen(js_name = finishRecording)]
pub fn finish_recording(options: JsValue, on_event: Function) -> Result<Promise, SdkError> {
    let mut o: FinishOptions = serde_wasm_bindgen::from_value(options)
        .map_err(|e| SdkError::InvalidArgument(format!("finish options: {e}")))?;
    let growing = growing_plan(&o.plan)?;
    let recorded: BTreeMap<u32, String> = std::mem::take(&mut o.recorded)
        .into_iter()
        .filter_map(|(n, etag)| n.parse().ok().map(|n| (n, etag)))
        .collect();
    Ok(wasm_bindgen_futures::future_to_promise(async move {
        finish_spooled(o, growing, recorded, on_event)
            .await
            .map_err(JsValue::from)
    }))
}

async fn finish_spooled(
    o: FinishOptions,
    growing: GrowingPlan,
    recorded: BTreeMap<u32, String>,
    on_event: Function,
) -> Result<JsValue, SdkError> {
    {
        let spool = Spool::open(&o.upload_id).await;
        let api = Api::new(&o.endpoint, o.upload_id.clone(), o.token.clone());
        let view = api.view().await?;
        // An upload over already: completed after the tab closed but before the browser forgot
        // the recording (it is stored, as the server says), or aborted (a failed recording
        // aborts it, and nothing can finish it). Only the spool is left to go.
        let over = match view.as_ref().map(|v| (v.status, &v.asset)) {
            Some((UploadStatus::Completed, asset)) => Some((
                Ok(()),
                u64::try_from(asset.size).unwrap_or(0),
                asset.cut_short,
            )),
            Some((UploadStatus::Aborted, _)) => Some((Err(SdkError::Aborted), 0, false)),
            _ => None,
        };
        if let Some((outcome, plaintext, cut_short)) = over {
            let (upload_id, asset_id) = (&o.upload_id, &o.asset_id);
            return finish(
                &on_event, outcome, &spool, upload_id, asset_id, plaintext, cut_short,
            )
            .await;
        }
        let listing = spool.list().await?;
        let book = Rc::new(SpoolBook::new(spool.clone()));
        let (plan, cut_short) = match listing.end {
            Some(len) => (growing.finish(len)?, false),
            None => {
                let tails = listing.tails.iter().map(|(&index, (_, len))| (index, *len));
                let end = cut_short_end(&growing, tails)?.ok_or_else(|| {
                    SdkError::InvalidArgument("this browser holds nothing of that recording".into())
                })?;
                let (name, _) = &listing.tails[&end.tail_chunk];
                book.end_with_tail(end.tail_part, name.clone());
                (end.plan, true)
            }
        };
        // Every part may be needed again: nothing is deleted until the upload completes.
        book.adopt(listing.parts.clone());
        let (tx, mut rx) = unbounded();
        let done = done_parts(&plan, &upload::listed_parts(view.as_ref()), &recorded);
        let mut upload = Upload::growing(
            growing,
            upload_config(None, None, o.part_checksum),
            platform::jitter_seed()?,
            done,
        )?;
        upload.handle_available(now(), plan.plaintext_len(), true);
        let _up_tx = spawn_upload(api, book, o.asset_id.clone(), upload, cut_short, tx);
        let mut result = Err(SdkError::Aborted);
        while let Some(msg) = rx.next().await {
            match msg {
                RecMsg::Upload(event) => {
                    if let Some(e) = recorder_event(&event) {
                        let _ = on_event.call1(&JsValue::NULL, &platform::to_js(&e));
                    }
                }
                RecMsg::UploadDone(r) => {
                    result = r;
                    break;
                }
                _ => {}
            }
        }
        finish(
            &on_event,
            result,
            &spool,
            &o.upload_id,
            &o.asset_id,
            plan.plaintext_len(),
            cut_short,
        )
        .await
    }
}

/// The recordings this origin's storage holds (their upload ids): left by a closed tab.
#[wasm_bindgen(js_name = spooledRecordings)]
pub async fn spooled_recordings() -> Array {
    crate::spool::spools()
        .await
        .into_iter()
        .map(JsValue::from)
        .collect()
}

/// Deletes a recording's spool (after its upload was aborted).
#[wasm_bindgen(js_name = discardSpool)]
pub async fn discard_spool(upload_id: String) {
    Spool::open(&upload_id).await.destroy(&upload_id).await;
}
