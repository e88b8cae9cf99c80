//! Media Source Extensions, owned by Rust: a `MediaSource` attached to a `<video>` through an
//! object URL, and one `SourceBuffer` per slot with a FIFO operation queue, because a
//! SourceBuffer takes one `appendBuffer` or `remove` at a time. Completion (`updateend`,
//! `error`) comes back as [`Signal`]s through the callback given at attach; the driver feeds
//! them to [`MediaSink::on_signal`] and gets the finished operation back.
//!
//! The sink is usable before the MediaSource opens: buffers asked for, operations pushed and
//! the duration wait, and [`MediaSink::on_open`] starts them. So the player's first fetches
//! need not wait for `sourceopen`, which on a cold page came 20–45 ms after attaching (measured
//! in Chromium), often after the session's answer.
//!
//! Everything is released on drop: listeners removed, the video detached, the URL revoked.

use std::collections::VecDeque;
use std::rc::Rc;

use cinelock_core::playback::{FetchId, Slot};
use js_sys::Uint8Array;
use wasm_bindgen::JsCast;
use web_sys::{HtmlVideoElement, MediaSource, MediaSourceReadyState, SourceBuffer, Url};

use crate::SdkError;
use crate::platform::{Listener, error_name};

/// What MSE reports, for the driver to pass back to [`MediaSink::on_signal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// The MediaSource opened: buffers may be added.
    SourceOpen,
    /// A SourceBuffer finished its operation (successfully unless [`Signal::Error`] came first).
    UpdateEnd(Slot),
    /// A SourceBuffer's append failed (a decode error); `updateend` follows.
    Error(Slot),
}

/// Which fetch an operation belongs to (none: a remove).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tag {
    pub id: Option<FetchId>,
}

/// One queued SourceBuffer operation.
pub(crate) enum Op {
    /// `appendBuffer(data)`, after `changeType(change_to)` if that differs from the type in
    /// force.
    Append {
        tag: Tag,
        data: Uint8Array,
        change_to: Option<String>,
    },
    /// `remove(start, end)`.
    Remove { tag: Tag, start: f64, end: f64 },
}

/// A finished operation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Done {
    Appended {
        slot: Slot,
        tag: Tag,
    },
    /// `quota`: `QuotaExceededError` (the buffer is full); else the append was rejected.
    AppendFailed {
        slot: Slot,
        tag: Tag,
        quota: bool,
    },
    Removed {
        slot: Slot,
        tag: Tag,
    },
}

struct Buffer {
    slot: Slot,
    sb: SourceBuffer,
    queue: VecDeque<Op>,
    running: Option<Op>,
    /// `error` fired for the running append.
    failed: bool,
    /// The `mime; codecs` in force (changed with `changeType`).
    mime_type: String,
    _listeners: [Listener; 2],
}

/// A MediaSource on a video element, and its SourceBuffers.
pub(crate) struct MediaSink {
    video: HtmlVideoElement,
    source: MediaSource,
    url: String,
    buffers: Vec<Buffer>,
    /// Buffers asked for before the MediaSource opened: slot and `mime; codecs`.
    wanted: Vec<(Slot, String)>,
    /// Operations pushed for a buffer in `wanted`, in order.
    early: Vec<(Slot, Op)>,
    /// A duration set before the MediaSource opened.
    early_duration: Option<f64>,
    notify: Rc<dyn Fn(Signal)>,
    _open: Listener,
}

fn platform(e: wasm_bindgen::JsValue) -> SdkError {
    SdkError::Platform(SdkError::describe(&e))
}

/// `mime; codecs="…"`, as `addSourceBuffer` takes it.
pub(crate) fn mime_type(mime: &str, codecs: &str) -> String {
    format!("{mime}; codecs=\"{codecs}\"")
}

/// Whether this browser has MSE and can play `mime_type`.
pub(crate) fn supported(mime_type: &str) -> bool {
    js_sys::Reflect::get(&js_sys::global(), &"MediaSource".into()).is_ok_and(|m| !m.is_undefined())
        && MediaSource::is_type_supported(mime_type)
}

/// An error unless this browser can play `mime_type` through Media Source Extensions.
fn check_supported(mime_type: &str) -> Result<(), SdkError> {
    if supported(mime_type) {
        Ok(())
    } else {
        Err(SdkError::UnsupportedMedia(format!(
            "this browser cannot play {mime_type}"
        )))
    }
}

