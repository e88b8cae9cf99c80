//! One part's PUT to its presigned URL, over `XMLHttpRequest`: unlike `fetch`, which streams a
//! request body only over HTTP/2, it reports upload progress on every connection, so progress
//! shows bytes as they go rather than parts as the store acknowledges them. Dropping the
//! [`PutRequest`] aborts it (a pause); its outcome then reads as a network failure, which the
//! engine ignores for a cancelled attempt.
//!
//! A PUT to a local origin (an upload's rehearsal, `crate::warm_upload`) goes through
//! [`platform::send`] instead, which answers it from memory: XHR cannot reach such a URL.

use std::cell::RefCell;
use std::rc::Rc;

use cinelock_core::upload::PutFailure;
use js_sys::{Object, Reflect};
use wasm_bindgen::JsCast;
use web_sys::{Blob, ProgressEvent, XmlHttpRequest};

use crate::platform::{Listener, platform_error};
use crate::{SdkError, platform};

/// A PUT that is out; aborted on drop.
pub(crate) struct PutRequest {
    /// `None` for a PUT answered locally, which nothing can abort (it is answered at once).
    xhr: Option<(XmlHttpRequest, [Listener; 2])>,
}

impl PutRequest {
    /// Sends `body` to `url` with `headers`. `progress` hears the bytes sent so far; `done` the
    /// outcome, once.
    pub(crate) fn start(
        url: &str,
        headers: &[(String, String)],
        body: &Blob,
        progress: impl Fn(u64) + 'static,
        done: impl FnOnce(Result<String, PutFailure>) + 'static,
    ) -> Result<Self, SdkError> {
        if platform::is_local(url) {
            return Self::local(url, body, done);
        }
        let xhr = XmlHttpRequest::new().map_err(platform_error)?;
        xhr.open("PUT", url).map_err(platform_error)?;
        for (k, v) in headers {
            xhr.set_request_header(k, v).map_err(platform_error)?;
        }
        let upload = xhr.upload().map_err(platform_error)?;
        let on_progress = Listener::new(upload.unchecked_ref(), "progress", move |e| {
            if let Some(e) = e.dyn_ref::<ProgressEvent>() {
                progress(e.loaded() as u64);
            }
        })?;
        let done = Rc::new(RefCell::new(Some(done)));
        let finished = xhr.clone();
        let on_end = Listener::new(xhr.unchecked_ref(), "loadend", move |_| {
            if let Some(done) = done.borrow_mut().take() {
                done(outcome(&finished));
            }
        })?;
        // A Blob, not an array: sending an array copies it on this thread first.
        xhr.send_with_opt_blob(Some(body)).map_err(platform_error)?;
        Ok(Self {
            xhr: Some((xhr, [on_progress, on_end])),
        })
    }

    /// The PUT of a rehearsal, answered by [`platform::send`] from memory.
    fn local(
        url: &str,
        body: &Blob,
        done: impl FnOnce(Result<String, PutFailure>) + 'static,
    ) -> Result<Self, SdkError> {
        let init = Object::new();
        Reflect::set(&init, &"method".into(), &"PUT".into()).map_err(platform_error)?;
        Reflect::set(&init, &"body".into(), body).map_err(platform_error)?;
        let sent = platform::send(url, &init).map_err(platform_error)?;
        wasm_bindgen_futures::spawn_local(async move {
            let answer = platform::response(sent).await.ok();
            done(match answer {
                Some(r) if r.ok() => r
                    .headers()
                    .get("etag")
                    .ok()
                    .flatten()
                    .ok_or(PutFailure::Status(r.status())),
                Some(r) => Err(PutFailure::Status(r.status())),
                None => Err(PutFailure::Network),
            });
        });
        Ok(Self { xhr: None })
    }
}

impl Drop for PutRequest {
    fn drop(&mut self) {
        if let Some((xhr, _)) = &self.xhr
            && xhr.ready_state() != XmlHttpRequest::DONE
        {
            let _ = xhr.abort();
        }
    }
}

/// What a finished request means to the engine.
fn outcome(xhr: &XmlHttpRequest) -> Result<String, PutFailure> {
    // 0: no response (connection refused, reset or cut, a CORS failure, an abort).
    let status = xhr.status().unwrap_or(0);
    if status == 0 {
        return Err(PutFailure::Network);
    }
    if (200..300).contains(&status) {
        return xhr
            .get_response_header("etag")
            .ok()
            .flatten()
            .ok_or(PutFailure::Status(status));
    }
    let text = xhr.response_text().ok().flatten().unwrap_or_default();
    Err(PutFailure::from_response(status, &text))
}
