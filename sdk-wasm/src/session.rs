//! The playback session API (`docs/playback.md`): ask the server for a session with a fresh
//! ephemeral X25519 key, open the content key it releases to that key, fetch and open the
//! manifest, and ask for more presigned URLs in batches.

use std::collections::HashMap;

use cinelock_contract::playback::{PlayAnswer, PlayRequest, UrlsAnswer, UrlsRequest};
use cinelock_contract::{ApiErrorCode, ErrorBody};
use cinelock_core::RecipientSecretKey;
use cinelock_core::media::{ContentKey, Manifest, ObjectNonce, open_content_key};
use js_sys::{Object, Reflect, Uint8Array};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;
use zeroize::Zeroizing;

use crate::{SdkError, platform};

/// Most paths one `POST /v1/play/{id}/urls` may ask for.
pub(crate) const MAX_URL_BATCH: usize = 100;

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
    pub urls: HashMap<String, String>,
    pub session: String,
    /// Unix ms when the URLs and the session expire.
    pub expires_at: f64,
}

/// Asks for a session and opens what it grants.
pub(crate) async fn open(target: &PlayTarget) -> Result<Grant, SdkError> {
    // The player key lives for this request only: the released key is opened right away.
    let mut ikm = Zeroizing::new([0u8; 32]);
    platform::random(&mut ikm[..])?;
    let secret = RecipientSecretKey::from_seed(&ikm);
    let body = PlayRequest {
        public_key: hex::encode(secret.public_key().to_bytes()),
        token: target.token.clone(),
        password: target.password.clone(),
        download: false,
        package: target.package.clone(),
    };
    let url = format!(
        "{}/v1/play/{}",
        target.endpoint,
        encode_segment(&target.asset_id)
    );
    let answer: PlayAnswer = post_json(&url, &body).await?;
    if answer.asset_id != target.asset_id {
        return Err(SdkError::server(
            200,
            None,
            "the session names another asset".into(),
        ));
    }
    let released =
        Zeroizing::new(hex::decode(&answer.key).map_err(|_| cinelock_core::Error::Decrypt)?);
    let key = open_content_key(&secret, &target.asset_id, &released)?;
    let nonce = ObjectNonce::parse(&answer.manifest_nonce).ok_or_else(|| {
        SdkError::server(
            200,
            None,
            "the session's manifest nonce is not 24 hex digits".into(),
        )
    })?;
    let sealed = get_bytes(&answer.manifest_url).await?;
    let manifest = Manifest::open(
        &key,
        &target.asset_id,
        &answer.package_id,
        &nonce,
        &sealed.to_vec(),
    )?;
    Ok(Grant {
        package_id: answer.package_id,
        kind: answer.kind,
        key,
        manifest,
        urls: answer.urls.into_iter().collect(),
        session: answer.session,
        expires_at: answer.expires_at as f64,
    })
}

/// Asks for presigned URLs of `paths` (at most [`MAX_URL_BATCH`]) in `session`.
pub(crate) async fn more_urls(
    target: &PlayTarget,
    session: &str,
    paths: &[String],
) -> Result<(HashMap<String, String>, f64), SdkError> {
    let url = format!(
        "{}/v1/play/{}/urls",
        target.endpoint,
        encode_segment(&target.asset_id)
    );
    let body = UrlsRequest {
        session: session.to_owned(),
        paths: paths.to_vec(),
    };
    let answer: UrlsAnswer = post_json(&url, &body).await?;
    Ok((answer.urls.into_iter().collect(), answer.expires_at as f64))
}