impl MediaSink {
    /// Makes a MediaSource and attaches it to `video`; [`Signal::SourceOpen`] follows.
    pub(crate) fn attach(
        video: &HtmlVideoElement,
        notify: Rc<dyn Fn(Signal)>,
    ) -> Result<Self, SdkError> {
        if !supported("video/mp4; codecs=\"avc1.42c01e\"") {
            return Err(SdkError::UnsupportedMedia(
                "Media Source Extensions are not available".into(),
            ));
        }
        let source = MediaSource::new().map_err(platform)?;
        let url = Url::create_object_url_with_source(&source).map_err(platform)?;
        let n = notify.clone();
        let open = Listener::new(source.unchecked_ref(), "sourceopen", move |_| {
            n(Signal::SourceOpen)
        })?;
        video.set_src(&url);
        Ok(Self {
            video: video.clone(),
            source,
            url,
            buffers: Vec::new(),
            wanted: Vec::new(),
            early: Vec::new(),
            early_duration: None,
            notify,
            _open: open,
        })
    }

    /// The MediaSource opened (or is open, and buffers were asked for since): adds the buffers
    /// asked for, sets the duration, and starts the operations pushed meanwhile; those refused
    /// synchronously are returned.
    pub(crate) fn on_open(&mut self) -> Result<Vec<Done>, SdkError> {
        for (slot, mime_type) in std::mem::take(&mut self.wanted) {
            self.add_buffer(slot, &mime_type)?;
        }
        if let Some(d) = self.early_duration.take() {
            self.set_duration(d);
        }
        let mut done = Vec::new();
        for (slot, op) in std::mem::take(&mut self.early) {
            done.extend(self.push(slot, op));
        }
        Ok(done)
    }

    /// Whether the MediaSource is `open`.
    pub(crate) fn is_open(&self) -> bool {
        self.source.ready_state() == MediaSourceReadyState::Open
    }

    /// Asks for a SourceBuffer for `slot` with `mime_type` (`mime; codecs="…"`), made by the
    /// next [`MediaSink::on_open`] (called by the driver at once where the MediaSource is open
    /// already, after it has sent what it fetches first); fails now if the browser cannot play
    /// it.
    pub(crate) fn want_buffer(&mut self, slot: Slot, mime_type: &str) -> Result<(), SdkError> {
        check_supported(mime_type)?;
        self.wanted.push((slot, mime_type.to_owned()));
        Ok(())
    }

    /// Whether a buffer asked for waits for [`MediaSink::on_open`] while the MediaSource is
    /// open.
    pub(crate) fn wants_buffers(&self) -> bool {
        !self.wanted.is_empty() && self.is_open()
    }

    /// Makes the SourceBuffer for `slot` with `mime_type` (the MediaSource is open).
    fn add_buffer(&mut self, slot: Slot, mime_type: &str) -> Result<(), SdkError> {
        let sb = self
            .source
            .add_source_buffer(mime_type)
            .map_err(|e| SdkError::UnsupportedMedia(SdkError::describe(&e)))?;
        let (a, b) = (self.notify.clone(), self.notify.clone());
        let listeners = [
            Listener::new(sb.unchecked_ref(), "updateend", move |_| {
                a(Signal::UpdateEnd(slot))
            })?,
            Listener::new(sb.unchecked_ref(), "error", move |_| b(Signal::Error(slot)))?,
        ];
        self.buffers.push(Buffer {
            slot,
            sb,
            queue: VecDeque::new(),
            running: None,
            failed: false,
            mime_type: mime_type.to_owned(),
            _listeners: listeners,
        });
        Ok(())
    }

    /// `MediaSource.duration`, where it can be set now; before the MediaSource opens, once it
    /// does.
    pub(crate) fn set_duration(&mut self, seconds: f64) {
        if !self.is_open() {
            self.early_duration = Some(seconds);
        } else if !self.buffers.iter().any(|b| b.sb.updating()) {
            self.source.set_duration(seconds);
        }
    }

    /// Queues `op` on `slot`'s buffer (or, before the MediaSource opens, until it does);
    /// operations that finish at once (refused synchronously) are returned.
    pub(crate) fn push(&mut self, slot: Slot, op: Op) -> Vec<Done> {
        let Some(b) = self.buffers.iter_mut().find(|b| b.slot == slot) else {
            if self.wanted.iter().any(|(s, _)| *s == slot) {
                self.early.push((slot, op));
            }
            return Vec::new();
        };
        b.queue.push_back(op);
        let duration = self.source.duration();
        b.pump(duration)
    }

