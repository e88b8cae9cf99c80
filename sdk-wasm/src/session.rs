//! The playback session API (`docs/playback.md`): ask the server for a session with a fresh
//! ephemeral X25519 key (the request leaves at once, [`ask`], before the player's other
//! set-up), open the content key it releases to that key, open the manifest (sent inline, or
//! fetched for packages that predate that), and ask for more presigned URLs (which, and when,
//! the engine decides).
//!
//! A player started before the wasm has loaded finds its session already asked for by the
//! package's JavaScript (`npm/src/internal/early-session.ts`: a WebCrypto X25519 key, the same
//! request), so the round trip overlaps the wasm's download and compilation; [`early_answer`]
//! takes that answer from there, with the same checks.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cinelock_contract::captions::TextTrackGrant;
use cinelock_contract::playback::{PlayAnswer, PlayRequest, UrlsAnswer, UrlsRequest};
use cinelock_contract::{ApiErrorCode, ErrorBody};
use cinelock_core::media::{
    ContentKey, Manifest, ObjectNonce, Released, open_content_key, open_key,
};
use cinelock_core::playback::SignedUrls;
use cinelock_core::presigned::PresignedUrl;
use cinelock_core::{DataKey, RecipientSecretKey};
use js_sys::{Object, Promise, Reflect, Uint8Array};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;
use zeroize::Zeroizing;

use crate::{SdkError, platform};

/// The session options a page passes (to `startPlayer` and `openDownload`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TargetOptions {
    pub endpoint: String,
    pub asset_id: String,
    pub token: Option<String>,
    pub password: Option<String>,
}

impl TargetOptions {
    /// The target, `package` as asked for; empty token and password count as none.
    pub(crate) fn into_target(self, package: Option<String>) -> Result<PlayTarget, SdkError> {
        if self.asset_id.is_empty() {
            return Err(SdkError::InvalidArgument("assetId is required".into()));
        }
        Ok(PlayTarget {
            endpoint: self.endpoint.trim_end_matches('/').to_owned(),
            asset_id: self.asset_id,
            token: self.token.filter(|t| !t.is_empty()),
            password: self.password.filter(|p| !p.is_empty()),
            package,
        })
    }
}

/// What the page asked to play.
#[derive(Debug, Clone)]
pub(crate) struct PlayTarget {
    /// The server's base URL, without a trailing slash.
    pub endpoint: String,
    pub asset_id: String,
    pub token: Option<String>,
    pub password: Option<String>,
    /// `"full"` or `"preview"`; `None`: full when ready, else the preview.
    pub package: Option<String>,
}

/// A granted session: the package, its opened content key and manifest, and URLs.
pub(crate) struct Grant {
    pub package_id: String,
    /// `"full"` or `"preview"`.
    pub kind: String,
    pub key: ContentKey,
    pub manifest: Manifest,
    pub urls: SignedUrls,
    pub session: String,
    /// The credential the view's analytics beacons show, if the server takes them.
    pub beacon: Option<String>,
    /// The asset's caption tracks.
    pub text_tracks: Vec<TextTrackGrant>,
}

/// The original file a session grants for download: where the sealed upload is, and its data
/// key (opened; zeroed on drop).
pub(crate) struct Download {
    pub url: String,
    pub key: DataKey,
    pub filename: Option<String>,
    /// Plaintext bytes, as the server recorded them.
    pub size: u64,
}

/// A session asked for: the request is on its way, with the one-time player key it was asked
/// with. The key lives for this request only: what it releases is opened at once.
pub(crate) struct Asked {
    secret: RecipientSecretKey,
    sent: Promise,
}

/// Sends a session request (with the download, if `download`) now, with a fresh one-time
/// player key: the request leaves before the caller does anything else.
pub(crate) fn ask(target: &PlayTarget, download: bool) -> Result<Asked, SdkError> {
    let mut ikm = Zeroizing::new([0u8; 32]);
    platform::random(&mut ikm[..])?;
    let secret = RecipientSecretKey::from_seed(&ikm);
    let body = PlayRequest {
        public_key: hex::encode(secret.public_key().to_bytes()),
        token: target.token.clone(),
        password: target.password.clone(),
        download,
        package: target.package.clone(),
        // The answer's `first` is for a client that cannot choose them itself; this one can.
        start_rendition: None,
        initial_bandwidth: None,
        measured_bandwidth: None,
        seek_budget: None,
    };
    let sent = send_json(&session_url(target), &body)?;
    Ok(Asked { secret, sent })
}

impl Asked {
    /// The answer, checked to be for `target`'s asset.
    pub(crate) async fn answer(self, target: &PlayTarget) -> Result<Answered, SdkError> {
        let answer: PlayAnswer = read_json(self.sent).await?;
        Ok(Answered {
            secret: self.secret,
            answer: check_asset(target, answer)?,
        })
    }
}