/// An asset id as one URL path segment.
fn encode_segment(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

fn network(e: &JsValue) -> SdkError {
    SdkError::Network(SdkError::describe(e))
}

async fn post_json<T: for<'de> Deserialize<'de>>(
    url: &str,
    body: &impl Serialize,
) -> Result<T, SdkError> {
    let init = Object::new();
    let headers = Object::new();
    let set = |o: &Object, k: &str, v: JsValue| {
        Reflect::set(o, &k.into(), &v).map_err(|e| SdkError::Platform(SdkError::describe(&e)))
    };
    set(&headers, "content-type", "application/json".into())?;
    set(&init, "method", "POST".into())?;
    set(&init, "headers", headers.into())?;
    let body = serde_json::to_string(body).map_err(|e| SdkError::Platform(e.to_string()))?;
    set(&init, "body", body.into())?;
    let response = platform::fetch(url, &init).await.map_err(|e| network(&e))?;
    let status = response.status();
    let text = text(&response).await?;
    if status == 200 {
        return serde_json::from_str(&text)
            .map_err(|e| SdkError::server(status, None, format!("unreadable answer: {e}")));
    }
    let err = serde_json::from_str::<ErrorBody>(&text)
        .ok()
        .map(|a| a.error);
    Err(match err {
        // A policy refusal is 403; a password guess over its budget is 429.
        Some(e) if e.code == ApiErrorCode::Denied => SdkError::Denied {
            reason: e.reason.unwrap_or_else(|| "denied".into()),
            message: e.message,
            retry_after_ms: retry_after(&response),
        },
        Some(e) => SdkError::server(status, Some(e.code), e.message),
        None => SdkError::server(status, None, format!("HTTP {status}")),
    })
}

fn retry_after(response: &Response) -> Option<u64> {
    let v = response.headers().get("retry-after").ok().flatten()?;
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

/// GETs a (presigned) URL whole.
async fn get_bytes(url: &str) -> Result<Uint8Array, SdkError> {
    let response = platform::fetch(url, &Object::new())
        .await
        .map_err(|e| network(&e))?;
    let status = response.status();
    if status != 200 {
        return Err(SdkError::server(
            status,
            None,
            format!("the store answered HTTP {status} for the manifest"),
        ));
    }
    let promise = response
        .array_buffer()
        .map_err(|e| SdkError::Platform(SdkError::describe(&e)))?;
    let buf = JsFuture::from(promise).await.map_err(|e| network(&e))?;
    Ok(Uint8Array::new(&buf))
}

/// A URL this close to its expiry (ms) is renewed before use.
const URL_MARGIN_MS: f64 = 15_000.0;
/// Every URL is assumed to live at least this long (ms) after it arrived.
const MIN_URL_LIFE_MS: f64 = 30_000.0;

struct Signed {
    url: String,
    received: f64,
    /// On this browser's clock.
    expires: f64,
}

/// The session's presigned URLs by path. Expiry is kept on this browser's clock: the server's
/// `expires_at` is on its own, so a skewed clock could make every URL look expired (or none).
/// A URL lives what the server says, at least [`MIN_URL_LIFE_MS`], and at most what URLs were
/// seen to last before the store refused one.
#[derive(Default)]
pub(crate) struct UrlBook {
    urls: HashMap<String, Signed>,
    life_cap_ms: Option<f64>,
}

fn wall() -> f64 {
    js_sys::Date::now()
}

impl UrlBook {
    /// Adds URLs the server signed, valid until its `expires_at` (unix ms, its clock).
    pub(crate) fn add(&mut self, urls: HashMap<String, String>, expires_at: f64) {
        let now = wall();
        let mut life = (expires_at - now).max(MIN_URL_LIFE_MS);
        if let Some(cap) = self.life_cap_ms {
            life = life.min(cap);
        }
        for (path, url) in urls {
            self.urls.insert(
                path,
                Signed {
                    url,
                    received: now,
                    expires: now + life,
                },
            );
        }
    }

    /// The URL of `path`, unless it is missing or about to expire.
    pub(crate) fn fresh(&self, path: &str) -> Option<String> {
        let now = wall();
        self.urls
            .get(path)
            .filter(|s| s.expires - now > URL_MARGIN_MS)
            .map(|s| s.url.clone())
    }

    /// The store refused `path`'s URL: drop it, and expect URLs to last less than it did.
    pub(crate) fn refused(&mut self, path: &str) {
        if let Some(s) = self.urls.remove(path) {
            let lasted = ((wall() - s.received) * 0.8).max(MIN_URL_LIFE_MS);
            self.life_cap_ms = Some(self.life_cap_ms.map_or(lasted, |c| c.min(lasted)));
        }
    }
}
