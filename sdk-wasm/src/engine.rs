//! The two AES-GCM engines that seal and open chunks: WebCrypto (fast, asynchronous, runs off
//! the main thread inside the browser) and the core's `aes-gcm` compiled to wasm (fallback).
//! Both take nonce and associated data from the core's [`ChunkCipher`], so their output is the
//! same byte for byte.

use std::cell::RefCell;

use cinelock_core::{ChunkCipher, DataKey, Header, TAG_LEN};
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AesGcmParams, CryptoKey, SubtleCrypto};

use crate::{SdkError, platform};

/// Which engine the caller asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineChoice {
    /// WebCrypto where available, else wasm.
    Auto,
    /// WebCrypto or an error.
    WebCrypto,
    /// Always the wasm `aes-gcm` (for comparison and for contexts without `crypto.subtle`).
    Wasm,
}

impl EngineChoice {
    /// Parses `"auto"`, `"webcrypto"` or `"wasm"` (absent means auto).
    pub fn parse(s: Option<String>) -> Result<Self, SdkError> {
        match s.as_deref() {
            None | Some("auto") => Ok(Self::Auto),
            Some("webcrypto") => Ok(Self::WebCrypto),
            Some("wasm") => Ok(Self::Wasm),
            Some(other) => Err(SdkError::InvalidArgument(format!(
                "engine must be \"auto\", \"webcrypto\" or \"wasm\", not {other:?}"
            ))),
        }
    }

    /// The name [`EngineChoice::parse`] reads back.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::WebCrypto => "webcrypto",
            Self::Wasm => "wasm",
        }
    }
}

/// Whether an operation seals or opens; decides how failures are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Seal,
    Open,
}

pub(crate) struct Engine {
    cipher: ChunkCipher,
    chunk_size: u32,
    kind: Kind,
}

enum Kind {
    WebCrypto {
        subtle: SubtleCrypto,
        key: CryptoKey,
        aad: Uint8Array,
    },
    // One chunk of scratch space in wasm memory, reused for every chunk.
    Wasm {
        scratch: RefCell<Vec<u8>>,
    },
}

/// A chunk in flight: a WebCrypto promise, or a result the wasm engine already has.
pub(crate) enum Pending {
    Js(JsFuture),
    Ready(Uint8Array),
}

impl Pending {
    /// Waits for the bytes; a rejection becomes `on_reject`'s error.
    pub(crate) async fn wait(
        self,
        on_reject: impl FnOnce(JsValue) -> SdkError,
    ) -> Result<Uint8Array, SdkError> {
        match self {
            Pending::Ready(bytes) => Ok(bytes),
            Pending::Js(fut) => fut
                .await
                .map(|buf| Uint8Array::new(&buf))
                .map_err(on_reject),
        }
    }
}

impl EngineChoice {
    /// WebCrypto's `SubtleCrypto` if this choice uses it here (`None`: the wasm engine).
    pub(crate) fn subtle(self) -> Result<Option<SubtleCrypto>, SdkError> {
        Ok(match self {
            EngineChoice::Wasm => None,
            EngineChoice::Auto => platform::subtle(),
            EngineChoice::WebCrypto => Some(platform::subtle().ok_or(SdkError::NoWebCrypto)?),
        })
    }
}

/// Imports a raw AES-256-GCM key into WebCrypto (non-extractable) for `usages`; the copy of
/// the key bytes handed to JS is wiped once the import has them.
pub(crate) async fn import_aes_gcm_key(
    subtle: &SubtleCrypto,
    key: &[u8; 32],
    usages: &Array,
) -> Result<CryptoKey, SdkError> {
    let platform_error = |e: JsValue| SdkError::Platform(SdkError::describe(&e));
    let algorithm = Object::new();
    Reflect::set(&algorithm, &"name".into(), &"AES-GCM".into()).map_err(platform_error)?;
    let raw = Uint8Array::from(&key[..]);
    let promise = subtle
        .import_key_with_object("raw", &raw, &algorithm, false, usages)
        .map_err(platform_error)?;
    raw.fill(0, 0, 32);
    Ok(JsFuture::from(promise)
        .await
        .map_err(platform_error)?
        .unchecked_into::<CryptoKey>())
}

impl Engine {
    pub(crate) async fn new(
        choice: EngineChoice,
        header: &Header,
        key: &DataKey,
    ) -> Result<Self, SdkError> {
        let cipher = ChunkCipher::new(header, key);
        let kind = match choice.subtle()? {
            Some(subtle) => {
                let usages = Array::of2(&"encrypt".into(), &"decrypt".into());
                let key = import_aes_gcm_key(&subtle, key.as_bytes(), &usages).await?;
                let aad = Uint8Array::from(&cipher.associated_data()[..]);
                Kind::WebCrypto { subtle, key, aad }
            }
            None => Kind::Wasm {
                scratch: RefCell::new(Vec::with_capacity(header.chunk_size as usize + TAG_LEN)),
            },
        };
        Ok(Self {
            cipher,
            chunk_size: header.chunk_size,
            kind,
        })
    }

    /// Plaintext bytes per chunk of the stream this engine seals or opens.
    pub(crate) fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Starts sealing (or opening) chunk `index` whose input bytes are `data`.
    pub(crate) fn start(
        &self,
        dir: Direction,
        index: u32,
        last: bool,
        data: &Uint8Array,
    ) -> Result<Pending, SdkError> {
        match &self.kind {
            Kind::WebCrypto { subtle, key, aad } => {
                let iv = Uint8Array::from(&self.cipher.nonce(index, last)[..]);
                let params = AesGcmParams::new_with_u8_array("AES-GCM", &iv);
                params.set_additional_data_u8_array(aad);
                let promise = match dir {
                    Direction::Seal => {
                        subtle.encrypt_with_object_and_buffer_source(&params, key, data)
                    }
                    Direction::Open => {
                        subtle.decrypt_with_object_and_buffer_source(&params, key, data)
                    }
                }
                .map_err(|e| SdkError::Platform(SdkError::describe(&e)))?;
                Ok(Pending::Js(JsFuture::from(promise)))
            }
            Kind::Wasm { scratch } => {
                let mut buf = scratch.borrow_mut();
                buf.resize(data.length() as usize, 0);
                // `copy_to` is a single `set` into a view of wasm memory: no per-chunk allocation.
                data.copy_to(&mut buf);
                let out = match dir {
                    Direction::Seal => {
                        let tag = self.cipher.seal_detached(index, last, &mut buf);
                        let out = Uint8Array::new_with_length((buf.len() + TAG_LEN) as u32);
                        out.subarray(0, buf.len() as u32).copy_from(&buf);
                        out.subarray(buf.len() as u32, out.length()).copy_from(&tag);
                        out
                    }
                    Direction::Open => {
                        let plain = self.cipher.open_chunk(index, last, &mut buf)?;
                        Uint8Array::from(&plain[..])
                    }
                };
                Ok(Pending::Ready(out))
            }
        }
    }
}
