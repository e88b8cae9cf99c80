//! Moves chunks from a source (bytes or a `Blob`) through an engine into a sink, with a bounded
//! number of chunks in flight, so memory stays flat for any input size.
//!
//! Blobs are read through `blob.stream()`: in Chromium that is 2–4× faster than
//! `slice().arrayBuffer()` windows (docs/benchmarks.md). Where the stream is a byte stream (it is
//! in Chromium), a "bring your own buffer" reader reads each chunk straight into one reused
//! staging buffer: no stream piece is allocated at all (each was a fresh buffer, whose pages the
//! kernel had to fault in and zero: a pass over the file's size in kernel time). Elsewhere
//! pieces come in arbitrary sizes, so a chunk is a zero-copy view when it lies inside one piece,
//! and is otherwise gathered into the staging buffer. Reuse is safe: WebCrypto copies its input
//! when `encrypt` is called, and the wasm engine copies it into wasm memory before returning.
//!
//! Buffers this module is done with (stream pieces once read, engine results once copied into
//! a byte sink) are released at once ([`release`]) rather than left to the collector, which
//! lets them pile up: sealing at hundreds of MB/s made over a hundred MiB of dead buffers wait
//! for each collection (docs/benchmarks.md).

use std::collections::VecDeque;

use js_sys::{Array, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag, ReadableStreamByobReader, ReadableStreamDefaultReader};

use crate::SdkError;
use crate::engine::{Direction, Engine, Pending};

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
    /// A `Uint8Array` or a `Blob` passed from JS.
    pub(crate) fn from_js(value: JsValue) -> Result<Self, SdkError> {
        if value.is_instance_of::<Blob>() {
            Ok(Source::Blob(value.unchecked_into()))
        } else if value.is_instance_of::<Uint8Array>() {
            Ok(Source::Bytes(value.unchecked_into()))
        } else {
            Err(SdkError::InvalidArgument(
                "expected a Uint8Array or a Blob".into(),
            ))
        }
    }

    pub(crate) fn len(&self) -> u64 {
        match self {
            Source::Bytes(b) => u64::from(b.length()),
            Source::Blob(b) => b.size() as u64,
        }
    }

    /// Reads `start..end` at once (small reads such as the header).
    pub(crate) async fn read_now(&self, start: u64, end: u64) -> Result<Vec<u8>, SdkError> {
        match self {
            Source::Bytes(b) => Ok(b.subarray(start as u32, end as u32).to_vec()),
            Source::Blob(b) => {
                let slice = b
                    .slice_with_f64_and_f64(start as f64, end as f64)
                    .map_err(read_error)?;
                let buf = JsFuture::from(slice.array_buffer())
                    .await
                    .map_err(read_error)?;
                Ok(Uint8Array::new(&buf).to_vec())
            }
        }
    }

    /// A sequential reader of `start..end`.
    fn reader(&self, start: u64, end: u64, max_chunk: usize) -> Result<ChunkReader, SdkError> {
        let kind = match self {
            Source::Bytes(b) => ReaderKind::Bytes(b.subarray(start as u32, end as u32)),
            Source::Blob(b) => {
                let slice = b
                    .slice_with_f64_and_f64(start as f64, end as f64)
                    .map_err(read_error)?;
                let stream = slice.stream();
                // A byte stream takes a BYOB reader; any other stream refuses one.
                let reader = match ReadableStreamByobReader::new(&stream) {
                    Ok(r) => StreamKind::Byob(r),
                    Err(_) => StreamKind::Pieces(stream.get_reader().unchecked_into()),
                };
                ReaderKind::Stream(StreamReader {
                    reader: Some(reader),
                    staging: Uint8Array::new_with_length(max_chunk as u32),
                })
            }
        };
        Ok(ChunkReader {
            kind,
            piece: None,
            offset: 0,
        })
    }
}

fn read_error(e: JsValue) -> SdkError {
    SdkError::Read(SdkError::describe(&e))
}

/// How a stream is read: into the staging buffer (a byte stream), or piece by piece.
enum StreamKind {
    Byob(ReadableStreamByobReader),
    Pieces(ReadableStreamDefaultReader),
}

