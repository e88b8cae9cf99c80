//! `POST /v1/beacons`: a player's events of one view. Checked in this order, each failure with
//! its own answer: the body's size (413) and shape (400), the credential (401) and its asset
//! (403), every value (400), the session's rate (429), then masked
//! ([`cinelock_core::analytics::mask`]) and queued (202, or 503 when the queue is full). Nothing
//! of the request that identifies a person gets past this module: the address is used for the
//! country and the day's pseudonym and then dropped, the user agent is coarsened, the referrer
//! cut to its host.

use std::net::IpAddr;

use axum::Json;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, StatusCode, header};
use cinelock_contract::ApiErrorCode;
use cinelock_contract::analytics::{BeaconAccepted, BeaconBody};
use cinelock_core::analytics::beacon::MAX_BATCH_EVENTS;
use cinelock_core::analytics::mask::{
    coarsen_agent, day_pseudonym, referrer_host, tenant_key, truncate_ip, viewer_hash,
};
use cinelock_core::analytics::{Consent, validate};

use super::credential;
use super::masked::{Item, ViewDims};
use crate::json::PlainJson;
use crate::state::AppState;
use crate::{AppError, now_ms, playback};

/// The largest beacon taken: what `fetch(…, {keepalive: true})` may carry.
pub const MAX_BODY: usize = 64 * 1024;
/// Longest customer viewer id taken.
const MAX_VIEWER_ID: usize = 128;

/// Whether the request says Do Not Track or Global Privacy Control.
fn do_not_track(headers: &HeaderMap) -> bool {
    let on = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "1")
    };
    on("dnt") || on("sec-gpc")
}

/// A player's beacon: events of one view, under the credential its session granted. Masked
/// before anything is stored (docs/privacy.md).
#[utoipa::path(
    post,
    path = "/",
    tag = "analytics",
    request_body(content = BeaconBody, content_type = "text/plain", description = "JSON sent as text/plain (no CORS preflight)"),
    responses((status = 202, body = BeaconAccepted), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody))
)]
pub async fn beacon(
    State(state): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    PlainJson(b): PlainJson<BeaconBody>,
) -> Result<(StatusCode, Json<BeaconAccepted>), AppError> {
    let analytics = state.analytics().ok_or(AppError::NotFound)?;
    let now = now_ms();
    let cred = credential::verify(state.token_secret(), &b.credential, now)
        .ok_or(AppError::Beacon(ApiErrorCode::BeaconCredential))?;
    if cred.asset_id != b.asset_id {
        return Err(AppError::Beacon(ApiErrorCode::BeaconAsset));
    }
    let invalid = |m: String| AppError::bad(ApiErrorCode::InvalidBeacon, m);
    let view_ok = b.view_id.len() == 32
        && b.view_id
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
    if !view_ok {
        return Err(invalid("view_id must be 32 lowercase hex digits".into()));
    }
    if b.events.is_empty() || b.events.len() > MAX_BATCH_EVENTS {
        return Err(invalid(format!(
            "a beacon carries 1 to {MAX_BATCH_EVENTS} events"
        )));
    }
    for e in &b.events {
        validate(e).map_err(invalid)?;
    }
    if b.viewer_id
        .as_ref()
        .is_some_and(|v| v.len() > MAX_VIEWER_ID)
    {
        return Err(invalid(format!(
            "viewer_id is longer than {MAX_VIEWER_ID} bytes"
        )));
    }
    analytics.admit(&cred.nonce, now)?;

    let dnt = b.dnt || do_not_track(&headers);
    let consent = b.consent.effective(dnt);
    if consent == Consent::Off {
        // A page that turned analytics off sends nothing; if it did, nothing is kept.
        return Ok((StatusCode::ACCEPTED, Json(BeaconAccepted { accepted: 0 })));
    }
    let settings = state.settings();
    let ip: IpAddr = playback::client_address(&state, &extensions, &headers);
    let agent = coarsen_agent(
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    );
    let referrer = [header::ORIGIN, header::REFERER]
        .iter()
        .filter_map(|h| headers.get(h).and_then(|v| v.to_str().ok()))
        .find_map(referrer_host);
    let pseudonym = if dnt {
        None
    } else {
        let salt = analytics.salts().today(state.db(), now).await?;
        let site = referrer.as_deref().unwrap_or("");
        Some(day_pseudonym(&salt, &cred.tenant, site, ip, &agent))
    };
    let viewer = match (&b.viewer_id, consent) {
        (Some(id), Consent::Full) => Some(viewer_hash(
            &tenant_key(state.token_secret(), &cred.tenant),
            id,
        )),
        _ => None,
    };
    let view = ViewDims {
        view_id: b.view_id,
        asset_id: cred.asset_id,
        tenant: cred.tenant,
        received_at: now,
        country: state.geo().and_then(|g| g.country(ip)),
        browser: agent.browser_label(),
        os: agent.os.to_owned(),
        device: agent.device.to_owned(),
        referrer,
        network: settings
            .analytics
            .store_network
            .then(|| truncate_ip(ip).to_string()),
        pseudonym,
        viewer_hash: viewer,
    };
    let accepted = b.events.len() as u32;
    analytics.intake().offer(Item {
        view,
        events: b.events,
    })?;
    Ok((StatusCode::ACCEPTED, Json(BeaconAccepted { accepted })))
}