    /// Handles a [`Signal`] about a buffer: the finished operation, then any that the next
    /// ones in the queue finished synchronously.
    pub(crate) fn on_signal(&mut self, signal: Signal) -> Vec<Done> {
        let duration = self.source.duration();
        match signal {
            Signal::SourceOpen => Vec::new(),
            Signal::Error(slot) => {
                if let Some(b) = self.buffers.iter_mut().find(|b| b.slot == slot) {
                    b.failed = true;
                }
                Vec::new()
            }
            Signal::UpdateEnd(slot) => {
                let Some(b) = self.buffers.iter_mut().find(|b| b.slot == slot) else {
                    return Vec::new();
                };
                let mut done = Vec::new();
                if let Some(op) = b.running.take() {
                    let failed = std::mem::take(&mut b.failed);
                    done.push(match op {
                        Op::Append { tag, .. } if failed => Done::AppendFailed {
                            slot,
                            tag,
                            quota: false,
                        },
                        Op::Append { tag, .. } => Done::Appended { slot, tag },
                        Op::Remove { tag, .. } => Done::Removed { slot, tag },
                    });
                }
                done.extend(b.pump(duration));
                done
            }
        }
    }

    /// `slot`'s buffered ranges, in seconds.
    pub(crate) fn buffered(&self, slot: Slot) -> Vec<(f64, f64)> {
        let Some(ranges) = self
            .buffers
            .iter()
            .find(|b| b.slot == slot)
            .and_then(|b| b.sb.buffered().ok())
        else {
            return Vec::new();
        };
        (0..ranges.length())
            .filter_map(|i| Some((ranges.start(i).ok()?, ranges.end(i).ok()?)))
            .collect()
    }

    /// No operation queued or running on any buffer.
    pub(crate) fn idle(&self) -> bool {
        self.early.is_empty()
            && self
                .buffers
                .iter()
                .all(|b| b.running.is_none() && b.queue.is_empty() && !b.sb.updating())
    }

    /// `endOfStream()`, if the MediaSource is open and every buffer idle; true if called.
    pub(crate) fn end_of_stream(&self) -> bool {
        if self.is_open() && self.idle() {
            return self.source.end_of_stream().is_ok();
        }
        false
    }
}

impl Buffer {
    /// Starts queued operations until one runs (or the queue is empty); returns those refused
    /// synchronously.
    fn pump(&mut self, duration: f64) -> Vec<Done> {
        let mut done = Vec::new();
        while self.running.is_none() && !self.sb.updating() {
            let Some(op) = self.queue.pop_front() else {
                break;
            };
            let slot = self.slot;
            match &op {
                Op::Append {
                    tag,
                    data,
                    change_to,
                } => {
                    if let Some(t) = change_to.as_ref().filter(|t| **t != self.mime_type) {
                        if self.sb.change_type(t).is_err() {
                            done.push(Done::AppendFailed {
                                slot,
                                tag: *tag,
                                quota: false,
                            });
                            continue;
                        }
                        self.mime_type = t.clone();
                    }
                    match self.sb.append_buffer_with_array_buffer_view(data) {
                        Ok(()) => {
                            self.failed = false;
                            self.running = Some(op);
                        }
                        Err(e) => done.push(Done::AppendFailed {
                            slot,
                            tag: *tag,
                            quota: error_name(&e) == "QuotaExceededError",
                        }),
                    }
                }
                Op::Remove { tag, start, end } => {
                    // remove() refuses a start past the duration; then there is nothing there.
                    let start = start.max(0.0);
                    let ok = start < *end
                        && !(duration.is_finite() && start >= duration)
                        && self.sb.remove(start, *end).is_ok();
                    if ok {
                        self.running = Some(op);
                    } else {
                        done.push(Done::Removed { slot, tag: *tag });
                    }
                }
            }
        }
        done
    }
}

impl Drop for MediaSink {
    fn drop(&mut self) {
        // Listeners go with the fields.
        self.detach();
        let _ = Url::revoke_object_url(&self.url);
    }
}

impl MediaSink {
    /// Lets the element go of the MediaSource (it shows no spinner and holds no `blob:`
    /// source after playback failed); safe to call again.
    pub(crate) fn detach(&self) {
        for b in &self.buffers {
            if b.sb.updating() {
                let _ = b.sb.abort();
            }
        }
        if self.video.src() == self.url {
            let _ = self.video.remove_attribute("src");
            self.video.load();
        }
    }
}
