//! The functions and types JavaScript sees (wrapped with friendlier TypeScript by `npm/`).

use cinelock_core::{
    DataKey, HEADER_LEN, Header, Layout, RecipientPublicKey, RecipientSecretKey, SEED_LEN, SealSeed,
};
use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;
use web_sys::Blob;

use crate::engine::{Direction, Engine, EngineChoice};
use crate::io::{Grid, Sink, Source, transform};
use crate::{SdkError, platform};

pub use cinelock_core::DEFAULT_CHUNK_SIZE;

/// MIME type of sealed Blobs.
const SEALED_MIME: &str = "application/vnd.cinelock.sealed";

/// A recipient key pair (the transcode workers hold the secret half).
#[wasm_bindgen]
pub struct RecipientKeyPair {
    secret: RecipientSecretKey,
}

#[wasm_bindgen]
impl RecipientKeyPair {
    /// The 32-byte X25519 secret key.
    #[wasm_bindgen(getter, js_name = secretKey)]
    pub fn secret_key(&self) -> Vec<u8> {
        self.secret.to_bytes().to_vec()
    }

    /// The 32-byte X25519 public key.
    #[wasm_bindgen(getter, js_name = publicKey)]
    pub fn public_key(&self) -> Vec<u8> {
        self.secret.public_key().to_bytes().to_vec()
    }

    /// The 16-hex-digit key id that sealed headers carry.
    #[wasm_bindgen(getter, js_name = keyId)]
    pub fn key_id(&self) -> String {
        self.secret.public_key().key_id().to_string()
    }
}

/// Generates a fresh recipient key pair from the browser's CSPRNG.
#[wasm_bindgen(js_name = generateRecipientKey)]
pub fn generate_recipient_key() -> Result<RecipientKeyPair, SdkError> {
    let mut ikm = [0u8; 32];
    platform::random(&mut ikm)?;
    Ok(RecipientKeyPair {
        secret: RecipientSecretKey::from_seed(&ikm),
    })
}

/// A fresh seal seed (the randomness one sealed stream consumes, [`SEED_LEN`] bytes) from the
/// browser's CSPRNG: an upload keeps it to reseal byte-identical parts after a reload.
#[wasm_bindgen(js_name = newSealSeed)]
pub fn new_seal_seed() -> Result<Vec<u8>, SdkError> {
    Ok(fresh_seed()?.to_vec())
}

/// The key id of a 32-byte recipient public key.
#[wasm_bindgen(js_name = recipientKeyId)]
pub fn recipient_key_id(public_key: &[u8]) -> Result<String, SdkError> {
    Ok(RecipientPublicKey::from_bytes(public_key)?
        .key_id()
        .to_string())
}

/// The engine `engine` resolves to here: `"webcrypto"` or `"wasm"`.
#[wasm_bindgen(js_name = resolveEngine)]
pub fn resolve_engine(engine: Option<String>) -> Result<String, SdkError> {
    let subtle = platform::subtle().is_some();
    Ok(match EngineChoice::parse(engine)? {
        EngineChoice::Wasm => "wasm",
        EngineChoice::WebCrypto if !subtle => return Err(SdkError::NoWebCrypto),
        EngineChoice::WebCrypto => "webcrypto",
        EngineChoice::Auto if subtle => "webcrypto",
        EngineChoice::Auto => "wasm",
    }
    .into())
}

/// The default chunk size, in bytes.
#[wasm_bindgen(js_name = defaultChunkSize)]
pub fn default_chunk_size() -> u32 {
    DEFAULT_CHUNK_SIZE
}

/// Plaintext length of a sealed stream with `sealed_len` bytes and the given header.
#[wasm_bindgen(js_name = plaintextLength)]
pub fn plaintext_length(header: &[u8], sealed_len: f64) -> Result<f64, SdkError> {
    Ok(Header::parse(header)?
        .layout()
        .plaintext_len(sealed_len as u64)? as f64)
}

