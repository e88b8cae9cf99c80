//! The browser driver of the core's playback engine ([`cinelock_core::playback::Player`]): it
//! asks the server for a session, opens the released content key and the manifest, attaches a
//! MediaSource to the page's `<video>`, and performs what the engine asks (fetch and open sealed
//! objects, append, remove, end the stream), feeding back what happened. Every decision (what
//! to fetch, at which rendition, retries, eviction, stalls) is the engine's.
//!
//! As in the upload driver, one loop owns the engine. Fetches run in spawned futures, and MSE,
//! the video element, timers and the page's calls all report through one channel, so the
//! engine is never touched from two places. JS resources (listeners, the MediaSource and its
//! object URL, fetches' `AbortController`s) are owned by Rust values and released on drop: when
//! the page calls `destroy()`, the loop ends and everything goes with it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use cinelock_contract::ErrorCode;
use cinelock_contract::captions::TextTrackGrant;
use cinelock_contract::events::{
    ObjectKindName, PlayerRetryReason, PlayerRetrying, PlayerStats, Playing as PlayingDetail,
    Rendition, RenditionChange, RenditionChangeReason, Stall, StallEnd, TextTracks,
};
use cinelock_contract::playback::{PlayAnswer, RenditionPick, StartTrack};
use cinelock_core::media::{Manifest, ObjectNonce, TrackKind, choose_caption};
use cinelock_core::playback::{
    Action, AppendError, Event, FetchId, FetchKind, PlaybackConfig, Player, RetryReason,
    SignedUrls, StartOptions, SwitchReason, Transfer, UrlRequestId, UrlsFailure,
};
use futures_channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use futures_util::StreamExt;
use js_sys::{Function, Object, Reflect, Uint8Array};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{HtmlTrackElement, HtmlVideoElement};

use crate::SdkError;
use crate::beacons::{AnalyticsOptions, Beacons, Sent};
use crate::engine::EngineChoice;
use crate::extras::{self, CaptionTrack, ObjectUrl};
use crate::first_objects::FirstObjects;
use crate::link_memory;
use crate::mse::{self, Done, MediaSink, Op, Signal, Tag};
use crate::objects::ObjectCipher;
use crate::opener::{Aborter, Early, FetchJob, FetchResult, OpenedBy, Opener, Remote};
use crate::platform::{self, Listener};
use crate::session::{self, Grant, PlayTarget, TargetOptions};

/// How often the playhead is reported besides the element's own events (ms).
const TICK_MS: f64 = 250.0;
/// How long the page's caption choice is held against the browser's automatic one (ms).
const CAPTION_HOLD_MS: u64 = 2_000;
/// `HTMLMediaElement.HAVE_METADATA`.
const HAVE_METADATA: u16 = 1;
/// Less media than this (seconds) ahead of the playhead is starvation.
const STARVED_S: f64 = 0.5;

/// What the page passes to [`start_player`].
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Options {
    #[serde(flatten)]
    target: TargetOptions,
    package: Option<String>,
    /// A video track id, or its position in the ladder (0 = lowest).
    start_rendition: Option<RenditionPick>,
    engine: Option<String>,
    /// Seconds of media to fetch ahead.
    buffer_goal: Option<f64>,
    /// Seconds kept behind the playhead.
    back_buffer: Option<f64>,
    /// Bits per second assumed before anything was measured.
    initial_bandwidth: Option<f64>,
    /// Bits per second an earlier player measured, kept by the page (it wins over what this
    /// page's last player measured).
    measured_bandwidth: Option<f64>,
    /// Seconds the segment under the playhead may take after a seek (0: no limit).
    seek_budget: Option<f64>,
    /// `false`: no analytics beacons.
    analytics: Option<bool>,
    /// What the page's consent allows (`anonymous` by default).
    consent: Option<cinelock_core::analytics::Consent>,
    /// The customer's viewer id, sent under `full` consent only.
    viewer_id: Option<String>,
    /// A caption track to show from the start: its id or a language tag.
    text_track: Option<String>,
    /// No rendition above what the element's box shows (`AbrConfig::cap_to_player_size`).
    cap_to_player_size: Option<bool>,
}

/// Events of the video element the driver follows.
#[derive(Debug, Clone, Copy)]
enum VideoEvent {
    TimeUpdate,
    Play,
    Seeking,
    Seeked,
    Ended,
    Waiting,
    Playing,
    Pause,
    Error,
}

/// Messages into the loop that owns the engine.
enum Msg {
    Started(Result<Box<Started>, SdkError>),
    Mse(Signal),
    Video(VideoEvent),
    Tick,
    Timer,
    Fetch {
        id: FetchId,
        result: FetchResult,
        by: OpenedBy,
    },
    Urls(UrlRequestId, Result<SignedUrls, SdkError>),
    Renewed(UrlRequestId, Result<Box<Grant>, SdkError>),
    SetRendition(Option<RenditionPick>),
    /// The poster, opened.
    Poster(Result<Uint8Array, SdkError>),
    /// A caption track (its position in the session's list), opened.
    Caption(usize, TextTrackGrant, Result<Uint8Array, SdkError>),
    /// The page chose another caption track (or none): it is held, and the page hears of it.
    TextTrackSelected(Option<String>),
    /// The video's text tracks changed mode (the browser's own choice, or its captions menu).
    TextTrackModes,
    /// A beacon's outcome.
    Beacon(Sent),
    Destroy,
}

struct Started {
    grant: Grant,
    cipher: ObjectCipher,
    /// The GETs of the start's first objects, sent before the grant was opened.
    first: FirstObjects,
}

/// Counters for the page (and the benchmark).
#[derive(Debug, Clone, Default)]
struct Stats {
    objects: u32,
    sealed_bytes: f64,
    plain_bytes: f64,
    fetch_ms: f64,
    decrypt_ms: f64,
    decrypt_failures: u32,
    appends: u32,
    url_requests: u32,
    /// Objects fetched and opened in the worker rather than on the page's thread.
    worker_objects: u32,
    /// Objects opened on the page's thread while the worker was still loading.
    objects_before_worker: u32,
    /// Sessions opened: the first, and renewals after one expired.
    sessions: u32,
    /// The start's first objects asked for from the session's answer, and taken by the engine.
    early_objects: u32,
    /// ... and aborted unused.
    early_objects_unused: u32,
}

/// The view's analytics, shared with the page-lifecycle listeners, which must send the last
/// beacon while the page is still there.
type SharedBeacons = Rc<RefCell<Option<Beacons>>>;