/// A session granted, not yet opened: the answer, and the one-time key it is opened with.
pub(crate) struct Answered {
    secret: RecipientSecretKey,
    pub answer: PlayAnswer,
}

impl Answered {
    /// Opens what the session grants.
    pub(crate) async fn open(self, target: &PlayTarget) -> Result<Grant, SdkError> {
        open_answer(target, &self.secret, self.answer).await
    }
}

/// The answer is for the asset asked for.
fn check_asset(target: &PlayTarget, answer: PlayAnswer) -> Result<PlayAnswer, SdkError> {
    if answer.asset_id != target.asset_id {
        return Err(SdkError::server(
            200,
            None,
            "the session names another asset".into(),
        ));
    }
    Ok(answer)
}

fn unhex(s: &str) -> Result<Zeroizing<Vec<u8>>, SdkError> {
    Ok(Zeroizing::new(
        hex::decode(s).map_err(|_| cinelock_core::Error::Decrypt)?,
    ))
}

/// Asks for the asset's original file, and opens the data key released for it.
pub(crate) async fn open_download(target: &PlayTarget) -> Result<Download, SdkError> {
    let Answered { secret, answer } = ask(target, true)?.answer(target).await?;
    let grant = answer
        .download
        .ok_or_else(|| SdkError::server(200, None, "the server granted no download".into()))?;
    let released = unhex(&grant.key)?;
    let key = open_key(Released::SourceKey, &secret, &target.asset_id, &released)?;
    Ok(Download {
        url: grant.url,
        key: DataKey::from_bytes(*key.as_bytes()),
        filename: grant.filename,
        size: grant.size.max(0) as u64,
    })
}

/// Asks for a session and opens what it grants.
pub(crate) async fn open(target: &PlayTarget) -> Result<Grant, SdkError> {
    ask(target, false)?.answer(target).await?.open(target).await
}

/// A session the package's JavaScript asked for while the wasm loaded: `early` is
/// `{secret, status, text, retryAfter}` (the one-time X25519 secret key, 32 bytes, and the
/// answer as it came). Refused, or unreadable, it is the same error as from [`Asked::answer`].
pub(crate) fn early_answer(target: &PlayTarget, early: &JsValue) -> Result<Answered, SdkError> {
    let get = |k: &str| Reflect::get(early, &k.into()).unwrap_or(JsValue::UNDEFINED);
    let js_secret = get("secret")
        .dyn_into::<Uint8Array>()
        .map_err(|_| SdkError::Platform("early session: no key".into()))?;
    let secret_bytes = Zeroizing::new(js_secret.to_vec());
    js_secret.fill(0, 0, js_secret.length());
    let secret = RecipientSecretKey::from_bytes(&secret_bytes)?;
    let status = get("status").as_f64().unwrap_or(0.0) as u16;
    let text = get("text").as_string().unwrap_or_default();
    let retry_after_ms = get("retryAfter")
        .as_string()
        .and_then(|v| parse_retry_after(&v));
    let answer: PlayAnswer = read_answer(status, &text, retry_after_ms)?;
    Ok(Answered {
        secret,
        answer: check_asset(target, answer)?,
    })
}

/// Opens what a session's answer grants with the key it was asked for with.
async fn open_answer(
    target: &PlayTarget,
    secret: &RecipientSecretKey,
    answer: PlayAnswer,
) -> Result<Grant, SdkError> {
    let released = unhex(&answer.key)?;
    let key = open_content_key(secret, &target.asset_id, &released)?;
    let nonce = ObjectNonce::parse(&answer.manifest_nonce).ok_or_else(|| {
        SdkError::server(
            200,
            None,
            "the session's manifest nonce is not 24 hex digits".into(),
        )
    })?;
    // The answer carries the sealed manifest; older packages only have it in the bucket.
    let sealed = match answer.manifest.as_deref() {
        Some(inline) => BASE64.decode(inline).map_err(|_| {
            SdkError::server(200, None, "the session's manifest is not base64".into())
        })?,
        None => get_bytes(&answer.manifest_url, "manifest").await?.to_vec(),
    };
    let manifest = Manifest::open(&key, &target.asset_id, &answer.package_id, &nonce, &sealed)?;
    Ok(Grant {
        package_id: answer.package_id,
        kind: answer.kind,
        key,
        manifest,
        urls: signed(answer.urls, answer.expires_in_ms),
        session: answer.session,
        beacon: answer.beacon.map(|b| b.credential),
        text_tracks: answer.text_tracks,
    })
}

/// Asks for presigned URLs of `paths` in `session`.
pub(crate) async fn more_urls(
    target: &PlayTarget,
    session: &str,
    paths: &[String],
) -> Result<SignedUrls, SdkError> {
    let body = UrlsRequest {
        session: session.to_owned(),
        paths: paths.to_vec(),
    };
    let answer: UrlsAnswer = read_json(send_json(&urls_url(target), &body)?).await?;
    Ok(signed(answer.urls, answer.expires_in_ms))
}