/// Releases the stream's lock when a transform ends early (an error), like gloo's owned handles.
struct StreamReader {
    reader: Option<StreamKind>,
    staging: Uint8Array,
}

impl Drop for StreamReader {
    fn drop(&mut self) {
        // Cancelling tells the browser to stop reading; the promise needs no handling.
        match self.reader.take() {
            Some(StreamKind::Byob(r)) => {
                let _ = r.cancel();
            }
            Some(StreamKind::Pieces(r)) => {
                let _ = r.cancel();
            }
            None => {}
        }
    }
}

/// A read's `{done, value}`: the value, or an error if the stream ended.
fn read_value(result: &JsValue) -> Result<Uint8Array, SdkError> {
    let done = Reflect::get(result, &"done".into())
        .map_err(read_error)?
        .is_truthy();
    if done {
        return Err(SdkError::Read(
            "input ended early (did the file change?)".into(),
        ));
    }
    Reflect::get(result, &"value".into())
        .map_err(read_error)?
        .dyn_into()
        .map_err(read_error)
}

enum ReaderKind {
    Bytes(Uint8Array),
    Stream(StreamReader),
}

/// Hands out the input in chunk-sized views.
struct ChunkReader {
    kind: ReaderKind,
    /// The current stream piece and how much of it was consumed.
    piece: Option<Uint8Array>,
    offset: u32,
}

impl ChunkReader {
    /// The next `len` bytes; valid until the next call.
    async fn next(&mut self, len: u32) -> Result<Uint8Array, SdkError> {
        let stream = match &mut self.kind {
            ReaderKind::Bytes(b) => {
                let view = b.subarray(self.offset, self.offset + len);
                self.offset += len;
                return Ok(view);
            }
            ReaderKind::Stream(s) => s,
        };
        if let Some(StreamKind::Byob(reader)) = &stream.reader {
            // Each read moves the buffer into the stream and back as a new ArrayBuffer over
            // the same memory; the chunk handed out before is detached, as the contract allows.
            let mut buffer = stream.staging.buffer();
            let mut filled = 0u32;
            while filled < len {
                let view =
                    Uint8Array::new_with_byte_offset_and_length(&buffer, filled, len - filled);
                let result = JsFuture::from(reader.read_with_array_buffer_view(&view))
                    .await
                    .map_err(read_error)?;
                let value = read_value(&result)?;
                buffer = value.buffer();
                filled += value.length();
            }
            stream.staging = Uint8Array::new(&buffer);
            return Ok(stream.staging.subarray(0, len));
        }
        let mut filled = 0u32;
        loop {
            if let Some(piece) = &self.piece {
                let available = piece.length() - self.offset;
                if filled == 0 && available >= len {
                    // Wholly inside one piece: no copy.
                    let view = piece.subarray(self.offset, self.offset + len);
                    self.offset += len;
                    return Ok(view);
                }
                let take = available.min(len - filled);
                stream
                    .staging
                    .set(&piece.subarray(self.offset, self.offset + take), filled);
                filled += take;
                self.offset += take;
                if filled == len {
                    return Ok(stream.staging.subarray(0, len));
                }
            }
            if len == 0 {
                return Ok(stream.staging.subarray(0, 0));
            }
            let Some(StreamKind::Pieces(reader)) = &stream.reader else {
                return Err(SdkError::Read("stream closed".into()));
            };
            let result = JsFuture::from(reader.read()).await.map_err(read_error)?;
            let value = read_value(&result)?;
            // Every view of the old piece was handed to the engine, which copied it.
            if let Some(old) = self.piece.replace(value) {
                release(&old);
            }
            self.offset = 0;
        }
    }
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
    /// A JS callback per output piece; a returned promise is awaited (backpressure).
    Callback(js_sys::Function),
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

    /// Writes into the first `len` bytes of `buf` (a buffer reused from an earlier part), or a
    /// fresh array if `buf` is missing or too short.
    pub(crate) fn reusing(buf: Option<Uint8Array>, len: u64) -> Result<Self, SdkError> {
        match buf {
            Some(buf) if u64::from(buf.length()) >= len => Ok(Sink::Bytes {
                out: buf.subarray(0, len as u32),
                pos: 0,
            }),
            _ => Self::bytes(len),
        }
    }

