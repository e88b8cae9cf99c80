//! A session's side objects: the poster and the caption tracks. Each is small, so it is
//! fetched and opened on the page's thread (with the session's cipher, the same checks as
//! segments: the listed nonce, the place in the associated data), then handed to the browser
//! as a `blob:` URL: the poster as the video's `poster`, each caption as a `<track>` whose
//! WebVTT the browser parses and shows. Object URLs are revoked and `<track>` elements removed
//! when their owners drop (the player's end).

use cinelock_contract::captions::{CaptionKind, TextTrackGrant};
use cinelock_contract::events::TextTrackInfo;
use cinelock_core::media::{Manifest, ObjectKind, ObjectNonce, Poster};
use cinelock_core::playback::SignedUrls;
use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, HtmlTrackElement, HtmlVideoElement, TextTrackMode, Url};

use crate::SdkError;
use crate::objects::ObjectCipher;
use crate::platform::platform_error;
use crate::session::get_bytes;

/// A `blob:` URL, revoked on drop.
pub(crate) struct ObjectUrl(String);

impl ObjectUrl {
    /// A URL for `plain` as a blob of type `mime`.
    pub(crate) fn new(plain: &Uint8Array, mime: &str) -> Result<Self, SdkError> {
        let blob = blob(plain, mime)?;
        Url::create_object_url_with_blob(&blob)
            .map(Self)
            .map_err(platform_error)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl Drop for ObjectUrl {
    fn drop(&mut self) {
        let _ = Url::revoke_object_url(&self.0);
    }
}

/// `plain` as a `Blob` of type `mime`.
pub(crate) fn blob(plain: &Uint8Array, mime: &str) -> Result<Blob, SdkError> {
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    Blob::new_with_u8_array_sequence_and_options(&Array::of1(plain), &options)
        .map_err(platform_error)
}

/// The package's poster and the session's URL for it, if it has one.
pub(crate) fn poster_url<'a>(
    manifest: &'a Manifest,
    urls: &'a SignedUrls,
) -> Option<(&'a Poster, &'a str)> {
    let poster = manifest.poster.as_ref()?;
    let (_, url) = urls.urls.iter().find(|(path, _)| *path == poster.path)?;
    Some((poster, url.0.as_str()))
}

/// Fetches and opens the poster (a JPEG).
pub(crate) async fn open_poster(
    cipher: &ObjectCipher,
    poster: &Poster,
    url: &str,
) -> Result<Uint8Array, SdkError> {
    let sealed = get_bytes(url, "poster").await?;
    cipher
        .open("", ObjectKind::Poster, 0, &poster.nonce, &sealed)
        .await
}

/// Fetches and opens one caption track's WebVTT.
pub(crate) async fn open_caption(
    cipher: &ObjectCipher,
    grant: &TextTrackGrant,
) -> Result<Uint8Array, SdkError> {
    let nonce = ObjectNonce::parse(&grant.nonce).ok_or(cinelock_core::Error::Decrypt)?;
    let sealed = get_bytes(&grant.url, "caption track").await?;
    if u64::from(sealed.length()) != grant.size {
        return Err(cinelock_core::Error::Decrypt.into());
    }
    cipher.open_caption(&grant.id, &nonce, &sealed).await
}

/// A caption track shown through a `<track>` of the video; removed from it on drop.
pub(crate) struct CaptionTrack {
    pub grant: TextTrackGrant,
    pub element: HtmlTrackElement,
    _url: ObjectUrl,
}

impl CaptionTrack {
    /// Adds `vtt` to `video` as a `<track>` (hidden until selected; the `default` one is what
    /// the browser's automatic choice shows).
    pub(crate) fn attach(
        video: &HtmlVideoElement,
        grant: TextTrackGrant,
        vtt: &Uint8Array,
        default: bool,
    ) -> Result<Self, SdkError> {
        let url = ObjectUrl::new(vtt, "text/vtt")?;
        let element: HtmlTrackElement = web_sys::window()
            .and_then(|w| w.document())
            .ok_or_else(|| SdkError::Platform("no document".into()))?
            .create_element("track")
            .map_err(platform_error)?
            .unchecked_into();
        element.set_kind(match grant.kind {
            CaptionKind::Subtitles => "subtitles",
            CaptionKind::Captions => "captions",
        });
        element.set_srclang(&grant.language);
        element.set_label(&grant.label);
        element.set_src(url.as_str());
        element.set_default(default);
        video.append_child(&element).map_err(platform_error)?;
        Ok(Self {
            grant,
            element,
            _url: url,
        })
    }

    /// What the page sees of it.
    pub(crate) fn info(&self) -> TextTrackInfo {
        info(&self.grant, &self.element)
    }
}

/// What the page sees of a track shown by `element`.
pub(crate) fn info(grant: &TextTrackGrant, element: &HtmlTrackElement) -> TextTrackInfo {
    TextTrackInfo {
        id: grant.id.clone(),
        language: grant.language.clone(),
        label: grant.label.clone(),
        kind: grant.kind,
        showing: element
            .track()
            .is_some_and(|t| t.mode() == TextTrackMode::Showing),
    }
}

/// Shows the track `id` (hides every other), or none; false if no track has that id.
pub(crate) fn select(tracks: &[(TextTrackGrant, HtmlTrackElement)], id: Option<&str>) -> bool {
    if id.is_some_and(|id| !tracks.iter().any(|(g, _)| g.id == id)) {
        return false;
    }
    for (g, element) in tracks {
        if let Some(track) = element.track() {
            track.set_mode(if Some(g.id.as_str()) == id {
                TextTrackMode::Showing
            } else {
                TextTrackMode::Disabled
            });
        }
    }
    true
}

impl Drop for CaptionTrack {
    fn drop(&mut self) {
        self.element.remove();
    }
}

/// What a page passes to [`fetch_poster`].
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct PosterOptions {
    #[serde(flatten)]
    target: crate::session::TargetOptions,
    engine: Option<String>,
}

/// The asset's poster as a JPEG `Blob`, or `null` while it has none (for lists and
/// thumbnails, without a player): a session is asked for under the asset's policy, like
/// playback, and the poster opened with its content key.
#[wasm_bindgen::prelude::wasm_bindgen(js_name = fetchPoster)]
pub async fn fetch_poster(options: wasm_bindgen::JsValue) -> Result<Option<Blob>, SdkError> {
    let o: PosterOptions = serde_wasm_bindgen::from_value(options)
        .map_err(|e| SdkError::InvalidArgument(format!("poster options: {e}")))?;
    let choice = crate::engine::EngineChoice::parse(o.engine)?;
    let target = o.target.into_target(None)?;
    let grant = crate::session::open(&target).await?;
    let Some((poster, url)) = poster_url(&grant.manifest, &grant.urls) else {
        return Ok(None);
    };
    let cipher = ObjectCipher::new(choice, &grant.key, &target.asset_id, &grant.package_id).await?;
    let jpeg = open_poster(&cipher, poster, url).await?;
    blob(&jpeg, &poster.mime).map(Some)
}