fn signed(urls: impl IntoIterator<Item = (String, String)>, lifetime_ms: u64) -> SignedUrls {
    SignedUrls {
        urls: urls
            .into_iter()
            .map(|(path, url)| (path, PresignedUrl(url)))
            .collect(),
        lifetime_ms,
    }
}

/// `POST /v1/play/{id}` of `target`: where a session is asked for.
pub(crate) fn session_url(target: &PlayTarget) -> String {
    format!(
        "{}/v1/play/{}",
        target.endpoint,
        encode_segment(&target.asset_id)
    )
}

/// `POST /v1/play/{id}/urls` of `target`: where more URLs are asked for.
pub(crate) fn urls_url(target: &PlayTarget) -> String {
    format!("{}/urls", session_url(target))
}

/// An asset id as one URL path segment.
fn encode_segment(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

fn network(e: &JsValue) -> SdkError {
    SdkError::Network(SdkError::describe(e))
}

/// POSTs `body` as JSON now (see [`platform::send`]); [`read_json`] reads the answer. Labelled
/// [`platform::NO_PREFLIGHT`]: a player on another site than the server then asks without a
/// CORS preflight, one round trip instead of two.
fn send_json(url: &str, body: &impl Serialize) -> Result<Promise, SdkError> {
    let init = Object::new();
    let headers = Object::new();
    let set = |o: &Object, k: &str, v: JsValue| {
        Reflect::set(o, &k.into(), &v).map_err(|e| SdkError::Platform(SdkError::describe(&e)))
    };
    set(&headers, "content-type", platform::NO_PREFLIGHT.into())?;
    set(&init, "method", "POST".into())?;
    set(&init, "headers", headers.into())?;
    let body = serde_json::to_string(body).map_err(|e| SdkError::Platform(e.to_string()))?;
    set(&init, "body", body.into())?;
    platform::send(url, &init).map_err(|e| network(&e))
}

/// The JSON answer to a [`send_json`].
async fn read_json<T: for<'de> Deserialize<'de>>(sent: Promise) -> Result<T, SdkError> {
    let response = platform::response(sent).await.map_err(|e| network(&e))?;
    let status = response.status();
    let text = text(&response).await?;
    // Only a refusal has one; reading headers costs the start path a call into the browser.
    let retry_after_ms = (status != 200)
        .then(|| response.headers().get("retry-after").ok().flatten())
        .flatten()
        .and_then(|v| parse_retry_after(&v));
    read_answer(status, &text, retry_after_ms)
}

/// A JSON answer of the API: the value on 200, else the error it describes.
fn read_answer<T: for<'de> Deserialize<'de>>(
    status: u16,
    text: &str,
    retry_after_ms: Option<u64>,
) -> Result<T, SdkError> {
    if status == 200 {
        return serde_json::from_str(text)
            .map_err(|e| SdkError::server(status, None, format!("unreadable answer: {e}")));
    }
    let err = serde_json::from_str::<ErrorBody>(text)
        .ok()
        .map(|a| a.error);
    Err(match err {
        // A policy refusal is 403; a password guess over its budget is 429.
        Some(e) if e.code == ApiErrorCode::Denied => SdkError::Denied {
            reason: e.reason.unwrap_or_else(|| "denied".into()),
            message: e.message,
            retry_after_ms,
        },
        Some(e) => SdkError::server(status, Some(e.code), e.message),
        None => SdkError::server(status, None, format!("HTTP {status}")),
    })
}

/// `Retry-After` in seconds, as milliseconds.
fn parse_retry_after(v: &str) -> Option<u64> {
    v.trim().parse::<u64>().ok().map(|s| s * 1000)
}

async fn text(response: &Response) -> Result<String, SdkError> {
    let promise = response
        .text()
        .map_err(|e| SdkError::Platform(SdkError::describe(&e)))?;
    Ok(JsFuture::from(promise)
        .await
        .map_err(|e| network(&e))?
        .as_string()
        .unwrap_or_default())
}

/// GETs a sealed object of the session whole (`what` names it in an error), past the HTTP
/// cache as the media objects are ([`crate::opener::fetch_and_open`]).
pub(crate) async fn get_bytes(url: &str, what: &str) -> Result<Uint8Array, SdkError> {
    let response = platform::fetch(url, &platform::no_store())
        .await
        .map_err(|e| network(&e))?;
    let status = response.status();
    if status != 200 {
        return Err(SdkError::server(
            status,
            None,
            format!("the store answered HTTP {status} for the {what}"),
        ));
    }
    let promise = response
        .array_buffer()
        .map_err(|e| SdkError::Platform(SdkError::describe(&e)))?;
    let buf = JsFuture::from(promise).await.map_err(|e| network(&e))?;
    Ok(Uint8Array::new(&buf))
}