    pub(crate) fn blob(mime: &str) -> Self {
        Sink::Blob {
            parts: Array::new(),
            loose: 0,
            mime: mime.to_owned(),
        }
    }

    /// Writes `data`, which nothing else reads: a sink that copies it releases it.
    async fn write_owned(&mut self, data: Uint8Array) -> Result<(), SdkError> {
        self.write(&data).await?;
        if matches!(self, Sink::Bytes { .. }) {
            release(&data);
        }
        Ok(())
    }

    pub(crate) async fn write(&mut self, data: &Uint8Array) -> Result<(), SdkError> {
        match self {
            Sink::Callback(f) => {
                let ret = f.call1(&JsValue::NULL, data).map_err(callback_error)?;
                if let Some(promise) = ret.dyn_ref::<js_sys::Promise>() {
                    JsFuture::from(promise.clone())
                        .await
                        .map_err(callback_error)?;
                }
            }
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
            Sink::Callback(_) => Ok(JsValue::UNDEFINED),
            Sink::Bytes { out, .. } => Ok(out.into()),
            Sink::Blob { parts, mime, .. } => Ok(make_blob(&parts, &mime)?.into()),
        }
    }
}

fn callback_error(e: JsValue) -> SdkError {
    SdkError::Platform(format!(
        "output callback failed: {}",
        SdkError::describe(&e)
    ))
}

fn make_blob(parts: &Array, mime: &str) -> Result<Blob, SdkError> {
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    Blob::new_with_buffer_source_sequence_and_options(parts, &options)
        .map_err(|e| SdkError::Platform(SdkError::describe(&e)))
}

/// The chunk grid of one transform: `count` input chunks of `stride` bytes starting at `start`,
/// the last one ending at `end`. The first is chunk `first_index` of its stream; the last is the
/// stream's final chunk only when `ends_stream` (an upload part in the middle does not).
pub(crate) struct Grid {
    pub start: u64,
    pub stride: u64,
    pub count: u64,
    pub end: u64,
    pub first_index: u64,
    pub ends_stream: bool,
}

/// Runs every chunk of `grid` through `engine` in order, writing results to `sink`.
pub(crate) async fn transform(
    engine: &Engine,
    dir: Direction,
    src: &Source,
    grid: &Grid,
    sink: &mut Sink,
) -> Result<(), SdkError> {
    let on_reject = |e: JsValue| match dir {
        // WebCrypto says OperationError for a bad tag; keep it opaque like the core does.
        Direction::Open => SdkError::Core(cinelock_core::Error::Decrypt),
        Direction::Seal => SdkError::Platform(SdkError::describe(&e)),
    };
    let mut reader = src.reader(grid.start, grid.end, grid.stride as usize)?;
    let mut inflight: VecDeque<Pending> = VecDeque::with_capacity(IN_FLIGHT);
    for index in 0..grid.count {
        let at = grid.start + index * grid.stride;
        // The last chunk may be short, and is empty only for an empty stream.
        let len = grid.stride.min(grid.end - at) as u32;
        let view = reader.next(len).await?;
        let last = grid.ends_stream && index + 1 == grid.count;
        let chunk =
            u32::try_from(grid.first_index + index).map_err(|_| cinelock_core::Error::TooLong)?;
        inflight.push_back(engine.start(dir, chunk, last, &view)?);
        if inflight.len() >= IN_FLIGHT {
            let done = inflight
                .pop_front()
                .expect("non-empty")
                .wait(on_reject)
                .await?;
            sink.write_owned(done).await?;
        }
    }
    while let Some(p) = inflight.pop_front() {
        sink.write_owned(p.wait(on_reject).await?).await?;
    }
    Ok(())
}

/// Frees the memory behind `bytes` now, not at the collector's next run, by detaching its buffer
/// (`ArrayBuffer.prototype.transfer(0)`). Only for arrays that nothing else reads and that span
/// their whole buffer. Where `transfer` is missing, the collector frees the buffer as before.
pub(crate) fn release(bytes: &Uint8Array) {
    let _ = bytes.buffer().transfer_with_length(0);
}
