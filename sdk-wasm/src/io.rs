//! Moves chunks from a source (bytes or a `Blob`) through an engine into a sink, window by window,
//! with a bounded number of chunks in flight, so memory stays flat for any input size.

use std::collections::VecDeque;

use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag};

use crate::SdkError;
use crate::engine::{Direction, Engine, Pending};

/// Bytes read from a Blob per `arrayBuffer()` call (rounded to whole chunks).
const READ_WINDOW: u64 = 8 << 20;
/// Chunks handed to the engine before the oldest must finish.
const IN_FLIGHT: usize = 4;
/// Bytes of finished output held as loose buffers before they are folded into a Blob.
const FOLD_BYTES: u64 = 32 << 20;

/// Where input bytes come from.
pub(crate) enum Source {
    Bytes(Uint8Array),
    Blob(Blob),
}

impl Source {
    pub(crate) fn len(&self) -> u64 {
        match self {
            Source::Bytes(b) => u64::from(b.length()),
            Source::Blob(b) => b.size() as u64,
        }
    }

    fn read(&self, start: u64, end: u64) -> Result<Pending, SdkError> {
        match self {
            Source::Bytes(b) => Ok(Pending::Ready(b.subarray(start as u32, end as u32))),
            Source::Blob(b) => {
                let slice = b
                    .slice_with_f64_and_f64(start as f64, end as f64)
                    .map_err(|e| SdkError::Read(SdkError::describe(&e)))?;
                Ok(Pending::Js(JsFuture::from(slice.array_buffer())))
            }
        }
    }

    /// Reads `start..end` at once (small reads such as the header).
    pub(crate) async fn read_now(&self, start: u64, end: u64) -> Result<Vec<u8>, SdkError> {
        let view = self.read(start, end)?.wait(read_error).await?;
        Ok(view.to_vec())
    }
}

fn read_error(e: JsValue) -> SdkError {
    SdkError::Read(SdkError::describe(&e))
}

/// Where output bytes go.
pub(crate) enum Sink {
    /// A preallocated array of the exact output length.
    Bytes { out: Uint8Array, pos: u32 },
    /// A Blob built up from folded parts.
    Blob {
        parts: Array,
        loose: u64,
        mime: String,
    },
}

impl Sink {
    pub(crate) fn bytes(len: u64) -> Result<Self, SdkError> {
        let len = u32::try_from(len).map_err(|_| {
            SdkError::InvalidArgument("output over 4 GiB: use the Blob functions".into())
        })?;
        Ok(Sink::Bytes {
            out: Uint8Array::new_with_length(len),
            pos: 0,
        })
    }

    pub(crate) fn blob(mime: &str) -> Self {
        Sink::Blob {
            parts: Array::new(),
            loose: 0,
            mime: mime.to_owned(),
        }
    }

    pub(crate) fn write(&mut self, data: &Uint8Array) -> Result<(), SdkError> {
        match self {
            Sink::Bytes { out, pos } => {
                out.set(data, *pos);
                *pos += data.length();
            }
            Sink::Blob { parts, loose, mime } => {
                parts.push(data);
                *loose += u64::from(data.length());
                if *loose >= FOLD_BYTES {
                    // Folding hands the buffers to the browser's blob store (which may page to
                    // disk) so the JS heap does not grow with the file.
                    let folded = make_blob(parts, mime)?;
                    *parts = Array::of1(&folded);
                    *loose = 0;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> Result<JsValue, SdkError> {
        match self {
            Sink::Bytes { out, .. } => Ok(out.into()),
            Sink::Blob { parts, mime, .. } => Ok(make_blob(&parts, &mime)?.into()),
        }
    }
}

fn make_blob(parts: &Array, mime: &str) -> Result<Blob, SdkError> {
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    Blob::new_with_buffer_source_sequence_and_options(parts, &options)
        .map_err(|e| SdkError::Platform(SdkError::describe(&e)))
}

/// The chunk grid of one transform: `count` input chunks of `stride` bytes starting at `start`,
/// the last one ending at `end`.
pub(crate) struct Grid {
    pub start: u64,
    pub stride: u64,
    pub count: u64,
    pub end: u64,
}

/// Runs every chunk of `grid` through `engine` in order, writing results to `sink`.
pub(crate) async fn transform(
    engine: &Engine,
    dir: Direction,
    src: &Source,
    grid: &Grid,
    sink: &mut Sink,
) -> Result<(), SdkError> {
    let per_window = (READ_WINDOW / grid.stride).max(1);
    let windows = grid.count.div_ceil(per_window);
    let window = |w: u64| {
        let a = grid.start + w * per_window * grid.stride;
        (a, (a + per_window * grid.stride).min(grid.end))
    };
    let on_reject = |e: JsValue| match dir {
        // WebCrypto says OperationError for a bad tag; keep it opaque like the core does.
        Direction::Open => SdkError::Core(cinelock_core::Error::Decrypt),
        Direction::Seal => SdkError::Platform(SdkError::describe(&e)),
    };
    let mut inflight: VecDeque<Pending> = VecDeque::with_capacity(IN_FLIGHT);
    let (a, b) = window(0);
    let mut next = Some(src.read(a, b)?);
    for w in 0..windows {
        let (wa, _) = window(w);
        let buf = next
            .take()
            .expect("read scheduled")
            .wait(read_error)
            .await?;
        if w + 1 < windows {
            let (a, b) = window(w + 1);
            next = Some(src.read(a, b)?); // read ahead while this window is processed
        }
        if u64::from(buf.length()) != window(w).1 - wa {
            return Err(SdkError::Read("input changed size while reading".into()));
        }
        for index in w * per_window..((w + 1) * per_window).min(grid.count) {
            let at = grid.start + index * grid.stride;
            // The last chunk may be short, and is empty only for an empty stream.
            let len = grid.stride.min(grid.end - at);
            let view = buf.subarray((at - wa) as u32, (at - wa + len) as u32);
            let last = index + 1 == grid.count;
            let chunk = u32::try_from(index).map_err(|_| cinelock_core::Error::TooLong)?;
            inflight.push_back(engine.start(dir, chunk, last, &view)?);
            if inflight.len() >= IN_FLIGHT {
                let done = inflight
                    .pop_front()
                    .expect("non-empty")
                    .wait(on_reject)
                    .await?;
                sink.write(&done)?;
            }
        }
    }
    while let Some(p) = inflight.pop_front() {
        sink.write(&p.wait(on_reject).await?)?;
    }
    Ok(())
}