/// Seals bytes to a recipient public key for `context` (what the stream is for, at most 255
/// bytes; none: the empty context).
#[wasm_bindgen(js_name = sealBytes)]
pub async fn seal_bytes(
    recipient_public_key: Vec<u8>,
    data: Uint8Array,
    chunk_size: Option<u32>,
    engine: Option<String>,
    context: Option<Vec<u8>>,
) -> Result<Uint8Array, SdkError> {
    let seed = fresh_seed()?;
    let out = seal(
        &recipient_public_key,
        Source::Bytes(data),
        chunk_size,
        engine,
        &seed,
        &context.unwrap_or_default(),
        Output::Bytes,
    )
    .await?;
    Ok(out.unchecked_into())
}

/// Seals a Blob (a File, say) window by window; the result is a Blob.
#[wasm_bindgen(js_name = sealBlob)]
pub async fn seal_blob(
    recipient_public_key: Vec<u8>,
    blob: Blob,
    chunk_size: Option<u32>,
    engine: Option<String>,
    context: Option<Vec<u8>>,
) -> Result<Blob, SdkError> {
    let seed = fresh_seed()?;
    let out = seal(
        &recipient_public_key,
        Source::Blob(blob),
        chunk_size,
        engine,
        &seed,
        &context.unwrap_or_default(),
        Output::Blob,
    )
    .await?;
    Ok(out.unchecked_into())
}

/// Opens sealed bytes with a recipient secret key, for the context they were sealed for; all
/// or nothing.
#[wasm_bindgen(js_name = openBytes)]
pub async fn open_bytes(
    recipient_secret_key: Vec<u8>,
    sealed: Uint8Array,
    engine: Option<String>,
    context: Option<Vec<u8>>,
) -> Result<Uint8Array, SdkError> {
    let out = open(
        &recipient_secret_key,
        &context.unwrap_or_default(),
        Source::Bytes(sealed),
        engine,
        Output::Bytes,
    )
    .await?;
    Ok(out.unchecked_into())
}

/// Opens a sealed Blob window by window; all or nothing.
#[wasm_bindgen(js_name = openBlob)]
pub async fn open_blob(
    recipient_secret_key: Vec<u8>,
    sealed: Blob,
    engine: Option<String>,
    context: Option<Vec<u8>>,
) -> Result<Blob, SdkError> {
    let out = open(
        &recipient_secret_key,
        &context.unwrap_or_default(),
        Source::Blob(sealed),
        engine,
        Output::Blob,
    )
    .await?;
    Ok(out.unchecked_into())
}

/// Seals with caller-supplied randomness, for known-answer tests of both engines.
#[doc(hidden)]
pub async fn seal_bytes_with_seed(
    recipient_public_key: &[u8],
    data: Uint8Array,
    chunk_size: u32,
    engine: &str,
    seed: &[u8; SEED_LEN],
    context: &[u8],
) -> Result<Uint8Array, SdkError> {
    let engine = Some(engine.to_owned());
    let out = seal(
        recipient_public_key,
        Source::Bytes(data),
        Some(chunk_size),
        engine,
        seed,
        context,
        Output::Bytes,
    )
    .await?;
    Ok(out.unchecked_into())
}

/// Seals bytes or a Blob, handing each sealed piece (header first, then chunk by chunk) to
/// `on_chunk`; a promise it returns is awaited before more is produced, so memory stays flat.
#[wasm_bindgen(js_name = sealTo)]
pub async fn seal_to(
    recipient_public_key: Vec<u8>,
    data: JsValue,
    chunk_size: Option<u32>,
    engine: Option<String>,
    context: Option<Vec<u8>>,
    on_chunk: js_sys::Function,
) -> Result<(), SdkError> {
    let seed = fresh_seed()?;
    let src = Source::from_js(data)?;
    seal(
        &recipient_public_key,
        src,
        chunk_size,
        engine,
        &seed,
        &context.unwrap_or_default(),
        Output::Callback(on_chunk),
    )
    .await?;
    Ok(())
}

