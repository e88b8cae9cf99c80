//! Downloads of an asset's original file, when its policy (and the viewer token, if any)
//! allows them: the session is opened as for playback ([`crate::session`]) with the download
//! asked for, the released data key is opened here, and the sealed upload is fetched from its
//! presigned URL and opened chunk by chunk into the page's callback. The page only writes the
//! chunks where they go.

use js_sys::Function;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::api::{Output, open_with};
use crate::io::Source;
use crate::session::{self, Download, TargetOptions};
use crate::{SdkError, platform};

/// A download the server granted: the file's name and size, and (inside) its URL and opened
/// data key, zeroed when the handle is freed.
#[wasm_bindgen(js_name = DownloadGrant)]
pub struct DownloadHandle {
    download: Download,
}

/// Asks the server for the original file of `options.assetId` (`{endpoint, assetId, token?,
/// password?}`); rejects with `denied` (and a `reason`) when the policy does not allow it.
#[wasm_bindgen(js_name = openDownload)]
pub async fn open_download(options: JsValue) -> Result<DownloadHandle, SdkError> {
    let o: TargetOptions = serde_wasm_bindgen::from_value(options)
        .map_err(|e| SdkError::InvalidArgument(format!("download options: {e}")))?;
    let target = o.into_target(None)?;
    let download = session::open_download(&target).await?;
    Ok(DownloadHandle { download })
}

#[wasm_bindgen(js_class = DownloadGrant)]
impl DownloadHandle {
    /// The file's name when it was uploaded, if known.
    #[wasm_bindgen(getter)]
    pub fn filename(&self) -> Option<String> {
        self.download.filename.clone()
    }

    /// Plaintext bytes.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> f64 {
        self.download.size as f64
    }

    /// Fetches the sealed file and opens it: each authenticated chunk's plaintext goes to
    /// `on_chunk` (a returned promise is awaited), so a file of any size streams to its
    /// destination in constant memory. Rejects with `decrypt` if the stored file was altered.
    pub async fn write(&self, engine: Option<String>, on_chunk: Function) -> Result<(), SdkError> {
        // Not from or into the HTTP cache: the file may be large, and what is opened must be
        // what the bucket holds now.
        let response = platform::fetch(&self.download.url, &platform::no_store())
            .await
            .map_err(|e| SdkError::Network(SdkError::describe(&e)))?;
        let status = response.status();
        if status != 200 {
            return Err(SdkError::Network(format!(
                "fetching the file: HTTP {status}"
            )));
        }
        // A Blob: the browser keeps a large one on disk, and the opener reads it window by
        // window.
        let promise = response
            .blob()
            .map_err(|e| SdkError::Platform(SdkError::describe(&e)))?;
        let blob = JsFuture::from(promise)
            .await
            .map_err(|e| SdkError::Network(SdkError::describe(&e)))?;
        let key = self.download.key.clone();
        let src = Source::from_js(blob)?;
        open_with(|_| Ok(key), src, engine, Output::Callback(on_chunk)).await?;
        Ok(())
    }
}
