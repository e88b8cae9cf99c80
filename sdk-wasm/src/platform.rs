//! Finds `crypto` in whatever global scope the SDK runs in (window or worker) and draws
//! randomness from it.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Crypto, SubtleCrypto};

use crate::SdkError;

fn crypto() -> Result<Crypto, SdkError> {
    let global = js_sys::global();
    js_sys::Reflect::get(&global, &JsValue::from_str("crypto"))
        .ok()
        .and_then(|c| c.dyn_into::<Crypto>().ok())
        .ok_or_else(|| SdkError::Platform("no crypto.getRandomValues in this context".into()))
}

/// `crypto.subtle`, when this context has it (secure contexts only).
pub(crate) fn subtle() -> Option<SubtleCrypto> {
    let crypto = crypto().ok()?;
    let subtle = js_sys::Reflect::get(&crypto, &JsValue::from_str("subtle")).ok()?;
    subtle.dyn_into::<SubtleCrypto>().ok()
}

/// Fills `buf` from the browser's CSPRNG.
pub(crate) fn random(buf: &mut [u8]) -> Result<(), SdkError> {
    crypto()?
        .get_random_values_with_u8_array(buf)
        .map(drop)
        .map_err(|e| SdkError::Platform(SdkError::describe(&e)))
}