/// Opens bytes or a Blob, handing each authenticated chunk's plaintext to `on_chunk` (awaiting a
/// returned promise). Streaming cannot be all-or-nothing: the stream is valid only if this
/// resolves; a rejection means everything delivered must be discarded.
#[wasm_bindgen(js_name = openTo)]
pub async fn open_to(
    recipient_secret_key: Vec<u8>,
    sealed: JsValue,
    engine: Option<String>,
    context: Option<Vec<u8>>,
    on_chunk: js_sys::Function,
) -> Result<(), SdkError> {
    let src = Source::from_js(sealed)?;
    open(
        &recipient_secret_key,
        &context.unwrap_or_default(),
        src,
        engine,
        Output::Callback(on_chunk),
    )
    .await?;
    Ok(())
}

/// What a seal or open produces.
pub(crate) enum Output {
    Bytes,
    Blob,
    Callback(js_sys::Function),
}

impl Output {
    fn sink(self, mime: &str, len: u64) -> Result<Sink, SdkError> {
        match self {
            Output::Bytes => Sink::bytes(len),
            Output::Blob => Ok(Sink::blob(mime)),
            Output::Callback(f) => Ok(Sink::Callback(f)),
        }
    }
}

fn fresh_seed() -> Result<[u8; SEED_LEN], SdkError> {
    let mut seed = [0u8; SEED_LEN];
    platform::random(&mut seed)?;
    Ok(seed)
}

async fn seal(
    recipient: &[u8],
    src: Source,
    chunk_size: Option<u32>,
    engine: Option<String>,
    seed: &[u8; SEED_LEN],
    context: &[u8],
    output: Output,
) -> Result<JsValue, SdkError> {
    let choice = EngineChoice::parse(engine)?;
    let recipient = RecipientPublicKey::from_bytes(recipient)?;
    let chunk_size = chunk_size.unwrap_or(DEFAULT_CHUNK_SIZE);
    let layout = Layout::new(chunk_size)?;
    let len = src.len();
    let count = layout.chunk_count(len)?;
    let mut sink = output.sink(SEALED_MIME, layout.sealed_len(len)?)?;
    let (header, key) = recipient.seal_header(chunk_size, &SealSeed::from_bytes(seed), context)?;
    let engine = Engine::new(choice, &header, &key).await?;
    sink.write(&Uint8Array::from(&header.to_bytes()[..]))
        .await?;
    let grid = Grid {
        start: 0,
        stride: u64::from(chunk_size),
        count,
        end: len,
        first_index: 0,
        ends_stream: true,
    };
    transform(&engine, Direction::Seal, &src, &grid, &mut sink).await?;
    sink.finish()
}

async fn open(
    secret: &[u8],
    context: &[u8],
    src: Source,
    engine: Option<String>,
    output: Output,
) -> Result<JsValue, SdkError> {
    let secret = RecipientSecretKey::from_bytes(secret)?;
    open_with(
        |header| Ok(secret.open_header(header, context)?),
        src,
        engine,
        output,
    )
    .await
}

/// Opens `src` with the data key `key_for` finds for its header.
pub(crate) async fn open_with(
    key_for: impl FnOnce(&Header) -> Result<DataKey, SdkError>,
    src: Source,
    engine: Option<String>,
    output: Output,
) -> Result<JsValue, SdkError> {
    let choice = EngineChoice::parse(engine)?;
    let len = src.len();
    let header = Header::parse(&src.read_now(0, len.min(HEADER_LEN as u64)).await?)?;
    let key = key_for(&header)?;
    let layout = header.layout();
    let plain_len = layout.plaintext_len(len)?;
    let count = layout.chunk_count(plain_len)?;
    let mut sink = output.sink("application/octet-stream", plain_len)?;
    let engine = Engine::new(choice, &header, &key).await?;
    let grid = Grid {
        start: HEADER_LEN as u64,
        stride: layout.sealed_chunk_size(),
        count,
        end: len,
        first_index: 0,
        ends_stream: true,
    };
    transform(&engine, Direction::Open, &src, &grid, &mut sink).await?;
    sink.finish()
}
