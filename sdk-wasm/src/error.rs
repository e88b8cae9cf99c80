//! The crate's one error type, and the one place it becomes a JS `Error`.

use cinelock_contract::{ApiErrorCode, ErrorCode};
use cinelock_core::playback::PlaybackError;
use wasm_bindgen::JsValue;

/// Everything the browser driver can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SdkError {
    /// A format or crypto error from the core (decrypt failures stay opaque).
    #[error(transparent)]
    Core(#[from] cinelock_core::Error),
    /// The caller passed something unusable.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The WebCrypto engine was requested where `crypto.subtle` does not exist.
    #[error("WebCrypto is not available here (crypto.subtle needs a secure context)")]
    NoWebCrypto,
    /// Reading the input Blob failed.
    #[error("could not read the input: {0}")]
    Read(String),
    /// The upload was aborted.
    #[error("upload aborted")]
    Aborted,
    /// A browser API failed unexpectedly.
    #[error("browser API failed: {0}")]
    Platform(String),
    /// The server refused a playback session: the asset's policy said no. `reason` is the
    /// server's stable reason (`token_required`, `origin_not_allowed`, ...).
    #[error("playback denied ({reason}): {message}")]
    Denied {
        reason: String,
        message: String,
        /// From `Retry-After`, for `rate_limited`.
        retry_after_ms: Option<u64>,
    },
    /// The server answered with another error (`unknown_asset`, `not_ready`,
    /// `session_expired`, ...).
    #[error("the server answered HTTP {status} ({code}): {message}")]
    Server {
        status: u16,
        code: ErrorCode,
        message: String,
    },
    /// The server or the store could not be reached.
    #[error("network error: {0}")]
    Network(String),
    /// Playback stopped for good (the code says why: `tampered`, `fetch_failed`, ...).
    #[error(transparent)]
    Playback(#[from] PlaybackError),
    /// This browser cannot play the package (no Media Source Extensions, or a codec it lacks).
    #[error("this browser cannot play it: {0}")]
    UnsupportedMedia(String),
    /// The video element reported a media error (it could not decode what was appended).
    #[error("the video element failed: {0}")]
    Media(String),
    /// The player was destroyed before it could finish.
    #[error("the player was destroyed")]
    Destroyed,
    /// The browser's recorder failed or cannot record the source.
    #[error("the recorder failed: {0}")]
    Recorder(String),
    /// The browser's storage refused a recording's sealed parts.
    #[error("the browser's storage failed: {0}")]
    Storage(String),
}

impl SdkError {
    /// Stable machine-readable code, exposed to JS as `error.code`: always one of the
    /// contract's [`ErrorCode`]s, which the TypeScript union is generated from.
    pub fn code(&self) -> ErrorCode {
        match self {
            SdkError::Core(e) => ErrorCode::from_core(e),
            SdkError::InvalidArgument(_) => ErrorCode::InvalidArgument,
            SdkError::NoWebCrypto => ErrorCode::NoWebcrypto,
            SdkError::Read(_) => ErrorCode::Read,
            SdkError::Aborted => ErrorCode::Aborted,
            SdkError::Platform(_) => ErrorCode::Platform,
            SdkError::Denied { .. } => ErrorCode::Denied,
            SdkError::Server { code, .. } => *code,
            SdkError::Network(_) => ErrorCode::Network,
            SdkError::Playback(e) => ErrorCode::from_playback(e.code),
            SdkError::UnsupportedMedia(_) => ErrorCode::UnsupportedMedia,
            SdkError::Media(_) => ErrorCode::MediaError,
            SdkError::Destroyed => ErrorCode::Destroyed,
            SdkError::Recorder(_) => ErrorCode::Recorder,
            SdkError::Storage(_) => ErrorCode::Storage,
        }
    }

    /// A server error from its status and JSON `error.code` (`None`: none could be read).
    pub(crate) fn server(status: u16, code: Option<ApiErrorCode>, message: String) -> Self {
        SdkError::Server {
            status,
            code: code.map_or(ErrorCode::ServerError, ErrorCode::from_api),
            message,
        }
    }

    /// Describes a rejected JS promise or thrown value without echoing data.
    pub(crate) fn describe(value: &JsValue) -> String {
        match value.dyn_ref::<js_sys::Error>() {
            Some(e) => format!("{}: {}", String::from(e.name()), String::from(e.message())),
            None => "non-Error exception".into(),
        }
    }
}

use wasm_bindgen::JsCast;

impl From<SdkError> for JsValue {
    fn from(e: SdkError) -> JsValue {
        let err = js_sys::Error::new(&e.to_string());
        err.set_name("CinelockError");
        // Setting plain data properties on a fresh Error cannot fail.
        let set = |k: &str, v: JsValue| {
            let _ = js_sys::Reflect::set(&err, &k.into(), &v);
        };
        set("code", e.code().as_str().into());
        match &e {
            SdkError::Denied {
                reason,
                retry_after_ms,
                ..
            } => {
                set("reason", reason.as_str().into());
                if let Some(ms) = retry_after_ms {
                    set("retryAfterMs", (*ms as f64).into());
                }
            }
            SdkError::Server { status, .. } => set("status", (*status).into()),
            SdkError::Playback(p) => {
                if let Some(o) = &p.object {
                    set("track", o.track_id.as_str().into());
                    set("index", o.index.into());
                }
            }
            _ => {}
        }
        err.into()
    }
}
