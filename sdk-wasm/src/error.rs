//! The crate's one error type, and the one place it becomes a JS `Error`.

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
}

impl SdkError {
    /// Stable machine-readable code, exposed to JS as `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            SdkError::Core(e) => e.code(),
            SdkError::InvalidArgument(_) => "invalid_argument",
            SdkError::NoWebCrypto => "no_webcrypto",
            SdkError::Read(_) => "read",
            SdkError::Aborted => "aborted",
            SdkError::Platform(_) => "platform",
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
        // Setting a plain data property on a fresh Error cannot fail.
        let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code().into());
        err.into()
    }
}