/// What the handle reads synchronously.
#[derive(Debug, Default)]
struct Shared {
    renditions: Vec<Rendition>,
    current: Option<String>,
    auto: bool,
    engine: &'static str,
    package_kind: String,
    package_id: String,
    duration: f64,
    bandwidth_estimate: f64,
    /// The player's own measurement, once it has enough.
    measured_bandwidth: Option<f64>,
    /// Fetches completed that the measurement left out (the engine says which).
    unmeasured_fetches: u32,
    stats: Stats,
    finished: bool,
    /// The analytics view, once it began.
    view_id: Option<String>,
    beacons_sent: u32,
    beacon_events: u32,
    beacons_failed: u32,
    /// The caption tracks loaded, in the session's order, for the handle to list and select.
    text_tracks: Vec<(TextTrackGrant, HtmlTrackElement)>,
}

/// A playing (or starting) player, as the page sees it. `destroy()` (or freeing it) stops
/// playback and releases everything.
#[wasm_bindgen]
pub struct PlayerHandle {
    tx: UnboundedSender<Msg>,
    shared: Rc<RefCell<Shared>>,
}

#[wasm_bindgen]
impl PlayerHandle {
    /// Stops playback: fetches are aborted, the video element let go, listeners removed.
    pub fn destroy(&self) {
        let _ = self.tx.unbounded_send(Msg::Destroy);
    }

    /// The video renditions, lowest first (the contract's `Rendition`s; empty until the
    /// manifest is open).
    pub fn renditions(&self) -> JsValue {
        platform::to_js(&self.shared.borrow().renditions)
    }

    /// The rendition new fetches use (what is shown follows within a segment).
    #[wasm_bindgen(getter, js_name = currentRendition)]
    pub fn current_rendition(&self) -> Option<String> {
        self.shared.borrow().current.clone()
    }

    /// Whether the rendition is chosen by bandwidth (`setRendition("auto")`).
    #[wasm_bindgen(getter)]
    pub fn auto(&self) -> bool {
        self.shared.borrow().auto
    }

