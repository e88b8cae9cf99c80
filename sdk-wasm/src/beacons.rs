//! The player's analytics driver: performs what the core's [`ViewTracker`] decides (which
//! events, when a batch goes, retries), nothing more. Beacons are POSTed as `text/plain` JSON
//! (no CORS preflight) to `{endpoint}/v1/beacons`, with `keepalive` when the page is hidden or
//! left. Nothing is stored in the browser: the view id is drawn per view and lives in memory.
//! A failing analytics endpoint only ever costs a failed `fetch`: playback never waits on it.

use cinelock_contract::analytics::BeaconBody;
use cinelock_core::analytics::{Consent, SendFailure, TrackerConfig, ViewTracker};
use js_sys::{Object, Reflect};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::spawn_local;

use crate::platform;

/// The page's analytics options (`PlayOptions.analytics`, `consent`, `viewerId`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AnalyticsOptions {
    /// `false` turns beacons off.
    pub analytics: Option<bool>,
    pub consent: Option<Consent>,
    pub viewer_id: Option<String>,
}

/// The outcome of one beacon, for the player's loop.
#[derive(Debug)]
pub(crate) struct Sent {
    pub id: u64,
    pub events: u32,
    pub result: Result<(), SendFailure>,
}

/// Whether the browser asks not to be tracked: Do Not Track or Global Privacy Control.
fn do_not_track() -> bool {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).unwrap_or_default();
    let dnt = Reflect::get(&navigator, &"doNotTrack".into())
        .ok()
        .and_then(|v| v.as_string())
        .is_some_and(|v| v == "1" || v == "yes");
    let gpc = Reflect::get(&navigator, &"globalPrivacyControl".into()).is_ok_and(|v| v.is_truthy());
    dnt || gpc
}

/// One view's analytics.
pub(crate) struct Beacons {
    tracker: ViewTracker,
    url: String,
    asset_id: String,
    credential: String,
    view_id: String,
    consent: Consent,
    dnt: bool,
    viewer_id: Option<String>,
    /// Batches taken, events in them, and batches that failed.
    pub sent: u32,
    pub events: u32,
    pub failed: u32,
}

impl Beacons {
    /// Analytics for a view that began at `started_at` of media lasting `duration_ms`, unless
    /// the page turned them off or the server granted no credential.
    pub(crate) fn new(
        options: &AnalyticsOptions,
        endpoint: &str,
        asset_id: &str,
        credential: Option<String>,
        started_at: u64,
        duration_ms: u64,
    ) -> Option<Self> {
        let credential = credential?;
        let dnt = do_not_track();
        let consent = options.consent.unwrap_or_default().effective(dnt);
        if options.analytics == Some(false) || consent == Consent::Off {
            return None;
        }
        let mut id = [0u8; 16];
        let mut seed = [0u8; 8];
        platform::random(&mut id).ok()?;
        platform::random(&mut seed).ok()?;
        let config = TrackerConfig {
            retry_seed: u64::from_le_bytes(seed),
            ..TrackerConfig::default()
        };
        Some(Self {
            tracker: ViewTracker::new(config, started_at, duration_ms),
            url: url(endpoint),
            asset_id: asset_id.to_owned(),
            credential,
            view_id: hex::encode(id),
            consent,
            dnt,
            viewer_id: options
                .viewer_id
                .clone()
                .filter(|_| consent == Consent::Full),
            sent: 0,
            events: 0,
            failed: 0,
        })
    }

    pub(crate) fn tracker(&mut self) -> &mut ViewTracker {
        &mut self.tracker
    }

    pub(crate) fn view_id(&self) -> &str {
        &self.view_id
    }

    /// When the tracker wants time to pass.
    pub(crate) fn poll_timeout(&self) -> Option<u64> {
        self.tracker.poll_timeout()
    }

    /// Sends every batch that is due; outcomes come back through `on_sent`.
    pub(crate) fn pump(&mut self, now: u64, on_sent: impl Fn(Sent) + Clone + 'static) {
        self.tracker.handle_timeout(now);
        while let Some(batch) = self.tracker.poll_send(now) {
            let body = BeaconBody {
                credential: self.credential.clone(),
                asset_id: self.asset_id.clone(),
                view_id: self.view_id.clone(),
                consent: self.consent,
                dnt: self.dnt,
                viewer_id: self.viewer_id.clone(),
                events: batch.events,
            };
            let Ok(text) = serde_json::to_string(&body) else {
                continue;
            };
            let (url, on_sent, id) = (self.url.clone(), on_sent.clone(), batch.id);
            let (keepalive, events) = (batch.keepalive, body.events.len() as u32);
            spawn_local(async move {
                let result = post(&url, text, keepalive).await;
                on_sent(Sent { id, events, result });
            });
        }
    }

    /// A beacon's outcome.
    pub(crate) fn handle_sent(&mut self, now: u64, sent: Sent) {
        match sent.result {
            Ok(()) => {
                self.sent += 1;
                self.events += sent.events;
                self.tracker.handle_sent(now, sent.id);
            }
            Err(failure) => {
                self.failed += 1;
                self.tracker.handle_send_failed(now, sent.id, failure);
            }
        }
    }
}

/// `POST /v1/beacons` of the server at `endpoint`.
pub(crate) fn url(endpoint: &str) -> String {
    format!("{endpoint}/v1/beacons")
}

async fn post(url: &str, body: String, keepalive: bool) -> Result<(), SendFailure> {
    let init = Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = Reflect::set(&init, &k.into(), &v);
    };
    let headers = Object::new();
    let _ = Reflect::set(
        &headers,
        &"content-type".into(),
        &platform::NO_PREFLIGHT.into(),
    );
    set("method", "POST".into());
    set("headers", headers.into());
    set("body", body.into());
    set("keepalive", keepalive.into());
    // No cookies, no credentials of the page's: a beacon carries only its own.
    set("credentials", "omit".into());
    let response = platform::fetch(url, &init)
        .await
        .map_err(|_| SendFailure::Network)?;
    let status = response.status();
    // The small JSON answer is read, so the connection is free again.
    if let Ok(p) = response.text() {
        let _ = wasm_bindgen_futures::JsFuture::from(p).await;
    }
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(SendFailure::Status(status))
    }
}