    /// Pins a rendition by id, or `"auto"` for adaptive choice.
    #[wasm_bindgen(js_name = setRendition)]
    pub fn set_rendition(&self, id: &str) -> Result<(), SdkError> {
        let shared = self.shared.borrow();
        // Before the manifest is open any id is taken; it must then be in the ladder.
        if id != "auto"
            && !shared.renditions.is_empty()
            && !shared.renditions.iter().any(|r| r.id == id)
        {
            return Err(SdkError::InvalidArgument(format!(
                "no rendition {id:?} (the package has {})",
                shared
                    .renditions
                    .iter()
                    .map(|r| r.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let r = (id != "auto").then(|| RenditionPick::Id(id.to_owned()));
        let _ = self.tx.unbounded_send(Msg::SetRendition(r));
        Ok(())
    }

    /// The caption tracks (the contract's `TextTrackInfo`s), in the asset's order; empty until
    /// they are loaded (the `texttracks` event).
    #[wasm_bindgen(js_name = textTracks)]
    pub fn text_tracks(&self) -> JsValue {
        let shared = self.shared.borrow();
        let infos: Vec<_> = shared
            .text_tracks
            .iter()
            .map(|(g, e)| extras::info(g, e))
            .collect();
        platform::to_js(&infos)
    }

    /// Shows caption track `id`, or none with `null`.
    #[wasm_bindgen(js_name = selectTextTrack)]
    pub fn select_text_track(&self, id: Option<String>) -> Result<(), SdkError> {
        if !extras::select(&self.shared.borrow().text_tracks, id.as_deref()) {
            return Err(SdkError::InvalidArgument(format!(
                "no caption track {:?}",
                id.unwrap_or_default()
            )));
        }
        let _ = self.tx.unbounded_send(Msg::TextTrackSelected(id));
        Ok(())
    }

    /// Counters: `{engine, packageKind, packageId, duration, bandwidthEstimate,
    /// measuredBandwidth, unmeasuredFetches, objects, sealedBytes, plainBytes, fetchMs, decryptMs,
    /// decryptFailures, appends, urlRequests, sessions, earlyObjects, earlyObjectsUnused, …}`.
    pub fn stats(&self) -> JsValue {
        let s = self.shared.borrow();
        platform::to_js(&PlayerStats {
            engine: s.engine.into(),
            package_kind: s.package_kind.clone(),
            package_id: s.package_id.clone(),
            duration: s.duration,
            bandwidth_estimate: s.bandwidth_estimate,
            measured_bandwidth: s.measured_bandwidth,
            unmeasured_fetches: s.unmeasured_fetches,
            objects: s.stats.objects,
            sealed_bytes: s.stats.sealed_bytes as u64,
            plain_bytes: s.stats.plain_bytes as u64,
            fetch_ms: s.stats.fetch_ms,
            decrypt_ms: s.stats.decrypt_ms,
            decrypt_failures: s.stats.decrypt_failures,
            appends: s.stats.appends,
            url_requests: s.stats.url_requests,
            worker_objects: s.stats.worker_objects,
            objects_before_worker: s.stats.objects_before_worker,
            sessions: s.stats.sessions,
            early_objects: s.stats.early_objects,
            early_objects_unused: s.stats.early_objects_unused,
            view_id: s.view_id.clone(),
            beacons_sent: s.beacons_sent,
            beacon_events: s.beacon_events,
            beacons_failed: s.beacons_failed,
        })
    }
}

impl Drop for PlayerHandle {
    fn drop(&mut self) {
        let _ = self.tx.unbounded_send(Msg::Destroy);
    }
}

/// Starts playing `options.assetId` in `video`. `on_event` receives plain objects:
/// `{type: "ready" | "playing" | "renditionchange" | "stall" | "stallend" | "retrying" |
/// "error", ...}`; after `error` the player does nothing more. `start_worker`, when given,
/// starts the npm package's player worker (in the page's JavaScript, where bundlers can see it)
/// and returns it, or nothing: it is called once playback can begin, and objects are fetched
/// and opened there from then on; before, and without it, on this thread.
#[wasm_bindgen(js_name = startPlayer)]
pub fn start_player(
    video: HtmlVideoElement,
    options: JsValue,
    on_event: Function,
    start_worker: Option<Function>,
    early_session: Option<js_sys::Promise>,
) -> Result<PlayerHandle, SdkError> {
    let o: Options = serde_wasm_bindgen::from_value(options)
        .map_err(|e| SdkError::InvalidArgument(format!("player options: {e}")))?;
    let choice = EngineChoice::parse(o.engine.clone())?;
    let target = o.target.into_target(o.package)?;
    // The session request leaves first, before the element, the worker and the caller's own
    // work (its `video.play()`) take the thread: its round trip is on the first frame's path.
    // One the page's JavaScript asked for while the wasm loaded comes from there instead.
    let asked = match early_session {
        Some(_) => None,
        None => Some(session::ask(&target, false)?),
    };
    let mut seed = [0u8; 8];
    platform::random(&mut seed)?;
    let mut config = PlaybackConfig {
        retry_seed: u64::from_le_bytes(seed),
        ..PlaybackConfig::default()
    };
    if let Some(goal) = o.buffer_goal {
        config.forward_goal_s = goal;
        config.max_forward_s = goal + 10.0;
    }
    if let Some(back) = o.back_buffer {
        config.back_buffer_s = back;
    }
    config.abr.cap_to_player_size = o.cap_to_player_size.unwrap_or(false);
    // Read as the server reads the same options in the session request, so the first objects
    // it names are the ones this start fetches.
    let page_start = StartOptions {
        initial_bandwidth_bps: o.initial_bandwidth,
        measured_bandwidth_bps: o.measured_bandwidth,
        seek_budget_s: o.seek_budget,
    };
    config
        .abr
        .apply(page_start, link_memory::recall(&target.endpoint));
    let (tx, rx) = unbounded();
    let notify_tx = tx.clone();
    let notify: Rc<dyn Fn(Signal)> = Rc::new(move |s| {
        let _ = notify_tx.unbounded_send(Msg::Mse(s));
    });
    // It opens while the session is asked for (the engine does not wait for it).
    let sink = MediaSink::attach(&video, notify)?;
    let mut listeners = Vec::new();
    for (kind, event) in [
        ("timeupdate", VideoEvent::TimeUpdate),
        ("play", VideoEvent::Play),
        ("seeking", VideoEvent::Seeking),
        ("seeked", VideoEvent::Seeked),
        ("ended", VideoEvent::Ended),
        ("waiting", VideoEvent::Waiting),
        ("playing", VideoEvent::Playing),
        ("pause", VideoEvent::Pause),
        ("error", VideoEvent::Error),
    ] {
        let t = tx.clone();
        listeners.push(Listener::new(video.unchecked_ref(), kind, move |_| {
            let _ = t.unbounded_send(Msg::Video(event));
        })?);
    }
    let beacons: SharedBeacons = Rc::default();
    // Hidden: what is queued goes now. Left: the view ends, and its last beacon goes with
    // `keepalive` from inside the handler, while the page is still there.
    if let Some(window) = web_sys::window() {
        let b = beacons.clone();
        listeners.push(Listener::new(
            window.unchecked_ref(),
            "pagehide",
            move |_| {
                if let Some(b) = b.borrow_mut().as_mut() {
                    b.tracker().handle_end(now());
                    b.pump(now(), |_| {});
                }
            },
        )?);
        if let Some(document) = window.document() {
            let b = beacons.clone();
            let doc = document.clone();
            listeners.push(Listener::new(
                document.unchecked_ref(),
                "visibilitychange",
                move |_| {
                    if doc.visibility_state() == web_sys::VisibilityState::Hidden
                        && let Some(b) = b.borrow_mut().as_mut()
                    {
                        b.tracker().handle_hidden(now());
                        b.pump(now(), |_| {});
                    }
                },
            )?);
        }
    }
    let shared = Rc::new(RefCell::new(Shared {
        auto: true,
        ..Shared::default()
    }));
    // The start rendition, shared with the session's task: a `setRendition` before the start
    // changes it, and the start's first objects are asked for at it.
    let start_rendition = Rc::new(RefCell::new(o.start_rendition));
    // The session is asked for while the MediaSource opens.
    let t = tx.clone();
    let start_target = target.clone();
    let (start_config, start_at, start_video) =
        (config.clone(), start_rendition.clone(), video.clone());
    spawn_local(async move {
        let started = async {
            // The session the page's JavaScript asked for while the wasm loaded, if it could
            // (it resolves to nothing where it could not); else it is asked for now.
            let early = match early_session {
                Some(p) => JsFuture::from(p).await.ok().filter(JsValue::is_object),
                None => None,
            };
            let (answered, sent) = match (asked, early) {
                (Some(asked), _) => (asked.answer(&start_target).await?, HashMap::new()),
                (None, Some(early)) => {
                    // Its GETs first: dropped with an error below, they are aborted.
                    let sent = FirstObjects::sent_by_page(&early);
                    (session::early_answer(&start_target, &early)?, sent)
                }
                (None, None) => {
                    let asked = session::ask(&start_target, false)?;
                    (asked.answer(&start_target).await?, HashMap::new())
                }
            };
            let first = ask_first_objects(
                &answered.answer,
                &start_config,
                start_at.borrow().as_ref(),
                &start_video,
                sent,
            );
            let grant = answered.open(&start_target).await?;
            let cipher = ObjectCipher::new(
                choice,
                &grant.key,
                &start_target.asset_id,
                &grant.package_id,
            )
            .await?;
            Ok(Box::new(Started {
                grant,
                cipher,
                first,
            }))
        }
        .await;
        let _ = t.unbounded_send(Msg::Started(started));
    });
    let t = tx.clone();
    spawn_local(async move {
        // Ends at the first send after the loop is gone.
        loop {
            platform::sleep(TICK_MS).await;
            if t.unbounded_send(Msg::Tick).is_err() {
                break;
            }
        }
    });
    // The worker starts once playback can begin (see `crate::opener`).
    let remote = start_worker.map(Remote::new);
    let driver = Driver {
        tx: tx.clone(),
        choice,
        remote,
        target,
        video,
        on_event,
        shared: shared.clone(),
        config,
        start_rendition,
        pin_start: false,
        analytics: AnalyticsOptions {
            analytics: o.analytics,
            consent: o.consent,
            viewer_id: o.viewer_id,
        },
        beacons,
        created_at: now(),
        early_play: None,
        sink,
        _listeners: listeners,
        started: None,
        play: None,
        ready_sent: false,
        poster: None,
        captions: Vec::new(),
        captions_opened: Vec::new(),
        captions_pending: 0,
        text_track: o.text_track,
        caption_hold: None,
        player_px: (0, 0),
    };
    spawn_local(driver.run(rx));
    Ok(PlayerHandle { tx, shared })
}

/// One fetch the engine asked for.
struct Job {
    track_id: String,
    kind: FetchKind,
    index: u32,
    path: String,
    size: u64,
    nonce: ObjectNonce,
}

enum FetchState {
    InFlight(Job, Aborter),
    /// Opened; the plaintext waits for its append.
    Held(Job, Uint8Array),
}

/// Playback under way: the engine and what the driver keeps for it.
struct Playing {
    player: Player,
    manifest: Rc<Manifest>,
    opener: Opener,
    package_kind: String,
    package_id: String,
    /// Asks for more URLs; a renewal replaces it.
    session: String,
    fetches: HashMap<FetchId, FetchState>,
    /// Opened init segments by path: the engine asks for one again after every switch.
    inits: HashMap<String, Uint8Array>,
    /// The start's first objects, asked for before the engine was made; its first fetches
    /// take them over, and the rest are aborted after them (and this is `None`).
    first: Option<FirstObjects>,
    eos_pending: bool,
    timer_at: Option<u64>,
}

struct Driver {
    tx: UnboundedSender<Msg>,
    choice: EngineChoice,
    /// The worker that will open objects, until the session starts and it is handed the key.
    remote: Option<Remote>,
    target: PlayTarget,
    video: HtmlVideoElement,
    on_event: Function,
    shared: Rc<RefCell<Shared>>,
    config: PlaybackConfig,
    start_rendition: Rc<RefCell<Option<RenditionPick>>>,
    /// The start rendition is pinned (`setRendition` before the start).
    pin_start: bool,
    analytics: AnalyticsOptions,
    beacons: SharedBeacons,
    /// When the player was made: the view begins then.
    created_at: u64,
    /// A `play` before the session was open (autoplay), for the view to start with.
    early_play: Option<u64>,
    // Dropped before the listeners; the events detaching the video causes are queued tasks,
    // which run after the listeners are gone.
    sink: MediaSink,
    _listeners: Vec<Listener>,
    started: Option<Box<Started>>,
    play: Option<Playing>,
    ready_sent: bool,
    /// The poster's URL, while it is the video's poster.
    poster: Option<ObjectUrl>,
    /// Caption tracks attached to the video, in the session's order.
    captions: Vec<CaptionTrack>,
    /// Caption tracks opened, by their position in the session's list, until all are.
    captions_opened: Vec<(usize, TextTrackGrant, Uint8Array)>,
    /// Caption tracks still being fetched.
    captions_pending: usize,
    text_track: Option<String>,
    /// The caption track the page chose to start with (none: `None`), held against the
    /// browser's automatic choice until this time (ms), and the listener that does it.
    caption_hold: Option<(Option<String>, u64, Listener)>,
    /// The element's box in device pixels, as the engine last had it.
    player_px: (u32, u32),
}

fn now() -> u64 {
    platform::now_ms() as u64
}

impl Driver {
    async fn run(mut self, mut rx: UnboundedReceiver<Msg>) {
        let mut failed = false;
        while let Some(msg) = rx.next().await {
            if matches!(msg, Msg::Destroy) {
                break;
            }
            if failed {
                // Only the view's last beacons are still worth hearing about.
                if let Msg::Beacon(sent) = msg {
                    self.on_beacon(sent);
                }
                continue;
            }
            if let Err(e) = self.handle(msg) {
                self.emit_error(e);
                failed = true;
            } else if let Err(e) = self.drive() {
                self.emit_error(e);
                failed = true;
            }
            if failed {
                // The engine stopped (or never started): drop every fetch and held segment,
                // and the element lets go of the MediaSource (no endless spinner).
                self.play = None;
                self.started = None;
                self.sink.detach();
                self.shared.borrow_mut().finished = true;
            }
        }
        // The view ends with the player.
        if let Some(b) = self.beacons.borrow_mut().as_mut() {
            b.tracker().handle_end(now());
        }
        self.pump_beacons();
        self.shared.borrow_mut().finished = true;
    }

    /// Sends the beacons that are due; their outcomes come back as [`Msg::Beacon`].
    fn pump_beacons(&self) {
        let tx = self.tx.clone();
        if let Some(b) = self.beacons.borrow_mut().as_mut() {
            b.pump(now(), move |sent| {
                let _ = tx.unbounded_send(Msg::Beacon(sent));
            });
        }
    }

    fn on_beacon(&mut self, sent: Sent) {
        if let Some(b) = self.beacons.borrow_mut().as_mut() {
            b.handle_sent(now(), sent);
            let mut s = self.shared.borrow_mut();
            s.beacons_sent = b.sent;
            s.beacon_events = b.events;
            s.beacons_failed = b.failed;
        }
        self.pump_beacons();
    }

    /// Reports the playhead and the player's size to the view.
    fn track_playhead(&self, t: u64) {
        if let Some(b) = self.beacons.borrow_mut().as_mut() {
            let tracker = b.tracker();
            tracker.handle_playhead(t, (self.video.current_time().max(0.0) * 1000.0) as u64);
            tracker.handle_player_size(
                t,
                self.video.client_width().max(0) as u32,
                self.video.client_height().max(0) as u32,
            );
        }
    }

    fn handle(&mut self, msg: Msg) -> Result<(), SdkError> {
        let t = now();
        match msg {
            Msg::Destroy => {}
            Msg::Started(started) => {
                self.started = Some(started?);
                self.begin()?;
            }
            Msg::Mse(Signal::SourceOpen) => {
                let done = self.sink.on_open()?;
                self.finish_ops(done);
            }
            Msg::Mse(signal) => {
                let done = self.sink.on_signal(signal);
                self.finish_ops(done);
            }
            Msg::Video(event) => self.on_video(event)?,
            Msg::Tick => {
                // A layout read: only where the box caps the rendition.
                let px = match self.config.abr.cap_to_player_size {
                    true => box_px(&self.video),
                    false => self.player_px,
                };
                if let Some(p) = &mut self.play {
                    p.player
                        .handle_playhead(t, self.video.current_time(), self.video.paused());
                    if px != self.player_px {
                        self.player_px = px;
                        p.player.handle_player_size(t, px.0, px.1);
                    }
                }
                self.track_playhead(t);
            }
            Msg::Timer => {
                if let Some(p) = &mut self.play {
                    p.timer_at = None;
                    p.player.handle_timeout(t);
                }
            }
            Msg::Fetch { id, result, by } => self.on_fetch(id, result, by),
            Msg::Urls(id, result) => self.on_urls(id, result),
            Msg::Renewed(id, result) => self.on_renewed(id, result)?,
            Msg::SetRendition(index) => self.set_rendition(index),
            Msg::Poster(opened) => self.on_poster(opened),
            Msg::Caption(at, grant, opened) => self.on_caption(at, grant, opened),
            Msg::TextTrackSelected(id) => {
                if let Some((chosen, _, _)) = &mut self.caption_hold {
                    *chosen = id;
                }
                self.emit_text_tracks();
            }
            Msg::TextTrackModes => self.on_text_track_modes(),
            Msg::Beacon(sent) => self.on_beacon(sent),
        }
        Ok(())
    }

    /// Starts the engine once the session is there, open MediaSource or not: the first fetches
    /// go out at once, and what they bring is appended when it opens.
    fn begin(&mut self) -> Result<(), SdkError> {
        if self.play.is_some() {
            return Ok(());
        }
        let Some(started) = self.started.take() else {
            return Ok(());
        };
        let Started {
            grant,
            cipher,
            first,
        } = *started;
        // The view began when the player was made (a play before the session counts).
        let view = Beacons::new(
            &self.analytics,
            &self.target.endpoint,
            &self.target.asset_id,
            grant.beacon.clone(),
            self.created_at,
            (grant.manifest.duration * 1000.0) as u64,
        );
        if let Some(mut b) = view {
            if let Some(t) = self.early_play {
                b.tracker().handle_play(t);
            }
            self.shared.borrow_mut().view_id = Some(b.view_id().to_owned());
            *self.beacons.borrow_mut() = Some(b);
        }
        let opener = Opener::new(
            cipher,
            self.remote.take(),
            self.choice,
            &grant.key,
            &self.target.asset_id,
            &grant.package_id,
        );
        let manifest = Rc::new(grant.manifest);
        self.load_extras(&opener, &manifest, &grant.urls, grant.text_tracks);
        let renditions: Vec<Rendition> = manifest
            .video()
            .map(|t| Rendition {
                id: t.id.clone(),
                width: t.width.unwrap_or(0),
                height: t.height.unwrap_or(0),
                bandwidth: t.bandwidth,
                codecs: t.codecs.clone(),
            })
            .collect();
        let start = match &*self.start_rendition.borrow() {
            None => None,
            Some(r) => Some(
                r.rung(renditions.iter().map(|r| r.id.as_str()))
                    .ok_or_else(|| SdkError::InvalidArgument(format!("no rendition {r}")))?,
            ),
        };
        let mut config = self.config.clone();
        config.abr.start_rendition = start;
        let mut player = Player::new((*manifest).clone(), config)?;
        // Where the box caps the rendition, the start is capped too.
        if self.config.abr.cap_to_player_size {
            self.player_px = box_px(&self.video);
            player.handle_player_size(now(), self.player_px.0, self.player_px.1);
        }
        if self.pin_start {
            player.set_rendition(now(), start);
        }
        // Made after the first fetches are out (`drive`): they wait for nothing here.
        for (slot, track) in player.slots() {
            self.sink
                .want_buffer(slot, &mse::mime_type(&track.mime, &track.codecs))?;
        }
        {
            let mut s = self.shared.borrow_mut();
            s.stats.sessions = 1;
            s.renditions = renditions;
            s.engine = opener.engine();
            s.package_kind = grant.kind.clone();
            s.package_id = grant.package_id.clone();
            s.duration = manifest.duration;
        }
        player.handle_urls(now(), None, grant.urls);
        let mut play = Playing {
            player,
            manifest,
            opener,
            package_kind: grant.kind,
            package_id: grant.package_id,
            session: grant.session,
            fetches: HashMap::new(),
            inits: HashMap::new(),
            first: Some(first),
            eos_pending: false,
            timer_at: None,
        };
        let t = now();
        let at = self.video.current_time();
        if at > 0.0 {
            play.player.handle_seek(t, at);
        }
        play.player.handle_start(t);
        self.play = Some(play);
        Ok(())
    }

    /// Fetches and opens the poster and the caption tracks beside the media; each comes back
    /// as a message. None of them can stop playback.
    fn load_extras(
        &mut self,
        opener: &Opener,
        manifest: &Manifest,
        urls: &SignedUrls,
        tracks: Vec<TextTrackGrant>,
    ) {
        let poster = extras::poster_url(manifest, urls).map(|(p, u)| (p.clone(), u.to_owned()));
        // A poster the page set stays. None is fetched for an element already asked to play:
        // the first frame comes first, and the poster's fetch, opening and decoding would only
        // compete with the first segments for the link and the CPU.
        let wanted = self.video.poster().is_empty() && self.video.paused();
        if let Some((poster, url)) = poster.filter(|_| wanted) {
            let (cipher, tx) = (opener.local(), self.tx.clone());
            spawn_local(async move {
                let opened = extras::open_poster(&cipher, &poster, &url).await;
                let _ = tx.unbounded_send(Msg::Poster(opened));
            });
        }
        self.captions_pending = tracks.len();
        for (at, grant) in tracks.into_iter().enumerate() {
            let (cipher, tx) = (opener.local(), self.tx.clone());
            spawn_local(async move {
                let opened = extras::open_caption(&cipher, &grant).await;
                let _ = tx.unbounded_send(Msg::Caption(at, grant, opened));
            });
        }
    }

    fn on_poster(&mut self, opened: Result<Uint8Array, SdkError>) {
        // Not having a poster is no reason to stop: the first frame shows instead.
        let Ok(url) = opened.and_then(|jpeg| ObjectUrl::new(&jpeg, "image/jpeg")) else {
            return;
        };
        if self.video.poster().is_empty() {
            self.video.set_poster(url.as_str());
            self.poster = Some(url);
        }
    }

    /// Keeps an opened caption track; once all are in, attaches them to the video together, in
    /// the session's order, and the page hears of them. One that failed (fetch,
    /// authentication) is left out rather than shown from unchecked bytes. The track the page
    /// asked for is the `default` one, so the browser's own automatic choice (made when tracks
    /// are added) agrees with it.
    fn on_caption(
        &mut self,
        at: usize,
        grant: TextTrackGrant,
        opened: Result<Uint8Array, SdkError>,
    ) {
        self.captions_pending = self.captions_pending.saturating_sub(1);
        if let Ok(vtt) = opened {
            self.captions_opened.push((at, grant, vtt));
        }
        if self.captions_pending > 0 {
            return;
        }
        let mut opened = std::mem::take(&mut self.captions_opened);
        opened.sort_by_key(|(at, _, _)| *at);
        let chosen = self.text_track.as_deref().and_then(|wanted| {
            let pairs: Vec<(&str, &str)> = opened
                .iter()
                .map(|(_, g, _)| (g.id.as_str(), g.language.as_str()))
                .collect();
            choose_caption(&pairs, wanted).map(str::to_owned)
        });
        for (_, grant, vtt) in opened {
            let default = chosen.as_deref() == Some(grant.id.as_str());
            if let Ok(track) = CaptionTrack::attach(&self.video, grant, &vtt, default) {
                self.captions.push(track);
            }
        }
        let loaded: Vec<(TextTrackGrant, HtmlTrackElement)> = self
            .captions
            .iter()
            .map(|t| (t.grant.clone(), t.element.clone()))
            .collect();
        extras::select(&loaded, chosen.as_deref());
        self.shared.borrow_mut().text_tracks = loaded;
        // Browsers pick a track by the viewer's languages as tracks are added, after this
        // and whatever `default` says: the page's choice is held for a moment, then the
        // viewer's own choices (the controls' captions menu) are only reported.
        let tx = self.tx.clone();
        let listener = self.video.text_tracks().and_then(|list| {
            Listener::new(list.unchecked_ref(), "change", move |_| {
                let _ = tx.unbounded_send(Msg::TextTrackModes);
            })
            .ok()
        });
        if let Some(listener) = listener {
            self.caption_hold = Some((chosen, now() + CAPTION_HOLD_MS, listener));
        }
        self.emit_text_tracks();
    }

    fn on_text_track_modes(&mut self) {
        let Some((chosen, until, _)) = &self.caption_hold else {
            return;
        };
        let shared = self.shared.borrow();
        let held = now() < *until || self.video.ready_state() < HAVE_METADATA;
        let showing: Vec<&str> = shared
            .text_tracks
            .iter()
            .filter(|(g, e)| extras::info(g, e).showing)
            .map(|(g, _)| g.id.as_str())
            .collect();
        if held && showing != chosen.iter().map(String::as_str).collect::<Vec<_>>() {
            extras::select(&shared.text_tracks, chosen.as_deref());
            return;
        }
        drop(shared);
        self.emit_text_tracks();
    }

    fn emit_text_tracks(&self) {
        let tracks = self.captions.iter().map(CaptionTrack::info).collect();
        self.emit("texttracks", platform::to_js(&TextTracks { tracks }));
    }

    /// Pins the video rendition (or with `None` lets the bandwidth choose again). The
    /// engine keeps what is under the playhead and refetches later video at the pinned
    /// rendition, so the switch shows within a segment and without a rebuffer.
    fn set_rendition(&mut self, rendition: Option<RenditionPick>) {
        self.shared.borrow_mut().auto = rendition.is_none();
        let Some(p) = &mut self.play else {
            // Before the start: it becomes the (pinned) start rendition.
            self.pin_start = rendition.is_some();
            *self.start_rendition.borrow_mut() = rendition;
            return;
        };
        let index = match rendition {
            None => None,
            // An id the manifest does not have pins nothing.
            Some(r) => match r.rung(p.manifest.video().map(|t| t.id.as_str())) {
                Some(i) => Some(i),
                None => return,
            },
        };
        p.player.set_rendition(now(), index);
    }

    fn on_video(&mut self, event: VideoEvent) -> Result<(), SdkError> {
        let t = now();
        let (time, paused) = (self.video.current_time(), self.video.paused());
        match self.beacons.borrow_mut().as_mut().map(Beacons::tracker) {
            None if matches!(event, VideoEvent::Play) => {
                self.early_play.get_or_insert(t);
            }
            None => {}
            Some(tracker) => match event {
                VideoEvent::Play => tracker.handle_play(t),
                VideoEvent::Pause => tracker.handle_pause(t),
                VideoEvent::Seeking => tracker.handle_seeking(t),
                VideoEvent::Seeked => tracker.handle_seeked(t),
                VideoEvent::Ended => tracker.handle_ended(t),
                _ => {}
            },
        }
        if matches!(event, VideoEvent::TimeUpdate | VideoEvent::Playing) {
            self.track_playhead(t);
        }
        if let VideoEvent::Error = event {
            let detail = self
                .video
                .error()
                .map(|e| format!("MediaError {}: {}", e.code(), e.message()))
                .unwrap_or_else(|| "unknown media error".into());
            return Err(SdkError::Media(detail));
        }
        if let VideoEvent::Playing = event {
            self.emit(
                "playing",
                platform::to_js(&PlayingDetail { current_time: time }),
            );
        }
        let Some(p) = &mut self.play else {
            return Ok(());
        };
        match event {
            VideoEvent::Seeking => {
                p.eos_pending = false;
                p.player.handle_seek(t, time);
            }
            // `waiting` also fires while the decoder warms up over data that is buffered
            // (right after `play()`, say): only a playhead without data ahead is a stall.
            VideoEvent::Waiting if !starved(&self.video) => {}
            VideoEvent::Waiting => p.player.handle_waiting(t),
            VideoEvent::TimeUpdate
            | VideoEvent::Playing
            | VideoEvent::Pause
            | VideoEvent::Play
            | VideoEvent::Seeked
            | VideoEvent::Ended => p.player.handle_playhead(t, time, paused),
            VideoEvent::Error => {}
        }
        Ok(())
    }

    /// Runs what the engine asks until it asks nothing more, reports its events, and sets the
    /// timer it wants.
    fn drive(&mut self) -> Result<(), SdkError> {
        loop {
            loop {
                let Some(p) = &mut self.play else {
                    return Ok(());
                };
                let Some(action) = p.player.poll_action(now()) else {
                    break;
                };
                self.run_action(action);
            }
            // The SourceBuffers asked for at the start are made once the first fetches are out.
            if !self.sink.wants_buffers() {
                break;
            }
            let done = self.sink.on_open()?;
            self.finish_ops(done);
        }
        // The engine's first fetches are out: what it did not take of the start's is not needed.
        if let Some(mut first) = self.play.as_mut().and_then(|p| p.first.take()) {
            self.shared.borrow_mut().stats.early_objects_unused += first.abort_rest() as u32;
        }
        self.try_end_of_stream();
        let mut fatal = None;
        while let Some(event) = self.play.as_mut().and_then(|p| p.player.poll_event()) {
            if let Event::Error(e) = event {
                fatal = Some(e);
                break;
            }
            self.emit_event(event);
        }
        if let Some(e) = fatal {
            return Err(e.into());
        }
        self.pump_beacons();
        let beacons_at = self
            .beacons
            .borrow()
            .as_ref()
            .and_then(Beacons::poll_timeout);
        if let Some(p) = &mut self.play {
            let mut s = self.shared.borrow_mut();
            s.current = Some(p.player.rendition().id.clone());
            s.bandwidth_estimate = p.player.bandwidth_estimate();
            s.measured_bandwidth = p.player.measured_bandwidth();
            s.unmeasured_fetches = p.player.unmeasured_fetches();
            let measured = s.measured_bandwidth;
            drop(s);
            if let Some(bps) = measured {
                link_memory::note(&self.target.endpoint, bps);
            }
            let due = [p.player.poll_timeout(), beacons_at]
                .into_iter()
                .flatten()
                .min();
            if let Some(at) = due
                && p.timer_at.is_none_or(|t| at < t)
            {
                p.timer_at = Some(at);
                let tx = self.tx.clone();
                spawn_local(async move {
                    platform::sleep(at.saturating_sub(now()) as f64).await;
                    let _ = tx.unbounded_send(Msg::Timer);
                });
            }
        }
        Ok(())
    }

    fn run_action(&mut self, action: Action) {
        let Some(p) = &mut self.play else { return };
        match action {
            Action::SetDuration(d) => self.sink.set_duration(d),
            Action::Fetch {
                id,
                track_id,
                kind,
                index,
                path,
                size,
                nonce,
                attempt,
                url,
                ..
            } => {
                let job = Job {
                    track_id,
                    kind,
                    index,
                    path,
                    size,
                    nonce,
                };
                // An init segment opened before is not fetched again (nor measured).
                if kind == FetchKind::Init
                    && attempt == 1
                    && let Some(plain) = p.inits.get(&job.path).cloned()
                {
                    p.fetches.insert(id, FetchState::Held(job, plain));
                    p.player.handle_fetched(id, now(), Transfer::none(now()));
                    return;
                }
                let early = p.first.as_mut().and_then(|f| f.take(&job.path));
                if early.is_some() {
                    self.shared.borrow_mut().stats.early_objects += 1;
                }
                let state = spawn_fetch(&self.tx, p, id, &job, url.0, early);
                p.fetches.insert(id, FetchState::InFlight(job, state));
            }
            Action::RequestUrls { id, paths } => {
                self.shared.borrow_mut().stats.url_requests += 1;
                let (tx, target, session) =
                    (self.tx.clone(), self.target.clone(), p.session.clone());
                spawn_local(async move {
                    let r = session::more_urls(&target, &session, &paths).await;
                    let _ = tx.unbounded_send(Msg::Urls(id, r));
                });
            }
            Action::RenewSession { id } => {
                // A new session (with a new player key) for the same package.
                let mut target = self.target.clone();
                target.package = Some(p.package_kind.clone());
                let tx = self.tx.clone();
                spawn_local(async move {
                    let r = session::open(&target).await.map(Box::new);
                    let _ = tx.unbounded_send(Msg::Renewed(id, r));
                });
            }
            Action::Abort { id } => {
                // Dropping the state aborts the request or frees the plaintext.
                p.fetches.remove(&id);
            }
            Action::Append { slot, id } => {
                p.eos_pending = false;
                let tag = Tag { id: Some(id) };
                let op = match p.fetches.get(&id) {
                    Some(FetchState::Held(job, plain)) => Op::Append {
                        tag,
                        data: plain.clone(),
                        change_to: (job.kind == FetchKind::Init)
                            .then(|| p.manifest.track(&job.track_id))
                            .flatten()
                            .map(|t| mse::mime_type(&t.mime, &t.codecs)),
                    },
                    // The engine appends only what was reported opened.
                    _ => {
                        p.player.handle_append_failed(slot, AppendError::Other);
                        return;
                    }
                };
                let done = self.sink.push(slot, op);
                self.finish_ops(done);
            }
            Action::Remove { slot, start, end } => {
                p.eos_pending = false;
                let tag = Tag { id: None };
                let done = self.sink.push(slot, Op::Remove { tag, start, end });
                self.finish_ops(done);
            }
            Action::EndOfStream => p.eos_pending = true,
        }
    }

    /// Reports finished SourceBuffer operations to the engine.
    fn finish_ops(&mut self, done: Vec<Done>) {
        let Some(p) = &mut self.play else { return };
        for d in done {
            let (slot, tag) = match d {
                Done::Appended { slot, tag }
                | Done::AppendFailed { slot, tag, .. }
                | Done::Removed { slot, tag } => (slot, tag),
            };
            p.player.handle_buffered(slot, &self.sink.buffered(slot));
            match (d, tag.id) {
                (Done::Appended { .. }, Some(id)) => {
                    p.fetches.remove(&id);
                    self.shared.borrow_mut().stats.appends += 1;
                    p.player.handle_appended(slot, id);
                }
                (Done::AppendFailed { quota, .. }, Some(_)) => {
                    let error = if quota {
                        AppendError::QuotaExceeded
                    } else {
                        AppendError::Other
                    };
                    p.player.handle_append_failed(slot, error);
                }
                _ => {}
            }
        }
        self.try_end_of_stream();
    }

    fn try_end_of_stream(&mut self) {
        if let Some(p) = &mut self.play
            && p.eos_pending
            && self.sink.idle()
        {
            p.eos_pending = false;
            self.sink.end_of_stream();
        }
    }

    fn on_fetch(&mut self, id: FetchId, result: FetchResult, by: OpenedBy) {
        let Some(p) = &mut self.play else { return };
        // An aborted fetch is no longer listed.
        if !matches!(p.fetches.get(&id), Some(FetchState::InFlight(..))) {
            return;
        }
        let Some(FetchState::InFlight(job, aborter)) = p.fetches.remove(&id) else {
            return;
        };
        // The request is over: aborting it now does nothing.
        drop(aborter);
        let t = now();
        match result {
            FetchResult::Opened {
                plain,
                bytes,
                sent_at,
                done_at,
                opened_at,
            } => {
                {
                    let mut s = self.shared.borrow_mut();
                    s.stats.objects += 1;
                    s.stats.worker_objects += u32::from(by == OpenedBy::Worker);
                    s.stats.objects_before_worker += u32::from(by == OpenedBy::PageBeforeWorker);
                    s.stats.sealed_bytes += bytes as f64;
                    s.stats.plain_bytes += f64::from(plain.length());
                    s.stats.fetch_ms += (done_at - sent_at).max(0.0);
                    s.stats.decrypt_ms += (opened_at - done_at).max(0.0);
                }
                if job.kind == FetchKind::Init {
                    p.inits.insert(job.path.clone(), plain.clone());
                }
                p.fetches.insert(id, FetchState::Held(job, plain));
                let transfer = Transfer {
                    bytes,
                    // The clock's milliseconds, as `now` counts them.
                    sent_at: sent_at.max(0.0) as u64,
                    done_at: done_at.max(0.0) as u64,
                    opened_at: opened_at.max(0.0) as u64,
                };
                p.player.handle_fetched(id, t, transfer);
            }
            FetchResult::Corrupt => {
                self.shared.borrow_mut().stats.decrypt_failures += 1;
                p.player.handle_decrypt_failed(id);
            }
            FetchResult::Failed(failure) => p.player.handle_fetch_failed(id, t, failure),
        }
    }

    fn on_urls(&mut self, id: UrlRequestId, result: Result<SignedUrls, SdkError>) {
        let Some(p) = &mut self.play else { return };
        let t = now();
        match result {
            Ok(signed) => p.player.handle_urls(t, Some(id), signed),
            Err(e) => p.player.handle_urls_failed(t, id, urls_failure(&e)),
        }
    }

    fn on_renewed(
        &mut self,
        id: UrlRequestId,
        result: Result<Box<Grant>, SdkError>,
    ) -> Result<(), SdkError> {
        let Some(p) = &mut self.play else {
            return Ok(());
        };
        let t = now();
        match result {
            Ok(grant) if grant.package_id == p.package_id => {
                self.shared.borrow_mut().stats.sessions += 1;
                p.session = grant.session;
                p.player.handle_urls(t, Some(id), grant.urls);
                Ok(())
            }
            Ok(_) => Err(SdkError::server(
                200,
                None,
                "the package changed while playing it".into(),
            )),
            // Refused now (a token expired, say): the player stops with the server's reason.
            Err(e @ SdkError::Denied { .. }) => Err(e),
            Err(e) => {
                p.player.handle_urls_failed(t, id, urls_failure(&e));
                Ok(())
            }
        }
    }

    fn emit_event(&mut self, event: Event) {
        match event {
            // Once per player.
            Event::Ready if self.ready_sent => {}
            Event::Ready => {
                self.ready_sent = true;
                // What the first frame needed was opened here; the rest goes to the worker.
                if let Some(p) = &self.play {
                    p.opener.start_worker();
                }
                self.emit("ready", Object::new().into());
            }
            Event::RenditionChanged { from, to, reason } => {
                let reason = match reason {
                    SwitchReason::Start => RenditionChangeReason::Start,
                    SwitchReason::Bandwidth => RenditionChangeReason::Bandwidth,
                    SwitchReason::Stall => RenditionChangeReason::Stall,
                    SwitchReason::Manual => RenditionChangeReason::Manual,
                    SwitchReason::Auto => RenditionChangeReason::Auto,
                    SwitchReason::Size => RenditionChangeReason::Size,
                };
                let track = self
                    .play
                    .as_ref()
                    .and_then(|p| p.manifest.track(&to).cloned())
                    .filter(|t| t.kind == TrackKind::Video);
                self.shared.borrow_mut().current = Some(to.clone());
                let change = RenditionChange {
                    from,
                    to,
                    reason,
                    width: track.as_ref().map(|t| t.width.unwrap_or(0)),
                    height: track.as_ref().map(|t| t.height.unwrap_or(0)),
                    bandwidth: track.as_ref().map(|t| t.bandwidth),
                };
                self.emit("renditionchange", platform::to_js(&change));
            }
            // Analytics count the rendition on screen, not the one fetched next.
            Event::Showing { track_id } => {
                // What the tracker needs of the track, not a copy of its segment list.
                let shown = self.play.as_ref().and_then(|p| {
                    let t = p.manifest.track(&track_id)?;
                    Some((t.bandwidth, t.width.unwrap_or(0), t.height.unwrap_or(0)))
                });
                if let (Some((bitrate, w, h)), Some(b)) =
                    (shown, self.beacons.borrow_mut().as_mut())
                {
                    b.tracker()
                        .handle_rendition(now(), &track_id, bitrate, w, h);
                }
            }
            Event::Stall { at } => {
                if let Some(b) = self.beacons.borrow_mut().as_mut() {
                    b.tracker().handle_stall(now());
                }
                self.emit("stall", platform::to_js(&Stall { at }))
            }
            Event::StallRecovered { at, stalled_ms } => {
                if let Some(b) = self.beacons.borrow_mut().as_mut() {
                    b.tracker().handle_stall_end(now());
                }
                self.emit("stallend", platform::to_js(&StallEnd { at, stalled_ms }))
            }
            Event::Retrying {
                object,
                attempt,
                delay_ms,
                reason,
            } => {
                let retrying = PlayerRetrying {
                    track: object.track_id,
                    kind: match object.kind {
                        FetchKind::Init => ObjectKindName::Init,
                        FetchKind::Media => ObjectKindName::Media,
                    },
                    index: object.index,
                    attempt,
                    delay_ms,
                    reason: match reason {
                        RetryReason::Network => PlayerRetryReason::Network,
                        RetryReason::Timeout => PlayerRetryReason::Timeout,
                        RetryReason::Corrupt => PlayerRetryReason::Corrupt,
                        RetryReason::Expired => PlayerRetryReason::Expired,
                    },
                };
                self.emit("retrying", platform::to_js(&retrying));
            }
            Event::Error(e) => self.emit_error(e.into()),
        }
    }

    fn emit_error(&self, e: SdkError) {
        if let Some(b) = self.beacons.borrow_mut().as_mut() {
            b.tracker().handle_error(now(), e.code().as_str(), true);
        }
        self.pump_beacons();
        let detail = Object::new();
        let _ = Reflect::set(&detail, &"error".into(), &JsValue::from(e));
        self.emit("error", detail.into());
    }

    /// Hands the page `{type: kind, ...detail}` (the detail is a contract type, or the error).
    fn emit(&self, kind: &str, detail: JsValue) {
        let o = if detail.is_object() {
            detail
        } else {
            Object::new().into()
        };
        let _ = Reflect::set(&o, &"type".into(), &kind.into());
        // A throwing listener must not stop playback.
        let _ = self.on_event.call1(&JsValue::NULL, &o);
    }
}

/// How a failed request for URLs reads to the engine.
fn urls_failure(e: &SdkError) -> UrlsFailure {
    match e {
        SdkError::Server { code, .. }
            if *code == ErrorCode::SessionExpired || *code == ErrorCode::SessionInvalid =>
        {
            UrlsFailure::SessionEnded
        }
        SdkError::Server { status, .. } => UrlsFailure::Status(*status),
        SdkError::Network(_) => UrlsFailure::Network,
        // Anything else (an answer that does not parse, a key that does not open) is no
        // status worth retrying.
        _ => UrlsFailure::Status(0),
    }
}

/// Less than [`STARVED_S`] of media buffered from the element's playhead on.
fn starved(video: &HtmlVideoElement) -> bool {
    let t = video.current_time();
    let ranges = video.buffered();
    !(0..ranges.length()).any(|i| {
        let (Ok(start), Ok(end)) = (ranges.start(i), ranges.end(i)) else {
            return false;
        };
        start <= t + 0.1 && end - t >= STARVED_S
    })
}

/// Starts fetching and opening `job` from `url`, or from `early` (its GET, sent from the
/// session's answer); the outcome comes back as [`Msg::Fetch`].
fn spawn_fetch(
    tx: &UnboundedSender<Msg>,
    p: &Playing,
    id: FetchId,
    job: &Job,
    url: String,
    early: Option<Early>,
) -> Aborter {
    let tx = tx.clone();
    let fetch = FetchJob {
        url,
        track_id: job.track_id.clone(),
        kind: job.kind.object_kind(),
        index: job.index,
        size: job.size,
        nonce: job.nonce,
    };
    let done = move |result, by| {
        let _ = tx.unbounded_send(Msg::Fetch { id, result, by });
    };
    match early {
        Some(early) => p.opener.adopt(fetch, early, done),
        None => p.opener.start(fetch, done),
    }
}

/// Asks for the start's first objects ([`FirstObjects`]) at the start rendition the page chose,
/// taking over those in `sent`. None when the playhead is not at 0 (playback starts elsewhere).
fn ask_first_objects(
    answer: &PlayAnswer,
    config: &PlaybackConfig,
    start: Option<&RenditionPick>,
    video: &HtmlVideoElement,
    sent: HashMap<String, Early>,
) -> FirstObjects {
    if video.current_time() > 0.0 {
        return FirstObjects::none(sent);
    }
    // A layout read: only where the box caps the rendition.
    let capped = config.abr.cap_to_player_size && {
        let (w, h) = box_px(video);
        w > 0 && h > 0
    };
    if capped {
        // The answer does not say the renditions' sizes, so a start above the lowest rendition
        // may be capped below it: then nothing is asked for early (the lowest no cap lowers).
        let lowest = answer.start.iter().find(|t| t.kind == TrackKind::Video);
        let paths = StartTrack::first_paths(&answer.start, config, start).unwrap_or_default();
        if lowest.is_some_and(|l| l.paths.iter().any(|p| !paths.contains(&p.as_str()))) {
            return FirstObjects::none(sent);
        }
    }
    FirstObjects::ask(answer, config, start, sent)
}

/// `video`'s box in device pixels (CSS size × `devicePixelRatio`): read at each tick where it
/// caps the rendition, as the view's size is, so a full screen shows within one.
fn box_px(video: &HtmlVideoElement) -> (u32, u32) {
    let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    let px = |css: i32| (f64::from(css.max(0)) * dpr).round() as u32;
    (px(video.client_width()), px(video.client_height()))
}
